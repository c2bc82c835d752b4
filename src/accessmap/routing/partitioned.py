"""Nearest-facility search split by strips of the graph, with a repair pass (exact).

:func:`partitioned_nearest` runs the multi-source Dijkstra of
:func:`accessmap.routing.kernels.multi_source_dijkstra` on each vertical strip of the node set
separately (bounded memory per task), then repairs the labels across strip borders until no
label improves; the result equals the single pass, label for label (same tie rule). It is
the kernel of :func:`accessmap.parallel.distributed_partitioned_nearest`.

May import: :mod:`accessmap.errors`, :mod:`accessmap.routing.kernels`.
"""

from __future__ import annotations

import os

import numba
import numpy as np
import numpy.typing as npt

from accessmap.errors import BadValueError, ConfigError
from accessmap.routing.kernels import (
    _as_csr,
    _as_sources,
    _check_cutoff,
    _lab_sift_down,
    _lab_sift_up,
)

__all__ = ["partitioned_nearest", "strip_partition"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


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
    lexicographic order, the tie rule of :func:`accessmap.routing.kernels.multi_source_dijkstra`.
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
    same tie rule, equals :func:`accessmap.routing.kernels.multi_source_dijkstra` on the whole graph
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
