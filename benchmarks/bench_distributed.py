"""Speed-up of the Dask path from 1 to 2 workers on this machine.

Workload: the catchment table of the 2SFCA/E2SFCA/APL measures (every GP node -> every
origin node within 20 minutes, on the reversed graph) on the generated road-like graph of
:mod:`benchmarks.bench_national` (1 M nodes by default, GP and origin densities of France as
documented there), computed by :func:`accessmap.parallel.distributed_bounded_table` on a
``LocalCluster`` of 1 worker, then of 2 workers (one thread and one process each, on
127.0.0.1). Each cluster first runs one small warm-up block per worker (reading the graph
file and loading the compiled numba kernels are per-process costs, reported separately),
then the timed run. The tables of both runs and of the in-process run are checked equal.

Run: ``python -m benchmarks.bench_distributed`` (``--nodes N`` to change the graph).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

from benchmarks.bench_national import (
    CUTOFF_MIN,
    GP_PER_KM2,
    ORIGINS_PER_KM2,
    QUICK_NODES,
    _sample_nodes,
    as_run_row,
    graph_file,
)

#: GP sources per task (small enough for ~16 blocks on the 1 M-node graph).
BLOCK_SIZE = 24


def _run(client: Any, path: str, gps: np.ndarray, mask: np.ndarray) -> tuple[float, Any]:
    from accessmap import parallel as distributed

    t0 = time.perf_counter()
    table = distributed.distributed_bounded_table(
        path, gps, CUTOFF_MIN, client, BLOCK_SIZE, reverse=True, target_mask=mask
    )
    return time.perf_counter() - t0, table


def _cluster_run(
    n_workers: int, path: str, gps: np.ndarray, mask: np.ndarray
) -> tuple[dict[str, Any], Any]:
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        t_start = time.perf_counter() - t0
        # warm-up on every worker: map the graph, reverse it, load the compiled kernels
        from accessmap import parallel as distributed

        t1 = time.perf_counter()
        distributed.preload_graph(client, path, reverse=True)
        t_warm = time.perf_counter() - t1
        secs, table = _run(client, path, gps, mask)
        loads = sum(v["loads"] for v in client.run(distributed.graph_cache_info).values())
    return {
        "workers": n_workers,
        "cluster_start_seconds": round(t_start, 2),
        "warmup_seconds": round(t_warm, 2),
        "seconds": round(secs, 2),
        "graph_reads": int(loads),
    }, table


def bench_distributed(*, n_nodes: int = QUICK_NODES) -> list[dict[str, Any]]:
    """Time the catchment table with 1 and 2 Dask workers and report the speed-up.

    Returns
    -------
    list of dict
        ``dask-1-worker``, ``dask-2-workers`` (``seconds``, warm-up and start-up costs,
        graph reads per cluster) and ``dask-speedup`` (``speedup`` = t1 / t2, rows,
        ``identical``: both tables equal to the in-process one).
    """
    from accessmap import parallel as distributed
    from accessmap.routing import kernels as routing

    routing.warmup()
    path, _ = graph_file(n_nodes)
    ip, _, _ = distributed.graph_arrays(path)
    n = int(ip.shape[0]) - 1
    gps = _sample_nodes(n, GP_PER_KM2, 1)
    mask = np.zeros(n, dtype=bool)
    mask[_sample_nodes(n, ORIGINS_PER_KM2, 2)] = True
    t_local, ref = _run(None, str(path), gps, mask)
    r1, t1 = _cluster_run(1, str(path), gps, mask)
    r2, t2 = _cluster_run(2, str(path), gps, mask)
    same = all(all(np.array_equal(a, b) for a, b in zip(t, ref, strict=True)) for t in (t1, t2))
    common = {"tool": "accessmap+dask", "nodes": n, "sources": int(gps.size)}
    return [
        {"case": "dask-1-worker", **common, **r1},
        {"case": "dask-2-workers", **common, **r2},
        {
            "case": "dask-speedup",
            "tool": "accessmap+dask",
            "speedup": round(r1["seconds"] / r2["seconds"], 2),
            "in_process_seconds": round(t_local, 2),
            "rows": int(ref[0].size),
            "block_size": BLOCK_SIZE,
            "identical": bool(same),
            "cpus": os.cpu_count(),
            "load_avg_1min": round(os.getloadavg()[0], 2),
        },
    ]


def run() -> list[dict[str, Any]]:
    """Rows for ``python -m benchmarks.run``."""
    return [as_run_row(r, "generated road-like") for r in bench_distributed()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=QUICK_NODES, help="graph size (nodes)")
    args = ap.parse_args()
    for row in bench_distributed(n_nodes=args.nodes):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
