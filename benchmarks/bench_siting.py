"""Siting on the real Occitanie data: building the tables, each objective, what-if speed.

One run of the siting stage (:func:`accessmap.pipeline.sites.siting_stage`) on Occitanie with
the crow-fly engine (so the figure is the siting maths, not routing), the default
candidates (a pharmacy or 1,000 inhabitants) and the existing Ma Santé, Ma Région centres,
K = 10, then:

* ``siting-tables``: the origin -> site table and the effect rows (one engine call);
* ``siting-<objective>``: choosing 10 sites (greedy, swap search, the MILP check) for each
  objective;
* ``siting-what-if``: :func:`accessmap.pipeline.sites.what_if_site` (APL change, people
  lifted above 2.5, people newly within 15 min, mean time, the communes gaining most) for
  every candidate, once the tables exist; the row gives the mean and the largest time per
  candidate (the issue's target: under 50 ms each).

Run: ``python -m benchmarks.run siting`` or ``python -m benchmarks.bench_siting``. Nothing
asserts on the figures.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from accessmap.area import load_area
from accessmap.pipeline import ScoreParams
from accessmap.pipeline.catchments import catchments_stage
from accessmap.pipeline.sites import siting_stage, what_if_site
from accessmap.pipeline.times import times_stage
from accessmap.traveltime import make_engine


def run() -> list[dict[str, Any]]:
    """Rows for :mod:`benchmarks.run`."""
    area = load_area("occitanie", grid=False, supply_kinds="gp,pharmacy")
    base = ScoreParams(engine="crow-fly", grid=False, k=10)
    eng = make_engine("crow-fly")
    ts = times_stage(base, area, eng)
    catch = catchments_stage(base, ts, eng, area)
    rows: list[dict[str, Any]] = []
    nodes = len(ts.com)
    stage = None
    for obj in ("apl", "coverage", "time"):
        p = replace(base, objective=obj)
        t0 = time.perf_counter()
        stage = siting_stage(p, area, eng, ts.com, ts.origins, catch.demand,
                             std_demand=catch.std_demand)  # fmt: skip
        total = time.perf_counter() - t0
        info = stage.info
        b = info.get("bound") or {}
        if obj == "apl":
            rows.append({"benchmark": "siting-tables", "graph": "occitanie communes",
                         "nodes": nodes, "tool": "crow-fly",
                         "seconds": info["seconds"]["tables"],
                         "note": f"{info['candidates']} candidates, "
                                 f"{stage.problem.cover.nnz if stage.problem else 0} pairs "
                                 "within 15 min"})  # fmt: skip
        eff = info["effects"]
        rows.append({
            "benchmark": f"siting-{obj}", "graph": "occitanie communes", "nodes": nodes,
            "tool": b.get("method", "greedy"), "seconds": round(total, 3),
            "note": f"lifted {eff['lifted_pop']:,.0f}, newly within 15 min "
                    f"{eff['newly_within_pop']:,.0f}, mean time "
                    f"{eff['mean_time_change_min']:+.4f} min; gap "
                    f"{100 * float(b.get('gap', float('nan'))):.3f} %",
        })  # fmt: skip
    assert stage is not None and stage.problem is not None and stage.baseline is not None
    cand = [str(s) for s in stage.problem.site_ids][: info["candidates"]]
    times = []
    for code in cand:
        if code not in ts.com.index:
            continue
        t0 = time.perf_counter()
        what_if_site(stage.problem, stage.baseline, code, 4.0, ts.com)
        times.append((time.perf_counter() - t0) * 1e3)
    arr = np.array(times)
    rows.append({"benchmark": "siting-what-if", "graph": "occitanie communes", "nodes": nodes,
                 "tool": "SitingState.gain", "seconds": round(float(arr.sum()) / 1e3, 3),
                 "note": f"{len(arr)} candidates: mean {arr.mean():.2f} ms, max "
                         f"{arr.max():.2f} ms per candidate (target < 50 ms)"})  # fmt: skip
    return rows


if __name__ == "__main__":
    for r in run():
        print(f"{r['benchmark']:<18} {r['seconds']:>8} s  {r['tool']:<36} {r.get('note', '')}")
