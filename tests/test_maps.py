"""accessmap.outputs.maps and `accessmap map`: PNG choropleths, HTML map, selection, bad input."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import shapely
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from PIL import Image

from accessmap.cli import main
from accessmap.errors import (
    ConfigError,
    MissingColumnError,
    OutputExistsError,
    UnknownCodeError,
)
from accessmap.outputs.geopackage import layers_of, to_geopackage
from accessmap.outputs.maps import (
    WebMap,
    attribution_text,
    interactive_map,
    main_towns,
    plot_map,
    save_map_png,
    select_area,
)
from accessmap.outputs.styles import SITE_COLOUR, TIME_CLASSES


@pytest.fixture(scope="module")
def outputs(score_result):  # type: ignore[no-untyped-def]
    """Layers and metadata of the session's default run_score (conftest ``score_result``)."""
    return layers_of(score_result)


@pytest.fixture(scope="module")
def gpkg(outputs, tmp_path_factory):  # type: ignore[no-untyped-def]
    layers, meta = outputs
    return to_geopackage(layers, tmp_path_factory.mktemp("m") / "run.gpkg", metadata=meta)


def _hex_to_rgb(h: str) -> tuple[int, int, int]:
    return tuple(int(h[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _colour_pixels(path, colour: str) -> int:  # type: ignore[no-untyped-def]
    arr = np.asarray(Image.open(path).convert("RGB"))
    return int((arr == np.array(_hex_to_rgb(colour))).all(axis=2).sum())


def test_map_elements_present(outputs) -> None:
    layers, meta = outputs
    fig = plot_map(layers, indicator="time", metadata=meta)
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    joined = " | ".join(texts)
    assert "Temps en voiture jusqu'au médecin le plus proche — Occitanie" in joined  # French
    assert "km" in texts  # scale bar unit
    assert "N" in texts  # north arrow
    assert "INSEE" in joined  # attribution
    legend = fig.axes[1].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[0].startswith("0–5 min  (") and "\u202f% des hab.)" in labels[0]
    assert "minutes" in legend.get_title().get_text()  # units
    assert any("nouveau centre proposé" in lab for lab in labels)
    assert any("limite de département" in lab for lab in labels)
    # the legend shares of people add up to 100 % (French decimal comma)
    found = re.findall(r"\(([\d,]+)\u202f% des", " ".join(labels))
    assert sum(float(m.replace(",", ".")) for m in found) == pytest.approx(100.0, abs=0.5)
    # département names and the main towns are named
    for name in ("LOT (46)", "HAUTE-GARONNE (31)", "Toulouse", "Montpellier", "Mende"):
        assert name in texts, name
    en = plot_map(layers, indicator="time", metadata=meta, lang="en")
    assert any("Car time to the nearest GP — Occitanie" in t.get_text() for t in en.texts)


def _boxes(fig):  # type: ignore[no-untyped-def]
    fig.canvas.draw()  # positions every label's box as in the saved PNG
    renderer = fig.canvas.get_renderer()
    out = []
    for t in fig._accessmap_labels:
        bb = Text.get_window_extent(t, renderer)  # the text, not its leader line
        if t.get_bbox_patch() is not None:
            bb = Bbox.union([bb, t.get_bbox_patch().get_window_extent(renderer)])
        out.append((t.get_text(), bb))
    return out


@pytest.mark.parametrize("indicator", ["time", "need"])
def test_labels_do_not_collide(outputs, indicator) -> None:
    layers, meta = outputs
    fig = plot_map(layers, indicator=indicator, metadata=meta)
    boxes = _boxes(fig)
    texts = [t for t, _ in boxes]
    # every site rank and, on the need map, every rank of the 28 most in need is placed
    for r in layers["sites"]["rank"]:
        assert str(int(r)) in texts
    if indicator == "need":
        ranks = layers["epci_scores"]["need_rank"].dropna()
        assert sum(t.isdigit() for t in texts) >= (ranks <= 28).sum() + len(layers["sites"])
    overlaps = [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1 :]
                if ba.shrunk(0.97, 0.9).overlaps(bb.shrunk(0.97, 0.9))]  # fmt: skip
    assert not overlaps, overlaps[:5]


def test_portrait_title_fits_the_page(outputs) -> None:
    layers, meta = outputs
    ep = layers["epci_scores"]
    long_name = max(ep["epci_nom"], key=len)
    siren = ep.loc[ep["epci_nom"] == long_name, "epci_siren"].iloc[0]
    title = "Temps en voiture jusqu'au médecin le plus proche — " + long_name
    fig = plot_map(layers, indicator="time", epci=siren, metadata=meta, title=title)
    renderer = fig.canvas.get_renderer()
    for t in fig.texts:
        bb = t.get_window_extent(renderer)
        assert bb.x0 >= 0 and bb.x1 <= fig.bbox.width + 1, t.get_text()[:40]


def test_main_towns(outputs) -> None:
    layers, _ = outputs
    com = layers["communes"]
    towns = main_towns(com)
    # the most populous commune of each of the 13 départements, and every town >= 40,000
    firsts = com.sort_values("pop").drop_duplicates("dep", keep="last")["insee"]
    assert set(firsts) <= set(towns["insee"])
    assert set(com.loc[com["pop"] >= 40_000, "insee"]) <= set(towns["insee"])
    lot = main_towns(com, com["dep"].eq("46").to_numpy(), zoomed=True)
    assert len(lot) == 8 and lot["nom"].iloc[0] == "Cahors"


def test_no_white_holes_in_the_region(outputs) -> None:
    """The communes nouvelles' holes are filled (loaders.holes): inside the region's outline
    only Llívia (13 km2, a Spanish enclave) is left unpainted."""
    layers, _ = outputs
    union = shapely.union_all(layers["communes"].geometry.to_numpy())
    holes = [shapely.Polygon(r) for p in getattr(union, "geoms", [union]) for r in p.interiors]
    assert sorted(round(h.area / 1e6, 1) for h in holes if h.area > 5e4) == [13.0]


def test_share_in_subtitle_matches_data(outputs) -> None:
    layers, meta = outputs
    com = layers["communes"]
    com46 = com[com["dep"] == "46"]
    expected = com46.loc[com46["time_gp_min"] > 15, "pop"].sum() / com46["pop"].sum()
    fig = plot_map(layers, indicator="time", dep="46", metadata=meta, lang="en")
    texts = " ".join(t.get_text() for t in fig.texts)
    assert f"{100 * expected:.1f}% of the {com46['pop'].sum():,.0f} inhabitants" in texts
    assert "Lot (46)" in texts


def test_select_area(outputs) -> None:
    layers, _ = outputs
    name, mask = select_area(layers, dep="9")
    assert name == "Ariège (09)"
    assert mask.sum() == (layers["communes"]["dep"] == "09").sum()
    siren = layers["epci_scores"]["epci_siren"].iloc[0]
    name, mask = select_area(layers, epci=siren)
    assert set(layers["communes"].loc[mask, "epci_siren"]) == {siren}
    with pytest.raises(UnknownCodeError, match=r"département '99' is not in the results"):
        select_area(layers, dep="99")
    with pytest.raises(UnknownCodeError, match=r"EPCI '123' is not in the results"):
        select_area(layers, epci="123")
    with pytest.raises(ConfigError, match="not both"):
        select_area(layers, dep="46", epci=siren)


def test_need_and_apl_maps(outputs, tmp_path) -> None:
    layers, meta = outputs
    fig = plot_map(layers, indicator="need", metadata=meta)
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    n = sum(int(m) for m in re.findall(r"\((\d+) EPCI\)", " ".join(labels)))
    assert n == layers["epci_scores"]["need_rank"].notna().sum()
    p = save_map_png(layers, tmp_path / "apl.png", indicator="apl", epci=layers["sites"][
        "epci_siren"].iloc[0], metadata=meta, dpi=60)  # fmt: skip
    assert p.stat().st_size > 10_000


def test_bad_inputs(outputs, tmp_path) -> None:
    layers, _meta = outputs
    with pytest.raises(ConfigError, match="unknown map indicator 'speed'"):
        plot_map(layers, indicator="speed")
    with pytest.raises(MissingColumnError, match="layer 'communes' not in the results"):
        plot_map({"sites": layers["sites"]})
    no_time = layers["communes"].drop(columns="time_gp_min")
    with pytest.raises(MissingColumnError, match="no column 'time_gp_min'"):
        plot_map({**layers, "communes": no_time})
    with pytest.raises(ConfigError, match="dpi must be between"):
        save_map_png(layers, tmp_path / "x.png", dpi=5)
    (tmp_path / "x.png").write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        save_map_png(layers, tmp_path / "x.png", dpi=60)
    assert (tmp_path / "x.png").read_bytes() == b"old"


def test_attribution_adds_osm_only_with_roads(outputs) -> None:
    layers, meta = outputs
    crow = {k: v for k, v in meta.items() if k not in ("road_network", "attribution")}
    crow["engines"] = ["crow-fly"]
    com = layers["communes"].assign(engine="crow-fly")
    assert "OpenStreetMap" not in attribution_text({**layers, "communes": com}, crow)
    road_meta = {**crow, "engines": ["crow-fly", "road-network"]}
    assert "© OpenStreetMap contributors" in attribution_text(layers, road_meta)
    assert "INSEE" in attribution_text(layers, {})


def test_interactive_map_is_self_contained(outputs, tmp_path) -> None:
    layers, meta = outputs
    wm = interactive_map(layers, tmp_path / "m.html", metadata=meta)
    assert isinstance(wm, WebMap) and wm.path == tmp_path / "m.html"
    text = wm.path.read_text(encoding="utf-8")
    # offline: no script, stylesheet or image from the network; Leaflet is inlined
    # (Leaflet's own attribution link to leafletjs.com is a hyperlink, not a resource)
    assert not re.search(r"""<script[^>]+src=|<img[^>]+src=["']?https?:|url\(["']?https?:""",
                         text)  # fmt: skip
    assert "<link" not in text and "Leaflet" in text and "L.control.scale" in text
    assert "Communes : temps jusqu'au médecin" in text and "EPCI : rang de besoin" in text
    assert "Chercher une commune" in text  # search box
    assert "aucune liste fournie" in text  # no priority list passed to this run
    com = layers["communes"].iloc[0]
    assert f'"insee":"{com["insee"]}"' in text and com["nom"] in text
    assert TIME_CLASSES[3].colour in text
    assert wm.path.stat().st_size < 12_000_000
    assert "<iframe" in wm._repr_html_()  # shown inline in a notebook
    with pytest.raises(OutputExistsError):
        interactive_map(layers, wm.path)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        import os

        msg = "chromium not installed: run scripts/install-viewers.sh (Debian chromium)"
        if os.environ.get("CI") or os.environ.get("ACCESSMAP_REQUIRE_QGIS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=15000", "--window-size=1200,900"]  # fmt: skip
    return subprocess.run([*base, *args], capture_output=True, text=True, timeout=240,
                          check=False)  # fmt: skip


def test_interactive_map_in_headless_chromium(outputs, tmp_path) -> None:
    """Opened offline in a real browser: the map draws (screenshot not blank, the class
    colours on it), the legend and scale show, and a commune's popup opens."""
    layers, meta = outputs
    page = interactive_map(layers, tmp_path / "map.html", metadata=meta).path
    assert page is not None
    toulouse = layers["communes"].set_index("nom").loc["Toulouse", "insee"]
    url = f"{page.as_uri()}#commune={toulouse}"
    shot = tmp_path / "map.png"
    proc = _chromium([f"--screenshot={shot}", url], tmp_path)
    assert shot.exists(), proc.stderr[-2000:]
    arr = np.asarray(Image.open(shot).convert("RGB"))
    assert arr.shape[:2] == (900, 1200)
    colours = {c.colour for c in TIME_CLASSES}
    hits = sum(_colour_count(arr, c) for c in colours)
    assert hits > 0.05 * arr.shape[0] * arr.shape[1]  # the communes are drawn
    dom = _chromium(["--dump-dom", url], tmp_path).stdout
    assert 'data-ready="1"' in dom
    assert "leaflet-popup-content" in dom and "<b>Toulouse</b>" in dom  # the popup opened
    assert "am-legend-time" in dom and "leaflet-control-scale" in dom
    assert "leaflet-control-layers" in dom
    Path(tmp_path / "keep").write_text(str(shot))


def _colour_count(arr, colour: str) -> int:  # type: ignore[no-untyped-def]
    rgb = np.array(_hex_to_rgb(colour))
    return int((np.abs(arr.astype(int) - rgb).sum(axis=2) <= 12).sum())


def test_cli_map_region_png_is_a4_300dpi_with_class_colours(gpkg, tmp_path, capsys) -> None:
    out = tmp_path / "time.png"
    code = main(["map", str(gpkg), "--out", str(out)])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert f"Wrote {out}" in cap.out
    with Image.open(out) as im:
        w, h = im.size
    assert abs(w - 3508) <= 1 and abs(h - 2480) <= 1  # A4 landscape (297 x 210 mm) at 300 dpi
    assert _colour_pixels(out, TIME_CLASSES[0].colour) > 100_000
    assert _colour_pixels(out, SITE_COLOUR) > 100  # the proposed sites are drawn
    before = out.read_bytes()
    code = main(["map", str(gpkg), "--dep", "46", "--out", str(out), "--dpi", "60"])
    cap = capsys.readouterr()
    assert code != 0 and "--overwrite" in cap.err
    assert len(cap.err.strip().splitlines()) == 1
    assert out.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--dep", "99"], "département '99'"),
        (["--indicator", "speed"], "unknown map indicator"),
        (["--epci", "1"], "EPCI '1'"),
    ],
)
def test_cli_map_bad_options(gpkg, tmp_path, capsys, args, needle) -> None:
    code = main(["map", str(gpkg), "--out", str(tmp_path / "x.png"), "--dpi", "60", *args])
    cap = capsys.readouterr()
    assert code != 0
    assert needle in cap.err and len(cap.err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_cli_map_missing_gpkg(tmp_path, capsys) -> None:
    code = main(["map", str(tmp_path / "none.gpkg")])
    cap = capsys.readouterr()
    assert code == 3 and "accessmap score --out" in cap.err


def test_geodataframe_in_other_crs_is_reprojected(outputs) -> None:
    layers, meta = outputs
    wgs = {k: layers[k].to_crs(4326) for k in ("communes", "sites")}
    fig = plot_map(wgs, metadata=meta)
    xmin, _xmax = fig.axes[0].get_xlim()
    assert xmin > 100_000  # Lambert-93 metres, not degrees
