"""Travel-time engines: nearest facility, bounded travel-time table, isochrones.

Two engines share one interface (``docs/ARCHITECTURE.md``); origins and facilities are
GeoDataFrames of points in EPSG:2154 whose **index holds the ids** (unique):

* :class:`NetworkEngine` (``name = "road-network"``): car times on a
  :class:`accessmap.network.RoadNetwork` with the numba kernels of :mod:`accessmap.routing`;
* :class:`CrowFlyEngine` (``name = "crow-fly"``): straight-line distance times a detour
  factor at an assumed speed, for areas without a road file.

Every output is labelled with the engine that produced it: an ``engine`` column and
``DataFrame.attrs["engine"]``.

Direction. Times are patient -> practice (``methods.md``). ``nearest`` runs ONE multi-source
Dijkstra from the facilities on the *reversed* graph, so the value read at an origin's node
is the forward time from that node to its nearest facility. ``matrix`` runs bounded searches
from whichever side has fewer distinct nodes: origins on the forward graph, or facilities on
the reversed graph; both give the same forward times.

Snapping and access legs. Each point is snapped to its nearest network node (scipy
``cKDTree`` on the node coordinates; the snap distance is kept). The straight-line walk/drive
between the point and its node is counted at ``access_speed_kmh`` (default 15 km/h, an
assumption: a slow mix of walking to the car, parking and driving on unmapped private
tracks; the choice only matters for points far from any road) at both ends of every trip.
Points farther than ``max_snap_m`` (default 1,000 m, an assumption: about 4 minutes at
15 km/h, beyond which the network clearly does not cover the point) are not routed: their
results are NaN and a :class:`TravelTimeWarning` counts them.

Unreached origins (no path on the network, e.g. a point snapped to a part of a network
that is not strongly connected) and the case where every facility is unreachable give
explicit NaN with a warning counting the rows, never a silent number.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

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
    UnknownProfileError,
)
from accessmap.routing import bounded_dijkstra, multi_source_dijkstra, reverse_csr

if TYPE_CHECKING:
    from accessmap.network import RoadNetwork

__all__ = [
    "CrowFlyEngine",
    "NetworkEngine",
    "TravelTimeEngine",
    "TravelTimeWarning",
    "isochrones",
    "nearest_time",
    "population_reached",
    "travel_time_matrix",
]

log = logging.getLogger(__name__)

#: Default access speed between a point and its snapped node (km/h). Assumption (see the
#: module docstring).
ACCESS_SPEED_KMH = 15.0
#: Default maximum snapping distance (m). Assumption (see the module docstring).
MAX_SNAP_M = 1000.0
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
#: Default roadside band drawn around reached streets in network isochrones (m). A
#: cartographic choice (about one house plot either side of the street), not a measurement.
ISOCHRONE_BUFFER_M = 150.0


class TravelTimeWarning(UserWarning):
    """Rows got NaN travel times (not snapped, unreached); the message counts them."""


class NetworkLike(Protocol):
    """The parts of :class:`accessmap.network.RoadNetwork` the engine needs."""

    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int32]
    travel_time_min: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# road-network engine
# --------------------------------------------------------------------------------------------


class NetworkEngine:
    """Car travel times on a road network (snapping, access legs, numba Dijkstra).

    Parameters
    ----------
    network
        A :class:`accessmap.network.RoadNetwork` (CSR arrays in EPSG:2154).
    max_snap_m
        Points farther than this from every network node are not routed (NaN + warning).
        Default 1,000 m (assumption, module docstring).
    access_speed_kmh
        Speed of the access leg between a point and its node, counted at both ends.
        Default 15 km/h (assumption, module docstring).
    isochrone_buffer_m
        Roadside band drawn around reached streets in :meth:`isochrones` (default 150 m).
    n_threads
        Threads for the bounded searches (default: all cores).
    client
        A ``dask.distributed.Client`` or scheduler address: the bounded searches of
        :meth:`matrix` and :meth:`isochrones` then run on the cluster, one task per block of
        sources (:func:`accessmap.distributed.distributed_bounded_table`); the workers read
        the compiled graph from ``network_path``. Results are identical to the in-process
        searches. ``None`` (default) keeps everything in this process. :meth:`nearest`
        always runs here (one multi-source pass; ``docs/scaling.md``).
    network_path
        Compiled graph file the workers read (default: the network cache file,
        :func:`accessmap.distributed.ensure_network_file`). Must be readable at the same
        path on every worker.
    block_size
        Sources per Dask task (default: ``ceil(sources / (4 x worker threads))``, at most
        256, so that small jobs still spread over every worker).

    Examples
    --------
    >>> from accessmap.network import RoadNetwork
    >>> net = RoadNetwork.from_arrays([0, 1], [1, 0], [2.0, 2.0], x=[0.0, 1000.0],
    ...                               y=[0.0, 0.0], node_ids=[10, 11])
    >>> eng = NetworkEngine(net)
    >>> o = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0.0], [0.0]), crs=2154, index=["a"])
    >>> f = gpd.GeoDataFrame(geometry=gpd.points_from_xy([1000.0], [0.0]), crs=2154,
    ...                      index=["gp"])
    >>> eng.nearest(o, f)[["nearest_id", "travel_time_min"]].to_dict("records")
    [{'nearest_id': 'gp', 'travel_time_min': 2.0}]
    """

    name = "road-network"

    def __init__(
        self,
        network: RoadNetwork | NetworkLike,
        *,
        max_snap_m: float = MAX_SNAP_M,
        access_speed_kmh: float = ACCESS_SPEED_KMH,
        isochrone_buffer_m: float = ISOCHRONE_BUFFER_M,
        n_threads: int | None = None,
        client: Any = None,
        network_path: str | os.PathLike[str] | None = None,
        block_size: int | None = None,
    ) -> None:
        if not (float(max_snap_m) >= 0):
            raise BadValueError(f"max_snap_m must be >= 0 metres; got {max_snap_m!r}")
        if not (float(access_speed_kmh) > 0) or math.isinf(float(access_speed_kmh)):
            raise BadValueError(
                f"access_speed_kmh must be a finite speed > 0 km/h; got {access_speed_kmh!r}"
            )
        if not (float(isochrone_buffer_m) > 0):
            raise BadValueError(f"isochrone_buffer_m must be > 0 m; got {isochrone_buffer_m!r}")
        n = int(network.indptr.shape[0]) - 1
        if n < 1:
            raise EmptyLayerError("the road network has no nodes; build it from a road file")
        meta = getattr(network, "meta", {}) or {}
        net_crs = meta.get("crs", WORKING_CRS)
        if net_crs and not _crs_equal(net_crs, WORKING_CRS):
            raise CRSError(
                f"the road network is in {net_crs}, not {WORKING_CRS}: node coordinates must "
                "be projected metres; rebuild it with RoadNetwork.from_osm/from_tables"
            )
        self.network = network
        self.max_snap_m = float(max_snap_m)
        self.access_speed_kmh = float(access_speed_kmh)
        self.isochrone_buffer_m = float(isochrone_buffer_m)
        self.n_threads = n_threads
        if block_size is not None and (not isinstance(block_size, int) or block_size < 1):
            raise BadValueError(f"block_size must be a positive integer; got {block_size!r}")
        if client is not None:
            from accessmap.distributed import connect

            client = connect(client)  # an address string connects once, here
        self.client = client
        self.block_size = block_size
        self._network_path = None if network_path is None else Path(network_path)
        #: Bounded searches sent to the Dask cluster (calls, blocks), for the run metadata.
        self.remote_calls = 0
        self.remote_blocks = 0
        self._tree = cKDTree(np.column_stack([network.x, network.y]))
        self._rev: tuple[Any, Any, Any] | None = None

    # ---------------------------------------------------------------- graph views
    @property
    def _forward(self) -> tuple[Any, Any, Any]:
        net = self.network
        return net.indptr, net.indices, net.travel_time_min

    @property
    def _reverse(self) -> tuple[Any, Any, Any]:
        if self._rev is None:
            self._rev = reverse_csr(*self._forward)
        return self._rev

    @property
    def network_path(self) -> Path:
        """Compiled graph file read by the Dask workers (written once if there is none)."""
        if self._network_path is None:
            from accessmap.distributed import ensure_network_file

            self._network_path = ensure_network_file(self.network)  # type: ignore[arg-type]
        return self._network_path

    def _bounded(
        self,
        sources: npt.NDArray[np.int64],
        cutoff: float,
        target_mask: npt.NDArray[np.bool_] | None,
        *,
        reverse: bool,
        initial_cost: npt.NDArray[np.float64] | None = None,
        progress: Any = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Bounded searches from ``sources``: here, or in blocks on the Dask cluster.

        Both paths run :func:`accessmap.routing.bounded_dijkstra` on the same arrays (the
        workers map the saved graph and reverse it with the same function), and the blocks
        come back in source order, so the arrays are identical.
        """
        if self.client is None:
            graph = self._reverse if reverse else self._forward
            return bounded_dijkstra(
                *graph,
                sources,
                cutoff,
                target_mask,
                initial_cost=initial_cost,
                n_threads=self.n_threads,
                progress=progress,
            )
        from accessmap.distributed import DEFAULT_BLOCK_SIZE, distributed_bounded_table

        bs = self.block_size
        if bs is None:
            threads = max(1, sum(self.client.nthreads().values()))
            bs = max(1, min(DEFAULT_BLOCK_SIZE, math.ceil(len(sources) / (4 * threads))))
        self.remote_calls += 1
        self.remote_blocks += math.ceil(len(sources) / bs)
        return distributed_bounded_table(
            self.network_path,
            sources,
            cutoff,
            self.client,
            bs,
            reverse=reverse,
            target_mask=target_mask,
            initial_cost=initial_cost,
            progress=progress,
        )

    # ---------------------------------------------------------------- snapping
    def snap(self, points: gpd.GeoDataFrame, *, what: str = "points") -> pd.DataFrame:
        """Snap points to their nearest network node.

        Returns
        -------
        DataFrame indexed like ``points``
            ``node`` (position, -1 when beyond ``max_snap_m``), ``node_id`` (source id or
            -1), ``snap_distance_m``, ``access_min`` (``snap_distance_m`` at
            ``access_speed_kmh``; NaN when not snapped), ``snapped`` (bool).
        """
        xy = _check_points(points, what, allow_empty=True)
        if len(xy) == 0:
            d = np.empty(0)
            node = np.empty(0, dtype=np.int64)
        else:
            d, node = self._tree.query(xy)
            node = np.asarray(node, dtype=np.int64)
        ok = d <= self.max_snap_m
        node = np.where(ok, node, -1)
        ids = getattr(self.network, "node_ids", None)
        node_id = np.where(ok, ids[np.clip(node, 0, None)], -1) if ids is not None else node
        access = np.where(ok, d / (self.access_speed_kmh * 1000.0 / 60.0), np.nan)
        out = pd.DataFrame(
            {
                "node": node,
                "node_id": node_id,
                "snap_distance_m": d,
                "access_min": access,
                "snapped": ok,
            },
            index=points.index,
        )
        n_bad = int((~ok).sum())
        if n_bad:
            first = points.index[~ok][0]
            _warn(
                f"{n_bad} of {len(ok)} {what} lie farther than max_snap_m={self.max_snap_m:g} m "
                f"from the road network (e.g. {first!r} at {d[~ok][0]:.0f} m): not routed, "
                "travel times are NaN; use a road file covering them or the crow-fly engine"
            )
        return out

    # ---------------------------------------------------------------- queries
    def nearest(self, origins: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame) -> pd.DataFrame:
        """Time from every origin to its nearest facility (one multi-source pass).

        Returns
        -------
        DataFrame indexed like ``origins``
            ``nearest_id`` (facility id, None when unreached), ``travel_time_min`` (access
            legs included; NaN when not snapped or unreached), ``snap_distance_m``, ``engine``.
            Ties between facilities at exactly the same time go to the one listed first.
        """
        _check_points(facilities, "facilities")
        so = self.snap(origins, what="origins")
        sf = self.snap(facilities, what="facilities")
        fac_ok = sf["snapped"].to_numpy()
        out = pd.DataFrame(
            {
                "nearest_id": pd.Series([None] * len(so), index=so.index, dtype=object),
                "travel_time_min": np.full(len(so), np.nan),
                "snap_distance_m": so["snap_distance_m"].to_numpy(),
            },
            index=so.index,
        )
        if not fac_ok.any():
            _warn(
                f"none of the {len(sf)} facilities is within max_snap_m={self.max_snap_m:g} m "
                f"of the road network: all {len(so)} origins get NaN travel times"
            )
            return _label(out, self.name)
        if len(so) == 0:
            return _label(out, self.name)
        f_nodes = sf["node"].to_numpy()[fac_ok]
        f_ids = facilities.index.to_numpy()[fac_ok]
        dist, lab = multi_source_dijkstra(
            *self._reverse, f_nodes, initial_cost=sf["access_min"].to_numpy()[fac_ok]
        )
        o_ok = so["snapped"].to_numpy()
        o_nodes = so["node"].to_numpy()[o_ok]
        t = dist[o_nodes] + so["access_min"].to_numpy()[o_ok]
        reached = np.isfinite(t)
        tt = np.full(len(so), np.nan)
        tt[np.flatnonzero(o_ok)[reached]] = t[reached]
        nid = np.full(len(so), None, dtype=object)
        nid[np.flatnonzero(o_ok)[reached]] = f_ids[lab[o_nodes[reached]]]
        out["travel_time_min"] = tt
        out["nearest_id"] = pd.Series(nid, index=so.index, dtype=object)
        n_unreached = int((~reached).sum())
        if n_unreached:
            first = so.index[np.flatnonzero(o_ok)[~reached][0]]
            msg = (
                f"{n_unreached} of {len(so)} origins cannot reach any facility on the road "
                f"network (e.g. {first!r}): travel times are NaN"
            )
            if n_unreached == int(o_ok.sum()):
                msg += "; the facilities are all unreachable from the snapped origins"
            _warn(msg)
        return _label(out, self.name)

    def matrix(
        self,
        origins: gpd.GeoDataFrame,
        facilities: gpd.GeoDataFrame,
        *,
        cutoff_min: float,
        progress: Any = None,
    ) -> pd.DataFrame:
        """Long table of origin -> facility times within ``cutoff_min`` (access legs included).

        Bounded searches run from the side with fewer distinct snapped nodes: origins on the
        forward graph or facilities on the reversed graph.

        Returns
        -------
        DataFrame
            ``from_id``, ``to_id``, ``travel_time_min``, ``engine``; only pairs with a time
            ``<= cutoff_min``; sorted by origin order then time.
        """
        cut = _check_cutoff(cutoff_min)
        _check_points(facilities, "facilities")
        so = self.snap(origins, what="origins")
        sf = self.snap(facilities, what="facilities")
        so = so[so["snapped"]]
        sf = sf[sf["snapped"]]
        if len(so) == 0 or len(sf) == 0:
            return _empty_matrix(self.name)
        o_nodes = np.unique(so["node"].to_numpy())
        f_nodes = np.unique(sf["node"].to_numpy())
        slack = float(so["access_min"].min() + sf["access_min"].min())
        net_cut = max(cut - slack, 0.0)
        n = int(self.network.indptr.shape[0]) - 1
        from_origins = len(o_nodes) <= len(f_nodes)
        if from_origins:
            src_nodes, tgt_nodes = o_nodes, f_nodes
        else:
            src_nodes, tgt_nodes = f_nodes, o_nodes
        mask = np.zeros(n, dtype=bool)
        mask[tgt_nodes] = True
        si, node, d = self._bounded(
            src_nodes, net_cut, mask, reverse=not from_origins, progress=progress
        )
        pairs = pd.DataFrame({"s": src_nodes[si], "t": node, "d": d})
        if from_origins:
            pairs = pairs.rename(columns={"s": "o_node", "t": "f_node"})
        else:
            pairs = pairs.rename(columns={"s": "f_node", "t": "o_node"})
        o_tab = pd.DataFrame(
            {
                "o_node": so["node"].to_numpy(),
                "from_id": so.index.to_numpy(),
                "a_o": so["access_min"].to_numpy(),
                "o_rank": np.arange(len(so)),
            }
        )
        f_tab = pd.DataFrame(
            {
                "f_node": sf["node"].to_numpy(),
                "to_id": sf.index.to_numpy(),
                "a_f": sf["access_min"].to_numpy(),
            }
        )
        m = pairs.merge(o_tab, on="o_node").merge(f_tab, on="f_node")
        m["travel_time_min"] = m["a_o"] + m["d"] + m["a_f"]
        m = m[m["travel_time_min"] <= cut]
        m = m.sort_values(["o_rank", "travel_time_min"], kind="stable")
        out = m[["from_id", "to_id", "travel_time_min"]].reset_index(drop=True)
        return _label(out, self.name)

    def isochrones(
        self,
        facilities: gpd.GeoDataFrame,
        *,
        thresholds_min: Sequence[float] | float,
        dissolve: bool = False,
    ) -> gpd.GeoDataFrame:
        """Isochrone polygons built from the reached network (:mod:`accessmap.isochrone_polygons`).

        For each facility and threshold ``t``: the area from which the facility can be
        reached within ``t`` minutes by car (patient -> practice), access leg of the facility
        included, drawn as the reached streets (partial edges included) plus a roadside band
        of ``isochrone_buffer_m``.

        Parameters
        ----------
        facilities : GeoDataFrame
            Points, index = facility ids.
        thresholds_min : float or sequence of float
            Thresholds in minutes.
        dissolve : bool, optional
            One polygon per threshold for all the facilities together (the area within ``t``
            of the *nearest* one), from a single multi-source pass instead of one search and
            one polygon per facility: the same area as the union of the per-facility
            polygons (the reached part of an edge only depends on the smallest time at its
            start node), at the cost of one nearest pass. ``facility_id`` is ``"all"``.

        Returns
        -------
        GeoDataFrame (EPSG:2154)
            ``facility_id``, ``threshold_min``, ``method`` (``"reached-network"``),
            ``engine``, ``geometry``; one row per snapped facility and threshold, ordered by
            facility then threshold. Unsnapped facilities are skipped (warning).
        """
        from accessmap.isochrone_polygons import reached_network_polygon

        thr = _check_thresholds(thresholds_min)
        sf = self.snap(facilities, what="facilities")
        sf = sf[sf["snapped"]]
        rows: list[dict[str, Any]] = []
        if len(sf):
            rip, rix, rw = self._reverse
            n = rip.shape[0] - 1
            tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(rip))
        if len(sf) and dissolve:
            dist, _ = multi_source_dijkstra(
                rip, rix, rw, sf["node"].to_numpy(), initial_cost=sf["access_min"].to_numpy(),
                cutoff=max(thr),
            )  # fmt: skip
            for t in thr:
                geom = reached_network_polygon(
                    dist, t, edge_tail=tails, edge_head=rix, edge_time_min=rw,
                    x=self.network.x, y=self.network.y, buffer_m=self.isochrone_buffer_m,
                )  # fmt: skip
                rows.append({"facility_id": "all", "threshold_min": t, "geometry": geom})
        elif len(sf):
            si, node, d = self._bounded(
                sf["node"].to_numpy(),
                max(thr),
                None,
                reverse=True,
                initial_cost=sf["access_min"].to_numpy(),
            )
            bounds = np.searchsorted(si, np.arange(len(sf) + 1))
            dist = np.full(n, np.inf)
            for k, fid in enumerate(sf.index):
                sl = slice(bounds[k], bounds[k + 1])
                dist[node[sl]] = d[sl]
                for t in thr:
                    geom = reached_network_polygon(
                        dist,
                        t,
                        edge_tail=tails,
                        edge_head=rix,
                        edge_time_min=rw,
                        x=self.network.x,
                        y=self.network.y,
                        buffer_m=self.isochrone_buffer_m,
                    )
                    rows.append({"facility_id": fid, "threshold_min": t, "geometry": geom})
                dist[node[sl]] = np.inf
        gdf = gpd.GeoDataFrame(
            pd.DataFrame(rows, columns=["facility_id", "threshold_min", "geometry"]),
            geometry="geometry",
            crs=WORKING_CRS,
        )
        gdf.insert(2, "method", "reached-network")
        return _label(gdf, self.name)

    def population_reached(
        self,
        facilities: gpd.GeoDataFrame,
        points: gpd.GeoDataFrame,
        *,
        thresholds_min: Sequence[float] | float,
        pop_col: str = "pop",
    ) -> pd.DataFrame:
        """People at population points within each threshold of each facility.

        See :func:`population_reached`.
        """
        return population_reached(
            facilities, points, thresholds_min=thresholds_min, pop_col=pop_col, engine=self
        )


