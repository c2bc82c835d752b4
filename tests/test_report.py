"""accessmap.outputs.report and `accessmap report`: one self-contained HTML file for planners."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from accessmap.cli import main
from accessmap.errors import ConfigError, OutputExistsError
from accessmap.outputs.geopackage import layers_of, to_geopackage
from accessmap.outputs.report import build_report, departement_table, priority_agreement, write_report


@pytest.fixture(scope="module")
def outputs(score_result):  # type: ignore[no-untyped-def]
    """Layers and metadata of the session's default run_score (conftest ``score_result``)."""
    return layers_of(score_result)


@pytest.fixture(scope="module")
def html(outputs) -> str:  # type: ignore[no-untyped-def]
    layers, meta = outputs
    return build_report(layers, metadata=meta)


# --- hand-computed tables -------------------------------------------------------------------


def test_departement_table_hand_computed() -> None:
    com = pd.DataFrame(
        {
            "dep": ["46", "46", "12"],
            "dep_nom": ["Lot", "Lot", "Aveyron"],
            "pop": [100, 300, 600],
            "time_gp_min": [20.0, 10.0, np.nan],  # NaN = unreachable: counted beyond
            "apl": [2.0, 3.0, 5.0],
        }
    )
    t = departement_table(com).set_index("dep_nom")
    assert t.loc["Lot", "pop_beyond"] == 100
    assert t.loc["Lot", "share_beyond"] == pytest.approx(0.25)
    assert t.loc["Lot", "mean_time_min"] == pytest.approx((100 * 20 + 300 * 10) / 400)
    assert t.loc["Lot", "share_apl_below_2_5"] == pytest.approx(0.25)
    assert t.loc["Aveyron", "share_beyond"] == pytest.approx(1.0)
    assert np.isnan(t.loc["Aveyron", "mean_time_min"])
    assert t.loc["Total", "pop"] == 1000
    assert t.loc["Total", "share_beyond"] == pytest.approx(0.7)
    assert t.loc["Total", "mean_time_min"] == pytest.approx(12.5)
    assert t.loc["Total", "share_apl_below_2_5"] == pytest.approx(0.1)
    # threshold is a parameter: 10 minutes exactly is within, 20 beyond
    t10 = departement_table(com, threshold_min=10.0).set_index("dep_nom")
    assert t10.loc["Lot", "pop_beyond"] == 100


def test_priority_agreement_hand_computed() -> None:
    scores = pd.DataFrame({"epci_siren": list("abcdef"), "need_rank": [1, 2, 3, 4, 5, 6]})
    r = priority_agreement(scores, ["a", "c", "f", "zz"], top_n=3)
    assert (r["n_official"], r["top_n"], r["n_common"]) == (4, 3, 2)
    assert r["precision"] == pytest.approx(2 / 3)
    assert r["recall"] == pytest.approx(2 / 4)
    assert r["jaccard"] == pytest.approx(2 / 5)  # {a,b,c} | {a,c,f}
    assert r["median_rank_official"] == 3.0  # ranks 1, 3, 6
    assert r["missed"] == [("f", 6.0)]
    assert r["unknown"] == ["zz"]
    assert priority_agreement(scores, ["a", "b"])["top_n"] == 2  # default: size of the list
    with pytest.raises(ConfigError, match="official priority list is empty"):
        priority_agreement(scores, [])
    with pytest.raises(ConfigError, match="top_n must be >= 1"):
        priority_agreement(scores, ["a"], top_n=0)


# --- the report on the real run -------------------------------------------------------------


def test_self_contained_with_embedded_images(html) -> None:
    # no external resource: no src/href to http(s), no <script>, no stylesheet link
    assert not re.search(r"""(src|href)\s*=\s*['"]?https?:""", html)
    assert "<script" not in html and "<link" not in html
    imgs = re.findall(r"<img alt='([^']*)' src='data:image/png;base64,([^']+)'", html)
    assert [a for a, _ in imgs] == ["time map", "apl map", "need map", "siting curve"]
    for _, b64 in imgs:
        with Image.open(io.BytesIO(base64.b64decode(b64))) as im:
            assert im.width > 500
    assert len(html) < 5_000_000


def test_headline_matches_the_run(html, score_result) -> None:
    s = score_result.summary
    assert f"{100 * s['share_beyond_target']:.1f} %" in html
    assert f"{s['pop_beyond_target']:,}".replace(",", " ") in html
    sections = re.findall(r"<h2>([^<]+)</h2>", html)
    assert sections[0] == "1. Headline figures"
    assert sections[-1] == "6. Methods, data and assumptions"
    assert "4. Where 10 new health centres would help most" in sections


