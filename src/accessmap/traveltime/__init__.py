"""Travel times: engines that time trips between point layers, and their registry.

* :mod:`~accessmap.traveltime.base`: the :class:`Engine` protocol, input checks, labels;
* :mod:`~accessmap.traveltime.crowfly`: :class:`CrowFlyEngine` (straight line x detour);
* :mod:`~accessmap.traveltime.network`: :class:`NetworkEngine` (road network, numba kernels);
* :mod:`~accessmap.traveltime.mixed`: :class:`MixedEngine` (primary where it covers,
  fallback elsewhere) and the same-commune rule;
* :mod:`~accessmap.traveltime.polygons`: isochrone polygons from reached network segments;
* :mod:`~accessmap.traveltime.engines`: the :data:`ENGINES` registry, :func:`make_engine`,
  and the free functions :func:`nearest_time`, :func:`travel_time_matrix`,
  :func:`isochrones`, :func:`population_reached`.

May import: :mod:`accessmap.config`, :mod:`accessmap.errors`, :mod:`accessmap.network`,
:mod:`accessmap.routing`, :mod:`accessmap.parallel`. Never loaders, measures or outputs.
"""

from accessmap.traveltime.base import Engine, TravelTimeWarning
from accessmap.traveltime.crowfly import CrowFlyEngine
from accessmap.traveltime.engines import (
    ENGINES,
    isochrones,
    make_engine,
    nearest_time,
    population_reached,
    register_engine,
    travel_time_matrix,
)
from accessmap.traveltime.mixed import MixedEngine
from accessmap.traveltime.network import NetworkEngine

__all__ = [
    "ENGINES",
    "CrowFlyEngine",
    "Engine",
    "MixedEngine",
    "NetworkEngine",
    "TravelTimeWarning",
    "isochrones",
    "make_engine",
    "nearest_time",
    "population_reached",
    "register_engine",
    "travel_time_matrix",
]
