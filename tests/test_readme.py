"""Every command of the README runs as written, so the README cannot drift from the CLI.

The ``bash`` blocks are read line by line (``\\`` continuations joined, ``#`` comments and
``a|b|c`` alternatives expanded). ``make X`` must be a Makefile target. ``accessmap ...``
lines run through the real CLI entry point: with ``--help`` appended (click parses every
option before it answers, so an unknown option or command fails) and, for the commands that
are quick on the data directory (``map``, ``report``, ``data check``, ``--help``), as
written, in a folder holding the ``out/accessmap.gpkg`` of the session's run. Lines naming a
placeholder (``FILE``, ``ROADFILE``, ``PRIORITY.csv``, ``tcp://host``) are checked with
``--help`` only. ``score`` lines run for real when they are quick (:func:`_quick_score`: one
département, or the crow-fly engine: 13-20 s each on the 2-core CI machine, measured), the
others (Occitanie or France on the road network, about a minute and more) with ``--help``
only; a ``map`` or ``report`` line reading a GeoPackage that a README ``score`` line writes
runs that score line first. ``../shared/data/`` in a line is the data directory. The
``python`` block's names must exist.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest

import accessmap as am
from accessmap.cli import main
from accessmap.geography import REGIONS
from accessmap.outputs.geopackage import layers_of, to_geopackage

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]{2,}(\.csv|\.gpkg|\.pbf)?\b|tcp://|SIREN")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def _commands() -> list[str]:
    out: list[str] = []
    for block in _blocks("bash"):
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split(" #")[0].strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            # "nearest|matrix|isochrones": one command per alternative
            alt = next((w for w in words if "|" in w), None)
            if alt is not None:
                out += [line.replace(alt, a, 1) for a in alt.split("|")]
            else:
                out.append(line)
    return out


COMMANDS = _commands()
TARGETS = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), flags=re.M))


def test_readme_has_commands() -> None:
    assert sum(c.startswith("accessmap") for c in COMMANDS) >= 10
    assert any(c.startswith("make ") for c in COMMANDS)


@pytest.mark.parametrize("line", [c for c in COMMANDS if c.startswith("make ")])
def test_make_targets_exist(line: str) -> None:
    for target in line.split()[1:]:
        assert target in TARGETS, f"README runs `{line}` but the Makefile has no {target!r}"


@pytest.fixture(scope="module")
def workdir(score_result, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A folder with ``out/accessmap.gpkg`` of the session's run, as after ``make run``."""
    d = tmp_path_factory.mktemp("readme")
    (d / "fresh").mkdir()
    layers, meta = layers_of(score_result)
    to_geopackage(layers, d / "out" / "accessmap.gpkg", metadata=meta)
    return d


def _quick_score(args: list[str]) -> bool:
    """A ``score`` line quick enough to run as written: one département (``--region 46``)
    or the crow-fly engine, without an exhaustive option (``--exact`` stays default: it is
    bounded by a 60 s HiGHS limit but takes a second on a département)."""
    if args[:1] != ["score"]:
        return False
    region = args[args.index("--region") + 1] if "--region" in args[:-1] else ""
    # a two-digit code that is a région's (76) is the région: ``D11`` forces a département
    one_dep = bool(re.fullmatch(r"D?\d[\dAB]", region)) and region not in REGIONS
    crow = "--engine" in args[:-1] and args[args.index("--engine") + 1] == "crow-fly"
    return one_dep or (crow and "--region" not in args)


def _quick(args: list[str]) -> bool:
    line = " ".join(args)
    if PLACEHOLDER.search(line):
        return False
    return (
        args[:1] in (["map"], ["report"], ["--help"])
        or args[:2] == ["data", "check"]
        or _quick_score(args)
    )


def _real(args: list[str], data_dir: Path) -> list[str]:
    """The README's ``../shared/data/`` paths pointed at the data directory."""
    return [a.replace("../shared/data/", f"{data_dir}/") for a in args]


def _producer(gpkg: str) -> list[str] | None:
    """The README ``score`` line that writes ``gpkg`` (``--out gpkg``), if any."""
    for line in COMMANDS:
        args = shlex.split(line)[1:]
        if args[:1] == ["score"] and "--out" in args[:-1] and args[args.index("--out") + 1] == gpkg:
            return args
    return None


@pytest.mark.parametrize("line", [c for c in COMMANDS if c.startswith("accessmap")])
def test_accessmap_command_runs(line, workdir, data_dir, monkeypatch, capsys) -> None:
    args = shlex.split(line)[1:]
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("ACCESSMAP_DATA_DIR", str(data_dir))
    code = main([*args, "--help"])
    cap = capsys.readouterr()
    assert code == 0, f"`{line} --help` failed: {cap.err.strip()[-400:]}"
    if _quick(args):
        if args[:1] in (["map"], ["report"]) and len(args) > 1 and not (workdir / args[1]).exists():
            made = _producer(args[1])
            assert made is not None, f"`{line}` reads {args[1]}, which no README line writes"
            assert main(["--quiet", *_real(made, data_dir)]) == 0, f"{made} failed"
            capsys.readouterr()
        if _quick_score(args) and "--out" not in args:
            monkeypatch.chdir(workdir / "fresh")  # default out/accessmap.gpkg: a new folder
        extra = ["--overwrite"] if args[:1] in (["map"], ["report"], ["score"]) else []
        code = main([*_real(args, data_dir), *extra])
        cap = capsys.readouterr()
        assert code == 0, f"`{line}` failed: {cap.err.strip()[-400:]}"
        for word in args:
            if word.startswith("out/") and not word.endswith(".gpkg"):
                assert (workdir / word).stat().st_size > 1000, word


def test_python_block_names_exist() -> None:
    (block,) = _blocks("python")
    tree = ast.parse(block)
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == "am"}  # fmt: skip
    assert used and all(hasattr(am, name) for name in used), used
