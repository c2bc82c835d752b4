"""The road-network engine: car times on a :class:`accessmap.network.graph.RoadNetwork`.

:class:`NetworkEngine` (``name = "road-network"``) implements the
:class:`~accessmap.traveltime.base.Engine` protocol with the numba kernels of
:mod:`accessmap.routing.kernels`.

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

May import: :mod:`accessmap.config`, :mod:`accessmap.errors`, :mod:`accessmap.network`,
:mod:`accessmap.routing`, :mod:`accessmap.parallel`, :mod:`accessmap.traveltime.base`,
:mod:`accessmap.traveltime.polygons`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from accessmap.config import WORKING_CRS
from accessmap.errors import (
    BadValueError,
    CRSError,
    EmptyLayerError,
)
from accessmap.network.store import ensure_network_file
from accessmap.parallel import DEFAULT_BLOCK_SIZE, connect, distributed_bounded_table
from accessmap.routing.kernels import bounded_dijkstra, multi_source_dijkstra, reverse_csr
from accessmap.traveltime.base import (
    _check_cutoff,
    _check_points,
    _check_thresholds,
    _crs_equal,
    _empty_matrix,
    _label,
    _warn,
    reach_population,
)
from accessmap.traveltime.polygons import reached_network_polygon

if TYPE_CHECKING:
    from accessmap.network.graph import RoadNetwork

__all__ = ["ACCESS_SPEED_KMH", "ISOCHRONE_BUFFER_M", "MAX_SNAP_M", "NetworkEngine"]

log = logging.getLogger(__name__)



#: Default access speed between a point and its snapped node (km/h). Assumption (see the
#: module docstring).
ACCESS_SPEED_KMH = 15.0


#: Default maximum snapping distance (m). Assumption (see the module docstring).
MAX_SNAP_M = 1000.0


#: Default roadside band drawn around reached streets in network isochrones (m). A
#: cartographic choice (about one house plot either side of the street), not a measurement.
ISOCHRONE_BUFFER_M = 150.0


class NetworkLike(Protocol):
    """The parts of :class:`accessmap.network.graph.RoadNetwork` the engine needs."""

    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int32]
    travel_time_min: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]


class NetworkEngine:
    """Car travel times on a road network (snapping, access legs, numba Dijkstra).

    Parameters
    ----------
    network
        A :class:`accessmap.network.graph.RoadNetwork` (CSR arrays in EPSG:2154).
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
        sources (:func:`accessmap.parallel.distributed_bounded_table`); the workers read
        the compiled graph from ``network_path``. Results are identical to the in-process
        searches. ``None`` (default) keeps everything in this process. :meth:`nearest`
        always runs here (one multi-source pass; ``docs/scaling.md``).
    network_path
        Compiled graph file the workers read (default: the network cache file,
        :func:`accessmap.parallel.ensure_network_file`). Must be readable at the same
        path on every worker.
    block_size
        Sources per Dask task (default: ``ceil(sources / (4 x worker threads))``, at most
        256, so that small jobs still spread over every worker).

    Examples
    --------
    >>> from accessmap.network.graph import RoadNetwork
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

        Both paths run :func:`accessmap.routing.kernels.bounded_dijkstra` on the same arrays (the
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
    def covers(self, points: gpd.GeoDataFrame) -> npt.NDArray[np.bool_]:
        """Mask of the points within ``max_snap_m`` of a network node (the ones routed)."""
        if len(points) == 0:
            return np.zeros(0, dtype=bool)
        d, _ = self._tree.query(np.column_stack([points.geometry.x, points.geometry.y]))
        return np.asarray(d <= self.max_snap_m)

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
        """Isochrone polygons built from the reached network (:mod:`accessmap.traveltime.polygons`).

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
        return reach_population(
            self, facilities, points, thresholds_min=thresholds_min, pop_col=pop_col
        )
