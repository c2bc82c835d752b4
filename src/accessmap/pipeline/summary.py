"""The headline figures of a run, the sensitivity table and the run metadata.

May import: :mod:`accessmap.measures`, :mod:`accessmap.data`, :mod:`accessmap.traveltime`,
:mod:`accessmap.pipeline`.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accessmap import __version__, measures
from accessmap.area import Area
from accessmap.data.registry import load_registry
from accessmap.errors import SnapDistanceError
from accessmap.measures import coverage
from accessmap.pipeline.params import ScoreParams
from accessmap.pipeline.sites import SitingStage
from accessmap.pipeline.times import TimesStage
from accessmap.pipeline.zones import ZonesStage
from accessmap.traveltime import CrowFlyEngine, MixedEngine, NetworkEngine

__all__ = [
    "SPEED_CHANGES",
    "engine_lines",
    "engine_shares",
    "fallback_records",
    "run_summary",
    "sensitivity_table",
]


def run_summary(
    params: ScoreParams,
    area: Area,
    engine: MixedEngine,
    times: TimesStage,
    age_share: float,
    zones: ZonesStage,
    sited: SitingStage,
    client: Any,
    seconds: float,
) -> dict[str, Any]:
    """Headline figures for the CLI, the report and the metadata."""
    com, cells, gp = times.com, times.cells, times.gp
    tcol = f"within_{params.threshold_min:g}"
    exact_info = sited.exact_info
    agreement_summary = zones.agreement_summary
    # --- summary -------------------------------------------------------------------------
    pop = com["pop"].astype(float)
    tgp = com["time_gp_min"]
    share_beyond = 1.0 - measures.coverage(tgp, pop, params.threshold_min)
    apl_vals = com["apl"].to_numpy()
    used = set(com["engine"].dropna())
    if cells is not None:
        used |= set(cells["engine"].dropna())
    counts = com["engine"].value_counts()
    summary: dict[str, Any] = {
        "area": area.name,
        # the engines that actually timed communes or cells (a road file that covers the
        # whole area leaves crow-fly unused)
        "engines": [n for n in engine.names if n in used] or engine.names,
        "communes_by_engine": {str(k): int(v) for k, v in counts.items()},
        "engine_shares": engine_shares(com, pop),
        "fallback_communes": fallback_records(times.fallback),
        "road_network": _road_network_info(engine),
        "communes": len(com),
        "population": int(pop.sum()),
        # GPs of the area (the border context's GPs are reachable but not the area's)
        "gp_count": float(
            gp.loc[gp["in_area"].astype(bool), "count"].sum()
            if "in_area" in gp.columns
            else gp["count"].sum()
        ),
        "gp_source": str(gp.attrs.get("gp_source", params.supply)),
        "border_km": float(area.border_km),
        "border_context_communes": 0 if area.context is None else len(area.context),
        "apl_activity": params.activity,
        "consultations_per_gp": float(params.consultations_per_gp),
        "threshold_min": params.threshold_min,
        "share_beyond_target": float(share_beyond),
        "pop_beyond_target": round(float(pop[~com[tcol].astype(bool)].sum())),
        "mean_time_min": float(measures.weighted_mean_time(tgp, pop)),
        "share_apl_below_2_5": float(measures.share_under(apl_vals, pop.to_numpy(), 2.5)),
        "share_apl_below_4": float(measures.share_under(apl_vals, pop.to_numpy(), 4.0)),
        "apl_age_standardised_share": age_share,
        "gini_apl": float(measures.gini(apl_vals, pop.to_numpy())),
        "palma_apl": float(measures.palma(apl_vals, pop.to_numpy())),
        "k": params.k,
        # people newly within the target with the proposed sites (the run's objective)
        "new_covered_pop": int(sited.sites["cumulative_pop"].iloc[-1]) if len(sited.sites) else 0,
        "exact": exact_info,
        # objective, candidate rule, fixed centres, baseline, effects of the proposed sites,
        # bound and gap, effect after each year, the three objectives compared
        "siting": getattr(sited, "info", {}),
        "agreement": agreement_summary or None,
        **_dask_info(client, engine),
        "seconds": round(seconds, 2),
    }
    if cells is not None:
        cpop = cells["pop"].astype(float)
        summary["cells"] = len(cells)
        summary["cells_share_beyond_target"] = float(
            1.0 - measures.coverage(cells["time_gp_min"], cpop, params.threshold_min)
        )
        summary["cells_engine_shares"] = engine_shares(cells, cpop)
    # Input rows the loaders dropped (unknown codes, no routing origin...), counted with
    # their codes (issue 15: nothing is dropped silently); and inputs the user accepted
    # although they differ from the registry (--allow-modified-data).
    summary["dropped"] = [d for f in area.supply.values() for d in f.attrs.get("dropped", [])]
    summary["road_coverage"] = _road_coverage(params, engine, com, pop)
    if params.modified_data:
        summary["modified_data"] = list(params.modified_data)
    return summary


def _road_coverage(params: ScoreParams, engine: MixedEngine, com: pd.DataFrame,
                   pop: pd.Series) -> float | None:  # fmt: skip
    """Share of the population timed on the road network; refuse a road file covering none.

    A road file outside the study area (the Andorra extract for Lot) used to give "mean
    0.0 min" with every commune unreached (issue 15): with ``--engine road-network`` that is
    an error, with ``auto`` a counted warning (every commune then timed crow-fly).
    """
    if not isinstance(engine.primary, NetworkEngine):
        return None
    t = pd.to_numeric(com["time_gp_min"], errors="coerce")
    routed = (com["engine"].astype(str) == engine.primary.name).to_numpy() & np.isfinite(t)
    total = float(pop.sum())
    share = float(pop.to_numpy()[routed].sum()) / total if total else 0.0
    # the same-commune rule gives 0 min without routing: a road file that reaches nothing
    # still leaves those zeros, so "covers" means at least one positive routed time
    if (routed & (t.to_numpy() > 0)).any():
        return share
    source = Path(str((getattr(engine.primary.network, "meta", {}) or {}).get("source", ""))).name
    what = f"the road network {source or params.roads}"
    if params.engine == "road-network":
        raise SnapDistanceError(
            f"{what} covers none of the study area ({len(com)} communes, 0 % of the "
            "population routed): pass a road file that covers it, or use --engine auto / "
            "crow-fly"
        )
    warnings.warn(
        f"{what} covers none of the study area: every commune is timed crow-fly",
        UserWarning,
        stacklevel=2,
    )
    return 0.0


def engine_shares(layer: pd.DataFrame, pop: pd.Series) -> dict[str, dict[str, float]]:
    """Share of the rows and of the population timed by each engine (``engine`` column).

    Returns
    -------
    dict
        ``{engine: {"rows": n, "share_rows": x, "share_pop": y}}``; shares in [0, 1].
    """
    eng = layer["engine"].fillna("none").astype(str)
    total_pop = float(pop.sum())
    out: dict[str, dict[str, float]] = {}
    for name, rows in eng.value_counts().items():
        sel = (eng == name).to_numpy()
        out[str(name)] = {
            "rows": int(rows),
            "share_rows": float(rows) / max(len(eng), 1),
            "share_pop": float(pop.to_numpy()[sel].sum()) / total_pop if total_pop else 0.0,
        }
    return out


def fallback_records(fallback: pd.DataFrame) -> list[dict[str, Any]]:
    """The communes not timed by the road engine, with the reason, largest population first."""
    if fallback is None or not len(fallback):
        return []
    fb = fallback.sort_values(["pop", "insee"], ascending=[False, True])
    return [
        {"insee": str(r["insee"]), "nom": str(r["nom"]), "pop": int(r["pop"]),
         "engine": str(r["engine"]), "reason": str(r["reason"])}
        for _, r in fb.iterrows()
    ]  # fmt: skip


def engine_lines(summary: dict[str, Any], *, max_names: int = 8) -> list[str]:
    """Plain-text lines on the engines of a run (printed by ``accessmap score``).

    The road network used, the shares of communes and population each engine timed, and the
    communes that fell back to crow-fly with the reason (largest population first, at most
    ``max_names`` named; the metadata lists them all).
    """
    lines: list[str] = []
    road = summary.get("road_network")
    if road:
        lines.append(
            f"Road network: {road['source']} ({road['format']}, {road['nodes']:,} nodes"
            + (f", study area + {road['clip_margin_m'] / 1000:g} km" if road.get("clip_margin_m")
               else "")
            + f"); access legs at {road['access_speed_kmh']:g} km/h x {road['access_detour']:g}"
            + (f" + {road['access_terminal_min']:.2g} min at each end"
               if road.get("access_terminal_min") else "")
            + f", points beyond {road['max_snap_m'] / 1000:g} km of it timed crow-fly"
        )  # fmt: skip
    shares = summary.get("engine_shares") or {}
    if shares:
        lines.append("Engines: " + "; ".join(
            f"{name} {v['rows']:,} communes ({100 * v['share_rows']:.1f} %), "
            f"{100 * v['share_pop']:.1f} % of the population"
            for name, v in shares.items()))  # fmt: skip
    fb = summary.get("fallback_communes") or []
    if fb:
        by_reason: dict[str, int] = {}
        for r in fb:
            by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
        named = ", ".join(f"{r['nom']} ({r['insee']}, {r['reason']})" for r in fb[:max_names])
        more = f" and {len(fb) - max_names} more" if len(fb) > max_names else ""
        lines.append(
            f"Not timed on the road network: {len(fb)} communes without a GP ("
            + ", ".join(f"{n} {why}" for why, n in by_reason.items())
            + f"): {named}{more}"
        )
    return lines


def _road_network_info(engine: MixedEngine) -> dict[str, Any] | None:
    """What the road engine routed on: source, format, size, clip, access-leg parameters."""
    prim = engine.primary
    if not isinstance(prim, NetworkEngine):
        return None
    meta = getattr(prim.network, "meta", {}) or {}
    return {
        "source": Path(str(meta.get("source", ""))).name,
        "format": meta.get("format"),
        "nodes": int(prim.network.indptr.shape[0]) - 1,
        "clip_margin_m": meta.get("clip_margin_m"),
        "speed_model": meta.get("profile"),
        "access_speed_kmh": prim.access_speed_kmh,
        "access_detour": prim.access_detour,
        "access_terminal_min": float(getattr(prim, "access_terminal_min", 0.0)),
        "max_snap_m": prim.max_snap_m,
        "direct_leg": prim.direct_leg,
        "cache": meta.get("cache"),
    }


def _dask_info(client: Any, engine: MixedEngine) -> dict[str, Any]:
    """What went to the Dask cluster: scheduler, workers, threads, searches, blocks."""
    if client is None:
        return {"scheduler": None, "dask_workers": 0}
    nthreads = client.nthreads()
    return {
        "scheduler": str(client.scheduler.address),
        "dask_workers": len(nthreads),
        "dask_threads": int(sum(nthreads.values())),
        "dask_searches": int(getattr(engine.primary, "remote_calls", 0)),
        "dask_blocks": int(getattr(engine.primary, "remote_blocks", 0)),
    }


#: Speed changes of the sensitivity table (fractions): -20 %, -10 %, as run, +10 %, +20 %.
SPEED_CHANGES: tuple[float, ...] = (-0.2, -0.1, 0.0, 0.1, 0.2)


def sensitivity_table(
    times: pd.Series,
    pop: pd.Series,
    threshold: float,
    *,
    crow_fly: pd.Series | None = None,
    engine: str = "as run",
    speed_changes: tuple[float, ...] = SPEED_CHANGES,
) -> pd.DataFrame:
    """How the headline moves with the speeds, and with the crow-fly engine (``methods.md``).

    Every speed of the run (road edges, access legs, crow-fly) changed by ``s`` divides every
    trip time by ``1 + s``; the nearest facility does not change (all times scale alike), so
    scaling the nearest times is exact, not an approximation. The last row (``crow_fly``
    given) replaces the run's times by the crow-fly engine's (straight line x 1.4 at 60
    km/h), the pre-road-network default.

    Parameters
    ----------
    times, pop : Series
        Nearest-GP time (minutes) and population of each commune.
    threshold : float
        Access target (minutes).
    crow_fly : Series, optional
        Crow-fly nearest-GP times of the same communes.
    engine : str
        Label of the run's engine for the rows of the speed changes.
    speed_changes : tuple of float
        Fractions; default -20 %, -10 %, 0, +10 %, +20 % (:data:`SPEED_CHANGES`).

    Returns
    -------
    DataFrame
        ``engine``, ``speed_change`` (``"+10%"``), ``time_factor``, ``share_beyond``,
        ``pop_beyond``, ``mean_time_min``; one row per speed change, plus the crow-fly row.
    """

    def row(label: str, change: str, factor: float, t: pd.Series) -> dict[str, Any]:
        scaled = t * factor
        cov = coverage(scaled, pop, threshold)
        return {"engine": label, "speed_change": change, "time_factor": factor,
                "share_beyond": 1.0 - cov,
                "pop_beyond": float(pop[~(scaled <= threshold)].sum()),
                "mean_time_min": float(measures.weighted_mean_time(scaled, pop))}  # fmt: skip

    rows = [row(engine, f"{100 * sc:+.0f}%", 1.0 / (1.0 + sc), times) for sc in speed_changes]
    if crow_fly is not None:
        rows.append(row("crow-fly", "crow-fly engine", 1.0, crow_fly.reindex(times.index)))
    return pd.DataFrame(rows)


def _source_records(names: list[str]) -> list[dict[str, Any]]:
    """Publisher, licence and attribution of each dataset used (from ``sources.toml``)."""

    registry = load_registry()
    out: list[dict[str, Any]] = []
    for name in names:
        ds = registry.get(name)
        if ds is None:
            out.append({"name": name})
            continue
        out.append({"name": name, "description": ds.description, "publisher": ds.publisher,
                    "licence": ds.licence, "attribution": ds.attribution,
                    "files": [f.name for f in ds.files]})  # fmt: skip
    return out


def _metadata(
    params: ScoreParams, area: Area, engine: MixedEngine, summary: dict[str, Any]
) -> dict[str, Any]:
    crow = engine.fallback if isinstance(engine.fallback, CrowFlyEngine) else CrowFlyEngine()
    p = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(params).items()}
    meta: dict[str, Any] = {
        "tool": "accessmap",
        "version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "area": area.name,
        "departements": list(area.deps),
        "parameters": p,
        "engines": summary["engines"],
        "crow_fly": {
            "speed_kmh": crow.speed_kmh,
            "detour_factor": crow.detour_factor,
        },
        "sources": _source_records(area.sources + _road_sources(engine)),
        "summary": {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in summary.items()
            if k != "exact"
        },
    }
    if isinstance(engine.primary, NetworkEngine):
        network_meta = getattr(engine.primary.network, "meta", {}) or {}
        meta["road_network"] = {k: str(v) for k, v in network_meta.items()}
        meta["attribution"] = network_meta.get("attribution", "© OpenStreetMap contributors (ODbL)")
    return meta


def _road_sources(engine: MixedEngine) -> list[str]:
    """Registry names of the road data a run used (the default Travel Mapping archive)."""
    prim = engine.primary
    if not isinstance(prim, NetworkEngine):
        return []
    src = Path(str((getattr(prim.network, "meta", {}) or {}).get("source", ""))).name
    registry = load_registry()
    return [name for name, ds in registry.items() if any(f.name == src for f in ds.files)]
