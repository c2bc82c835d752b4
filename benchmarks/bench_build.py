"""Benchmark: road-graph build and cached reload, accessmap vs osmnx.

Cases (each runs in a fresh ``spawn`` process, so that its peak memory is its own):

* ``build andorra``: accessmap :func:`accessmap.network.graph.load_network` without cache on the
  Andorra ``.osm.pbf`` and on the same data as ``.osm.bz2`` (drivable graph, speeds, travel
  times, largest strongly connected component);
* ``build andorra``, osmnx: ``osmnx.graph_from_xml`` on the ``.osm.bz2`` (osmnx defaults:
  every ``highway`` way, simplified, largest weakly connected component) followed by
  ``add_edge_speeds`` and ``add_edge_travel_times``: what an analyst would run by hand;
* ``cached reload andorra``: :func:`load_network` hitting its ``.npz`` cache;
* ``build synthetic .osm.pbf``: :meth:`RoadNetwork.from_osm` on a generated OSM file of
  ``--osm-nodes`` nodes (default 1,500,000; :func:`write_grid_osm`), to show how the OSM
  path scales (time and peak memory) at regional size, where no real file is available;
* ``from_arrays 1.5M`` and ``cached reload 1.5M``: :meth:`RoadNetwork.from_arrays` and
  :meth:`RoadNetwork.load` on the generated road-like graph of
  :mod:`benchmarks.generate` with 1,500,000 nodes (issue 3 targets: reload under 1 s,
  peak memory under 2 GB).

Columns: ``case, tool, seconds`` (wall clock of the call only, imports excluded),
``peak_mb`` (peak resident set size of the process running the case, Python interpreter and
libraries included), ``base_mb`` (resident set size after the imports, before the call),
``nodes, edges``.

Run: ``python -m benchmarks.bench_build`` (``--nodes N`` for the generated graph size,
``--no-osmnx`` to skip the slow osmnx case, ``--json`` for machine-readable output).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ANDORRA = "roads_andorra_geofabrik-20210622_highways.osm"
REGION_NODES = 1_500_000


def _rss_mb() -> float:
    """Peak resident set size of this process so far, MB.

    Linux: ``VmHWM`` of ``/proc/self/status`` (the high-water mark of this process's own
    address space). ``getrusage().ru_maxrss`` is not used there: after fork+exec it keeps
    the parent's peak, which would charge the benchmark driver's memory to every case.
    Elsewhere: ``ru_maxrss`` (kB on Linux/BSD, bytes on macOS).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if platform.system() == "Darwin" else peak / 1024.0


def _data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get("ACCESSMAP_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def write_grid_osm(path: str | os.PathLike[str], n_nodes: int, *, seed: int = 7) -> Path:
    """Write a road-like OSM file: a jittered lattice of streets, for build benchmarks.

    ``side = ceil(sqrt(n_nodes))`` rows and columns of nodes 150 m apart (lon/lat around
    Toulouse), jittered by up to 30 % of the spacing; every row and column is cut into ways
    of 10 segments (OSM ways average about 10 nodes). Classes by line, as in
    :mod:`benchmarks.generate`: every 100th line motorway (one way per direction of travel
    alternately), every 25th primary, every 8th secondary, the rest residential; 30 % of
    the ways carry a ``maxspeed`` (half numeric, half ``FR:urban``/``FR:rural``), 5 % of
    residential ways are ``oneway=yes``. Deterministic for a given ``seed``.
    """
    import math

    import numpy as np
    import osmium
    from osmium.osm.mutable import Node, Way

    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n_nodes))
    dlat = 150.0 / 111_320.0
    dlon = dlat / math.cos(math.radians(43.6))
    jit = rng.uniform(-0.3, 0.3, size=(side * side, 2))
    out = Path(path)
    out.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(out))
    try:
        for k in range(side * side):
            i, j = divmod(k, side)
            writer.add_node(
                Node(
                    id=k + 1,
                    location=(1.0 + (j + jit[k, 0]) * dlon, 43.0 + (i + jit[k, 1]) * dlat),
                )
            )
        wid = 1
        for line in range(side):
            cls = (
                "motorway"
                if line % 100 == 0
                else "primary"
                if line % 25 == 0
                else "secondary"
                if line % 8 == 0
                else "residential"
            )
            for horizontal in (True, False):
                for s0 in range(0, side - 1, 10):
                    idx = range(s0, min(s0 + 11, side))
                    refs = [
                        (line * side + t + 1) if horizontal else (t * side + line + 1) for t in idx
                    ]
                    tags = {"highway": cls}
                    r = rng.random()
                    if r < 0.15:
                        tags["maxspeed"] = {"motorway": "130", "primary": "80"}.get(cls, "50")
                    elif r < 0.30:
                        tags["maxspeed"] = "FR:urban" if cls == "residential" else "FR:rural"
                    if cls == "motorway" and line % 200 == 0:
                        refs.reverse()  # alternate carriageway direction
                    if cls == "residential" and rng.random() < 0.05:
                        tags["oneway"] = "yes"
                    writer.add_way(Way(id=wid, nodes=refs, tags=tags))
                    wid += 1
    finally:
        writer.close()
    return out


