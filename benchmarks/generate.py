"""A deterministic generator of road-like directed graphs for the routing benchmark.

No regional road file is available offline (``../shared/data/SOURCES-roads.md``), so the
regional-scale benchmark runs on a synthetic graph built to look like a drive network on the
measures that matter for Dijkstra: node degree, edge lengths, speed mix, one-way share.

Construction (``generate_road_graph(n_nodes, seed=...)``):

1. **Nodes**: a ``side x side`` lattice (``side = ceil(sqrt(n_nodes))``, then trimmed to
   ``n_nodes``) with ``spacing_m`` = 150 m between rows, every node jittered uniformly by up
   to +-35 % of the spacing. 1.5 M nodes cover about 184 x 184 km, roughly a large French
   région's drivable area at intersection density of a mixed urban/rural network.
2. **Connectivity**: a random spanning tree of the lattice (minimum spanning tree on random
   weights, scipy), so the graph is connected, plus every lattice edge along the arterial
   lines (below), plus random extra lattice edges until the mean number of streets per
   node (undirected degree) reaches ``mean_degree`` = 2.8. OSM drive networks of French and
   other European cities have an average street count per node of about 2.6-3.2
   (Boeing 2019, "Urban spatial order: street network orientation, configuration, and
   entropy", *Applied Network Science* 4:67, table of street-network indicators); the
   value here is an assumption within that range.
3. **Speed mix** by road class, assigned by lattice line: every 100th row/column is a
   motorway-like corridor (110-130 km/h), every 25th a primary road (80 km/h), every 8th a
   secondary road (65 km/h), every other edge residential/unclassified (30-50 km/h). This
   gives 78 % residential, 17 % secondary, 3 % primary and 1.4 % motorway edges at 1.5 M
   nodes, a mix
   close to the OSM drive networks of Toulouse or Andorra (``SOURCES-roads.md``: residential
   and service roads are the majority, a few percent primary and motorway). Speeds follow the
   French legal limits of ``methods.md``; they are assumptions, not measurements.
4. **Direction**: every edge is two-way except 8 % of the extra (non-tree, non-arterial)
   residential edges, made one-way in a random direction, so the graph stays strongly
   connected (the spanning tree and arterials are two-way).

Edge travel time (minutes) = Euclidean length / speed. Same ``n_nodes`` and ``seed`` give the
same graph, byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import minimum_spanning_tree

__all__ = ["GeneratedGraph", "generate_road_graph"]


@dataclass
class GeneratedGraph:
    """Directed edge list plus node coordinates (EPSG:2154-like metres)."""

    u: npt.NDArray[np.int64]
    v: npt.NDArray[np.int64]
    travel_time_min: npt.NDArray[np.float64]
    length_m: npt.NDArray[np.float64]
    speed_kmh: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]

    @property
    def n_nodes(self) -> int:
        return int(self.x.shape[0])

    def csr(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float64]]:
        """Forward CSR arrays ``(indptr, indices, travel_time_min)``."""
        n = self.n_nodes
        order = np.lexsort((self.v, self.u))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.u, minlength=n), out=indptr[1:])
        return indptr, self.v[order].astype(np.int32), self.travel_time_min[order]


def generate_road_graph(
    n_nodes: int,
    *,
    seed: int = 42,
    spacing_m: float = 150.0,
    mean_degree: float = 2.8,
    oneway_share: float = 0.08,
) -> GeneratedGraph:
    """Build a road-like directed graph of ``n_nodes`` nodes (see the module docstring)."""
    if n_nodes < 4:
        raise ValueError("n_nodes must be >= 4")
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n_nodes))
    idx = np.arange(n_nodes, dtype=np.int64)
    row, col = idx // side, idx % side
    x = 500_000.0 + col * spacing_m + rng.uniform(-0.35, 0.35, n_nodes) * spacing_m
    y = 6_200_000.0 + row * spacing_m + rng.uniform(-0.35, 0.35, n_nodes) * spacing_m

    # lattice edges (undirected): horizontal then vertical
    h = idx[(col + 1 < side) & (idx + 1 < n_nodes)]
    vv = idx[idx + side < n_nodes]
    a = np.concatenate([h, vv])
    b = np.concatenate([h + 1, vv + side])
    # road class by lattice line: horizontal edges lie on row `row[a]`, vertical on col `col[a]`
    line = np.concatenate([row[h], col[vv]])
    speed = rng.choice([30.0, 50.0], size=a.size, p=[0.6, 0.4])  # residential / unclassified
    speed[line % 8 == 0] = 65.0
    speed[line % 25 == 0] = 80.0
    motorway = line % 100 == 50
    speed[motorway] = rng.choice([110.0, 130.0], size=int(motorway.sum()))
    arterial = line % 8 == 0
    arterial |= motorway

    # random spanning tree = MST on random weights
    g = sp.coo_array((rng.random(a.size) + 1e-9, (a, b)), shape=(n_nodes, n_nodes)).tocsr()
    mst = minimum_spanning_tree(g).tocoo()
    tu, tv = np.minimum(mst.row, mst.col), np.maximum(mst.row, mst.col)
    key = a * n_nodes + b
    in_tree = np.isin(key, tu.astype(np.int64) * n_nodes + tv)
    keep = in_tree | arterial
    target_edges = round(mean_degree * n_nodes / 2)
    extra_pool = np.flatnonzero(~keep)
    n_extra = max(0, min(extra_pool.size, target_edges - int(keep.sum())))
    extra = rng.choice(extra_pool, size=n_extra, replace=False)
    keep[extra] = True
    oneway = np.zeros(a.size, dtype=bool)
    oneway[extra[rng.random(n_extra) < oneway_share]] = True

    a, b, speed, oneway = a[keep], b[keep], speed[keep], oneway[keep]
    flip = oneway & (rng.random(a.size) < 0.5)
    a, b = np.where(flip, b, a), np.where(flip, a, b)
    length = np.hypot(x[a] - x[b], y[a] - y[b])
    tt = length / (speed * 1000.0 / 60.0)
    two = ~oneway
    u = np.concatenate([a, b[two]])
    v = np.concatenate([b, a[two]])
    return GeneratedGraph(
        u=u,
        v=v,
        travel_time_min=np.concatenate([tt, tt[two]]),
        length_m=np.concatenate([length, length[two]]),
        speed_kmh=np.concatenate([speed, speed[two]]),
        x=x,
        y=y,
    )
