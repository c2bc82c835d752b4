"""osmnx graphs and GraphML files as RoadNetworks (accessmap.network.osmnx_graph)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from accessmap.errors import BadValueError, DataNotFoundError
from accessmap.network.build import load_network
from accessmap.network.formats import detect_road_format
from accessmap.network.graph import RoadNetwork
from accessmap.network.speeds import get_profile

ox = pytest.importorskip("osmnx")

BZ2 = "roads_andorra_geofabrik-20210622_highways.osm.bz2"


@pytest.fixture(scope="module")
def andorra(data_dir: Path) -> Any:
    # osmnx reads .osm.bz2 directly (no network access: a local file).
    return ox.graph_from_xml(data_dir / BZ2)


def test_from_osmnx_profile_speeds(andorra: Any) -> None:
    net = RoadNetwork.from_osmnx(andorra)
    g_scc = andorra.subgraph(max(nx.strongly_connected_components(andorra), key=len))
    assert net.n_nodes == g_scc.number_of_nodes()
    assert net.meta["edges_with_travel_time"] == 0 and net.meta["profile"] == "osrm-car"
    # Andorra in Lambert-93: around x 600 km, y 6,160 km.
    assert 560_000 < net.x.min() < net.x.max() < 640_000
    assert 6_130_000 < net.y.min() < net.y.max() < 6_190_000
    # One edge by hand: length / osrm-car class speed (no maxspeed tag) or tagged limit x 0.8.
    prof = get_profile("osrm-car")
    pos = {int(n): i for i, n in enumerate(net.node_ids)}
    checked = 0
    for u, v, d in g_scc.edges(data=True):
        hw = d["highway"][0] if isinstance(d["highway"], list) else d["highway"]
        if "maxspeed" in d or isinstance(d["highway"], list) or g_scc.number_of_edges(u, v) > 1:
            continue
        exp = d["length"] / 1000 / prof.speed_kmh(hw, None) * 60
        a, b = pos[int(u)], pos[int(v)]
        row = slice(net.indptr[a], net.indptr[a + 1])
        k = int(np.flatnonzero(net.indices[row] == b)[0])
        assert net.travel_time_min[row][k] == pytest.approx(exp)
        checked += 1
        if checked == 20:
            break
    assert checked == 20


def test_from_osmnx_travel_time_and_graphml(andorra: Any, tmp_path: Path) -> None:
    g = ox.add_edge_travel_times(ox.add_edge_speeds(andorra.copy()))
    net = RoadNetwork.from_osmnx(g)
    assert net.meta["edges_with_travel_time"] == g.number_of_edges()
    # Shortest paths equal networkx Dijkstra on travel_time (seconds -> minutes).
    from scipy.sparse.csgraph import dijkstra

    rng = np.random.default_rng(3)
    src = rng.choice(net.n_nodes, size=3, replace=False)
    dst = rng.choice(net.n_nodes, size=15, replace=False)
    ours = dijkstra(net.to_csr_matrix(), indices=src)[:, dst]
    for i, s in enumerate(src):
        ref = nx.single_source_dijkstra_path_length(g, int(net.node_ids[s]), weight="travel_time")
        np.testing.assert_allclose(ours[i], [ref[int(net.node_ids[d])] / 60 for d in dst])
    path = tmp_path / "andorra.graphml"
    ox.save_graphml(g, path)
    assert detect_road_format(path) == "graphml"
    a = load_network(path, cache_dir=tmp_path / "cache")
    b = load_network(path, cache_dir=tmp_path / "cache")
    assert (a.meta["cache"], b.meta["cache"]) == ("miss", "hit")
    np.testing.assert_allclose(a.travel_time_min, net.travel_time_min)
    np.testing.assert_array_equal(b.node_ids, net.node_ids)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(BadValueError, match="networkx"):
        RoadNetwork.from_osmnx([1, 2, 3])
    g = nx.MultiDiGraph(crs="EPSG:4326")
    g.add_node("a", x=1.0, y=43.0)
    g.add_node("b", x=1.1, y=43.0)
    g.add_edge("a", "b", length=100.0)
    with pytest.raises(BadValueError, match="not an integer"):
        RoadNetwork.from_osmnx(g)
    with pytest.raises(DataNotFoundError, match=r"absent\.graphml"):
        load_network(tmp_path / "absent.graphml")
