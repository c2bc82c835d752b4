"""Stage 4, siting: where the next centres go, with how many doctors, and what each changes.

The stage times every origin (commune) to every site a centre could open in (candidates,
existing Ma Santé, Ma Région centres, planned centres, what-if communes) with the run's
engine, builds the effect rows of :func:`accessmap.siting.build_problem` (APL per doctor,
coverage within the target, minutes saved), opens the fixed centres, and then chooses sites
for each objective of :data:`accessmap.siting.OBJECTIVES`: the run's objective
(``ScoreParams.objective``) gives the ``sites`` layer; the three sequences, each with all
three effects, make the ``siting_curve`` table so that objectives can be compared.

May import: :mod:`accessmap.siting`, :mod:`accessmap.traveltime`, :mod:`accessmap.pipeline`,
:mod:`accessmap.loaders` (centre and priority lists), :mod:`accessmap.supply` (pharmacies).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from accessmap import siting
from accessmap import supply as sk
from accessmap.area import Area
from accessmap.config import OCCITANIE_DEPS, WORKING_CRS
from accessmap.errors import BadValueError, ConfigError, UnknownCodeError
from accessmap.loaders.admin import load_priority_zones
from accessmap.loaders.supply import load_health_centres
from accessmap.pipeline.params import ScoreParams
from accessmap.siting import inputs as si
from accessmap.traveltime import MixedEngine

log = logging.getLogger(__name__)

__all__ = ["SITE_COLUMNS", "SitingStage", "siting_stage"]

#: Largest baseline time the siting table reaches (minutes): a site farther than this from
#: a commune is taken as saving it no time. ASSUMPTION bounding the table size; Occitanie's
#: largest crow-fly time to a GP is well below it.
MAX_TIME_MIN = 90.0

#: Time limit of each HiGHS solve of the stage (seconds).
TIME_LIMIT_S = 30.0

#: Columns of the ``sites`` layer (and of the ``siting_curve`` table, plus ``objective``,
#: ``chosen``): see the README's layer table.
SITE_COLUMNS = [
    "rank", "year", "site_id", "insee", "nom", "dep", "label", "epci_siren", "epci_nom",
    "pop", "doctors", "objective", "gain_pop", "cumulative_pop", "cumulative_share",
    "covered_share", "lifted_pop", "cumulative_lifted_pop", "pop_below_2_5",
    "apl_site_before", "apl_site_after", "apl_gain_under", "cumulative_apl_gain_under",
    "time_change_min", "mean_time_min",
]  # fmt: skip


@dataclass
class SitingStage:
    """Output of :func:`siting_stage`.

    Attributes
    ----------
    curve : DataFrame
        ``siting_curve``: one sequence per objective (column ``objective``; ``chosen`` marks
        the run's), all three effects after each site.
    exact_info : dict
        The exact MCLP check (coverage within the target), as in earlier versions.
    sites : GeoDataFrame
        The run's proposed sites (:data:`SITE_COLUMNS`).
    what_if : DataFrame
        One row per ``--what-if`` site.
    info : dict
        ``summary["siting"]``: objective, rules, baseline, effects, bound, years, comparison.
    problem, baseline : optional
        The siting tables and the state with the fixed centres open (for notebooks and
        further what-ifs: ``baseline.gain(problem.row("46102"), 4)``).
    """

    curve: pd.DataFrame
    exact_info: dict[str, Any]
    sites: gpd.GeoDataFrame
    what_if: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    problem: siting.SitingProblem | None = None
    baseline: siting.SitingState | None = None


def _label(nom: Any, dep: Any) -> str:
    """``"Antras (09)"``: a commune name with its département (two Antras exist)."""
    return f"{nom} ({dep})"


def _commune_of_points(xy: pd.DataFrame, area: Area, option: str) -> np.ndarray:
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy["x"], xy["y"]), crs=WORKING_CRS)
    j = gpd.sjoin(pts, area.communes[["insee", "geometry"]], how="left", predicate="within")
    j = j[~j.index.duplicated(keep="first")]
    if j["insee"].isna().any():
        i = int(np.flatnonzero(j["insee"].isna().to_numpy())[0])
        raise BadValueError(
            f"{option}: point {xy['site_id'].iloc[i]!r} ({xy['x'].iloc[i]:.0f}, "
            f"{xy['y'].iloc[i]:.0f} in EPSG:2154) is in no commune of {area.name}"
        )
    return j["insee"].astype(str).to_numpy()


def _resolve_sites(df: pd.DataFrame, area: Area, com: pd.DataFrame, origins: gpd.GeoDataFrame,
                   option: str) -> gpd.GeoDataFrame:  # fmt: skip
    """Sites of a planner's file as points with their commune (``insee``) and name."""
    df = df.copy()
    pts = df["x"].notna().to_numpy() & df["y"].notna().to_numpy()
    if pts.any():
        df.loc[pts, "insee"] = _commune_of_points(df[pts], area, option)
    unknown = ~df["insee"].isin(com.index)
    if unknown.any():
        raise UnknownCodeError(
            f"{option}: {df['insee'][unknown].iloc[0]!r} is not a commune of {area.name}; use "
            "COG 2026 INSEE codes of the study area"
        )
    geom = origins.geometry.reindex(df["insee"]).to_numpy()
    if pts.any():
        geom[pts] = gpd.points_from_xy(df["x"][pts], df["y"][pts])
    name = df["name"].astype(object).where(df["name"].notna(),
                                           com.loc[df["insee"], "nom"].to_numpy())  # fmt: skip
    return gpd.GeoDataFrame(
        {"site_id": df["site_id"].astype(str).to_numpy(), "insee": df["insee"].to_numpy(),
         "nom": name.to_numpy(), "doctors": df["doctors"].to_numpy(dtype="float64")},
        geometry=geom, crs=WORKING_CRS,
    )  # fmt: skip


def _commune_sites(codes: Any, com: pd.DataFrame, origins: gpd.GeoDataFrame,
                   doctors: Any = math.nan) -> gpd.GeoDataFrame:  # fmt: skip
    codes = pd.Index([str(c) for c in codes])
    return gpd.GeoDataFrame(
        {"site_id": codes.to_numpy(), "insee": codes.to_numpy(),
         "nom": com.loc[codes, "nom"].to_numpy(),
         "doctors": np.broadcast_to(np.asarray(doctors, dtype="float64"), (len(codes),))},
        geometry=origins.geometry.reindex(codes).to_numpy(), crs=WORKING_CRS,
    )  # fmt: skip


def _pharmacy_communes(area: Area, data_dir: str | Path | None) -> pd.Index:
    layer = area.supply.get("pharmacy")
    if layer is None:
        kind = sk.get_kind("pharmacy")
        ctx = sk.SupplyContext(deps=tuple(area.deps), data_dir=data_dir, origins=area.origins,
                               occitanie=False, crs=area.crs)  # fmt: skip
        layer = kind.load(ctx)
    return pd.Index(layer["insee"].astype(str).unique())


def _fixed_centres(params: ScoreParams, area: Area, com: pd.DataFrame, origins: gpd.GeoDataFrame,
                   data_dir: str | Path | None) -> gpd.GeoDataFrame:  # fmt: skip
    parts = []
    gp = area.gp_supply
    in_supply = gp[gp["kind"].eq("centre")] if "kind" in gp.columns else gp.iloc[:0]
    in_supply = in_supply[in_supply["insee"].isin(com.index)]
    if len(in_supply):
        # the area loaded them into the GP supply (accessmap.supply, kind "centre"): they are
        # in the communes' APL and nearest times already, so they are listed, not reopened
        g = _commune_sites(in_supply["insee"], com, origins,
                           in_supply["count"].to_numpy(dtype="float64"))  # fmt: skip
        g["kind"] = "existing centre (in the GP supply)"
        parts.append(g)
    elif params.existing_centres and set(area.deps) & set(OCCITANIE_DEPS):
        c = load_health_centres(data_dir)
        antenna = c["site_kind"].astype(str).str.lower().str.startswith("antenna")
        c = c[c["insee"].isin(com.index) & ~antenna].reset_index(drop=True)
        if len(c):
            doctors = si.existing_centre_doctors(c, doctors_per_centre=params.doctors_per_centre)
            g = _commune_sites(c["insee"], com, origins, doctors.to_numpy())
            g["kind"] = "existing centre"
            parts.append(g)
    if params.planned is not None:
        g = _resolve_sites(si.read_sites_file(params.planned, option="--planned"), area, com,
                           origins, "--planned")  # fmt: skip
        g["doctors"] = g["doctors"].fillna(params.doctors_per_centre)
        g["kind"] = "planned"
        parts.append(g)
    if not parts:
        out = _commune_sites([], com, origins)
        out["kind"] = pd.Series(dtype=str)
        return out
    out = pd.concat(parts, ignore_index=True)
    dup = out["site_id"].duplicated()
    if dup.any():
        log.warning("planned centres already listed as existing, counted once: %s",
                    ", ".join(out.loc[dup, "site_id"].astype(str)))  # fmt: skip
        out = out[~dup]
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs=WORKING_CRS)