# ---------------------------------------------------------------------- cases (child side)
def _warm_imports() -> None:
    """Import the builder modules before timing (imports are a per-process cost)."""


def _case_accessmap_build(path: str) -> Callable[[], Any]:
    from accessmap.network.build import load_network

    _warm_imports()

    def run() -> Any:
        return load_network(path, use_cache=False)

    return run


def _case_accessmap_reload(path: str, cache_dir: str) -> Callable[[], Any]:
    from accessmap.network.build import load_network

    _warm_imports()

    def run() -> Any:
        net = load_network(path, cache_dir=cache_dir)
        if net.meta["cache"] != "hit":
            raise RuntimeError(f"expected a cache hit for {path}")
        return net

    return run


def _case_osmnx(path: str) -> Callable[[], Any]:
    import osmnx as ox

    def run() -> Any:
        g = ox.graph_from_xml(path)
        g = ox.add_edge_speeds(g)
        return ox.add_edge_travel_times(g)

    return run


def _case_accessmap_from_osm(path: str) -> Callable[[], Any]:
    from accessmap.network.graph import RoadNetwork

    _warm_imports()

    def run() -> Any:
        return RoadNetwork.from_osm(path)

    return run


def _case_npz_reload(npz: str) -> Callable[[], Any]:
    from accessmap.network.graph import RoadNetwork

    def run() -> Any:
        return RoadNetwork.load(npz)

    return run


def _case_from_arrays(n_nodes: int) -> Callable[[], Any]:
    from accessmap.network.graph import RoadNetwork
    from benchmarks.generate import generate_road_graph

    g = generate_road_graph(n_nodes)
    ids = list(range(n_nodes))

    def run() -> Any:
        return RoadNetwork.from_arrays(
            g.u, g.v, g.travel_time_min, g.x, g.y, ids, length_m=g.length_m, largest_scc=True
        )

    return run


_CASES: dict[str, Callable[..., Callable[[], Any]]] = {
    "accessmap_build": _case_accessmap_build,
    "accessmap_reload": _case_accessmap_reload,
    "osmnx_build": _case_osmnx,
    "accessmap_from_osm": _case_accessmap_from_osm,
    "npz_reload": _case_npz_reload,
    "from_arrays": _case_from_arrays,
}


def _child(kind: str, args: tuple[Any, ...]) -> dict[str, Any]:
    run = _CASES[kind](*args)
    base = _rss_mb()
    t0 = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - t0
    if hasattr(result, "n_nodes"):
        nodes, edges = int(result.n_nodes), int(result.n_edges)
    else:  # networkx graph
        nodes, edges = int(result.number_of_nodes()), int(result.number_of_edges())
    return {
        "seconds": round(seconds, 4),
        "peak_mb": round(_rss_mb(), 1),
        "base_mb": round(base, 1),
        "nodes": nodes,
        "edges": edges,
    }


