"""accessmap.outputs.report and `accessmap report`: the planner's report, HTML and A4 PDF.

The report is checked as its readers get it: French by default, figures as the GeoPackage
tables hold them (never recomputed), and the PDF rendered to PNG pages with pdftoppm
(Debian poppler-utils, installed by scripts/install-viewers.sh).
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from html import unescape

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from accessmap.cli import main
from accessmap.errors import ConfigError, OutputExistsError
from accessmap.outputs.geopackage import layers_of, to_geopackage
from accessmap.outputs.i18n import catalogue
from accessmap.outputs.report import agreement_table, build_report, write_report, write_report_pdf
from accessmap.scoring import agreement

NNBSP = "\u202f"


@pytest.fixture(scope="module")
def outputs(score_result):  # type: ignore[no-untyped-def]
    """Layers and metadata of the session's default run_score (conftest ``score_result``)."""
    return layers_of(score_result)


@pytest.fixture(scope="module")
def html(outputs) -> str:  # type: ignore[no-untyped-def]
    layers, meta = outputs
    return build_report(layers, metadata=meta)


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


# --- formats ----------------------------------------------------------------------------------


def test_french_and_english_number_formats() -> None:
    fr, en = catalogue("fr"), catalogue("en")
    assert fr.num(6124653) == f"6{NNBSP}124{NNBSP}653"
    assert fr.pct(0.000685) == f"0,1{NNBSP}%"
    assert fr.num(4.2567, 2) == "4,26"
    assert fr.minutes(1.36) == f"1,4{NNBSP}min"
    assert en.num(6124653) == "6,124,653" and en.pct(0.000685) == "0.1%"
    assert fr.num(float("nan")) == "–" and fr.pct(None) == "–"
    with pytest.raises(ConfigError, match="unknown language 'de'"):
        catalogue("de")
    with pytest.raises(ConfigError, match=r"missing from templates/messages_fr\.toml"):
        fr.t("no.such.key")
    # both catalogues have the same keys: no text falls back to a raw key
    assert set(fr.messages) == set(en.messages)


# --- the report on the real run -----------------------------------------------------------------


def test_self_contained_french_by_default(html) -> None:
    assert html.startswith("<!DOCTYPE html>") and '<html lang="fr">' in html
    assert not re.search(r"""(src|href)\s*=\s*['"]?https?:""", html)
    assert "<script" not in html and "<link" not in html
    imgs = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', html)
    assert [a for a, _ in imgs] == ["time map", "apl map", "need map", "siting curve"]
    for _, b64 in imgs:
        with Image.open(io.BytesIO(base64.b64decode(b64))) as im:
            assert im.width > 500
    assert len(html) < 6_000_000
    for heading in ("En bref", "À savoir avant de lire", "1. Chiffres clés", "2. Cartes",
                    "6. Comparaison avec l'APL officielle de la DREES",
                    "7. Méthodes, données et hypothèses", "Paramètres du calcul"):  # fmt: skip
        assert heading in _text(html), heading


def test_plain_language_summary(html, outputs) -> None:
    layers, meta = outputs
    box = html.split('id="summary"')[1].split("</section>")[0]
    sentences = re.findall(r"<p>(.*?)</p>", box, flags=re.S)
    assert 5 <= len(sentences) <= 6
    s = meta["summary"]
    fr = catalogue("fr")
    region = layers["region"].iloc[0]
    first = unescape(sentences[0])
    assert fr.pct(region["share_beyond_15"]) in first and fr.num(region["pop_beyond_15"]) in first
    # where: the two départements with the highest share, from the departements table
    worst = layers["departements"].sort_values("share_beyond_15", ascending=False)["dep_nom"]
    assert worst.iloc[0] in first and worst.iloc[1] in first
    assert "2,5" in unescape(sentences[2]) and fr.pct(s["share_apl_below_2_5"]) in unescape(
        sentences[2])  # fmt: skip
    top3 = layers["epci_scores"].sort_values("need_rank")["epci_nom"].head(3)
    assert all(unescape(n) in unescape(sentences[3]) for n in top3)
    assert "Aucune liste officielle" in unescape(sentences[-1])


