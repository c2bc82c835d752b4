"""Shortest-path kernels on CSR arrays (numba, no geodata).

Two Dijkstra kernels work directly on the compressed-sparse-row arrays of a directed graph
(``indptr[n+1]``, ``indices[m]`` = head node of each edge, ``weights[m]`` >= 0, the layout of
:class:`accessmap.network.graph.RoadNetwork` and of ``scipy.sparse.csr_array``):

* :func:`multi_source_dijkstra`: one pass from many sources at once, giving for every node the
  cost of the nearest source and which source it is (the "nearest GP" query);
* :func:`bounded_dijkstra`: one bounded search per source, returned as a long table
  ``(source_index, node, dist)`` of every node (or every target node) within the cutoff (the
  catchment table of the 2SFCA family). Sources are split into chunks that run on a thread
  pool; the kernel releases the GIL (``nogil=True``) so the chunks run in parallel.

Both compute exactly what Dijkstra's algorithm (Dijkstra 1959, *Numerische Mathematik*
1:269-271) computes. :func:`bounded_dijkstra` uses an indexed binary heap supporting
decrease-key (Cormen et al., *Introduction to Algorithms*, 3rd ed., ch. 6 and 24.3), so each
node sits in the heap at most once and memory stays O(n) per search.
:func:`multi_source_dijkstra` uses a bucket queue instead (keys cut into buckets of a
fixed width, processed in order; see the comment above ``_multi_source_bucket_kernel``):
with thousands of sources the frontier holds about 100,000 nodes spread over the whole
graph, and the heap's sift operations and position updates on it cost about three times
the graph traversal itself; the bucket queue reads and writes its entries sequentially.
Costs and labels are identical to the heap kernel's (which remains the fallback for
absurd cost ranges). Kernels are compiled by numba with ``cache=True``: the machine code is
written next to this file's ``__pycache__`` and reused by later processes; :func:`warmup`
compiles them ahead of a timed run.

Tie rule (documented, deterministic): in :func:`multi_source_dijkstra` a node is labelled
with the source that minimises the pair ``(cost, source index)`` in lexicographic order,
i.e. among sources at exactly the same cost the one with the smallest index in ``sources``
wins. The heap orders on the same pair, so the rule holds even with zero-weight edges. The
same source listed twice keeps its first occurrence (or the one with the lower initial cost).

Examples
--------
>>> import numpy as np
>>> indptr = np.array([0, 1, 2, 2])          # 0 -> 1 -> 2
>>> indices = np.array([1, 2], dtype=np.int32)
>>> w = np.array([1.5, 2.0])
>>> dist, label = multi_source_dijkstra(indptr, indices, w, np.array([0]))
>>> dist.tolist(), label.tolist()
([0.0, 1.5, 3.5], [0, 0, 0])
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import numpy.typing as npt

from accessmap.errors import BadValueError

__all__ = [
    "bounded_dijkstra",
    "multi_source_dijkstra",
    "reverse_csr",
    "warmup",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# --------------------------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------------------------


# The heaps keep a copy of each entry's key next to its node, so sifting reads contiguous
# heap memory instead of jumping through the node-indexed ``dist`` array (cache friendly).
# ``pos[v]`` is the heap slot of node v: -1 never queued, -2 settled.


@numba.njit(cache=True, nogil=True)
def _lab_sift_up(
    hkey: FloatArray,
    hlab: IntArray,
    hnode: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int32],
    i: int,
) -> None:
    key = hkey[i]
    lab = hlab[i]
    node = hnode[i]
    while i > 0:
        parent = (i - 1) >> 1
        pk = hkey[parent]
        if key < pk or (key == pk and lab < hlab[parent]):
            hkey[i] = pk
            hlab[i] = hlab[parent]
            hnode[i] = hnode[parent]
            pos[hnode[i]] = i
            i = parent
        else:
            break
    hkey[i] = key
    hlab[i] = lab
    hnode[i] = node
    pos[node] = i


@numba.njit(cache=True, nogil=True)
def _lab_sift_down(
    hkey: FloatArray,
    hlab: IntArray,
    hnode: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int32],
    i: int,
    size: int,
) -> None:
    key = hkey[i]
    lab = hlab[i]
    node = hnode[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        right = child + 1
        if right < size and (
            hkey[right] < hkey[child] or (hkey[right] == hkey[child] and hlab[right] < hlab[child])
        ):
            child = right
        ck = hkey[child]
        if ck < key or (ck == key and hlab[child] < lab):
            hkey[i] = ck
            hlab[i] = hlab[child]
            hnode[i] = hnode[child]
            pos[hnode[i]] = i
            i = child
        else:
            break
    hkey[i] = key
    hlab[i] = lab
    hnode[i] = node
    pos[node] = i


@numba.njit(cache=True, nogil=True)
def _sift_up(
    hkey: FloatArray, hnode: npt.NDArray[np.int32], pos: npt.NDArray[np.int32], i: int
) -> None:
    key = hkey[i]
    node = hnode[i]
    while i > 0:
        parent = (i - 1) >> 1
        pk = hkey[parent]
        if key < pk:
            hkey[i] = pk
            hnode[i] = hnode[parent]
            pos[hnode[i]] = i
            i = parent
        else:
            break
    hkey[i] = key
    hnode[i] = node
    pos[node] = i


@numba.njit(cache=True, nogil=True)
def _sift_down(
    hkey: FloatArray, hnode: npt.NDArray[np.int32], pos: npt.NDArray[np.int32], i: int, size: int
) -> None:
    key = hkey[i]
    node = hnode[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        right = child + 1
        if right < size and hkey[right] < hkey[child]:
            child = right
        ck = hkey[child]
        if ck < key:
            hkey[i] = ck
            hnode[i] = hnode[child]
            pos[hnode[i]] = i
            i = child
        else:
            break
    hkey[i] = key
    hnode[i] = node
    pos[node] = i


@numba.njit(cache=True, nogil=True)
def _multi_source_kernel(
    indptr: IntArray,
    indices: npt.NDArray[np.int32],
    weights: FloatArray,
    sources: IntArray,
    initial_cost: FloatArray,
    cutoff: float,
) -> tuple[FloatArray, IntArray]:
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    lab = np.full(n, -1, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int32)
    hkey = np.empty(n, dtype=np.float64)
    hlab = np.empty(n, dtype=np.int64)
    hnode = np.empty(n, dtype=np.int32)
    size = 0
    for k in range(sources.shape[0]):
        s = sources[k]
        c = initial_cost[k]
        if c > cutoff:
            continue
        if c < dist[s] or (c == dist[s] and k < lab[s]):
            dist[s] = c
            lab[s] = k
            i = pos[s]
            if i == -1:
                i = size
                size += 1
            hkey[i] = c
            hlab[i] = k
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
    return dist, lab


# --------------------------------------------------------------------------------------------
# Bucket queue (the default queue of the multi-source kernel)
# --------------------------------------------------------------------------------------------

# Keys are cut into buckets of width ``delta`` (bucket index ``int(key / delta)``, monotone
# in the key), held in a circular array of ``n_buckets`` buckets (a power of two larger
# than ``max_weight / delta + 2``, so a key pushed while bucket ``cur`` is processed never
# wraps onto a live bucket). Each bucket is a linked list of blocks of ``_BLOCK`` (key, node)
# entries drawn from one pool; processed blocks return to a free list, so entries are
# written and read sequentially. Buckets are processed in increasing order; inside a bucket
# entries are taken in any order and a node is queued again whenever its cost (or, at equal
# cost, its label) improves, until the bucket is empty: a label-correcting method (Dial 1969,
# Comm. ACM 12:632; Meyer & Sanders 2003, "Delta-stepping", J. Algorithms 49:114-152). When a
# bucket is exhausted every cost in it is final. The costs are the same floating-point sums
# as Dijkstra's (for each node the minimum over paths of the left-to-right sums, the unique
# fixpoint of ``dist[v] = min(dist[u] + w(u, v))``, whatever the order of relaxation), and the
# label is the fixpoint of the tie rule, so results are identical to the heap kernel. An
# entry whose key no longer equals ``dist[node]`` is stale and skipped (lazy deletion).
#
# The pool is sized up front and never reallocated inside the loop (numba keeps arrays that
# are re-bound inside a loop in memory, which made the loop three times slower): ``n_nodes +
# n_sources`` entries plus one block per bucket, more than the queue ever holds on road
# graphs (at most one live entry per node plus the few stale ones). If it still runs out,
# the kernel returns ``ok=False`` and the caller runs again with ``n_edges + n_sources``
# entries, then, should even that not do, falls back to the binary-heap kernel.

_BLOCK = 128

# The push into a bucket is written out twice in the kernel (sources, relaxations) on
# purpose: moving it into an inlined helper with the pool counters in a small array measured
# 0.44 s instead of 0.25 s on the 1.5 M-node benchmark (the counters leave registers).


@numba.njit(cache=True, nogil=True)
def _multi_source_bucket_kernel(
    indptr: IntArray,
    indices: npt.NDArray[np.int32],
    weights: FloatArray,
    sources: IntArray,
    initial_cost: FloatArray,
    cutoff: float,
    delta: float,
    n_buckets: int,
    n_blocks: int,
) -> tuple[FloatArray, IntArray, bool]:
    n = indptr.shape[0] - 1
    ns = sources.shape[0]
    dist = np.full(n, np.inf)
    lab = np.full(n, -1, dtype=np.int64)
    if ns == 0:
        return dist, lab, True
    inv = 1.0 / delta
    bmask = n_buckets - 1
    head = np.full(n_buckets, -1, dtype=np.int64)
    tail = np.full(n_buckets, -1, dtype=np.int64)
    bnext = np.empty(n_blocks, dtype=np.int64)
    bcnt = np.zeros(n_blocks, dtype=np.int64)
    ekey = np.empty(n_blocks * _BLOCK, dtype=np.float64)
    enode = np.empty(n_blocks * _BLOCK, dtype=np.int32)
    free = np.empty(n_blocks, dtype=np.int64)
    nfree = 0
    used = 0
    order = np.argsort(initial_cost, kind="mergesort")
    sp = 0
    live = 0
    c0 = initial_cost[order[0]]
    cur = int(c0 * inv) if c0 <= cutoff else 0
    while True:
        # sources enter the queue when their bucket comes up (sorted by initial cost)
        while sp < ns:
            k = order[sp]
            c = initial_cost[k]
            if c > cutoff:
                sp = ns
                break
            if int(c * inv) > cur:
                break
            sp += 1
            s = sources[k]
            if c < dist[s] or (c == dist[s] and k < lab[s]):
                dist[s] = c
                lab[s] = k
                j = cur & bmask
                t = tail[j]
                if t == -1 or bcnt[t] == _BLOCK:
                    if nfree > 0:
                        nfree -= 1
                        nb = free[nfree]
                    elif used < n_blocks:
                        nb = used
                        used += 1
                    else:
                        return dist, lab, False
                    bnext[nb] = -1
                    bcnt[nb] = 0
                    if t == -1:
                        head[j] = nb
                    else:
                        bnext[t] = nb
                    tail[j] = nb
                    t = nb
                p = t * _BLOCK + bcnt[t]
                ekey[p] = c
                enode[p] = s
                bcnt[t] += 1
                live += 1
        if live == 0:
            if sp >= ns:
                break
            cur = int(initial_cost[order[sp]] * inv)
            continue
        j = cur & bmask
        while head[j] != -1:
            # take the whole bucket; entries pushed into it meanwhile start a new list
            blk = head[j]
            head[j] = -1
            tail[j] = -1
            while blk != -1:
                cnt = bcnt[blk]
                base = blk * _BLOCK
                live -= cnt
                for q in range(base, base + cnt):
                    du = ekey[q]
                    u = enode[q]
                    if du != dist[u]:
                        continue  # stale: improved since it was queued
                    lu = lab[u]
                    for e in range(indptr[u], indptr[u + 1]):
                        v = indices[e]
                        nd = du + weights[e]
                        if nd > cutoff:
                            continue
                        dv = dist[v]
                        if nd < dv or (nd == dv and lu < lab[v]):
                            dist[v] = nd
                            lab[v] = lu
                            jj = int(nd * inv) & bmask
                            t = tail[jj]
                            if t == -1 or bcnt[t] == _BLOCK:
                                if nfree > 0:
                                    nfree -= 1
                                    nb = free[nfree]
                                elif used < n_blocks:
                                    nb = used
                                    used += 1
                                else:
                                    return dist, lab, False
                                bnext[nb] = -1
                                bcnt[nb] = 0
                                if t == -1:
                                    head[jj] = nb
                                else:
                                    bnext[t] = nb
                                tail[jj] = nb
                                t = nb
                            p = t * _BLOCK + bcnt[t]
                            ekey[p] = nd
                            enode[p] = v
                            bcnt[t] += 1
                            live += 1
                nxt = bnext[blk]
                free[nfree] = blk
                nfree += 1
                blk = nxt
        cur += 1
    return dist, lab, True


def _bucket_params(weights: FloatArray, max_key: float) -> tuple[float, int] | None:
    """Bucket width and count for the bucket queue, or ``None`` to use the binary heap.

    The width is a quarter of the median positive edge weight (about 80 % of edges are then
    "heavy", so few nodes are queued twice in a bucket), widened if needed so that the
    circular array stays under 2**20 buckets. ``None`` when bucket indices of keys up to
    ``max_key`` would not fit exactly in an int64 (absurd costs): the heap needs no index.
    """
    max_w = float(weights.max()) if weights.size else 0.0
    if max_w <= 0.0:
        return 1.0, 4
    # median of a fixed stride sample (deterministic; a full median costs 50 ms at 4 M edges)
    sample = weights[:: max(1, weights.size // 4096)]
    sample = sample[sample > 0]
    delta = float(np.median(sample)) / 4.0 if sample.size else max_w
    delta = max(delta, max_w / float(1 << 20))
    if not math.isfinite(max_key) or max_key / delta > 2.0**52:
        return None
    n_buckets = 4
    while n_buckets < int(max_w / delta) + 3:
        n_buckets *= 2
    return delta, n_buckets


@numba.njit(cache=True, nogil=True)
def _bounded_chunk_kernel(
    indptr: IntArray,
    indices: npt.NDArray[np.int32],
    weights: FloatArray,
    sources: IntArray,
    initial_cost: FloatArray,
    source_offset: int,
    cutoff: float,
    target_mask: npt.NDArray[np.bool_],
    use_mask: bool,
) -> tuple[IntArray, IntArray, FloatArray]:
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    pos = np.full(n, -1, dtype=np.int32)
    hkey = np.empty(n, dtype=np.float64)
    hnode = np.empty(n, dtype=np.int32)
    touched = np.empty(n, dtype=np.int32)
    cap = 1024
    out_src = np.empty(cap, dtype=np.int64)
    out_node = np.empty(cap, dtype=np.int64)
    out_dist = np.empty(cap, dtype=np.float64)
    count = 0
    for k in range(sources.shape[0]):
        s = sources[k]
        c0 = initial_cost[k]
        if c0 > cutoff:
            continue
        dist[s] = c0
        hkey[0] = c0
        hnode[0] = s
        pos[s] = 0
        touched[0] = s
        n_touched = 1
        size = 1
        while size > 0:
            u = hnode[0]
            du = hkey[0]
            pos[u] = -2
            size -= 1
            if size > 0:
                hkey[0] = hkey[size]
                hnode[0] = hnode[size]
                _sift_down(hkey, hnode, pos, 0, size)
            if (not use_mask) or target_mask[u]:
                if count == cap:
                    cap *= 2
                    a = np.empty(cap, dtype=np.int64)
                    a[:count] = out_src[:count]
                    out_src = a
                    b = np.empty(cap, dtype=np.int64)
                    b[:count] = out_node[:count]
                    out_node = b
                    d = np.empty(cap, dtype=np.float64)
                    d[:count] = out_dist[:count]
                    out_dist = d
                out_src[count] = source_offset + k
                out_node[count] = u
                out_dist[count] = du
                count += 1
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                i = pos[v]
                if i == -2:
                    continue
                nd = du + weights[e]
                if nd > cutoff:
                    continue
                if nd < dist[v]:
                    dist[v] = nd
                    if i == -1:
                        touched[n_touched] = v
                        n_touched += 1
                        i = size
                        size += 1
                    hkey[i] = nd
                    hnode[i] = v
                    _sift_up(hkey, hnode, pos, i)
        for t in range(n_touched):
            node = touched[t]
            dist[node] = np.inf
            pos[node] = -1
    return out_src[:count].copy(), out_node[:count].copy(), out_dist[:count].copy()


# --------------------------------------------------------------------------------------------
# Python wrappers: validation and dtype normalisation
# --------------------------------------------------------------------------------------------


def _as_csr(
    indptr: npt.ArrayLike, indices: npt.ArrayLike, weights: npt.ArrayLike
) -> tuple[IntArray, npt.NDArray[np.int32], FloatArray]:
    ip = np.ascontiguousarray(indptr, dtype=np.int64)
    ix = np.asarray(indices)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    if ip.ndim != 1 or ip.shape[0] < 1:
        raise BadValueError("routing: indptr must be a 1-D array of length n_nodes + 1")
    n = ip.shape[0] - 1
    m = int(ip[-1])
    if ip[0] != 0 or np.any(np.diff(ip) < 0):
        raise BadValueError(
            "routing: indptr must start at 0 and be non-decreasing (a CSR row pointer); "
            f"got indptr[0]={int(ip[0])}"
        )
    if ix.shape != (m,) or w.shape != (m,):
        raise BadValueError(
            f"routing: indices and weights must have indptr[-1]={m} entries; got "
            f"{ix.shape[0] if ix.ndim else 0} indices and {w.shape[0] if w.ndim else 0} weights"
        )
    if m and (ix.min() < 0 or ix.max() >= n):
        bad = ix[(ix < 0) | (ix >= n)][0]
        raise BadValueError(
            f"routing: edge head {int(bad)} is outside the node range 0..{n - 1}; "
            "indices must be node positions, not source ids"
        )
    if m:
        bad_w = ~(w >= 0) | ~np.isfinite(w)
        if bad_w.any():
            raise BadValueError(
                f"routing: edge weights must be finite and >= 0 (Dijkstra); found "
                f"{int(bad_w.sum())} bad values, e.g. {w[bad_w][0]!r}"
            )
    return ip, np.ascontiguousarray(ix, dtype=np.int32), w


def _as_sources(
    sources: npt.ArrayLike, n: int, initial_cost: npt.ArrayLike | None
) -> tuple[IntArray, FloatArray]:
    src = np.ascontiguousarray(np.atleast_1d(np.asarray(sources)), dtype=np.int64)
    if src.ndim != 1:
        raise BadValueError("routing: sources must be a 1-D array of node positions")
    if src.size and (src.min() < 0 or src.max() >= n):
        bad = src[(src < 0) | (src >= n)][0]
        raise BadValueError(f"routing: source node {int(bad)} is outside the node range 0..{n - 1}")
    if initial_cost is None:
        init = np.zeros(src.shape[0])
    else:
        init = np.ascontiguousarray(np.atleast_1d(initial_cost), dtype=np.float64)
        if init.shape != src.shape:
            raise BadValueError(
                f"routing: initial_cost has {init.shape[0]} values for {src.shape[0]} sources"
            )
        bad = ~(init >= 0) | ~np.isfinite(init)
        if bad.any():
            raise BadValueError(
                f"routing: initial_cost must be finite and >= 0; got {init[bad][0]!r}"
            )
    return src, init


def _check_cutoff(cutoff: float) -> float:
    c = float(cutoff)
    if math.isnan(c) or c < 0:
        raise BadValueError(f"routing: cutoff must be >= 0 (or inf); got {cutoff!r}")
    return c


def multi_source_dijkstra(
    indptr: npt.ArrayLike,
    indices: npt.ArrayLike,
    weights: npt.ArrayLike,
    sources: npt.ArrayLike,
    initial_cost: npt.ArrayLike | None = None,
    cutoff: float = math.inf,
) -> tuple[FloatArray, IntArray]:
    """Cost of the nearest source for every node, in one Dijkstra pass.

    Parameters
    ----------
    indptr, indices, weights
        Directed graph in CSR form: edges ``indptr[u]:indptr[u+1]`` leave node ``u`` towards
        ``indices[e]`` with cost ``weights[e]`` (finite, >= 0). To get the cost *to* the
        sources (e.g. patient -> practice), pass the reversed graph (:func:`reverse_csr`).
    sources
        Node positions of the sources (0..n-1). Repeats are allowed.
    initial_cost
        Cost already spent at each source (e.g. the access leg from a facility to its snapped
        node); zeros by default.
    cutoff
        Nodes whose cost exceeds ``cutoff`` are left unreached (cost ``inf``, label -1);
        costs equal to the cutoff are kept.

    Returns
    -------
    dist : ndarray of float64, shape (n,)
        Minimum over sources of ``initial_cost[k] + shortest path cost``; ``inf`` if unreached.
    label : ndarray of int64, shape (n,)
        Index into ``sources`` of the nearest source, -1 if unreached. Ties: smallest index
        (see the module docstring).

    Raises
    ------
    accessmap.errors.BadValueError
        Malformed CSR arrays, negative or non-finite weights, sources out of range.
    """
    ip, ix, w = _as_csr(indptr, indices, weights)
    n = ip.shape[0] - 1
    src, init = _as_sources(sources, n, initial_cost)
    cut = _check_cutoff(cutoff)
    max_w = float(w.max()) if w.size else 0.0
    max_init = float(init.max()) if init.size else 0.0
    params = _bucket_params(w, min(cut, max_init + n * max_w))
    if params is None or src.size == 0:
        return _multi_source_kernel(ip, ix, w, src, init, cut)
    delta, n_buckets = params
    for n_entries in (n + src.size, ix.size + src.size):
        n_blocks = -(-n_entries // _BLOCK) + n_buckets + 1
        dist, label, ok = _multi_source_bucket_kernel(
            ip, ix, w, src, init, cut, delta, n_buckets, n_blocks
        )
        if ok:
            return dist, label
    return _multi_source_kernel(ip, ix, w, src, init, cut)


def bounded_dijkstra(
    indptr: npt.ArrayLike,
    indices: npt.ArrayLike,
    weights: npt.ArrayLike,
    sources: npt.ArrayLike,
    cutoff: float,
    target_mask: npt.ArrayLike | None = None,
    *,
    initial_cost: npt.ArrayLike | None = None,
    n_threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Every node within ``cutoff`` of each source, as a long table.

    One Dijkstra search per source, stopped at ``cutoff``. Sources are split into chunks run
    on a thread pool of ``n_threads`` workers; each chunk reuses one O(n) workspace, reset
    only where touched, so a search costs time proportional to the nodes it reaches.

    Parameters
    ----------
    indptr, indices, weights
        Directed graph in CSR form (see :func:`multi_source_dijkstra`).
    sources
        Node positions of the sources; each is searched independently (repeats give
        repeated rows).
    cutoff
        Maximum cost (inclusive). Must be finite or ``inf`` (``inf`` returns every reachable
        node; beware of the output size).
    target_mask
        Optional boolean array of length n: only nodes where it is true are reported (they
        are still traversed). ``None`` reports every reached node.
    initial_cost
        Cost already spent at each source (access leg); included in ``dist`` and counted
        against ``cutoff``.
    n_threads
        Worker threads; default ``os.cpu_count()``.
    progress
        Optional callback ``(done_chunks, total_chunks)``.

    Returns
    -------
    source_index, node, dist : ndarrays (int64, int64, float64)
        One row per (source, reached node), sorted by source index then by cost (settle
        order). ``source_index`` indexes ``sources``.

    Raises
    ------
    accessmap.errors.BadValueError
        Malformed CSR arrays, bad weights, sources out of range, bad mask or cutoff.
    """
    ip, ix, w = _as_csr(indptr, indices, weights)
    n = ip.shape[0] - 1
    src, init = _as_sources(sources, n, initial_cost)
    cut = _check_cutoff(cutoff)
    if target_mask is None:
        mask = np.zeros(1, dtype=np.bool_)
        use_mask = False
    else:
        mask = np.ascontiguousarray(target_mask, dtype=np.bool_)
        if mask.shape != (n,):
            raise BadValueError(
                f"routing: target_mask must be a boolean array of length n_nodes={n}; "
                f"got shape {mask.shape}"
            )
        use_mask = True
    if src.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    workers = max(1, int(n_threads or os.cpu_count() or 1))
    n_chunks = min(src.size, workers * 4)
    bounds = np.linspace(0, src.size, n_chunks + 1).astype(np.int64)
    chunks = [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]

    def run(ab: tuple[int, int]) -> tuple[IntArray, IntArray, FloatArray]:
        a, b = ab
        return _bounded_chunk_kernel(ip, ix, w, src[a:b], init[a:b], a, cut, mask, use_mask)

    results: list[tuple[IntArray, IntArray, FloatArray]] = []
    if workers == 1 or len(chunks) == 1:
        for i, ab in enumerate(chunks):
            results.append(run(ab))
            if progress is not None:
                progress(i + 1, len(chunks))
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for i, res in enumerate(pool.map(run, chunks)):
                results.append(res)
                if progress is not None:
                    progress(i + 1, len(chunks))
    return (
        np.concatenate([r[0] for r in results]),
        np.concatenate([r[1] for r in results]),
        np.concatenate([r[2] for r in results]),
    )


