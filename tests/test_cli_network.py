"""Tests for ``accessmap network build`` and ``accessmap times nearest|matrix|isochrones``."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from accessmap.cli import main
from accessmap.network.graph import RoadNetwork
from accessmap.traveltime import CrowFlyEngine, NetworkEngine

AUCH_EDGES = "roads_occitanie_auch_pfe-osm2024_edges.csv"
AUCH_NODES = "roads_occitanie_auch_pfe-osm2024_nodes.csv"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESSMAP_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture()
def auch_points(data_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Gers commune origins and BPE GP points as CSV (lon/lat), written to tmp_path."""
    o = pd.read_csv(data_dir / "occitanie_commune_origins.csv", dtype={"insee": str})
    o = o[o["insee"].str.startswith("32")]
    f = pd.read_csv(data_dir / "supply_points_bpe2019_commune_origins.csv", dtype={"insee": str})
    f = f[f["insee"].str.startswith("32") & (f["kind"] == "gp")]
    # keep points in and around Auch (the extract's bounding box plus a margin)
    box = (0.50, 43.59, 0.67, 43.69)
    o = o[o["lon"].between(box[0], box[2]) & o["lat"].between(box[1], box[3])]
    f = f[f["lon"].between(box[0], box[2]) & f["lat"].between(box[1], box[3])]
    assert len(o) >= 5 and len(f) >= 2
    po, pf = tmp_path / "origins.csv", tmp_path / "gps.csv"
    o.to_csv(po, index=False)
    f.to_csv(pf, index=False)
    return po, pf


def test_network_build_prints_counts_and_caches(data_dir: Path, capsys, tmp_path: Path) -> None:
    edges = data_dir / AUCH_EDGES
    assert main(["network", "build", str(edges)]) == 0
    out = capsys.readouterr().out
    net = RoadNetwork.from_tables(data_dir / AUCH_NODES, edges)
    assert f"nodes: {net.n_nodes:,}" in out
    assert f"edges: {net.n_edges:,}" in out
    assert "dropped: 149 nodes" in out
    assert "cache: miss" in out and str(tmp_path / "cache") in out
    assert main(["network", "build", str(edges)]) == 0
    assert "cache: hit" in capsys.readouterr().out


def test_network_build_bad_file(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "empty.osm.pbf"
    bad.write_bytes(b"")
    code = main(["network", "build", str(bad)])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("accessmap: error:") and "empty.osm.pbf" in err


def test_times_nearest_road_network_matches_library(
    data_dir: Path, auch_points: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    po, pf = auch_points
    out = tmp_path / "nearest.gpkg"
    args = ["times", "nearest", str(po), str(pf), "--out", str(out), "--id-col", "insee"]
    args += ["--facility-id-col", "id", "--roads", str(data_dir / AUCH_EDGES)]
    assert main(args) == 0
    _, err = capsys.readouterr()
    got = gpd.read_file(out).set_index("origin_id")
    assert got.crs.to_epsg() == 2154
    assert (got["engine"] == "road-network").all()
    # same numbers as the library on the same inputs
    from accessmap.cli.network import read_points

    o = read_points(po, id_col="insee", what="origins")
    f = read_points(pf, id_col="id", what="facilities")
    eng = NetworkEngine(RoadNetwork.from_tables(data_dir / AUCH_NODES, data_dir / AUCH_EDGES))
    with pytest.warns(UserWarning):  # some Gers points lie outside the Auch extract
        ref = eng.nearest(o, f)
    pd.testing.assert_series_equal(
        got["travel_time_min"], ref["travel_time_min"], check_names=False, check_index_type=False
    )
    assert "accessmap: warning:" in err and "farther than max_snap_m" in err


def test_times_matrix_and_overwrite(auch_points: tuple[Path, Path], tmp_path: Path, capsys):
    po, pf = auch_points
    out = tmp_path / "m.csv"
    args = ["times", "matrix", str(po), str(pf), "--out", str(out), "--cutoff", "15"]
    args += ["--id-col", "insee", "--facility-id-col", "id"]
    assert main(args) == 0
    got = pd.read_csv(out, dtype={"from_id": str})
    assert list(got.columns) == ["from_id", "to_id", "travel_time_min", "engine"]
    assert (got["engine"] == "crow-fly").all() and (got["travel_time_min"] <= 15).all()
    assert len(got) > 0
    before = out.read_bytes()
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "exists; pass --overwrite" in err
    assert out.read_bytes() == before  # untouched
    assert main([*args, "--overwrite", "--cutoff", "5"]) == 0
    assert len(pd.read_csv(out)) < len(got)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".m.csv")]  # no temp left


def test_times_isochrones_parquet(
    data_dir: Path, auch_points: tuple[Path, Path], tmp_path: Path
) -> None:
    _, pf = auch_points
    out = tmp_path / "iso.parquet"
    args = ["times", "isochrones", str(pf), "--out", str(out), "--thresholds", "3,6"]
    args += ["--roads", str(data_dir / AUCH_EDGES)]
    assert main(args) == 0
    iso = gpd.read_parquet(out)
    assert set(iso["threshold_min"]) == {3.0, 6.0}
    assert (iso["method"] == "reached-network").all()
    assert iso.crs.to_epsg() == 2154
    crow = tmp_path / "crow.gpkg"
    assert main(["times", "isochrones", str(pf), "--out", str(crow), "--thresholds", "5"]) == 0
    c = gpd.read_file(crow)
    assert (c["method"] == "crow-fly-buffer").all()
    r = 5 * CrowFlyEngine()._m_per_min
    assert c.geometry.area.iloc[0] == pytest.approx(3.14159 * r * r, rel=0.01)


def test_times_bad_inputs(auch_points: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    po, pf = auch_points
    code = main(["times", "nearest", str(po), str(pf), "--out", str(tmp_path / "x.txt")])
    assert code != 0 and "unknown extension" in capsys.readouterr().err
    code = main(["times", "nearest", str(po), str(pf), "--out", str(tmp_path / "x.csv"),
                 "--id-col", "nope"])  # fmt: skip
    assert code != 0 and "no id column 'nope'" in capsys.readouterr().err
    code = main(["times", "isochrones", str(pf), "--out", str(tmp_path / "i.gpkg"),
                 "--thresholds", "5,abc"])  # fmt: skip
    assert code != 0 and "--thresholds must be minutes" in capsys.readouterr().err
    code = main(["times", "nearest", str(tmp_path / "none.csv"), str(pf), "--out",
                 str(tmp_path / "y.csv")])  # fmt: skip
    assert code != 0 and "none.csv not found" in capsys.readouterr().err
