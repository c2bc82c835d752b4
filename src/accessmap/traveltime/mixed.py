"""Two engines as one: a primary engine where it covers, a fallback elsewhere.

:class:`MixedEngine` is what ``accessmap score`` and ``accessmap times`` use: the road
network (primary) times the points it covers (within its snapping distance) and the crow-fly
engine (fallback) times the rest. A covered origin reaches the facilities the primary engine
covers by road **and** the facilities outside it with the fallback, the quicker time
winning, so that a commune at the edge of a road file does not lose the GPs just beyond it.
Every row says which engine timed it (``engine`` column).

The **same-commune rule** lives here too, once: the Insee *Metric* distancier and the DREES
APL count the time between two points of the same commune as 0 minutes (``methods.md``),
so with ``same_commune=True`` an origin commune that holds a facility gets 0 min to it in
:meth:`MixedEngine.nearest` and :meth:`MixedEngine.matrix` (origins indexed by their INSEE
code, facilities with an ``insee`` column).

May import: :mod:`accessmap.config`, :mod:`accessmap.errors`, :mod:`accessmap.traveltime.base`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from accessmap.config import WORKING_CRS
from accessmap.traveltime.base import Engine

__all__ = [
    "FALLBACK_BEYOND_SNAP",
    "FALLBACK_NO_FACILITY",
    "FALLBACK_OFF_NETWORK",
    "FALLBACK_UNREACHED",
    "MixedEngine",
    "same_commune_matrix",
    "same_commune_nearest",
]

#: ``fallback_reason`` of an origin the primary engine does not cover (e.g. farther than the
#: road engine's ``max_snap_m`` from every node).
FALLBACK_BEYOND_SNAP = "beyond snap distance"
#: ``fallback_reason`` of a covered origin from which the primary engine reaches no facility.
FALLBACK_UNREACHED = "unreachable on the network"
#: ``fallback_reason`` of a covered origin whose quickest facility lies outside the primary
#: engine's reach (timed by the fallback engine).
FALLBACK_OFF_NETWORK = "nearest facility off the network"
#: ``fallback_reason`` of a covered origin when the primary engine covers no facility.
FALLBACK_NO_FACILITY = "no facility on the network"

_COLS = ["from_id", "to_id", "travel_time_min"]


def same_commune_nearest(
    near: pd.DataFrame, origins: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Apply the same-commune rule to a nearest table: 0 min where the commune has a facility.

    ``origins`` are indexed by INSEE code; the facility kept is the first of the commune in
    ``facilities`` order.
    """
    own = facilities.reset_index(drop=True).drop_duplicates("insee").set_index("insee")
    own_id = (
        own["supply_id"]
        if "supply_id" in own.columns
        else pd.Series(facilities.index[~facilities["insee"].duplicated()], index=own.index)
    )
    out = near.copy()
    has = out.index.isin(own_id.index)
    out.loc[has, "travel_time_min"] = 0.0
    out.loc[has, "nearest_id"] = own_id.reindex(out.index[has]).to_numpy()
    return out


