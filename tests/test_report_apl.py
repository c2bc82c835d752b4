"""The official-APL parts of the outputs: the report's agreement section (HTML and PDF), the
difference map (PNG, HTML, QGIS style), the sensitivity and siting tables as written.

One real run on a département outside Occitanie (Doubs, 25: the bundle's DREES workbook has
every French commune but those of Occitanie) with ``--official-apl``, crow-fly to keep it
fast; and one on the Lot (46, in Occitanie) where the workbook has no commune, so the
section must say so and show our side only. Every figure checked here is read back from the
``apl_agreement_*`` tables the run wrote, never typed in.
"""

from __future__ import annotations

import html as html_lib
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from accessmap.cli import main
from accessmap.errors import DataNotFoundError
from accessmap.outputs.geopackage import read_geopackage
from accessmap.outputs.i18n import catalogue
from accessmap.outputs.maps import interactive_map, plot_map
from accessmap.outputs.report import build_report, report_context
from accessmap.outputs.styles import APL_DIFF_CLASSES, INDICATORS, classify, styles_for_layer

WORKBOOK = "apl_mg_drees_2022_2023_hors_occitanie.xlsx"
FAST = ["--engine", "crow-fly", "--no-grid", "--no-exact", "-k", "1"]


def _run(data_dir: Path, out: Path, region: str, *extra: str) -> tuple[int, str]:
    code = main(["--quiet", "score", "--data-dir", str(data_dir), "--region", region,
                 "--official-apl", str(data_dir / WORKBOOK), "--out", str(out), *FAST,
                 *extra])  # fmt: skip
    return code, ""


@pytest.fixture(scope="module")
def doubs(data_dir, tmp_path_factory):  # type: ignore[no-untyped-def]
    work = tmp_path_factory.mktemp("doubs")
    gpkg, pdf = work / "d25.gpkg", work / "d25.pdf"
    code, _ = _run(data_dir, gpkg, "25", "--pdf", str(pdf))
    assert code == 0
    layers, meta = read_geopackage(gpkg)
    return {"gpkg": gpkg, "pdf": pdf, "layers": layers, "meta": meta, "work": work}


@pytest.fixture(scope="module")
def doubs_html(doubs) -> str:  # type: ignore[no-untyped-def]
    return build_report(doubs["layers"], metadata=doubs["meta"], map_dpi=60)


def _stats(layers) -> dict[str, float]:  # type: ignore[no-untyped-def]
    t = layers["apl_agreement_summary"]
    return dict(zip(t["statistic"], t["value"].astype(float), strict=True))


def _text(html: str) -> str:
    """Visible text of the HTML (tags dropped, narrow spaces made plain)."""
    body = re.sub(r"<img[^>]*>", "", html)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", body))
    return re.sub(r"\s+", " ", text).replace("\u202f", " ")


def test_run_wrote_the_agreement_tables(doubs) -> None:
    layers = doubs["layers"]
    assert {"apl_agreement_summary", "apl_agreement_confusion", "apl_agreement_by_dep",
            "apl_agreement_largest_abs", "apl_difference"} <= set(layers)  # fmt: skip
    assert _stats(layers)["n_matched"] > 500  # Doubs has 563 communes, all in the workbook


def test_agreement_section_in_french_reads_the_tables(doubs, doubs_html) -> None:
    c = catalogue("fr")
    st = _stats(doubs["layers"])
    text = _text(doubs_html)
    assert c.t("section.apl_official") in text
    # correlations, levels and shares exactly as the summary table holds them
    for key, digits in (("spearman", 2), ("pearson", 2), ("level_ours", 2),
                        ("level_official", 2)):  # fmt: skip
        assert c.num(st[key], digits).replace("\u202f", " ") in text, key
    for key in ("share_below_2_5_ours", "share_below_2_5_official", "share_below_4_ours",
                "share_below_4_official"):  # fmt: skip
        assert c.pct(st[key]).replace("\u202f", " ") in text, key
    # the 3x3 class table: every cell's population, official classes as rows
    conf = doubs["layers"]["apl_agreement_confusion"]
    for pop in conf["population"]:
        assert c.num(pop).replace("\u202f", " ") + " hab." in text
    # per département and the largest disagreements, with a cause in French
    assert "Par département" in text and "Doubs" in text
    big = doubs["layers"]["apl_agreement_largest_abs"]
    for nom in big["nom"].head(5):
        assert f"{nom} (25)" in text
    assert "Cause probable" in text
    assert "activity or GP location" not in text  # causes translated, not raw English
    assert any(w in text for w in ("activité ou localisation", "offre (médecins", "tranches d'âge"))
    # the difference map is embedded with its caption
    assert c.t("maps.caption_apl_diff").replace("\u202f", " ") in text
    assert 'alt="apl_diff map"' in doubs_html