def test_by_departement_table(html, outputs) -> None:
    layers, _ = outputs
    t = departement_table(layers["communes"])
    assert len(t) == 14  # 13 départements + total
    for name in ("Lot", "Lozère", "Haute-Garonne", "Total"):
        assert f'<td class="t">{name}</td>' in html
    lot = t.set_index("dep").loc["46"]
    assert f"{100 * lot['share_beyond']:.1f} %" in html
    # the per-département table agrees with the pipeline's own table
    deps = layers["departements"].set_index("dep")
    assert lot["pop_beyond"] == pytest.approx(deps.loc["46", "pop_beyond_15"])


def test_ranking_and_sites(html, outputs) -> None:
    layers, _ = outputs
    top = layers["epci_scores"].sort_values("need_rank").head(28)
    for nom in top["epci_nom"]:
        assert nom.replace("'", "&#x27;") in html
    outside = layers["epci_scores"].sort_values("need_rank").iloc[40]["epci_nom"]
    assert outside.replace("'", "&#x27;") not in html.split("<h2>4.")[0].split("<h2>3.")[1]
    for nom in layers["sites"]["nom"]:
        assert nom.replace("'", "&#x27;") in html


def test_methods_sources_and_no_official_list(html, outputs) -> None:
    _, meta = outputs
    methods = html.split("<h2>6. Methods")[1]
    assert "5,400 consultations" in methods
    assert "Licence Ouverte" in methods
    assert "straight-line" in methods  # crow-fly run
    assert "weight 0.35" in methods  # APL weight of the default need criteria
    assert "OpenStreetMap" not in methods  # no road network used in this run
    for src in meta["sources"]:
        assert src["name"] in methods or src["description"][:30] in methods
    assert "Sensitivity to speeds" in methods
    assert "No official priority list was given" in html


def test_road_network_run_credits_openstreetmap(outputs) -> None:
    layers, meta = outputs
    small = {k: layers[k] for k in ("communes", "sites")}
    text = build_report(small, metadata={**meta, "engines": ["crow-fly", "road-network"]},
                        include_maps=False)  # fmt: skip
    assert "© OpenStreetMap contributors" in text
    assert "OpenStreetMap road network" in text


def test_write_report_refuses_overwrite(outputs, tmp_path) -> None:
    layers, meta = outputs
    p = tmp_path / "r.html"
    p.write_text("old")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_report(layers, p, metadata=meta)
    assert p.read_text() == "old"
    with pytest.raises(ConfigError, match=r"must end in \.html"):
        write_report(layers, tmp_path / "r.pdf", metadata=meta)


# --- CLI --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpkg(outputs, tmp_path_factory):  # type: ignore[no-untyped-def]
    layers, meta = outputs
    return to_geopackage(layers, tmp_path_factory.mktemp("r") / "run.gpkg", metadata=meta)


def test_cli_report_with_priority_list(gpkg, outputs, tmp_path, capsys) -> None:
    layers, _ = outputs
    ranked = layers["epci_scores"].sort_values("need_rank")
    official = [*ranked["epci_siren"].iloc[:2], ranked["epci_siren"].iloc[60]]
    pri = tmp_path / "priority.csv"
    pd.DataFrame({"epci_siren": official}).to_csv(pri, index=False)
    out = tmp_path / "report.html"
    code = main(["report", str(gpkg), "--out", str(out), "--priority", str(pri)])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert f"Wrote {out}" in cap.out
    text = out.read_text(encoding="utf-8")
    assert "Of the 3 official priority EPCI, <b>3</b> are in our top 3" not in text
    assert "Of the 3 official priority EPCI, <b>2</b> are in our top 3" in text
    assert "(rank 61)" in text
    code = main(["report", str(gpkg), "--out", str(out)])
    cap = capsys.readouterr()
    assert code != 0 and "--overwrite" in cap.err and len(cap.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--top", "0"], "--top must be >= 1"), (["--priority", "nope.csv"], "nope.csv")],
)
def test_cli_report_bad_options(gpkg, tmp_path, capsys, args, needle) -> None:
    out = tmp_path / "x.html"
    code = main(["report", str(gpkg), "--out", str(out), *args])
    cap = capsys.readouterr()
    assert code != 0
    assert needle in cap.err and len(cap.err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_report_not_a_geopackage(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.gpkg"
    bad.write_text("nope")
    code = main(["report", str(bad)])
    cap = capsys.readouterr()
    assert code != 0 and "bad.gpkg" in cap.err and "Traceback" not in cap.err


def test_what_if_table_when_asked(outputs) -> None:
    layers, meta = outputs
    wi = pd.DataFrame({"site_id": ["12009"], "nom": ["Arnac-sur-Dourdou"], "gain_pop": [878.0]})
    small = {k: layers[k] for k in ("communes", "sites")}
    text = build_report({**small, "what_if": wi}, metadata=meta, include_maps=False)
    part = text.split("What if a centre opened in")[1].split("<h2>")[0]
    assert "Arnac-sur-Dourdou" in part and "878" in part
