"""The road engine on the Travel Mapping network: access legs, direct legs, the mixed engine at
the edge of the network, access-surface isochrones, and the engine registry's default.

Hand-computed cases on small graphs, then the real archive clipped to Isère, checked against
:func:`accessmap.network.speedmodel.od_times` (the function the speed model was calibrated
with) and networkx.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from accessmap.errors import BadValueError, ConfigError
from accessmap.network.build import load_travelmapping
from accessmap.network.graph import RoadNetwork
from accessmap.network.speedmodel import (
    DEFAULT_MODEL,
    TravelMappingSpeedModel,
    model_from_network,
    od_times,
)
from accessmap.traveltime import CrowFlyEngine, MixedEngine, NetworkEngine, make_engine
from accessmap.traveltime.base import TravelTimeWarning
from accessmap.traveltime.mixed import (
    FALLBACK_BEYOND_SNAP,
    FALLBACK_OFF_NETWORK,
    FALLBACK_UNREACHED,
)

ARCHIVE = "roads_france_travelmapping-20260822_wpt.tar.gz"
POINTS = "times_isere_osrm2021_communes.geojson"

PLAIN = TravelMappingSpeedModel(
    length_factor=1.0,
    winding_factor=0.0,
    junction_delay_s=0.0,
    access_speed_kmh=30.0,
    access_detour=1.5,
    access_terminal_min=0.0,
    max_snap_m=1000.0,
)


def pts(xy: list[tuple[float, float]], ids: list[str]) -> gpd.GeoDataFrame:
    x, y = zip(*xy, strict=True)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=2154, index=pd.Index(ids))


def line_net(model: TravelMappingSpeedModel | None = PLAIN) -> RoadNetwork:
    """Nodes at x = 0, 10, 20 km joined two-way, 5 min an edge (a Travel Mapping network)."""
    meta = {} if model is None else {"format": "travelmapping", "speed_model": model.to_dict()}
    return RoadNetwork.from_arrays(
        [0, 1, 1, 2], [1, 0, 2, 1], [5.0] * 4, x=[0.0, 10_000.0, 20_000.0], y=[0.0] * 3,
        node_ids=[1, 2, 3], meta=meta,
    )  # fmt: skip


# ------------------------------------------------------------------ access legs (hand-computed)
def test_engine_takes_access_legs_from_the_speed_model() -> None:
    eng = NetworkEngine(line_net())
    assert (eng.access_speed_kmh, eng.access_detour, eng.max_snap_m) == (30.0, 1.5, 1000.0)
    assert eng.direct_leg and eng.isochrone_method == "access-surface"
    assert eng.model == PLAIN
    # an OSM/table network keeps the engine's own defaults
    osm = NetworkEngine(line_net(None))
    assert (osm.access_speed_kmh, osm.access_detour, osm.max_snap_m) == (15.0, 1.0, 1000.0)
    assert not osm.direct_leg and osm.isochrone_method == "reached-network"
    assert model_from_network(line_net(None)) is None
    # explicit values win over the model's
    assert NetworkEngine(line_net(), max_snap_m=50.0, direct_leg=False).max_snap_m == 50.0
    with pytest.raises(BadValueError, match="access_detour"):
        NetworkEngine(line_net(), access_detour=0.5)
    with pytest.raises(BadValueError, match="isochrone_method"):
        NetworkEngine(line_net(), isochrone_method="circles")


def test_access_legs_and_direct_leg_hand_computed() -> None:
    eng = NetworkEngine(line_net())
    o = pts([(0.0, 200.0), (10_000.0, 600.0)], ["a", "b"])
    f = pts([(20_000.0, -400.0), (10_000.0, -300.0)], ["far", "near"])
    acc = 1.5 / (30_000 / 60)  # minutes per straight metre: detour 1.5 at 30 km/h
    near = eng.nearest(o, f)
    # a: 200 m access + 5 min to node 1 + 300 m access = 0.6 + 5 + 0.9
    assert near.loc["a", "travel_time_min"] == pytest.approx(200 * acc + 5.0 + 300 * acc)
    assert near.loc["a", "nearest_id"] == "near"
    # b shares node 1 with "near": through the node 600 + 300 m, direct 900 m: equal times,
    # the network path is kept; move "near" sideways and the direct leg wins
    assert near.loc["b", "travel_time_min"] == pytest.approx(900 * acc)
    f2 = pts([(20_000.0, -400.0), (10_400.0, 300.0)], ["far", "near"])
    t_dir = math.hypot(400.0, 300.0) * acc
    t_net = 600 * acc + math.hypot(400.0, 300.0) * acc
    got = eng.nearest(o, f2).loc["b", "travel_time_min"]
    assert got == pytest.approx(t_dir) and t_dir < t_net
    no_dir = NetworkEngine(line_net(), direct_leg=False).nearest(o, f2)
    assert no_dir.loc["b", "travel_time_min"] == pytest.approx(t_net)
    # the long table holds the same times, the direct legs included
    mat = eng.matrix(o, f2, cutoff_min=60.0).set_index(["from_id", "to_id"])["travel_time_min"]
    xy_o = np.array([(0.0, 200.0), (10_000.0, 600.0)])
    xy_f = np.array([(20_000.0, -400.0), (10_400.0, 300.0)])
    ref = od_times(line_net(), xy_o, xy_f, PLAIN)
    for i, oid in enumerate(o.index):
        for j, fid in enumerate(f2.index):
            assert mat[(oid, fid)] == pytest.approx(ref[i, j], abs=1e-9)


def test_terminal_time_hand_computed() -> None:
    """The terminal time is added to each access leg and twice to a direct leg."""
    model = PLAIN.replace(access_terminal_min=1.5)
    eng = NetworkEngine(line_net(model))
    assert eng.access_terminal_min == 1.5
    assert NetworkEngine(line_net(None)).access_terminal_min == 0.0
    o = pts([(0.0, 200.0), (10_000.0, 600.0)], ["a", "b"])
    f = pts([(20_000.0, -400.0), (10_400.0, 300.0)], ["far", "near"])
    acc = 1.5 / (30_000 / 60)
    near = eng.nearest(o, f)
    # a: 1.5 + 200 m access + 5 min + 1.5 + 500 m access
    assert near.loc["a", "travel_time_min"] == pytest.approx(3.0 + 200 * acc + 5.0 + 500 * acc)
    # b: direct 500 m + two terminals beats 600 m + 500 m through node 1 + two terminals
    assert near.loc["b", "travel_time_min"] == pytest.approx(3.0 + 500 * acc)
    xy_o = np.array([(0.0, 200.0), (10_000.0, 600.0)])
    xy_f = np.array([(20_000.0, -400.0), (10_400.0, 300.0)])
    ref = od_times(line_net(model), xy_o, xy_f, model)
    mat = eng.matrix(o, f, cutoff_min=60.0).set_index(["from_id", "to_id"])["travel_time_min"]
    for i, oid in enumerate(o.index):
        for j, fid in enumerate(f.index):
            assert mat[(oid, fid)] == pytest.approx(ref[i, j], abs=1e-9)
    with pytest.raises(BadValueError, match="access_terminal_min"):
        NetworkEngine(line_net(), access_terminal_min=-1.0)


# ------------------------------------------------------------------ the mixed engine at the edge
def test_mixed_engine_falls_back_beyond_the_snap_distance_with_the_reason() -> None:
    eng = MixedEngine(NetworkEngine(line_net()), CrowFlyEngine())
    o = pts([(0.0, 100.0), (10_000.0, 5_000.0), (20_000.0, 100.0)], ["on", "off", "edge"])
    # GP "out" is 3 km off the network (beyond 1 km): timed crow-fly from everywhere
    f = pts([(10_000.0, 200.0), (21_000.0, 3_000.0)], ["gp", "out"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TravelTimeWarning)
        res = eng.nearest(o, f)
    crow = CrowFlyEngine().nearest(o, f)
    assert res.loc["on", "engine"] == "road-network" and pd.isna(res.loc["on", "fallback_reason"])
    # beyond the snap distance: crow-fly, reason given
    assert res.loc["off", "engine"] == "crow-fly"
    assert res.loc["off", "fallback_reason"] == FALLBACK_BEYOND_SNAP
    assert res.loc["off", "travel_time_min"] == pytest.approx(crow.loc["off", "travel_time_min"])
    # covered origin whose quickest GP is the one off the network: crow-fly to it
    net_t = NetworkEngine(line_net()).nearest(o.loc[["edge"]], f.loc[["gp"]])
    crow_out = CrowFlyEngine().nearest(o.loc[["edge"]], f.loc[["out"]])
    assert crow_out["travel_time_min"].iloc[0] < net_t["travel_time_min"].iloc[0]
    assert res.loc["edge", "engine"] == "crow-fly"
    assert res.loc["edge", "fallback_reason"] == FALLBACK_OFF_NETWORK
    assert res.loc["edge", "nearest_id"] == "out"


def test_mixed_engine_names_unreachable_origins() -> None:
    # two pieces (no largest-component filter): an origin on the small piece reaches no GP
    net = RoadNetwork.from_arrays([0, 1, 2, 3], [1, 0, 3, 2], [2.0] * 4,
                                  x=[0.0, 5000.0, 50_000.0, 55_000.0], y=[0.0] * 4,
                                  node_ids=[1, 2, 3, 4])  # fmt: skip
    eng = MixedEngine(NetworkEngine(net), CrowFlyEngine())
    o = pts([(0.0, 0.0), (55_000.0, 0.0)], ["main", "island"])
    f = pts([(5000.0, 0.0)], ["gp"])
    with pytest.warns(TravelTimeWarning, match="cannot reach any facility"):
        res = eng.nearest(o, f)
    assert res.loc["main", "engine"] == "road-network"
    assert res.loc["island", "engine"] == "crow-fly"
    assert res.loc["island", "fallback_reason"] == FALLBACK_UNREACHED
    assert res.loc["island", "travel_time_min"] == pytest.approx(
        CrowFlyEngine().nearest(o.loc[["island"]], f)["travel_time_min"].iloc[0]
    )


# ------------------------------------------------------------------ real archive, Isère
@pytest.fixture(scope="module")
def isere(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The Travel Mapping network around the 512 Isère communes, and their chef-lieu points."""
    gj = json.loads((data_dir / POINTS).read_text(encoding="utf-8"))
    props = pd.DataFrame([f["properties"] for f in gj["features"]])
    tr = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    x, y = tr.transform(props["lon"].to_numpy(float), props["lat"].to_numpy(float))
    points = pts(list(zip(x, y, strict=True)), props["id"].astype(str).tolist())
    hull = shapely.MultiPoint(np.column_stack([x, y])).convex_hull
    net = load_travelmapping(data_dir / ARCHIVE, regions=["ARA"], clip=hull, margin_m=30_000.0,
                             cache_dir=tmp_path_factory.mktemp("tmcache"))  # fmt: skip
    return net, points


