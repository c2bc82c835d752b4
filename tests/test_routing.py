"""Tests for accessmap.routing.kernels: hand-computed cases, networkx on every real road extract."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from accessmap.errors import BadValueError
from accessmap.network.graph import RoadNetwork
from accessmap.routing.kernels import bounded_dijkstra, multi_source_dijkstra, reverse_csr

TOL = 1e-6

#: Every real road extract of the data directory: (label, builder arguments).
EXTRACTS = {
    "andorra-pbf": ("roads_andorra_geofabrik-20210622_highways.osm.pbf",),
    "andorra-xml": ("roads_andorra_geofabrik-20210622_highways.osm.bz2",),
    "toulouse-insa": (
        "roads_occitanie_toulouse_insa-begraphes-osm_nodes.csv",
        "roads_occitanie_toulouse_insa-begraphes-osm_edges.csv.gz",
    ),
    "auch": (
        "roads_occitanie_auch_pfe-osm2024_nodes.csv",
        "roads_occitanie_auch_pfe-osm2024_edges.csv",
    ),
    "nimes": (
        "roads_occitanie_nimes_pfe-osm2024_nodes.csv",
        "roads_occitanie_nimes_pfe-osm2024_edges.csv",
    ),
    "montpellier": (
        "roads_occitanie_montpellier_pfe-osm2024_nodes.csv",
        "roads_occitanie_montpellier_pfe-osm2024_edges.csv",
    ),
    "toulouse-centre": (
        "roads_occitanie_toulouse-centre_pfe-osm2024_nodes.csv",
        "roads_occitanie_toulouse-centre_pfe-osm2024_edges.csv",
    ),
}

_CACHE: dict[str, tuple[RoadNetwork, nx.DiGraph]] = {}


def load_extract(data_dir: Path, name: str) -> tuple[RoadNetwork, nx.DiGraph]:
    """Build (once per session) the RoadNetwork and its networkx twin for an extract."""
    if name not in _CACHE:
        files = [data_dir / f for f in EXTRACTS[name]]
        if len(files) == 1:
            net = RoadNetwork.from_osm(files[0])
        else:
            net = RoadNetwork.from_tables(files[0], files[1])
        _CACHE[name] = (net, net.to_networkx())
    return _CACHE[name]


def csr_from_edges(n: int, edges: list[tuple[int, int, float]]) -> tuple[np.ndarray, ...]:
    u = np.array([e[0] for e in edges])
    v = np.array([e[1] for e in edges])
    w = np.array([e[2] for e in edges], dtype=float)
    a = sp.csr_array((w, (u, v)), shape=(n, n))
    a.sort_indices()
    return a.indptr, a.indices, a.data


# ------------------------------------------------------------------ hand-computed cases


def test_multi_source_hand_computed_path_and_cutoff() -> None:
    # 0 -> 1 -> 2 -> 3 (1, 2, 4 min); 4 isolated; source 0 with initial cost 0.5
    ip, ix, w = csr_from_edges(5, [(0, 1, 1.0), (1, 2, 2.0), (2, 3, 4.0)])
    dist, label = multi_source_dijkstra(ip, ix, w, [0], initial_cost=[0.5])
    assert dist[:4].tolist() == [0.5, 1.5, 3.5, 7.5]
    assert np.isinf(dist[4]) and label[4] == -1
    assert label[:4].tolist() == [0, 0, 0, 0]
    # cutoff is inclusive: 3.5 kept, 7.5 dropped
    dist, label = multi_source_dijkstra(ip, ix, w, [0], initial_cost=[0.5], cutoff=3.5)
    assert dist[2] == 3.5 and label[2] == 0
    assert np.isinf(dist[3]) and label[3] == -1


def test_multi_source_nearest_label_and_direction() -> None:
    # one-way chain 0 -> 1 -> 2 <- 3 ; sources 0 and 3
    ip, ix, w = csr_from_edges(4, [(0, 1, 1.0), (1, 2, 1.0), (3, 2, 5.0)])
    dist, label = multi_source_dijkstra(ip, ix, w, [3, 0])
    assert dist.tolist() == [0.0, 1.0, 2.0, 0.0]
    assert label.tolist() == [1, 1, 1, 0]
    # on the reversed graph, node 2 reaches... nothing flows back to 1 from source 3
    rip, rix, rw = reverse_csr(ip, ix, w)
    dist, label = multi_source_dijkstra(rip, rix, rw, [3])
    assert np.isinf(dist[[0, 1, 2]]).all() and label.tolist() == [-1, -1, -1, 0]


def test_multi_source_ties_go_to_the_smallest_source_index() -> None:
    # 1 -- 0 -- 2 symmetric (two-way, 1 min each) plus a zero-weight edge 0 -> 3
    edges = [(0, 1, 1.0), (1, 0, 1.0), (0, 2, 1.0), (2, 0, 1.0), (0, 3, 0.0)]
    ip, ix, w = csr_from_edges(4, edges)
    dist, label = multi_source_dijkstra(ip, ix, w, [2, 1])
    assert dist[0] == 1.0 and label[0] == 0  # source index 0 (node 2) wins the tie
    assert dist[3] == 1.0 and label[3] == 0  # the rule holds across the zero-weight edge
    dist, label = multi_source_dijkstra(ip, ix, w, [1, 2])
    assert label[0] == 0 and label[3] == 0  # now node 1 is index 0 and wins
    # the same node listed twice: the lower initial cost wins, then the first listed
    dist, label = multi_source_dijkstra(ip, ix, w, [1, 1], initial_cost=[2.0, 0.5])
    assert dist[1] == 0.5 and label[1] == 1
    dist, label = multi_source_dijkstra(ip, ix, w, [1, 1], initial_cost=[0.5, 0.5])
    assert label[1] == 0


def test_bounded_hand_computed_with_mask_and_initial_cost() -> None:
    ip, ix, w = csr_from_edges(5, [(0, 1, 1.0), (1, 2, 2.0), (2, 3, 4.0), (3, 4, 1.0)])
    si, node, dist = bounded_dijkstra(ip, ix, w, [0, 2], 5.0)
    got = sorted(zip(si.tolist(), node.tolist(), dist.tolist(), strict=True))
    assert got == [(0, 0, 0.0), (0, 1, 1.0), (0, 2, 3.0), (1, 2, 0.0), (1, 3, 4.0), (1, 4, 5.0)]
    mask = np.array([False, False, True, False, True])
    si, node, dist = bounded_dijkstra(ip, ix, w, [0, 2], 5.0, mask, initial_cost=[1.0, 0.0])
    got = sorted(zip(si.tolist(), node.tolist(), dist.tolist(), strict=True))
    assert got == [(0, 2, 4.0), (1, 2, 0.0), (1, 4, 5.0)]
    # a source whose initial cost already exceeds the cutoff yields nothing
    si, node, dist = bounded_dijkstra(ip, ix, w, [0], 5.0, initial_cost=[6.0])
    assert si.size == 0


def test_bounded_thread_counts_give_identical_tables() -> None:
    rng = np.random.default_rng(3)
    n = 500
    u, v = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    g = sp.csr_array((rng.random(3000) + 0.01, (u, v)), shape=(n, n))
    g.sort_indices()
    src = rng.integers(0, n, 60)
    a = bounded_dijkstra(g.indptr, g.indices, g.data, src, 1.5, n_threads=1)
    b = bounded_dijkstra(g.indptr, g.indices, g.data, src, 1.5, n_threads=2)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert np.all(np.diff(a[0]) >= 0)  # sorted by source index


def test_reverse_csr_transposes() -> None:
    ip, ix, w = csr_from_edges(3, [(0, 1, 1.0), (0, 2, 2.0), (1, 2, 3.0)])
    rip, rix, rw = reverse_csr(ip, ix, w)
    a = sp.csr_array((w, ix, ip), shape=(3, 3)).toarray()
    b = sp.csr_array((rw, rix, rip), shape=(3, 3)).toarray()
    np.testing.assert_array_equal(a.T, b)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": [1.0, -1.0]}, "finite and >= 0"),
        ({"weights": [1.0, np.nan]}, "finite and >= 0"),
        ({"sources": [7]}, "source node 7 is outside"),
        ({"indices": [1, 9]}, "edge head 9 is outside"),
        ({"indptr": [1, 1, 2, 2]}, "start at 0"),
        ({"weights": [1.0]}, "indptr[-1]=2"),
        ({"initial_cost": [-1.0]}, "initial_cost must be finite"),
        ({"initial_cost": [0.0, 1.0]}, "2 values for 1 sources"),
        ({"cutoff": -1.0}, "cutoff must be >= 0"),
    ],
)
def test_bad_inputs_raise_bad_value(kwargs: dict, message: str) -> None:
    args = {
        "indptr": [0, 1, 2, 2],
        "indices": [1, 2],
        "weights": [1.0, 1.0],
        "sources": [0],
        "initial_cost": None,
        "cutoff": np.inf,
    }
    args.update(kwargs)
    with pytest.raises(BadValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        multi_source_dijkstra(**args)


def test_bad_target_mask() -> None:
    with pytest.raises(BadValueError, match="target_mask must be a boolean array of length"):
        bounded_dijkstra([0, 1, 2, 2], [1, 2], [1.0, 1.0], [0], 3.0, np.ones(2, bool))


# ------------------------------------------------------------------ real extracts vs networkx


@pytest.mark.parametrize("name", list(EXTRACTS))
def test_multi_source_equals_networkx_on_real_extract(data_dir: Path, name: str) -> None:
    net, g = load_extract(data_dir, name)
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    sources = rng.choice(net.n_nodes, size=min(40, net.n_nodes), replace=False)
    dist, label = multi_source_dijkstra(net.indptr, net.indices, net.travel_time_min, sources)
    ref = nx.multi_source_dijkstra_path_length(
        g, [int(s) for s in sources], weight="travel_time_min"
    )
    assert len(ref) == int(np.isfinite(dist).sum())
    nodes = np.fromiter(ref.keys(), dtype=np.int64)
    np.testing.assert_allclose(dist[nodes], np.fromiter(ref.values(), float), atol=TOL, rtol=0)
    # the label names a source whose own distance to the node is the minimum
    check = rng.choice(nodes, size=8, replace=False)
    grev = g.reverse(copy=False)
    for node in check:
        back = nx.single_source_dijkstra_path_length(grev, int(node), weight="travel_time_min")
        best = min(back[int(s)] for s in sources if int(s) in back)
        assert abs(back[int(sources[label[node]])] - best) <= TOL
        assert abs(best - dist[node]) <= TOL


@pytest.mark.parametrize("name", list(EXTRACTS))
def test_bounded_equals_networkx_on_real_extract(data_dir: Path, name: str) -> None:
    net, g = load_extract(data_dir, name)
    rng = np.random.default_rng(7 + len(name))
    origins = rng.choice(net.n_nodes, size=12, replace=False)
    cutoff = 4.0
    si, node, dist = bounded_dijkstra(net.indptr, net.indices, net.travel_time_min, origins, cutoff)
    for k, o in enumerate(origins):
        ref = nx.single_source_dijkstra_path_length(
            g, int(o), cutoff=cutoff, weight="travel_time_min"
        )
        sel = si == k
        got = dict(zip(node[sel].tolist(), dist[sel].tolist(), strict=True))
        assert set(got) == set(ref), f"{name}: origin {o} reached sets differ"
        np.testing.assert_allclose([got[n] for n in ref], list(ref.values()), atol=TOL, rtol=0)
    # with a target mask only the targets come back, with the same values
    mask = np.zeros(net.n_nodes, dtype=bool)
    mask[rng.choice(net.n_nodes, size=net.n_nodes // 10, replace=False)] = True
    si2, node2, dist2 = bounded_dijkstra(
        net.indptr, net.indices, net.travel_time_min, origins, cutoff, mask
    )
    keep = mask[node]
    np.testing.assert_array_equal(si2, si[keep])
    np.testing.assert_array_equal(np.sort(node2), np.sort(node[keep]))
    np.testing.assert_allclose(np.sort(dist2), np.sort(dist[keep]), atol=0)


def test_one_way_street_on_real_extract(data_dir: Path) -> None:
    """Origins on one-way streets: the times both ways equal networkx's, and where going
    against the one-way street forces a detour the kernel does not take a short cut."""
    net, g = load_extract(data_dir, "toulouse-insa")
    oneway = [(u, v) for u, v in g.edges if not g.has_edge(v, u)]
    assert len(oneway) > 100
    rng = np.random.default_rng(11)
    picks = [oneway[i] for i in rng.choice(len(oneway), 20, replace=False)]
    sources = np.array([p for uv in picks for p in uv])
    si, node, dist = bounded_dijkstra(net.indptr, net.indices, net.travel_time_min, sources, np.inf)
    table = {(int(sources[k]), int(n)): d for k, n, d in zip(si, node, dist, strict=True)}
    detours = 0
    for u, v in picks:
        fwd = nx.dijkstra_path_length(g, u, v, weight="travel_time_min")
        back = nx.dijkstra_path_length(g, v, u, weight="travel_time_min")
        assert table[(u, v)] == pytest.approx(fwd, abs=TOL)
        assert table[(v, u)] == pytest.approx(back, abs=TOL)
        if back > g[u][v]["travel_time_min"] + 0.1:
            detours += 1
            assert table[(v, u)] > g[u][v]["travel_time_min"] + 0.1
    assert detours >= 5


def test_bucket_queue_equals_heap_kernel_with_ties_and_zero_weights() -> None:
    """The bucket-queue kernel behind multi_source_dijkstra gives the heap kernel's exact
    costs and labels (ties, zero-weight edges, initial costs, cutoffs, a pool too small)."""
    from accessmap.routing.kernels import _multi_source_bucket_kernel, _multi_source_kernel

    rng = np.random.default_rng(5)
    for it in range(400):
        n = int(rng.integers(2, 80))
        m = int(rng.integers(0, 4 * n))
        u, v = rng.integers(0, n, m), rng.integers(0, n, m)
        if it % 3 == 0:
            w = rng.integers(0, 4, m).astype(float)  # many equal costs and zero weights
        elif it % 3 == 1:
            w = rng.choice([0.0, 1e-9, 0.1, 0.2, 0.30000000000000004, 5.0], m)
        else:
            w = rng.random(m)
        a = sp.csr_array((w, (u, v)), shape=(n, n))
        a.sum_duplicates()
        a.sort_indices()
        ip, ix, ww = a.indptr.astype(np.int64), a.indices.astype(np.int32), a.data
        src = rng.integers(0, n, int(rng.integers(1, 6))).astype(np.int64)
        init = rng.choice([0.0, 0.5, 1.0, 2.0], src.size) if it % 2 else np.zeros(src.size)
        cut = [np.inf, 1.0, 2.5, 0.0][it % 4]
        ref = _multi_source_kernel(ip, ix, ww, src, init, cut)
        got = multi_source_dijkstra(ip, ix, ww, src, initial_cost=init, cutoff=cut)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
        # a narrow bucket width; then a pool of no block: ok is False as soon as one entry
        # is queued
        d, lab, ok = _multi_source_bucket_kernel(ip, ix, ww, src, init, cut, 0.01, 1024, 1024)
        np.testing.assert_array_equal(d, ref[0])
        np.testing.assert_array_equal(lab, ref[1])
        _, _, ok = _multi_source_bucket_kernel(ip, ix, ww, src, init, cut, 0.01, 1024, 0)
        assert ok == (not (init <= cut).any())
