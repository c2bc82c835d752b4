"""The headline API: a short list of names, every one resolves lazily."""

from __future__ import annotations

import subprocess
import sys

import accessmap
from accessmap.errors import AccessmapError


def test_every_public_name_resolves() -> None:
    for name in accessmap.__all__:
        assert getattr(accessmap, name) is not None, name


def test_headline_is_small_and_dir_agrees() -> None:
    assert 20 <= len(accessmap.__all__) <= 32
    assert set(accessmap.__all__) == set(accessmap._LAZY) | {"AccessmapError", "__version__"}
    assert dir(accessmap) == sorted(accessmap.__all__)
    # internals stay in their subpackages
    for internal in ("reverse_csr", "iter_bounded_blocks", "graph_arrays", "strip_partition"):
        assert internal not in accessmap.__all__


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
    from accessmap import errors

    for name in errors.__all__ if hasattr(errors, "__all__") else dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, AccessmapError):
            assert isinstance(obj.exit_code, int) and obj.exit_code != 0, name


def test_cli_version_does_not_load_the_geo_stack() -> None:
    # the command modules are registered on demand: `accessmap --version` stays instant
    code = (
        "import sys; from accessmap.cli import main; rc = main(['--version']); "
        "heavy = [m for m in ('geopandas', 'numba', 'accessmap.pipeline') if m in sys.modules]; "
        "print(rc, ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip().splitlines() == ["accessmap 0.1.0", "0"]