def _xy(g: gpd.GeoDataFrame) -> np.ndarray:
    return np.column_stack([g.geometry.x, g.geometry.y])


def test_engine_equals_od_times_on_real_pairs(isere) -> None:  # type: ignore[no-untyped-def]
    net, points = isere
    eng = NetworkEngine(net)
    assert eng.model == DEFAULT_MODEL
    o, f = points.iloc[::4], points.iloc[1::9]
    ref = od_times(net, _xy(o), _xy(f), DEFAULT_MODEL)
    near = eng.nearest(o, f)
    np.testing.assert_allclose(near["travel_time_min"], ref.min(axis=1), rtol=0, atol=1e-9)
    assert (near["nearest_id"].to_numpy() == f.index.to_numpy()[ref.argmin(axis=1)]).all()
    mat = eng.matrix(o, f, cutoff_min=25.0)
    got = np.full(ref.shape, np.nan)
    got[o.index.get_indexer(mat["from_id"]), f.index.get_indexer(mat["to_id"])] = mat[
        "travel_time_min"
    ]
    want = np.where(ref <= 25.0, ref, np.nan)
    assert (np.isnan(got) == np.isnan(want)).all() and np.isfinite(want).sum() > 100
    np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], atol=1e-9)
    # some pairs are joined by the direct leg, most go through the network
    no_dir = od_times(net, _xy(o), _xy(f), DEFAULT_MODEL, direct_leg=False)
    assert 0 < (ref < no_dir).sum() < 0.2 * ref.size


