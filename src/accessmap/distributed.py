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
order, and each block runs the same kernel (:func:`accessmap.routing.bounded_dijkstra` /
:func:`~accessmap.routing.multi_source_dijkstra`), whose output for one source depends only
on that source's search; the concatenated result is therefore identical, array for array, to
one single-process call over all sources (checked in ``tests/test_distributed.py`` on a
``LocalCluster`` with two worker processes).

**The graph is not shipped with the tasks.** Tasks carry the path of the compiled graph (the
uncompressed ``.npz`` of :meth:`accessmap.network.RoadNetwork.save`, normally the shared
network cache of :func:`accessmap.network.load_network`); each worker process memory-maps
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
import threading
import zipfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import numpy.typing as npt

from accessmap.errors import BadValueError, ConfigError, UnreadableFileError
from accessmap.routing import _lab_sift_down, _lab_sift_up

if TYPE_CHECKING:
    from distributed import Client

    from accessmap.network import RoadNetwork
    from accessmap.pipeline import ScoreParams, ScoreResult

log = logging.getLogger(__name__)

__all__ = [
    "BoundedTable",
    "ParquetSummary",
    "bounded_table_to_parquet",
    "clear_graph_cache",
    "connect",
    "dask_client",
    "distributed_bounded_table",
    "distributed_coverage_sets",
    "distributed_nearest",
    "distributed_partitioned_nearest",
    "ensure_network_file",
    "graph_arrays",
    "graph_cache_info",
    "graph_coordinates",
    "iter_bounded_blocks",
    "partitioned_nearest",
    "preload_graph",
    "run_regions",
    "strip_partition",
]

#: Default number of sources per task (assumption, see the module docstring).
DEFAULT_BLOCK_SIZE = 256

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
CSR = tuple[IntArray, npt.NDArray[np.int32], FloatArray]
#: ``(source_index, node, dist)`` as returned by :func:`accessmap.routing.bounded_dijkstra`.
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

_GRAPHS: dict[tuple[str, int, int, bool], CSR] = {}
_GRAPHS_LOCK = threading.Lock()
#: How many times this process read a graph file (the tests check it is once per worker).
_LOADS = [0]
_CSR_FIELDS = ("indptr", "indices", "travel_time_min")


def _mmap_npz(path: Path, fields: Sequence[str] = _CSR_FIELDS) -> dict[str, np.ndarray]:
    """Memory-map the CSR members of an uncompressed ``.npz`` (copy-on-write, zero copy).

    ``np.load(..., mmap_mode="r")`` does not map ``.npz`` members, so each stored ``.npy``
    member is located in the zip (local header + name + extra field) and mapped with
    ``np.memmap``. Compressed members fall back to a normal read.
    """
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        names = {i.filename: i for i in zf.infolist()}
        for name in fields:
            info = names.get(name + ".npy")
            if info is None:
                raise UnreadableFileError(
                    f"{path}: member {name!r} missing; not an accessmap road-network file "
                    "(write it with RoadNetwork.save or load_network)"
                )
            if info.compress_type != zipfile.ZIP_STORED:
                with zf.open(info) as member:
                    out[name] = np.lib.format.read_array(member, allow_pickle=False)
                continue
            fh.seek(info.header_offset)
            local = fh.read(30)
            if local[:4] != b"PK\x03\x04":
                raise UnreadableFileError(f"{path}: corrupt zip header for {name!r}")
            n_name = int.from_bytes(local[26:28], "little")
            n_extra = int.from_bytes(local[28:30], "little")
            fh.seek(info.header_offset + 30 + n_name + n_extra)
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            offset = fh.tell()
            if int(np.prod(shape)) == 0:
                out[name] = np.zeros(shape, dtype=dtype)
            else:
                out[name] = np.memmap(
                    path,
                    dtype=dtype,
                    mode="c",  # copy-on-write: writeable for numba, pages still shared
                    offset=offset,
                    shape=shape,
                    order="F" if fortran else "C",
                )
    return out


