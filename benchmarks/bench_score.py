"""``accessmap score`` end to end: the default run, and a region-scale road graph run.

Two measurements, each in its own process so that its peak memory is its own:

1. ``default-occitanie-cold`` / ``-warm`` and ``default-fr``: the exact command a user runs,
   ``accessmap score --out <tmp>/x.gpkg --overwrite`` (the console script next to
   ``sys.executable``), on the default Occitanie data with the default engine (the Travel
   Mapping road network of the data directory, clipped to the study area + 30 km; crow-fly
   beyond 10 km of it), first with an empty network cache, then warm, then with
   ``--region FR``. Wall time of the whole command (interpreter start, imports, load,
   pipeline, GeoPackage + CSV export, summary), peak RSS of that process (``os.wait4``), and
   the share of the population beyond 15 min it printed and wrote (``region`` table of the
   GeoPackage). Targets (issue 11): under 60 s cold, 20 s warm, 120 s for France, on this
   2-core machine.
2. ``occitanie-road-graph``: the same pipeline (``run_score(ScoreParams(roads=...))``,
   engine ``auto`` as the CLI sets it, K = 10, exact MCLP, 1 km grid on) with a
   **synthetic** road graph of 1.5 million nodes laid over Occitanie, then the GeoPackage and
   CSV export as the CLI does. Every commune and populated cell is within snapping distance,
   so everything is routed on the road engine; the ``engine`` column split is reported. The
   graph is generated, so the figures measure speed and memory, not access.

The synthetic road graph
------------------------
No regional road file is available offline (``SOURCES-roads.md``), so
:func:`benchmarks.generate.generate_road_graph` (seed 42, 150 m lattice, road-class speed
mix; ``docs/benchmarks.md``) is **affine-mapped** onto the bounding box of Occitanie's
communes (:func:`accessmap.loaders.admin.load_communes`, EPSG:2154): x and y are scaled
independently so the generated extent fills the box (at 1.5 M nodes, a 184 km square
stretched to 420 x 302 km, scale 2.29 x 1.65, i.e. about 340 x 250 m between
intersections instead of 150 m; the box also covers sea, Spain and neighbouring régions,
so it holds more road than Occitanie's 72,724 km²). Edge
lengths are **recomputed** as the Euclidean length of the mapped edge (not scaled); travel
times are then recomputed by the normal table builder as length / speed of the edge class:
the generator's speed is written as the tagged limit ``maxspeed_kmh`` with an OSM class
(110/130 km/h -> ``motorway``, 80 -> ``primary``, 65 -> ``secondary``, 50 ->
``unclassified``, 30 -> ``residential``), and the ``osrm-car`` profile applies its 0.8
factor to tagged limits, as it does for a real table. The graph is written as an INSA-format
node/edge CSV pair (``node_id, lon, lat`` in WGS84; ``u, v, length_m, highway,
maxspeed_kmh, oneway, access_motorcar``: one row per street, ``oneway = 0`` for two-way),
i.e. a file ``accessmap score --roads <nodes.csv>`` accepts, and kept in
``bench_cache_dir()`` (``$ACCESSMAP_CACHE_DIR/bench`` or the user cache) so reruns skip it.

Rows of the road-graph part:

* ``occitanie-road-graph-tables``: generating and writing the tables (only when missing);
* ``occitanie-road-graph-compile``: ``load_network`` of the tables with the cache off (what
  the first ``accessmap score --roads`` run pays on top of the pipeline), then the compiled
  graph is stored in the network cache so that the scoring run below reads it back;
* ``occitanie-road-graph``: ``run_score`` + export, with per-stage seconds from the
  ``progress`` callback (``load``, ``times`` - which includes reading the compiled graph -,
  ``catchments``, ``zones``, ``siting``, ``isochrones``, then ``export``).

Run: ``python -m benchmarks.run score`` or ``python -m benchmarks.bench_score``.
``BENCH_SCORE_NODES`` changes the graph size. Nothing asserts on the figures.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_national import _in_child, as_run_row, bench_cache_dir

#: Nodes of the synthetic regional graph.
N_NODES = int(os.environ.get("BENCH_SCORE_NODES", 1_500_000))
SEED = 42
#: Bump when the table layout or the mapping changes (part of the cached file name).
TABLES_VERSION = 1
#: Target of the issue for the default run (seconds).
TARGET_S = 60.0

#: Generator speed (km/h) -> OSM class written in the edge table.
SPEED_CLASS = {130.0: "motorway", 110.0: "motorway", 80.0: "primary", 65.0: "secondary",
               50.0: "unclassified", 30.0: "residential"}  # fmt: skip


def _peak_mb() -> float:
    # VmHWM of this process (see bench_build._rss_mb for why not ru_maxrss)
    from benchmarks.bench_build import _rss_mb

    return _rss_mb()


def _data_dir() -> str | None:
    return os.environ.get("ACCESSMAP_DATA_DIR")


# ------------------------------------------------------------------ 1. the default command


def _accessmap_cmd() -> list[str]:
    script = Path(sys.executable).with_name("accessmap")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from accessmap.cli import main; main()"]


def _read_back(gpkg: Path) -> dict[str, Any]:
    import pyogrio

    region = pyogrio.read_dataframe(gpkg, layer="region")
    engines = pyogrio.read_dataframe(gpkg, layer="communes", columns=["engine"],
                                     read_geometry=False)  # fmt: skip
    return {
        "share_beyond_15": float(region["share_beyond_15"].iloc[0]),
        "pop_beyond_15": int(region["pop_beyond_15"].iloc[0]),
        "engines": engines["engine"].value_counts().to_dict(),
    }


#: The default-command cases: (case, extra CLI args, cache state, target seconds). Targets of
#: issue 11: the default Occitanie run under 60 s from a cold network cache and under 20 s
#: warm; ``--region FR`` under 120 s.
DEFAULT_CASES: tuple[tuple[str, tuple[str, ...], str, float], ...] = (
    ("default-occitanie-cold", (), "cold", 60.0),
    ("default-occitanie-warm", (), "warm", 20.0),
    ("default-fr", ("--region", "FR"), "warm", 120.0),
)


def bench_default_cli() -> list[dict[str, Any]]:
    """Wall time and peak RSS of ``accessmap score --out <tmp>/x.gpkg --overwrite`` (+ FR).

    Each case runs the console script from a small spawned process: the command's
    ``ru_maxrss`` (from ``os.wait4``) keeps the RSS of the process that forked it, so forking
    from the benchmark driver (GBs after the routing benchmark) would overstate it. The cold
    case uses an empty network cache (``ACCESSMAP_CACHE_DIR`` in a temporary folder: the
    Travel Mapping network is read from the archive, clipped, timed and cached); the warm
    cases reuse that cache. The numba kernels' own on-disk cache is not cleared.
    """
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for case, args, state, target in DEFAULT_CASES:
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                row = dict(pool.submit(_default_cli, case, args, cache, target).result())
            row["network_cache"] = state
            rows.append(row)
    return rows


def _default_cli(
    case: str = "default-occitanie-cold",
    args: tuple[str, ...] = (),
    cache: str | None = None,
    target: float = TARGET_S,
) -> dict[str, Any]:
    env = dict(os.environ)
    if cache is not None:
        env["ACCESSMAP_CACHE_DIR"] = cache
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.gpkg"
        log = Path(tmp) / "stdout.txt"
        cmd = [*_accessmap_cmd(), "score", "--out", str(out), "--overwrite", *args]
        with open(log, "w") as fh:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            secs = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        text = log.read_text(errors="replace")
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {text[-500:]}")
        printed = re.search(r"Beyond 15 min of a GP: ([\d.]+ %) of the population", text)
        back = _read_back(out)
    return {
        "case": case,
        "tool": "accessmap CLI",
        "seconds": round(secs, 2),
        "peak_mb": round(usage.ru_maxrss / 1024.0, 0),
        "command": " ".join(["accessmap score --out x.gpkg --overwrite", *args]),
        "target": f"< {target:g} s " + ("met" if secs < target else "MISSED"),
        "printed_beyond_15": printed.group(1) if printed else "?",
        "share_beyond_15": round(back["share_beyond_15"], 5),
        "pop_beyond_15": back["pop_beyond_15"],
        "engine_communes": back["engines"],
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }


# ------------------------------------------------------------------ 2. road graph tables


def _street_table(u: np.ndarray, v: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """One row per street from a directed edge list: ``(a, b, oneway, first)``.

    A pair present in both directions is a two-way street (``oneway = 0``, kept once); a
    pair present once is one-way in its direction. ``first`` is the directed edge each row
    comes from (its speed is the street's: the generator gives both directions the same).
    The generator has no parallel edges.
    """
    key = np.minimum(u, v).astype(np.int64) * n + np.maximum(u, v)
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    return u[first], v[first], (counts == 1).astype(np.int8), first


def _write_tables(n_nodes: int, nodes_csv: str, edges_csv: str) -> dict[str, Any]:
    import pandas as pd
    from pyproj import Transformer

    from accessmap.loaders.admin import load_communes
    from benchmarks.generate import generate_road_graph

    t0 = time.perf_counter()
    xmin, ymin, xmax, ymax = (float(c) for c in load_communes(_data_dir()).total_bounds)
    g = generate_road_graph(n_nodes, seed=SEED)
    t_gen = time.perf_counter() - t0
    # affine map of the generated extent onto the communes' bounding box (EPSG:2154)
    gx0, gx1, gy0, gy1 = g.x.min(), g.x.max(), g.y.min(), g.y.max()
    sx, sy = (xmax - xmin) / (gx1 - gx0), (ymax - ymin) / (gy1 - gy0)
    x = xmin + (g.x - gx0) * sx
    y = ymin + (g.y - gy0) * sy
    a, b, oneway, first = _street_table(g.u, g.v, n_nodes)
    speed = g.speed_kmh[first]
    del g, first
    length = np.hypot(x[a] - x[b], y[a] - y[b])  # recomputed on the mapped coordinates
    highway = pd.Series(speed).map(SPEED_CLASS)
    if highway.isna().any():
        raise ValueError(
            f"generator speed without a class: {sorted(set(speed) - set(SPEED_CLASS))}"
        )
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(x, y)
    pd.DataFrame({"node_id": np.arange(n_nodes), "lon": lon, "lat": lat}).to_csv(
        nodes_csv, index=False, float_format="%.7f"
    )
    pd.DataFrame(
        {"u": a, "v": b, "length_m": np.round(length, 2), "highway": highway,
         "maxspeed_kmh": speed.astype(np.int64), "oneway": oneway,
         "access_motorcar": "allowed"}
    ).to_csv(edges_csv, index=False)  # fmt: skip
    return {
        "case": "occitanie-road-graph-tables",
        "nodes": n_nodes,
        "streets": int(a.size),
        "oneway_streets": int(oneway.sum()),
        "seconds": round(time.perf_counter() - t0, 2),
        "generate_seconds": round(t_gen, 2),
        "peak_mb": round(_peak_mb(), 0),
        "bbox_2154": f"{xmin:.0f},{ymin:.0f},{xmax:.0f},{ymax:.0f}",
        "scale_xy": f"{sx:.3f},{sy:.3f}",
        "mean_street_m": round(float(length.mean()), 1),
        "tables_mb": round((os.path.getsize(nodes_csv) + os.path.getsize(edges_csv)) / 2**20),
    }


def road_tables(n_nodes: int = N_NODES) -> tuple[Path, dict[str, Any] | None]:
    """The node table of the synthetic Occitanie graph (written in a child if missing)."""
    d = bench_cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    stem = f"occitanie-roadlike-{n_nodes}-seed{SEED}-v{TABLES_VERSION}"
    nodes, edges = d / f"{stem}_nodes.csv", d / f"{stem}_edges.csv"
    if nodes.exists() and edges.exists():
        return nodes, None
    tmp_n, tmp_e = d / f".{stem}_nodes.csv.tmp", d / f".{stem}_edges.csv.tmp"
    try:
        info = _in_child(_write_tables, n_nodes, str(tmp_n), str(tmp_e))
        os.replace(tmp_e, edges)
        os.replace(tmp_n, nodes)
    finally:
        tmp_n.unlink(missing_ok=True)
        tmp_e.unlink(missing_ok=True)
    return nodes, info


def _compile(nodes_csv: str) -> dict[str, Any]:
    from accessmap.network.build import load_network

    t0 = time.perf_counter()
    net = load_network(nodes_csv, use_cache=False)
    secs = time.perf_counter() - t0
    peak = _peak_mb()
    cached = load_network(nodes_csv)  # stores the compiled graph unless already cached
    copy = "written" if cached.meta.get("cache") == "miss" else "already there"
    return {
        "case": "occitanie-road-graph-compile",
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "seconds": round(secs, 2),
        "peak_mb": round(peak, 0),
        "nodes_dropped": net.meta.get("nodes_dropped"),
        "cache_copy": copy,
    }


# ------------------------------------------------------------------ 2. the scoring run


def _score_road(nodes_csv: str, out_dir: str) -> dict[str, Any]:
    from accessmap.outputs.geopackage import to_geopackage, write_tables
    from accessmap.pipeline import ScoreParams, run_score
    from accessmap.routing import kernels as routing

    routing.warmup()  # numba cache load, as any road run pays it (not a pipeline stage)
    t0 = time.perf_counter()
    last = [t0]
    stages: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        stages[stage] = round(now - last[0], 1)
        last[0] = now

    params = ScoreParams(roads=Path(nodes_csv))  # engine "auto", K = 10, grid on: CLI defaults
    result = run_score(params, data_dir=_data_dir(), progress=progress)
    out = Path(out_dir) / "road.gpkg"
    to_geopackage(result.layers | result.tables, out, metadata=result.metadata, overwrite=True)
    write_tables(result, out.with_suffix(""), overwrite=True)
    stages["export"] = round(time.perf_counter() - last[0], 1)
    total = time.perf_counter() - t0
    s = result.summary
    com, cells = result.layers["communes"], result.layers.get("cells")
    ex = s.get("exact") or {}
    return {
        "case": "occitanie-road-graph",
        "seconds": round(total, 2),
        "peak_mb": round(_peak_mb(), 0),
        "stages_s": stages,
        "engine_communes": com["engine"].value_counts().to_dict(),
        "engine_cells": {} if cells is None else cells["engine"].value_counts().to_dict(),
        "share_beyond_15": round(float(s["share_beyond_target"]), 4),
        "cells_share_beyond_15": round(float(s.get("cells_share_beyond_target", np.nan)), 4),
        "mean_time_min": round(float(s["mean_time_min"]), 2),
        "new_covered_pop": s["new_covered_pop"],
        "exact": ex.get("status"),
        "network_cache": result.metadata.get("road_network", {}).get("cache"),
        "synthetic": "generated graph: speed and memory, not access",
    }


def bench_road_graph(n_nodes: int = N_NODES) -> list[dict[str, Any]]:
    """Tables (if missing), compile, then the scoring run on the synthetic regional graph."""
    nodes, built = road_tables(n_nodes)
    rows: list[dict[str, Any]] = [built] if built else []
    rows.append(_in_child(_compile, str(nodes)))
    with tempfile.TemporaryDirectory() as tmp:
        row = _in_child(_score_road, str(nodes), tmp)
    row["nodes"] = rows[-1]["nodes"]
    rows.append(row)
    return rows


# ------------------------------------------------------------------ entry points


def _as_run_row(row: dict[str, Any]) -> dict[str, Any]:
    graph = (
        "Travel Mapping road network (default)"
        if row["case"].startswith("default")
        else "synthetic road-like over Occitanie"
    )
    return as_run_row(row, graph)


def bench_score(n_nodes: int = N_NODES) -> list[dict[str, Any]]:
    """Every measurement of this module, as detailed dicts."""
    return [*bench_default_cli(), *bench_road_graph(n_nodes)]


def run() -> list[dict[str, Any]]:
    """Rows for ``python -m benchmarks.run`` (default CLI run + synthetic regional graph)."""
    return [_as_run_row(r) for r in bench_score()]


def main() -> None:
    for r in bench_score():
        print(json.dumps(r, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
