"""Travel Mapping reader and network builder (accessmap.network.travelmapping)."""

from __future__ import annotations

import math
import tarfile
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from pyproj import Transformer

from accessmap.errors import BadValueError, DataNotFoundError, UnreadableFileError
from accessmap.network.build import load_network
from accessmap.network.formats import detect_road_format
from accessmap.network.graph import RoadNetwork
from accessmap.network.speedmodel import ROAD_CLASSES, TravelMappingSpeedModel
from accessmap.network.travelmapping import (
    build_edges,
    build_from_travelmapping,
    read_waypoints,
    system_class,
)

ARCHIVE = "roads_france_travelmapping-20260822_wpt.tar.gz"
SYSTEMS = (
    "\ufeffSystem;CountryCode;Name;Color;Tier;Level\n"
    "fraa;FRA;France Autoroutes;TMblue;1;active\n"
    "#Preview Systems\n"
    "fran;FRA;France Routes Nationales;TMlightsalmon;4;active\n"
    "fraoccd31;FRA;Haute-Garonne Routes Départementales;TMyellow;5;preview\n"
)
# Points (lat, lon) around Toulouse.
P = {
    "P1": (43.600000, 1.400000),
    "X1": (43.610000, 1.420000),  # hidden shaping point of the A route
    "P2": (43.600000, 1.440000),
    "P3": (43.600000, 1.480000),
    "P4": (43.620000, 1.500000),
    "P5": (43.580000, 1.500000),
    "Q1": (43.300000, 1.100000),  # an island: not connected to the rest
    "Q2": (43.300000, 1.120000),
}


def _line(label: str, key: str) -> str:
    lat, lon = P[key]
    return f"{label} http://www.openstreetmap.org/?lat={lat:.6f}&lon={lon:.6f}\n"


def _write(root: Path, extra: dict[str, str] | None = None) -> Path:
    top = root / "travelmapping-highwaydata-test"
    files = {
        "systems.csv": SYSTEMS,
        # Autoroute P1 -(X1)- P2 - P3
        "hwy_data/FRA-OCC/fraa/fraocc.a064.wpt": _line("1", "P1")
        + _line("+X1", "X1")
        + _line("2", "P2")
        + "\n"  # blank lines are allowed
        + _line("3 3A", "P3"),
        # Nationale concurrent with the autoroute on P2-P3, then on to P4
        "hwy_data/FRA-OCC/fran/fraocc.n124.wpt": _line("A64(2)", "P2")
        + _line("A64(3)", "P3")
        + _line("D1", "P4"),
        # Départementale P3 - P5, tab-indented line and double spaces are tolerated
        "hwy_data/FRA-OCC/fraoccd31/fraocc.d001.wpt": "\t"
        + _line("N124", "P3")
        + _line("End  +Alt", "P5"),
        # Island
        "hwy_data/FRA-OCC/fraoccd31/fraocc.d999.wpt": _line("A", "Q1") + _line("B", "Q2"),
    }
    files.update(extra or {})
    for rel, text in files.items():
        f = top / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
    return top


def _xy(key: str) -> tuple[float, float]:
    lat, lon = P[key]
    tr = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    x, y = tr.transform(lon, lat)
    return float(x), float(y)


def _node(net: RoadNetwork, key: str) -> int:
    x, y = _xy(key)
    d = np.hypot(net.x - x, net.y - y)
    i = int(np.argmin(d))
    assert d[i] < 0.5
    return i


def test_system_class() -> None:
    assert [ROAD_CLASSES[system_class(s)] for s in ("fraa", "frasf", "eure2", "fran")] == [
        "motorway",
        "motorway",
        "european",
        "nationale",
    ]
    assert ROAD_CLASSES[system_class("fragesm6ae")] == "metropole"
    assert ROAD_CLASSES[system_class("fraarad38")] == "departementale"
    assert system_class("chegts", 5) == 4 and system_class("xyz", 1) == 0


