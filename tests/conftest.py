"""Shared fixtures: the real data directory and a no-network guard."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path:
    env = os.environ.get("ACCESSMAP_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real shared data directory (``ACCESSMAP_DATA_DIR`` or ``../shared/data``)."""
    d = _data_dir()
    if not (d / "occitanie_admin.gpkg").exists():
        pytest.fail(f"data directory {d} not found: set ACCESSMAP_DATA_DIR")
    return d


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A Dask ``Client`` on a ``LocalCluster`` of two worker processes on 127.0.0.1.

    Module scope: each test module gets fresh workers (some count the graph loads per worker).
    """
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as cl,
    ):
        yield cl


_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not (
        host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
    ):
        raise RuntimeError(f"tests must not touch the network (tried {host!r})")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Block every socket connection that is not to loopback."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(scope="session")
def occitanie_area(data_dir: Path):  # type: ignore[no-untyped-def]
    """The default Occitanie area, loaded once per test session."""
    from accessmap.area import load_area

    return load_area("occitanie", data_dir=data_dir)


@pytest.fixture(scope="session")
def score_result(occitanie_area, data_dir: Path):  # type: ignore[no-untyped-def]
    """One default run of the pipeline (crow-fly, K = 10), shared by every test."""
    from accessmap.pipeline import ScoreParams, run_score

    return run_score(ScoreParams(), data_dir=data_dir, area=occitanie_area)
