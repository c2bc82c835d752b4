"""Compiled graphs on disk, shared by processes: a folder of ``.npy`` files opened with mmap.

The network cache of :func:`accessmap.network.build.load_network` stores each compiled graph
as a **store folder** (:func:`write_store`): one ``.npy`` file per array (``indptr``,
``indices``, ``travel_time_min``, ``length_m``, ``x``, ``y``, ``node_ids``) and ``meta.json``.
:func:`read_store` and :func:`graph_arrays` open the arrays with
``np.load(..., mmap_mode="c")``: no copy, the operating system shares the pages between the
processes of one machine, and a per-process cache keyed by (path, size, modification time)
reads each graph once. Dask workers (:mod:`accessmap.parallel`) read graphs this way instead
of receiving them with each task. A ``.npz`` written by
:meth:`accessmap.network.graph.RoadNetwork.save` is accepted too (read whole).

May import: :mod:`accessmap.errors`, :mod:`accessmap.network.graph`, :mod:`accessmap.routing`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from accessmap.errors import UnreadableFileError
from accessmap.network.graph import RoadNetwork, default_cache_dir
from accessmap.outputs.atomic import atomic_outputs
from accessmap.routing.kernels import reverse_csr, warmup

log = logging.getLogger(__name__)

__all__ = [
    "CSR",
    "clear_graph_cache",
    "ensure_network_file",
    "graph_arrays",
    "graph_cache_info",
    "graph_coordinates",
    "read_store",
    "write_store",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: ``(indptr, indices, travel_time_min)`` of a compiled graph.
CSR = tuple[IntArray, npt.NDArray[np.int32], FloatArray]


_GRAPHS: dict[tuple[str, int, int, bool], CSR] = {}


_GRAPHS_LOCK = threading.Lock()


#: How many times this process read a graph file (the tests check it is once per worker).
_LOADS = [0]


_CSR_FIELDS = ("indptr", "indices", "travel_time_min")


#: Format tag of a store folder (``meta.json``).
STORE_FORMAT = "accessmap-roadnetwork-store-1"
_ALL_FIELDS = ("indptr", "indices", "travel_time_min", "length_m", "x", "y", "node_ids")


def write_store(network: RoadNetwork, folder: str | os.PathLike[str]) -> Path:
    """Write ``network`` as a store folder: one ``.npy`` per array plus ``meta.json``.

    The folder is written through a temporary sibling and renamed into place
    (:func:`accessmap.outputs.atomic.atomic_outputs`), so a reader never sees half of it.
    Arrays are plain ``.npy`` files, so :func:`read_store` and the worker processes map them
    with ``np.load(..., mmap_mode="c")``: no copy, pages shared between processes.
    """
    target = Path(folder)
    (unit,) = atomic_outputs([target], overwrite=True, directories=[True])
    with unit as (tmp,):
        for name in _ALL_FIELDS:
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(getattr(network, name)))
        (tmp / "meta.json").write_text(
            json.dumps({"format": STORE_FORMAT, "meta": network.meta}, default=str),
            encoding="utf-8",
        )
    return target


def _open(folder: Path, name: str) -> np.ndarray:
    try:
        return np.load(folder / f"{name}.npy", mmap_mode="c", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UnreadableFileError(
            f"{folder}: array {name!r} is missing or unreadable ({exc}); delete the folder "
            "and rebuild it with accessmap.network.build.load_network"
        ) from exc


def read_store(folder: str | os.PathLike[str]) -> RoadNetwork:
    """Open a store folder written by :func:`write_store`, arrays memory-mapped (copy-on-write).

    Raises
    ------
    UnreadableFileError
        Not a store folder (no ``meta.json`` or another format), or an array is unreadable.
    """
    d = Path(folder)
    try:
        head = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnreadableFileError(
            f"{d} is not an accessmap road-network store ({exc}); rebuild it with "
            "accessmap.network.build.load_network"
        ) from exc
    if head.get("format") != STORE_FORMAT:
        raise UnreadableFileError(
            f"{d}: unknown store format {head.get('format')!r}; rebuild it with load_network"
        )
    arrays = {name: _open(d, name) for name in _ALL_FIELDS}
    return RoadNetwork(meta=dict(head.get("meta", {})), **arrays)


def _csr_of(p: Path, fields: Sequence[str]) -> dict[str, np.ndarray]:
    """Arrays of a store folder (memory-mapped) or of a ``.npz`` file (read whole)."""
    if p.is_dir():
        return {name: _open(p, name) for name in fields}
    with np.load(p, allow_pickle=False) as data:
        missing = [f for f in fields if f not in data.files]
        if missing:
            raise UnreadableFileError(
                f"{p}: member {missing[0]!r} missing; not an accessmap road-network file "
                "(write it with RoadNetwork.save or load_network)"
            )
        return {name: data[name] for name in fields}


def graph_arrays(network_path: str | os.PathLike[str], *, reverse: bool = False) -> CSR:
    """CSR arrays of a compiled graph, memory-mapped once per process and cached.

    Parameters
    ----------
    network_path : path-like
        A ``.npz`` written by :meth:`accessmap.network.graph.RoadNetwork.save` (the network cache).
    reverse : bool
        Return the transposed graph (edges reversed), built once with
        :func:`accessmap.routing.kernels.reverse_csr` and cached too: a search from facilities on it
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
        fwd = graph_arrays(p, reverse=False)
        csr: CSR = reverse_csr(*fwd)
    else:
        try:
            arrays = _csr_of(p, _CSR_FIELDS)
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise UnreadableFileError(
                f"{p}: cannot read compiled road network ({type(exc).__name__}: {exc}); "
                "rebuild it with accessmap.network.graph.load_network"
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
        arrays = _csr_of(p, ("x", "y"))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnreadableFileError(
            f"{p}: cannot read compiled road network ({type(exc).__name__}: {exc}); "
            "rebuild it with accessmap.network.graph.load_network"
        ) from exc
    return arrays["x"], arrays["y"]


def ensure_network_file(
    network: RoadNetwork, *, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Path of a compiled graph file for ``network``, writing one if it has none.

    Networks from :func:`accessmap.network.graph.load_network` already live in the cache
    (``meta["cache_file"]``); others (built with ``from_arrays``, or with ``use_cache=False``)
    are saved once to ``cache_dir`` (default :func:`accessmap.network.graph.default_cache_dir`)
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
    cached = network.meta.get("cache_file")
    if cached and Path(cached).exists():
        return Path(cached)
    h = hashlib.sha256()
    for arr in (network.indptr, network.indices, network.travel_time_min):
        h.update(np.ascontiguousarray(arr).tobytes())
    d = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = d / f"adhoc-{network.n_nodes}-{h.hexdigest()[:20]}.graph"
    if not target.is_dir():
        write_store(network, target)
    return target


def _warm(network_path: str, reverse: bool) -> int:

    warmup()
    ip = graph_arrays(network_path, reverse=reverse)[0]
    return int(ip.shape[0]) - 1


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
