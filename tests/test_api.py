"""The flat public API: every exported name resolves, lazily, and the tables agree."""

from __future__ import annotations

import subprocess
import sys

import accessmap
from accessmap.errors import AccessmapError


def test_every_public_name_resolves() -> None:
    for name in accessmap.__all__:
        assert getattr(accessmap, name) is not None, name


def test_all_lazy_table_and_dir_agree() -> None:
    lazy = set(accessmap._LAZY)
    errors = {n for n in accessmap.__all__ if n.endswith("Error") and n not in lazy}
    assert set(accessmap.__all__) == lazy | errors | {"__version__"}
    assert dir(accessmap) == sorted(accessmap.__all__)
    for name in errors:
        assert issubclass(getattr(accessmap, name), AccessmapError), name


def test_unknown_name_raises_attribute_error() -> None:
    try:
        accessmap.no_such_function  # noqa: B018
    except AttributeError as exc:
        assert "no_such_function" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_is_lazy() -> None:
    # `import accessmap` (and so `accessmap --version`) must not pull in the geo stack
    code = (
        "import sys, accessmap; "
        "heavy = [m for m in ('geopandas', 'numba', 'networkx', 'osmnx', 'dask') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == ""


def test_error_exit_codes_are_distinct_from_success() -> None:
    for name in accessmap.__all__:
        obj = getattr(accessmap, name)
        if isinstance(obj, type) and issubclass(obj, AccessmapError):
            assert isinstance(obj.exit_code, int) and obj.exit_code != 0, name
