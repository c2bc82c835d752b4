"""Run the heavy, parallel parts on a Dask cluster, or in-process when none is given.

What is distributed (each unit is independent, so results do not depend on where it ran):

* **bounded searches per block of sources** (:func:`distributed_bounded_table`,
  :func:`bounded_table_to_parquet`): the catchment tables of the 2SFCA family, one bounded
  Dijkstra per facility or origin, split into blocks of ``block_size`` sources;
* **siting coverage sets per block of candidate sites** (:func:`distributed_coverage_sets`);
* **nearest pass per region** (:func:`distributed_nearest`): one multi-source Dijkstra per
  compiled regional graph (a single national multi-source pass is one sequential search and
  is not split);
* **per-région runs** (:func:`run_regions`): the whole scoring pipeline for each région.

Every function takes ``client=``: a ``dask.distributed.Client``, a scheduler address string
(``"tcp://10.0.0.5:8786"``, the CLI's ``--scheduler ADDRESS``), or ``None`` to run the same
blocks in this process (no Dask import at all). Blocks are gathered back in submission
order, and each block runs the same kernel (:func:`accessmap.routing.kernels.bounded_dijkstra` /
:func:`~accessmap.routing.kernels.multi_source_dijkstra`), whose output for one source depends only
on that source's search; the concatenated result is therefore identical, array for array, to
one single-process call over all sources (checked in ``tests/test_distributed.py`` on a
``LocalCluster`` with two worker processes).

**The graph is not shipped with the tasks.** Tasks carry the path of the compiled graph (the
uncompressed ``.npz`` of :meth:`accessmap.network.graph.RoadNetwork.save`, normally the shared
network cache of :func:`accessmap.network.graph.load_network`); each worker process memory-maps
the arrays (``np.memmap`` on the stored ``.npy`` members; the operating system shares
the pages between the worker processes of one machine) the first time it sees that file, and
keeps them in a per-process cache keyed by (path, size, modification time) for the following
tasks. The path must therefore be readable at the same location on every worker (shared
file system on a cluster; see ``docs/scaling.md``).

Design follows the Dask best practices (Dask documentation, "Dask.distributed best
practices": load data on the workers rather than sending large objects with each task;
avoid very small tasks): ``block_size`` defaults to 256 sources per task, an assumption that
keeps per-task overhead (a few ms) small against a bounded search of a few ms per source.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from accessmap.errors import BadValueError, ConfigError
from accessmap.network.store import _GRAPHS_LOCK, _warm, graph_arrays, graph_coordinates
from accessmap.outputs.atomic import atomic_file
from accessmap.routing.kernels import (
    _as_csr,
    _as_sources,
    _check_cutoff,
    bounded_dijkstra,
    multi_source_dijkstra,
)
from accessmap.routing.partitioned import (
    _part_pass,
    _repair_pass,
    partitioned_nearest,
    strip_partition,
)

if TYPE_CHECKING:
    from distributed import Client


log = logging.getLogger(__name__)

__all__ = [
    "BoundedTable",
    "ParquetSummary",
    "bounded_table_to_parquet",
    "connect",
    "dask_client",
    "distributed_bounded_table",
    "distributed_nearest",
    "distributed_partitioned_nearest",
    "iter_bounded_blocks",
    "preload_graph",
]

#: Default number of sources per task (assumption, see the module docstring).
DEFAULT_BLOCK_SIZE = 256

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
CSR = tuple[IntArray, npt.NDArray[np.int32], FloatArray]
#: ``(source_index, node, dist)`` as returned by :func:`accessmap.routing.kernels.bounded_dijkstra`.
BoundedTable = tuple[IntArray, IntArray, FloatArray]


# ------------------------------------------------------------------------------------------
# Client
# ------------------------------------------------------------------------------------------


def connect(client: Client | str | None, *, timeout: float = 10.0) -> Client | None:
    """Resolve the ``client=`` argument: a ``Client``, a scheduler address, or ``None``.

    Parameters
    ----------
    client : distributed.Client or str or None
        An existing client is returned unchanged; a string is a scheduler address
        (``"tcp://host:8786"``) to connect to; ``None`` means in-process.
    timeout : float
        Seconds to wait for the scheduler.

    Returns
    -------
    distributed.Client or None

    Raises
    ------
    ConfigError
        Dask is not installed, the address is unreachable, or the argument has a wrong type.
    """
    if client is None:
        return None
    try:
        from distributed import Client as _Client
    except ImportError as exc:  # pragma: no cover - dask is a declared extra
        raise ConfigError(
            "a Dask scheduler was given but dask.distributed is not installed: "
            "pip install 'accessmap[dask]'"
        ) from exc
    if isinstance(client, _Client):
        return client
    if isinstance(client, str):
        try:
            return _Client(client, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError) as exc:  # ValueError: malformed address
            raise ConfigError(
                f"cannot reach the Dask scheduler at {client!r} ({exc}); check the address "
                "(e.g. tcp://host:8786) and that the scheduler is running"
            ) from exc
    raise ConfigError(
        f"client must be a dask.distributed.Client, a scheduler address or None; got "
        f"{type(client).__name__}"
    )


@contextlib.contextmanager
def dask_client(
    scheduler: Client | str | None, *, timeout: float = 10.0
) -> Iterator[Client | None]:
    """Context manager for the CLI's ``--scheduler ADDRESS``: connect, yield, disconnect.

    A ``Client`` passed in is yielded as is and left open (its owner closes it); a client
    opened here from an address is closed on exit; ``None`` yields ``None`` (in-process).

    Examples
    --------
    >>> with dask_client(None) as client:
    ...     client is None
    True
    """
    cl = connect(scheduler, timeout=timeout)
    try:
        yield cl
    finally:
        if cl is not None and isinstance(scheduler, str):
            cl.close()


@contextlib.contextmanager
def _session(client: Client | str | None) -> Iterator[Client | None]:
    with dask_client(client) as cl:
        yield cl


# ------------------------------------------------------------------------------------------
# Per-process graph cache (runs on the workers)
# ------------------------------------------------------------------------------------------


def preload_graph(
    client: Client | str, network_path: str | os.PathLike[str], *, reverse: bool = False
) -> dict[str, int]:
    """Map the compiled graph (and load the numba kernels) on every worker now.

    Optional: tasks load the graph on first use anyway. Calling it first keeps that one-off
    cost (reading the file, building the reversed graph, loading the compiled kernels) out of
    the timed or latency-sensitive work, e.g. right after ``--scheduler ADDRESS`` connects.
    Workers that join the cluster later load on first use.

    Returns
    -------
    dict of str to int
        Worker address -> number of nodes of the graph it holds.
    """
    path = str(Path(network_path).resolve())
    with _session(client) as cl:
        assert cl is not None
        out: dict[str, int] = cl.run(_warm, path, reverse)
    return out


# ------------------------------------------------------------------------------------------
# Tasks (module-level so Dask pickles them by reference)
# ------------------------------------------------------------------------------------------


def _bounded_block(
    network_path: str,
    reverse: bool,
    sources: IntArray,
    initial_cost: FloatArray | None,
    offset: int,
    cutoff: float,
    target_mask: npt.NDArray[np.bool_] | None,
    n_threads: int | None,
) -> BoundedTable:

    ip, ix, w = graph_arrays(network_path, reverse=reverse)
    src, node, dist = bounded_dijkstra(
        ip, ix, w, sources, cutoff, target_mask, initial_cost=initial_cost, n_threads=n_threads
    )
    return src + offset, node, dist


def _nearest_task(
    network_path: str,
    reverse: bool,
    sources: IntArray,
    initial_cost: FloatArray | None,
    cutoff: float,
) -> tuple[FloatArray, IntArray]:

    ip, ix, w = graph_arrays(network_path, reverse=reverse)
    return multi_source_dijkstra(ip, ix, w, sources, initial_cost, cutoff)


# ------------------------------------------------------------------------------------------
# Bounded tables
# ------------------------------------------------------------------------------------------


def _check_blocks(
    sources: npt.ArrayLike, initial_cost: npt.ArrayLike | None, block_size: int
) -> tuple[IntArray, FloatArray | None, list[tuple[int, int]]]:
    src = np.ascontiguousarray(np.atleast_1d(np.asarray(sources)), dtype=np.int64)
    if src.ndim != 1:
        raise BadValueError("sources must be a 1-D array of node positions")
    if not isinstance(block_size, int | np.integer) or block_size < 1:
        raise ConfigError(f"block_size must be a positive integer, got {block_size!r}")
    init = None
    if initial_cost is not None:
        init = np.ascontiguousarray(np.atleast_1d(initial_cost), dtype=np.float64)
        if init.shape != src.shape:
            raise BadValueError(
                f"initial_cost has {init.shape[0]} values for {src.shape[0]} sources"
            )
    bs = int(block_size)
    blocks = [(a, min(a + bs, src.size)) for a in range(0, src.size, bs)]
    return src, init, blocks


def iter_bounded_blocks(
    network_path: str | os.PathLike[str],
    sources: npt.ArrayLike,
    cutoff: float,
    client: Client | str | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    *,
    reverse: bool = False,
    target_mask: npt.ArrayLike | None = None,
    initial_cost: npt.ArrayLike | None = None,
    max_in_flight: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[BoundedTable]:
    """Yield the bounded table block by block, in source order (bounded memory).

    Parameters are those of :func:`distributed_bounded_table`, plus ``max_in_flight``: at
    most this many blocks are computed ahead of the consumer (default: 2 per Dask worker
    thread, or 1 in-process), so a consumer that writes each block to disk keeps memory at a
    few blocks whatever the total size.

    Yields
    ------
    source_index, node, dist : ndarrays
        One block; ``source_index`` indexes the full ``sources`` array.
    """
    path = str(Path(network_path).resolve())
    src, init, blocks = _check_blocks(sources, initial_cost, block_size)
    mask = None if target_mask is None else np.ascontiguousarray(target_mask, dtype=np.bool_)
    cut = float(cutoff)
    total = len(blocks)
    if client is None:
        for i, (a, b) in enumerate(blocks):
            yield _bounded_block(
                path, reverse, src[a:b], None if init is None else init[a:b], a, cut, mask, None
            )
            if progress is not None:
                progress(i + 1, total)
        return
    with _session(client) as cl:
        assert cl is not None
        nthreads = sum(cl.nthreads().values()) or 1
        ahead = max_in_flight or 2 * nthreads
        mask_f = cl.scatter(mask, broadcast=True) if mask is not None else None
        pending: deque[Any] = deque()
        nxt = 0
        done = 0
        try:
            while nxt < total or pending:
                while nxt < total and len(pending) < ahead:
                    a, b = blocks[nxt]
                    ic = None if init is None else init[a:b]
                    pending.append(
                        cl.submit(
                            _bounded_block,
                            path,
                            reverse,
                            src[a:b],
                            ic,
                            a,
                            cut,
                            mask_f,
                            1,
                            pure=False,
                        )
                    )
                    nxt += 1
                fut = pending.popleft()
                res = fut.result()
                fut.release()
                done += 1
                if progress is not None:
                    progress(done, total)
                yield res
        finally:
            for fut in pending:
                fut.cancel()


def distributed_bounded_table(
    network_path: str | os.PathLike[str],
    sources: npt.ArrayLike,
    cutoff: float,
    client: Client | str | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    *,
    reverse: bool = False,
    target_mask: npt.ArrayLike | None = None,
    initial_cost: npt.ArrayLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BoundedTable:
    """Bounded Dijkstra from every source, one task per block of sources.

    The result is identical to ``accessmap.routing.kernels.bounded_dijkstra(indptr, indices,
    travel_time_min, sources, cutoff, target_mask, initial_cost=...)`` on the whole graph.

    Parameters
    ----------
    network_path : path-like
        Compiled graph (``.npz`` of :meth:`accessmap.network.graph.RoadNetwork.save`; the
        ``meta["cache_file"]`` of :func:`accessmap.network.graph.load_network`). Workers read it
        from disk, once per process.
    sources : array of int
        Node positions of the sources.
    cutoff : float
        Maximum travel time in minutes (inclusive).
    client : distributed.Client or str, optional
        Dask client or scheduler address; ``None`` runs in-process.
    block_size : int
        Sources per task (default 256).
    reverse : bool
        Search the reversed graph (times *to* the sources, e.g. patient -> practice when the
        sources are practices).
    target_mask : array of bool, optional
        Only report these nodes (sent once to every worker with ``scatter``).
    initial_cost : array of float, optional
        Access leg already spent at each source (minutes).
    progress : callable, optional
        ``progress(done_blocks, total_blocks)``.

    Returns
    -------
    source_index, node, dist : ndarrays (int64, int64, float64)
        Sorted by source index, then settle order within a source.

    Examples
    --------
    >>> src, node, dist = distributed_bounded_table(path, [0, 5], 20.0)  # doctest: +SKIP
    """
    parts = list(
        iter_bounded_blocks(
            network_path,
            sources,
            cutoff,
            client,
            block_size,
            reverse=reverse,
            target_mask=target_mask,
            initial_cost=initial_cost,
            max_in_flight=None,
            progress=progress,
        )
    )
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


@dataclass(frozen=True)
class ParquetSummary:
    """What :func:`bounded_table_to_parquet` wrote."""

    path: Path
    n_rows: int
    n_blocks: int


def bounded_table_to_parquet(
    network_path: str | os.PathLike[str],
    sources: npt.ArrayLike,
    cutoff: float,
    out: str | os.PathLike[str],
    client: Client | str | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    *,
    reverse: bool = False,
    target_mask: npt.ArrayLike | None = None,
    initial_cost: npt.ArrayLike | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ParquetSummary:
    """Stream the bounded table to a Parquet file, one row group per block.

    For national sizes the long table does not fit in memory (tens of millions of rows):
    blocks are written as they arrive with ``pyarrow.parquet.ParquetWriter`` (columns
    ``source_index`` int64, ``node`` int64, ``travel_time_min`` float64), to a temporary
    file renamed at the end (a failure leaves no partial file).

    Parameters
    ----------
    out : path-like
        Parquet file to write.
    overwrite : bool
        Replace an existing ``out``.
    network_path, sources, cutoff, client, block_size, reverse, target_mask, initial_cost,
    progress
        As :func:`distributed_bounded_table`.

    Returns
    -------
    ParquetSummary

    Raises
    ------
    accessmap.errors.OutputExistsError
        ``out`` exists and ``overwrite`` is false.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    dest = Path(out)
    schema = pa.schema(
        [("source_index", pa.int64()), ("node", pa.int64()), ("travel_time_min", pa.float64())]
    )
    n_rows = 0
    n_blocks = 0
    # The one atomic writer: refuses an existing ``dest`` unless overwrite, writes a
    # temporary sibling, renames it at the end, cleans temporaries of killed earlier runs.
    with atomic_file(dest, overwrite=overwrite) as tmp:
        with pq.ParquetWriter(tmp, schema) as writer:
            for s, n, d in iter_bounded_blocks(
                network_path,
                sources,
                cutoff,
                client,
                block_size,
                reverse=reverse,
                target_mask=target_mask,
                initial_cost=initial_cost,
                progress=progress,
            ):
                writer.write_table(pa.Table.from_arrays([s, n, d], schema=schema))
                n_rows += int(s.shape[0])
                n_blocks += 1
    return ParquetSummary(path=dest, n_rows=n_rows, n_blocks=n_blocks)


