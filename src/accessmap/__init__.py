"""accessmap: measure medical deserts from open data.

The headline API is small: ``import accessmap as am`` then ``am.load_area()``,
``am.run_score(am.ScoreParams())``, ``am.RoadNetwork``, ``am.MixedEngine``, ``am.apl``...
Everything else is reached through the stage subpackages, named after the pipeline
(``docs/ARCHITECTURE.md``): :mod:`accessmap.data`, :mod:`accessmap.loaders`,
:mod:`accessmap.network`, :mod:`accessmap.routing`, :mod:`accessmap.traveltime`,
:mod:`accessmap.measures`, :mod:`accessmap.scoring`, :mod:`accessmap.siting`,
:mod:`accessmap.pipeline`, :mod:`accessmap.outputs`. Names are imported on first use
(PEP 562), so ``import accessmap`` and ``accessmap --version`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from accessmap.errors import AccessmapError

__version__ = "0.1.0"

#: Headline name -> module that defines it.
_LAZY: dict[str, str] = {
    "resolve_data_dir": "accessmap.data.registry",
    "Area": "accessmap.area",
    "load_area": "accessmap.area",
    "SUPPLY_KINDS": "accessmap.supply",
    "RoadNetwork": "accessmap.network.graph",
    "load_network": "accessmap.network.build",
    "Engine": "accessmap.traveltime.base",
    "CrowFlyEngine": "accessmap.traveltime.crowfly",
    "NetworkEngine": "accessmap.traveltime.network",
    "MixedEngine": "accessmap.traveltime.mixed",
    "make_engine": "accessmap.traveltime.engines",
    "nearest_time": "accessmap.traveltime.engines",
    "travel_time_matrix": "accessmap.traveltime.engines",
    "isochrones": "accessmap.traveltime.engines",
    "coverage": "accessmap.measures",
    "e2sfca": "accessmap.measures",
    "apl": "accessmap.measures",
    "gini": "accessmap.measures",
    "Criterion": "accessmap.scoring",
    "score_zones": "accessmap.scoring",
    "greedy_mclp": "accessmap.siting",
    "exact_mclp": "accessmap.siting",
    "ScoreParams": "accessmap.pipeline",
    "ScoreResult": "accessmap.pipeline",
    "run_score": "accessmap.pipeline",
    "to_geopackage": "accessmap.outputs.geopackage",
    "read_geopackage": "accessmap.outputs.geopackage",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from accessmap.area import Area, load_area
    from accessmap.data.registry import resolve_data_dir
    from accessmap.measures import apl, coverage, e2sfca, gini
    from accessmap.network.build import load_network
    from accessmap.network.graph import RoadNetwork
    from accessmap.outputs.geopackage import read_geopackage, to_geopackage
    from accessmap.pipeline import ScoreParams, ScoreResult, run_score
    from accessmap.scoring import Criterion, score_zones
    from accessmap.siting import exact_mclp, greedy_mclp
    from accessmap.supply import SUPPLY_KINDS
    from accessmap.traveltime.base import Engine
    from accessmap.traveltime.crowfly import CrowFlyEngine
    from accessmap.traveltime.engines import (
        isochrones,
        make_engine,
        nearest_time,
        travel_time_matrix,
    )
    from accessmap.traveltime.mixed import MixedEngine
    from accessmap.traveltime.network import NetworkEngine


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'accessmap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "SUPPLY_KINDS",
    "AccessmapError",
    "Area",
    "Criterion",
    "CrowFlyEngine",
    "Engine",
    "MixedEngine",
    "NetworkEngine",
    "RoadNetwork",
    "ScoreParams",
    "ScoreResult",
    "__version__",
    "apl",
    "coverage",
    "e2sfca",
    "exact_mclp",
    "gini",
    "greedy_mclp",
    "isochrones",
    "load_area",
    "load_network",
    "make_engine",
    "nearest_time",
    "read_geopackage",
    "resolve_data_dir",
    "run_score",
    "score_zones",
    "to_geopackage",
    "travel_time_matrix",
]
