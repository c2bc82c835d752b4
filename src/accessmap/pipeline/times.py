"""Stage 1, travel times: nearest GP (and every other supply kind) per commune and cell.

May import: :mod:`accessmap.measures`, :mod:`accessmap.supply`, :mod:`accessmap.traveltime`,
:mod:`accessmap.area`, :mod:`accessmap.pipeline.params`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd

from accessmap import measures
from accessmap import supply as sk
from accessmap.area import Area
from accessmap.pipeline.params import ScoreParams
from accessmap.traveltime import MixedEngine

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
    """

    com: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame | None
    origins: gpd.GeoDataFrame
    gp: gpd.GeoDataFrame


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
    return TimesStage(com=com, cells=cells, origins=origins, gp=gp)
