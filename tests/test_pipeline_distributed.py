"""``run_score`` / ``accessmap score`` with a Dask scheduler: the same answer as in-process.

One ``LocalCluster`` with two worker processes on 127.0.0.1 serves the whole module. The
references are in-process runs on the same area; every layer and table must be equal, float
for float (``check_exact``), geometry for geometry. The road case uses the Toulouse INSA
road tables, compiled into a module-private network cache that the workers read.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from accessmap.cli import main
from accessmap.pipeline import ScoreParams, ScoreResult, run_score

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")

TOULOUSE = "roads_occitanie_toulouse_insa-begraphes-osm_nodes.csv"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private network cache (``ACCESSMAP_CACHE_DIR``) for the module's road runs."""
    d = tmp_path_factory.mktemp("netcache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCESSMAP_CACHE_DIR", str(d))
        yield d


def _quiet_run(params: ScoreParams, **kwargs: Any) -> ScoreResult:
    with warnings.catch_warnings(record=True):  # snapping warnings of the road engine
        warnings.simplefilter("always")
        return run_score(params, **kwargs)


def _assert_same_result(a: ScoreResult, b: ScoreResult) -> None:
    assert set(a.layers) == set(b.layers)
    for name in a.layers:
        x, y = a.layers[name], b.layers[name]
        pd.testing.assert_frame_equal(
            pd.DataFrame(x).drop(columns="geometry"),
            pd.DataFrame(y).drop(columns="geometry"),
            check_exact=True,
            obj=name,
        )
        assert bool(x.geometry.geom_equals_exact(y.geometry, 0.0).all()), name
    assert set(a.tables) == set(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True, obj=name)
    for key in ("share_beyond_target", "pop_beyond_target", "mean_time_min", "gini_apl",
                "new_covered_pop", "engines"):  # fmt: skip
        assert a.summary[key] == b.summary[key], key
    ea, eb = dict(a.summary["exact"]), dict(b.summary["exact"])
    ea.pop("solve_time_s", None)
    eb.pop("solve_time_s", None)
    assert ea == eb


def test_crowfly_default_run_identical(
    score_result: ScoreResult, occitanie_area: Any, data_dir: Path, client: Any
) -> None:
    """Crow-fly Occitanie run: the scheduler changes nothing in the outputs."""
    crow = ScoreParams(engine="crow-fly")  # the default now routes on the road network
    base = run_score(crow, data_dir=data_dir, area=occitanie_area)
    got = run_score(crow, data_dir=data_dir, area=occitanie_area, scheduler=client)
    _assert_same_result(base, got)
    assert base.summary["scheduler"] is None
    assert base.summary["dask_workers"] == 0
    assert got.summary["scheduler"] == client.scheduler.address
    assert got.summary["dask_workers"] == 2
    # crow-fly steps stay in-process (docs/scaling.md): nothing was sent
    assert got.summary["dask_blocks"] == 0
    assert got.metadata["summary"]["scheduler"] == client.scheduler.address


def test_toulouse_roads_identical(
    occitanie_area: Any, data_dir: Path, cache_dir: Path, client: Any
) -> None:
    """Road engine on Toulouse: catchment, coverage and isochrones from the workers, same answer."""
    from accessmap.network.store import graph_cache_info

    params = ScoreParams(roads=data_dir / TOULOUSE, grid=False)
    local = _quiet_run(params, data_dir=data_dir, area=occitanie_area)
    remote = _quiet_run(params, data_dir=data_dir, area=occitanie_area, scheduler=client)
    _assert_same_result(local, remote)
    com = remote.layers["communes"]
    assert (com["engine"] == "road-network").sum() >= 5
    # catchment table + siting coverage table (+ the road isochrones of proposed sites the
    # file covers; the bands of existing GPs come from one in-process nearest pass)
    assert remote.summary["dask_searches"] >= 2
    iso = remote.layers["isochrones"]
    assert set(iso.loc[iso["kind"] == "existing", "engine"]) == {"crow-fly", "road-network"}
    assert remote.summary["dask_blocks"] >= 4  # spread over both workers
    cache_file = Path(remote.metadata["road_network"]["cache_file"])
    assert cache_file.parent == cache_dir
    # the workers read the graph from the cache file, at most once each
    loads = [v["loads"] for v in client.run(graph_cache_info).values()]
    assert len(loads) == 2 and sum(loads) >= 1 and max(loads) <= 1, loads