def test_small_network(tmp_path: Path) -> None:
    top = _write(tmp_path)
    wp = read_waypoints(top)
    assert wp.hidden.sum() == 1
    edges = build_edges(wp)
    m = edges.meta
    # 8 distinct points; X1 is hidden and used once -> geometry, not a node.
    assert m["points_distinct"] == 8
    assert edges.x.shape[0] == 5  # P1..P5 (the island Q1-Q2 is dropped)
    assert m["nodes_dropped"] == 2 and m["edges_dropped"] == 1 and m["components"] == 2
    assert m["concurrent_pieces_merged"] == 1
    net = edges.to_network(TravelMappingSpeedModel(node_spacing_m=0.0))
    assert net.n_nodes == 5 and net.n_edges == 8  # 4 two-way edges

    def find(a: str, b: str) -> int:
        ia, ib = _node(net, a), _node(net, b)
        u = edges.u
        v = edges.v
        k = np.flatnonzero(((u == ia) & (v == ib)) | ((u == ib) & (v == ia)))
        assert k.size == 1
        return int(k[0])

    # Hidden point kept as geometry: length through X1, sinuosity > 1, one shaping point.
    k = find("P1", "P2")
    (x1, y1), (xx, yx), (x2, y2) = _xy("P1"), _xy("X1"), _xy("P2")
    poly = math.hypot(xx - x1, yx - y1) + math.hypot(x2 - xx, y2 - yx)
    assert edges.length_m[k] == pytest.approx(poly, rel=1e-9)
    assert edges.sinuosity[k] == pytest.approx(poly / math.hypot(x2 - x1, y2 - y1), rel=1e-9)
    assert edges.n_shape[k] == 1
    # Concurrent A + N on P2-P3: one edge, highest class (motorway).
    assert ROAD_CLASSES[edges.road_class[find("P2", "P3")]] == "motorway"
    assert ROAD_CLASSES[edges.road_class[find("P3", "P4")]] == "nationale"
    assert ROAD_CLASSES[edges.road_class[find("P3", "P5")]] == "departementale"
    # Two-way edges, same time both ways.
    g = net.to_networkx()
    assert g[_node(net, "P1")][_node(net, "P2")]["travel_time_min"] == pytest.approx(
        g[_node(net, "P2")][_node(net, "P1")]["travel_time_min"]
    )
    # Node ids encode micro-degree coordinates.
    i = _node(net, "P4")
    assert net.node_ids[i] == (43_620_000 + 90_000_000) * 1_000_000_000 + (1_500_000 + 180_000_000)


def test_hidden_junction_is_a_node(tmp_path: Path) -> None:
    # A D route passing through the A route's hidden point makes it a node.
    top = _write(
        tmp_path,
        {"hwy_data/FRA-OCC/fraoccd31/fraocc.d002.wpt": _line("A", "X1") + _line("B", "P4")},
    )
    edges = build_edges(read_waypoints(top))
    assert edges.x.shape[0] == 6


