"""Shortest paths on CSR arrays (numba kernels; no geodata, no files).

* :mod:`~accessmap.routing.kernels`: multi-source Dijkstra (nearest facility; binary heap and
  bucket queue, one implementation each), bounded Dijkstra per source (travel-time tables
  within a cutoff), CSR reversal;
* :mod:`~accessmap.routing.partitioned`: the nearest pass split by strips of the graph with
  an exact repair pass (bounded memory per task, for :mod:`accessmap.parallel`).

The CSR layout is that of :class:`accessmap.network.graph.RoadNetwork` and of
``scipy.sparse.csr_array``; results are checked against networkx and scipy in the tests.

May import: :mod:`accessmap.errors` only.
"""