def test_network_engine_matrix_and_isochrones_on_cluster(
    occitanie_area: Any, data_dir: Path, cache_dir: Path, client: Any
) -> None:
    """NetworkEngine(client=...): matrix both ways and isochrones equal the local engine."""
    from accessmap.network.build import load_network
    from accessmap.traveltime import NetworkEngine

    net = load_network(data_dir / TOULOUSE)
    local = NetworkEngine(net)
    remote = NetworkEngine(net, client=client, block_size=3)
    assert remote.network_path == Path(net.meta["cache_file"])
    tls = occitanie_area.origins[occitanie_area.origins.index.str.startswith("31")]
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        covered = local.snap(tls)["snapped"].to_numpy()
        o = tls[covered]
        gp = occitanie_area.gp_supply.set_index("supply_id", drop=False)
        f = gp[local.snap(gp)["snapped"].to_numpy()]
        assert len(o) != len(f) and min(len(o), len(f)) > 2  # two search directions
        for a, b in ((o, f), (f, o), (o, o)):  # both search directions
            pd.testing.assert_frame_equal(
                local.matrix(a, b, cutoff_min=20.0), remote.matrix(a, b, cutoff_min=20.0),
                check_exact=True,
            )  # fmt: skip
        iso_l = local.isochrones(f.iloc[:4], thresholds_min=(5.0, 10.0))
        iso_r = remote.isochrones(f.iloc[:4], thresholds_min=(5.0, 10.0))
    assert isinstance(iso_r, gpd.GeoDataFrame) and len(iso_r) == 8
    pd.testing.assert_frame_equal(
        pd.DataFrame(iso_l).drop(columns="geometry"), pd.DataFrame(iso_r).drop(columns="geometry")
    )
    assert bool(iso_l.geometry.geom_equals_exact(iso_r.geometry, 0.0).all())
    assert remote.remote_calls == 4 and remote.remote_blocks > 4


def test_cli_score_with_scheduler(
    tmp_path: Path, data_dir: Path, cache_dir: Path, client: Any, capsys: Any
) -> None:
    """``accessmap score --scheduler ADDRESS`` end to end: same GeoPackage tables."""
    common = ["score", "--data-dir", str(data_dir), "--no-grid", "--no-exact", "-k", "2",
              "--roads", str(data_dir / TOULOUSE)]  # fmt: skip
    out_local = tmp_path / "local.gpkg"
    out_dask = tmp_path / "dask.gpkg"
    assert main([*common, "--out", str(out_local)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    address = client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    code = main([*common, "--out", str(out_dask), "--scheduler", address])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert f"Dask scheduler {address}: 2 workers" in cap.out
    for layer in ("communes", "epci_scores", "sites", "siting_curve"):
        a = pyogrio.read_dataframe(out_local, layer=layer, read_geometry=False)
        b = pyogrio.read_dataframe(out_dask, layer=layer, read_geometry=False)
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=layer)
    com = pyogrio.read_dataframe(out_dask, layer="communes", read_geometry=False)
    assert "road-network" in set(com["engine"])
    # the client opened from the address was closed; the fixture's client still works
    assert client.submit(np.add, 1, 2).result() == 3


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:9", "no-port"])
def test_cli_bad_scheduler_one_line(
    tmp_path: Path, data_dir: Path, capsys: Any, address: str
) -> None:
    out = tmp_path / "x.gpkg"
    code = main(["score", "--data-dir", str(data_dir), "--out", str(out), "--no-grid",
                 "--no-exact", "-k", "1", "--scheduler", address,
                 "--scheduler-timeout", "1"])  # fmt: skip
    cap = capsys.readouterr()
    assert code != 0
    assert "cannot reach the Dask scheduler" in cap.err and address in cap.err
    assert len(cap.err.strip().splitlines()) == 1
    assert "Traceback" not in cap.err
    assert not out.exists()


def test_run_score_bad_scheduler_is_config_error(occitanie_area: Any) -> None:
    from accessmap.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        run_score(ScoreParams(k=0, exact=False), area=occitanie_area, scheduler="no-port")