def graph_arrays(network_path: str | os.PathLike[str], *, reverse: bool = False) -> CSR:
    """CSR arrays of a compiled graph, memory-mapped once per process and cached.

    Parameters
    ----------
    network_path : path-like
        A ``.npz`` written by :meth:`accessmap.network.RoadNetwork.save` (the network cache).
    reverse : bool
        Return the transposed graph (edges reversed), built once with
        :func:`accessmap.routing.reverse_csr` and cached too: a search from facilities on it
        gives patient -> practice times.

    Returns
    -------
    indptr, indices, travel_time_min : ndarrays

    Raises
    ------
    UnreadableFileError
        The file is missing or not a road-network file.
    """
    p = Path(network_path).resolve()
    try:
        st = p.stat()
    except OSError as exc:
        raise UnreadableFileError(
            f"compiled road network {p} cannot be read on this machine ({exc}); on a "
            "cluster the network cache must be on a file system every worker sees"
        ) from exc
    key = (str(p), st.st_size, st.st_mtime_ns, reverse)
    with _GRAPHS_LOCK:
        hit = _GRAPHS.get(key)
    if hit is not None:
        return hit
    if reverse:
        from accessmap.routing import reverse_csr

        fwd = graph_arrays(p, reverse=False)
        csr: CSR = reverse_csr(*fwd)
    else:
        try:
            arrays = _mmap_npz(p)
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise UnreadableFileError(
                f"{p}: cannot read compiled road network ({type(exc).__name__}: {exc}); "
                "rebuild it with accessmap.network.load_network"
            ) from exc
        csr = (arrays["indptr"], arrays["indices"], arrays["travel_time_min"])
        _LOADS[0] += 1
        log.debug("mapped compiled graph %s (%d nodes)", p, int(csr[0].shape[0]) - 1)
    with _GRAPHS_LOCK:
        # drop stale versions of the same file (rebuilt cache)
        for k in [k for k in _GRAPHS if k[0] == key[0] and k[1:3] != key[1:3]]:
            del _GRAPHS[k]
        _GRAPHS[key] = csr
    return csr


def graph_coordinates(
    network_path: str | os.PathLike[str],
) -> tuple[FloatArray, FloatArray]:
    """Node coordinates ``x, y`` (EPSG:2154 metres) of a compiled graph, memory-mapped.

    Used to cut the graph into regions (:func:`strip_partition`) without loading it whole.
    """
    p = Path(network_path).resolve()
    try:
        arrays = _mmap_npz(p, ("x", "y"))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnreadableFileError(
            f"{p}: cannot read compiled road network ({type(exc).__name__}: {exc}); "
            "rebuild it with accessmap.network.load_network"
        ) from exc
    return arrays["x"], arrays["y"]