# ------------------------------------------------------------------------------------------
# Coverage sets for siting
# ------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------
# Exact nearest pass split by region of one graph (threads)
# ------------------------------------------------------------------------------------------


_PARTS: dict[tuple[str, int, int, int], npt.NDArray[np.int32]] = {}


def _strip_part_of(path: str, n_parts: int) -> npt.NDArray[np.int32]:
    """:func:`strip_partition` of a graph file, cached per process (same on every worker)."""
    st = Path(path).stat()
    key = (path, st.st_size, st.st_mtime_ns, n_parts)
    with _GRAPHS_LOCK:
        hit = _PARTS.get(key)
    if hit is None:
        hit = strip_partition(graph_coordinates(path)[0], n_parts)
        with _GRAPHS_LOCK:
            _PARTS[key] = hit
    return hit


def _region_pass_task(
    path: str,
    reverse: bool,
    n_parts: int,
    p: int,
    sources: IntArray,
    init: FloatArray,
    cutoff: float,
) -> tuple[IntArray, FloatArray, IntArray]:
    ip, ix, w = graph_arrays(path, reverse=reverse)
    pt = _strip_part_of(path, n_parts)
    n = int(ip.shape[0]) - 1
    dist = np.full(n, np.inf)
    lab = np.full(n, -1, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int32)
    sel = pt[sources] == p if sources.size else np.zeros(0, dtype=bool)
    labels = np.arange(sources.size, dtype=np.int64)
    nodes = np.flatnonzero(pt == p)
    _part_pass(
        np.ascontiguousarray(ip, dtype=np.int64), np.ascontiguousarray(ix, dtype=np.int32),
        np.ascontiguousarray(w, dtype=np.float64), pt, p, sources[sel], init[sel],
        labels[sel], cutoff, dist, lab, pos, max(int(nodes.size), 1),
    )  # fmt: skip
    return nodes, dist[nodes], lab[nodes]