def test_caveats_box(html, outputs) -> None:
    _, meta = outputs
    box = _text(html.split('id="caveats"')[1].split("</section>")[0])
    n = meta["summary"]["communes"]
    assert f"{catalogue('fr').num(n)} communes" in box  # the engine's coverage
    year = "".join(ch for ch in meta["summary"]["gp_source"] if ch.isdigit())[:4]
    assert f"Base permanente des équipements {year}" in box and "effectifs" in box
    assert "Bords de la zone d'étude" in box


def test_headline_cards_good_news_not_alarm(html, outputs) -> None:
    layers, _ = outputs
    share = layers["region"]["share_beyond_15"].iloc[0]
    m = re.search(r'<div class="card ([a-z]*)">(?:<div class="tone">[^<]*</div>)?'
                  r'<div class="v">([^<]*)</div>', html)  # fmt: skip
    assert m is not None
    assert m.group(2) == catalogue("fr").pct(share)
    assert m.group(1) == ("good" if share < 0.01 else "alert" if share >= 0.05 else "")


def test_departement_table_read_not_recomputed(outputs) -> None:
    """The table is the GeoPackage's ``departements`` table: change it and the report
    follows (a recomputation from the communes would not)."""
    layers, meta = outputs
    deps = layers["departements"].copy()
    deps.loc[deps["dep"] == "46", "pop_beyond_15"] = 12345
    text = build_report({**layers, "departements": deps}, metadata=meta, include_maps=False)
    row = text.split('<td class="l">Lot</td>')[1].split("</tr>")[0]
    assert f"12{NNBSP}345" in row
    assert '<td class="l">Total</td>' in text


def test_ranking_and_sites(html, outputs) -> None:
    layers, _ = outputs
    body = unescape(html)
    top = layers["epci_scores"].sort_values("need_rank").head(28)
    for nom in top["epci_nom"]:
        assert nom in body
    part = body.split("3. Intercommunalités")[1].split("4. Où")[0]
    outside = layers["epci_scores"].sort_values("need_rank").iloc[60]["epci_nom"]
    assert outside not in part
    for label in layers["sites"]["label"]:
        assert label in body  # "Commune (dep)"


def test_readable_parameters_and_appendix(html, outputs) -> None:
    _, meta = outputs
    params = html.split("Paramètres du calcul")[1]
    assert "Objectif de temps (min)" in params and "Nombre de nouveaux centres" in params
    assert "{'" not in params and "[]" not in params  # no Python dump
    assert "aucune liste fournie" in params  # no priority list
    appendix = _text(html.split("Annexe")[1])
    assert "Gini" in appendix and "Palma" in appendix
    assert catalogue("fr").num(meta["summary"]["gini_apl"], 3) in appendix


def test_english_report(outputs) -> None:
    layers, meta = outputs
    text = build_report(layers, metadata=meta, lang="en", include_maps=False)
    assert '<html lang="en">' in text and "In short" in text and "Before reading" in text
    assert "Run parameters" in text and "No official list" in text


def test_agreement_from_the_run_table_matches_the_cli(outputs) -> None:
    """The agreement section uses the ``agreement`` table as written (the CLI's figures)."""
    layers, meta = outputs
    ranked = layers["epci_scores"].sort_values("need_rank")
    official = [*ranked["epci_siren"].iloc[:20], *ranked["epci_siren"].iloc[60:68]]
    table = agreement_table(layers["epci_scores"], official, top_n=28)
    agr = agreement(layers["epci_scores"], official, top_n=28)
    text = build_report({**layers, "agreement": table}, metadata=meta, include_maps=False)
    body = _text(text)
    fr = catalogue("fr")
    assert (f"Sur les 28 EPCI de la liste officielle, {agr.n_hit} figurent parmi nos 28 "
            f"premières (rappel {fr.pct(agr.recall, 0)}") in body  # fmt: skip
    assert set(table.loc[table["status"] == "hit", "epci_siren"]) == set(agr.hits)


