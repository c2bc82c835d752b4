"""Tests for accessmap.parallel: Dask results identical to the single-process kernels.

A ``LocalCluster`` with two worker processes on 127.0.0.1 runs the blocks; the reference is
one in-process call of the routing kernels on a real OpenStreetMap extract (Andorra,
Geofabrik 2021, ``SOURCES-roads.md``), compiled to the network cache format.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from accessmap import parallel as D
from accessmap import pipeline as P
from accessmap import siting as SI
from accessmap.errors import BadValueError, ConfigError, OutputExistsError, UnreadableFileError
from accessmap.network import store as S
from accessmap.network.build import load_network
from accessmap.network.graph import RoadNetwork
from accessmap.routing import kernels as routing
from accessmap.routing import partitioned as RP

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")

CUTOFF = 8.0


@pytest.fixture(scope="module")
def network(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[RoadNetwork, Path]:
    cache = tmp_path_factory.mktemp("netcache")
    net = load_network(
        data_dir / "roads_andorra_geofabrik-20210622_highways.osm.pbf", cache_dir=cache
    )
    return net, Path(net.meta["cache_file"])


@pytest.fixture(scope="module")
def sources(network: tuple[RoadNetwork, Path]) -> np.ndarray:
    net, _ = network
    rng = np.random.default_rng(2026)
    return rng.choice(net.n_nodes, size=240, replace=False).astype(np.int64)


def _same(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


def test_bounded_table_identical_on_two_workers(
    network: tuple[RoadNetwork, Path], sources: np.ndarray, client: distributed.Client
) -> None:
    net, path = network
    ref = routing.bounded_dijkstra(net.indptr, net.indices, net.travel_time_min, sources, CUTOFF)
    assert ref[0].size > 10_000  # a real table, not a trivial one
    got = D.distributed_bounded_table(path, sources, CUTOFF, client, block_size=25)
    _same(got, ref)
    # ten blocks spread over both workers, each of which read the graph file exactly once
    info = client.run(S.graph_cache_info)
    assert len(info) == 2
    assert all(v["loads"] == 1 for v in info.values()), info
    # in-process, same blocks: same table
    _same(D.distributed_bounded_table(path, sources, CUTOFF, None, block_size=25), ref)


def test_reverse_with_mask_and_access_leg(
    network: tuple[RoadNetwork, Path], sources: np.ndarray, client: distributed.Client
) -> None:
    net, path = network
    rev = net.reverse()
    mask = np.zeros(net.n_nodes, dtype=bool)
    mask[::3] = True
    leg = np.linspace(0.0, 2.0, sources.size)
    ref = routing.bounded_dijkstra(
        rev.indptr, rev.indices, rev.travel_time_min, sources, CUTOFF, mask, initial_cost=leg
    )
    got = D.distributed_bounded_table(
        path, sources, CUTOFF, client, 40, reverse=True, target_mask=mask, initial_cost=leg
    )
    _same(got, ref)
    assert bool(mask[got[1]].all())


def test_scheduler_address_string(
    network: tuple[RoadNetwork, Path], sources: np.ndarray, client: distributed.Client
) -> None:
    net, path = network
    ref = routing.bounded_dijkstra(
        net.indptr, net.indices, net.travel_time_min, sources[:50], CUTOFF
    )
    got = D.distributed_bounded_table(path, sources[:50], CUTOFF, client.scheduler.address, 10)
    _same(got, ref)


def test_parquet_stream(
    network: tuple[RoadNetwork, Path],
    sources: np.ndarray,
    client: distributed.Client,
    tmp_path: Path,
) -> None:
    import pyarrow.parquet as pq

    net, path = network
    ref = routing.bounded_dijkstra(net.indptr, net.indices, net.travel_time_min, sources, CUTOFF)
    out = tmp_path / "table.parquet"
    summary = D.bounded_table_to_parquet(path, sources, CUTOFF, out, client, 60)
    assert summary.n_blocks == 4 and summary.n_rows == ref[0].size
    pf = pq.ParquetFile(out)
    assert pf.metadata.num_row_groups == 4
    t = pf.read()
    assert t.column_names == ["source_index", "node", "travel_time_min"]
    _same(tuple(t.column(i).to_numpy() for i in range(3)), ref)
    with pytest.raises(OutputExistsError, match=r"overwrite=True"):
        D.bounded_table_to_parquet(path, sources, CUTOFF, out, None, 60)
    assert not (tmp_path / "table.parquet.part").exists()


def test_coverage_sets_against_scipy(
    network: tuple[RoadNetwork, Path], sources: np.ndarray, client: distributed.Client
) -> None:
    """Coverage (patient -> site within tau) equals scipy's Dijkstra from every demand node."""
    net, path = network
    tau = 6.0
    cand = sources[:30]
    demand = np.concatenate([sources[30:130], sources[30:35]])  # repeated nodes allowed
    cov = SI.distributed_coverage_sets(path, cand, demand, tau, client, block_size=7)
    assert cov.shape == (30, 105)
    # independent reference: times from each demand node to every candidate, forward graph
    times = dijkstra(net.to_csr_matrix(), directed=True, indices=demand, limit=tau + 1e-6)
    t_ij = times[:, cand].T  # candidates x demand
    sure_in = t_ij <= tau - 1e-9
    sure_out = t_ij > tau + 1e-9
    dense = cov.toarray()
    assert dense.sum() > 30
    assert bool(dense[sure_in].all()) and not bool(dense[sure_out].any())
    _same((dense,), (SI.distributed_coverage_sets(path, cand, demand, tau, None).toarray(),))


