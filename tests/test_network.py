"""Tests for accessmap.network.graph: RoadNetwork CSR arrays, builders, cache."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from accessmap.errors import (
    BadValueError,
    DataNotFoundError,
    NetworkBuildError,
    UnknownProfileError,
    UnreadableFileError,
)
from accessmap.network.graph import RoadNetwork


def _toy() -> RoadNetwork:
    # 0 -> 1 -> 2 -> 0 cycle, plus a parallel 0 -> 1 (slower), a self-loop and a dead end 3.
    return RoadNetwork.from_arrays(
        u=[0, 0, 1, 2, 2, 1, 3],
        v=[1, 1, 2, 0, 2, 3, 3],
        travel_time_min=[1.0, 5.0, 2.0, 3.0, 9.0, 4.0, 1.0],
        x=[0.0, 100.0, 200.0, 300.0],
        y=[0.0, 0.0, 0.0, 50.0],
        node_ids=[10, 11, 12, 13],
        length_m=[10.0, 50.0, 20.0, 30.0, 90.0, 40.0, 1.0],
    )


class TestFromArrays:
    def test_csr_layout_and_dtypes(self) -> None:
        net = _toy()
        assert net.indptr.dtype == np.int64
        assert net.indices.dtype == np.int32
        assert net.travel_time_min.dtype == np.float64
        assert net.x.dtype == net.y.dtype == np.float64
        assert net.node_ids.dtype == np.int64
        assert net.n_nodes == 4
        # self-loops (2->2, 3->3) dropped, parallel 0->1 reduced to the faster one
        assert net.n_edges == 4
        assert net.indptr.tolist() == [0, 1, 3, 4, 4]
        assert net.indices.tolist() == [1, 2, 3, 0]
        assert net.travel_time_min.tolist() == [1.0, 2.0, 4.0, 3.0]
        assert net.length_m.tolist() == [10.0, 20.0, 40.0, 30.0]
        assert net.meta["parallel_edges_dropped"] == 1
        assert net.meta["self_loops_dropped"] == 2

    def test_largest_scc(self) -> None:
        net = RoadNetwork.from_arrays(
            [0, 1, 2, 1],
            [1, 2, 0, 3],
            [1.0, 1.0, 1.0, 1.0],
            x=[0.0, 1.0, 2.0, 3.0],
            y=[0.0, 0.0, 0.0, 0.0],
            node_ids=[5, 6, 7, 8],
            largest_scc=True,
        )
        assert net.n_nodes == 3
        assert net.node_ids.tolist() == [5, 6, 7]
        assert net.meta["nodes_dropped"] == 1
        assert net.meta["edges_dropped"] == 1

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"u": [0, 5]}, "not a node position"),
            ({"travel_time_min": [1.0, -1.0]}, "finite and >= 0"),
            ({"travel_time_min": [1.0, np.inf]}, "finite and >= 0"),
            ({"travel_time_min": [1.0]}, "differ in length"),
            ({"node_ids": [1, 1, 2]}, "must be unique; 1 appears 2 times"),
            ({"y": [0.0]}, "node arrays differ in length"),
        ],
    )
    def test_bad_input(self, kwargs: dict[str, object], match: str) -> None:
        args: dict[str, object] = {
            "u": [0, 1],
            "v": [1, 2],
            "travel_time_min": [1.0, 2.0],
            "x": [0.0, 1.0, 2.0],
            "y": [0.0, 1.0, 2.0],
            "node_ids": [1, 2, 3],
        }
        args.update(kwargs)
        with pytest.raises(BadValueError, match=match):
            RoadNetwork.from_arrays(**args)  # type: ignore[arg-type]


class TestTransforms:
    def test_reverse_is_transpose(self) -> None:
        net = _toy()
        rev = net.reverse()
        fwd = dict(
            zip(zip(net.edge_sources(), net.indices, strict=True), net.travel_time_min, strict=True)
        )
        back = dict(
            zip(zip(rev.indices, rev.edge_sources(), strict=True), rev.travel_time_min, strict=True)
        )
        assert fwd == back
        assert rev.meta["reversed"] is True
        assert rev.reverse().meta["reversed"] is False
        np.testing.assert_array_equal(rev.reverse().indices, net.indices)
        np.testing.assert_array_equal(rev.reverse().travel_time_min, net.travel_time_min)
        np.testing.assert_array_equal(rev.reverse().length_m, net.length_m)
        assert (np.diff(rev.indptr) >= 0).all()

    def test_to_networkx_matches_dijkstra_on_csr(self) -> None:
        from scipy.sparse.csgraph import dijkstra

        net = _toy()
        g = net.to_networkx()
        assert isinstance(g, nx.DiGraph)
        assert g.number_of_nodes() == 4 and g.number_of_edges() == 4
        assert g.nodes[3]["node_id"] == 13 and g.nodes[3]["y"] == 50.0
        assert g.edges[0, 1]["travel_time_min"] == 1.0
        d = nx.single_source_dijkstra_path_length(g, 0, weight="travel_time_min")
        ref = dijkstra(net.to_csr_matrix(), indices=0)
        assert d == {0: 0.0, 1: 1.0, 2: 3.0, 3: 5.0}
        assert ref.tolist() == [0.0, 1.0, 3.0, 5.0]

    def test_node_index(self) -> None:
        net = _toy()
        assert net.node_index([12, 10, 99]).tolist() == [2, 0, -1]


class TestSaveLoad:
    def test_round_trip(self, tmp_path: Path) -> None:
        net = _toy()
        out = net.save(tmp_path / "g.npz")
        back = RoadNetwork.load(out)
        for name in ("indptr", "indices", "travel_time_min", "length_m", "x", "y", "node_ids"):
            a, b = getattr(net, name), getattr(back, name)
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        assert back.meta["parallel_edges_dropped"] == 1

    def test_truncated_file(self, tmp_path: Path) -> None:
        out = _toy().save(tmp_path / "g.npz")
        data = out.read_bytes()
        out.write_bytes(data[: len(data) // 2])
        with pytest.raises(UnreadableFileError, match=r"g\.npz.*rebuild"):
            RoadNetwork.load(out)

    def test_not_a_network_file(self, tmp_path: Path) -> None:
        p = tmp_path / "other.npz"
        np.savez(p, header=np.array('{"format": "something-else"}'))
        with pytest.raises(UnreadableFileError, match="not an accessmap road-network file"):
            RoadNetwork.load(p)


# ---------------------------------------------------------------------------- OSM files
ANDORRA = "roads_andorra_geofabrik-20210622_highways.osm"


@pytest.fixture(scope="module")
def andorra_pbf(data_dir: Path) -> RoadNetwork:
    return RoadNetwork.from_osm(data_dir / f"{ANDORRA}.pbf")


@pytest.fixture(scope="module")
def andorra_bz2(data_dir: Path) -> RoadNetwork:
    return RoadNetwork.from_osm(data_dir / f"{ANDORRA}.bz2")


def _lonlat(net: RoadNetwork) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    back = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
    lon, lat = back.transform(net.x, net.y)
    return np.asarray(lon), np.asarray(lat)


class TestAndorra:
    def test_pbf_and_bz2_give_the_same_graph(
        self, andorra_pbf: RoadNetwork, andorra_bz2: RoadNetwork
    ) -> None:
        for name in ("indptr", "indices", "travel_time_min", "length_m", "x", "y", "node_ids"):
            np.testing.assert_array_equal(getattr(andorra_pbf, name), getattr(andorra_bz2, name))
        assert andorra_pbf.meta["nodes_dropped"] == andorra_bz2.meta["nodes_dropped"]

    def test_counts_and_meta(self, andorra_pbf: RoadNetwork) -> None:
        m = andorra_pbf.meta
        # SOURCES-roads.md: 4,806 highway ways in the file.
        assert m["ways_highway"] == 4806
        assert m["ways_kept"] + m["ways_not_drivable"] + m["ways_no_access"] == 4806
        # Unsimplified drivable graph (service roads included): tens of thousands of nodes,
        # far fewer than the 104,794 nodes of all highways.
        assert 20_000 < andorra_pbf.n_nodes < 30_000
        assert m["nodes_dropped"] > 0 and m["edges_dropped"] > 0
        assert m["n_nodes"] == andorra_pbf.n_nodes
        assert m["crs"] == "EPSG:2154" and m["profile"] == "osrm-car"
        assert np.unique(andorra_pbf.node_ids).shape[0] == andorra_pbf.n_nodes

    def test_coordinates_in_bbox(self, andorra_pbf: RoadNetwork) -> None:
        lon, lat = _lonlat(andorra_pbf)
        # SOURCES-roads.md: drivable largest SCC within lon 1.4197-1.7378, lat 42.4360-42.6314
        # (checked without service roads; allow 0.01 degree for them).
        assert lon.min() > 1.4197 - 0.01 and lon.max() < 1.7378 + 0.01
        assert lat.min() > 42.4360 - 0.01 and lat.max() < 42.6314 + 0.01
        # Lambert-93 metres, not degrees
        assert 550_000 < andorra_pbf.x.min() < andorra_pbf.x.max() < 600_000

    def test_strongly_connected(self, andorra_pbf: RoadNetwork) -> None:
        from scipy.sparse.csgraph import connected_components

        n, _ = connected_components(andorra_pbf.to_csr_matrix(), connection="strong")
        assert n == 1

    def test_oneway_edges_exist(self, andorra_pbf: RoadNetwork) -> None:
        src = andorra_pbf.edge_sources()
        fwd = set(zip(src.tolist(), andorra_pbf.indices.tolist(), strict=True))
        one_way = [(a, b) for a, b in fwd if (b, a) not in fwd]
        assert len(one_way) > 100  # roundabouts and oneway=yes streets

    def test_travel_time_is_length_over_speed(self, andorra_pbf: RoadNetwork) -> None:
        from accessmap.network.speeds import get_profile

        p = get_profile("osrm-car")
        ok = andorra_pbf.length_m > 1.0
        implied = andorra_pbf.length_m[ok] / 1000.0 / (andorra_pbf.travel_time_min[ok] / 60.0)
        allowed = set(p.class_speeds_kmh.values()) | {
            0.8 * v for v in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 130)
        }
        rounded = np.unique(np.round(implied, 6))
        assert set(rounded.tolist()) <= {round(a, 6) for a in allowed}
        # edges have Lambert-93 lengths: check a sample against the node coordinates
        src = andorra_pbf.edge_sources()
        rng = np.random.default_rng(0)
        for e in rng.choice(andorra_pbf.n_edges, 50, replace=False):
            a, b = src[e], andorra_pbf.indices[e]
            d = np.hypot(andorra_pbf.x[b] - andorra_pbf.x[a], andorra_pbf.y[b] - andorra_pbf.y[a])
            assert andorra_pbf.length_m[e] == pytest.approx(d, rel=1e-12)

    def test_osmnx_comparable_simplified_count(self, data_dir: Path) -> None:
        """SOURCES-roads.md: osmnx, drivable classes without service, access private/no
        dropped, largest SCC, simplified: 1,656 nodes. Same filter here; osmnx's endpoint
        rule applied to the same segments kept as a multigraph (osmnx keeps parallel edges,
        which make a node an endpoint) must give exactly 1,656."""
        from accessmap.network.osm import DRIVABLE_HIGHWAYS, build_from_osm, read_osm_ways

        kw = {
            "highway_classes": DRIVABLE_HIGHWAYS - {"service"},
            "denied_access": {"no", "private"},
        }
        path = data_dir / f"{ANDORRA}.pbf"
        net = build_from_osm(path, **kw)  # type: ignore[arg-type]
        keep = set(net.node_ids.tolist())
        ways = read_osm_ways(path, **kw)  # type: ignore[arg-type]
        same = ways.node_way[1:] == ways.node_way[:-1]
        a = ways.node_ref[:-1][same]
        b = ways.node_ref[1:][same]
        direction = ways.way_oneway[ways.node_way[:-1][same]]
        g = nx.MultiDiGraph()
        for x, y, d in zip(a.tolist(), b.tolist(), direction.tolist(), strict=True):
            if x in keep and y in keep:
                if d >= 0:
                    g.add_edge(x, y)
                if d <= 0:
                    g.add_edge(y, x)
        assert g.number_of_nodes() == net.n_nodes

        def is_endpoint(n: int) -> bool:  # osmnx.simplification._is_endpoint, default rules
            nbrs = set(g.predecessors(n)) | set(g.successors(n))
            if n in nbrs or g.in_degree(n) == 0 or g.out_degree(n) == 0:
                return True
            return not (len(nbrs) == 2 and g.degree(n) in (2, 4))

        assert sum(is_endpoint(n) for n in g.nodes) == 1656


# Small OSM XML files: node 1..9 around Toulouse (lon ~1.44, lat ~43.60).
_NODES = {
    1: (1.4400, 43.6000),
    2: (1.4410, 43.6000),
    3: (1.4420, 43.6000),
    4: (1.4420, 43.6010),
    5: (1.4430, 43.6005),
    6: (1.4400, 43.6010),
    7: (1.4390, 43.6010),
    8: (1.4410, 43.5990),
    9: (1.4440, 43.6005),
}


def _osm_xml(ways: list[tuple[int, list[int], dict[str, str]]]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (lon, lat) in _NODES.items():
        lines.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}"/>')
    for wid, refs, tags in ways:
        lines.append(f'<way id="{wid}" version="1">')
        lines += [f'<nd ref="{r}"/>' for r in refs]
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


_TOY_WAYS: list[tuple[int, list[int], dict[str, str]]] = [
    (101, [1, 2, 3], {"highway": "residential", "maxspeed": "FR:urban"}),
    (102, [3, 4], {"highway": "residential", "oneway": "-1"}),
    (103, [3, 5, 4], {"highway": "primary", "junction": "roundabout"}),
    (104, [1, 6], {"highway": "service", "access": "private"}),
    (105, [2, 6], {"highway": "footway"}),
    (106, [6, 7], {"highway": "residential", "motor_vehicle": "no"}),
    (107, [2, 8], {"highway": "residential", "access": "private", "motor_vehicle": "yes"}),
    (108, [5, 9], {"highway": "motorway"}),
    (109, [1, 7, 6, 1], {"highway": "service", "area": "yes"}),
]


class TestOsmRules:
    @pytest.fixture
    def toy(self, tmp_path: Path) -> RoadNetwork:
        p = tmp_path / "toy.osm"
        p.write_text(_osm_xml(_TOY_WAYS))
        return RoadNetwork.from_osm(p)

    def _edges(self, net: RoadNetwork) -> set[tuple[int, int]]:
        ids = net.node_ids
        return {
            (int(ids[a]), int(ids[b])) for a, b in zip(net.edge_sources(), net.indices, strict=True)
        }

    def test_edges_follow_tags(self, toy: RoadNetwork) -> None:
        assert self._edges(toy) == {
            (1, 2), (2, 1), (2, 3), (3, 2),  # two-way residential
            (4, 3),  # oneway=-1: reversed
            (3, 5), (5, 4),  # roundabout: implied oneway
            (2, 8), (8, 2),  # access=private overridden by motor_vehicle=yes
        }  # fmt: skip
        # node 6 (private service, footway, motor_vehicle=no, area) and 7 gone;
        # 9 only reachable by the implied-oneway motorway 5 -> 9: outside the largest SCC
        assert sorted(toy.node_ids.tolist()) == [1, 2, 3, 4, 5, 8]
        assert toy.meta["nodes_dropped"] == 1 and toy.meta["edges_dropped"] == 1
        assert toy.meta["ways_no_access"] == 2
        assert toy.meta["ways_area"] == 1
        assert toy.meta["ways_not_drivable"] == 1

    def test_speeds_and_times(self, toy: RoadNetwork) -> None:
        from pyproj import Transformer

        t = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
        pos = {int(n): i for i, n in enumerate(toy.node_ids)}

        def edge(a: int, b: int) -> int:
            ia, ib = pos[a], pos[b]
            row = toy.indices[toy.indptr[ia] : toy.indptr[ia + 1]]
            return int(toy.indptr[ia] + np.flatnonzero(row == ib)[0])

        def length(a: int, b: int) -> float:
            (xa, ya), (xb, yb) = t.transform(*_NODES[a]), t.transform(*_NODES[b])
            return float(np.hypot(xb - xa, yb - ya))

        # FR:urban = 50 km/h, x 0.8 (osrm-car) = 40 km/h
        e = edge(1, 2)
        assert toy.length_m[e] == pytest.approx(length(1, 2), rel=1e-9)
        assert toy.travel_time_min[e] == pytest.approx(length(1, 2) / 1000 / 40 * 60, rel=1e-9)
        # untagged residential: 25 km/h; untagged primary roundabout: 65 km/h
        assert toy.travel_time_min[edge(4, 3)] == pytest.approx(
            length(3, 4) / 1000 / 25 * 60, rel=1e-9
        )
        assert toy.travel_time_min[edge(3, 5)] == pytest.approx(
            length(3, 5) / 1000 / 65 * 60, rel=1e-9
        )

    def test_profile_changes_times(self, tmp_path: Path, toy: RoadNetwork) -> None:
        p = tmp_path / "toy.osm"
        legal = RoadNetwork.from_osm(p, profile="fr-legal")
        np.testing.assert_array_equal(legal.indices, toy.indices)
        # FR:urban: 40 km/h (osrm-car) vs 50 km/h (fr-legal)
        ratio = toy.travel_time_min[0] / legal.travel_time_min[0]
        assert ratio == pytest.approx(50 / 40)

    def test_missing_node_cuts_the_way(self, tmp_path: Path) -> None:
        # clipped extract: way 201 refers to node 99, absent from the file
        p = tmp_path / "clipped.osm"
        p.write_text(
            _osm_xml(
                [
                    (201, [1, 2, 99, 3], {"highway": "residential"}),
                    (202, [2, 3], {"highway": "residential"}),
                ]
            )
        )
        net = RoadNetwork.from_osm(p)
        assert net.meta["way_nodes_missing"] == 1
        assert sorted(net.node_ids.tolist()) == [1, 2, 3]
        assert net.n_edges == 4  # 1<->2 and 2<->3 (from way 202); no edge through node 99

    def test_directional_maxspeed(self, tmp_path: Path) -> None:
        p = tmp_path / "dir.osm"
        tags = {"highway": "primary", "maxspeed:forward": "30", "maxspeed:backward": "FR:rural"}
        p.write_text(_osm_xml([(301, [1, 2], tags), (302, [2, 3, 1], {"highway": "primary"})]))
        net = RoadNetwork.from_osm(p)
        pos = {int(n): i for i, n in enumerate(net.node_ids)}
        src = net.edge_sources()
        speed = {
            (int(net.node_ids[a]), int(net.node_ids[b])): d / 1000 / (t / 60)
            for a, b, t, d in zip(src, net.indices, net.travel_time_min, net.length_m, strict=True)
        }
        assert set(pos) == {1, 2, 3}
        assert speed[(1, 2)] == pytest.approx(30 * 0.8)
        assert speed[(2, 1)] == pytest.approx(80 * 0.8)
        assert speed[(2, 3)] == pytest.approx(65.0)  # untagged primary

    def test_progress_callback(self, tmp_path: Path) -> None:
        p = tmp_path / "toy.osm"
        p.write_text(_osm_xml(_TOY_WAYS))
        calls: list[tuple[int, int]] = []
        RoadNetwork.from_osm(p, progress=lambda done, total: calls.append((done, total)))
        assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]

    def test_no_drivable_roads(self, tmp_path: Path) -> None:
        p = tmp_path / "paths.osm"
        p.write_text(_osm_xml([(1, [1, 2, 3], {"highway": "footway"}), (2, [3, 4], {})]))
        with pytest.raises(NetworkBuildError, match=r"paths\.osm: no drivable road.*1 highway"):
            RoadNetwork.from_osm(p)

    def test_truncated_xml(self, tmp_path: Path) -> None:
        p = tmp_path / "cut.osm"
        p.write_text(_osm_xml(_TOY_WAYS)[:600])
        with pytest.raises(UnreadableFileError, match=r"cut\.osm: cannot read OSM data"):
            RoadNetwork.from_osm(p)

    def test_truncated_pbf(self, tmp_path: Path, data_dir: Path) -> None:
        p = tmp_path / "cut.osm.pbf"
        p.write_bytes((data_dir / f"{ANDORRA}.pbf").read_bytes()[:200_000])
        with pytest.raises(UnreadableFileError, match=r"cut\.osm\.pbf: .*truncated or corrupt"):
            RoadNetwork.from_osm(p)

    def test_truncated_bz2(self, tmp_path: Path, data_dir: Path) -> None:
        p = tmp_path / "cut.osm.bz2"
        p.write_bytes((data_dir / f"{ANDORRA}.bz2").read_bytes()[:300_000])
        with pytest.raises(UnreadableFileError, match=r"cut\.osm\.bz2: cannot read OSM data"):
            RoadNetwork.from_osm(p)

    def test_not_an_osm_name(self, tmp_path: Path) -> None:
        p = tmp_path / "roads.txt"
        p.write_text("hello")
        with pytest.raises(UnreadableFileError, match=r"roads\.txt: not an OSM file name"):
            RoadNetwork.from_osm(p)

    def test_empty_file(self, tmp_path: Path) -> None:
        p = tmp_path / "empty.osm.pbf"
        p.write_bytes(b"")
        with pytest.raises(UnreadableFileError, match=r"empty\.osm\.pbf: the OSM file is empty"):
            RoadNetwork.from_osm(p)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(DataNotFoundError, match=r"nothere\.osm\.pbf not found"):
            RoadNetwork.from_osm(tmp_path / "nothere.osm.pbf")

    def test_unknown_profile(self, tmp_path: Path) -> None:
        p = tmp_path / "toy.osm"
        p.write_text(_osm_xml(_TOY_WAYS))
        with pytest.raises(UnknownProfileError, match="known profiles: fr-legal, osrm-car"):
            RoadNetwork.from_osm(p, profile="tractor")


# ---------------------------------------------------------------------------- tables
def _pfe(data_dir: Path, town: str) -> tuple[Path, Path]:
    stem = f"roads_occitanie_{town}_pfe-osm2024"
    return data_dir / f"{stem}_nodes.csv", data_dir / f"{stem}_edges.csv"


INSA_NODES = "roads_occitanie_toulouse_insa-begraphes-osm_nodes.csv"
INSA_EDGES = "roads_occitanie_toulouse_insa-begraphes-osm_edges.csv.gz"


class TestTables:
    # SOURCES-roads.md load checks (networkx DiGraph, largest strongly connected component):
    # nodes in the file, distinct directed edges, largest SCC nodes; lon/lat bounding box.
    @pytest.mark.parametrize(
        ("town", "n_file", "distinct_edges", "scc", "bbox"),
        [
            ("auch", 2642, 6098, 2493, (0.5307674, 43.6143317, 0.642647, 43.6730798)),
            ("toulouse-centre", 9409, 19338, 8078, (1.4029187, 43.5748704, 1.4754044, 43.634851)),
            ("nimes", 12554, 27927, 11974, (4.2169709, 43.7927247, 4.4265034, 43.9297766)),
            ("montpellier", 8551, 17909, 7521, (3.8447, 43.5876, 3.9089, 43.6320)),
        ],
    )
    def test_pfe_counts(
        self,
        data_dir: Path,
        town: str,
        n_file: int,
        distinct_edges: int,
        scc: int,
        bbox: tuple[float, float, float, float],
    ) -> None:
        nodes, edges = _pfe(data_dir, town)
        net = RoadNetwork.from_tables(nodes, edges)
        m = net.meta
        assert m["format"] == "pfe_tables"
        assert m["nodes_in"] == n_file
        assert m["edges_in"] - m["self_loops_dropped"] - m["parallel_edges_dropped"] == (
            distinct_edges
        )
        assert net.n_nodes == scc
        assert m["nodes_dropped"] == n_file - scc
        lon, lat = _lonlat(net)
        eps = 1e-4  # SOURCES gives the Montpellier box to 4 decimals
        assert lon.min() >= bbox[0] - eps and lon.max() <= bbox[2] + eps
        assert lat.min() >= bbox[1] - eps and lat.max() <= bbox[3] + eps

    def test_pfe_speeds_and_oneway(self, data_dir: Path) -> None:
        import pandas as pd

        nodes, edges = _pfe(data_dir, "auch")
        net = RoadNetwork.from_tables(nodes, edges)
        table = pd.read_csv(edges)
        # row order after parallel-edge reduction: look rows up by (id1, id2)
        src = net.node_ids[net.edge_sources()]
        dst = net.node_ids[net.indices]
        got = pd.DataFrame({"node_id1": src, "node_id2": dst, "t": net.travel_time_min})
        fastest = (
            table.assign(
                kmh=np.where(
                    table["speed"] == "default",
                    25.0,
                    pd.to_numeric(table["speed"], errors="coerce") * 0.8,
                )
            )
            .assign(t=lambda d: d["length"] / 1000 / d["kmh"] * 60)
            .groupby(["node_id1", "node_id2"], as_index=False)["t"]
            .min()
        )
        joined = got.merge(fastest, on=["node_id1", "node_id2"], suffixes=("", "_ref"))
        assert len(joined) == net.n_edges
        np.testing.assert_allclose(joined["t"], joined["t_ref"], rtol=1e-12)
        # a 'oneway' row whose reverse is absent from the table stays one-way
        pairs = set(zip(table.node_id1, table.node_id2, strict=True))
        ow = table[(table["type"] == "oneway")]
        ow = ow[[(b, a) not in pairs for a, b in zip(ow.node_id1, ow.node_id2, strict=True)]]
        assert len(ow) > 0
        edge_set = set(zip(src.tolist(), dst.tolist(), strict=True))
        for a, b in zip(ow.node_id1, ow.node_id2, strict=True):
            assert (b, a) not in edge_set

    def test_pfe_default_speed_follows_profile(self, data_dir: Path) -> None:
        nodes, edges = _pfe(data_dir, "auch")
        a = RoadNetwork.from_tables(nodes, edges, profile="osrm-car")
        b = RoadNetwork.from_tables(nodes, edges, profile="fr-legal")
        assert a.n_edges == b.n_edges
        assert a.meta["rows_default_speed"] == 5610  # 'default' rows (SOURCES: 91 %)
        assert a.travel_time_min.sum() > b.travel_time_min.sum()

    def test_insa(self, data_dir: Path) -> None:
        import pandas as pd

        net = RoadNetwork.from_tables(data_dir / INSA_NODES, data_dir / INSA_EDGES)
        m = net.meta
        assert m["format"] == "insa_tables"
        # SOURCES-roads.md: car classes + access_motorcar != forbidden -> largest SCC 29,662
        assert net.n_nodes == 29662
        assert m["reverse_arcs_added"] > 20_000
        lon, lat = _lonlat(net)
        assert lon.min() >= 1.336424 - 1e-6 and lon.max() <= 1.522391 + 1e-6
        assert lat.min() >= 43.526999 - 1e-6 and lat.max() <= 43.691343 + 1e-6
        # travel time = length_m / (maxspeed_kmh x 0.8) on sampled one-way rows
        table = pd.read_csv(data_dir / INSA_EDGES, usecols=lambda c: c != "geometry_wkt")
        ow = table[(table.oneway == 1) & (table.u != table.v)]
        ow = ow[ow.highway.isin(["motorway", "primary", "roundabout", "residential"])]
        pos = net.node_index(ow.u.to_numpy())
        pos_v = net.node_index(ow.v.to_numpy())
        ow = ow[(pos >= 0) & (pos_v >= 0)].sample(200, random_state=1)
        edge_set = {
            (int(a), int(b)): (t, d)
            for a, b, t, d in zip(
                net.node_ids[net.edge_sources()],
                net.node_ids[net.indices],
                net.travel_time_min,
                net.length_m,
                strict=True,
            )
        }
        checked = 0
        for r in ow.itertuples():
            t, d = edge_set[(r.u, r.v)]
            if d == r.length_m:  # not replaced by a faster parallel edge
                assert t == pytest.approx(r.length_m / 1000 / (r.maxspeed_kmh * 0.8) * 60)
                checked += 1
            # a oneway=1 row adds no reverse arc unless another row provides it
            if (r.v, r.u) in edge_set:
                assert ((table.u == r.v) & (table.v == r.u)).any()
        assert checked > 150

    def test_insa_private_option(self, data_dir: Path) -> None:
        from accessmap.network.tables import build_from_tables

        net = build_from_tables(
            data_dir / INSA_NODES,
            data_dir / INSA_EDGES,
            insa_denied_access={"forbidden", "private"},
        )
        assert net.n_nodes < 29662
        assert net.meta["rows_no_car_access"] > 0

    def test_missing_columns(self, tmp_path: Path) -> None:
        from accessmap.errors import MissingColumnError

        nodes = tmp_path / "x_nodes.csv"
        edges = tmp_path / "x_edges.csv"
        nodes.write_text("node_id,lon,lat\n1,1.4,43.6\n2,1.41,43.6\n")
        edges.write_text("node_id1,node_id2,speed\n1,2,50\n")
        with pytest.raises(MissingColumnError, match=r"x_edges\.csv.*missing type, length"):
            RoadNetwork.from_tables(nodes, edges)
        edges.write_text("node_id1,node_id2,speed,type,length\n1,2,50,twoway,10\n")
        nodes.write_text("id,lon,lat\n1,1.4,43.6\n")
        with pytest.raises(MissingColumnError, match=r"x_nodes\.csv: node table lacks.*node_id"):
            RoadNetwork.from_tables(nodes, edges)

    def test_bad_values(self, tmp_path: Path) -> None:
        nodes = tmp_path / "x_nodes.csv"
        edges = tmp_path / "x_edges.csv"
        nodes.write_text("node_id,lon,lat\n1,1.4,43.6\n2,1.41,43.6\n")
        edges.write_text("node_id1,node_id2,speed,type,length\n1,3,50,oneway,10\n")
        with pytest.raises(BadValueError, match=r"missing from x_nodes\.csv, e\.g\. node 3"):
            RoadNetwork.from_tables(nodes, edges)
        edges.write_text("node_id1,node_id2,speed,type,length\n1,2,50,oneway,ten\n")
        with pytest.raises(BadValueError, match=r"column 'length' must be numeric.*'ten'"):
            RoadNetwork.from_tables(nodes, edges)
        nodes.write_text("node_id,lon,lat\n1,650000,6280000\n2,1.41,43.6\n")
        with pytest.raises(BadValueError, match=r"outside WGS84 ranges"):
            RoadNetwork.from_tables(nodes, edges)

    def test_empty_tables(self, tmp_path: Path) -> None:
        from accessmap.errors import EmptyLayerError

        nodes = tmp_path / "x_nodes.csv"
        edges = tmp_path / "x_edges.csv"
        nodes.write_text("node_id,lon,lat\n")
        edges.write_text("node_id1,node_id2,speed,type,length\n1,2,50,oneway,10\n")
        with pytest.raises(EmptyLayerError, match=r"x_nodes\.csv: the node table has no rows"):
            RoadNetwork.from_tables(nodes, edges)
        edges.write_text("")
        with pytest.raises(EmptyLayerError, match=r"x_edges\.csv: the table is empty"):
            RoadNetwork.from_tables(nodes, edges)

    def test_unknown_profile_tables(self, data_dir: Path) -> None:
        nodes, edges = _pfe(data_dir, "auch")
        with pytest.raises(UnknownProfileError, match=r"'walk'.*known profiles"):
            RoadNetwork.from_tables(nodes, edges, profile="walk")

    def test_no_drivable_insa(self, tmp_path: Path) -> None:
        nodes = tmp_path / "x_nodes.csv"
        edges = tmp_path / "x_edges.csv"
        nodes.write_text("node_id,lon,lat\n0,1.4,43.6\n1,1.41,43.6\n")
        edges.write_text(
            "u,v,length_m,highway,maxspeed_kmh,oneway,access_motorcar\n"
            "0,1,10,pedestrian,5,0,forbidden\n"
        )
        with pytest.raises(NetworkBuildError, match=r"x_edges\.csv: no drivable edge"):
            RoadNetwork.from_tables(nodes, edges)


# ---------------------------------------------------------------------------- cache
class TestCache:
    def test_hit_returns_identical_arrays(self, tmp_path: Path, data_dir: Path) -> None:
        from accessmap.network.build import load_network

        nodes, edges = _pfe(data_dir, "auch")
        first = load_network(edges, cache_dir=tmp_path)
        assert first.meta["cache"] == "miss"
        second = load_network(edges, cache_dir=tmp_path)
        assert second.meta["cache"] == "hit"
        assert second.meta["cache_file"] == first.meta["cache_file"]
        for name in ("indptr", "indices", "travel_time_min", "length_m", "x", "y", "node_ids"):
            a, b = getattr(first, name), getattr(second, name)
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        # the node table path works too, and from_tables(cache_dir=) shares the cache
        assert load_network(nodes, cache_dir=tmp_path).meta["cache"] == "hit"
        assert RoadNetwork.from_tables(nodes, edges, cache_dir=tmp_path).meta["cache"] == "hit"
        assert len(list(tmp_path.glob("*.graph"))) == 1

    def test_key_changes_with_profile_and_input(self, tmp_path: Path, data_dir: Path) -> None:
        import shutil

        from accessmap.network.build import load_network
        from accessmap.network.speeds import get_profile

        nodes, edges = _pfe(data_dir, "auch")
        load_network(edges, cache_dir=tmp_path / "c")
        other = load_network(edges, cache_dir=tmp_path / "c", profile="fr-legal")
        assert other.meta["cache"] == "miss"
        slower = load_network(
            edges, cache_dir=tmp_path / "c", profile=get_profile("osrm-car").with_factor(0.9)
        )
        assert slower.meta["cache"] == "miss"
        assert len(list((tmp_path / "c").glob("*.graph"))) == 3
        # a copied (hence different path/mtime) input is a different key
        shutil.copy(nodes, tmp_path / nodes.name)
        shutil.copy(edges, tmp_path / edges.name)
        assert load_network(tmp_path / edges.name, cache_dir=tmp_path / "c").meta["cache"] == (
            "miss"
        )

    def test_osm_cache_and_env(
        self, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from accessmap.network.build import load_network
        from accessmap.network.graph import default_cache_dir

        monkeypatch.setenv("ACCESSMAP_CACHE_DIR", str(tmp_path / "env"))
        assert default_cache_dir() == tmp_path / "env"
        p = tmp_path / "toy.osm"
        p.write_text(_osm_xml(_TOY_WAYS))
        assert load_network(p).meta["cache"] == "miss"
        assert RoadNetwork.from_osm(p, cache_dir=tmp_path / "env").meta["cache"] == "hit"
        assert load_network(p, use_cache=False).meta["cache"] == "off"

    def test_corrupt_cache_is_rebuilt(self, tmp_path: Path, data_dir: Path) -> None:
        from accessmap.network.build import load_network

        _, edges = _pfe(data_dir, "auch")
        net = load_network(edges, cache_dir=tmp_path)
        (Path(net.meta["cache_file"]) / "meta.json").write_bytes(b"not json")
        again = load_network(edges, cache_dir=tmp_path)
        assert again.meta["cache"] == "miss"
        assert load_network(edges, cache_dir=tmp_path).meta["cache"] == "hit"

    def test_unknown_format(self, tmp_path: Path) -> None:
        from accessmap.network.build import load_network

        p = tmp_path / "roads.shp"
        p.write_text("x")
        with pytest.raises(BadValueError, match=r"roads\.shp.*expected \.osm\.pbf"):
            load_network(p, cache_dir=tmp_path)


def test_docstring_examples() -> None:
    import doctest

    import accessmap.network.graph

    result = doctest.testmod(accessmap.network.graph)
    assert result.attempted > 0 and result.failed == 0