def test_engine_network_part_agrees_with_networkx(isere) -> None:  # type: ignore[no-untyped-def]
    net, points = isere
    eng = NetworkEngine(net, direct_leg=False)
    o, f = points.iloc[3:40:6], points.iloc[5:300:25]
    so, sf = eng.snap(o), eng.snap(f)
    g = net.to_networkx()
    mat = eng.matrix(o, f, cutoff_min=1e6).set_index(["from_id", "to_id"])["travel_time_min"]
    for oid, row in so.iterrows():
        lengths = nx.single_source_dijkstra_path_length(
            g, int(row["node"]), weight="travel_time_min"
        )
        for fid, frow in sf.iterrows():
            ref = row["access_min"] + lengths[int(frow["node"])] + frow["access_min"]
            assert mat[(oid, fid)] == pytest.approx(ref, rel=1e-12)


def test_access_surface_isochrones_agree_with_point_times(isere) -> None:  # type: ignore[no-untyped-def]
    net, points = isere
    eng = NetworkEngine(net)
    gps = points.iloc[::12]
    iso = eng.isochrones(gps, thresholds_min=[10.0, 20.0], dissolve=True)
    assert (iso["method"] == "access-surface").all() and list(iso["threshold_min"]) == [10, 20]
    assert iso.geometry.iloc[0].within(iso.geometry.iloc[1].buffer(1.0))
    # random points over Isère: inside the band <=> the engine's own time within it, except
    # within a cell of the outline (cells of 250 m: a few tenths of a minute)
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = points.total_bounds
    xy = np.column_stack([rng.uniform(x0, x1, 3000), rng.uniform(y0, y1, 3000)])
    probe = pts([tuple(p) for p in xy], [f"p{i}" for i in range(len(xy))])
    t = eng.nearest(probe, gps)["travel_time_min"].to_numpy()
    for thr, band in zip(iso["threshold_min"], iso.geometry, strict=True):
        inside = shapely.contains_xy(band, xy[:, 0], xy[:, 1])
        clear = np.abs(t - thr) > 1.0
        assert clear.sum() > 1500
        assert (inside[clear] == (t[clear] <= thr)).mean() > 0.995
    # one facility alone: the same surface from its own bounded search
    one = eng.isochrones(gps.iloc[:1], thresholds_min=[10.0])
    alone = eng.nearest(probe, gps.iloc[:1])["travel_time_min"].to_numpy()
    inside = shapely.contains_xy(one.geometry.iloc[0], xy[:, 0], xy[:, 1])
    clear = np.abs(alone - 10.0) > 1.0
    assert (inside[clear] == (alone[clear] <= 10.0)).mean() > 0.995


