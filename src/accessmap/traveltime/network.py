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
``cKDTree`` on the node coordinates; the snap distance is kept). The straight distance
between the point and its node, times ``access_detour``, is driven at ``access_speed_kmh`` at
both ends of every trip. Points farther than ``max_snap_m`` from every node are not routed:
their results are NaN and a :class:`TravelTimeWarning` counts them (the mixed engine times
them crow-fly instead, :mod:`accessmap.traveltime.mixed`).

Where the three values come from:

* **Travel Mapping networks** (``network.meta["format"] == "travelmapping"``): from the
  network's speed model (:func:`accessmap.network.speedmodel.model_from_network`; defaults of
  :data:`~accessmap.network.speedmodel.DEFAULT_MODEL`: speed fitted on the Isère OSRM
  times, detour 1.3 assumed from Ballou et al. 2002, 10 km assumed), and so is the fitted
  **terminal time** ``access_terminal_min`` added to each access leg (the village streets
  between the point and the numbered road). Such a network has no communal streets, so the
  access leg is a real part of most trips; the engine also adds the model's **direct leg**:
  two snapped points may be joined straight (two terminal times + distance x detour at the
  access speed) when that is quicker than going through the network (neighbouring villages),
  exactly as :func:`accessmap.network.speedmodel.od_times` that the model was calibrated with.
* **OSM, table and GraphML networks**: 15 km/h, detour 1, 1,000 m and no direct leg
  (assumptions: a slow mix of walking to the car, parking and driving on unmapped private
  tracks; the choice only matters for points far from any road; 1 km is about 4 minutes at
  15 km/h, beyond which a detailed network clearly does not cover the point).

Any of them can be set explicitly.

Isochrones. On detailed networks the band is the reached streets plus a roadside band
(``method="reached-network"``, :mod:`accessmap.traveltime.polygons`). On a Travel Mapping
network most places are reached through an access leg, so a street band would miss them:
``method="access-surface"`` draws, on a grid of ``isochrone_cell_m`` cells, the set of
points whose own trip time (snap to the nearest node, access leg, network, facility access
leg; or the direct leg) is within the threshold. It is the same time :meth:`nearest` gives
for a point at the cell centre, so bands and point times agree to within a cell.

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
from accessmap.network.speedmodel import TravelMappingSpeedModel, model_from_network
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

__all__ = [
    "ACCESS_SPEED_KMH",
    "ISOCHRONE_BUFFER_M",
    "ISOCHRONE_CELL_M",
    "MAX_SNAP_M",
    "NetworkEngine",
]

log = logging.getLogger(__name__)


#: Default access speed between a point and its snapped node (km/h). Assumption (see the
#: module docstring).
ACCESS_SPEED_KMH = 15.0


#: Default maximum snapping distance (m). Assumption (see the module docstring).
MAX_SNAP_M = 1000.0


#: Default roadside band drawn around reached streets in network isochrones (m). A
#: cartographic choice (about one house plot either side of the street), not a measurement.
ISOCHRONE_BUFFER_M = 150.0


#: Default grid cell of ``access-surface`` isochrones (m). A cartographic choice (a quarter of
#: the 1 km population cell), not a measurement; coarsened on very large areas so that the
#: grid stays under :data:`_SURFACE_MAX_CELLS` cells.
ISOCHRONE_CELL_M = 250.0