def test_archive_equals_folder_and_cache(tmp_path: Path) -> None:
    top = _write(tmp_path / "src")
    arc = tmp_path / "mini_travelmapping.tar.gz"
    with tarfile.open(arc, "w:gz") as tf:
        tf.add(top, arcname=top.name)
    a = build_from_travelmapping(top)
    b = build_from_travelmapping(arc)
    for name in ("indptr", "indices", "travel_time_min", "length_m", "x", "y", "node_ids"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert detect_road_format(arc) == "travelmapping"
    assert detect_road_format(top) == "travelmapping"
    c1 = load_network(arc, cache_dir=tmp_path / "cache")
    c2 = load_network(arc, cache_dir=tmp_path / "cache")
    assert (c1.meta["cache"], c2.meta["cache"]) == ("miss", "hit")
    np.testing.assert_array_equal(c2.travel_time_min, a.travel_time_min)
    d1 = load_network(top, cache_dir=tmp_path / "cache")
    assert d1.meta["cache"] == "miss" and d1.n_nodes == a.n_nodes
    # Clip and model enter the cache key.
    import shapely

    x, y = _xy("P1")
    e1 = RoadNetwork.from_travelmapping(
        arc, clip=shapely.Point(x, y).buffer(10.0), margin_m=4000.0, cache_dir=tmp_path / "cache"
    )
    assert e1.meta["cache"] == "miss" and e1.n_nodes < a.n_nodes
    e2 = RoadNetwork.from_travelmapping(
        arc, clip=shapely.Point(x, y).buffer(10.0), margin_m=4000.0, cache_dir=tmp_path / "cache"
    )
    assert e2.meta["cache"] == "hit"
    slow = TravelMappingSpeedModel(motorway_kmh=50.0)
    e3 = RoadNetwork.from_travelmapping(arc, model=slow, cache_dir=tmp_path / "cache")
    assert e3.meta["cache"] == "miss" and e3.travel_time_min.sum() > a.travel_time_min.sum()


def test_bad_inputs(tmp_path: Path) -> None:
    top = _write(
        tmp_path,
        {"hwy_data/FRA-OCC/fran/fraocc.n999.wpt": _line("A", "P1") + "B lat=43.1 lon=1.2\n"},
    )
    with pytest.raises(UnreadableFileError, match=r"fraocc\.n999\.wpt line 2: 'B lat=43\.1"):
        read_waypoints(top)
    bad_lat = tmp_path / "b"
    _write(
        bad_lat,
        {
            "hwy_data/FRA-OCC/fran/x.wpt": "A http://www.openstreetmap.org/?lat=95.0&lon=1.0\nB http://www.openstreetmap.org/?lat=43.0&lon=1.0\n"
        },
    )
    with pytest.raises(BadValueError, match=r"x\.wpt: waypoint lat=95\.0"):
        read_waypoints(bad_lat)
    with pytest.raises(DataNotFoundError, match="regions present: FRA-OCC"):
        read_waypoints(_write(tmp_path / "c"), regions=["NAQ"])
    with pytest.raises(DataNotFoundError, match="not found"):
        read_waypoints(tmp_path / "absent_travelmapping.tar.gz")
    broken = tmp_path / "broken_travelmapping.tar.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(UnreadableFileError, match="broken_travelmapping"):
        read_waypoints(broken)
    with pytest.raises(BadValueError, match="lon/lat"):
        import shapely

        build_edges(read_waypoints(_write(tmp_path / "d")), clip=shapely.box(1, 43, 2, 44))


def test_straight_edges_split_for_snapping(tmp_path: Path) -> None:
    """Straight edges longer than node_spacing_m are cut into equal pieces; others are not."""
    edges = build_edges(read_waypoints(_write(tmp_path)))
    whole = edges.to_network(TravelMappingSpeedModel(node_spacing_m=0.0))
    split = edges.to_network(TravelMappingSpeedModel(node_spacing_m=1000.0))
    # P1-(X1)-P2 has a shaping point: not split. The 3 straight edges: ceil(L / 1 km) pieces.
    straight = edges.n_shape == 0
    pieces = np.ceil(edges.length_m[straight] / 1000.0).astype(int)
    assert split.n_nodes == 5 + int((pieces - 1).sum()) == 5 + split.meta["split_nodes"]
    assert split.n_edges == 2 * (int(pieces.sum()) + int((~straight).sum()))
    assert np.unique(split.node_ids).size == split.n_nodes
    assert (split.length_m <= 1000.0 + 1e-6).sum() == 2 * int(pieces.sum())
    # the new nodes lie on their edge: the same time between the original nodes
    from scipy.sparse.csgraph import dijkstra

    a = dijkstra(whole.to_csr_matrix(), indices=np.arange(5))[:, :5]
    b = dijkstra(split.to_csr_matrix(), indices=np.arange(5))[:, :5]
    np.testing.assert_allclose(b, a, rtol=1e-12)
    # a point beside the middle of P3-P5 now snaps within metres of the road
    (x3, y3), (x5, y5) = _xy("P3"), _xy("P5")
    mx, my = (x3 + x5) / 2 + 50.0, (y3 + y5) / 2
    assert (
        np.hypot(split.x - mx, split.y - my).min()
        < 0.5 * np.hypot(whole.x - mx, whole.y - my).min()
    )


@pytest.fixture(scope="module")
def occ(data_dir: Path) -> tuple[RoadNetwork, dict]:
    wp = read_waypoints(data_dir / ARCHIVE, regions=["FRA-OCC"])
    edges = build_edges(wp)
    return edges.to_network(TravelMappingSpeedModel(node_spacing_m=0.0)), edges.meta


def test_real_archive_occitanie(occ: tuple[RoadNetwork, dict]) -> None:
    net, meta = occ
    # SOURCES-roads.md section 7: FRA-OCC 22,781 points, 29,898 point pairs, 45,652 km,
    # 99.6 % of nodes in one component.
    assert meta["points_distinct"] == 22_781
    assert meta["point_pairs"] == 29_898
    assert meta["km"] == pytest.approx(45_652, rel=0.01)
    assert 0.8 * 22_781 < net.n_nodes < 22_781
    assert meta["nodes_dropped"] < 0.01 * net.n_nodes
    assert 2 * 0.85 * 29_898 < net.n_edges < 2 * 29_898
    assert set(meta["km_by_class"]) == set(ROAD_CLASSES)
    assert meta["km_by_class"]["departementale"] > meta["km_by_class"]["motorway"] > 1000


def test_real_archive_paths_match_networkx(occ: tuple[RoadNetwork, dict]) -> None:
    from scipy.sparse.csgraph import dijkstra

    net, _ = occ
    g = net.to_networkx()
    rng = np.random.default_rng(7)
    src = rng.choice(net.n_nodes, size=5, replace=False)
    dst = rng.choice(net.n_nodes, size=20, replace=False)
    ours = dijkstra(net.to_csr_matrix(), indices=src)[:, dst]
    for i, s in enumerate(src):
        ref = nx.single_source_dijkstra_path_length(g, int(s), weight="travel_time_min")
        np.testing.assert_allclose(ours[i], [ref[int(d)] for d in dst], rtol=1e-9)


def test_real_archive_split_keeps_every_path(data_dir: Path) -> None:
    """Edge splitting on the real archive (Lozère + 20 km): original-node times unchanged
    (scipy on both graphs), new nodes on the straight chord of their edge, ids unique."""
    import shapely
    from scipy.sparse.csgraph import dijkstra

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(3.5, 44.5)
    edges = build_edges(
        read_waypoints(data_dir / ARCHIVE, regions=["OCC"]),
        clip=shapely.Point(x, y).buffer(30_000.0),
        margin_m=0.0,
    )
    whole = edges.to_network(TravelMappingSpeedModel(node_spacing_m=0.0))
    split = edges.to_network(TravelMappingSpeedModel(node_spacing_m=800.0))
    n0 = whole.n_nodes
    assert split.n_nodes > 1.5 * n0 and np.unique(split.node_ids).size == split.n_nodes
    np.testing.assert_array_equal(split.node_ids[:n0], whole.node_ids)
    src = np.random.default_rng(3).choice(n0, size=8, replace=False)
    a = dijkstra(whole.to_csr_matrix(), indices=src)[:, :n0]
    b = dijkstra(split.to_csr_matrix(), indices=src)[:, :n0]
    np.testing.assert_allclose(b, a, rtol=1e-9)
    assert split.length_m.sum() == pytest.approx(whole.length_m.sum(), rel=1e-9)
    # each new node lies on a straight edge's chord (distance to the nearest such chord ~ 0)
    lines = shapely.linestrings(
        np.stack(
            [
                np.column_stack([edges.x[edges.u], edges.y[edges.u]]),
                np.column_stack([edges.x[edges.v], edges.y[edges.v]]),
            ],
            axis=1,
        )[edges.n_shape == 0]
    )
    tree = shapely.STRtree(lines)
    new = shapely.points(split.x[n0:], split.y[n0:])
    _, dist = tree.query_nearest(new, return_distance=True)
    assert float(np.max(dist)) < 0.01


def test_real_archive_clip(data_dir: Path) -> None:
    import shapely

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(1.44, 43.60)
    area = shapely.Point(x, y).buffer(5_000.0)
    wp = read_waypoints(data_dir / ARCHIVE, regions=["OCC"])
    edges = build_edges(wp, clip=area, margin_m=20_000.0)
    d = np.hypot(edges.x - x, edges.y - y)
    assert d.max() <= 25_000.0 * 1.01 and edges.x.shape[0] > 300
    assert edges.meta["clip_nodes_dropped"] > 10_000