def test_nearest_per_region(
    network: tuple[RoadNetwork, Path], sources: np.ndarray, client: distributed.Client
) -> None:
    net, path = network
    rev = net.reverse()
    groups = {"a": sources[:10], "b": sources[10:40]}
    got = D.distributed_nearest({"a": path, "b": path}, groups, client)
    assert list(got) == ["a", "b"]
    for k, s in groups.items():
        ref = routing.multi_source_dijkstra(rev.indptr, rev.indices, rev.travel_time_min, s)
        _same(got[k], ref)
    local = D.distributed_nearest({"a": path}, {"a": groups["a"]}, None, cutoff=3.0)
    ref3 = routing.multi_source_dijkstra(
        rev.indptr, rev.indices, rev.travel_time_min, groups["a"], cutoff=3.0
    )
    _same(local["a"], ref3)
    assert math.isinf(float(local["a"][0].max()))


def test_run_regions_maps_codes(client: distributed.Client) -> None:
    from accessmap.geography import resolve_region

    got = P.run_regions(["76", "Corse", "46"], client, func=resolve_region)
    assert list(got) == ["76", "Corse", "46"]
    assert got["Corse"] == ["2A", "2B"] and got["46"] == ["46"]
    assert P.run_regions(["94"], None, func=resolve_region) == {"94": ["2A", "2B"]}
    with pytest.raises(ConfigError, match="unknown region 'Atlantis'"):
        P.run_regions(["76", "Atlantis"], None, func=resolve_region)


# ------------------------------------------------------------------------------ bad input


def test_bad_block_size(network: tuple[RoadNetwork, Path]) -> None:
    _, path = network
    with pytest.raises(ConfigError, match="block_size must be a positive integer, got 0"):
        D.distributed_bounded_table(path, [0, 1], CUTOFF, None, 0)


def test_bad_initial_cost_length(network: tuple[RoadNetwork, Path]) -> None:
    _, path = network
    with pytest.raises(BadValueError, match="initial_cost has 1 values for 2 sources"):
        D.distributed_bounded_table(path, [0, 1], CUTOFF, None, initial_cost=[0.5])


