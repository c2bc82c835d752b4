"""Benchmark: road-graph build and cached reload, accessmap vs osmnx.

Cases (each runs in a fresh ``spawn`` process, so that its peak memory is its own):

* ``build andorra``: accessmap :func:`accessmap.network.load_network` without cache on the
  Andorra ``.osm.pbf`` and on the same data as ``.osm.bz2`` (drivable graph, speeds, travel
  times, largest strongly connected component);
* ``build andorra``, osmnx: ``osmnx.graph_from_xml`` on the ``.osm.bz2`` (osmnx defaults:
  every ``highway`` way, simplified, largest weakly connected component) followed by
  ``add_edge_speeds`` and ``add_edge_travel_times``: what an analyst would run by hand;
* ``cached reload andorra``: :func:`load_network` hitting its ``.npz`` cache;
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


# ---------------------------------------------------------------------- cases (child side)
def _warm_imports() -> None:
    """Import the builder modules before timing (imports are a per-process cost)."""
    import accessmap.network_osm
    import accessmap.network_tables
    import accessmap.speeds  # noqa: F401


def _case_accessmap_build(path: str) -> Callable[[], Any]:
    from accessmap.network import load_network

    _warm_imports()

    def run() -> Any:
        return load_network(path, use_cache=False)

    return run


def _case_accessmap_reload(path: str, cache_dir: str) -> Callable[[], Any]:
    from accessmap.network import load_network

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


def _case_npz_reload(npz: str) -> Callable[[], Any]:
    from accessmap.network import RoadNetwork

    def run() -> Any:
        return RoadNetwork.load(npz)

    return run


def _case_from_arrays(n_nodes: int) -> Callable[[], Any]:
    from accessmap.network import RoadNetwork
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
        from accessmap.network import RoadNetwork, load_network

        load_network(pbf, cache_dir=tmp)  # warm the cache (not timed)
        rows.append(
            {"case": "cached reload andorra", "tool": "accessmap"}
            | _run_isolated("accessmap_reload", pbf, tmp)
        )
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
    ap.add_argument("--no-osmnx", action="store_true")
    ap.add_argument("--json", action="store_true")
    ns = ap.parse_args()
    rows = bench_build(ns.data_dir, region_nodes=ns.nodes, osmnx=not ns.no_osmnx)
    if ns.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows)


if __name__ == "__main__":
    main()
