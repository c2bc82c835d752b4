"""The engine registry, and the free functions ``accessmap score`` and ``accessmap times`` share.

:data:`ENGINES` maps an engine name to its factory; :func:`make_engine` builds the engine of
a run from the CLI's options (``--engine auto|crow-fly|road-network``, ``--roads``,
``--profile``), so that ``score`` and ``times`` pick and mix engines the same way. A new
engine is one class implementing :class:`~accessmap.traveltime.base.Engine` and one
:func:`register_engine` call.

May import: :mod:`accessmap.errors`, :mod:`accessmap.network`, :mod:`accessmap.traveltime`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from accessmap.errors import ConfigError, UnknownProfileError
from accessmap.network.build import load_network
from accessmap.traveltime.base import Engine, reach_population
from accessmap.traveltime.crowfly import CrowFlyEngine
from accessmap.traveltime.mixed import MixedEngine
from accessmap.traveltime.network import NetworkEngine

__all__ = [
    "ENGINES",
    "TravelTimeEngine",
    "isochrones",
    "make_engine",
    "nearest_time",
    "population_reached",
    "register_engine",
    "travel_time_matrix",
]

#: Any engine (kept as a name for annotations; the protocol is :class:`Engine`).
TravelTimeEngine = Engine

#: Engine factories by name: ``factory(roads=..., profile=..., client=...) -> Engine``.
ENGINES: dict[str, Callable[..., Engine]] = {}


def register_engine(name: str, factory: Callable[..., Engine]) -> None:
    """Register an engine factory under ``name`` (used by ``--engine NAME``)."""
    ENGINES[name] = factory


def _road(roads: Path | str | None, profile: str, client: Any) -> NetworkEngine:
    if roads is None:
        raise ConfigError("engine 'road-network' needs a road file: pass --roads FILE")
    network = load_network(Path(roads), profile=profile)
    return NetworkEngine(network, client=client)


def _crow_fly(**_: Any) -> Engine:
    return CrowFlyEngine()


def _road_only(*, roads: Path | str | None = None, profile: str = "osrm-car",
               client: Any = None, **_: Any) -> Engine:  # fmt: skip
    return MixedEngine(_road(roads, profile, client), None)


def _auto(*, roads: Path | str | None = None, profile: str = "osrm-car",
          client: Any = None, **_: Any) -> Engine:  # fmt: skip
    primary = _road(roads, profile, client) if roads is not None else None
    return MixedEngine(primary, CrowFlyEngine())


register_engine("auto", _auto)
register_engine("crow-fly", _crow_fly)
register_engine("road-network", _road_only)


def make_engine(
    name: str = "auto",
    *,
    roads: Path | str | None = None,
    profile: str = "osrm-car",
    client: Any = None,
) -> MixedEngine:
    """The engine of a run: a :class:`MixedEngine` whatever the name.

    ``"auto"``: road network where ``roads`` covers, crow-fly elsewhere; ``"crow-fly"``:
    crow-fly everywhere (``roads`` ignored); ``"road-network"``: only the points the road
    file covers are routed, the others are NaN; any other registered name: that engine alone.

    Raises
    ------
    ConfigError
        Unknown engine name, or ``"road-network"`` without ``roads``.
    """
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}")
    eng = ENGINES[name](roads=roads, profile=profile, client=client)
    if isinstance(eng, MixedEngine):
        return eng
    return MixedEngine(None, eng)


def _engine(engine: Any) -> Engine:
    if engine is None:
        return CrowFlyEngine()
    if isinstance(engine, str):
        if engine in ENGINES and engine not in ("auto", "road-network"):
            return ENGINES[engine]()
        raise UnknownProfileError(
            f"unknown engine {engine!r}; pass a NetworkEngine(network), a CrowFlyEngine() "
            "or 'crow-fly'"
        )
    if all(hasattr(engine, a) for a in ("name", "nearest", "matrix", "isochrones")):
        return engine  # type: ignore[no-any-return]
    raise UnknownProfileError(
        f"unknown engine {engine!r}; pass a NetworkEngine(network), a CrowFlyEngine() or 'crow-fly'"
    )


def nearest_time(
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    engine: Engine | str | None = None,
) -> pd.DataFrame:
    """Nearest-facility time per origin with ``engine`` (default: a crow-fly engine)."""
    return _engine(engine).nearest(origins, facilities)


def travel_time_matrix(
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    cutoff_min: float,
    engine: Engine | str | None = None,
) -> pd.DataFrame:
    """Long ``from_id, to_id, travel_time_min`` table within ``cutoff_min``."""
    return _engine(engine).matrix(origins, facilities, cutoff_min=cutoff_min)


def isochrones(
    facilities: gpd.GeoDataFrame,
    *,
    thresholds_min: Sequence[float] | float,
    engine: Engine | str | None = None,
    dissolve: bool = False,
) -> gpd.GeoDataFrame:
    """Isochrone polygons per facility and threshold (one per threshold with ``dissolve``)."""
    return _engine(engine).isochrones(facilities, thresholds_min=thresholds_min, dissolve=dissolve)




def population_reached(
    facilities: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    thresholds_min: Sequence[float] | float,
    pop_col: str = "pop",
    engine: Engine | str | None = None,
) -> pd.DataFrame:
    """Population at points from which each facility is reachable within each threshold.

    See :func:`accessmap.traveltime.base.reach_population`; ``engine`` defaults to crow-fly.
    """
    return reach_population(
        _engine(engine), facilities, points, thresholds_min=thresholds_min, pop_col=pop_col
    )
