"""INSEE Statistiques locales exports: the real BPE 2021 file and hand-made exports."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from accessmap.config import OCCITANIE_DEPS
from accessmap.data.registry import dataset_path
from accessmap.errors import (
    BadValueError,
    DataNotFoundError,
    DuplicateIdError,
    MissingColumnError,
    UnknownCodeError,
    UnreadableFileError,
)
from accessmap.loaders.bpe import UnmatchedCodeWarning, load_commune_code_map
from accessmap.loaders.common import dep_of
from accessmap.loaders.statlocales import (
    indicator_table,
    parse_indicator_label,
    read_statlocales,
    select,
    to_cog,
    to_long,
)

openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture(scope="module")
def export_path() -> Path:
    try:
        return dataset_path("bpe2021_statlocales", os.environ.get("ACCESSMAP_DATA_DIR") or None)
    except DataNotFoundError as exc:
        pytest.skip(f"Statistiques locales export not available: {exc}")


@pytest.fixture(scope="module")
def bpe(export_path: Path) -> pd.DataFrame:
    return read_statlocales(export_path)


# --------------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------------


def test_parse_indicator_label() -> None:
    gp = parse_indicator_label("Médecin généraliste (en nombre) 2021")
    assert (gp.label, gp.unit, gp.year, gp.key, gp.code, gp.aliases, gp.column) == (
        "Médecin généraliste",
        "en nombre",
        2021,
        "gp",
        "D265",
        ("D201",),
        "gp_2021",
    )
    old = parse_indicator_label("Médecin généraliste (en nombre) 2019")
    assert old.code == "D201" and old.aliases == ("D265",)
    assert parse_indicator_label("Pharmacie (en nombre) 2019").code == "D301"
    assert parse_indicator_label("Pharmacie (en nombre) 2021").code == "D307"
    assert parse_indicator_label("Service d'urgences (en nombre) 2021").code == "D106"
    rate = parse_indicator_label("Taux de pauvreté (en %) 2020")
    assert (rate.label, rate.unit, rate.year, rate.key, rate.code) == (
        "Taux de pauvreté",
        "en %",
        2020,
        "taux_de_pauvrete",
        None,
    )
    bare = parse_indicator_label("Population municipale 2021")
    assert (bare.label, bare.unit, bare.year) == ("Population municipale", None, 2021)
    assert parse_indicator_label("Something").column == "something"


# --------------------------------------------------------------------------------------------
# the real export (SOURCES.md section 14)
# --------------------------------------------------------------------------------------------


def test_real_layout(bpe: pd.DataFrame) -> None:
    assert len(bpe) == 34_945  # COG 2023 communes, all of France
    assert bpe["insee"].str.len().eq(5).all() and bpe["insee"].is_unique
    assert bpe.attrs["header_row"] == 1 and bpe.attrs["sheet"] == "Data"
    table = indicator_table(bpe)
    assert len(table) == 11
    assert table["year"].eq(2021).all() and table["unit"].eq("en nombre").all()
    assert set(table["key"]) >= {"gp", "dentist", "nurse", "physio", "pharmacy", "emergency"}
    assert table.set_index("key").loc["gp", "code"] == "D265"
    assert all(str(bpe[c].dtype) == "Int64" for c in table["column"])
    assert sum(bpe.attrs["n_missing"].values()) == 0


def test_real_totals(bpe: pd.DataFrame) -> None:
    # France, BPE 2021 (SOURCES.md section 14): 60,112 GPs in 9,216 communes; BPE 2019 had
    # 61,429 (D201), so ~60k, not ~100k (that is the nurses: 106,412).
    assert int(bpe["gp_2021"].sum()) == 60_112
    assert int((bpe["gp_2021"] > 0).sum()) == 9_216
    assert int(bpe["pharmacy_2021"].sum()) == 21_378  # ~21k pharmacies in France
    assert int(bpe["emergency_2021"].sum()) == 704  # BPE 2019 D106: 698
    assert int(bpe["dentist_2021"].sum()) == 38_085  # BPE 2019 D221: 38,487
    assert 100_000 < int(bpe["nurse_2021"].sum()) < 110_000  # BPE 2019 D232: 100,816
    r = bpe.set_index("insee")
    assert r.loc["01004", "nom"] == "Ambérieu-en-Bugey"
    assert (r.loc["01004", "gp_2021"], r.loc["01004", "pharmacy_2021"]) == (24, 4)
    assert (r.loc["31555", "gp_2021"], r.loc["75056", "gp_2021"]) == (527, 2504)


def test_real_select(bpe: pd.DataFrame) -> None:
    out = select(bpe, "D265", "D301", "Service d'urgences", "masseur-kinesitherapeute")
    assert out.columns.tolist() == [
        "insee",
        "nom",
        "gp_2021",
        "pharmacy_2021",
        "emergency_2021",
        "physio_2021",
    ]
    assert select(bpe, "médecin GÉNÉRALISTE", year=2021).columns[-1] == "gp_2021"
    assert select(bpe, "D201").columns[-1] == "gp_2021"  # the pre-2021 code selects it too
    with pytest.raises(UnknownCodeError, match=r"no indicator 'gp' for 2019.*gp_2021 \(D265\)"):
        select(bpe, "gp", year=2019)
    long = to_long(select(bpe, "gp"))
    assert len(long) == len(bpe) and long["code"].eq("D265").all()
    assert long["value"].sum() == 60_112


def test_real_to_cog(bpe: pd.DataFrame, export_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmatchedCodeWarning)
        cog = to_cog(bpe, load_commune_code_map(export_path.parent))
    assert cog.attrs["n_unmatched"] == 0
    assert len(cog) == 34_868 and cog["insee"].is_unique
    assert int(cog["gp_2021"].sum()) == 60_112  # counts kept by the merge
    occ = cog[dep_of(cog["insee"]).isin(OCCITANIE_DEPS)]
    # SOURCES.md section 14: Occitanie in COG 2026, 5,993 GPs in 1,010 communes.
    assert int(occ["gp_2021"].sum()) == 5_993
    assert int((occ["gp_2021"] > 0).sum()) == 1_010
    merged = cog.set_index("insee").loc["01187"]
    assert merged["codes_source"] == "01187;01330" and merged["n_source"] == 2


# --------------------------------------------------------------------------------------------
# hand-made exports
# --------------------------------------------------------------------------------------------

LABELS = [
    "Code",
    "Libellé",
    "Médecin généraliste (en nombre) 2019",
    "Pharmacie (en nombre) 2019",
    "Médecin généraliste (en nombre) 2021",
]


def _export(path: Path, rows: list[list[Any]], *, banner: bool = True, labels: Any = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Export"
    if banner:
        ws.append(["Équipements - Statistiques locales"])
        ws.append(["Source : Insee, BPE"])
        ws.append([None])
    ws.append(LABELS if labels is None else labels)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


ROWS: list[list[Any]] = [
    ["01001", "Alpha", 2, 1, 3],
    ["01002", "Beta", 1, "N/A - résultat non disponible", 1],
    ["01003", "Gamma", "s", 0, 0],
    ["99999", "Ghost", 4, 1, 4],
    [None, None, None, None, None],
    ["Source : Insee, BPE 2019 et 2021", None, None, None, None],
]
MAP = pd.Series({"01001": "01001", "01002": "01001", "01003": "01003"})


def test_small_export(tmp_path: Path) -> None:
    df = read_statlocales(_export(tmp_path / "export.xlsx", ROWS))
    assert df.attrs["header_row"] == 4  # banner rows skipped by content
    assert df["insee"].tolist() == ["01001", "01002", "01003", "99999"]  # note row dropped
    assert df.columns.tolist() == ["insee", "nom", "gp_2019", "pharmacy_2019", "gp_2021"]
    table = indicator_table(df).set_index("column")
    assert table.loc["gp_2019", "code"] == "D201" and table.loc["gp_2021", "code"] == "D265"
    assert table.loc["pharmacy_2019", "code"] == "D301"
    assert table["year"].tolist() == [2019, 2019, 2021]
    # "N/A" and the secret "s" are missing, counted
    assert df.attrs["n_missing"] == {"gp_2019": 1, "pharmacy_2019": 1, "gp_2021": 0}
    assert df["gp_2019"].isna().tolist() == [False, False, True, False]
    # one indicator, two years: select both, or one with year=
    assert select(df, "gp").columns.tolist() == ["insee", "nom", "gp_2019", "gp_2021"]
    assert select(df, "D265", year=2021).columns.tolist() == ["insee", "nom", "gp_2021"]
    assert select(df, "pharmacie").columns[-1] == "pharmacy_2019"


def test_small_to_cog_sums_and_warns(tmp_path: Path) -> None:
    df = read_statlocales(_export(tmp_path / "export.xlsx", ROWS, banner=False))
    assert df.attrs["header_row"] == 1
    with pytest.warns(UnmatchedCodeWarning, match=r"1 commune code\(s\).*'99999'"):
        out = to_cog(df, MAP)
    assert out.attrs["unmatched"] == ["99999"]
    r = out.set_index("insee")
    assert r.loc["01001", "gp_2019"] == 3 and r.loc["01001", "gp_2021"] == 4  # 2 + 1, 3 + 1
    assert r.loc["01001", "pharmacy_2019"] == 1  # 1 + not published
    assert pd.isna(r.at["01003", "gp_2019"])  # type: ignore[arg-type]  # only member secret: stays missing
    assert r.loc["01001", "nom"] == "Alpha" and r.loc["01001", "n_source"] == 2
    assert str(out["gp_2021"].dtype) == "Int64"
    with pytest.raises(UnknownCodeError, match="99999"):
        to_cog(df, MAP, strict=True)


def test_small_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="statistiques-locales"):
        read_statlocales(tmp_path / "absent.xlsx")
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(UnreadableFileError, match=r"junk\.xlsx"):
        read_statlocales(junk)
    p = _export(tmp_path / "e.xlsx", ROWS)
    with pytest.raises(UnreadableFileError, match=r"no sheet 'Data'.*Export"):
        read_statlocales(p, sheet="Data")
    nohead = _export(tmp_path / "nohead.xlsx", ROWS, labels=["Commune", "Nom", "GP"])
    with pytest.raises(UnreadableFileError, match=r"'Code' and 'Libellé'"):
        read_statlocales(nohead)
    onlyid = _export(tmp_path / "onlyid.xlsx", [["01001", "A"]], labels=["Code", "Libellé"])
    with pytest.raises(MissingColumnError, match="no indicator column"):
        read_statlocales(onlyid)
    dep_level = _export(tmp_path / "dep.xlsx", [["31", "Haute-Garonne", 3000, 500, 3000]])
    with pytest.raises(BadValueError, match=r"'31'.*commune level"):
        read_statlocales(dep_level)
    text = _export(tmp_path / "text.xlsx", [["01001", "A", "beaucoup", 1, 1]])
    with pytest.raises(BadValueError, match=r"Médecin généraliste \(en nombre\) 2019.*beaucoup"):
        read_statlocales(text)
    neg = _export(tmp_path / "neg.xlsx", [["01001", "A", -1, 1, 1]])
    with pytest.raises(BadValueError, match="negative"):
        read_statlocales(neg)
    dup = _export(tmp_path / "dup.xlsx", [["01001", "A", 1, 1, 1], ["01001", "A", 1, 1, 1]])
    with pytest.raises(DuplicateIdError, match="01001"):
        read_statlocales(dup)
    with pytest.raises(UnknownCodeError, match="at least one"):
        select(read_statlocales(p))


def test_calamine_reads_the_same_cells_as_openpyxl(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The fast Excel engine gives the cells openpyxl gives, on a workbook written here."""
    import openpyxl
    import pandas as pd

    wb = openpyxl.Workbook()
    ws = wb.active
    rows = [["Code", "Libellé", "Médecin généraliste (en nombre) 2021"], ["01004", "Ambérieu", 4],
            ["2A004", "Ajaccio", 61], ["75056", "Paris", None]]  # fmt: skip
    for r in rows:
        ws.append(r)
    p = tmp_path / "w.xlsx"
    wb.save(p)
    frames = [pd.read_excel(p, engine=e, header=None, dtype=object, keep_default_na=False)
              for e in ("calamine", "openpyxl")]  # fmt: skip
    assert frames[0].equals(frames[1])
