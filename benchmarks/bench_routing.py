"""Routing benchmark: accessmap kernels vs networkx vs pandana on the same queries.

Run through ``python -m benchmarks.run`` (or ``python -m benchmarks.bench_routing``). Not a
test: it prints times, ratios and memory, and nothing asserts on them.

Sections
--------
1. Every real road extract of the data directory (``$ACCESSMAP_DATA_DIR``, default
   ``../shared/data``): nearest-facility cost for every node from 50 facilities
   (accessmap ``multi_source_dijkstra`` vs networkx ``multi_source_dijkstra_path_length``
   vs pandana ``nearest_pois``) and a bounded table from 500 origins to every node within
   10 min (accessmap ``bounded_dijkstra`` vs networkx ``single_source_dijkstra_path_length``
   with ``cutoff`` vs pandana ``nodes_in_range``).
2. The generated road-like graph (:mod:`benchmarks.generate`) at 1.5 M nodes: nearest from
   2,000 facilities for every node and the bounded table 5,000 origins -> facilities within
   20 min. networkx runs the nearest query on the full graph (its DiGraph takes about
   2 GB; ``BENCH_SKIP_NX_BIG=1`` skips it); pandana's range query returns every reached
   node (about 300 M rows here), so pandana is compared in section 3 only.
3. The same generator at 300 k nodes, where all three tools run the same queries:
   networkx on all of them; pandana's range query on a subsample of the 5,000 origins
   (``PANDANA_RANGE_SAMPLE``) scaled linearly to 5,000 (each origin is an independent
   search, so time is linear in the number of origins); accessmap is timed on both the
   subsample and the full set. Facility and origin densities per node match section 2.
4. The peer an analyst writes first, ``scipy.sparse.csgraph.dijkstra``, on the real France
   Travel Mapping graph (``roads_france_travelmapping``, every metropolitan region, largest
   component) and on the 1.5 M generated graph: nearest from 2,000 facilities with
   ``min_only=True`` and the bounded table 5,000 origins -> facilities within 20 min with
   ``limit=`` (scipy returns one dense row per origin, so it runs in blocks on a sample of the
   origins, scaled linearly). Results are checked equal (same reached set, max difference
   printed). ``BENCH_ROUTING_ONLY_SCIPY=1`` runs this section alone.

Timing: wall clock (``time.perf_counter``), kernels warmed once first (numba ``cache=True``
also makes later processes skip compilation). Memory: ``tracemalloc`` peak of the timed
call (numpy buffers are tracked) measured in a separate repeat for accessmap; networkx and
pandana are reported by the growth of the process peak RSS (``resource.getrusage``) since
tracemalloc slows pure-Python code and does not see C++ allocations.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from accessmap.routing.kernels import bounded_dijkstra, multi_source_dijkstra, warmup
from benchmarks.generate import generate_road_graph

Row = dict[str, Any]

EXTRACTS = {
    "andorra (pbf)": ("roads_andorra_geofabrik-20210622_highways.osm.pbf",),
    "andorra (osm xml)": ("roads_andorra_geofabrik-20210622_highways.osm.bz2",),
    "toulouse (insa)": (
        "roads_occitanie_toulouse_insa-begraphes-osm_nodes.csv",
        "roads_occitanie_toulouse_insa-begraphes-osm_edges.csv.gz",
    ),
    "auch": (
        "roads_occitanie_auch_pfe-osm2024_nodes.csv",
        "roads_occitanie_auch_pfe-osm2024_edges.csv",
    ),
    "nimes": (
        "roads_occitanie_nimes_pfe-osm2024_nodes.csv",
        "roads_occitanie_nimes_pfe-osm2024_edges.csv",
    ),
    "montpellier": (
        "roads_occitanie_montpellier_pfe-osm2024_nodes.csv",
        "roads_occitanie_montpellier_pfe-osm2024_edges.csv",
    ),
    "toulouse-centre": (
        "roads_occitanie_toulouse-centre_pfe-osm2024_nodes.csv",
        "roads_occitanie_toulouse-centre_pfe-osm2024_edges.csv",
    ),
}

BIG_NODES = int(os.environ.get("BENCH_BIG_NODES", 1_500_000))
MID_NODES = int(os.environ.get("BENCH_MID_NODES", 300_000))
PANDANA_RANGE_SAMPLE = 250


def _data_dir() -> Path:
    env = os.environ.get("ACCESSMAP_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _time(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _traced_peak_mb(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _row(bench: str, graph: str, n: int, tool: str, sec: float, **kw: Any) -> Row:
    return {"benchmark": bench, "graph": graph, "nodes": n, "tool": tool, "seconds": sec, **kw}


def _has_pandana() -> bool:
    try:
        import pandana  # noqa: F401
    except ImportError:
        return False
    return True


def _pandana_net(x, y, u, v, w):  # type: ignore[no-untyped-def]
    import pandana
    import pandas as pd

    # pandana's C++ core prints its contraction-hierarchy progress on file descriptor 1:
    # send it to /dev/null so that the printed table stays clean
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        return pandana.Network(
            pd.Series(x), pd.Series(y), pd.Series(u), pd.Series(v),
            pd.DataFrame({"w": w}), twoway=False,
        )  # fmt: skip
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _nx_graph(u, v, w):  # type: ignore[no-untyped-def]
    import networkx as nx

    g = nx.DiGraph()
    g.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist(), strict=True))
    return g


def _compare(
    rows: list[Row],
    graph: str,
    csr: tuple[np.ndarray, np.ndarray, np.ndarray],
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
    xy: tuple[np.ndarray, np.ndarray],
    *,
    n_fac: int,
    n_orig: int,
    cutoff: float,
    range_sample: int | None,
    to_facilities: bool = False,
    seed: int = 0,
) -> None:
    """Nearest and bounded queries with all three tools on one graph."""
    ip, ix, w = csr
    n = ip.shape[0] - 1
    rng = np.random.default_rng(seed)
    fac = rng.choice(n, n_fac, replace=False)
    orig = rng.choice(n, n_orig, replace=False)

    # ---- nearest from n_fac facilities, every node
    t_am, (dist, _) = _time(lambda: multi_source_dijkstra(ip, ix, w, fac))
    mem_am = _traced_peak_mb(lambda: multi_source_dijkstra(ip, ix, w, fac))
    bench = f"nearest, {n_fac} sources, all nodes"
    rows.append(_row(bench, graph, n, "accessmap", t_am, ratio=1.0, peak_mb=mem_am))
    rss0 = _peak_rss_mb()
    t_build_nx, g = _time(lambda: _nx_graph(*edges))
    import networkx as nx

    t_nx, ref = _time(
        lambda: nx.multi_source_dijkstra_path_length(g, fac.tolist(), weight="weight")
    )
    assert len(ref) == int(np.isfinite(dist).sum())
    keys = np.fromiter(ref.keys(), np.int64)
    err = float(np.max(np.abs(dist[keys] - np.fromiter(ref.values(), float))))
    rows.append(
        _row(bench, graph, n, "networkx", t_nx, ratio=t_nx / t_am,
             peak_mb=_peak_rss_mb() - rss0,
             note=f"max |diff| {err:.1e} min; DiGraph build {t_build_nx:.1f} s not counted")
    )  # fmt: skip
    pdn = None
    if _has_pandana():
        rss0 = _peak_rss_mb()
        t_pb, pdn = _time(lambda: _pandana_net(xy[0], xy[1], *edges))
        big = float(np.max(dist[np.isfinite(dist)])) * 1.01

        def _pd_nearest() -> Any:
            pdn.set_pois("fac", big, 1, xy[0][fac], xy[1][fac])
            return pdn.nearest_pois(big, "fac", num_pois=1)

        t_pd, pres = _time(_pd_nearest)
        # pandana's nearest_pois gives the cost from each node TO its nearest POI: compare
        # with accessmap on the reversed graph
        from accessmap.routing.kernels import reverse_csr

        rdist, _ = multi_source_dijkstra(*reverse_csr(ip, ix, w), fac)
        ok = np.isfinite(rdist)
        perr = float(np.max(np.abs(pres[1].to_numpy()[ok] - rdist[ok])))
        rows.append(
            _row(bench, graph, n, "pandana", t_pd, ratio=t_pd / t_am,
                 peak_mb=_peak_rss_mb() - rss0,
                 note=f"max |diff| {perr:.1e} min (cause not investigated); "
                      f"CH build {t_pb:.1f} s not counted")
        )  # fmt: skip

    # ---- bounded table: n_orig origins, every node (or every facility) within cutoff
    mask = None
    if to_facilities:
        mask = np.zeros(n, dtype=bool)
        mask[fac] = True
        bench = f"bounded, {n_orig} origins -> facilities, <= {cutoff:g} min"
    else:
        bench = f"bounded, {n_orig} origins -> all nodes, <= {cutoff:g} min"
    t_am, res = _time(lambda: bounded_dijkstra(ip, ix, w, orig, cutoff, mask))
    mem_am = _traced_peak_mb(lambda: bounded_dijkstra(ip, ix, w, orig, cutoff, mask))
    rows.append(
        _row(bench, graph, n, "accessmap", t_am, ratio=1.0, peak_mb=mem_am,
             note=f"{res[0].size:,} rows")
    )  # fmt: skip
    k = min(50, n_orig)

    def _nx_bounded() -> Any:
        out = []
        for o in orig[:k]:
            r = nx.single_source_dijkstra_path_length(g, int(o), cutoff=cutoff, weight="weight")
            out.append([t for t in r if mask[t]] if mask is not None else r)
        return out

    t_nx, _ = _time(_nx_bounded)
    t_nx_all = t_nx * n_orig / k
    rows.append(
        _row(bench, graph, n, "networkx", t_nx_all, ratio=t_nx_all / t_am,
             note=f"{k} origins timed, scaled x{n_orig / k:g}")
    )  # fmt: skip
    g = None
    if pdn is not None:
        m = n_orig if range_sample is None else min(range_sample, n_orig)

        def _pd_bounded() -> Any:
            pr = pdn.nodes_in_range(orig[:m].tolist(), cutoff)
            if mask is not None:
                pr = pr[mask[pr["destination"].to_numpy()]]
            return pr

        t_pd, pr = _time(_pd_bounded)
        t_am_m, _ = _time(lambda: bounded_dijkstra(ip, ix, w, orig[:m], cutoff, mask))
        scale = n_orig / m
        note = f"{len(pr):,} rows" if m == n_orig else (
            f"{m} origins timed ({t_pd:.1f} s; accessmap on the same {m}: {t_am_m:.2f} s, "
            f"ratio {t_pd / t_am_m:.1f}), scaled x{scale:g}"
        )  # fmt: skip
        rows.append(
            _row(bench, graph, n, "pandana", t_pd * scale, ratio=t_pd * scale / t_am, note=note)
        )


def _real_extracts(rows: list[Row]) -> None:
    from accessmap.network.graph import RoadNetwork

    d = _data_dir()
    for name, files in EXTRACTS.items():
        paths = [d / f for f in files]
        if not all(p.exists() for p in paths):
            continue
        t_b, net = _time(
            lambda paths=paths: (
                RoadNetwork.from_osm(paths[0])
                if len(paths) == 1
                else RoadNetwork.from_tables(paths[0], paths[1])
            )
        )
        rows.append(_row("graph build (no cache)", name, net.n_nodes, "accessmap", t_b,
                         note=f"{net.n_edges:,} edges"))  # fmt: skip
        u = net.edge_sources()
        _compare(
            rows,
            name,
            (net.indptr, net.indices, net.travel_time_min),
            (u, net.indices.astype(np.int64), net.travel_time_min),
            (net.x, net.y),
            n_fac=50,
            n_orig=500,
            cutoff=10.0,
            range_sample=None,
        )


def _generated(rows: list[Row]) -> None:
    # --- 300 k: all three tools on the same queries (densities as in the 1.5 M case)
    g = generate_road_graph(MID_NODES, seed=42)
    name = f"generated {MID_NODES // 1000}k"
    n_fac = max(1, round(2000 * MID_NODES / 1_500_000))
    _compare(
        rows,
        name,
        g.csr(),
        (g.u, g.v, g.travel_time_min),
        (g.x, g.y),
        n_fac=n_fac,
        n_orig=5000,
        cutoff=20.0,
        range_sample=PANDANA_RANGE_SAMPLE,
        to_facilities=True,
    )
    del g
    gc.collect()

    # --- 1.5 M: the targets (accessmap only)
    t_gen, g = _time(lambda: generate_road_graph(BIG_NODES, seed=42))
    name = f"generated {BIG_NODES / 1e6:g}M"
    ip, ix, w = g.csr()
    n = g.n_nodes
    rows.append(_row("generate graph", name, n, "benchmarks.generate", t_gen,
                     note=f"{ix.size:,} directed edges"))  # fmt: skip
    from accessmap.network.graph import RoadNetwork

    t_arr, net = _time(
        lambda: RoadNetwork.from_arrays(g.u, g.v, g.travel_time_min, g.x, g.y, np.arange(n))
    )
    rows.append(_row("RoadNetwork.from_arrays", name, n, "accessmap", t_arr))
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"accessmap-bench-{os.getpid()}.npz"
    try:
        net.save(tmp)
        t_load, _ = _time(lambda: RoadNetwork.load(tmp))
        rows.append(_row("cached reload (RoadNetwork.load)", name, n, "accessmap", t_load,
                         note=f"{tmp.stat().st_size / 2**20:.0f} MB file"))  # fmt: skip
    finally:
        tmp.unlink(missing_ok=True)
    del net
    rng = np.random.default_rng(0)
    fac = rng.choice(n, 2000, replace=False)
    orig = rng.choice(n, 5000, replace=False)
    bench = "nearest, 2000 sources, all nodes"
    times = [_time(lambda: multi_source_dijkstra(ip, ix, w, fac))[0] for _ in range(3)]
    mem = _traced_peak_mb(lambda: multi_source_dijkstra(ip, ix, w, fac))
    t_med = float(np.median(times))
    rows.append(_row(bench, name, n, "accessmap", t_med, ratio=1.0, peak_mb=mem,
                     note="median of 3: " + ", ".join(f"{t:.3f}" for t in times)))  # fmt: skip
    if os.environ.get("BENCH_SKIP_NX_BIG") != "1":
        # networkx on the full graph, same query (about 2 GB for the DiGraph)
        rss0 = _peak_rss_mb()
        t_bnx, gnx = _time(lambda: _nx_graph(g.u, g.v, g.travel_time_min))
        import networkx as nx

        t_nx, ref = _time(
            lambda: nx.multi_source_dijkstra_path_length(gnx, fac.tolist(), weight="weight")
        )
        del gnx
        rows.append(_row(bench, name, n, "networkx", t_nx, ratio=t_nx / t_med,
                         peak_mb=_peak_rss_mb() - rss0,
                         note=f"same query, {len(ref):,} nodes; DiGraph build {t_bnx:.0f} s "
                              "not counted"))  # fmt: skip
        del ref
        gc.collect()
    mask = np.zeros(n, dtype=bool)
    mask[fac] = True
    bench = "bounded, 5000 origins -> facilities, <= 20 min"
    t_b, res = _time(lambda: bounded_dijkstra(ip, ix, w, orig, 20.0, mask))
    rows.append(_row(bench, name, n, "accessmap (from origins)", t_b,
                     note=f"{res[0].size:,} pairs"))  # fmt: skip
    from accessmap.routing.kernels import reverse_csr

    rip, rix, rw = reverse_csr(ip, ix, w)
    omask = np.zeros(n, dtype=bool)
    omask[orig] = True
    t_r, res2 = _time(lambda: bounded_dijkstra(rip, rix, rw, fac, 20.0, omask))
    mem = _traced_peak_mb(lambda: bounded_dijkstra(rip, rix, rw, fac, 20.0, omask))
    rows.append(_row(bench, name, n, "accessmap (from facilities, reversed)", t_r, peak_mb=mem,
                     note=f"{res2[0].size:,} pairs; what NetworkEngine.matrix picks"))  # fmt: skip


def _scipy_nearest(csr: Any, fac: np.ndarray) -> np.ndarray:
    from scipy.sparse.csgraph import dijkstra

    return np.asarray(dijkstra(csr, directed=True, indices=fac, min_only=True))


def _scipy_bounded(
    csr: Any, orig: np.ndarray, cutoff: float, mask: np.ndarray, block: int
) -> list[np.ndarray]:
    """``dijkstra(limit=cutoff)`` in blocks of origins (it returns dense rows of n floats)."""
    from scipy.sparse.csgraph import dijkstra

    cols = np.flatnonzero(mask)
    out = []
    for a in range(0, orig.size, block):
        rows = dijkstra(csr, directed=True, indices=orig[a : a + block], limit=cutoff)
        out.append(np.asarray(rows)[:, cols])
    return out


def _vs_scipy(
    rows: list[Row],
    graph: str,
    net: Any,
    *,
    n_fac: int,
    n_orig: int,
    cutoff: float,
    scipy_sample: int,
    block: int,
    seed: int = 0,
) -> None:
    """The peer an analyst writes first: ``scipy.sparse.csgraph.dijkstra`` on the same queries.

    Nearest: ``min_only=True`` from the facilities (one multi-source pass, like ours).
    Bounded table: ``limit=cutoff`` from the origins; scipy returns a dense row of every node
    per origin, so it runs in blocks of ``block`` origins and on ``scipy_sample`` of them,
    scaled linearly (each origin is an independent search). Results are checked equal.
    """
    ip, ix, w = net.indptr, net.indices, net.travel_time_min
    n = net.n_nodes
    csr = net.to_csr_matrix()
    rng = np.random.default_rng(seed)
    fac = rng.choice(n, n_fac, replace=False)
    orig = rng.choice(n, n_orig, replace=False)
    bench = f"nearest vs scipy, {n_fac} sources, all nodes"
    t_am = float(np.median([_time(lambda: multi_source_dijkstra(ip, ix, w, fac))[0]
                            for _ in range(3)]))  # fmt: skip
    dist, _ = multi_source_dijkstra(ip, ix, w, fac)
    mem_am = _traced_peak_mb(lambda: multi_source_dijkstra(ip, ix, w, fac))
    t_sp = float(np.median([_time(lambda: _scipy_nearest(csr, fac))[0] for _ in range(3)]))
    ref = _scipy_nearest(csr, fac)
    mem_sp = _traced_peak_mb(lambda: _scipy_nearest(csr, fac))
    same = bool(np.array_equal(np.isinf(dist), np.isinf(ref)))
    err = float(np.max(np.abs(dist[np.isfinite(ref)] - ref[np.isfinite(ref)])))
    rows.append(_row(bench, graph, n, "accessmap multi_source_dijkstra", t_am, ratio=1.0,
                     peak_mb=mem_am, note="median of 3"))  # fmt: skip
    rows.append(_row(bench, graph, n, "scipy dijkstra(min_only=True)", t_sp, ratio=t_sp / t_am,
                     peak_mb=mem_sp,
                     note=f"median of 3; same reach {same}, max |diff| {err:.1e} min"))  # fmt: skip

    mask = np.zeros(n, dtype=bool)
    mask[fac] = True
    bench = f"bounded vs scipy, {n_orig} origins -> {n_fac} facilities, <= {cutoff:g} min"
    t_am, (si, node, d) = _time(lambda: bounded_dijkstra(ip, ix, w, orig, cutoff, mask))
    mem_am = _traced_peak_mb(lambda: bounded_dijkstra(ip, ix, w, orig, cutoff, mask))
    rows.append(_row(bench, graph, n, "accessmap bounded_dijkstra", t_am, ratio=1.0,
                     peak_mb=mem_am, note=f"{si.size:,} pairs, 2 threads"))  # fmt: skip
    t_am1, _ = _time(lambda: bounded_dijkstra(ip, ix, w, orig, cutoff, mask, n_threads=1))
    rows.append(_row(bench, graph, n, "accessmap bounded_dijkstra, 1 thread", t_am1,
                     ratio=t_am1 / t_am))  # fmt: skip
    m = min(scipy_sample, n_orig)
    t_sp, blocks = _time(lambda: _scipy_bounded(csr, orig[:m], cutoff, mask, block))
    mem_sp = _traced_peak_mb(lambda: _scipy_bounded(csr, orig[:min(block, m)], cutoff, mask,
                                                      block))  # fmt: skip
    # check: the pairs of the sampled origins are the same, with the same times
    dense = np.concatenate(blocks)
    cols = np.flatnonzero(mask)
    want = np.full((m, n), np.inf)
    sel = si < m
    want[si[sel], node[sel]] = d[sel]
    want = want[:, cols]
    same = bool(np.array_equal(np.isinf(dense), np.isinf(want)))
    fin = np.isfinite(want)
    err = float(np.max(np.abs(dense[fin] - want[fin]))) if fin.any() else 0.0
    scale = n_orig / m
    rows.append(_row(bench, graph, n, "scipy dijkstra(limit=), 1 thread", t_sp * scale,
                     ratio=t_sp * scale / t_am, peak_mb=mem_sp,
                     note=f"{m} origins timed in blocks of {block}, scaled x{scale:g}; same "
                          f"pairs {same}, max |diff| {err:.1e} min; vs our 1 thread "
                          f"x{t_sp * scale / t_am1:.1f}"))  # fmt: skip
    # the same table from the other side, as NetworkEngine.matrix does when the facilities
    # are fewer: searches from the facilities on the reversed graph
    from accessmap.routing.kernels import reverse_csr

    rip, rix, rw = reverse_csr(ip, ix, w)
    omask = np.zeros(n, dtype=bool)
    omask[orig] = True
    t_r, res_r = _time(lambda: bounded_dijkstra(rip, rix, rw, fac, cutoff, omask))
    rows.append(_row(bench, graph, n, "accessmap, from facilities (reversed)", t_r,
                     ratio=t_r / t_am, note=f"{res_r[0].size:,} pairs; what "
                     "NetworkEngine.matrix picks"))  # fmt: skip
    csr_t = csr.T.tocsr()
    k = min(scipy_sample, n_fac)
    t_spr, blocks_r = _time(lambda: _scipy_bounded(csr_t, fac[:k], cutoff, omask, block))
    dense_r = np.concatenate(blocks_r)
    want_r = np.full((k, n), np.inf)
    sel = res_r[0] < k
    want_r[res_r[0][sel], res_r[1][sel]] = res_r[2][sel]
    want_r = want_r[:, np.flatnonzero(omask)]
    same_r = bool(np.array_equal(np.isinf(dense_r), np.isinf(want_r)))
    scale_r = n_fac / k
    rows.append(_row(bench, graph, n, "scipy, from facilities (transposed)", t_spr * scale_r,
                     ratio=t_spr * scale_r / t_r,
                     note=f"{k} facilities timed, scaled x{scale_r:g}; same pairs {same_r}; "
                          "ratio vs our reversed run"))  # fmt: skip


def _scipy_peer(rows: list[Row]) -> None:
    """Section 4: scipy on the real France Travel Mapping graph and the 1.5 M generated one."""
    d = _data_dir()
    archive = d / "roads_france_travelmapping-20260822_wpt.tar.gz"
    if archive.exists():
        from accessmap.network.build import load_travelmapping

        t_b, net = _time(lambda: load_travelmapping(archive))
        rows.append(_row("Travel Mapping build (France, cached)", "travelmapping FR",
                         net.n_nodes, "accessmap", t_b,
                         note=f"{net.n_edges:,} edges; cache {net.meta.get('cache')}"))  # fmt: skip
        _vs_scipy(rows, "travelmapping FR", net, n_fac=2000, n_orig=5000, cutoff=20.0,
                  scipy_sample=1000, block=200)  # fmt: skip
        del net
        gc.collect()
    from accessmap.network.graph import RoadNetwork

    g = generate_road_graph(BIG_NODES, seed=42)
    net = RoadNetwork.from_arrays(g.u, g.v, g.travel_time_min, g.x, g.y, np.arange(g.n_nodes))
    del g
    gc.collect()
    _vs_scipy(rows, f"generated {BIG_NODES / 1e6:g}M", net, n_fac=2000, n_orig=5000,
              cutoff=20.0, scipy_sample=200, block=20)  # fmt: skip


def run() -> list[Row]:
    """Run every section; return the rows (printed by ``benchmarks.run``)."""
    warmup()
    rows: list[Row] = []
    if os.environ.get("BENCH_ROUTING_ONLY_SCIPY") != "1":
        _real_extracts(rows)
        _generated(rows)
    _scipy_peer(rows)
    rows.append(_row("process peak RSS", "-", 0, "all", float("nan"),
                     peak_mb=_peak_rss_mb()))  # fmt: skip
    return rows


if __name__ == "__main__":  # pragma: no cover
    from benchmarks.run import print_table

    print_table(run())
