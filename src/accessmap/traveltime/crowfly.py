"""The crow-fly engine: straight-line distance times a detour factor at an assumed speed.

:class:`CrowFlyEngine` (``name = "crow-fly"``) implements the
:class:`~accessmap.traveltime.base.Engine` protocol for areas without a road file, and is the
fallback of :class:`~accessmap.traveltime.mixed.MixedEngine` outside a road file's reach. Its
two parameters are assumptions, sourced next to their constants below.

May import: :mod:`accessmap.config`, :mod:`accessmap.errors`, :mod:`accessmap.traveltime.base`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from accessmap.config import WORKING_CRS
from accessmap.errors import (
    BadValueError,
)
from accessmap.traveltime.base import (
    _check_cutoff,
    _check_points,
    _check_thresholds,
    _coincident_pairs,
    _empty_matrix,
    _label,
    reach_population,
)

__all__ = ["CROW_FLY_DETOUR", "CROW_FLY_SPEED_KMH", "CrowFlyEngine"]

log = logging.getLogger(__name__)


#: Crow-fly detour factor: road distance / straight-line distance. Boscoe, Henry & Zdeb
#: (2012), "A nationwide comparison of driving distance versus straight-line distance to
#: hospitals", *The Professional Geographer* 64(2):188-196, measured a mean detour index of
#: about 1.4 over 66,000 US locations; Ballou, Rahardja & Sakai (2002), *Transportation
#: Research A* 36:843-848, report circuity factors of 1.2-1.4 for road travel in most
#: countries they studied. 1.4 is an assumption for Occitanie, not a French measurement.
CROW_FLY_DETOUR = 1.4


#: Crow-fly average car speed (km/h) applied to the detoured distance. Assumption: between
#: the OSRM car-profile speeds of secondary (55) and primary (65) roads (``methods.md``),
#: the roads most rural trips to a GP use; not a measured French average.
CROW_FLY_SPEED_KMH = 60.0


class CrowFlyEngine:
    """Straight-line distance x detour factor at an assumed speed (no road file needed).

    ``travel_time_min = euclidean_distance_m * detour_factor / (speed_kmh * 1000 / 60)``.

    Parameters
    ----------
    speed_kmh
        Average car speed on the detoured distance. Default 60 km/h: an assumption (see
        :data:`CROW_FLY_SPEED_KMH`).
    detour_factor
        Road distance / straight-line distance. Default 1.4 (Boscoe et al. 2012; Ballou et
        al. 2002; an assumption for Occitanie, see :data:`CROW_FLY_DETOUR`).
    crs
        CRS every input must be in (default EPSG:2154). Any projected CRS in metres works.

    Notes
    -----
    Mountain roads (Pyrenees, Cévennes) have larger detours and lower speeds than the
    defaults: this engine is a screening tool where no road file is available, and every
    output is labelled ``engine = "crow-fly"``.

    Examples
    --------
    >>> eng = CrowFlyEngine(speed_kmh=60, detour_factor=1.0)
    >>> o = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0.0], [0.0]), crs=2154, index=["a"])
    >>> f = gpd.GeoDataFrame(geometry=gpd.points_from_xy([3000.0], [4000.0]), crs=2154,
    ...                      index=["gp"])
    >>> float(eng.nearest(o, f)["travel_time_min"].iloc[0])  # 5 km at 1 km/min
    5.0
    """

    name = "crow-fly"

    def __init__(
        self,
        *,
        speed_kmh: float = CROW_FLY_SPEED_KMH,
        detour_factor: float = CROW_FLY_DETOUR,
        crs: str = WORKING_CRS,
    ) -> None:
        if not (float(speed_kmh) > 0) or math.isinf(float(speed_kmh)):
            raise BadValueError(f"speed_kmh must be a finite speed > 0 km/h; got {speed_kmh!r}")
        if not (float(detour_factor) >= 1) or math.isinf(float(detour_factor)):
            raise BadValueError(
                f"detour_factor must be >= 1 (road distance / straight-line distance); got "
                f"{detour_factor!r}"
            )
        self.speed_kmh = float(speed_kmh)
        self.detour_factor = float(detour_factor)
        self.crs = crs

    @property
    def _m_per_min(self) -> float:
        """Straight-line metres covered per minute."""
        return self.speed_kmh * 1000.0 / 60.0 / self.detour_factor

    def covers(self, points: gpd.GeoDataFrame) -> npt.NDArray[np.bool_]:
        """Every point: straight lines reach everywhere."""
        return np.ones(len(points), dtype=bool)

    def nearest(self, origins: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame) -> pd.DataFrame:
        """Nearest facility by straight line; ``nearest_id``, ``travel_time_min``, ``engine``.

        Ties at exactly the same distance go to the facility listed first.
        """
        fxy = _check_points(facilities, "facilities", crs=self.crs)
        oxy = _check_points(origins, "origins", crs=self.crs, allow_empty=True)
        out = pd.DataFrame(index=origins.index)
        if len(oxy) == 0:
            out["nearest_id"] = pd.Series([], dtype=object)
            out["travel_time_min"] = pd.Series([], dtype=float)
            out["distance_m"] = pd.Series([], dtype=float)
            return _label(out, self.name)
        tree = cKDTree(fxy)
        d, j = tree.query(oxy)
        j = np.asarray(j, dtype=np.int64)
        # deterministic tie rule: among facilities at the same distance keep the first one
        k = min(8, len(fxy))
        if k > 1:
            dk, jk = tree.query(oxy, k=k)
            tie = dk == dk[:, :1]
            jk = np.where(tie, jk, np.iinfo(np.int64).max)
            j = jk.min(axis=1)
        out["nearest_id"] = facilities.index.to_numpy()[j]
        out["travel_time_min"] = d / self._m_per_min
        out["distance_m"] = d
        return _label(out, self.name)

    def matrix(
        self,
        origins: gpd.GeoDataFrame,
        facilities: gpd.GeoDataFrame,
        *,
        cutoff_min: float,
        progress: Any = None,
    ) -> pd.DataFrame:
        """Long table of pairs within ``cutoff_min`` (cKDTree sparse distance matrix)."""
        cut = _check_cutoff(cutoff_min)
        fxy = _check_points(facilities, "facilities", crs=self.crs)
        oxy = _check_points(origins, "origins", crs=self.crs, allow_empty=True)
        if len(oxy) == 0:
            return _empty_matrix(self.name)
        radius = cut * self._m_per_min
        sdm = cKDTree(oxy).sparse_distance_matrix(cKDTree(fxy), radius, output_type="ndarray")
        i = sdm["i"].astype(np.int64)
        j = sdm["j"].astype(np.int64)
        v = sdm["v"]
        # sparse_distance_matrix may omit exact zeros (same location); add back the missing
        zi, zj = _coincident_pairs(oxy, fxy)
        if zi.size:
            have = set(zip(i[v == 0].tolist(), j[v == 0].tolist(), strict=True))
            new = np.array([(a, b) not in have for a, b in zip(zi, zj, strict=True)], dtype=bool)
            zi, zj = zi[new], zj[new]
        i = np.concatenate([i, zi])
        j = np.concatenate([j, zj])
        v = np.concatenate([v, np.zeros(zi.size)])
        t = v / self._m_per_min
        keep = t <= cut
        i, j, t = i[keep], j[keep], t[keep]
        order = np.lexsort((j, t, i))
        out = pd.DataFrame(
            {
                "from_id": origins.index.to_numpy()[i[order]],
                "to_id": facilities.index.to_numpy()[j[order]],
                "travel_time_min": t[order],
            }
        )
        return _label(out, self.name)

    def isochrones(
        self,
        facilities: gpd.GeoDataFrame,
        *,
        thresholds_min: Sequence[float] | float,
        dissolve: bool = False,
    ) -> gpd.GeoDataFrame:
        """Circular buffers of radius ``t * speed / detour`` (``method="crow-fly-buffer"``).

        With ``dissolve=True``, one polygon per threshold: the union over the facilities
        (``facility_id`` ``"all"``).
        """
        thr = _check_thresholds(thresholds_min)
        _check_points(facilities, "facilities", crs=self.crs)
        if dissolve:
            pts = facilities.geometry.to_numpy()
            rows_d = [
                {"facility_id": "all", "threshold_min": t,
                 "geometry": shapely.union_all(
                     shapely.buffer(pts, t * self._m_per_min, quad_segs=16))}
                for t in thr
            ]  # fmt: skip
            gdf = gpd.GeoDataFrame(pd.DataFrame(rows_d), geometry="geometry", crs=facilities.crs)
            gdf.insert(2, "method", "crow-fly-buffer")
            return _label(gdf, self.name)
        rows = [
            {
                "facility_id": fid,
                "threshold_min": t,
                "geometry": geom.buffer(t * self._m_per_min, quad_segs=16),
            }
            for fid, geom in zip(facilities.index, facilities.geometry, strict=True)
            for t in thr
        ]
        gdf = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=facilities.crs)
        gdf.insert(2, "method", "crow-fly-buffer")
        return _label(gdf, self.name)

    def population_reached(
        self,
        facilities: gpd.GeoDataFrame,
        points: gpd.GeoDataFrame,
        *,
        thresholds_min: Sequence[float] | float,
        pop_col: str = "pop",
    ) -> pd.DataFrame:
        """See :func:`population_reached`."""
        return reach_population(
            self, facilities, points, thresholds_min=thresholds_min, pop_col=pop_col
        )