def _crs_equal(a: Any, b: str) -> bool:
    from pyproj import CRS

    try:
        return bool(CRS.from_user_input(a).equals(CRS.from_user_input(b)))
    except Exception:  # an unparsable CRS string is not the working CRS
        return False


# --------------------------------------------------------------------------------------------
# crow-fly engine
# --------------------------------------------------------------------------------------------


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
        return population_reached(
            facilities, points, thresholds_min=thresholds_min, pop_col=pop_col, engine=self
        )


def _coincident_pairs(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Index pairs (i, j) with a[i] == b[j] exactly."""
    da = pd.DataFrame({"x": a[:, 0], "y": a[:, 1], "i": np.arange(len(a))})
    db = pd.DataFrame({"x": b[:, 0], "y": b[:, 1], "j": np.arange(len(b))})
    m = da.merge(db, on=["x", "y"])
    return m["i"].to_numpy(np.int64), m["j"].to_numpy(np.int64)


# --------------------------------------------------------------------------------------------
# free functions
# --------------------------------------------------------------------------------------------

TravelTimeEngine = NetworkEngine | CrowFlyEngine


def _engine(engine: Any) -> TravelTimeEngine:
    if engine is None:
        return CrowFlyEngine()
    if isinstance(engine, NetworkEngine | CrowFlyEngine):
        return engine
    if engine == "crow-fly":
        return CrowFlyEngine()
    raise UnknownProfileError(
        f"unknown engine {engine!r}; pass a NetworkEngine(network), a CrowFlyEngine() or 'crow-fly'"
    )


def nearest_time(
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    engine: TravelTimeEngine | str | None = None,
) -> pd.DataFrame:
    """Nearest-facility time per origin with ``engine`` (default: a crow-fly engine)."""
    return _engine(engine).nearest(origins, facilities)


def travel_time_matrix(
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    cutoff_min: float,
    engine: TravelTimeEngine | str | None = None,
) -> pd.DataFrame:
    """Long ``from_id, to_id, travel_time_min`` table within ``cutoff_min``."""
    return _engine(engine).matrix(origins, facilities, cutoff_min=cutoff_min)


def isochrones(
    facilities: gpd.GeoDataFrame,
    *,
    thresholds_min: Sequence[float] | float,
    engine: TravelTimeEngine | str | None = None,
    dissolve: bool = False,
) -> gpd.GeoDataFrame:
    """Isochrone polygons per facility and threshold (one per threshold with ``dissolve``)."""
    return _engine(engine).isochrones(facilities, thresholds_min=thresholds_min, dissolve=dissolve)


def population_reached(
    facilities: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    thresholds_min: Sequence[float] | float,
    pop_col: str = "pop",
    engine: TravelTimeEngine | str | None = None,
) -> pd.DataFrame:
    """Population at points from which each facility is reachable within each threshold.

    People are counted at population points (e.g. 1 km grid-cell centres) through the
    travel-time table, not by overlaying isochrone polygons, which over-covers
    (``methods.md``).

    Parameters
    ----------
    facilities
        Facility points (ids in the index).
    points
        Population points (ids in the index) with a numeric ``pop_col`` column.
    thresholds_min
        Thresholds in minutes.
    pop_col
        Population column.
    engine
        Engine to use (default crow-fly).

    Returns
    -------
    DataFrame
        ``facility_id``, ``threshold_min``, ``pop_reached``, ``n_points``, ``engine``: one
        row per facility and threshold (zeros included), ordered by facility then threshold.
    """
    eng = _engine(engine)
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
