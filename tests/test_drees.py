"""The DREES APL workbook loader: the real bundle file and small hand-made workbooks."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from accessmap.config import OCCITANIE_DEPS
from accessmap.data.registry import dataset_path
from accessmap.errors import (
    BadValueError,
    ConfigError,
    DataNotFoundError,
    DuplicateIdError,
    MissingColumnError,
    UnknownCodeError,
    UnreadableFileError,
)
from accessmap.loaders.bpe import UnmatchedCodeWarning, load_commune_code_map
from accessmap.loaders.drees import (
    UnknownYearError,
    apl_workbook_years,
    read_apl_parameters,
    read_apl_workbook,
    to_cog,
)

openpyxl = pytest.importorskip("openpyxl")

# --------------------------------------------------------------------------------------------
# the real workbook (SOURCES.md section 13)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workbook() -> Path:
    try:
        return dataset_path("apl_drees", os.environ.get("ACCESSMAP_DATA_DIR") or None)
    except DataNotFoundError as exc:
        pytest.skip(f"DREES APL workbook not available: {exc}")


@pytest.fixture(scope="module")
def apl2022(workbook: Path) -> pd.DataFrame:
    return read_apl_workbook(workbook, year=2022)


@pytest.fixture(scope="module")
def apl2023(workbook: Path) -> pd.DataFrame:
    return read_apl_workbook(workbook)  # latest


@pytest.fixture(scope="module")
def code_map(workbook: Path) -> pd.Series:
    return load_commune_code_map(workbook.parent)


def test_years(workbook: Path) -> None:
    assert apl_workbook_years(workbook) == [2022, 2023]


def test_real_sheets_shape_and_columns(apl2022: pd.DataFrame, apl2023: pd.DataFrame) -> None:
    cols = ["insee", "nom", "apl", "apl_under65", "pop_std", "pop_total", "year", "pop_year"]
    for df, year, pop_year, n in ((apl2022, 2022, 2020, 30_511), (apl2023, 2023, 2021, 30_501)):
        assert df.columns.tolist() == cols
        assert len(df) == n  # ~30k communes: France without Occitanie and Mayotte
        assert df["insee"].str.len().eq(5).all()
        assert df["insee"].is_unique
        deps = df["insee"].str[:2]
        assert not deps.isin(OCCITANIE_DEPS).any()
        assert not df["insee"].str.startswith("976").any()  # no Mayotte
        assert {"01", "2A", "2B", "75", "97"} <= set(deps)
        assert (df["year"] == year).all() and (df["pop_year"] == pop_year).all()
        assert df.attrs["sheet"] == f"APL {year}"
        assert df.attrs["header_row"] == 9
        assert df.attrs["units"]["apl"].startswith("En nombre de consultations/visites")
        assert df["apl"].between(0, 50).all() and df["apl"].notna().all()
        assert (df["apl_under65"] <= df["apl"] + 1e-9).all()
        # standardised and total populations of France without Occitanie: ~61 million
        assert 60e6 < df["pop_total"].sum() < 62e6
        assert abs(df["pop_std"].sum() / df["pop_total"].sum() - 1) < 0.01


VALUES = ["apl", "apl_under65", "pop_std", "pop_total"]


def test_real_spot_checks(apl2022: pd.DataFrame, apl2023: pd.DataFrame) -> None:
    # Values read by hand in the workbook (rows 13 and 30,521/30,511, and Bordeaux).
    r = apl2022.set_index("insee")
    assert r.loc["01004", "nom"] == "Ambérieu-en-Bugey"
    assert [r.at["01004", c] for c in VALUES] == [
        3.646,
        2.88,
        14002.685,
        14288.0,
    ]
    assert r.loc["33063", "apl"] == 6.203 and r.loc["33063", "pop_total"] == 259_809
    r = apl2023.set_index("insee")
    assert [r.at["01004", c] for c in VALUES] == [
        3.083,
        2.431,
        14575.887,
        14854.0,
    ]
    assert r.loc["97424", "nom"] == "Cilaos"
    assert r.loc["97424", "apl"] == 3.909 and r.loc["97424", "pop_total"] == 5390
    # the sheet's "Lecture" note: L'Abergement-Clémenciat, 1.9 consultations per year
    assert round(float(r.at["01001", "apl"]), 1) == 1.9  # type: ignore[arg-type]


def test_real_national_figures(apl2022: pd.DataFrame, apl2023: pd.DataFrame) -> None:
    # DREES rules: level weighted by the standardised population, shares by total population.
    expected = {2022: (3.765, 0.154, 0.599), 2023: (3.727, 0.173, 0.610)}
    for df in (apl2022, apl2023):
        level = np.average(df["apl"], weights=df["pop_std"])
        pop = df["pop_total"]
        lvl, s25, s4 = expected[int(df["year"].iloc[0])]
        assert level == pytest.approx(lvl, abs=1e-3)
        assert pop[df["apl"] < 2.5].sum() / pop.sum() == pytest.approx(s25, abs=1e-3)
        assert pop[df["apl"] < 4].sum() / pop.sum() == pytest.approx(s4, abs=1e-3)
        # The under-65 APL averages about 3.3 (the workbook notes' "national mean").
        assert np.average(df["apl_under65"], weights=df["pop_std"]) == pytest.approx(3.3, abs=0.05)


def test_real_unknown_year(workbook: Path) -> None:
    with pytest.raises(UnknownYearError, match=r"years available: 2022, 2023") as info:
        read_apl_workbook(workbook, year=2019)
    assert isinstance(info.value, ConfigError)
    with pytest.raises(UnknownYearError):
        read_apl_workbook(workbook, year="latest")


def test_real_to_cog(apl2023: pd.DataFrame, code_map: pd.Series) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmatchedCodeWarning)
        cog = to_cog(apl2023, code_map)
    assert cog.attrs["n_unmatched"] == 0 and cog.attrs["year"] == 2023
    assert cog["insee"].is_unique and len(cog) == 30_402
    assert cog["pop_total"].sum() == pytest.approx(apl2023["pop_total"].sum())
    assert cog["pop_std"].sum() == pytest.approx(apl2023["pop_std"].sum())
    # Paris: the 20 municipal arrondissements become 75056, APL weighted by pop_std.
    arr = apl2023[apl2023["insee"].str.startswith("751")]
    paris = cog.set_index("insee").loc["75056"]
    assert paris["nom"] == "Paris" and paris["n_source"] == 20
    assert paris["pop_total"] == arr["pop_total"].sum()
    assert paris["apl"] == pytest.approx(np.average(arr["apl"], weights=arr["pop_std"]))
    # Haut Valromey (01187) absorbed 01330: weighted by the standardised population.
    members = apl2023[apl2023["insee"].isin(["01187", "01330"])]
    hv = cog.set_index("insee").loc["01187"]
    assert hv["codes_source"] == "01187;01330"
    assert hv["apl"] == pytest.approx(np.average(members["apl"], weights=members["pop_std"]))
    # The national level is kept by the weighted merge.
    assert np.average(cog["apl"], weights=cog["pop_std"]) == pytest.approx(
        np.average(apl2023["apl"], weights=apl2023["pop_std"])
    )


def test_real_parameters(workbook: Path) -> None:
    prm = read_apl_parameters(workbook)
    assert prm.bands() == ((10.0, 1.0), (15.0, 2 / 3), (20.0, 1 / 3))
    assert [b.weight for b in prm.distance_bands] == [1.0, 2 / 3, 1 / 3, 0.0]
    assert math.isinf(prm.distance_bands[-1].upper_min)
    assert [(r.low, r.high, r.counted) for r in prm.activity_rules] == [
        (0.0, 250.0, 0.0),
        (251.0, 3600.0, 3600.0),
        (3601.0, 6000.0, None),
        (6000.0, math.inf, 6000.0),
    ]
    assert prm.new_gp_consultations == 5400.0
    assert prm.scope is not None and prm.scope.startswith("Omnipraticiens libéraux")
    ages = prm.age_weights
    assert len(ages) == 19 * 2 and sorted(ages["year"].unique()) == [2022, 2023]
    w22, w23 = prm.age_weights_for(2022), prm.age_weights_for(2023)
    assert w22["Moins de 5 ans"] == 0.93 and w23["Plus de 90 ans"] == 2.26
    first = ages.iloc[0]
    assert (first["age_min"], first["age_max"]) == (0.0, 4.0)
    assert math.isnan(ages.iloc[-1]["age_max"]) and ages.iloc[-1]["age_min"] == 90.0
    assert len(prm.notes) == 3 and prm.notes[0].startswith("Sources")
    with pytest.raises(UnknownYearError, match="2022, 2023"):
        prm.age_weights_for(2019)


# --------------------------------------------------------------------------------------------
# hand-made workbooks in the published layout
# --------------------------------------------------------------------------------------------

HEADER = [
    "Code commune INSEE",
    "Commune",
    "APL aux médecins généralistes",
    "APL aux médecins généralistes de moins de 65 ans",
    "Population standardisée 2022 pour la médecine générale",
    "Population totale 2022",
]
UNITS = [
    None,
    None,
    "En nombre de consultations/visites accessibles par habitant standardisé",
    "En nombre de consultations/visites accessibles par habitant standardisé",
    "En nombre d'habitants standardisés",
    "En nombre d'habitants",
]


def _sheet(ws: Any, rows: list[list[Any]], *, title_rows: int) -> None:
    ws.append(["Indicateur d'accessibilité potentielle localisée (APL) aux médecins généralistes"])
    for _ in range(title_rows - 1):
        ws.append(["Note : pondérer par la population standardisée."])
    ws.append(HEADER)
    ws.append(UNITS)
    for r in rows:
        ws.append(r)


def _workbook(path: Path, sheets: dict[str, list[list[Any]]], *, title_rows: int = 4) -> Path:
    wb = openpyxl.Workbook()
    prm = wb.active
    prm.title = "Paramètres"
    for row in (
        ["Paramètres de l'indicateur"],
        [None],
        ["Décroissance de l'accessibilité avec la distance"],
        ["Temps de trajet entre communes", "Accessibilité"],
        ["Moins de 10 minutes", 1],
        ["Plus de 10 minutes", 0],
        [None],
        ["Pondération de la population selon l'âge"],
        ["Tranche d'âge", "Poids de la tranche d'âge en 2024"],
        ["Moins de 60 ans", 0.9],
        ["Plus de 60 ans", 1.4],
    ):
        prm.append(row)
    for name, rows in sheets.items():
        _sheet(wb.create_sheet(name), rows, title_rows=title_rows)
    wb.save(path)
    return path


ROWS: list[list[Any]] = [
    # 01002 merges into 01001 (in the hand-made map); 99999 maps nowhere.
    [1001, "Alpha", 2.0, 1.5, 100.0, 90],  # code saved as a number: leading zero restored
    ["01002", "Beta", 5.0, 4.0, 300.0, 310],
    ["01003", "Gamma", 3.5, 3.0, 50.0, 50],
    ["99999", "Ghost", 1.0, 1.0, 10.0, 12],
    [None, None, None, None, None, None],
    ["Source : DREES, APL", None, None, None, None, None],
]
MAP = pd.Series({"01001": "01001", "01002": "01001", "01003": "01003"})


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    later = [[*r[:2], r[2] + 1 if r[2] is not None else None, *r[3:]] for r in ROWS]
    return _workbook(tmp_path / "apl.xlsx", {"APL 2021": ROWS, "APL 2024": later})


def test_small_header_found_by_content(small: Path) -> None:
    df = read_apl_workbook(small, year=2021)
    assert df.attrs["header_row"] == 5  # 4 title rows here, 8 in the DREES file
    assert df["insee"].tolist() == ["01001", "01002", "01003", "99999"]  # note rows dropped
    assert df.attrs["pop_year"] == 2022 and df["year"].eq(2021).all()
    assert read_apl_workbook(small)["year"].iloc[0] == 2024  # default: the latest sheet
    assert read_apl_workbook(small, year="2024")["apl"].iloc[0] == 3.0
    assert apl_workbook_years(small) == [2021, 2024]
    with pytest.raises(UnknownYearError, match=r"2021, 2024"):
        read_apl_workbook(small, year=2023)


def test_small_to_cog_weighted_merge_and_warning(small: Path) -> None:
    df = read_apl_workbook(small, year=2021)
    with pytest.warns(UnmatchedCodeWarning, match=r"1 commune code\(s\).*'99999'") as rec:
        out = to_cog(df, MAP)
    assert len(rec) == 1
    assert out.attrs["unmatched"] == ["99999"] and out.attrs["n_unmatched"] == 1
    merged = out.set_index("insee").loc["01001"]
    # (2.0 * 100 + 5.0 * 300) / (100 + 300) = 4.25; under-65: (150 + 1200) / 400 = 3.375
    assert merged["apl"] == pytest.approx(4.25)
    assert merged["apl_under65"] == pytest.approx(3.375)
    assert merged["pop_std"] == 400.0 and merged["pop_total"] == 400.0
    assert merged["nom"] == "Alpha" and merged["n_source"] == 2
    assert merged["codes_source"] == "01001;01002"
    assert out.set_index("insee").loc["01003", "apl"] == 3.5
    assert out["insee"].tolist() == ["01001", "01003"]
    with pytest.raises(UnknownCodeError, match="99999"):
        to_cog(df, MAP, strict=True)


def test_small_zero_population_merge_is_plain_mean() -> None:
    df = pd.DataFrame(
        {
            "insee": ["01001", "01002"],
            "nom": ["A", "B"],
            "apl": [1.0, 2.0],
            "pop_std": [0.0, 0.0],
            "pop_total": [0.0, 0.0],
        }
    )
    out = to_cog(df, MAP)
    assert out["apl"].tolist() == [1.5]


def test_two_years_concatenate(small: Path) -> None:
    both = pd.concat([read_apl_workbook(small, year=y) for y in (2021, 2024)])
    assert sorted(both["year"].unique()) == [2021, 2024]


def test_small_parameters_partial(small: Path) -> None:
    prm = read_apl_parameters(small)
    assert prm.bands() == ((10.0, 1.0),)
    assert prm.activity_rules == () and prm.new_gp_consultations is None
    assert prm.age_weights_for(2024).to_dict() == {"Moins de 60 ans": 0.9, "Plus de 60 ans": 1.4}


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"data\.drees"):
        read_apl_workbook(tmp_path / "absent.xlsx")
    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a workbook")
    with pytest.raises(UnreadableFileError, match=r"junk\.xlsx.*Excel"):
        read_apl_workbook(junk)
    wb = openpyxl.Workbook()
    wb.active.title = "Feuil1"
    wb.save(tmp_path / "nosheet.xlsx")
    with pytest.raises(UnreadableFileError, match=r"no sheet named 'APL <year>'.*Feuil1"):
        read_apl_workbook(tmp_path / "nosheet.xlsx")
    with pytest.raises(UnreadableFileError, match="Paramètres"):
        read_apl_parameters(tmp_path / "nosheet.xlsx")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "APL 2023"
    ws.append(["some title"])
    ws.append(["Code", "Nom", "Valeur"])
    wb.save(tmp_path / "noheader.xlsx")
    with pytest.raises(MissingColumnError, match=r"APL 2023.*Code commune INSEE"):
        read_apl_workbook(tmp_path / "noheader.xlsx")

    text = [*ROWS[:1], ["01002", "Beta", "abc", 4.0, 300.0, 310]]
    p = _workbook(tmp_path / "text.xlsx", {"APL 2023": text})
    with pytest.raises(BadValueError, match=r"APL aux médecins généralistes.*'abc'"):
        read_apl_workbook(p)

    neg = [*ROWS[:1], ["01002", "Beta", 2.0, 1.0, -3.0, 310]]
    p = _workbook(tmp_path / "neg.xlsx", {"APL 2023": neg})
    with pytest.raises(BadValueError, match="negative"):
        read_apl_workbook(p)

    dup = [ROWS[0], ["01001", "Alpha bis", 2.0, 1.0, 3.0, 3]]
    p = _workbook(tmp_path / "dup.xlsx", {"APL 2023": dup})
    with pytest.raises(DuplicateIdError, match="01001"):
        read_apl_workbook(p)

    badcode = [ROWS[0], ["1A2", "Odd", 2.0, 1.0, 3.0, 3]]
    p = _workbook(tmp_path / "badcode.xlsx", {"APL 2023": badcode})
    with pytest.raises(BadValueError, match="1A2"):
        read_apl_workbook(p)

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "APL 2023"
    ws.append(["Code commune INSEE", "Commune", "APL aux médecins généralistes"])
    ws.append(["01001", "A", 2.0])
    wb.save(tmp_path / "nopop.xlsx")
    with pytest.raises(MissingColumnError, match="Population standardisée"):
        read_apl_workbook(tmp_path / "nopop.xlsx")

    with pytest.raises(MissingColumnError, match="pop_std"):
        to_cog(pd.DataFrame({"insee": ["01001"], "apl": [1.0]}), MAP)