def _candidates(params: ScoreParams, area: Area, com: pd.DataFrame, origins: gpd.GeoDataFrame,
                data_dir: str | Path | None, fixed: gpd.GeoDataFrame
                ) -> tuple[gpd.GeoDataFrame, str]:  # fmt: skip
    cand_opt = params.candidates
    if cand_opt is None:
        ph = _pharmacy_communes(area, data_dir)
        codes = si.default_candidates(com, ph, min_pop=params.candidate_min_pop)
        rule = (f"communes with a pharmacy (BPE 2021 D307) or at least "
                f"{params.candidate_min_pop:,.0f} inhabitants")  # fmt: skip
        cand = _commune_sites(sorted(codes), com, origins, params.doctors_per_centre)
    elif str(cand_opt).strip().lower() == "all":
        rule = "every commune"
        cand = _commune_sites(sorted(com.index), com, origins, params.doctors_per_centre)
    else:
        rule = f"the sites listed in {Path(cand_opt).name}"
        cand = _resolve_sites(si.read_sites_file(cand_opt, option="--candidates"), area, com,
                              origins, "--candidates")  # fmt: skip
        cand["doctors"] = cand["doctors"].fillna(params.doctors_per_centre)
        cand = cand.sort_values("site_id").reset_index(drop=True)
    if params.within_priority is not None:
        known = set(area.epci["epci_siren"].astype(str))
        prio = load_priority_zones(params.within_priority, known=known)
        keep = com.loc[cand["insee"], "epci_siren"].astype(str).isin(prio["epci_siren"]).to_numpy()
        cand = cand[keep].reset_index(drop=True)
        rule += f", in the {len(prio)} EPCI of {Path(params.within_priority).name}"
    fixed_communes = set(fixed["site_id"]) | set(fixed["insee"][fixed["site_id"] == fixed["insee"]])
    cand = cand[~cand["site_id"].isin(fixed_communes)].reset_index(drop=True)
    if len(fixed_communes):
        rule += "; communes with an existing or planned centre excluded"
    cand["kind"] = "candidate"
    return gpd.GeoDataFrame(cand, geometry="geometry", crs=WORKING_CRS), rule


