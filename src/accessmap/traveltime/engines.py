"""The engine registry, and the free functions ``accessmap score`` and ``accessmap times`` share.

:data:`ENGINES` maps an engine name to its factory; :func:`make_engine` builds the engine of
a run from the CLI's options (``--engine auto|crow-fly|road-network``, ``--roads``,
``--profile``), so that ``score`` and ``times`` pick and mix engines the same way. A new
engine is one class implementing :class:`~accessmap.traveltime.base.Engine` and one
:func:`register_engine` call.

The default road network (no ``--roads``) is the Travel Mapping network of the data
directory (:data:`DEFAULT_ROAD_DATASET`), clipped to the study area plus 30 km.

May import: :mod:`accessmap.errors`, :mod:`accessmap.data.registry` (to find the default road
network), :mod:`accessmap.network`, :mod:`accessmap.traveltime`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from accessmap.data.registry import dataset_path
from accessmap.errors import ConfigError, DataNotFoundError, UnknownProfileError
from accessmap.network.build import load_network, load_travelmapping
from accessmap.network.travelmapping import DEFAULT_MARGIN_M, is_travelmapping_path
from accessmap.traveltime.base import Engine, _warn, reach_population
from accessmap.traveltime.crowfly import CrowFlyEngine
from accessmap.traveltime.mixed import MixedEngine
from accessmap.traveltime.network import NetworkEngine

__all__ = [
    "DEFAULT_ROAD_DATASET",
    "ENGINES",
    "NO_ROADS",
    "TravelTimeEngine",
    "default_roads",
    "is_no_roads",
    "isochrones",
    "make_engine",
    "nearest_time",
    "population_reached",
    "register_engine",
    "travel_time_matrix",
]

#: Any engine (kept as a name for annotations; the protocol is :class:`Engine`).
TravelTimeEngine = Engine

#: Engine factories by name: ``factory(roads=..., profile=..., client=..., clip=...,
#: margin_m=..., data_dir=..., network_options=..., crow_fly_options=...) -> Engine`` (a
#: factory may ignore any of them: accept ``**kwargs``).
ENGINES: dict[str, Callable[..., Engine]] = {}


def register_engine(name: str, factory: Callable[..., Engine]) -> None:
    """Register an engine factory under ``name`` (used by ``--engine NAME``)."""
    ENGINES[name] = factory


#: Registry dataset routed on by default (``accessmap score`` without ``--roads``): the Travel
#: Mapping network of metropolitan France (``SOURCES-roads.md`` section 7 of the data
#: directory), clipped to the study area plus :data:`DEFAULT_MARGIN_M`.
DEFAULT_ROAD_DATASET = "roads_france_travelmapping"

#: ``--roads none``: no road network, crow-fly everywhere (the pre-0.5 default run).
NO_ROADS = "none"


def is_no_roads(roads: Path | str | None) -> bool:
    """True for ``--roads none`` (any case)."""
    return roads is not None and str(roads).strip().lower() == NO_ROADS


def default_roads(data_dir: Path | str | None = None) -> Path:
    """Path of the default road network (:data:`DEFAULT_ROAD_DATASET`) in the data directory.

    Raises
    ------
    DataNotFoundError
        The archive is not in the data directory (the message gives the fetch command).
    """
    return dataset_path(DEFAULT_ROAD_DATASET, data_dir)


def _road(
    roads: Path | str | None,
    profile: str,
    client: Any,
    *,
    clip: Any = None,
    margin_m: float = DEFAULT_MARGIN_M,
    data_dir: Path | str | None = None,
    network_options: dict[str, Any] | None = None,
) -> NetworkEngine:
    """The road engine on ``roads`` (default: the Travel Mapping network of the data dir)."""
    if is_no_roads(roads):
        raise ConfigError(
            "engine 'road-network' needs a road network but --roads is 'none': drop --roads "
            "(default Travel Mapping network) or pass a road file, or use --engine crow-fly"
        )
    path = default_roads(data_dir) if roads is None else Path(roads)
    if is_travelmapping_path(path) and path.exists():
        # clipped to the study area + margin (GPs across the border stay reachable); the
        # Travel Mapping speed model replaces the OSM speed profile
        network = load_travelmapping(path, clip=clip, margin_m=margin_m)
    else:
        network = load_network(path, profile=profile)
    return NetworkEngine(network, client=client, **(network_options or {}))


def _crow_fly(*, crow_fly_options: dict[str, Any] | None = None, **_: Any) -> Engine:
    return CrowFlyEngine(**(crow_fly_options or {}))


def _road_only(*, roads: Path | str | None = None, profile: str = "osrm-car",
               client: Any = None, crow_fly_options: dict[str, Any] | None = None,
               **kw: Any) -> Engine:  # fmt: skip
    return MixedEngine(_road(roads, profile, client, **kw), None)


def _auto(*, roads: Path | str | None = None, profile: str = "osrm-car",
          client: Any = None, crow_fly_options: dict[str, Any] | None = None,
          **kw: Any) -> Engine:  # fmt: skip
    crow = CrowFlyEngine(**(crow_fly_options or {}))
    if is_no_roads(roads):
        return MixedEngine(None, crow)
    if roads is None:
        try:
            default_roads(kw.get("data_dir"))
        except DataNotFoundError as exc:
            _warn(
                f"no road network: {exc} Timing every trip crow-fly (straight line x "
                f"{crow.detour_factor:g} at {crow.speed_kmh:g} km/h); pass --roads FILE or "
                "--engine crow-fly to choose explicitly"
            )
            return MixedEngine(None, crow)
    return MixedEngine(_road(roads, profile, client, **kw), crow)


register_engine("auto", _auto)
register_engine("crow-fly", _crow_fly)
register_engine("road-network", _road_only)


def make_engine(
    name: str = "auto",
    *,
    roads: Path | str | None = None,
    profile: str = "osrm-car",
    client: Any = None,
    clip: Any = None,
    margin_m: float = DEFAULT_MARGIN_M,
    data_dir: Path | str | None = None,
    network_options: dict[str, Any] | None = None,
    crow_fly_options: dict[str, Any] | None = None,
) -> MixedEngine:
    """The engine of a run (``accessmap score``, ``accessmap times``): a :class:`MixedEngine`.

    ``"auto"`` (default): the road network where it covers (within its snapping distance),
    crow-fly elsewhere. The road network is ``roads`` or, when ``roads`` is None, the Travel
    Mapping network of metropolitan France in the data directory
    (:data:`DEFAULT_ROAD_DATASET`; if it is missing a :class:`TravelTimeWarning` says so and
    everything is timed crow-fly). A Travel Mapping network (default or ``--roads``) is
    clipped to ``clip`` plus ``margin_m`` (30 km by default, so that trips across the study
    area's border are routed and neighbouring GPs are reachable) and cached
    (:func:`accessmap.network.build.load_travelmapping`); other road files go through
    :func:`accessmap.network.build.load_network`. ``roads="none"`` means no road network.

    ``"crow-fly"``: crow-fly everywhere (``roads`` ignored). ``"road-network"``: only the
    points the road network covers are routed, the others are NaN. Any other registered
    name: that engine alone.

    Parameters
    ----------
    name : str
        Engine name (:data:`ENGINES`).
    roads : path or str, optional
        Road file or folder (OSM, node/edge tables, Travel Mapping, GraphML) or ``"none"``.
    profile : str
        OSM speed profile (ignored for Travel Mapping, which has its own speed model).
    client : dask.distributed.Client, optional
        Where the road engine's bounded searches run.
    clip : shapely geometry or GeoDataFrame (EPSG:2154), optional
        Study area for clipping a Travel Mapping network; ``None`` keeps all of France.
    margin_m : float
        Buffer around ``clip`` (default 30 km, :data:`DEFAULT_MARGIN_M`).
    data_dir : path, optional
        Data directory holding the default network.
    network_options, crow_fly_options : dict, optional
        Keyword arguments of :class:`NetworkEngine` (``max_snap_m``, ``access_speed_kmh``,
        ...) and :class:`CrowFlyEngine` (``speed_kmh``, ``detour_factor``).

    Raises
    ------
    ConfigError
        Unknown engine name, or ``"road-network"`` with ``roads="none"``.
    DataNotFoundError
        ``"road-network"`` without ``roads`` and no default network in the data directory,
        or a road file that does not exist.
    """
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}")
    eng = ENGINES[name](roads=roads, profile=profile, client=client, clip=clip,
                        margin_m=margin_m, data_dir=data_dir, network_options=network_options,
                        crow_fly_options=crow_fly_options)  # fmt: skip
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
