"""Run every benchmark module of this package and print one table.

``python -m benchmarks.run`` imports each ``benchmarks/bench_*.py`` module it finds (sorted by
name: ``bench_build``, ``bench_routing``, ...), calls its ``run()`` which returns a list of
rows (dicts with at least ``benchmark``, ``graph``, ``nodes``, ``tool``, ``seconds``, and
optionally ``ratio``, ``peak_mb``, ``note``), and prints them as one plain-text table
preceded by the machine description (CPU model, cores, RAM, Python and library versions).
``python -m benchmarks.run routing`` runs only the modules whose name contains ``routing``.
"""

from __future__ import annotations

import importlib
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any


def machine() -> str:
    """One line describing the machine the benchmark ran on."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    import numba
    import numpy

    return (
        f"{cpu}, {os.cpu_count()} cores (nproc), RAM {ram}; Python "
        f"{platform.python_version()}, numpy {numpy.__version__}, numba {numba.__version__}"
    )


def _fmt(v: Any, key: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if key == "seconds":
        return f"{v:.3f}" if v < 10 else f"{v:.1f}"
    if key == "ratio":
        return f"{v:.1f}x"
    if key == "peak_mb":
        return f"{v:,.0f}"
    if key == "nodes":
        return f"{v:,}" if v else "-"
    return str(v)


def print_table(rows: list[dict[str, Any]]) -> None:
    """Print rows as an aligned plain-text table (copyable into Markdown docs)."""
    cols = ["benchmark", "graph", "nodes", "tool", "seconds", "ratio", "peak_mb", "note"]
    head = {"seconds": "time (s)", "ratio": "vs accessmap", "peak_mb": "peak MB"}
    table = [[head.get(c, c) for c in cols]]
    table += [[_fmt(r.get(c), c) for c in cols] for r in rows]
    print("| " + " | ".join(table[0]) + " |")
    print("|" + "|".join("---" for _ in cols) + "|")
    for line in table[1:]:
        print("| " + " | ".join(line) + " |")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    here = Path(__file__).resolve().parent
    shared = here.parents[1] / "shared" / "data"
    if "ACCESSMAP_DATA_DIR" not in os.environ and shared.is_dir():
        os.environ["ACCESSMAP_DATA_DIR"] = str(shared)  # as `make bench` and the tests do
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    if args:
        names = [n for n in names if any(a in n for a in args)]
    print(f"machine: {machine()}")
    rows: list[dict[str, Any]] = []
    for name in names:
        mod = importlib.import_module(f"benchmarks.{name}")
        if not hasattr(mod, "run"):
            continue
        t0 = time.perf_counter()
        try:
            rows.extend(mod.run())
        except Exception as exc:  # one broken module must not lose the others' figures
            print(f"{name}: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
            rows.append({"benchmark": name, "tool": "FAILED", "note": f"{type(exc).__name__}"})
            continue
        print(f"{name}: done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