#: Largest ``access-surface`` grid (cells) before the cell is coarsened (memory: ~40 bytes a
#: cell while it is computed).
_SURFACE_MAX_CELLS = 6_000_000


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
        Default: the Travel Mapping speed model's (10 km), else 1,000 m (module docstring).
    access_speed_kmh
        Speed of the access leg between a point and its node, counted at both ends.
        Default: the speed model's (fitted), else 15 km/h (module docstring).
    access_detour
        Road distance over straight distance of the access leg (>= 1). Default: the speed
        model's (1.3, assumed), else 1.
    access_terminal_min
        Minutes added to every access leg (twice to a direct leg), >= 0. Default: the speed
        model's ``access_terminal_min`` (fitted), else 0.
    direct_leg
        Also join two snapped points straight at the access speed when quicker than the
        network. Default: True on Travel Mapping networks (as the calibration), else False.
    isochrone_buffer_m
        Roadside band drawn around reached streets in :meth:`isochrones` (default 150 m).
    isochrone_method
        ``"reached-network"``, ``"access-surface"`` or ``"auto"`` (default: access surface on
        Travel Mapping networks, reached network otherwise); see the module docstring.
    isochrone_cell_m
        Grid cell of the access surface (default 250 m, :data:`ISOCHRONE_CELL_M`).
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
        max_snap_m: float | None = None,
        access_speed_kmh: float | None = None,
        access_detour: float | None = None,
        direct_leg: bool | None = None,
        access_terminal_min: float | None = None,
        isochrone_buffer_m: float = ISOCHRONE_BUFFER_M,
        isochrone_method: str = "auto",
        isochrone_cell_m: float = ISOCHRONE_CELL_M,
        n_threads: int | None = None,
        client: Any = None,
        network_path: str | os.PathLike[str] | None = None,
        block_size: int | None = None,
    ) -> None:
        model = model_from_network(network)
        #: Speed model of a Travel Mapping network (``None`` for OSM/table/GraphML networks).
        self.model: TravelMappingSpeedModel | None = model
        if max_snap_m is None:
            max_snap_m = model.max_snap_m if model is not None else MAX_SNAP_M
        if access_speed_kmh is None:
            access_speed_kmh = model.access_speed_kmh if model is not None else ACCESS_SPEED_KMH
        if access_detour is None:
            access_detour = model.access_detour if model is not None else 1.0
        if direct_leg is None:
            direct_leg = model is not None
        if access_terminal_min is None:
            access_terminal_min = model.access_terminal_min if model is not None else 0.0
        if not (float(access_terminal_min) >= 0) or math.isinf(float(access_terminal_min)):
            raise BadValueError(
                f"access_terminal_min must be a finite number of minutes >= 0; got "
                f"{access_terminal_min!r}"
            )
        if isochrone_method == "auto":
            isochrone_method = "access-surface" if model is not None else "reached-network"
        if isochrone_method not in ("reached-network", "access-surface"):
            raise BadValueError(
                f"isochrone_method must be 'auto', 'reached-network' or 'access-surface'; got "
                f"{isochrone_method!r}"
            )
        if not (float(access_detour) >= 1.0) or math.isinf(float(access_detour)):
            raise BadValueError(
                f"access_detour must be a finite factor >= 1; got {access_detour!r}"
            )
        if not (float(isochrone_cell_m) > 0):
            raise BadValueError(f"isochrone_cell_m must be > 0 m; got {isochrone_cell_m!r}")
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
        self.access_detour = float(access_detour)
        self.access_terminal_min = float(access_terminal_min)
        self.direct_leg = bool(direct_leg)
        self.isochrone_buffer_m = float(isochrone_buffer_m)
        self.isochrone_method = isochrone_method
        self.isochrone_cell_m = float(isochrone_cell_m)
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
    @property
    def _access_m_per_min(self) -> float:
        """Straight metres covered per minute of access leg (speed / detour)."""
        return self.access_speed_kmh * 1000.0 / 60.0 / self.access_detour

    def access_minutes(self, distance_m: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Access-leg minutes for straight distances: ``access_terminal_min`` +
        ``d x access_detour`` at the access speed.

        The same formula as :func:`accessmap.network.speedmodel.access_minutes`.
        """
        d = np.asarray(distance_m, dtype=np.float64)
        return self.access_terminal_min + d / self._access_m_per_min

    def direct_minutes(self, distance_m: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Direct-leg minutes: ``2 x access_terminal_min`` + ``d x access_detour`` at the
        access speed (:func:`accessmap.network.speedmodel.direct_minutes`)."""
        d = np.asarray(distance_m, dtype=np.float64)
        return 2.0 * self.access_terminal_min + d / self._access_m_per_min

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
            -1), ``snap_distance_m``, ``access_min`` (``access_terminal_min`` +
            ``snap_distance_m x access_detour`` at ``access_speed_kmh``; NaN when not
            snapped), ``snapped`` (bool).
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
        access = np.where(ok, self.access_minutes(d), np.nan)
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
            Ties between facilities at exactly the same time go to the one listed first;
            with ``direct_leg`` the direct leg wins only when strictly quicker.
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
        pick = lab[o_nodes]
        if self.direct_leg:
            # the direct leg to the closest facility (in straight distance) is the quickest
            # direct leg, since its time grows with the distance
            f_xy = np.column_stack([facilities.geometry.x, facilities.geometry.y])[fac_ok]
            o_xy = np.column_stack([origins.geometry.x, origins.geometry.y])[o_ok]
            d_dir, j_dir = cKDTree(f_xy).query(o_xy)
            t_dir = self.direct_minutes(d_dir)
            better = ~(t <= t_dir)  # also where the network leaves the origin unreached
            t = np.where(better, t_dir, t)
            pick = np.where(better, np.asarray(j_dir, dtype=np.int64), pick)
        reached = np.isfinite(t)
        tt = np.full(len(so), np.nan)
        tt[np.flatnonzero(o_ok)[reached]] = t[reached]
        nid = np.full(len(so), None, dtype=object)
        nid[np.flatnonzero(o_ok)[reached]] = f_ids[pick[reached]]
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
        m = m[m["travel_time_min"] <= cut][["from_id", "to_id", "travel_time_min", "o_rank"]]
        if self.direct_leg:
            m = self._with_direct_pairs(m, origins, facilities, so, sf, cut)
        m = m.sort_values(["o_rank", "travel_time_min"], kind="stable")
        out = m[["from_id", "to_id", "travel_time_min"]].reset_index(drop=True)
        return _label(out, self.name)

    def _with_direct_pairs(
        self,
        m: pd.DataFrame,
        origins: gpd.GeoDataFrame,
        facilities: gpd.GeoDataFrame,
        so: pd.DataFrame,
        sf: pd.DataFrame,
        cut: float,
    ) -> pd.DataFrame:
        """Add the direct legs within ``cut`` to the network pairs ``m``, the quicker winning."""
        o_xy = np.column_stack([origins.geometry.x, origins.geometry.y])
        f_xy = np.column_stack([facilities.geometry.x, facilities.geometry.y])
        o_xy = o_xy[origins.index.get_indexer(so.index)]
        f_xy = f_xy[facilities.index.get_indexer(sf.index)]
        radius = cut * self._access_m_per_min
        lists = cKDTree(f_xy).query_ball_point(o_xy, r=radius)
        lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        if lens.sum() == 0:
            return m
        oi = np.repeat(np.arange(len(so)), lens)
        fj = np.fromiter((j for x in lists for j in x), dtype=np.int64, count=int(lens.sum()))
        t = self.direct_minutes(np.hypot(*(o_xy[oi] - f_xy[fj]).T))
        keep = t <= cut
        direct = pd.DataFrame(
            {
                "from_id": so.index.to_numpy()[oi[keep]],
                "to_id": sf.index.to_numpy()[fj[keep]],
                "travel_time_min": t[keep],
                "o_rank": oi[keep],
            }
        )
        both = pd.concat([m, direct], ignore_index=True)
        # the network pair first on equal times, then the quickest pair of each (from, to)
        both = both.sort_values("travel_time_min", kind="stable")
        return both.drop_duplicates(["from_id", "to_id"], keep="first")

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
            ``facility_id``, ``threshold_min``, ``method`` (``"reached-network"`` or
            ``"access-surface"``, module docstring),
            ``engine``, ``geometry``; one row per snapped facility and threshold, ordered by
            facility then threshold. Unsnapped facilities are skipped (warning).
        """

        thr = _check_thresholds(thresholds_min)
        sf = self.snap(facilities, what="facilities")
        sf = sf[sf["snapped"]]
        if self.isochrone_method == "access-surface":
            return self._surface_isochrones(facilities, sf, thr, dissolve)
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

    # ---------------------------------------------------------------- access surface
    def _surface_isochrones(
        self,
        facilities: gpd.GeoDataFrame,
        sf: pd.DataFrame,
        thr: list[float],
        dissolve: bool,
    ) -> gpd.GeoDataFrame:
        """Isochrones as the grid of points whose trip time is within each threshold."""
        rows: list[dict[str, Any]] = []
        f_xy = np.column_stack([facilities.geometry.x, facilities.geometry.y])
        f_xy = f_xy[facilities.index.get_indexer(sf.index)]
        n = int(self.network.indptr.shape[0]) - 1
        if len(sf) and dissolve:
            rip, rix, rw = self._reverse
            dist, _ = multi_source_dijkstra(
                rip, rix, rw, sf["node"].to_numpy(), initial_cost=sf["access_min"].to_numpy(),
                cutoff=max(thr),
            )  # fmt: skip
            geoms = self.access_surface(dist, f_xy, thr)
            rows += [{"facility_id": "all", "threshold_min": t, "geometry": g}
                     for t, g in zip(thr, geoms, strict=True)]  # fmt: skip
        elif len(sf):
            si, node, d = self._bounded(
                sf["node"].to_numpy(), max(thr), None, reverse=True,
                initial_cost=sf["access_min"].to_numpy(),
            )  # fmt: skip
            bounds = np.searchsorted(si, np.arange(len(sf) + 1))
            dist = np.full(n, np.inf)
            for k, fid in enumerate(sf.index):
                sl = slice(bounds[k], bounds[k + 1])
                dist[node[sl]] = d[sl]
                geoms = self.access_surface(dist, f_xy[k : k + 1], thr, reached=node[sl])
                rows += [{"facility_id": fid, "threshold_min": t, "geometry": g}
                         for t, g in zip(thr, geoms, strict=True)]  # fmt: skip
                dist[node[sl]] = np.inf
        gdf = gpd.GeoDataFrame(
            pd.DataFrame(rows, columns=["facility_id", "threshold_min", "geometry"]),
            geometry="geometry",
            crs=WORKING_CRS,
        )
        gdf.insert(2, "method", "access-surface")
        return _label(gdf, self.name)

    def access_surface(
        self,
        dist: npt.NDArray[np.float64],
        facility_xy: npt.NDArray[np.float64],
        thresholds_min: Sequence[float],
        *,
        reached: npt.NDArray[np.int64] | None = None,
    ) -> list[Any]:
        """Polygons of the points from which a facility is reached within each threshold.

        A point ``p`` (a grid cell centre) takes the time this engine gives it as an origin:
        ``dist[snap(p)] + access(|p - snap(p)|)`` when ``p`` is within ``max_snap_m`` of its
        nearest node, or the direct leg to the closest facility (``direct_leg``) when quicker.
        Cells within each threshold are polygonised (:func:`rasterio.features.shapes`), so
        an outline is exact to within one cell (``isochrone_cell_m``, coarsened above
        :data:`_SURFACE_MAX_CELLS` cells).

        Parameters
        ----------
        dist : ndarray of float64, shape (n,)
            Time (min) from every node to the facilities on the forward graph, facility access
            legs included (``inf`` where unreached).
        facility_xy : ndarray of shape (k, 2)
            The facilities (for the direct legs and the grid extent).
        thresholds_min : sequence of float
            Thresholds (minutes).
        reached : ndarray of int64, optional
            Nodes with a finite ``dist`` (speeds up the extent on large networks).

        Returns
        -------
        list of shapely geometries
            One (Multi)Polygon per threshold (empty when nothing is reached).
        """
        import shapely
        from rasterio.features import shapes
        from rasterio.transform import Affine

        thr = [float(t) for t in thresholds_min]
        tmax = max(thr)
        net = self.network
        nodes = np.flatnonzero(np.isfinite(dist)) if reached is None else reached
        nodes = nodes[dist[nodes] <= tmax]
        speed = self._access_m_per_min
        r_node = min(self.max_snap_m, tmax * speed)
        r_dir = tmax * speed if self.direct_leg else 0.0
        xs = [net.x[nodes] - r_node, net.x[nodes] + r_node]
        ys = [net.y[nodes] - r_node, net.y[nodes] + r_node]
        if self.direct_leg and len(facility_xy):
            xs += [facility_xy[:, 0] - r_dir, facility_xy[:, 0] + r_dir]
            ys += [facility_xy[:, 1] - r_dir, facility_xy[:, 1] + r_dir]
        allx, ally = np.concatenate(xs), np.concatenate(ys)
        if allx.size == 0:
            return [shapely.Polygon() for _ in thr]
        xmin, xmax = float(allx.min()), float(allx.max())
        ymin, ymax = float(ally.min()), float(ally.max())
        cell = self.isochrone_cell_m
        cell = max(cell, math.sqrt((xmax - xmin) * (ymax - ymin) / _SURFACE_MAX_CELLS))
        ncol = max(1, math.ceil((xmax - xmin) / cell))
        nrow = max(1, math.ceil((ymax - ymin) / cell))
        time = np.empty(nrow * ncol, dtype=np.float64)
        ftree = cKDTree(facility_xy) if self.direct_leg and len(facility_xy) else None
        cx = xmin + (np.arange(ncol) + 0.5) * cell
        rows_per = max(1, 500_000 // ncol)
        for r0 in range(0, nrow, rows_per):
            r1 = min(nrow, r0 + rows_per)
            cy = ymax - (np.arange(r0, r1) + 0.5) * cell
            pts = np.column_stack([np.tile(cx, r1 - r0), np.repeat(cy, ncol)])
            d, j = self._tree.query(pts, distance_upper_bound=self.max_snap_m, workers=-1)
            ok = np.isfinite(d)
            tt = np.full(len(pts), np.inf)
            tt[ok] = dist[j[ok]] + self.access_minutes(d[ok])
            if ftree is not None:
                fd, _ = ftree.query(pts[ok], distance_upper_bound=r_dir, workers=-1)
                tt[ok] = np.fmin(tt[ok], self.direct_minutes(fd))
            time[r0 * ncol : r1 * ncol] = tt
        grid = time.reshape(nrow, ncol)
        transform = Affine(cell, 0.0, xmin, 0.0, -cell, ymax)
        out = []
        for t in thr:
            mask = grid <= t
            polys = [
                shapely.geometry.shape(geom)
                for geom, value in shapes(mask.astype(np.uint8), mask=mask, transform=transform)
                if value == 1
            ]
            out.append(
                shapely.Polygon() if not polys
                else polys[0] if len(polys) == 1 else shapely.multipolygons(polys)
            )  # fmt: skip
        return out

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