def _run_isolated(kind: str, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        out: dict[str, Any] = pool.apply(_child, (kind, args))
    return out


# ---------------------------------------------------------------------- driver
def bench_build(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    region_nodes: int = REGION_NODES,
    osm_nodes: int = REGION_NODES,
    osmnx: bool = True,
) -> list[dict[str, Any]]:
    """Time graph builds and cached reloads; return one row per case.

    Parameters
    ----------
    data_dir : path-like, optional
        Data directory with the Andorra extracts (default ``$ACCESSMAP_DATA_DIR`` or
        ``../shared/data``).
    region_nodes : int, keyword-only
        Size of the generated regional graph (default 1,500,000; 0 skips those cases).
    osm_nodes : int, keyword-only
        Nodes of the generated OSM file (default 1,500,000; 0 skips that case).
    osmnx : bool, keyword-only
        Include the osmnx case (about 15 s on the 2-core machine).

    Returns
    -------
    list of dict
        ``{case, tool, seconds, peak_mb, base_mb, nodes, edges}``.
    """
    d = _data_dir(data_dir)
    pbf, bz2 = str(d / f"{ANDORRA}.pbf"), str(d / f"{ANDORRA}.bz2")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="accessmap-bench-") as tmp:
        rows.append(
            {"case": "build andorra .osm.pbf", "tool": "accessmap"}
            | _run_isolated("accessmap_build", pbf)
        )
        rows.append(
            {"case": "build andorra .osm.bz2", "tool": "accessmap"}
            | _run_isolated("accessmap_build", bz2)
        )
        if osmnx:
            rows.append(
                {"case": "build andorra .osm.bz2", "tool": "osmnx graph_from_xml+speeds"}
                | _run_isolated("osmnx_build", bz2)
            )
        from accessmap.network.build import load_network
        from accessmap.network.graph import RoadNetwork

        load_network(pbf, cache_dir=tmp)  # warm the cache (not timed)
        rows.append(
            {"case": "cached reload andorra", "tool": "accessmap"}
            | _run_isolated("accessmap_reload", pbf, tmp)
        )
        if osm_nodes > 0:
            grid = write_grid_osm(Path(tmp) / "grid.osm.pbf", osm_nodes)
            rows.append(
                {"case": f"build synthetic .osm.pbf {osm_nodes:,} nodes", "tool": "accessmap"}
                | _run_isolated("accessmap_from_osm", str(grid))
            )
            grid.unlink()
        if region_nodes > 0:
            from benchmarks.generate import generate_road_graph

            rows.append(
                {"case": f"from_arrays {region_nodes:,} nodes", "tool": "accessmap"}
                | _run_isolated("from_arrays", region_nodes)
            )
            g = generate_road_graph(region_nodes)
            net = RoadNetwork.from_arrays(
                g.u,
                g.v,
                g.travel_time_min,
                g.x,
                g.y,
                list(range(region_nodes)),
                length_m=g.length_m,
            )
            npz = net.save(Path(tmp) / "region.npz")
            del net, g
            rows.append(
                {"case": f"cached reload {region_nodes:,} nodes", "tool": "accessmap"}
                | _run_isolated("npz_reload", str(npz))
            )
    return rows


def run() -> list[dict[str, Any]]:
    """Rows in the shape of :mod:`benchmarks.run` (``benchmark, graph, nodes, tool, seconds,
    ratio, peak_mb, note``); ``ratio`` is time / accessmap time on the same case."""
    rows = bench_build()
    ours = {r["case"]: r["seconds"] for r in rows if r["tool"] == "accessmap"}
    out: list[dict[str, Any]] = []
    for r in rows:
        case = str(r["case"])
        benchmark, _, graph = case.partition(" andorra ")
        if not graph:
            benchmark, graph = case, "generated"
        else:
            graph = f"andorra {graph}"
        ref = ours.get(case)
        out.append(
            {
                "benchmark": f"graph {benchmark}".strip(),
                "graph": graph,
                "nodes": r["nodes"],
                "tool": r["tool"],
                "seconds": r["seconds"],
                "ratio": r["seconds"] / ref if ref else float("nan"),
                "peak_mb": r["peak_mb"],
                "note": f"{r['edges']:,} edges; RSS after imports {r['base_mb']:.0f} MB",
            }
        )
    return out


def _print_table(rows: list[dict[str, Any]]) -> None:
    cols = ["case", "tool", "seconds", "peak_mb", "base_mb", "nodes", "edges"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in cols))
    acc = [r for r in rows if r["case"] == "build andorra .osm.bz2"]
    if len(acc) == 2:
        print(
            f"osmnx / accessmap on the same .osm.bz2: {acc[1]['seconds'] / acc[0]['seconds']:.1f}x"
        )
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpu(s), {platform.python_version()}")


def main() -> None:
    """Command-line entry point: print the benchmark table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--nodes", type=int, default=REGION_NODES)
    ap.add_argument("--osm-nodes", type=int, default=REGION_NODES)
    ap.add_argument("--no-osmnx", action="store_true")
    ap.add_argument("--json", action="store_true")
    ns = ap.parse_args()
    rows = bench_build(
        ns.data_dir, region_nodes=ns.nodes, osm_nodes=ns.osm_nodes, osmnx=not ns.no_osmnx
    )
    if ns.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows)


if __name__ == "__main__":
    main()
