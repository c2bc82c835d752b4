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

import numpy as np
import pandas as pd
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


def _setup(supply: str, engine: str) -> dict[str, object]:
    """Matrix, demand and GP heads of metropolitan France for one supply year and engine."""
    p = ScoreParams(region="FR", supply=supply, engine=engine, activity="constant",
                    consultations_per_gp=1.0, grid=False, supply_kinds=("gp",))  # fmt: skip
    area = load_area("FR", supply_source=supply, grid=False, supply_kinds=("gp",))
    eng = make_engine(p.engine, roads=p.roads, profile=p.profile, clip=area.departements,
                      margin_m=p.margin_m)  # fmt: skip
    times = times_stage(p, area, eng)
    catch = catchments_stage(p, times, eng, area)
    return {"matrix": catch.matrix, "demand": catch.std_demand, "gp": times.gp,
            "engines": sorted(set(times.com["engine"].dropna())),
            "crow_share": float((times.com["engine"] == "crow-fly").mean())}  # fmt: skip


def _apl(s: dict, model: ActivityModel | None, cpg: float = 1.0) -> pd.Series:
    heads = s["gp"]["count"].astype(float)
    if model is None:
        return measures.apl(s["matrix"], s["demand"], heads, consultations_per_gp=cpg)
    x = s.setdefault("pressure", gp_pressure(s["matrix"], s["demand"], heads,
                                             s["gp"]["insee"].astype(str)))  # fmt: skip
    return measures.apl(s["matrix"], s["demand"], heads * model.consultations(x),
                        consultations_per_gp=1.0)  # fmt: skip


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


def _fit_activity(s: dict, off: pd.DataFrame, mask: pd.Series) -> ActivityModel:
    o = off[mask]
    f, w = o["apl"].to_numpy(), o["pop_std"].to_numpy()

    def model(v: np.ndarray) -> ActivityModel:
        low, high = max(v[0], 0.0), min(max(v[1], v[0], 1.0), 6000.0)
        return ActivityModel(low=min(low, high), high=high, x0=float(np.exp(v[2])),
                             gamma=max(float(v[3]), 0.05))  # fmt: skip

    def loss(v: np.ndarray) -> float:
        a = _apl(s, model(v)).reindex(o.index).fillna(0.0).to_numpy()
        return float((w * (a - f) ** 2).sum() / w.sum())

    res = optimize.minimize(loss, np.array([3000.0, 6000.0, np.log(1000.0), 1.0]),
                            method="Nelder-Mead",
                            options={"maxiter": 300, "xatol": 1e-3, "fatol": 1e-5})  # fmt: skip
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
    for supply, engine in combos:
        s = _setup(supply, engine)
        base = _apl(s, None)
        cpg = fit_level_scale(base.reindex(off.index), off["apl"], off["pop_std"])
        every = pd.Series(True, index=off.index)
        model = _fit_activity(s, off, every)
        fitted[(supply, engine)] = (cpg, model)
        label = f"{supply}, {'+'.join(s['engines'])}"
        print(f"{label}: crow-fly share of communes {s['crow_share']:.3f}; constant fitted "
              f"{cpg:,.0f} consultations per head count; activity {model}")  # fmt: skip
        for conv, apl in (("constant 5,400", base * 5400.0), ("constant fitted", base * cpg),
                          ("activity curve", _apl(s, model))):  # fmt: skip
            for y, o in offs.items():
                rows.append({"supply": supply, "engine": "+".join(s["engines"]),
                             "conversion": conv, "year": y, **_score(apl, o)})  # fmt: skip
        if (supply, engine) == combos[0]:
            odd = pd.Series(off.index.str[:2].str.isdigit()
                            & (off.index.str[:2].str.replace(r"\D", "0", regex=True)
                               .astype(int) % 2 == 1), index=off.index)  # fmt: skip
            for name, fit_mask in (("odd", odd), ("even", ~odd)):
                m = _fit_activity(s, off, fit_mask)
                sc = _score(_apl(s, m), off, ~fit_mask)
                print(f"  hold-out: fitted on {name} départements {m}; scored on the others: "
                      + ", ".join(f"{k} {v:.3f}" for k, v in sc.items()))  # fmt: skip
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