def reverse_csr(
    indptr: npt.ArrayLike, indices: npt.ArrayLike, weights: npt.ArrayLike
) -> tuple[IntArray, npt.NDArray[np.int32], FloatArray]:
    """Transpose a CSR graph (every edge ``u -> v`` becomes ``v -> u``, same weight).

    A stable counting sort on the head node: O(n + m), no scipy needed.

    Returns
    -------
    indptr, indices, weights
        The reversed graph in CSR form (int64, int32, float64).
    """
    ip, ix, w = _as_csr(indptr, indices, weights)
    n = ip.shape[0] - 1
    tails = np.repeat(np.arange(n, dtype=np.int32), np.diff(ip))
    order = np.argsort(ix, kind="stable")
    rev_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ix, minlength=n), out=rev_ptr[1:])
    return rev_ptr, tails[order], w[order]


def warmup() -> None:
    """Compile (or load from the on-disk cache) every kernel on a 3-node graph."""
    ip = np.array([0, 1, 2, 2], dtype=np.int64)
    ix = np.array([1, 2], dtype=np.int32)
    w = np.array([1.0, 1.0])
    multi_source_dijkstra(ip, ix, w, np.array([0]))
    _multi_source_kernel(ip, ix, w, np.array([0]), np.zeros(1), math.inf)  # the fallback
    bounded_dijkstra(ip, ix, w, np.array([0]), 5.0, np.ones(3, dtype=bool), n_threads=1)
    bounded_dijkstra(ip, ix, w, np.array([0]), 5.0, None, n_threads=1)
