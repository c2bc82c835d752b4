"""The headline figures of a run, the sensitivity table and the run metadata.

May import: :mod:`accessmap.measures`, :mod:`accessmap.data`, :mod:`accessmap.traveltime`,
:mod:`accessmap.pipeline`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accessmap import __version__, measures
from accessmap.area import Area
from accessmap.data.registry import load_registry
from accessmap.measures import coverage
from accessmap.pipeline.params import ScoreParams
from accessmap.pipeline.sites import SitingStage
from accessmap.pipeline.times import TimesStage
from accessmap.pipeline.zones import ZonesStage
from accessmap.traveltime import CrowFlyEngine, MixedEngine, NetworkEngine

__all__ = ["run_summary", "sensitivity_table"]


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
    curve, exact_info = sited.curve, sited.exact_info
    agreement_summary = zones.agreement_summary
    # --- summary -------------------------------------------------------------------------
    pop = com["pop"].astype(float)
    times = com["time_gp_min"]
    share_beyond = 1.0 - measures.coverage(times, pop, params.threshold_min)
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
        "communes": len(com),
        "population": int(pop.sum()),
        "gp_count": float(gp["count"].sum()),
        "threshold_min": params.threshold_min,
        "share_beyond_target": float(share_beyond),
        "pop_beyond_target": round(float(pop[~com[tcol].astype(bool)].sum())),
        "mean_time_min": float(measures.weighted_mean_time(times, pop)),
        "share_apl_below_2_5": float(measures.share_under(apl_vals, pop.to_numpy(), 2.5)),
        "share_apl_below_4": float(measures.share_under(apl_vals, pop.to_numpy(), 4.0)),
        "apl_age_standardised_share": age_share,
        "gini_apl": float(measures.gini(apl_vals, pop.to_numpy())),
        "palma_apl": float(measures.palma(apl_vals, pop.to_numpy())),
        "k": params.k,
        "new_covered_pop": int(curve["cumulative_pop"].iloc[-1]) if len(curve) else 0,
        "exact": exact_info,
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

    return summary


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


def sensitivity_table(times: pd.Series, pop: pd.Series, threshold: float) -> pd.DataFrame:
    """Share beyond the threshold when every travel time is scaled by ±10 % (methods.md)."""

    rows = []
    for factor in (0.9, 1.0, 1.1):
        cov = coverage(times * factor, pop, threshold)
        rows.append({"speed_change": f"{(1 / factor - 1) * 100:+.0f}%",
                     "time_factor": factor, "share_beyond": 1.0 - cov})  # fmt: skip
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
        "sources": _source_records(area.sources),
        "summary": {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in summary.items()
            if k != "exact"
        },
    }
    if isinstance(engine.primary, NetworkEngine):
        network_meta = getattr(engine.primary.network, "meta", {}) or {}
        meta["road_network"] = {k: str(v) for k, v in network_meta.items()}
        meta["attribution"] = "© OpenStreetMap contributors (ODbL)"
    return meta