def distributed_partitioned_nearest(
    network_path: str | os.PathLike[str],
    sources: npt.ArrayLike,
    client: Client | str | None = None,
    *,
    n_parts: int | None = None,
    reverse: bool = True,
    initial_cost: npt.ArrayLike | None = None,
    cutoff: float = float("inf"),
) -> tuple[FloatArray, IntArray, int]:
    """Nearest source for every node of one compiled graph, one region per worker, exact.

    The per-region searches of :func:`partitioned_nearest` run as Dask tasks (each worker
    maps the graph once and returns only its region's costs and labels); the border repair
    runs here. Without a client the regions run on local threads. Same answer as
    :func:`accessmap.routing.kernels.multi_source_dijkstra` on the whole graph.

    Parameters
    ----------
    network_path : path-like
        Compiled graph (readable here and on every worker).
    sources : array of int
        Source (facility) node positions.
    client : distributed.Client or str, optional
        Dask client or scheduler address; ``None`` runs on local threads.
    n_parts : int, optional
        Number of regions (vertical strips, :func:`strip_partition`); default the number of
        Dask worker threads, or of local cores.
    reverse : bool, default True
        Search the reversed graph (time from each node *to* its nearest facility).
    initial_cost : array of float, optional
        Access leg of each source (minutes).
    cutoff : float
        Costs above it are left unreached.

    Returns
    -------
    dist, label, n_repaired
        As :func:`partitioned_nearest`.
    """

    path = str(Path(network_path).resolve())
    ip, ix, w = _as_csr(*graph_arrays(path, reverse=reverse))
    n = int(ip.shape[0]) - 1
    src, init = _as_sources(sources, n, initial_cost)
    cut = _check_cutoff(cutoff)
    if client is None:
        k = int(n_parts or os.cpu_count() or 1)
        return partitioned_nearest(
            ip, ix, w, src, _strip_part_of(path, k), initial_cost=init, cutoff=cut
        )
    with _session(client) as cl:
        assert cl is not None
        k = int(n_parts or sum(cl.nthreads().values()) or 1)
        part = _strip_part_of(path, k)
        futures = [
            cl.submit(_region_pass_task, path, reverse, k, p, src, init, cut, pure=False)
            for p in range(k)
        ]
        dist = np.full(n, np.inf)
        lab = np.full(n, -1, dtype=np.int64)
        for nodes, d, lb in cl.gather(futures):
            dist[nodes] = d
            lab[nodes] = lb
    pos = np.full(n, -1, dtype=np.int32)
    repaired = int(_repair_pass(ip, ix, w, part, cut, dist, lab, pos))
    return dist, lab, repaired


