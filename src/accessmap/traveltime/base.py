"""What every travel-time engine shares: the :class:`Engine` protocol and input checks.

An engine answers three questions for point layers in EPSG:2154 whose **index holds the ids**
(``docs/ARCHITECTURE.md``): :meth:`Engine.nearest` (time to the nearest facility),
:meth:`Engine.matrix` (long ``from_id, to_id, travel_time_min`` table within a cutoff) and
:meth:`Engine.isochrones`; :meth:`Engine.covers` says which points it can time. Every output
is labelled with the engine that produced it (an ``engine`` column and
``DataFrame.attrs["engine"]``). Engines are registered in :mod:`accessmap.traveltime.engines`.

May import: :mod:`accessmap.config`, :mod:`accessmap.errors`.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from accessmap.config import WORKING_CRS
from accessmap.errors import (
    BadValueError,
    CRSError,
    CRSMismatchError,
    DuplicateIdError,
    EmptyLayerError,
    InvalidGeometryError,
    MissingColumnError,
    MissingCRSError,
    TravelTimeWarning,
)

log = logging.getLogger(__name__)


def _warn(msg: str) -> None:
    # a warning, not a log record: callers filter or record it; the CLI prints it on stderr
    warnings.warn(msg, TravelTimeWarning, stacklevel=3)


def _check_points(
    gdf: Any, what: str, *, crs: str | None = WORKING_CRS, allow_empty: bool = False
) -> npt.NDArray[np.float64]:
    """Validate a point layer and return its (n, 2) coordinates."""
    if not isinstance(gdf, gpd.GeoDataFrame | gpd.GeoSeries):
        raise BadValueError(
            f"{what} must be a GeoDataFrame of points (ids in the index); got {type(gdf).__name__}"
        )
    if gdf.crs is None:
        raise MissingCRSError(
            f"{what} has no CRS; set the right one with .set_crs(...) then "
            f".to_crs({WORKING_CRS!r}) (accessmap never guesses a CRS)"
        )
    if gdf.crs.is_geographic:
        raise CRSError(
            f"{what} is in a geographic CRS ({gdf.crs.to_string()}): distances would be in "
            f"degrees; reproject first with .to_crs({WORKING_CRS!r})"
        )
    if crs is not None and not gdf.crs.equals(crs):
        raise CRSMismatchError(
            f"{what} is in {gdf.crs.to_string()} but the road network is in {crs}; "
            f"reproject with .to_crs({crs!r})"
        )
    if len(gdf) == 0:
        if allow_empty:
            return np.empty((0, 2))
        raise EmptyLayerError(f"{what} has no rows; pass at least one point")
    if not gdf.index.is_unique:
        dup = gdf.index[gdf.index.duplicated()][0]
        raise DuplicateIdError(
            f"{what} index must hold unique ids; {dup!r} appears more than once "
            "(set a unique id column as index with .set_index(...))"
        )
    geom = gdf.geometry
    bad = geom.isna() | geom.is_empty
    if not bad.any():
        bad = geom.geom_type != "Point"
    if bad.any():
        first = geom.index[bad.to_numpy()][0]
        raise InvalidGeometryError(
            f"{what} must hold non-empty Point geometries; row {first!r} has "
            f"{geom.loc[first].geom_type if geom.loc[first] is not None else 'no geometry'} "
            "(use .representative_point() or .centroid for polygons)"
        )
    xy = np.column_stack([geom.x.to_numpy(), geom.y.to_numpy()])
    if not np.isfinite(xy).all():
        first = geom.index[~np.isfinite(xy).all(axis=1)][0]
        raise InvalidGeometryError(f"{what}: row {first!r} has non-finite coordinates")
    return xy


def _check_cutoff(cutoff_min: float) -> float:
    c = float(cutoff_min)
    if not (c >= 0) or math.isinf(c):
        raise BadValueError(
            f"cutoff_min must be a finite number of minutes >= 0; got {cutoff_min!r}"
        )
    return c


def _check_thresholds(thresholds_min: Sequence[float] | float) -> list[float]:
    vals = [float(t) for t in np.atleast_1d(np.asarray(thresholds_min, dtype=float))]
    if not vals or any(not (t > 0) or math.isinf(t) for t in vals):
        raise BadValueError(
            f"thresholds_min must be finite positive minutes, e.g. (5, 10, 15); got "
            f"{thresholds_min!r}"
        )
    return sorted(set(vals))


def _label(df: pd.DataFrame, engine: str) -> pd.DataFrame:
    df["engine"] = engine
    df.attrs["engine"] = engine
    return df


def _empty_matrix(engine: str) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "from_id": pd.Series([], dtype=object),
            "to_id": pd.Series([], dtype=object),
            "travel_time_min": pd.Series([], dtype=float),
        }
    )
    return _label(df, engine)


def _crs_equal(a: Any, b: str) -> bool:
    from pyproj import CRS

    try:
        return bool(CRS.from_user_input(a).equals(CRS.from_user_input(b)))
    except Exception:  # an unparsable CRS string is not the working CRS
        return False


def _coincident_pairs(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Index pairs (i, j) with a[i] == b[j] exactly."""
    da = pd.DataFrame({"x": a[:, 0], "y": a[:, 1], "i": np.arange(len(a))})
    db = pd.DataFrame({"x": b[:, 0], "y": b[:, 1], "j": np.arange(len(b))})
    m = da.merge(db, on=["x", "y"])
    return m["i"].to_numpy(np.int64), m["j"].to_numpy(np.int64)