def same_commune_matrix(
    mat: pd.DataFrame, origins: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Apply the same-commune rule to a long table: pairs in one commune at 0 min, added if
    the engine left them out (the road engine would otherwise add access legs between two
    points of the same commune)."""
    fac = facilities.reset_index(drop=True)
    ids = fac["supply_id"] if "supply_id" in fac.columns else pd.Series(facilities.index)
    fac = pd.DataFrame({"insee": fac["insee"].to_numpy(), "to_id": ids.to_numpy()})
    fac = fac[fac["insee"].isin(origins.index)]
    same = pd.DataFrame(
        {"from_id": fac["insee"].to_numpy(), "to_id": fac["to_id"].to_numpy(),
         "travel_time_min": 0.0}
    )  # fmt: skip
    if len(mat):
        key = mat["from_id"].astype(str) + "|" + mat["to_id"].astype(str)
        drop = key.isin(same["from_id"] + "|" + same["to_id"])
        mat = mat[~drop]
    return pd.concat([mat, same], ignore_index=True)


class MixedEngine:
    """A primary engine where it covers, a fallback engine for the other points.

    Parameters
    ----------
    primary : Engine or None
        Usually a :class:`~accessmap.traveltime.network.NetworkEngine`; ``None`` makes the
        fallback time everything.
    fallback : Engine or None
        Usually a :class:`~accessmap.traveltime.crowfly.CrowFlyEngine`; ``None`` (the CLI's
        ``--engine road-network``) leaves uncovered points unrouted (NaN).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> from accessmap.traveltime.crowfly import CrowFlyEngine
    >>> pts = gpd.GeoDataFrame(geometry=[Point(0, 0)], index=["o"], crs="EPSG:2154")
    >>> fac = gpd.GeoDataFrame(geometry=[Point(1000, 0)], index=["f"], crs="EPSG:2154")
    >>> MixedEngine(None, CrowFlyEngine()).nearest(pts, fac)["engine"].tolist()
    ['crow-fly']
    """

    name = "mixed"

    def __init__(self, primary: Engine | None, fallback: Engine | None) -> None:
        if primary is None and fallback is None:
            raise ValueError("MixedEngine needs a primary or a fallback engine")
        self.primary = primary
        self.fallback = fallback

    @property
    def names(self) -> list[str]:
        """Names of the engines in use (fallback first, as the run metadata lists them)."""
        out = [] if self.fallback is None else [self.fallback.name]
        if self.primary is not None:
            out.append(self.primary.name)
        return out

    def covers(self, points: gpd.GeoDataFrame) -> npt.NDArray[np.bool_]:
        """Mask of the points the primary engine times (all False without a primary)."""
        if self.primary is None or len(points) == 0:
            return np.zeros(len(points), dtype=bool)
        return np.asarray(self.primary.covers(points), dtype=bool)

    def nearest(
        self,
        origins: gpd.GeoDataFrame,
        facilities: gpd.GeoDataFrame,
        *,
        same_commune: bool = False,
    ) -> pd.DataFrame:
        """``nearest_id, travel_time_min, engine`` per origin (see the class docstring).

        With a primary engine, ``fallback_reason`` says why a row is not timed by it: ``None``
        (timed by the primary), :data:`FALLBACK_BEYOND_SNAP`, :data:`FALLBACK_UNREACHED`,
        :data:`FALLBACK_OFF_NETWORK` or :data:`FALLBACK_NO_FACILITY`.
        """
        if len(facilities) == 0:
            out = pd.DataFrame(
                {"nearest_id": pd.Series([None] * len(origins), dtype=object),
                 "travel_time_min": np.nan}, index=origins.index)  # fmt: skip
            out["engine"] = "none"
            return out
        base = self.fallback if self.fallback is not None else self.primary
        assert base is not None
        res = base.nearest(origins, facilities)[["nearest_id", "travel_time_min"]].copy()
        res["engine"] = base.name
        prim = self.primary
        if prim is not None:
            o_cov = self.covers(origins)
            f_cov = self.covers(facilities)
            reason = np.where(o_cov, FALLBACK_NO_FACILITY, FALLBACK_BEYOND_SNAP).astype(object)
            res["fallback_reason"] = reason
            if o_cov.any() and f_cov.any():
                # A covered origin reaches covered facilities with the primary engine and the
                # others (outside its reach) with the fallback; the quicker wins.
                net = prim.nearest(origins[o_cov], facilities[f_cov])
                outside = (
                    self.fallback.nearest(origins[o_cov], facilities[~f_cov])
                    if (~f_cov).any() and self.fallback is not None
                    else None
                )
                reached = net["travel_time_min"].notna()
                beats = reached.copy()
                if outside is not None:
                    beats &= ~(outside["travel_time_min"] < net["travel_time_min"])
                idx = net.index[beats.to_numpy()]
                res.loc[idx, "nearest_id"] = net.loc[idx, "nearest_id"]
                res.loc[idx, "travel_time_min"] = net.loc[idx, "travel_time_min"]
                res.loc[idx, "engine"] = prim.name
                res.loc[idx, "fallback_reason"] = None
                lost = net.index[(reached & ~beats).to_numpy()]
                res.loc[lost, "fallback_reason"] = FALLBACK_OFF_NETWORK
                res.loc[net.index[~reached.to_numpy()], "fallback_reason"] = FALLBACK_UNREACHED
                if outside is not None:
                    rest = net.index[~beats.to_numpy()]
                    res.loc[rest, "nearest_id"] = outside.loc[rest, "nearest_id"]
                    res.loc[rest, "travel_time_min"] = outside.loc[rest, "travel_time_min"]
            if self.fallback is None:
                res.loc[res["engine"] != prim.name, ["travel_time_min"]] = np.nan
        if same_commune:
            res = same_commune_nearest(res, origins, facilities)
        return res

    def matrix(
        self,
        origins: gpd.GeoDataFrame,
        facilities: gpd.GeoDataFrame,
        *,
        cutoff_min: float,
        same_commune: bool = False,
    ) -> pd.DataFrame:
        """Long ``from_id, to_id, travel_time_min`` table within ``cutoff_min``."""
        if len(facilities) == 0 or len(origins) == 0:
            mat = pd.DataFrame(columns=_COLS)
        else:
            o_cov = self.covers(origins)
            parts = []
            if self.primary is not None and o_cov.any():
                f_cov = self.covers(facilities)
                if f_cov.any():
                    parts.append(
                        self.primary.matrix(
                            origins[o_cov], facilities[f_cov], cutoff_min=cutoff_min
                        )[_COLS]
                    )
                if (~f_cov).any() and self.fallback is not None:
                    # covered origins to facilities outside the primary's reach: fallback
                    parts.append(
                        self.fallback.matrix(
                            origins[o_cov], facilities[~f_cov], cutoff_min=cutoff_min
                        )[_COLS]
                    )
            rest = origins[~o_cov]
            if len(rest) and self.fallback is not None:
                parts.append(self.fallback.matrix(rest, facilities, cutoff_min=cutoff_min)[_COLS])
            mat = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_COLS)
        if same_commune:
            mat = same_commune_matrix(mat, origins, facilities)
        return mat

    def isochrones(
        self,
        facilities: gpd.GeoDataFrame,
        *,
        thresholds_min: Sequence[float] | float,
        dissolve: bool = False,
    ) -> gpd.GeoDataFrame:
        """Isochrones of each facility from the engine that times it (``engine`` column)."""
        cov = self.covers(facilities)
        groups: list[tuple[Any, npt.NDArray[np.bool_]]] = []
        if self.primary is not None:
            groups.append((self.primary, cov))
        if self.fallback is not None:
            groups.append((self.fallback, ~cov))
        parts = []
        for eng, mask in groups:
            if not mask.any():
                continue
            iso = eng.isochrones(facilities[mask], thresholds_min=thresholds_min,
                                 dissolve=dissolve)  # fmt: skip
            if len(iso):
                iso = iso.copy()
                iso["engine"] = eng.name
                parts.append(iso)
        if not parts:
            return gpd.GeoDataFrame({"threshold_min": [], "engine": []}, geometry=[],
                                    crs=WORKING_CRS)  # fmt: skip
        return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                                crs=WORKING_CRS)  # fmt: skip