def _plan_size(params: ScoreParams) -> tuple[int, int | None, list[int | None]]:
    """(total sites, per year, year of each rank)."""
    if params.years is None:
        k = params.per_year if params.per_year is not None else params.k
        return k, None, [None] * k
    y0, y1 = int(params.years[0]), int(params.years[1])
    per = params.per_year if params.per_year is not None else params.k
    years = [y for y in range(y0, y1 + 1) for _ in range(per)]
    return len(years), per, list(years)


def siting_stage(
    params: ScoreParams,
    area: Area,
    engine: MixedEngine,
    com: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    demand: pd.Series,
    *,
    std_demand: pd.Series | None = None,
    data_dir: str | Path | None = None,
) -> SitingStage:
    """Choose the run's sites and measure what they change (module docstring).

    Parameters
    ----------
    params : ScoreParams
        ``objective``, ``k`` / ``per_year`` / ``years``, ``doctors_per_centre``,
        ``candidates``, ``candidate_min_pop``, ``within_priority``, ``existing_centres``,
        ``planned``, ``what_if``, ``exact``, ``threshold_min``, ``catchment_cutoff_min``,
        ``consultations_per_gp``.
    area : Area
    engine : MixedEngine
    com : GeoDataFrame
        Communes of :func:`~accessmap.pipeline.times.times_stage` with ``apl``
        (:func:`~accessmap.pipeline.catchments.catchments_stage`).
    origins : GeoDataFrame
        Routing origins, indexed by INSEE code.
    demand : Series
        People per commune.
    std_demand : Series, optional
        Age-standardised demand of the APL (default: ``demand``, i.e. no standardisation).
    data_dir : path, optional
        Data directory (Ma Santé, Ma Région centres, pharmacies).

    Returns
    -------
    SitingStage
    """
    t_start = time.perf_counter()
    k_total, per_year, year_of = _plan_size(params)
    pop = demand.reindex(com.index).astype(float).fillna(0.0)
    std = (std_demand if std_demand is not None else demand).reindex(com.index).astype(float)
    std = std.fillna(0.0)
    fixed = _fixed_centres(params, area, com, origins, data_dir)
    cand, rule = _candidates(params, area, com, origins, data_dir, fixed)
    what_ifs = [si.parse_what_if(w, default_doctors=params.doctors_per_centre)
                for w in params.what_if]  # fmt: skip
    for code, _ in what_ifs:
        if code not in com.index:
            raise UnknownCodeError(
                f"--what-if {code!r} is not an INSEE commune code of {area.name}; "
                "give a 5-character code such as 46102"
            )
    if k_total > 0 and len(cand) == 0:
        raise ConfigError(f"no candidate site is left ({rule}); widen --candidates or "
                          "--within-priority")  # fmt: skip
    if k_total > len(cand):
        raise ConfigError(f"k = {k_total} exceeds the {len(cand)} candidate sites ({rule}); "
                          "lower -k / --per-year or add candidates")  # fmt: skip
    wi_sites = _commune_sites([c for c, _ in what_ifs], com, origins)
    wi_sites["kind"] = "what-if"
    allsites = pd.concat([cand, fixed, wi_sites], ignore_index=True)
    allsites = allsites[~allsites["site_id"].duplicated()].reset_index(drop=True)
    allsites = gpd.GeoDataFrame(allsites, geometry="geometry", crs=WORKING_CRS)
    allsites["supply_id"] = allsites["site_id"]
    allsites.index = pd.Index(allsites["site_id"].astype(str))
    allsites.index.name = None

    # --- one table: every commune -> every site, far enough for APL and the time objective
    t0 = com["time_gp_min"].astype(float)
    finite = t0[np.isfinite(t0)]
    cut = max(params.catchment_cutoff_min, params.threshold_min,
              min(float(finite.max()) if len(finite) else 0.0, MAX_TIME_MIN))  # fmt: skip
    # the border context (Area.context) shares the new centres' supply, as it shares the
    # GPs' in the catchment stage: its communes time to the sites within the APL cutoff and
    # count in the denominators only (standardised weight 1, as catchments_stage does)
    context = getattr(area, "context", None)
    ctx_pop = pd.Series(dtype="float64")
    if context is not None and len(context):
        ctx = context[~context.index.isin(com.index)]
        ctx_pop = ctx["pop"].astype(float)
    sites_pts = allsites[["insee", "supply_id", "geometry"]]
    mat = engine.matrix(origins, sites_pts, cutoff_min=cut, same_commune=True)
    mat = mat[mat["from_id"].isin(com.index)][["from_id", "to_id", "travel_time_min"]]
    if len(ctx_pop):
        ctx_mat = engine.matrix(
            ctx[["geometry"]], sites_pts, cutoff_min=params.catchment_cutoff_min, same_commune=True
        )
        mat = pd.concat([mat, ctx_mat[["from_id", "to_id", "travel_time_min"]]],
                        ignore_index=True)  # fmt: skip
    problem = siting.build_problem(
        mat, pop=pop, std_demand=std, apl0=com["apl"].astype(float), time0=t0,
        site_ids=allsites.index.to_numpy(), threshold_min=params.threshold_min,
        consultations_per_gp=params.consultations_per_gp, extra_demand=ctx_pop,
    )  # fmt: skip
    t_tables = time.perf_counter() - t_start
    doctors = allsites["doctors"].fillna(params.doctors_per_centre).to_numpy(dtype="float64")
    gp_only = siting.SitingState(problem)
    to_open = fixed[~fixed["kind"].str.endswith("(in the GP supply)")]
    fixed_rows = [(problem.row(s), doctors[problem.row(s)]) for s in to_open["site_id"]]
    base = siting.SitingState(problem, fixed_rows)
    cand_rows = problem.rows(cand["site_id"])

    # --- sequences for each objective -----------------------------------------------------
    seqs: dict[str, list[int]] = {}
    bound_info: dict[str, Any] = {}
    exact_info: dict[str, Any] = {}
    t_solve = time.perf_counter()
    if k_total > 0:
        cover = siting.CoverSets(problem.cover[cand_rows], problem.site_ids[cand_rows],
                                 problem.origin_ids, problem.threshold_min)  # fmt: skip
        pop_s = pd.Series(problem.pop, index=problem.origin_ids)
        covered = pd.Series(base.covered, index=problem.origin_ids)
        g = siting.greedy_mclp(cover, pop_s, k=k_total, already_covered=covered)
        seqs["coverage"] = [problem.row(s) for s in g["site_id"]]
        for obj in ("time", "apl"):
            rows = siting.greedy(base, obj, k_total, doctors=doctors, candidates=cand_rows)
            if len(rows) == k_total:
                rows, _ = siting.swap_search(base, obj, rows, doctors=doctors,
                                             candidates=cand_rows)  # fmt: skip
                rows = siting.order_greedily(base, obj, rows, doctors=doctors)
            seqs[obj] = rows
        if params.exact:
            ex = siting.exact_mclp(cover, pop_s, k=k_total, already_covered=covered,
                                   time_limit_s=60.0)  # fmt: skip
            exact_info = {
                "status": "optimal" if ex.optimal else ex.message,
                "objective": ex.objective_pop, "bound": ex.dual_bound_pop, "mip_gap": ex.mip_gap,
                "greedy": ex.greedy_pop, "gap_to_greedy": ex.gap_to_greedy,
                "greedy_ratio": ex.greedy_pop / ex.objective_pop if ex.objective_pop else 1.0,
                "sites": [str(x) for x in ex.sites], "solve_time_s": ex.solve_time_s,
            }  # fmt: skip
            obj = params.objective
            if obj == "coverage":
                bound_info = {
                    "objective": "coverage", "method": "MCLP MILP (HiGHS)",
                    "status": exact_info["status"], "optimal": ex.optimal,
                    "value": ex.greedy_pop, "heuristic_value": ex.greedy_pop,
                    "upper_bound": ex.dual_bound_pop,
                    "gap": (ex.dual_bound_pop - ex.greedy_pop) / ex.dual_bound_pop
                    if ex.dual_bound_pop else 0.0,
                    "sites": exact_info["sites"], "solve_time_s": ex.solve_time_s,
                }  # fmt: skip
            else:
                solver = siting.exact_pmedian if obj == "time" else siting.apl_bound
                b = solver(base, k_total, candidates=cand_rows, heuristic=seqs[obj],
                           doctors=doctors, time_limit_s=TIME_LIMIT_S)  # fmt: skip
                if b.value > b.heuristic_value + 1e-9 * max(1.0, b.heuristic_value):
                    seqs[obj] = siting.order_greedily(base, obj, b.rows, doctors=doctors)
                bound_info = b.as_dict(problem.site_ids)
    t_solve = time.perf_counter() - t_solve

    # --- curves: the three effects after each site of each sequence -----------------------
    total_pop = float(problem.pop.sum())
    curves = []
    for obj, rows in seqs.items():
        curves.append(_curve(problem, base, rows, doctors, allsites, com, year_of, obj,
                             obj == params.objective, total_pop))  # fmt: skip
    curve = (pd.concat(curves, ignore_index=True) if curves
             else pd.DataFrame(columns=[*SITE_COLUMNS, "chosen"]))  # fmt: skip
    chosen = curve[curve["chosen"]] if len(curve) else curve
    sites = gpd.GeoDataFrame(
        chosen[SITE_COLUMNS].reset_index(drop=True),
        geometry=allsites.geometry.reindex(chosen["site_id"]).to_numpy(), crs=WORKING_CRS,
    )  # fmt: skip

    # --- what-if, on the baseline (existing and planned centres open) ---------------------
    what_if = _what_if_table(problem, base, what_ifs, com)

    # --- summary -----------------------------------------------------------------------
    def state_of(rows: list[int]) -> siting.SitingState:
        s = base.copy()
        for r in rows:
            s.open(r, doctors[r])
        return s

    compare = {obj: state_of(rows).effects(base) | {"sites": len(rows)}
               for obj, rows in seqs.items()}  # fmt: skip
    info: dict[str, Any] = {
        "objective": params.objective,
        "k": k_total,
        "doctors_per_centre": params.doctors_per_centre,
        "consultations_per_gp": params.consultations_per_gp,
        "candidates": len(cand),
        "candidate_rule": rule,
        "new_centre_consultations_per_doctor": params.consultations_per_gp,
        "border_context_communes": len(ctx_pop),
        "existing_centres": int((fixed["kind"] != "planned").sum()) if len(fixed) else 0,
        "existing_doctors": float(fixed.loc[fixed["kind"] != "planned", "doctors"].sum())
        if len(fixed)
        else 0.0,
        "planned_centres": int((fixed["kind"] == "planned").sum()) if len(fixed) else 0,
        "fixed_sites": [
            {
                "site_id": str(r.site_id),
                "label": _label(r.nom, com.loc[r.insee, "dep"]),
                "kind": str(r.kind),
                "doctors": float(r.doctors),
            }
            for r in fixed.itertuples()
        ],
        "table_cutoff_min": cut,
        "baseline": {
            "pop_below_2_5": base.pop_below(),
            "covered_pop": base.covered_pop(),
            "pop_beyond_target": total_pop - base.covered_pop(),
            "mean_time_min": base.mean_time(),
            "effect_of_fixed_centres": base.effects(gp_only),
        },
        "effects": compare.get(params.objective, {}),
        "bound": bound_info,
        "compare": compare,
        "years": _years(chosen, per_year),
        "seconds": {"tables": round(t_tables, 2), "solve": round(t_solve, 2)},
    }
    return SitingStage(curve=curve, exact_info=exact_info, sites=sites, what_if=what_if,
                       info=info, problem=problem, baseline=base)  # fmt: skip