def test_agreement_sentence_in_the_plain_summary(doubs) -> None:
    ctx = report_context(doubs["layers"], metadata=doubs["meta"], include_maps=False)
    c = catalogue("fr")
    st = _stats(doubs["layers"])
    joined = " ".join(ctx["summary"])
    assert c.num(st["spearman"], 2) in joined and c.num(st["level_official"], 2) in joined
    assert c.num(st["n_matched"]) in joined
    assert 5 <= len(ctx["summary"]) <= 7


def test_agreement_section_in_english(doubs) -> None:
    html = build_report(doubs["layers"], metadata=doubs["meta"], lang="en", include_maps=False)
    c = catalogue("en")
    st = _stats(doubs["layers"])
    text = _text(html)
    assert c.t("section.apl_official") in text
    assert c.num(st["spearman"], 2) in text and c.pct(st["share_below_2_5_official"]) in text
    assert "Likely cause" in text and "By département" in text


def test_pdf_of_the_cli_run_has_the_section(doubs, tmp_path) -> None:
    """``score --pdf`` wrote an A4 PDF whose pages pdftoppm renders; the agreement section
    and the difference map are on a page (diverging map colours on its PNG)."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm not installed: run scripts/install-viewers.sh (poppler-utils)")
    pdf = doubs["pdf"]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    pdftotext = shutil.which("pdftotext")
    assert pdftotext is not None
    pages = []
    n = 1
    while True:
        proc = subprocess.run([pdftotext, "-f", str(n), "-l", str(n), str(pdf), "-"],
                              capture_output=True, text=True, check=False)  # fmt: skip
        if proc.returncode != 0 or n > 60:
            break
        pages.append(proc.stdout)
        n += 1
    hit = [i for i, p in enumerate(pages, 1) if "Comparaison avec l'APL officielle" in p]
    assert hit, "agreement section not in the PDF"
    # the map follows the section's figures: find the page whose PNG shows the PuOr colours
    subprocess.run([pdftoppm, "-r", "40", "-f", str(hit[0]), "-l", str(hit[0] + 2), "-png",
                    str(pdf), str(tmp_path / "p")], check=True)  # fmt: skip
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert pngs
    best = 0
    for png in pngs:
        with Image.open(png) as im:
            w, h = im.size
            assert abs(w / h - 210 / 297) < 0.01  # A4 portrait
            arr = np.asarray(im.convert("RGB")).astype(int)
        n_div = 0
        for cls in (APL_DIFF_CLASSES[1], APL_DIFF_CLASSES[4]):
            rgb = np.array([int(cls.colour[i : i + 2], 16) for i in (1, 3, 5)])
            n_div += int((np.abs(arr - rgb).sum(axis=2) <= 24).sum())
        best = max(best, n_div)
    assert best > 500


def test_difference_map_png(doubs) -> None:
    layers = doubs["layers"]
    fig = plot_map(layers, indicator="apl_diff", metadata=doubs["meta"])
    texts = " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
    assert "Doubs (25)" in texts  # the run's area, not "study area"
    st = _stats(layers)
    assert catalogue("fr").num(st["spearman"], 2) in texts
    # every commune coloured by the class of its difference, as written in the layer
    diff = layers["apl_difference"]
    counts = {k: 0 for k in range(len(APL_DIFF_CLASSES))}
    for v in diff["diff"].astype(float):
        counts[classify(v, APL_DIFF_CLASSES)] += 1
    assert counts[0] + counts[6] < len(diff) and len([k for k, n in counts.items() if n]) >= 4


def test_cli_map_apl_diff_png_and_html(doubs, tmp_path, capsys) -> None:
    out, html = tmp_path / "diff.png", tmp_path / "diff.html"
    code = main(["map", str(doubs["gpkg"]), "--indicator", "apl_diff", "--out", str(out),
                 "--html", str(html), "--dpi", "80"])  # fmt: skip
    cap = capsys.readouterr()
    assert code == 0, cap.err
    arr = np.asarray(Image.open(out).convert("RGB")).astype(int)
    diff = doubs["layers"]["apl_difference"]["diff"].astype(float)
    for k, cls in enumerate(APL_DIFF_CLASSES):
        n = sum(classify(v, APL_DIFF_CLASSES) == k for v in diff)
        rgb = np.array([int(cls.colour[i : i + 2], 16) for i in (1, 3, 5)])
        drawn = int((np.abs(arr - rgb).sum(axis=2) <= 6).sum())
        if n >= 5 and k != 3:  # the near-white "agree" class is hard to tell from paper
            assert drawn > 20, (cls.label, n, drawn)
    page = html.read_text(encoding="utf-8")
    legends = next(ln for ln in page.splitlines() if ln.startswith("const LEGENDS ="))
    assert '"apl_diff"' in legends and catalogue("fr").t("web.layer.apl_diff") in page
    assert APL_DIFF_CLASSES[0].colour in page


def test_map_apl_diff_without_the_layer_says_how(doubs, tmp_path, capsys) -> None:
    layers = {k: v for k, v in doubs["layers"].items() if k != "apl_difference"}
    with pytest.raises(DataNotFoundError, match="--official-apl"):
        plot_map(layers, indicator="apl_diff")
    # and the interactive map simply has no difference layer
    page = interactive_map(layers, metadata=doubs["meta"]).html
    legends = next(ln for ln in page.splitlines() if ln.startswith("const LEGENDS ="))
    assert "apl_diff" not in legends


def test_difference_layer_qgis_style() -> None:
    styles = styles_for_layer("apl_difference", "polygon", ["insee", "diff", "apl_ours"])
    (style,) = [s for s in styles if s.default]
    assert style.renderer == "graduatedSymbol" and 'attr="diff"' in style.qml
    for cls in APL_DIFF_CLASSES:
        r, g, b = (int(cls.colour[i : i + 2], 16) for i in (1, 3, 5))
        assert f"{r},{g},{b},255" in style.qml
    assert "inf" not in style.qml  # open classes as finite bounds QGIS parses
    assert INDICATORS["apl_diff"][0] == "diff"


def test_sensitivity_table_as_written(doubs, doubs_html) -> None:
    sens = doubs["layers"]["sensitivity"]
    c = catalogue("fr")
    text = _text(doubs_html)
    assert "± 10" not in text
    assert "Sensibilité aux vitesses" in text
    for v in sens["share_beyond"]:
        assert c.pct(v, 2).replace("\u202f", " ") in text
    # one row per row of the table; the crow-fly row named in French
    ctx = report_context(doubs["layers"], metadata=doubs["meta"], include_maps=False)
    assert len(ctx["sensitivity"]["rows"]) == len(sens)
    if sens["speed_change"].astype(str).str.contains("crow").any():
        assert any(r[0] == c.t("sens.crow") for r in ctx["sensitivity"]["rows"])
    lo = min(int(m) for m in sens["speed_change"].astype(str).str.extract(r"([+-]?\d+)%")[0]
             .dropna())  # fmt: skip
    assert f"{lo} %" in ctx["sensitivity"]["title"].replace("\u202f", " ")


def test_siting_objective_explained_and_compared(doubs) -> None:
    ctx = report_context(doubs["layers"], metadata=doubs["meta"], include_maps=False)
    info = doubs["meta"]["summary"]["siting"]
    sites = ctx["sites"]
    c = catalogue("fr")
    assert c.num(info["candidates"]) in sites["explain"]
    assert c.num(info["doctors_per_centre"]) in sites["explain"]
    (compare,) = [t for t in sites["extra"] if t["title"] == c.t("sites.compare_title")]
    assert len(compare["rows"]) == len(info["compare"])
    chosen = [r for r, hl in zip(compare["rows"], compare["highlight"], strict=True) if hl]
    assert chosen and chosen[0][0] == c.t(f"objective.{info['objective']}", thr="15")
    for row, obj in zip(compare["rows"], ("apl", "coverage", "time"), strict=False):
        assert row[2] == c.num(info["compare"][obj]["lifted_pop"])


def test_occitanie_run_says_the_workbook_has_no_rows(data_dir, tmp_path, capsys) -> None:
    """The bundle's workbook leaves Occitanie out: the run still writes its outputs, warns
    in one line, and the report's section says so plainly and shows our APL by département."""
    gpkg = tmp_path / "d46.gpkg"
    code = main(["score", "--data-dir", str(data_dir), "--region", "46", "--official-apl",
                 str(data_dir / WORKBOOK), "--out", str(gpkg), *FAST])  # fmt: skip
    cap = capsys.readouterr()
    assert code == 0, cap.err
    warn = [ln for ln in cap.err.splitlines() if "--official-apl not compared" in ln]
    assert len(warn) == 1
    layers, meta = read_geopackage(gpkg)
    assert "apl_agreement_summary" not in layers and "apl_difference" not in layers
    assert meta["summary"]["apl_official_unavailable"]["workbook"] == WORKBOOK
    html = build_report(layers, metadata=meta, include_maps=False)
    text = _text(html)
    assert WORKBOOK in text and "n'a aucune commune" in text
    assert "Ce qui est disponible" in text
    com = layers["communes"]
    pop = com["pop"].astype(float)
    low = pop[com["apl"].astype(float) < 2.5].sum() / pop.sum()
    assert catalogue("fr").pct(low).replace("\u202f", " ") in text
    ctx = report_context(layers, metadata=meta, include_maps=False)
    assert any("n'a aucune commune" in s for s in ctx["summary"])
    # the same run without a workbook: a one-line pointer, no unavailable message
    meta2 = {**meta, "summary": {k: v for k, v in meta["summary"].items()
                                 if k != "apl_official_unavailable"}}  # fmt: skip
    text2 = _text(build_report(layers, metadata=meta2, include_maps=False))
    assert "--official-apl" in text2 and "n'a aucune commune" not in text2