def ensure_network_file(
    network: RoadNetwork, *, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Path of a compiled graph file for ``network``, writing one if it has none.

    Networks from :func:`accessmap.network.load_network` already live in the cache
    (``meta["cache_file"]``); others (built with ``from_arrays``, or with ``use_cache=False``)
    are saved once to ``cache_dir`` (default :func:`accessmap.network.default_cache_dir`)
    under a name hashed from their arrays, so that workers can read them.

    Parameters
    ----------
    network : RoadNetwork
        The graph the workers must search.
    cache_dir : path-like, optional
        Where to write it (a file system every worker sees).

    Returns
    -------
    Path
    """
    import hashlib

    from accessmap.network import default_cache_dir

    cached = network.meta.get("cache_file")
    if cached and Path(cached).is_file():
        return Path(cached)
    h = hashlib.sha256()
    for arr in (network.indptr, network.indices, network.travel_time_min):
        h.update(np.ascontiguousarray(arr).tobytes())
    d = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = d / f"adhoc-{network.n_nodes}-{h.hexdigest()[:20]}.npz"
    if not target.is_file():
        network.save(target)
    return target


def _warm(network_path: str, reverse: bool) -> int:
    from accessmap.routing import warmup

    warmup()
    ip = graph_arrays(network_path, reverse=reverse)[0]
    return int(ip.shape[0]) - 1


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


def clear_graph_cache() -> None:
    """Forget every cached graph in this process (tests, or to free memory)."""
    with _GRAPHS_LOCK:
        _GRAPHS.clear()


def graph_cache_info() -> dict[str, int]:
    """Graphs cached in this process and how many times a graph file was read.

    Run it on every worker with ``client.run(graph_cache_info)`` to check that each worker
    read the graph once, however many tasks it ran.
    """
    return {"cached": len(_GRAPHS), "loads": _LOADS[0]}


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
    from accessmap.routing import bounded_dijkstra

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
    from accessmap.routing import multi_source_dijkstra

    ip, ix, w = graph_arrays(network_path, reverse=reverse)
    return multi_source_dijkstra(ip, ix, w, sources, initial_cost, cutoff)


def _run_region_task(
    code: str, params: ScoreParams | None, data_dir: str | None, func: Callable[..., Any] | None
) -> Any:
    if func is not None:
        return func(code)
    import dataclasses

    from accessmap.pipeline import ScoreParams, run_score

    p = dataclasses.replace(params or ScoreParams(), region=code)
    return run_score(data_dir=data_dir, params=p)


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

    The result is identical to ``accessmap.routing.bounded_dijkstra(indptr, indices,
    travel_time_min, sources, cutoff, target_mask, initial_cost=...)`` on the whole graph.

    Parameters
    ----------
    network_path : path-like
        Compiled graph (``.npz`` of :meth:`accessmap.network.RoadNetwork.save`; the
        ``meta["cache_file"]`` of :func:`accessmap.network.load_network`). Workers read it
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

    from accessmap.errors import OutputExistsError

    dest = Path(out)
    if dest.exists() and not overwrite:
        raise OutputExistsError(f"{dest} exists: pass overwrite=True to replace it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    schema = pa.schema(
        [("source_index", pa.int64()), ("node", pa.int64()), ("travel_time_min", pa.float64())]
    )
    n_rows = 0
    n_blocks = 0
    try:
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
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ParquetSummary(path=dest, n_rows=n_rows, n_blocks=n_blocks)


# ------------------------------------------------------------------------------------------
# Coverage sets for siting
# ------------------------------------------------------------------------------------------


def distributed_coverage_sets(
    network_path: str | os.PathLike[str],
    candidate_nodes: npt.ArrayLike,
    demand_nodes: npt.ArrayLike,
    threshold_min: float,
    client: Client | str | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Which demand points each candidate site covers within ``threshold_min`` (by road).

    Coverage is in the patient -> practice direction: demand point ``i`` is covered by
    candidate ``j`` when the travel time from ``i`` to ``j`` is at most the threshold
    (Church & ReVelle 1974, MCLP coverage sets). It is computed as one bounded search per
    candidate on the reversed graph, restricted to demand nodes, in blocks of candidates.

    Parameters
    ----------
    network_path : path-like
        Compiled graph (see :func:`distributed_bounded_table`).
    candidate_nodes : array of int
        Node position of each candidate site (row order of the result).
    demand_nodes : array of int
        Node position of each demand point (column order of the result). Several demand
        points may share a node.
    threshold_min : float
        Coverage radius in minutes (inclusive).
    client, block_size, progress
        As :func:`distributed_bounded_table`.

    Returns
    -------
    scipy.sparse.csr_array of bool, shape (n_candidates, n_demand)
        ``A[j, i]`` is true when candidate ``j`` covers demand point ``i``; the usual input
        of MCLP/LSCP solvers (spopt ``from_cost_matrix`` uses the same orientation after
        transposition).
    """
    import scipy.sparse as sp

    dem = np.ascontiguousarray(np.atleast_1d(np.asarray(demand_nodes)), dtype=np.int64)
    cand = np.ascontiguousarray(np.atleast_1d(np.asarray(candidate_nodes)), dtype=np.int64)
    ip, _, _ = graph_arrays(network_path)
    n = int(ip.shape[0]) - 1
    if dem.size and (dem.min() < 0 or dem.max() >= n):
        bad = dem[(dem < 0) | (dem >= n)][0]
        raise BadValueError(f"demand node {int(bad)} is outside the node range 0..{n - 1}")
    mask = np.zeros(n, dtype=np.bool_)
    mask[dem] = True
    src, node, _ = distributed_bounded_table(
        network_path,
        cand,
        threshold_min,
        client,
        block_size,
        reverse=True,
        target_mask=mask,
        progress=progress,
    )
    # node -> demand columns (a node may host several demand points)
    order = np.argsort(dem, kind="stable")
    sorted_nodes = dem[order]
    lo = np.searchsorted(sorted_nodes, node, side="left")
    hi = np.searchsorted(sorted_nodes, node, side="right")
    counts = hi - lo
    rows = np.repeat(src, counts)
    starts = np.repeat(lo, counts)
    within = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    cols = order[starts + within]
    data = np.ones(rows.size, dtype=bool)
    return sp.csr_array((data, (rows, cols)), shape=(cand.size, dem.size))


# ------------------------------------------------------------------------------------------
# Exact nearest pass split by region of one graph (threads)
# ------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _part_pass(
    indptr: IntArray,
    indices: npt.NDArray[np.int32],
    weights: FloatArray,
    part: npt.NDArray[np.int32],
    p: int,
    sources: IntArray,
    init: FloatArray,
    labels: IntArray,
    cutoff: float,
    dist: FloatArray,
    lab: IntArray,
    pos: npt.NDArray[np.int32],
    cap: int,
) -> None:
    """Multi-source Dijkstra restricted to the nodes of part ``p`` (edges leaving it skipped).

    Writes only the entries of part-``p`` nodes in the shared ``dist``/``lab``/``pos``
    arrays, so the parts run on concurrent threads. Keys are ``(cost, source label)`` in
    lexicographic order, the tie rule of :func:`accessmap.routing.multi_source_dijkstra`.
    """
    hkey = np.empty(cap, dtype=np.float64)
    hlab = np.empty(cap, dtype=np.int64)
    hnode = np.empty(cap, dtype=np.int32)
    size = 0
    for k in range(sources.shape[0]):
        s = sources[k]
        c = init[k]
        lk = labels[k]
        if c > cutoff:
            continue
        if c < dist[s] or (c == dist[s] and lk < lab[s]):
            dist[s] = c
            lab[s] = lk
            i = pos[s]
            if i == -1:
                i = size
                size += 1
            hkey[i] = c
            hlab[i] = lk
            hnode[i] = s
            _lab_sift_up(hkey, hlab, hnode, pos, i)
    while size > 0:
        u = hnode[0]
        du = hkey[0]
        lu = hlab[0]
        pos[u] = -2
        size -= 1
        if size > 0:
            hkey[0] = hkey[size]
            hlab[0] = hlab[size]
            hnode[0] = hnode[size]
            _lab_sift_down(hkey, hlab, hnode, pos, 0, size)
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            if part[v] != p:
                continue
            i = pos[v]
            if i == -2:
                continue
            nd = du + weights[e]
            if nd > cutoff:
                continue
            if nd < dist[v] or (nd == dist[v] and lu < lab[v]):
                dist[v] = nd
                lab[v] = lu
                if i == -1:
                    i = size
                    size += 1
                hkey[i] = nd
                hlab[i] = lu
                hnode[i] = v
                _lab_sift_up(hkey, hlab, hnode, pos, i)


