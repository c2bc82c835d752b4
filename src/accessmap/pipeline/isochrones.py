"""Stage 5, isochrones: drive-time bands of the existing GPs and of the proposed sites.

Each facility gets its bands from the engine that times it (the road network where it
covers, crow-fly for the rest; :class:`~accessmap.traveltime.MixedEngine`). On the default
Travel Mapping network the bands are access surfaces (every point whose own trip time is
within the threshold, :meth:`accessmap.traveltime.NetworkEngine.access_surface`) for the
whole region. Every band is then clipped to the study area's land, the union of its commune
polygons (given as the département polygons, which are their union in ADMIN EXPRESS): no
band over the sea, Spain or Andorra, and none beyond the area's border (where the run
measures nobody).

May import: :mod:`accessmap.traveltime`, :mod:`accessmap.pipeline.params`.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from accessmap.config import WORKING_CRS
from accessmap.pipeline.params import ScoreParams
from accessmap.traveltime import MixedEngine

__all__ = ["clip_to_land", "isochrones_stage", "land_of"]


def land_of(polygons: gpd.GeoDataFrame | gpd.GeoSeries) -> Any:
    """Union of a polygon layer (EPSG:2154): the land the bands are clipped to."""
    geoms = np.asarray(polygons.geometry.values)
    land = shapely.union_all(shapely.make_valid(geoms))
    shapely.prepare(land)
    return land


def clip_to_land(iso: gpd.GeoDataFrame, land: Any) -> gpd.GeoDataFrame:
    """Bands intersected with ``land``; bands left empty are dropped."""
    if land is None or not len(iso):
        return iso
    out = iso.copy()
    geoms = np.asarray(out.geometry.values)
    # bands already inside the land (most of them) skip the overlay
    inside = shapely.contains(land, geoms)
    clipped = geoms.copy()
    todo = ~inside
    if todo.any():
        clipped[todo] = shapely.intersection(geoms[todo], land)
    out["geometry"] = clipped
    return out[~out.geometry.is_empty].reset_index(drop=True)


def isochrones_stage(
    engine: MixedEngine,
    gp: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    params: ScoreParams,
    *,
    land: Any = None,
) -> gpd.GeoDataFrame:
    """Dissolved isochrone bands of existing GP sites, plus one per proposed site.

    Parameters
    ----------
    engine : MixedEngine
        The run's engine.
    gp, sites : GeoDataFrame
        Existing GP points; proposed sites (``insee``).
    params : ScoreParams
        ``isochrone_min`` thresholds for the existing GPs, ``threshold_min`` for the sites.
    land : shapely geometry, optional
        Study-area land (:func:`land_of`); every band is clipped to it. ``None``: unclipped.
    """
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
        parts.append(clip_to_land(iso, land))
    if not parts:
        return gpd.GeoDataFrame(
            {"facility_id": [], "threshold_min": [], "kind": [], "engine": []},
            geometry=[], crs=WORKING_CRS,
        )  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out[["facility_id", "threshold_min", "kind", "engine", "geometry"]],
                            geometry="geometry", crs=WORKING_CRS)  # fmt: skip
