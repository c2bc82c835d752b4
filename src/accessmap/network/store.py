"""Compiled graphs on disk, shared by processes: memory-mapped CSR arrays with a per-process cache.

A compiled graph is the uncompressed ``.npz`` that :meth:`accessmap.network.graph.RoadNetwork.save`
writes (normally in the network cache of :func:`accessmap.network.graph.load_network`). Its
``.npy`` members are stored uncompressed, so they are memory-mapped in place
(:func:`graph_arrays`; the operating system shares the pages between the processes of one
machine) and cached once per process keyed by (path, size, modification time). Dask workers
(:mod:`accessmap.parallel`) read graphs this way instead of receiving them with each task.

May import: :mod:`accessmap.errors`, :mod:`accessmap.network.graph`, :mod:`accessmap.routing`.
"""

from __future__ import annotations

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
from accessmap.routing.kernels import reverse_csr, warmup

log = logging.getLogger(__name__)

__all__ = [
    "CSR",
    "clear_graph_cache",
    "ensure_network_file",
    "graph_arrays",
    "graph_cache_info",
    "graph_coordinates",
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
            arrays = _mmap_npz(p)
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
        arrays = _mmap_npz(p, ("x", "y"))
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
    import hashlib


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