def test_write_report_refuses_overwrite(outputs, tmp_path) -> None:
    layers, meta = outputs
    p = tmp_path / "r.html"
    p.write_text("old")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_report(layers, p, metadata=meta, include_maps=False)
    assert p.read_text() == "old"
    with pytest.raises(ConfigError, match=r"must end in \.html"):
        write_report(layers, tmp_path / "r.pdf", metadata=meta)


# --- PDF ---------------------------------------------------------------------------------------

PDFTOPPM = shutil.which("pdftoppm")


def _need_poppler() -> None:
    if PDFTOPPM is None:
        msg = "pdftoppm not installed: run scripts/install-viewers.sh (Debian poppler-utils)"
        if os.environ.get("CI") or os.environ.get("ACCESSMAP_REQUIRE_QGIS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


def test_pdf_is_the_same_report_on_a4_pages(outputs, html, tmp_path) -> None:
    _need_poppler()
    layers, meta = outputs
    pdf = write_report_pdf(layers, tmp_path / "report.pdf", metadata=meta, html=html)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run([PDFTOPPM, "-r", "40", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=300)  # fmt: skip
    pages = sorted(tmp_path.glob("page-*.png"))
    assert 5 <= len(pages) <= 30
    for p in pages:
        with Image.open(p) as im:
            w, h = im.size
            # A4 portrait (210 x 297 mm) at 40 dpi: 331 x 468 pixels
            assert abs(w - 331) <= 1 and abs(h - 468) <= 1
            arr = np.asarray(im.convert("RGB"))
        assert (arr < 250).any(axis=2).mean() > 0.01, p.name  # no blank page
    first = np.asarray(Image.open(pages[0]).convert("RGB")).astype(int)
    # the summary box (#eef4fa with a #2c7bb6 rule) is on page 1
    assert (np.abs(first - np.array([0x2C, 0x7B, 0xB6])).sum(axis=2) < 40).sum() > 50
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=120).stdout  # fmt: skip
    assert "En bref" in text and "Paramètres du calcul" in text
    share = catalogue("fr").pct(layers["region"]["share_beyond_15"].iloc[0])
    assert share.replace(NNBSP, " ") in text.replace(NNBSP, " ")


# --- CLI ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpkg(outputs, tmp_path_factory):  # type: ignore[no-untyped-def]
    layers, meta = outputs
    return to_geopackage(layers, tmp_path_factory.mktemp("r") / "run.gpkg", metadata=meta)


def test_cli_report_with_priority_list_and_pdf(gpkg, outputs, tmp_path, capsys) -> None:
    _need_poppler()
    layers, _ = outputs
    ranked = layers["epci_scores"].sort_values("need_rank")
    official = [*ranked["epci_siren"].iloc[:2], ranked["epci_siren"].iloc[60]]
    pri = tmp_path / "priority.csv"
    pd.DataFrame({"epci_siren": official}).to_csv(pri, index=False)
    out, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    code = main(["report", str(gpkg), "--out", str(out), "--pdf", str(pdf), "--priority",
                 str(pri), "--lang", "en"])  # fmt: skip
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert f"Wrote {out}" in cap.out and f"Wrote {pdf}" in cap.out
    text = _text(out.read_text(encoding="utf-8"))
    rank61 = int(ranked["need_rank"].iloc[60])
    assert "Of the 3 EPCI of the official list, 2 are in our top 28" in text
    assert f"(rank {rank61})" in text
    assert pdf.read_bytes()[:5] == b"%PDF-"
    code = main(["report", str(gpkg), "--out", str(out)])
    cap = capsys.readouterr()
    assert code != 0 and "--overwrite" in cap.err and len(cap.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--top", "0"], "--top must be >= 1"),
        (["--priority", "nope.csv"], "nope.csv"),
        (["--lang", "de"], "--lang 'de'"),
    ],
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
    text = build_report({**layers, "what_if": wi}, metadata=meta, include_maps=False)
    part = text.split("Et si un centre ouvrait à")[1].split("<h2>")[0]
    assert "Arnac-sur-Dourdou" in part and "878" in part