@numba.njit(cache=True, nogil=True)
def _repair_pass(
    indptr: IntArray,
    indices: npt.NDArray[np.int32],
    weights: FloatArray,
    part: npt.NDArray[np.int32],
    cutoff: float,
    dist: FloatArray,
    lab: IntArray,
    pos: npt.NDArray[np.int32],
) -> int:
    """Dijkstra warm-started from the per-part results, seeded by the edges between parts.

    After :func:`_part_pass` every edge inside a part is satisfied; only edges between parts
    can be violated. Their heads are improved and queued, and an ordinary Dijkstra loop (all
    edges) propagates the improvements. Costs only grow along a path (weights >= 0), so a
    node popped here is final, as in Dijkstra's proof; nodes never queued keep their per-part
    result, which is then exact. Returns the number of nodes improved.
    """
    n = indptr.shape[0] - 1
    pos[:] = -1
    hkey = np.empty(n, dtype=np.float64)
    hlab = np.empty(n, dtype=np.int64)
    hnode = np.empty(n, dtype=np.int32)
    size = 0
    for u in range(n):
        du = dist[u]
        if du == np.inf:
            continue
        lu = lab[u]
        pu = part[u]
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            if part[v] == pu:
                continue
            nd = du + weights[e]
            if nd > cutoff:
                continue
            if nd < dist[v] or (nd == dist[v] and lu < lab[v]):
                dist[v] = nd
                lab[v] = lu
                i = pos[v]
                if i == -1:
                    i = size
                    size += 1
                hkey[i] = nd
                hlab[i] = lu
                hnode[i] = v
                _lab_sift_up(hkey, hlab, hnode, pos, i)
    improved = 0
    while size > 0:
        u = hnode[0]
        du = hkey[0]
        lu = hlab[0]
        pos[u] = -2
        improved += 1
        size -= 1
        if size > 0:
            hkey[0] = hkey[size]
            hlab[0] = hlab[size]
            hnode[0] = hnode[size]
            _lab_sift_down(hkey, hlab, hnode, pos, 0, size)
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            i = pos[v]
            if i == -2:
                continue
            nd = du + weights[e]
            if nd > cutoff:
                continue
            if nd < dist[v] or (nd == dist[v] and lu < lab[v]):
                dist[v] = nd
                lab[v] = lu
                if i == -1:
                    i = size
                    size += 1
                hkey[i] = nd
                hlab[i] = lu
                hnode[i] = v
                _lab_sift_up(hkey, hlab, hnode, pos, i)
    return improved


