"""Tests for accessmap.network: RoadNetwork CSR arrays, builders, cache."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from accessmap.errors import BadValueError, UnreadableFileError
from accessmap.network import RoadNetwork


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
