"""Compare the CSV tables of ``accessmap score`` runs between two checkouts.

Used to show that a restructuring of the code changed no figure: run the three reference
runs with each checkout, then compare every CSV table byte for byte (the run timestamps live
only in ``run_metadata.json`` and the GeoPackage metadata, which are not compared).

Usage::

    # in each checkout (same virtual environment is fine: PYTHONPATH selects the code)
    PYTHONPATH=src python scripts/compare_outputs.py run OUT_DIR
    python scripts/compare_outputs.py diff BEFORE_DIR AFTER_DIR

``run`` writes ``OUT_DIR/{default,toulouse,lot}.gpkg`` and their CSV folders: the default
Occitanie run, the Toulouse ``--roads`` run and ``--region 46``. ``diff`` prints one line per
table (``same`` or ``DIFFERS`` with the first differing line) and exits 1 on any difference.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: The reference runs: name -> extra ``accessmap score`` options. ``{data}`` is the data
#: directory (``ACCESSMAP_DATA_DIR``, default ``../shared/data``).
RUNS: dict[str, list[str]] = {
    "default": ["--engine", "crow-fly"],
    "toulouse": ["--roads", "{data}/roads_occitanie_toulouse_insa-begraphes-osm_nodes.csv"],
    "lot": ["--engine", "crow-fly", "--region", "46"],
}


def _data_dir() -> str:
    return os.environ.get("ACCESSMAP_DATA_DIR", str(Path("..", "shared", "data").resolve()))


def run(out_dir: Path, runs: dict[str, list[str]] = RUNS) -> None:
    """Run every reference run of ``runs`` into ``out_dir`` with the current interpreter."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = _data_dir()
    for name, opts in runs.items():
        args = [o.format(data=data) for o in opts]
        cmd = [sys.executable, "-c", "import sys; from accessmap.cli import main; "
               "sys.exit(main(sys.argv[1:]))", "score", *args,
               "--out", str(out_dir / f"{name}.gpkg"), "--overwrite"]  # fmt: skip
        print("running", name, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def diff(before: Path, after: Path) -> int:
    """Compare every CSV of ``before/<run>/`` with ``after/<run>/``; return 0 when all equal."""
    bad = 0
    names = sorted({p.relative_to(before) for p in before.glob("*/*.csv")}
                   | {p.relative_to(after) for p in after.glob("*/*.csv")})  # fmt: skip
    for rel in names:
        a, b = before / rel, after / rel
        if not a.exists() or not b.exists():
            print(f"{rel}: only in {'after' if b.exists() else 'before'}")
            bad += 1
            continue
        ta, tb = a.read_bytes(), b.read_bytes()
        if ta == tb:
            print(f"{rel}: same ({len(ta.splitlines())} lines)")
            continue
        bad += 1
        la, lb = ta.decode().splitlines(), tb.decode().splitlines()
        first = next((i for i, (x, y) in enumerate(zip(la, lb, strict=False)) if x != y),
                     min(len(la), len(lb)))  # fmt: skip
        print(f"{rel}: DIFFERS at line {first + 1}")
        print(f"  before: {la[first][:200] if first < len(la) else '<end>'}")
        print(f"  after:  {lb[first][:200] if first < len(lb) else '<end>'}")
    print(f"{len(names)} tables compared, {bad} differ")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "run":
        run(Path(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "diff":
        return diff(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