def strip_partition(x: npt.ArrayLike, n_parts: int) -> npt.NDArray[np.int32]:
    """Cut nodes into ``n_parts`` vertical strips of equal node counts (by x coordinate)."""
    xs = np.asarray(x, dtype=np.float64)
    if n_parts < 1:
        raise ConfigError(f"n_parts must be >= 1, got {n_parts!r}")
    if n_parts == 1 or xs.size == 0:
        return np.zeros(xs.size, dtype=np.int32)
    cuts = np.quantile(xs, np.linspace(0.0, 1.0, n_parts + 1)[1:-1])
    return np.searchsorted(cuts, xs, side="right").astype(np.int32)


def partitioned_nearest(
    indptr: npt.ArrayLike,
    indices: npt.ArrayLike,
    weights: npt.ArrayLike,
    sources: npt.ArrayLike,
    part: npt.ArrayLike,
    *,
    initial_cost: npt.ArrayLike | None = None,
    cutoff: float = float("inf"),
    n_threads: int | None = None,
) -> tuple[FloatArray, IntArray, int]:
    """Nearest source for every node, one region of the graph per thread, exact.

    A single multi-source Dijkstra visits every node once and cannot use a second core. This
    splits the graph into regions (``part``, e.g. :func:`strip_partition`), runs the
    multi-source search inside each region concurrently (GIL released), then repairs across
    region borders with one Dijkstra warm-started from those results (only the nodes whose
    nearest source lies across a border are touched). The answer, costs and labels with the
    same tie rule, equals :func:`accessmap.routing.multi_source_dijkstra` on the whole graph
    (checked in ``tests/test_distributed.py``).

    Parameters
    ----------
    indptr, indices, weights
        CSR graph (for patient -> practice times, the reversed graph).
    sources
        Source node positions.
    part
        Region of each node, integers ``0 .. k-1``.
    initial_cost
        Access leg of each source (zeros by default).
    cutoff
        Costs above it are left unreached.
    n_threads
        Threads for the per-region passes (default: one per region, at most ``cpu_count``).

    Returns
    -------
    dist, label, n_repaired
        As ``multi_source_dijkstra`` (``label`` indexes ``sources``), plus the number of
        nodes the border repair improved.
    """
    from concurrent.futures import ThreadPoolExecutor

    from accessmap.routing import _as_csr, _as_sources, _check_cutoff

    ip, ix, w = _as_csr(indptr, indices, weights)
    n = int(ip.shape[0]) - 1
    src, init = _as_sources(sources, n, initial_cost)
    cut = _check_cutoff(cutoff)
    pt = np.ascontiguousarray(part, dtype=np.int32)
    if pt.shape != (n,) or (n and (pt.min() < 0)):
        raise BadValueError(
            f"part must give a region number >= 0 for each of the {n} nodes; got shape {pt.shape}"
        )
    k = int(pt.max()) + 1 if n else 1
    dist = np.full(n, np.inf)
    lab = np.full(n, -1, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int32)
    counts = np.bincount(pt, minlength=k)
    src_part = pt[src] if src.size else np.zeros(0, dtype=np.int32)
    labels = np.arange(src.size, dtype=np.int64)

    def run(p: int) -> None:
        sel = src_part == p
        _part_pass(
            ip, ix, w, pt, p, src[sel], init[sel], labels[sel], cut, dist, lab, pos,
            max(int(counts[p]), 1),
        )  # fmt: skip

    workers = max(1, min(k, int(n_threads or os.cpu_count() or 1)))
    if workers == 1:
        for p in range(k):
            run(p)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, range(k)))
    repaired = int(_repair_pass(ip, ix, w, pt, cut, dist, lab, pos))
    return dist, lab, repaired


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
    :func:`accessmap.routing.multi_source_dijkstra` on the whole graph.

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
    from accessmap.routing import _as_csr, _as_sources, _check_cutoff

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
        As :func:`accessmap.routing.multi_source_dijkstra` for each region.
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


