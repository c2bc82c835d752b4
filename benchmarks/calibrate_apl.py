"""Calibrate the supply conversion of our APL on the DREES APL workbook, outside Occitanie.

Run::

    ACCESSMAP_DATA_DIR=/path/to/data python -m benchmarks.calibrate_apl [--quick]

Data: ``apl_mg_drees_2022_2023_hors_occitanie.xlsx`` (the official DREES APL per commune,
France outside Occitanie and Mayotte, ``SOURCES.md`` section 13), the BPE 2021 Statistiques
locales export (D265) and the BPE 2019 rows (D201), the Travel Mapping road network.

Method (``docs/validation.md``): metropolitan France is loaded once per supply year and
engine; the catchment table (communes -> GP communes within 20 minutes, same commune at 0)
and the standardised demand come from the pipeline's own stages
(:func:`accessmap.pipeline.times.times_stage`,
:func:`~accessmap.pipeline.catchments.catchments_stage`).
On the communes of the 2023 sheet (none is in Occitanie: nothing is fitted on Occitanie):

1. the constant conversion ``consultations_per_gp`` is the factor that makes our
   standardised-population-weighted level equal the official level
   (:func:`accessmap.measures.agreement.fit_level_scale`: APL is linear in supply);
2. the activity curve :class:`accessmap.measures.apl.ActivityModel` (four parameters) is
   fitted by Nelder-Mead (``scipy.optimize.minimize``) minimising the squared APL error
   weighted by the official standardised population, ``high`` bounded by the DREES cap of
   6,000; its bounds are then scaled so that the level matches exactly;
3. a spatial hold-out: the curve is refitted on the départements with an odd number and
   scored on the even ones (and the other way round).

Every variant is then scored on 2022 and 2023 (Spearman, level ratio, share of people below
2.5), with the DREES 5,400 for comparison, and the border context (walls vs 30 km) on one
région and the Ma Santé, Ma Région centres in Occitanie (where the bundle has no official APL:
the change of our own figures only). Nothing here is a test: it prints tables; the fitted
values are the defaults of ``src/accessmap/measures/apl.py``.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import optimize, stats

from accessmap import measures
from accessmap.area import load_area
from accessmap.config import OCCITANIE_DEPS
from accessmap.measures.agreement import fit_level_scale
from accessmap.measures.apl import ActivityModel, gp_pressure
from accessmap.pipeline import ScoreParams, run_score
from accessmap.pipeline.catchments import catchments_stage
from accessmap.pipeline.times import times_stage
from accessmap.traveltime import make_engine
from accessmap.validation import official_table, validate_apl

warnings.simplefilter("ignore")


def _setup(supply: str, engine: str) -> dict[str, Any]:
    """Matrix, demand and GP heads of metropolitan France for one supply year and engine,
    with the sparse weight matrix of the DREES decay for fast repeated APL evaluations."""
    p = ScoreParams(region="FR", supply=supply, engine=engine, activity="constant",
                    consultations_per_gp=1.0, grid=False, supply_kinds=("gp",))  # fmt: skip
    area = load_area("FR", supply_source=supply, grid=False, supply_kinds=("gp",))
    eng = make_engine(p.engine, roads=p.roads, profile=p.profile, clip=area.departements,
                      margin_m=p.margin_m)  # fmt: skip
    times = times_stage(p, area, eng)
    catch = catchments_stage(p, times, eng, area)
    mat, demand, gp = catch.matrix, catch.std_demand, times.gp
    rows = pd.Index(demand.index).get_indexer(mat["from_id"])
    cols = pd.Index(gp.index).get_indexer(mat["to_id"])
    t = mat["travel_time_min"].to_numpy(dtype="float64")
    w = np.select([t < 10.0, t < 15.0, t <= 20.0], [1.0, 2 / 3, 1 / 3], 0.0)
    ok = (rows >= 0) & (cols >= 0) & (w > 0)
    wm = sp.csr_matrix((w[ok], (rows[ok], cols[ok])), shape=(len(demand), len(gp)))
    s: dict[str, Any] = {
        "matrix": mat, "demand": demand, "gp": gp, "W": wm,
        "d": demand.to_numpy(dtype="float64"),
        "heads": gp["count"].to_numpy(dtype="float64"),
        "gp_row": pd.Index(demand.index).get_indexer(gp["insee"].astype(str)),
        "engines": sorted(set(times.com["engine"].dropna())),
        "crow_share": float((times.com["engine"] == "crow-fly").mean()),
    }  # fmt: skip
    # the fast path against the library's APL (the slow, obvious reference here)
    ref = measures.apl(mat, demand, gp["count"].astype(float), consultations_per_gp=1.0)
    fast = _apl(s, None)
    assert np.allclose(fast.to_numpy(), ref.reindex(fast.index).fillna(0.0).to_numpy(),
                       rtol=1e-9, atol=1e-12), "fast APL differs from measures.apl"  # fmt: skip
    return s


def _fc(s: dict[str, Any], supply: np.ndarray) -> np.ndarray:
    den = s["W"].T @ s["d"]
    r = np.divide(supply, den, out=np.zeros_like(supply), where=den > 0)
    return np.asarray(s["W"] @ r)


def _pressure(s: dict[str, Any]) -> np.ndarray:
    if "x" not in s:
        if "W" in s:
            a = _fc(s, s["heads"])[s["gp_row"]]
            s["x"] = np.divide(1.0, a, out=np.full(len(a), np.nan), where=a > 0)
        else:
            g = s["gp"]
            s["x"] = gp_pressure(s["matrix"], s["demand"], g["count"].astype(float),
                                 g["insee"].astype(str)).to_numpy()  # fmt: skip
    return np.asarray(s["x"])


def _apl(s: dict[str, Any], model: ActivityModel | None, cpg: float = 1.0) -> pd.Series:
    """Our APL with a constant conversion (``model=None``) or an activity curve."""
    if "W" not in s:  # small inputs (tests): the library functions
        heads = s["gp"]["count"].astype(float)
        c = cpg if model is None else model.consultations(_pressure(s))
        return measures.apl(s["matrix"], s["demand"], heads * c, consultations_per_gp=1.0)
    c = cpg if model is None else model.consultations(_pressure(s))
    return pd.Series(_fc(s, s["heads"] * c), index=s["demand"].index, name="apl")


def _score(apl: pd.Series, off: pd.DataFrame, mask: pd.Series | None = None) -> dict[str, float]:
    o = off if mask is None else off[mask]
    a = apl.reindex(o.index)
    ok = a.notna() & o["apl"].notna()
    a, f = a[ok].to_numpy(), o.loc[ok, "apl"].to_numpy()
    w, p = o.loc[ok, "pop_std"].to_numpy(), o.loc[ok, "pop_total"].to_numpy()
    return {"spearman": float(stats.spearmanr(a, f)[0]), "pearson": float(np.corrcoef(a, f)[0, 1]),
            "level_ratio": float((a * w).sum() / (f * w).sum()),
            "below_2_5_ours": float(p[a < 2.5].sum() / p.sum()),
            "below_2_5_official": float(p[f < 2.5].sum() / p.sum())}  # fmt: skip


#: Weight of the squared gap of the share of people below 2.5 in the ``log+share`` loss (a
#: gap of 2 points costs 0.04, about the log error of the best curves).
SHARE_PENALTY = 100.0


def _fit_activity(
    s: dict[str, Any], off: pd.DataFrame, mask: pd.Series, *, loss: str = "log+share"
) -> ActivityModel:
    """Nelder-Mead fit of the four parameters, the level matched exactly at every step.

    ``loss="log+share"`` (default): squared error of ``log(APL + 1)`` weighted by the
    standardised population (relative errors, so that under-served communes count as much
    as well-served ones) plus :data:`SHARE_PENALTY` x the squared gap of the share of people
    (total population) below 2.5; ``"log"``: the first term only; ``"sq"``: squared error of
    APL.
    """
    o = off[mask]
    f, w = o["apl"].to_numpy(), o["pop_std"].to_numpy()
    idx = pd.Index(s["demand"].index).get_indexer(o.index)

    def model(v: np.ndarray) -> ActivityModel:
        high = float(np.clip(v[1], 1.0, 6000.0))
        return ActivityModel(low=float(np.clip(v[0], 0.0, high)), high=high,
                             x0=float(np.exp(v[2])), gamma=max(float(v[3]), 0.05))  # fmt: skip

    p = o["pop_total"].to_numpy()
    share_off = float(p[f < 2.5].sum() / p.sum())

    def err(v: np.ndarray) -> float:
        a = _apl(s, model(v)).to_numpy()[idx]
        a = np.where(idx >= 0, a, 0.0)
        a = a * float((w * f).sum() / max((w * a).sum(), 1e-12))  # the level matched
        e = a - f if loss == "sq" else np.log1p(a) - np.log1p(f)
        out = float((w * e**2).sum() / w.sum())
        if loss == "log+share":  # and the share of people below 2.5
            out += SHARE_PENALTY * (float(p[a < 2.5].sum() / p.sum()) - share_off) ** 2
        return out

    res = optimize.minimize(err, np.array([3000.0, 6000.0, np.log(1000.0), 1.0]),
                            method="Nelder-Mead",
                            options={"maxiter": 600, "xatol": 1e-4, "fatol": 1e-7})  # fmt: skip
    m = model(res.x)
    k = fit_level_scale(_apl(s, m).reindex(o.index), o["apl"], o["pop_std"])
    return m.scaled(k)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    t0 = time.perf_counter()
    offs = {y: official_table(year=y).set_index("insee") for y in (2022, 2023)}
    for o in offs.values():
        assert not o.index.str[:2].isin(OCCITANIE_DEPS).any()  # nothing fitted on Occitanie
    fit_year = 2023
    off = offs[fit_year]
    rows = []
    fitted: dict[tuple[str, str], tuple[float, ActivityModel]] = {}
    combos = (
        [("bpe2021", "auto")]
        if quick
        else [
            ("bpe2021", "auto"),
            ("bpe2019", "auto"),
            ("bpe2021", "crow-fly"),
            ("bpe2019", "crow-fly"),
        ]
    )
    every = pd.Series(True, index=off.index)
    odd = pd.Series(off.index.str[:2].str.isdigit()
                    & (off.index.str[:2].str.replace(r"\D", "0", regex=True).astype(int) % 2 == 1),
                    index=off.index)  # fmt: skip
    default_model: ActivityModel | None = None
    for supply, engine in combos:
        s = _setup(supply, engine)
        base = _apl(s, None)
        cpg = fit_level_scale(base.reindex(off.index), off["apl"], off["pop_std"])
        label = f"{supply}, {'+'.join(s['engines'])}"
        print(f"{label}: crow-fly share of communes {s['crow_share']:.3f}; constant fitted "
              f"{cpg:,.0f} consultations per head count")  # fmt: skip
        convs: list[tuple[str, pd.Series]] = [("constant 5,400", base * 5400.0),
                                              ("constant fitted", base * cpg)]  # fmt: skip
        if default_model is None:  # the default supply and engine: fit the curve
            for loss in ("log+share", "log", "sq"):
                model = _fit_activity(s, off, every, loss=loss)
                print(f"  activity curve, loss {loss}: {model}")
                convs.append((f"activity curve ({loss} loss)", _apl(s, model)))
                for name, fit_mask in (("odd", odd), ("even", ~odd)):
                    m = _fit_activity(s, off, fit_mask, loss=loss)
                    sc = _score(_apl(s, m), off, ~fit_mask)
                    print(
                        f"    hold-out ({loss}): fitted on {name} départements, scored on the "
                        "others: " + ", ".join(f"{k} {v:.3f}" for k, v in sc.items())
                    )
                if loss == "log+share":
                    fitted[(supply, engine)] = (cpg, model)
            default_model = fitted[(supply, engine)][1]
        else:  # other supplies/engines: the default curve, its level matched
            k = fit_level_scale(_apl(s, default_model).reindex(off.index), off["apl"],
                                off["pop_std"])  # fmt: skip
            convs.append(("activity curve (log+share loss)", _apl(s, default_model.scaled(k))))
        for conv, apl in convs:
            for y, o in offs.items():
                rows.append({"supply": supply, "engine": "+".join(s["engines"]),
                             "conversion": conv, "year": y, **_score(apl, o)})  # fmt: skip
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    cpg, model = fitted[combos[0]]
    print(f"\nDEFAULTS (fitted on APL {fit_year}, {combos[0]}): CONSULTATIONS_PER_GP_FITTED = "
          f"{cpg:.0f}; ACTIVITY_FITTED = ActivityModel(low={model.low:.0f}, "
          f"high={model.high:.0f}, x0={model.x0:.0f}, gamma={model.gamma:.2f})")  # fmt: skip
    if not quick:
        # borders: one région with walls and with the 30 km context
        for km in (0.0, 30.0):
            val, _ = validate_apl(year=2023, region="93", params=ScoreParams(border_km=km))
            a = val.agreement
            print(f"PACA (93), border_km={km:g}: Spearman {a.spearman:.3f}, level ratio "
                  f"{a.level_ratio:.3f}, below 2.5 ours {a.share_below_2_5_ours:.3f} / "
                  f"official {a.share_below_2_5_official:.3f}")  # fmt: skip
        # centres: Occitanie's own figures with and without the Ma Santé, Ma Région centres
        for centres in (False, True):
            p = replace(ScoreParams(), k=0, exact=False, grid=False, isochrone_min=(15.0,),
                        existing_centres=centres)  # fmt: skip
            r = run_score(p)
            print(f"Occitanie, centres={centres}: GPs {r.summary['gp_count']:,.0f}, share below "
                  f"2.5 {r.summary['share_apl_below_2_5']:.4f}, below 4 "
                  f"{r.summary['share_apl_below_4']:.4f}")  # fmt: skip
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