def test_score_pdf_and_french_csv(data_dir, tmp_path, capsys) -> None:
    """``score --pdf --csv-format fr`` on the Lot: an A4 PDF and CSV copies a French
    spreadsheet opens (``;``, UTF-8 BOM, integers as integers, decimal comma)."""
    gpkg, pdf = tmp_path / "lot.gpkg", tmp_path / "lot.pdf"
    code = main(["score", "--data-dir", str(data_dir), "--region", "46", "--out", str(gpkg),
                 "--pdf", str(pdf), "--csv-format", "fr", *FAST])  # fmt: skip
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000
    csv = tmp_path / "lot" / "communes.csv"
    raw = csv.read_bytes()
    assert raw[:3] == b"\xef\xbb\xbf"
    head = raw[3:].decode("utf-8").splitlines()[0]
    assert ";" in head and "," not in head
    df = pd.read_csv(csv, sep=";", decimal=",", encoding="utf-8-sig", dtype={"insee": str})
    layers, _ = read_geopackage(gpkg)
    com = layers["communes"].set_index("insee")
    assert len(df) == len(com)
    assert df["pop"].dtype.kind == "i"  # integers written as integers
    merged = df.set_index("insee")["time_gp_min"].astype(float)
    assert np.allclose(merged, com.loc[merged.index, "time_gp_min"].astype(float), atol=0.06)
    text = raw.decode("utf-8-sig")
    assert re.search(r";\d+,\d+;", text)  # decimal comma
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", "-png", str(pdf),
                        str(tmp_path / "lot")], check=True)  # fmt: skip
        (png,) = tmp_path.glob("lot-*.png")
        with Image.open(png) as im:
            assert abs(im.size[0] / im.size[1] - 210 / 297) < 0.01
