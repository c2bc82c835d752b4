"""Tests for accessmap.traveltime.engines (engines) and accessmap.traveltime.polygons."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from accessmap.errors import (
    BadValueError,
    CRSError,
    CRSMismatchError,
    DuplicateIdError,
    EmptyLayerError,
    InvalidGeometryError,
    MissingColumnError,
    MissingCRSError,
    UnknownProfileError,
)
from accessmap.network.graph import RoadNetwork
from accessmap.traveltime import (
    CrowFlyEngine,
    NetworkEngine,
    TravelTimeWarning,
    isochrones,
    nearest_time,
    population_reached,
    travel_time_matrix,
)
from accessmap.traveltime.polygons import reached_network_polygon

TOL = 1e-6
W = "travel_time_min"


def pts(xy: list[tuple[float, float]], ids: list, crs: object = 2154) -> gpd.GeoDataFrame:
    x, y = zip(*xy, strict=True)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=crs, index=pd.Index(ids))


@pytest.fixture(scope="module")
def toulouse(data_dir: Path) -> tuple[RoadNetwork, nx.DiGraph]:
    net = RoadNetwork.from_tables(
        data_dir / "roads_occitanie_toulouse_insa-begraphes-osm_nodes.csv",
        data_dir / "roads_occitanie_toulouse_insa-begraphes-osm_edges.csv.gz",
    )
    return net, net.to_networkx()


@pytest.fixture(scope="module")
def nimes(data_dir: Path) -> tuple[RoadNetwork, nx.DiGraph]:
    net = RoadNetwork.from_tables(
        data_dir / "roads_occitanie_nimes_pfe-osm2024_nodes.csv",
        data_dir / "roads_occitanie_nimes_pfe-osm2024_edges.csv",
    )
    return net, net.to_networkx()


def random_points(net: RoadNetwork, n: int, seed: int, jitter: float, prefix: str):
    rng = np.random.default_rng(seed)
    nodes = rng.choice(net.n_nodes, n, replace=False)
    x = net.x[nodes] + rng.uniform(-jitter, jitter, n)
    y = net.y[nodes] + rng.uniform(-jitter, jitter, n)
    return pts(list(zip(x, y, strict=True)), [f"{prefix}{i}" for i in range(n)])


def reference_times(net, g, origins, facilities, eng, *, cutoff=None):
    """Brute force with networkx: a_o + shortest path + a_f for every pair."""
    so = eng.snap(origins)
    sf = eng.snap(facilities)
    out = {}
    for oid, row in so.iterrows():
        lengths = nx.single_source_dijkstra_path_length(g, int(row["node"]), weight=W)
        for fid, frow in sf.iterrows():
            d = lengths.get(int(frow["node"]))
            if d is None:
                continue
            t = row["access_min"] + d + frow["access_min"]
            if cutoff is None or t <= cutoff:
                out[(oid, fid)] = t
    return out


# ------------------------------------------------------------------ network engine on real data


@pytest.mark.parametrize("fixture", ["toulouse", "nimes"])
def test_nearest_equals_networkx(fixture: str, request: pytest.FixtureRequest) -> None:
    net, g = request.getfixturevalue(fixture)
    eng = NetworkEngine(net)
    origins = random_points(net, 60, 1, 200.0, "o")
    facilities = random_points(net, 12, 2, 150.0, "f")
    res = eng.nearest(origins, facilities)
    assert res.attrs["engine"] == "road-network" and (res["engine"] == "road-network").all()
    assert list(res.index) == list(origins.index)
    # reference: reversed graph + a virtual source linked to each facility node by its leg
    sf = eng.snap(facilities)
    grev = g.reverse(copy=True)
    for _fid, row in sf.iterrows():
        node = int(row["node"])
        old = grev.get_edge_data("SRC", node, {}).get(W, np.inf)
        grev.add_edge("SRC", node, **{W: min(old, row["access_min"])})
    back = nx.single_source_dijkstra_path_length(grev, "SRC", weight=W)
    so = eng.snap(origins)
    expect = so["access_min"] + so["node"].map(lambda n: back[int(n)])
    np.testing.assert_allclose(res["travel_time_min"], expect, atol=TOL, rtol=0)
    np.testing.assert_allclose(res["snap_distance_m"], so["snap_distance_m"])
    # the nearest id really achieves that time
    ref = reference_times(net, g, origins.iloc[:15], facilities, eng)
    for oid in origins.index[:15]:
        assert ref[(oid, res.loc[oid, "nearest_id"])] == pytest.approx(
            res.loc[oid, "travel_time_min"], abs=TOL
        )


@pytest.mark.parametrize(("n_orig", "n_fac"), [(25, 40), (40, 6)])
def test_matrix_equals_networkx_both_directions(toulouse, n_orig: int, n_fac: int) -> None:
    # (25, 40): searches from origins on the forward graph; (40, 6): from facilities on the
    # reversed graph. Both must give the forward (patient -> practice) times.
    net, g = toulouse
    eng = NetworkEngine(net)
    origins = random_points(net, n_orig, 3, 300.0, "o")
    facilities = random_points(net, n_fac, 4, 100.0, "f")
    cutoff = 6.0
    mat = eng.matrix(origins, facilities, cutoff_min=cutoff)
    assert list(mat.columns) == ["from_id", "to_id", "travel_time_min", "engine"]
    ref = reference_times(net, g, origins, facilities, eng, cutoff=cutoff)
    got = {(r.from_id, r.to_id): r.travel_time_min for r in mat.itertuples()}
    assert set(got) == set(ref)
    assert len(ref) > 10
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, abs=TOL)
    # matrix minimum agrees with nearest
    near = eng.nearest(origins, facilities)
    best = mat.groupby("from_id")["travel_time_min"].min()
    np.testing.assert_allclose(near.loc[best.index, "travel_time_min"], best, atol=TOL)


def test_one_way_origin_on_real_network(toulouse) -> None:
    net, g = toulouse
    oneway = [(u, v) for u, v in g.edges if not g.has_edge(v, u)]
    rng = np.random.default_rng(5)
    eng = NetworkEngine(net)
    for i in rng.choice(len(oneway), 5, replace=False):
        u, v = oneway[i]
        a = pts([(net.x[u], net.y[u])], ["at_u"])
        b = pts([(net.x[v], net.y[v])], ["at_v"])
        fwd = eng.nearest(a, b)["travel_time_min"].iloc[0]
        back = eng.nearest(b, a)["travel_time_min"].iloc[0]
        assert fwd == pytest.approx(nx.dijkstra_path_length(g, u, v, weight=W), abs=TOL)
        assert back == pytest.approx(nx.dijkstra_path_length(g, v, u, weight=W), abs=TOL)


def test_facility_on_origin_node_is_zero(toulouse) -> None:
    net, _ = toulouse
    x, y = float(net.x[100]), float(net.y[100])
    o = pts([(x, y), (x + 30.0, y)], ["same", "near"])
    f = pts([(net.x[5000], net.y[5000]), (x, y)], ["far", "here"])
    res = NetworkEngine(net).nearest(o, f)
    assert res.loc["same", "travel_time_min"] == 0.0
    assert res.loc["same", "nearest_id"] == "here"
    # 30 m off the node: its own access leg + the best path (brute force over facilities)
    ref = reference_times(net, toulouse[1], o.loc[["near"]], f, NetworkEngine(net))
    assert res.loc["near", "travel_time_min"] == pytest.approx(min(ref.values()), abs=TOL)
    mat = NetworkEngine(net).matrix(o, f, cutoff_min=0.5)
    assert mat[mat["from_id"] == "same"].iloc[0].tolist()[:3] == ["same", "here", 0.0]


# ------------------------------------------------------------------ small synthetic graphs


def line_network(two_components: bool = False) -> RoadNetwork:
    """Nodes every 1 km on a line, 1 min per edge both ways; optionally cut after node 2."""
    x = np.arange(6) * 1000.0
    u, v = [], []
    for a in range(5):
        if two_components and a == 2:
            continue
        u += [a, a + 1]
        v += [a + 1, a]
    return RoadNetwork.from_arrays(u, v, np.ones(len(u)), x=x, y=np.zeros(6), node_ids=range(6))


def test_ties_go_to_the_first_listed_facility() -> None:
    eng = NetworkEngine(line_network())
    o = pts([(2000.0, 0.0)], ["o"])
    f = pts([(1000.0, 0.0), (3000.0, 0.0)], ["left", "right"])
    assert eng.nearest(o, f).loc["o", "nearest_id"] == "left"
    assert eng.nearest(o, f.iloc[::-1]).loc["o", "nearest_id"] == "right"
    crow = CrowFlyEngine()
    assert crow.nearest(o, f).loc["o", "nearest_id"] == "left"
    assert crow.nearest(o, f.iloc[::-1]).loc["o", "nearest_id"] == "right"


def test_unreachable_origins_get_nan_and_a_counting_warning() -> None:
    eng = NetworkEngine(line_network(two_components=True))
    o = pts([(0.0, 0.0), (1000.0, 0.0), (4000.0, 0.0)], ["a", "b", "c"])
    f = pts([(5000.0, 0.0)], ["gp"])
    with pytest.warns(TravelTimeWarning, match="2 of 3 origins cannot reach any facility"):
        res = eng.nearest(o, f)
    assert res["travel_time_min"].isna().tolist() == [True, True, False]
    assert res["nearest_id"].tolist() == [None, None, "gp"]
    assert res.loc["c", "travel_time_min"] == 1.0
    o2 = pts([(0.0, 0.0), (1000.0, 0.0)], ["a", "b"])
    with pytest.warns(TravelTimeWarning, match="facilities are all unreachable"):
        res = eng.nearest(o2, f)
    assert res["travel_time_min"].isna().all()
    assert len(eng.matrix(o2, f, cutoff_min=100)) == 0


def test_snapping_beyond_the_limit_is_flagged_not_routed() -> None:
    eng = NetworkEngine(line_network(), max_snap_m=500)
    o = pts([(0.0, 400.0), (0.0, 900.0), (2000.0, 0.0)], ["ok", "far", "node"])
    f = pts([(5000.0, 0.0)], ["gp"])
    with pytest.warns(TravelTimeWarning, match=r"1 of 3 origins lie farther than max_snap_m=500"):
        res = eng.nearest(o, f)
    assert np.isnan(res.loc["far", "travel_time_min"])
    assert res.loc["far", "snap_distance_m"] == pytest.approx(900.0)
    # 400 m at 15 km/h = 1.6 min, plus 5 edges
    assert res.loc["ok", "travel_time_min"] == pytest.approx(1.6 + 5.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = eng.nearest(o, pts([(0.0, 5000.0)], ["lost"]))
    messages = [str(w.message) for w in caught]
    assert any("none of the 1 facilities is within max_snap_m" in m for m in messages)
    assert any("1 of 1 facilities lie farther" in m for m in messages)
    assert all(issubclass(w.category, TravelTimeWarning) for w in caught)
    assert res["travel_time_min"].isna().all()


def test_matrix_access_legs_and_cutoff_inclusive() -> None:
    eng = NetworkEngine(line_network(), access_speed_kmh=6.0)  # 100 m per minute
    o = pts([(0.0, 100.0)], ["o"])
    f = pts([(2000.0, 0.0), (3000.0, 100.0), (5000.0, 0.0)], ["f2", "f3", "f5"])
    mat = eng.matrix(o, f, cutoff_min=5.0)
    assert mat[["to_id", "travel_time_min"]].values.tolist() == [["f2", 3.0], ["f3", 5.0]]


def test_isochrones_follow_the_network() -> None:
    # an L-shaped network: the 2-minute isochrone from the corner follows both arms
    x = np.array([0.0, 1000.0, 2000.0, 0.0, 0.0])
    y = np.array([0.0, 0.0, 0.0, 1000.0, 2000.0])
    u = [0, 1, 1, 2, 0, 3, 3, 4]
    v = [1, 0, 2, 1, 3, 0, 4, 3]
    net = RoadNetwork.from_arrays(u, v, np.ones(8), x=x, y=y, node_ids=range(5))
    eng = NetworkEngine(net, isochrone_buffer_m=50.0)
    iso = eng.isochrones(pts([(0.0, 0.0)], ["gp"]), thresholds_min=[1.5, 1.0])
    assert iso.crs.to_epsg() == 2154
    assert iso["threshold_min"].tolist() == [1.0, 1.5]
    assert (iso["method"] == "reached-network").all() and (iso["engine"] == "road-network").all()
    g15 = iso.geometry.iloc[1]
    assert g15.contains(shapely.Point(1400, 0)) and g15.contains(shapely.Point(0, 1400))
    assert not g15.contains(shapely.Point(1600, 0))  # partial edge stops at 1.5 min
    assert not g15.contains(shapely.Point(700, 700))  # not a circle: off-road stays out
    # area = two arms of 1,500 m with a 50 m band (plus round ends, minus the overlap)
    assert g15.area == pytest.approx(2 * 1500 * 100 + math.pi * 50**2, rel=0.05)
    assert iso.geometry.iloc[0].area < g15.area


def test_isochrones_on_real_network_contain_reached_nodes(toulouse) -> None:
    net, g = toulouse
    eng = NetworkEngine(net)
    fac = pts([(net.x[1234], net.y[1234])], ["gp"])
    iso = eng.isochrones(fac, thresholds_min=[3.0, 6.0])
    back = nx.single_source_dijkstra_path_length(g.reverse(copy=False), 1234, weight=W)
    near = [n for n, d in back.items() if d <= 3.0]
    far = [n for n, d in back.items() if d > 12.0]
    poly3 = iso.geometry.iloc[0]
    inside = shapely.contains_xy(poly3, net.x[near], net.y[near])
    assert inside.all()
    assert shapely.contains_xy(poly3, net.x[far], net.y[far]).mean() < 0.01
    assert iso.geometry.iloc[1].area > poly3.area


def test_dissolved_isochrones_equal_the_union_of_per_facility_ones(toulouse) -> None:
    # one nearest pass per threshold draws the same area as the union of one polygon per
    # facility (the reached part of an edge depends only on the smallest time at its start)
    net, _ = toulouse
    eng = NetworkEngine(net)
    fac = random_points(net, 12, seed=5, jitter=80.0, prefix="gp")
    per = eng.isochrones(fac, thresholds_min=[2.0, 4.0])
    one = eng.isochrones(fac, thresholds_min=[2.0, 4.0], dissolve=True)
    assert list(one["facility_id"]) == ["all", "all"]
    assert list(one["threshold_min"]) == [2.0, 4.0]
    for t, geom in zip(one["threshold_min"], one.geometry, strict=True):
        union = shapely.union_all(per.loc[per["threshold_min"] == t].geometry.to_numpy())
        sym = shapely.symmetric_difference(union, geom).area
        # equal up to the simplification of the roadside band (buffer / 6 per outline)
        assert sym <= 0.002 * union.area, (t, sym, union.area)
    crow = CrowFlyEngine()
    cper = crow.isochrones(fac, thresholds_min=[5.0])
    cone = crow.isochrones(fac, thresholds_min=[5.0], dissolve=True)
    assert len(cone) == 1
    assert cone.geometry.iloc[0].area == pytest.approx(
        shapely.union_all(cper.geometry.to_numpy()).area, rel=1e-9
    )


def test_raster_band_follows_the_vector_band(toulouse) -> None:
    # large areas draw the band on a grid of buffer/2 cells: same reached streets, outline
    # within about a cell of the exact (vector) band
    from accessmap.routing.kernels import multi_source_dijkstra

    net, _ = toulouse
    eng = NetworkEngine(net)
    rip, rix, rw = eng._reverse
    tails = np.repeat(np.arange(net.n_nodes, dtype=np.int64), np.diff(rip))
    dist, _ = multi_source_dijkstra(rip, rix, rw, np.arange(0, net.n_nodes, 3000))
    kw = dict(edge_tail=tails, edge_head=rix, edge_time_min=rw, x=net.x, y=net.y,
              buffer_m=150.0)  # fmt: skip
    for t in (2.0, 8.0):
        vec = reached_network_polygon(dist, t, method="vector", **kw)
        ras = reached_network_polygon(dist, t, method="raster", **kw)
        assert ras.is_valid and not ras.is_empty
        iou = shapely.intersection(vec, ras).area / shapely.union(vec, ras).area
        assert iou > 0.9, (t, iou)
        # every reached node lies inside the raster band
        near = dist <= t
        assert shapely.contains_xy(ras, net.x[near], net.y[near]).mean() > 0.999
    with pytest.raises(ValueError, match="method must be"):
        reached_network_polygon(dist, 2.0, method="hexagons", **kw)


def test_population_reached_counts_points_not_polygons(toulouse) -> None:
    net, _ = toulouse
    eng = NetworkEngine(net)
    points = random_points(net, 80, 9, 100.0, "c")
    points["pop"] = np.arange(80, dtype=float)
    fac = random_points(net, 3, 10, 0.0, "f")
    res = eng.population_reached(fac, points, thresholds_min=[3, 6])
    assert list(res.columns) == [
        "facility_id",
        "threshold_min",
        "pop_reached",
        "n_points",
        "engine",
    ]
    mat = eng.matrix(points, fac, cutoff_min=6)
    for r in res.itertuples():
        sel = mat[(mat["to_id"] == r.facility_id) & (mat["travel_time_min"] <= r.threshold_min)]
        assert r.pop_reached == points.loc[sel["from_id"], "pop"].sum()
        assert r.n_points == len(sel)
    with pytest.raises(MissingColumnError, match="no 'people' column"):
        eng.population_reached(fac, points, thresholds_min=[3], pop_col="people")
    points.loc["c0", "pop"] = -5
    with pytest.raises(BadValueError, match="must be numbers >= 0; found -5"):
        eng.population_reached(fac, points, thresholds_min=[3])


# ------------------------------------------------------------------ crow-fly engine


def test_crow_fly_hand_computed() -> None:
    eng = CrowFlyEngine(speed_kmh=60.0, detour_factor=1.5)  # 1,000 m/min of road = 666.7 m/min
    o = pts([(0.0, 0.0), (10_000.0, 0.0)], ["a", "b"])
    f = pts([(3000.0, 4000.0), (0.0, 0.0)], ["f1", "here"])
    res = eng.nearest(o, f)
    assert res.loc["a", "nearest_id"] == "here" and res.loc["a", "travel_time_min"] == 0.0
    # b: nearest is f1 at sqrt(7000^2 + 4000^2) m
    d = math.hypot(7000, 4000)
    assert res.loc["b", "travel_time_min"] == pytest.approx(d * 1.5 / 1000.0)
    assert res.attrs["engine"] == "crow-fly"
    mat = eng.matrix(o, f, cutoff_min=10.0)
    assert mat[["from_id", "to_id"]].values.tolist() == [["a", "here"], ["a", "f1"]]
    assert mat["travel_time_min"].tolist() == pytest.approx([0.0, 7.5])
    iso = eng.isochrones(f.iloc[:1], thresholds_min=[3.0])
    assert iso["method"].tolist() == ["crow-fly-buffer"]
    r = 3.0 * 1000.0 / 1.5
    assert iso.geometry.iloc[0].area == pytest.approx(math.pi * r * r, rel=0.01)
    pop = o.assign(pop=[10.0, 5.0])
    pr = eng.population_reached(f, pop, thresholds_min=[1.0, 20.0])
    got = {(r.facility_id, r.threshold_min): r.pop_reached for r in pr.itertuples()}
    assert got == {("f1", 1.0): 0.0, ("f1", 20.0): 15.0, ("here", 1.0): 10.0, ("here", 20.0): 15.0}


def test_crow_fly_defaults_are_documented_values() -> None:
    eng = CrowFlyEngine()
    assert (eng.speed_kmh, eng.detour_factor) == (60.0, 1.4)
    with pytest.raises(BadValueError, match="detour_factor must be >= 1"):
        CrowFlyEngine(detour_factor=0.8)
    with pytest.raises(BadValueError, match="speed_kmh must be a finite speed > 0"):
        CrowFlyEngine(speed_kmh=0)


def test_free_functions_use_the_engine() -> None:
    o = pts([(0.0, 0.0)], ["a"])
    f = pts([(1000.0, 0.0)], ["f"])
    assert nearest_time(o, f)["engine"].iloc[0] == "crow-fly"
    eng = NetworkEngine(line_network())
    assert nearest_time(o, f, engine=eng)["travel_time_min"].iloc[0] == 1.0
    assert travel_time_matrix(o, f, cutoff_min=5, engine=eng)["travel_time_min"].tolist() == [1.0]
    assert len(isochrones(f, thresholds_min=[5], engine="crow-fly")) == 1
    assert population_reached(f, o.assign(pop=[3]), thresholds_min=[5])["pop_reached"].iloc[0] == 3
    with pytest.raises(UnknownProfileError, match="unknown engine 'osrm'"):
        nearest_time(o, f, engine="osrm")


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("engine_kind", ["network", "crow"])
def test_bad_layers(engine_kind: str) -> None:
    eng = NetworkEngine(line_network()) if engine_kind == "network" else CrowFlyEngine()
    f = pts([(1000.0, 0.0)], ["f"])
    o = pts([(0.0, 0.0)], ["a"])
    with pytest.raises(CRSError, match=r"geographic CRS .*to_crs\('EPSG:2154'\)"):
        eng.nearest(pts([(1.4, 43.6)], ["a"], crs=4326), f)
    with pytest.raises(MissingCRSError, match="has no CRS"):
        eng.nearest(pts([(0.0, 0.0)], ["a"], crs=None), f)
    with pytest.raises(CRSMismatchError, match="EPSG:3035"):
        eng.nearest(o, pts([(1000.0, 0.0)], ["f"], crs=3035))
    with pytest.raises(DuplicateIdError, match="'x' appears more than once"):
        eng.nearest(pts([(0.0, 0.0), (1.0, 0.0)], ["x", "x"]), f)
    with pytest.raises(EmptyLayerError, match="facilities has no rows"):
        eng.nearest(o, f.iloc[:0])
    poly = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=2154, index=["p"])
    with pytest.raises(InvalidGeometryError, match="row 'p' has Polygon"):
        eng.nearest(poly, f)
    with pytest.raises(BadValueError, match="cutoff_min must be a finite number"):
        eng.matrix(o, f, cutoff_min=-1)
    with pytest.raises(BadValueError, match="thresholds_min must be finite positive"):
        eng.isochrones(f, thresholds_min=[0])
    with pytest.raises(BadValueError, match="GeoDataFrame of points"):
        eng.nearest(pd.DataFrame({"x": [0]}), f)


def test_empty_origins_give_empty_results() -> None:
    eng = NetworkEngine(line_network())
    f = pts([(1000.0, 0.0)], ["f"])
    empty = pts([(0.0, 0.0)], ["a"]).iloc[:0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(eng.nearest(empty, f)) == 0
        assert len(eng.matrix(empty, f, cutoff_min=5)) == 0


def test_network_engine_bad_parameters() -> None:
    with pytest.raises(BadValueError, match="access_speed_kmh must be a finite speed"):
        NetworkEngine(line_network(), access_speed_kmh=0)
    with pytest.raises(BadValueError, match="max_snap_m must be >= 0"):
        NetworkEngine(line_network(), max_snap_m=-1)


def test_reached_network_polygon_empty_when_nothing_reached() -> None:
    poly = reached_network_polygon(
        np.array([np.inf, np.inf]),
        5.0,
        edge_tail=np.array([0]),
        edge_head=np.array([1], dtype=np.int32),
        edge_time_min=np.array([1.0]),
        x=np.array([0.0, 1.0]),
        y=np.array([0.0, 0.0]),
        buffer_m=10.0,
    )
    assert poly.is_empty


def test_a_registered_engine_is_accepted_by_score_params() -> None:
    """A new engine is one register_engine call: --engine NAME then passes validation."""
    from accessmap.pipeline import ScoreParams
    from accessmap.traveltime import ENGINES, register_engine

    register_engine("crow-fly-slow", lambda **_: CrowFlyEngine(speed_kmh=30.0))
    try:
        ScoreParams(engine="crow-fly-slow").validate()
    finally:
        ENGINES.pop("crow-fly-slow")
    from accessmap.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown engine"):
        ScoreParams(engine="crow-fly-slow").validate()
