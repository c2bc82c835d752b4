"""Stage 1, travel times: nearest GP (and every other supply kind) per commune and cell.

May import: :mod:`accessmap.measures`, :mod:`accessmap.supply`, :mod:`accessmap.traveltime`,
:mod:`accessmap.area`, :mod:`accessmap.pipeline.params`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from accessmap import measures
from accessmap import supply as sk
from accessmap.area import Area
from accessmap.pipeline.params import ScoreParams
from accessmap.traveltime import CrowFlyEngine, MixedEngine

__all__ = ["TimesStage", "times_stage"]


@dataclass
class TimesStage:
    """Output of :func:`times_stage`.

    Attributes
    ----------
    com : GeoDataFrame
        Communes (indexed by INSEE code) with ``gp_count``, ``nearest_gp_id``,
        ``time_gp_min``, ``engine``, ``within_X`` flags and ``time_<kind>_min``.
    cells : GeoDataFrame or None
        Population cells with their nearest-GP time, flags and engine.
    origins, gp : GeoDataFrame
        Routing origins and GP points of the area.
    fallback : DataFrame
        The communes whose nearest-GP time did not come from the run's road engine:
        ``insee``, ``nom``, ``pop``, ``engine``, ``reason`` (one of the
        ``accessmap.traveltime.mixed.FALLBACK_*`` texts). Empty for a crow-fly run.
    crow_fly_time : Series
        Nearest-GP time of every commune with the crow-fly engine alone (same-commune rule
        applied), for the sensitivity table.
    """

    com: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame | None
    origins: gpd.GeoDataFrame
    gp: gpd.GeoDataFrame
    fallback: pd.DataFrame = field(default_factory=pd.DataFrame)
    crow_fly_time: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))


def times_stage(params: ScoreParams, area: Area, engine: MixedEngine) -> TimesStage:
    """Nearest-facility times of every commune (and cell) with the run's engine."""
    origins = area.origins
    communes = area.communes.set_index("insee", drop=False)
    communes.index.name = None
    communes = communes.loc[origins.index.intersection(communes.index)]
    gp = area.gp_supply

    # --- nearest times -------------------------------------------------------------------
    # Insee Metric / DREES convention: time within a commune counts as 0 (methods.md).
    near = engine.nearest(origins, gp, same_commune=True)
    com = communes.copy()
    gp_count = gp.groupby("insee")["count"].sum()
    com["gp_count"] = com["insee"].map(gp_count).fillna(0.0)
    com["nearest_gp_id"] = near["nearest_id"].reindex(com.index)
    com["time_gp_min"] = near["travel_time_min"].reindex(com.index)
    com["engine"] = near["engine"].reindex(com.index)
    fallback = pd.DataFrame(columns=["insee", "nom", "pop", "engine", "reason"])
    if engine.primary is not None and "fallback_reason" in near.columns:
        why = near["fallback_reason"].reindex(com.index)
        # a commune holding a GP is at 0 min whatever the engine: not a fallback
        off = why.notna() & (com["gp_count"] <= 0)
        fallback = pd.DataFrame(
            {
                "insee": com.loc[off, "insee"].astype(str),
                "nom": com.loc[off, "nom"] if "nom" in com.columns else com.loc[off, "insee"],
                "pop": com.loc[off, "pop"],
                "engine": com.loc[off, "engine"],
                "reason": why[off],
            }
        ).reset_index(drop=True)
    if isinstance(engine.fallback, CrowFlyEngine) and engine.primary is None:
        crow_fly_time = com["time_gp_min"]
    else:
        crow = MixedEngine(None, CrowFlyEngine())
        crow_fly_time = crow.nearest(origins, gp, same_commune=True)["travel_time_min"]
        crow_fly_time = crow_fly_time.reindex(com.index)
    flags = measures.nearest_flags(com["time_gp_min"], thresholds=params.bands_min)
    for c in flags.columns:
        com[c] = flags[c].to_numpy()
    # every other supply kind of the registry: car time to its nearest facility
    for name, layer in area.supply.items():
        if name != "gp":
            col = sk.get_kind(name).time_column
            com[col] = engine.nearest(origins, layer)["travel_time_min"].reindex(com.index)

    cells = None
    if area.cells is not None and len(area.cells):
        cnear = engine.nearest(area.cells, gp)
        cells = area.cells.copy()
        cells["time_gp_min"] = cnear["travel_time_min"].reindex(cells.index)
        cells["nearest_gp_id"] = cnear["nearest_id"].reindex(cells.index)
        cflags = measures.nearest_flags(cells["time_gp_min"], thresholds=params.bands_min)
        for c in cflags.columns:
            cells[c] = cflags[c].to_numpy()
        cells["engine"] = cnear["engine"].reindex(cells.index)
    return TimesStage(com=com, cells=cells, origins=origins, gp=gp, fallback=fallback,
                      crow_fly_time=crow_fly_time)  # fmt: skip
