"""Stage 5, isochrones: drive-time bands of the existing GPs and of the proposed sites.

May import: :mod:`accessmap.traveltime`, :mod:`accessmap.pipeline.params`.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from accessmap.config import WORKING_CRS
from accessmap.pipeline.params import ScoreParams
from accessmap.traveltime import MixedEngine

__all__ = ["isochrones_stage"]


def isochrones_stage(
    engine: MixedEngine, gp: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, params: ScoreParams
) -> gpd.GeoDataFrame:
    """Dissolved isochrone bands of existing GP sites, plus one per proposed site."""
    thresholds = tuple(sorted(params.isochrone_min))
    parts = []
    # Each facility gets its isochrones from the engine that times it: the road network for
    # the facilities a road file covers (within the snapping distance), crow-fly for the rest
    # (none with --engine road-network). Bands of existing GPs are dissolved per engine.
    for kind, fac, ths in (("existing", gp, thresholds),
                           ("proposed", sites, (params.threshold_min,))):  # fmt: skip
        if not len(fac):
            continue
        if kind == "proposed":
            fac = fac.set_index("insee", drop=False)
            fac.index.name = None
        # existing GPs: one band per threshold from one nearest pass (dissolve=True)
        iso = engine.isochrones(fac, thresholds_min=ths, dissolve=kind == "existing")
        if not len(iso):
            continue
        if kind == "existing":
            iso = iso[["threshold_min", "geometry", "engine"]].copy()
            iso["facility_id"] = "existing GPs"
        else:
            iso = iso[["facility_id", "threshold_min", "geometry", "engine"]].copy()
            iso["facility_id"] = iso["facility_id"].astype(str)
        iso["kind"] = kind
        parts.append(iso)
    if not parts:
        return gpd.GeoDataFrame(
            {"facility_id": [], "threshold_min": [], "kind": [], "engine": []},
            geometry=[], crs=WORKING_CRS,
        )  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out[["facility_id", "threshold_min", "kind", "engine", "geometry"]],
                            geometry="geometry", crs=WORKING_CRS)  # fmt: skip