class Engine(Protocol):
    """The travel-time engine protocol (implemented by every registered engine).

    Attributes
    ----------
    name : str
        Label written in the ``engine`` columns (``"crow-fly"``, ``"road-network"``).
    """

    name: str

    def covers(self, points: gpd.GeoDataFrame) -> npt.NDArray[np.bool_]:
        """Mask of the points this engine can time (e.g. near enough to its road network)."""
        ...

    def nearest(self, origins: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame) -> pd.DataFrame:
        """``nearest_id, travel_time_min, engine`` per origin (index = origin ids)."""
        ...

    def matrix(
        self, origins: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, *, cutoff_min: float
    ) -> pd.DataFrame:
        """Long ``from_id, to_id, travel_time_min, engine`` table within ``cutoff_min``."""
        ...

    def isochrones(
        self,
        facilities: gpd.GeoDataFrame,
        *,
        thresholds_min: Sequence[float] | float,
        dissolve: bool = False,
    ) -> gpd.GeoDataFrame:
        """Polygons reached within each threshold (one per threshold with ``dissolve``)."""
        ...


def reach_population(
    engine: Engine,
    facilities: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    thresholds_min: Sequence[float] | float,
    pop_col: str = "pop",
) -> pd.DataFrame:
    """Population at points from which each facility is reachable within each threshold.

    People are counted at population points (e.g. 1 km grid-cell centres) through the
    travel-time table, not by overlaying isochrone polygons, which over-covers
    (``methods.md``).

    Parameters
    ----------
    engine
        Any :class:`Engine`.
    facilities
        Facility points (ids in the index).
    points
        Population points (ids in the index) with a numeric ``pop_col`` column.
    thresholds_min
        Thresholds in minutes.
    pop_col
        Population column.

    Returns
    -------
    DataFrame
        ``facility_id``, ``threshold_min``, ``pop_reached``, ``n_points``, ``engine``: one
        row per facility and threshold (zeros included), ordered by facility then threshold.
    """
    eng = engine
    thr = _check_thresholds(thresholds_min)
    if pop_col not in points.columns:
        raise MissingColumnError(
            f"population points have no {pop_col!r} column (columns: {list(points.columns)}); "
            "pass pop_col="
        )
    pop = pd.to_numeric(points[pop_col], errors="coerce")
    if pop.isna().any() or (pop < 0).any():
        bad = points[pop_col][pop.isna() | (pop < 0)].iloc[0]
        raise BadValueError(f"population column {pop_col!r} must be numbers >= 0; found {bad!s}")
    mat = eng.matrix(points, facilities, cutoff_min=max(thr))
    mat = mat.assign(pop=pop.reindex(mat["from_id"]).to_numpy())
    rows = []
    fids = facilities.index
    for t in thr:
        sub = mat[mat["travel_time_min"] <= t]
        g = sub.groupby("to_id", sort=False)["pop"].agg(["sum", "size"])
        g = g.reindex(fids, fill_value=0)
        rows.append(
            pd.DataFrame(
                {
                    "facility_id": fids.to_numpy(),
                    "threshold_min": t,
                    "pop_reached": g["sum"].to_numpy(dtype=float),
                    "n_points": g["size"].to_numpy(dtype=np.int64),
                    "order": np.arange(len(fids)),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True).sort_values(["order", "threshold_min"])
    out = out.drop(columns="order").reset_index(drop=True)
    return _label(out, eng.name)