# ------------------------------------------------------------------ the registry's default
def test_make_engine_default_is_travel_mapping_clipped(data_dir: Path, isere) -> None:  # type: ignore[no-untyped-def]
    _, points = isere
    area = points.iloc[:50].union_all().convex_hull
    eng = make_engine(clip=area, margin_m=5_000.0, data_dir=data_dir)
    assert isinstance(eng.primary, NetworkEngine) and isinstance(eng.fallback, CrowFlyEngine)
    meta = eng.primary.network.meta
    assert meta["format"] == "travelmapping" and meta["clip_margin_m"] == 5_000.0
    d = shapely.distance(area, shapely.points(eng.primary.network.x, eng.primary.network.y))
    assert d.max() <= 5_000.0 * 1.02
    assert eng.primary.max_snap_m == DEFAULT_MODEL.max_snap_m


def test_make_engine_no_roads_and_missing_default(tmp_path: Path) -> None:
    assert make_engine(roads="none").primary is None
    assert make_engine("auto", roads="NONE").names == ["crow-fly"]
    with pytest.raises(ConfigError, match="--roads is 'none'"):
        make_engine("road-network", roads="none")
    empty = tmp_path / "data"
    empty.mkdir()
    with pytest.warns(TravelTimeWarning, match="roads_france_travelmapping"):
        eng = make_engine(data_dir=empty)
    assert eng.primary is None and eng.names == ["crow-fly"]


# ------------------------------------------------------------------ accessmap times mixes too
def test_cli_times_picks_engines_through_make_engine(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from accessmap.cli import main

    monkeypatch.setenv("ACCESSMAP_CACHE_DIR", str(tmp_path / "cache"))
    o = pd.read_csv(data_dir / "occitanie_commune_origins.csv", dtype={"insee": str})
    o = o[o["insee"].str.startswith("32")].iloc[::10]
    f = pd.read_csv(data_dir / "supply_points_bpe2019_commune_origins.csv", dtype={"insee": str})
    f = f[f["insee"].str.startswith("32") & (f["kind"] == "gp")]
    po, pf = tmp_path / "o.csv", tmp_path / "f.csv"
    o.to_csv(po, index=False)
    f.to_csv(pf, index=False)
    base = ["times", "nearest", str(po), str(pf), "--id-col", "insee", "--facility-id-col", "id"]
    # --engine auto with the Auch extract: road inside it, crow-fly for the rest of the Gers
    auch = data_dir / "roads_occitanie_auch_pfe-osm2024_edges.csv"
    out = tmp_path / "mixed.csv"
    assert main([*base, "--out", str(out), "--engine", "auto", "--roads", str(auch)]) == 0
    got = pd.read_csv(out, dtype={"origin_id": str})
    assert (
        set(got["engine"]) == {"road-network", "crow-fly"} and got["travel_time_min"].notna().all()
    )
    assert "engine: crow-fly, road-network" in capsys.readouterr().out
    # --engine auto alone: the Travel Mapping network of the data directory, clipped to the points
    out2 = tmp_path / "tm.csv"
    assert main([*base, "--out", str(out2), "--engine", "auto", "--data-dir", str(data_dir)]) == 0
    tm = pd.read_csv(out2, dtype={"origin_id": str}).set_index("origin_id")
    assert (tm["engine"] == "road-network").all()
    eng = make_engine(clip=None, data_dir=data_dir)  # whole France: same times in the Gers
    from accessmap.cli.network import read_points

    ref = eng.nearest(read_points(po, id_col="insee", what="o"),
                      read_points(pf, id_col="id", what="f"))  # fmt: skip
    np.testing.assert_allclose(
        tm["travel_time_min"], ref.loc[tm.index, "travel_time_min"], atol=1e-9
    )