def test_missing_and_corrupt_graph_files(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="file system every worker sees"):
        S.graph_arrays(tmp_path / "nowhere.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(UnreadableFileError, match=r"rebuild it with accessmap\.network"):
        S.graph_arrays(bad)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(UnreadableFileError, match="member 'indptr' missing"):
        S.graph_arrays(other)


def test_mmap_reads_the_saved_arrays(network: tuple[RoadNetwork, Path]) -> None:
    net, path = network
    S.clear_graph_cache()
    ip, ix, w = S.graph_arrays(path)
    assert isinstance(ix, np.memmap)
    np.testing.assert_array_equal(ip, net.indptr)
    np.testing.assert_array_equal(ix, net.indices)
    np.testing.assert_array_equal(w, net.travel_time_min)
    assert S.graph_arrays(path)[1] is ix  # cached
    rip, rix, rw = S.graph_arrays(path, reverse=True)
    rev = net.reverse()
    # same edge set (the order inside a row may differ): compare as sparse matrices
    a = sp.csr_matrix((rw, rix, rip), shape=(net.n_nodes,) * 2)
    assert (a != rev.to_csr_matrix()).nnz == 0


def test_connect_arguments() -> None:
    assert D.connect(None) is None
    with pytest.raises(ConfigError, match="got int"):
        D.connect(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        D.connect("tcp://127.0.0.1:9", timeout=1.0)
    with D.dask_client(None) as cl:
        assert cl is None


def test_nearest_missing_sources(network: tuple[RoadNetwork, Path]) -> None:
    _, path = network
    with pytest.raises(ConfigError, match="no sources given for region 'b'"):
        D.distributed_nearest({"a": path, "b": path}, {"a": [0]})


def test_ensure_network_file(network: tuple[RoadNetwork, Path], tmp_path: Path) -> None:
    net, path = network
    assert S.ensure_network_file(net) == path  # already in the cache
    small = RoadNetwork.from_arrays(
        [0, 1, 2], [1, 2, 0], [1.0, 2.0, 3.0], x=[0.0, 1.0, 2.0], y=[0.0, 0.0, 1.0],
        node_ids=[10, 11, 12],
    )  # fmt: skip
    p = S.ensure_network_file(small, cache_dir=tmp_path)
    assert p.parent == tmp_path and p.is_dir()
    assert S.ensure_network_file(small, cache_dir=tmp_path) == p  # same arrays, same file
    src, node, dist = D.distributed_bounded_table(p, [0], 10.0)
    assert node.tolist() == [0, 1, 2] and dist.tolist() == [0.0, 1.0, 3.0]
    assert src.tolist() == [0, 0, 0]


def test_preload_graph_on_every_worker(
    network: tuple[RoadNetwork, Path], client: distributed.Client
) -> None:
    net, path = network
    held = D.preload_graph(client, path, reverse=True)
    assert len(held) == 2 and set(held.values()) == {net.n_nodes}
    info = client.run(S.graph_cache_info)
    assert all(v["cached"] >= 2 for v in info.values())  # forward + reversed


def test_run_regions_real_pipeline_identical(data_dir: Path, client: distributed.Client) -> None:
    """Whole crow-fly scoring runs per département on the workers equal in-process runs."""
    import pandas as pd

    from accessmap.pipeline import ScoreParams

    params = ScoreParams(engine="crow-fly", grid=False, exact=False, k=3)
    remote = P.run_regions(["46", "82"], client, params=params, data_dir=data_dir)
    local = P.run_regions(["46", "82"], None, params=params, data_dir=data_dir)
    for code, n in (("46", 312), ("82", 195)):
        for layer in ("communes", "epci_scores", "sites"):
            a = pd.DataFrame(remote[code].layers[layer]).drop(columns="geometry")
            b = pd.DataFrame(local[code].layers[layer]).drop(columns="geometry")
            pd.testing.assert_frame_equal(a, b)
        assert len(remote[code].layers["communes"]) == n


@pytest.mark.parametrize("n_parts", [2, 3, 7])
def test_partitioned_nearest_equals_single_pass(
    network: tuple[RoadNetwork, Path], n_parts: int
) -> None:
    """Regions on threads + border repair give exactly the single multi-source pass."""
    net, path = network
    x, y = S.graph_coordinates(path)
    np.testing.assert_array_equal(x, net.x)
    np.testing.assert_array_equal(y, net.y)
    part = RP.strip_partition(x, n_parts)
    assert np.bincount(part).min() >= net.n_nodes // n_parts - 1
    rev = net.reverse()
    rng = np.random.default_rng(n_parts)
    for n_src, cutoff in ((1, math.inf), (12, math.inf), (12, 5.0), (60, math.inf)):
        src = rng.choice(net.n_nodes, size=n_src, replace=True)  # repeats allowed
        leg = rng.uniform(0.0, 2.0, size=n_src)
        ref = routing.multi_source_dijkstra(
            rev.indptr, rev.indices, rev.travel_time_min, src, leg, cutoff
        )
        dist, label, repaired = RP.partitioned_nearest(
            rev.indptr, rev.indices, rev.travel_time_min, src, part,
            initial_cost=leg, cutoff=cutoff,
        )  # fmt: skip
        _same((dist, label), ref)
        if n_src == 1 and cutoff == math.inf:
            assert repaired > 0  # the single source's region had to spill over the borders


def test_partitioned_nearest_bad_part(network: tuple[RoadNetwork, Path]) -> None:
    net, _ = network
    with pytest.raises(BadValueError, match="part must give a region number"):
        RP.partitioned_nearest(
            net.indptr, net.indices, net.travel_time_min, [0], np.zeros(3, dtype=np.int32)
        )
    with pytest.raises(ConfigError, match="n_parts must be >= 1"):
        RP.strip_partition(net.x, 0)


def test_distributed_partitioned_nearest_on_workers(
    network: tuple[RoadNetwork, Path], sources: np.ndarray, client: distributed.Client
) -> None:
    """Regions searched on the two workers, border repaired here: the single pass, exactly."""
    net, path = network
    rev = net.reverse()
    gps = sources[:25]
    leg = np.linspace(0.0, 1.5, gps.size)
    ref = routing.multi_source_dijkstra(rev.indptr, rev.indices, rev.travel_time_min, gps, leg)
    for n_parts in (None, 3):
        dist, label, repaired = D.distributed_partitioned_nearest(
            path, gps, client, n_parts=n_parts, initial_cost=leg
        )
        _same((dist, label), ref)
        assert repaired > 0
    fwd = routing.multi_source_dijkstra(
        net.indptr, net.indices, net.travel_time_min, gps, cutoff=4.0
    )
    local = D.distributed_partitioned_nearest(path, gps, None, reverse=False, cutoff=4.0)
    _same(local[:2], fwd)
