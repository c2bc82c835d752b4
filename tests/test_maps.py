"""accessmap.outputs.maps and `accessmap map`: PNG choropleths, HTML map, selection, bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest
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
    attribution_text,
    interactive_map,
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
    assert "Car time to the nearest GP — Occitanie" in joined
    assert "km" in texts  # scale bar unit
    assert "N" in texts  # north arrow
    assert "INSEE" in joined  # attribution
    legend = fig.axes[1].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[0].startswith("0–5 min  (") and "% of pop.)" in labels[0]
    assert "minutes" in legend.get_title().get_text()  # units
    assert any("proposed new centre" in lab for lab in labels)
    assert any("département boundary" in lab for lab in labels)
    # the legend shares of people add up to 100 %
    shares = [float(m) for m in re.findall(r"\(([\d.]+) % of pop", " ".join(labels))]
    assert sum(shares) == pytest.approx(100.0, abs=0.5)


def test_share_in_subtitle_matches_data(outputs) -> None:
    layers, meta = outputs
    com = layers["communes"]
    com46 = com[com["dep"] == "46"]
    expected = 100 * com46.loc[com46["time_gp_min"] > 15, "pop"].sum() / com46["pop"].sum()
    fig = plot_map(layers, indicator="time", dep="46", metadata=meta)
    texts = " ".join(t.get_text() for t in fig.texts)
    assert f"{expected:.1f} % of the {com46['pop'].sum():,.0f} inhabitants" in texts
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
    assert n == len(layers["epci_scores"])
    p = save_map_png(layers, tmp_path / "apl.png", indicator="apl", epci=layers["sites"][
        "epci_siren"].iloc[0], metadata=meta, dpi=60)  # fmt: skip
    assert p.stat().st_size > 10_000


def test_attribution_adds_osm_only_with_roads(outputs) -> None:
    layers, meta = outputs
    assert "OpenStreetMap" not in attribution_text(layers, meta)
    road_meta = {**meta, "engines": ["crow-fly", "road-network"]}
    assert "© OpenStreetMap contributors" in attribution_text(layers, road_meta)
    assert "INSEE" in attribution_text(layers, {})


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


def test_interactive_map(outputs, tmp_path) -> None:
    layers, meta = outputs
    p = interactive_map(layers, tmp_path / "m.html", metadata=meta)
    # folium escapes < and > inside the embedded GeoJSON
    text = p.read_text(encoding="utf-8").replace("\\u003c", "<").replace("\\u003e", ">")
    assert "Communes: car time to nearest GP" in text
    assert "EPCI: need rank" in text and "Proposed new centres" in text
    com = layers["communes"].iloc[0]
    assert f"<b>{com['nom']}</b> ({com['insee']})" in text  # commune popup
    ep = layers["epci_scores"].iloc[0]
    assert ep["epci_nom"] in text and "Need rank" in text  # EPCI popup
    assert "People newly within 15 min" in text  # site popup
    assert TIME_CLASSES[3].colour in text  # legend / colours
    assert "INSEE" in text
    assert p.stat().st_size < 12_000_000
    with pytest.raises(OutputExistsError):
        interactive_map(layers, p)


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