def _curve(problem: siting.SitingProblem, base: siting.SitingState, rows: list[int],
           doctors: np.ndarray, allsites: gpd.GeoDataFrame, com: pd.DataFrame,
           year_of: list[int | None], objective: str, chosen: bool,
           total_pop: float) -> pd.DataFrame:  # fmt: skip
    state = base.copy()
    prev = state.effects(base)
    prev_cov = base.covered_pop()
    out = []
    for rank, r in enumerate(rows, start=1):
        sid = problem.site_ids[r]
        site = allsites.loc[sid]
        before = float(state.apl[problem.origin_ids == site["insee"]][0]) if site["insee"] in \
            com.index else math.nan  # fmt: skip
        state.open(r, doctors[r])
        eff = state.effects(base)
        cov = state.covered_pop()
        after = float(state.apl[problem.origin_ids == site["insee"]][0]) if site["insee"] in \
            com.index else math.nan  # fmt: skip
        dep = com.loc[site["insee"], "dep"]
        out.append({
            "rank": rank, "year": year_of[rank - 1] if rank - 1 < len(year_of) else None,
            "site_id": str(sid), "insee": str(site["insee"]), "nom": str(site["nom"]),
            "dep": str(dep), "label": _label(site["nom"], dep),
            "epci_siren": str(com.loc[site["insee"], "epci_siren"]),
            "epci_nom": str(com.loc[site["insee"], "epci_nom"]),
            "pop": float(com.loc[site["insee"], "pop"]), "doctors": float(doctors[r]),
            "objective": objective,
            "gain_pop": cov - prev_cov, "cumulative_pop": eff["newly_within_pop"],
            "cumulative_share": eff["newly_within_pop"] / total_pop if total_pop else math.nan,
            "covered_share": cov / total_pop if total_pop else math.nan,
            "lifted_pop": eff["lifted_pop"] - prev["lifted_pop"],
            "cumulative_lifted_pop": eff["lifted_pop"], "pop_below_2_5": eff["pop_below_2_5"],
            "apl_site_before": before, "apl_site_after": after,
            "apl_gain_under": eff["apl_gain_under"] - prev["apl_gain_under"],
            "cumulative_apl_gain_under": eff["apl_gain_under"],
            "time_change_min": eff["mean_time_min"] - prev["mean_time_min"],
            "mean_time_min": eff["mean_time_min"], "chosen": chosen,
        })  # fmt: skip
        prev, prev_cov = eff, cov
    df = pd.DataFrame(out, columns=[*SITE_COLUMNS, "chosen"])
    df["year"] = df["year"].astype("Int64")
    return df