# ------------------------------------------------------------------------------------------
# Nearest pass per region, per-région runs
# ------------------------------------------------------------------------------------------


def distributed_nearest(
    network_paths: Mapping[str, str | os.PathLike[str]],
    sources: Mapping[str, npt.ArrayLike],
    client: Client | str | None = None,
    *,
    reverse: bool = True,
    initial_cost: Mapping[str, npt.ArrayLike] | None = None,
    cutoff: float = float("inf"),
) -> dict[str, tuple[FloatArray, IntArray]]:
    """One nearest-facility pass per regional graph, each region a task.

    Parameters
    ----------
    network_paths : mapping of str to path
        Compiled graph of each region (e.g. one per région, built with a buffer so that
        people near a border can reach a practice across it).
    sources : mapping of str to array of int
        Facility node positions in each region's graph.
    client : distributed.Client or str, optional
        Dask client or address; ``None`` runs in-process, region after region.
    reverse : bool, default True
        Search the reversed graph, giving for every node the time *to* its nearest facility
        (patient -> practice).
    initial_cost : mapping of str to array of float, optional
        Access leg of each facility (minutes).
    cutoff : float
        Stop at this cost (``inf`` by default).

    Returns
    -------
    dict of str to (dist, label)
        As :func:`accessmap.routing.kernels.multi_source_dijkstra` for each region.
    """
    missing = sorted(set(network_paths) - set(sources))
    if missing:
        raise ConfigError(f"no sources given for region {missing[0]!r}: add it to sources=")
    keys = list(network_paths)
    init = initial_cost or {}

    def args(k: str) -> tuple[Any, ...]:
        s = np.ascontiguousarray(np.atleast_1d(np.asarray(sources[k])), dtype=np.int64)
        ic = None if k not in init else np.asarray(init[k], dtype=np.float64)
        return (str(Path(network_paths[k]).resolve()), reverse, s, ic, float(cutoff))

    if client is None:
        return {k: _nearest_task(*args(k)) for k in keys}
    with _session(client) as cl:
        assert cl is not None
        futures = [cl.submit(_nearest_task, *args(k), pure=False) for k in keys]
        results = cl.gather(futures)
    return dict(zip(keys, results, strict=True))
