"""Road networks: build, compile, cache and store directed road graphs.

* :mod:`~accessmap.network.graph`: :class:`RoadNetwork` (CSR arrays in EPSG:2154), the
  cached entry point :func:`load_network` and the registry of road-file builders;
* :mod:`~accessmap.network.speeds`: speed profiles (OSRM car, French legal limits);
* builders, one module per road-file format, each registering itself in
  :data:`accessmap.network.graph.BUILDERS`: :mod:`~accessmap.network.osm` (OSM PBF/XML with
  pyosmium), :mod:`~accessmap.network.tables` (node/edge CSV tables),
  :mod:`~accessmap.network.travelmapping` (Travel Mapping waypoint files, with the speed
  model of :mod:`~accessmap.network.speedmodel`), :mod:`~accessmap.network.osmnx_graph`
  (an osmnx graph or GraphML);
* :mod:`~accessmap.network.store`: compiled graphs memory-mapped by worker processes.

May import: :mod:`accessmap.config`, :mod:`accessmap.errors`, :mod:`accessmap.routing`,
:mod:`accessmap.data`. Never the loaders, travel-time engines, measures or outputs.
"""

from accessmap.network.build import load_network, load_travelmapping  # imports every builder
from accessmap.network.graph import BUILDERS, RoadNetwork, default_cache_dir

__all__ = ["BUILDERS", "RoadNetwork", "default_cache_dir", "load_network", "load_travelmapping"]
