"""Directed road network as compressed sparse row (CSR) arrays, with an on-disk cache.

:class:`RoadNetwork` is the graph every routing kernel works on (``docs/ARCHITECTURE.md``):

* ``indptr: int64[n + 1]`` and ``indices: int32[m]``: edges leaving node ``i`` are
  ``indices[indptr[i]:indptr[i + 1]]`` (forward direction: from the row node to the target);
* ``travel_time_min: float64[m]``: car travel time of each edge in minutes;
* ``length_m: float64[m]``: length of each edge in metres (EPSG:2154);
* ``x, y: float64[n]``: node coordinates in EPSG:2154 (Lambert-93), for snapping;
* ``node_ids: int64[n]``: the node ids of the source (OSM node ids, or the table's ids);
* ``meta``: provenance (source file, speed profile, nodes and edges dropped, build time).

Nodes are numbered ``0 .. n-1`` (positions in the arrays); node ``i`` has source id
``node_ids[i]``. Edges inside each row are sorted by target. There are no self-loops and
no parallel edges: when two input edges join the same ordered pair of nodes, the one with
the smallest travel time is kept (a shortest path never uses the other). This is the
layout of ``scipy.sparse.csr_matrix`` and of the CSR graphs used by pandana and
igraph, so the numba kernels in :mod:`accessmap.routing.kernels` read it without copies.

Builders: :meth:`RoadNetwork.from_osm` (``.osm.pbf``, ``.osm``, ``.osm.bz2`` with pyosmium,
see :mod:`accessmap.network.osm`), :meth:`RoadNetwork.from_tables` (node/edge CSV tables,
see :mod:`accessmap.network.tables`) and :meth:`RoadNetwork.from_arrays`. The OSM and table
builders keep only the largest strongly connected component, so that every node can reach
every other (the usual choice of osmnx ``largest_component(strongly=True)`` and of
OSRM/pandana users); what was dropped is recorded in ``meta`` and logged.

:func:`load_network` is the cached entry point: the compiled arrays are stored as an
uncompressed ``.npz`` keyed by the input file (path, size, modification time), the speed
profile and :data:`BUILDER_VERSION`, so a second run only reads the arrays back.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from accessmap.config import CACHE_DIR_ENV, WORKING_CRS
from accessmap.errors import (
    BadValueError,
    NetworkBuildError,
    UnreadableFileError,
)
from accessmap.outputs.atomic import atomic_file

if TYPE_CHECKING:
    import networkx as nx
    from scipy.sparse import csr_matrix

    from accessmap.network.speedmodel import TravelMappingSpeedModel
    from accessmap.network.speeds import SpeedProfile

__all__ = [
    "BUILDER_VERSION",
    "RoadNetwork",
    "default_cache_dir",
]

log = logging.getLogger(__name__)

#: Version of the graph builders; part of the cache key, bump it whenever a builder changes
#: the arrays it produces so that stale cache files are not reused.
BUILDER_VERSION = "2"

#: Format tag stored in saved files (checked by :meth:`RoadNetwork.load`).
_FILE_FORMAT = "accessmap-roadnetwork-1"

_ARRAY_FIELDS = ("indptr", "indices", "travel_time_min", "length_m", "x", "y", "node_ids")

#: Road-file builders by format kind (``"osm"``, ``"tables"``, ...). Each builder module of
#: this package registers its function on import (:func:`register_builder`), and
#: ``accessmap.network`` imports them all, so a new road format is one module: its builder
#: plus its entry in :mod:`accessmap.network.formats`.
BUILDERS: dict[str, Callable[..., RoadNetwork]] = {}


def register_builder(kind: str, builder: Callable[..., RoadNetwork]) -> None:
    """Register the builder of a road-file format (called by the builder modules)."""
    BUILDERS[kind] = builder


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed road graph in CSR form (forward direction: edges leaving each node).

    Attributes
    ----------
    indptr : numpy.ndarray of int64, shape (n + 1,)
        Row pointers: the edges leaving node ``i`` are ``indptr[i]:indptr[i + 1]``.
    indices : numpy.ndarray of int32, shape (m,)
        Target node of each edge.
    travel_time_min : numpy.ndarray of float64, shape (m,)
        Travel time of each edge in minutes (non-negative, finite).
    x, y : numpy.ndarray of float64, shape (n,)
        Node coordinates in EPSG:2154 (Lambert-93), metres.
    node_ids : numpy.ndarray of int64, shape (n,)
        Source id of each node (OSM node id or table id).
    length_m : numpy.ndarray of float64, shape (m,)
        Length of each edge in metres (NaN where the source gives none).
    meta : dict
        Provenance: ``source``, ``format``, ``profile``, ``crs``, ``nodes_dropped``,
        ``edges_dropped``, ``build_seconds``, ...

    Examples
    --------
    >>> import numpy as np
    >>> net = RoadNetwork.from_arrays(
    ...     [0, 1], [1, 2], [1.0, 2.0], x=[0.0, 1.0, 2.0], y=[0.0, 0.0, 0.0], node_ids=[7, 8, 9]
    ... )
    >>> net.n_nodes, net.n_edges
    (3, 2)
    >>> net.reverse().indices.tolist()
    [0, 1]
    """

    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int32]
    travel_time_min: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    node_ids: npt.NDArray[np.int64]
    length_m: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = int(self.indptr.shape[0]) - 1
        m = int(self.indices.shape[0])
        if self.length_m.shape[0] == 0 and m > 0:
            object.__setattr__(self, "length_m", np.full(m, np.nan))
        bad = [
            name
            for name, arr, size in (
                ("travel_time_min", self.travel_time_min, m),
                ("length_m", self.length_m, m),
                ("x", self.x, n),
                ("y", self.y, n),
                ("node_ids", self.node_ids, n),
            )
            if arr.shape[0] != size
        ]
        if n < 0 or bad or int(self.indptr[-1]) != m:
            raise BadValueError(
                f"inconsistent RoadNetwork arrays ({', '.join(bad) or 'indptr'}): n={n} nodes, "
                f"m={m} edges; build networks with RoadNetwork.from_arrays"
            )

    # ------------------------------------------------------------------ properties
    @property
    def n_nodes(self) -> int:
        """Number of nodes ``n``."""
        return int(self.indptr.shape[0]) - 1

    @property
    def n_edges(self) -> int:
        """Number of directed edges ``m``."""
        return int(self.indices.shape[0])

    def edge_sources(self) -> npt.NDArray[np.int64]:
        """Source node of every edge (the row of each CSR entry), shape ``(m,)``."""
        return np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))

    def __repr__(self) -> str:
        return (
            f"RoadNetwork(n_nodes={self.n_nodes}, n_edges={self.n_edges}, "
            f"source={self.meta.get('source')!r}, profile={self.meta.get('profile')!r})"
        )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        u: npt.ArrayLike,
        v: npt.ArrayLike,
        travel_time_min: npt.ArrayLike,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        node_ids: npt.ArrayLike,
        *,
        length_m: npt.ArrayLike | None = None,
        largest_scc: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> RoadNetwork:
        """Build a network from an edge list on node positions ``0 .. n-1``.

        Parameters
        ----------
        u, v : array-like of int, shape (m,)
            Source and target node of each directed edge, as positions into ``x``, ``y`` and
            ``node_ids`` (not source ids). A two-way road needs both ``(a, b)`` and ``(b, a)``.
        travel_time_min : array-like of float, shape (m,)
            Edge travel times in minutes; finite and ``>= 0``.
        x, y : array-like of float, shape (n,)
            Node coordinates in EPSG:2154 metres.
        node_ids : array-like of int, shape (n,)
            Source node ids (kept for output; must be unique).
        length_m : array-like of float, optional
            Edge lengths in metres (NaN when omitted).
        largest_scc : bool, default False
            Keep only the largest strongly connected component (the OSM and table builders
            always do; it is off here so that tests can build graphs with unreachable nodes).
        meta : dict, optional
            Provenance merged into ``meta``.

        Returns
        -------
        RoadNetwork
            Self-loops removed, parallel edges reduced to the one with the minimum travel
            time (its length is kept with it), rows sorted by target.

        Raises
        ------
        BadValueError
            Arrays of different lengths, node positions out of range, negative or
            non-finite travel times, duplicate node ids.
        NetworkBuildError
            ``largest_scc=True`` on a graph without edges.
        """
        ua = np.asarray(u, dtype=np.int64).ravel()
        va = np.asarray(v, dtype=np.int64).ravel()
        tt = np.asarray(travel_time_min, dtype=np.float64).ravel()
        xa = np.asarray(x, dtype=np.float64).ravel()
        ya = np.asarray(y, dtype=np.float64).ravel()
        ids = np.asarray(node_ids, dtype=np.int64).ravel()
        ln = (
            np.full(ua.shape[0], np.nan)
            if length_m is None
            else np.asarray(length_m, dtype=np.float64).ravel()
        )
        n = xa.shape[0]
        if not (ua.shape == va.shape == tt.shape == ln.shape):
            raise BadValueError(
                f"edge arrays differ in length: u {ua.shape[0]}, v {va.shape[0]}, "
                f"travel_time_min {tt.shape[0]}, length_m {ln.shape[0]}; pass one value per edge"
            )
        if not (ya.shape[0] == ids.shape[0] == n):
            raise BadValueError(
                f"node arrays differ in length: x {n}, y {ya.shape[0]}, node_ids {ids.shape[0]}; "
                "pass one value per node"
            )
        if ua.size and (min(ua.min(), va.min()) < 0 or max(ua.max(), va.max()) >= n):
            bad = ua[(ua < 0) | (ua >= n)]
            bad = bad if bad.size else va[(va < 0) | (va >= n)]
            raise BadValueError(
                f"edge endpoint {int(bad[0])} is not a node position in 0..{n - 1}; u and v "
                "must be positions into x/y/node_ids, not source node ids"
            )
        if tt.size and not (np.isfinite(tt).all() and (tt >= 0).all()):
            bad_t = tt[~(np.isfinite(tt) & (tt >= 0))][0]
            raise BadValueError(
                f"travel_time_min must be finite and >= 0, got {bad_t!r}; check the speeds "
                "(a zero or missing speed gives an infinite time)"
            )
        sorted_ids = np.sort(ids)
        dup = sorted_ids[1:] == sorted_ids[:-1]
        if dup.any():
            first_dup = sorted_ids[1:][dup][0]
            raise BadValueError(
                f"node_ids must be unique; {int(first_dup)} appears "
                f"{int((ids == first_dup).sum())} times"
            )
        del sorted_ids, dup
        info: dict[str, Any] = {"crs": WORKING_CRS, "nodes_in": int(n), "edges_in": int(ua.size)}
        info.update(meta or {})

        keep = ua != va
        info["self_loops_dropped"] = int((~keep).sum())
        ua, va, tt, ln = ua[keep], va[keep], tt[keep], ln[keep]
        # Sort by (u, v, time): the first row of each (u, v) run is the fastest edge.
        order = np.lexsort((tt, va, ua))
        ua, va, tt, ln = ua[order], va[order], tt[order], ln[order]
        first = np.ones(ua.shape[0], dtype=bool)
        if ua.size:
            first[1:] = (ua[1:] != ua[:-1]) | (va[1:] != va[:-1])
        info["parallel_edges_dropped"] = int((~first).sum())
        ua, va, tt, ln = ua[first], va[first], tt[first], ln[first]

        if largest_scc:
            ua, va, tt, ln, xa, ya, ids, dropped = _largest_scc(ua, va, tt, ln, xa, ya, ids)
            info.update(dropped)
        net = cls._from_sorted(ua, va, tt, ln, xa, ya, ids, info)
        return net

    @classmethod
    def _from_sorted(
        cls,
        ua: npt.NDArray[np.int64],
        va: npt.NDArray[np.int64],
        tt: npt.NDArray[np.float64],
        ln: npt.NDArray[np.float64],
        xa: npt.NDArray[np.float64],
        ya: npt.NDArray[np.float64],
        ids: npt.NDArray[np.int64],
        meta: dict[str, Any],
    ) -> RoadNetwork:
        """Assemble the CSR arrays from edges already sorted by ``(u, v)``."""
        n = xa.shape[0]
        counts = np.bincount(ua, minlength=n) if ua.size else np.zeros(n, dtype=np.int64)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        meta = dict(meta)
        meta["n_nodes"] = int(n)
        meta["n_edges"] = int(ua.size)
        return cls(
            indptr=indptr,
            indices=np.ascontiguousarray(va, dtype=np.int32),
            travel_time_min=np.ascontiguousarray(tt, dtype=np.float64),
            x=np.ascontiguousarray(xa, dtype=np.float64),
            y=np.ascontiguousarray(ya, dtype=np.float64),
            node_ids=np.ascontiguousarray(ids, dtype=np.int64),
            length_m=np.ascontiguousarray(ln, dtype=np.float64),
            meta=meta,
        )

    @classmethod
    def from_osm(
        cls,
        path: str | os.PathLike[str],
        *,
        profile: str | SpeedProfile = "osrm-car",
        cache_dir: str | os.PathLike[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> RoadNetwork:
        """Build the drivable network of an OSM file (``.osm.pbf``, ``.osm``, ``.osm.bz2``).

        See :mod:`accessmap.network.osm` for the tag rules (drivable classes,
        access, one-way) and :mod:`accessmap.network.speeds` for the speeds. The graph is kept at
        OSM-node level (not simplified), so every road vertex can be snapped to; only the
        largest strongly connected component is kept.

        Parameters
        ----------
        path : path-like
            OSM file.
        profile : str or SpeedProfile, default "osrm-car"
            Speed profile (see :func:`accessmap.network.speeds.get_profile`).
        cache_dir : path-like, optional
            When given, read/write the compiled graph in this directory (see
            :func:`load_network`, which also uses the default cache directory).
        progress : callable, optional
            ``progress(done, total)`` callback over the build steps.

        Raises
        ------
        DataNotFoundError
            The file does not exist.
        UnreadableFileError
            Empty, truncated or corrupt file.
        NetworkBuildError
            The file holds no drivable road.
        UnknownProfileError
            Unknown profile name.
        """
        if cache_dir is not None:
            return BUILDERS["cached"](path, profile=profile, cache_dir=cache_dir, progress=progress)

        return BUILDERS["osm"](path, profile=profile, progress=progress)

    @classmethod
    def from_tables(
        cls,
        nodes_csv: str | os.PathLike[str],
        edges_csv: str | os.PathLike[str],
        *,
        profile: str | SpeedProfile = "osrm-car",
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> RoadNetwork:
        """Build a network from node and edge CSV tables (PFE or INSA format, auto-detected).

        See :mod:`accessmap.network.tables` for both formats and the rules applied.

        Parameters
        ----------
        nodes_csv, edges_csv : path-like
            Node table (``node_id, lon, lat``) and edge table (may be gzip-compressed).
        profile : str or SpeedProfile, default "osrm-car"
            Speed profile.
        cache_dir : path-like, optional
            When given, read/write the compiled graph in this directory.

        Raises
        ------
        DataNotFoundError, MissingColumnError, BadValueError, NetworkBuildError
            Missing file, missing column, bad value, or no drivable edge.
        """
        if cache_dir is not None:
            return BUILDERS["cached"](
                edges_csv, nodes=nodes_csv, profile=profile, cache_dir=cache_dir
            )

        return BUILDERS["tables"](nodes_csv, edges_csv, profile=profile)

    @classmethod
    def from_travelmapping(
        cls,
        path: str | os.PathLike[str],
        *,
        regions: Collection[str] | None = None,
        clip: Any = None,
        margin_m: float = 30_000.0,
        model: TravelMappingSpeedModel | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        use_cache: bool = True,
    ) -> RoadNetwork:
        """Build the Travel Mapping network (``.tar.gz`` archive or extracted folder).

        See :mod:`accessmap.network.travelmapping` for the build rules and
        :mod:`accessmap.network.speedmodel` for the edge times. Cached like
        :func:`load_network`; the key includes the regions, the clip geometry, the margin and
        the speed model.

        Parameters
        ----------
        path : path-like
            ``roads_france_travelmapping-*.tar.gz``, a GitHub archive of TravelMapping/HighwayData
            or a folder holding ``hwy_data/``.
        regions : collection of str, optional
            Region folders (``"FRA-OCC"`` or ``"OCC"``); default every ``FRA-*`` folder.
        clip : shapely geometry (EPSG:2154) or GeoDataFrame/GeoSeries, optional
            Study area; nodes outside it plus ``margin_m`` are dropped.
        margin_m : float, default 30 000
            Buffer around ``clip`` in metres, so that trips crossing the border are routed.
        model : TravelMappingSpeedModel, optional
            Speed model; default :data:`accessmap.network.speedmodel.DEFAULT_MODEL`.
        cache_dir : path-like, optional
            Cache directory; default :func:`default_cache_dir`.
        use_cache : bool, default True
            ``False`` always rebuilds and writes nothing.

        Raises
        ------
        DataNotFoundError, UnreadableFileError, BadValueError, NetworkBuildError
            Missing input, corrupt archive or bad waypoint line, bad clip, nothing to build.
        """
        return BUILDERS["travelmapping-cached"](
            path,
            regions=regions,
            clip=clip,
            margin_m=margin_m,
            model=model,
            cache_dir=cache_dir,
            use_cache=use_cache,
        )

    @classmethod
    def from_osmnx(
        cls,
        graph: Any,
        *,
        profile: str | SpeedProfile = "osrm-car",
        largest_scc: bool = True,
    ) -> RoadNetwork:
        """Convert an osmnx ``MultiDiGraph`` (see :mod:`accessmap.network.osmnx_graph`).

        Edge times are the osmnx ``travel_time`` attribute (seconds, from
        ``add_edge_speeds``/``add_edge_travel_times``) where present, else ``length`` at the
        ``profile`` speed of the edge's ``highway``/``maxspeed``.
        """
        return BUILDERS["osmnx"](graph, profile=profile, largest_scc=largest_scc)

    # ------------------------------------------------------------------ transforms
    def reverse(self) -> RoadNetwork:
        """The transposed graph: every edge ``a -> b`` becomes ``b -> a``.

        Use it for patient -> practice times computed from the facilities: a multi-source
        Dijkstra from the facilities on the reversed graph gives, at every node, the time
        from that node to its nearest facility on the forward graph.
        """
        src = self.edge_sources()
        order = np.lexsort((src, self.indices))
        meta = dict(self.meta)
        meta["reversed"] = not bool(self.meta.get("reversed", False))
        return RoadNetwork._from_sorted(
            self.indices[order].astype(np.int64),
            src[order],
            self.travel_time_min[order],
            self.length_m[order],
            self.x,
            self.y,
            self.node_ids,
            meta,
        )

    def to_csr_matrix(self) -> csr_matrix:
        """The graph as a ``scipy.sparse.csr_matrix`` of travel times (shares the arrays)."""
        from scipy.sparse import csr_matrix

        return csr_matrix(
            (self.travel_time_min, self.indices, self.indptr), shape=(self.n_nodes, self.n_nodes)
        )

    def to_networkx(self) -> nx.DiGraph:
        """A ``networkx.DiGraph`` on node positions ``0 .. n-1``.

        Nodes carry ``x``, ``y`` (EPSG:2154) and ``node_id``; edges carry ``travel_time_min``
        (use it as ``weight``) and ``length_m``. Meant for reference checks and small graphs.
        """
        import networkx as nx

        g: nx.DiGraph = nx.DiGraph(crs=WORKING_CRS)
        g.add_nodes_from(
            (i, {"x": float(xi), "y": float(yi), "node_id": int(ni)})
            for i, (xi, yi, ni) in enumerate(zip(self.x, self.y, self.node_ids, strict=True))
        )
        src = self.edge_sources()
        g.add_edges_from(
            (int(a), int(b), {"travel_time_min": float(t), "length_m": float(d)})
            for a, b, t, d in zip(
                src, self.indices, self.travel_time_min, self.length_m, strict=True
            )
        )
        return g

    def node_index(self, node_ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Positions of source node ids (``-1`` where an id is not in the network)."""
        want = np.asarray(node_ids, dtype=np.int64).ravel()
        order = np.argsort(self.node_ids, kind="stable")
        sorted_ids = self.node_ids[order]
        pos = np.searchsorted(sorted_ids, want)
        pos = np.clip(pos, 0, max(self.n_nodes - 1, 0))
        found = (sorted_ids[pos] == want) if self.n_nodes else np.zeros(want.shape, bool)
        return np.where(found, order[pos] if self.n_nodes else -1, -1).astype(np.int64)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the arrays to an uncompressed ``.npz`` file (atomically, :func:`atomic_file`).

        Returns the path written. :meth:`load` reads it back.
        """
        out = Path(path)
        header = json.dumps({"format": _FILE_FORMAT, "meta": self.meta}, default=str)
        # The one atomic writer (accessmap.outputs.atomic): temporary sibling, then rename;
        # stale temporaries of a killed earlier save are cleaned first.
        with atomic_file(out, overwrite=True) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                header=np.array(header),
                **{name: getattr(self, name) for name in _ARRAY_FIELDS},
            )
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RoadNetwork:
        """Read a network written by :meth:`save`.

        Raises
        ------
        UnreadableFileError
            The file is missing, truncated or not an accessmap network file.
        """
        p = Path(path)
        try:
            with np.load(p, allow_pickle=False) as data:
                header = json.loads(str(data["header"][()]))
                if header.get("format") != _FILE_FORMAT:
                    raise UnreadableFileError(
                        f"{p}: not an accessmap road-network file (format "
                        f"{header.get('format')!r}); rebuild it with RoadNetwork.save"
                    )
                arrays = {name: data[name] for name in _ARRAY_FIELDS}
        except UnreadableFileError:
            raise
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise UnreadableFileError(
                f"{p}: cannot read road-network file ({type(exc).__name__}: {exc}); delete it "
                "and rebuild the network"
            ) from exc
        return cls(meta=header.get("meta", {}), **arrays)


def _largest_scc(
    ua: npt.NDArray[np.int64],
    va: npt.NDArray[np.int64],
    tt: npt.NDArray[np.float64],
    ln: npt.NDArray[np.float64],
    xa: npt.NDArray[np.float64],
    ya: npt.NDArray[np.float64],
    ids: npt.NDArray[np.int64],
) -> tuple[Any, ...]:
    """Restrict sorted edges and nodes to the largest strongly connected component."""
    from scipy.sparse import csgraph, csr_matrix

    n = xa.shape[0]
    if ua.size == 0:
        raise NetworkBuildError(
            "the road graph has no edges between distinct nodes; check the input holds "
            "drivable roads"
        )
    adj = csr_matrix((np.ones(ua.shape[0], dtype=np.int8), (ua, va)), shape=(n, n))
    n_comp, labels = csgraph.connected_components(adj, directed=True, connection="strong")
    sizes = np.bincount(labels, minlength=n_comp)
    keep_node = labels == int(np.argmax(sizes))
    new_pos = np.full(n, -1, dtype=np.int64)
    new_pos[keep_node] = np.arange(int(keep_node.sum()), dtype=np.int64)
    keep_edge = keep_node[ua] & keep_node[va]
    dropped = {
        "scc_components": int(n_comp),
        "nodes_dropped": int(n - keep_node.sum()),
        "edges_dropped": int(ua.shape[0] - keep_edge.sum()),
    }
    return (
        new_pos[ua[keep_edge]],
        new_pos[va[keep_edge]],
        tt[keep_edge],
        ln[keep_edge],
        xa[keep_node],
        ya[keep_node],
        ids[keep_node],
        dropped,
    )


# ---------------------------------------------------------------------- cache
def default_cache_dir() -> Path:
    """Directory for compiled graphs: ``$ACCESSMAP_CACHE_DIR`` or the platformdirs user cache.

    The default is ``platformdirs.user_cache_dir("accessmap") / "networks"``.
    """
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("accessmap")) / "networks"