def run_regions(
    regions: Sequence[str],
    client: Client | str | None = None,
    *,
    params: ScoreParams | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    func: Callable[[str], Any] | None = None,
) -> dict[str, ScoreResult | Any]:
    """Run the scoring pipeline once per région (or département), each run a task.

    Parameters
    ----------
    regions : sequence of str
        Codes accepted by :func:`accessmap.national.resolve_region` (``"76"``, ``"11"``...).
    client : distributed.Client or str, optional
        Dask client or address; ``None`` runs them one after the other in this process.
    params : ScoreParams, optional
        Parameters shared by every run; ``region`` is replaced by each code.
    data_dir : path, optional
        Data directory, which must be readable at the same path on every worker.
    func : callable, optional
        Run ``func(code)`` instead of :func:`accessmap.pipeline.run_score` (e.g. a
        lighter crow-fly summary); must be importable on the workers.

    Returns
    -------
    dict of str to ScoreResult
        In the order of ``regions``.
    """
    from accessmap.national import resolve_region

    codes = list(regions)
    for c in codes:
        resolve_region(c)  # fail early on an unknown code
    dd = None if data_dir is None else str(Path(data_dir).resolve())
    if client is None:
        return {c: _run_region_task(c, params, dd, func) for c in codes}
    with _session(client) as cl:
        assert cl is not None
        futures = [cl.submit(_run_region_task, c, params, dd, func, pure=False) for c in codes]
        results = cl.gather(futures)
    return dict(zip(codes, results, strict=True))