def _years(chosen: pd.DataFrame, per_year: int | None) -> list[dict[str, Any]]:
    """Effect after each year of a multi-year plan (cumulative, from the curve)."""
    if per_year is None or not len(chosen):
        return []
    out = []
    for year, g in chosen.groupby("year", sort=True):
        last = g.iloc[-1]
        out.append({
            "year": int(str(year)), "sites": [str(x) for x in g["label"]],
            "lifted_pop": float(last["cumulative_lifted_pop"]),
            "newly_within_pop": float(last["cumulative_pop"]),
            "pop_below_2_5": float(last["pop_below_2_5"]),
            "mean_time_min": float(last["mean_time_min"]),
            "apl_gain_under": float(last["cumulative_apl_gain_under"]),
        })  # fmt: skip
    return out


def what_if_site(problem: siting.SitingProblem, base: siting.SitingState, code: str,
                 doctors: float, com: pd.DataFrame, *, top: int = 3) -> dict[str, Any]:  # fmt: skip
    """What one centre with ``doctors`` doctors at ``code`` changes on ``base``.

    Returns
    -------
    dict
        ``site_id, nom, label, doctors, gain_pop`` (people newly within the target),
        ``lifted_pop`` (people lifted above APL 2.5), ``under_in_reach_pop`` (people below
        2.5 in the site's APL catchment), ``apl_gain_under`` (their population-weighted
        mean APL gain), ``apl_site_before/after`` (APL of the commune itself),
        ``time_change_min`` (change of the mean time to the nearest GP), ``top_communes``
        (the ``top`` communes whose APL gains most, ``"Name (dep) +x.xx"``) and ``ms``.
    """
    t0 = time.perf_counter()
    row = problem.row(code)
    g = base.gain(row, doctors)
    idx, delta = problem.apl_delta(row, doctors)
    thr = problem.apl_threshold
    under = base.apl[idx] < thr
    p = problem.pop[idx]
    pop_under = float(p[under].sum())
    gain_under = float((p[under] * delta[under]).sum() / pop_under) if pop_under > 0 else 0.0
    own = np.flatnonzero(problem.origin_ids == code)
    before = float(base.apl[own[0]]) if len(own) else math.nan
    own_gain = float(delta[idx == own[0]].sum()) if len(own) else 0.0
    best = np.argsort(-delta, kind="stable")[:top]
    ids = problem.origin_ids[idx[best]]
    tops = "; ".join(f"{_label(com.loc[i, 'nom'], com.loc[i, 'dep'])} +{d:.2f}"
                     for i, d in zip(ids, delta[best], strict=True))  # fmt: skip
    routed = problem.routed_pop()
    ms = (time.perf_counter() - t0) * 1e3
    return {
        "site_id": code, "nom": str(com.loc[code, "nom"]),
        "label": _label(com.loc[code, "nom"], com.loc[code, "dep"]), "doctors": float(doctors),
        "gain_pop": g["covered"], "lifted_pop": g["lifted"], "under_in_reach_pop": pop_under,
        "apl_gain_under": gain_under, "apl_site_before": before,
        "apl_site_after": before + own_gain,
        "time_change_min": -g["time"] / routed if routed > 0 else 0.0,
        "top_communes": tops, "ms": ms,
    }  # fmt: skip


def _what_if_table(
    problem: siting.SitingProblem,
    base: siting.SitingState,
    what_ifs: list[tuple[str, float]],
    com: pd.DataFrame,
) -> pd.DataFrame:
    rows = [what_if_site(problem, base, code, d, com) for code, d in what_ifs]
    cols = ["site_id", "nom", "label", "doctors", "gain_pop", "lifted_pop",
            "under_in_reach_pop", "apl_gain_under", "apl_site_before", "apl_site_after",
            "time_change_min", "top_communes", "ms"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)
