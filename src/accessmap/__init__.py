"""accessmap: measure medical deserts from open data.

The public API is flat: ``import accessmap as am`` then ``am.load_communes()``,
``am.RoadNetwork``, ``am.e2sfca``, ``am.run_score``... Submodules are imported on first use
(PEP 562), so ``accessmap --version`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from accessmap.errors import (
    AccessmapError,
    BadValueError,
    ConfigError,
    CRSError,
    CRSMismatchError,
    DataNotFoundError,
    DuplicateIdError,
    EmptyLayerError,
    FetchError,
    InvalidGeometryError,
    MissingColumnError,
    MissingCRSError,
    NetworkBuildError,
    OutputExistsError,
    SnapDistanceError,
    UnknownCodeError,
    UnknownProfileError,
    UnreadableFileError,
)

__version__ = "0.1.0"

#: Public name -> submodule that defines it.
_LAZY: dict[str, str] = {
    "resolve_data_dir": "datadir",
    "dataset_path": "datadir",
    "load_registry": "datadir",
    "fetch": "fetch",
    "load_communes": "loaders",
    "load_commune_origins": "loaders",
    "load_epci": "loaders",
    "load_departements": "loaders",
    "load_population_by_age": "loaders",
    "load_priority_zones": "loaders",
    "detect_road_format": "loaders",
    "load_gp_supply": "loaders",
    "load_emergency": "loaders",
    "load_hospitals": "loaders",
    "load_health_centres": "loaders",
    "load_population_grid": "loaders",
    "load_bpe": "loaders",
    "load_commune_code_map": "loaders",
    "map_commune_codes": "loaders",
    "check_data": "loaders_check",
    "CheckReport": "loaders_check",
    "SpeedProfile": "speeds",
    "get_profile": "speeds",
    "parse_maxspeed": "speeds",
    "RoadNetwork": "network",
    "load_network": "network",
    "NetworkEngine": "traveltime",
    "CrowFlyEngine": "traveltime",
    "nearest_time": "traveltime",
    "travel_time_matrix": "traveltime",
    "isochrones": "traveltime",
    "population_reached": "traveltime",
    "multi_source_dijkstra": "routing",
    "bounded_dijkstra": "routing",
    "coverage": "measures",
    "nearest_flags": "measures",
    "weighted_mean_time": "measures",
    "summarise_access": "measures",
    "two_sfca": "measures",
    "e2sfca": "measures",
    "three_sfca": "measures",
    "gravity_access": "measures",
    "apl": "measures",
    "apl_class": "measures",
    "standardised_demand": "measures",
    "gini": "measures",
    "palma": "measures",
    "share_under": "measures",
    "Criterion": "scoring",
    "score_zones": "scoring",
    "agreement": "scoring",
    "Agreement": "scoring",
    "coverage_sets": "siting",
    "SitingModel": "siting",
    "greedy_mclp": "siting",
    "exact_mclp": "siting",
    "what_if": "siting",
    "MCLPResult": "siting",
    "to_geopackage": "export",
    "write_tables": "export",
    "read_geopackage": "export",
    "read_run_metadata": "export",
    "plot_map": "maps",
    "save_map_png": "maps",
    "interactive_map": "maps",
    "build_report": "report",
    "write_report": "report",
    "resolve_region": "national",
    "load_france_communes": "national",
    "load_national_area": "national",
    "Area": "area",
    "load_area": "area",
    "ScoreParams": "pipeline",
    "ScoreResult": "pipeline",
    "run_score": "pipeline",
}

if TYPE_CHECKING:  # pragma: no cover
    from accessmap.area import Area, load_area
    from accessmap.datadir import dataset_path, load_registry, resolve_data_dir
    from accessmap.export import read_geopackage, read_run_metadata, to_geopackage, write_tables
    from accessmap.fetch import fetch
    from accessmap.loaders import (
        detect_road_format,
        load_bpe,
        load_commune_code_map,
        load_commune_origins,
        load_communes,
        load_departements,
        load_emergency,
        load_epci,
        load_gp_supply,
        load_health_centres,
        load_hospitals,
        load_population_by_age,
        load_population_grid,
        load_priority_zones,
        map_commune_codes,
    )
    from accessmap.loaders_check import CheckReport, check_data
    from accessmap.maps import interactive_map, plot_map, save_map_png
    from accessmap.measures import (
        apl,
        apl_class,
        coverage,
        e2sfca,
        gini,
        gravity_access,
        nearest_flags,
        palma,
        share_under,
        standardised_demand,
        summarise_access,
        three_sfca,
        two_sfca,
        weighted_mean_time,
    )
    from accessmap.national import load_france_communes, load_national_area, resolve_region
    from accessmap.network import RoadNetwork, load_network
    from accessmap.pipeline import ScoreParams, ScoreResult, run_score
    from accessmap.report import build_report, write_report
    from accessmap.routing import bounded_dijkstra, multi_source_dijkstra
    from accessmap.scoring import Agreement, Criterion, agreement, score_zones
    from accessmap.siting import (
        MCLPResult,
        SitingModel,
        coverage_sets,
        exact_mclp,
        greedy_mclp,
        what_if,
    )
    from accessmap.speeds import SpeedProfile, get_profile, parse_maxspeed
    from accessmap.traveltime import (
        CrowFlyEngine,
        NetworkEngine,
        isochrones,
        nearest_time,
        population_reached,
        travel_time_matrix,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'accessmap' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"accessmap.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AccessmapError",
    "Agreement",
    "Area",
    "BadValueError",
    "CRSError",
    "CRSMismatchError",
    "CheckReport",
    "ConfigError",
    "Criterion",
    "CrowFlyEngine",
    "DataNotFoundError",
    "DuplicateIdError",
    "EmptyLayerError",
    "FetchError",
    "InvalidGeometryError",
    "MCLPResult",
    "MissingCRSError",
    "MissingColumnError",
    "NetworkBuildError",
    "NetworkEngine",
    "OutputExistsError",
    "RoadNetwork",
    "ScoreParams",
    "ScoreResult",
    "SitingModel",
    "SnapDistanceError",
    "SpeedProfile",
    "UnknownCodeError",
    "UnknownProfileError",
    "UnreadableFileError",
    "__version__",
    "agreement",
    "apl",
    "apl_class",
    "bounded_dijkstra",
    "build_report",
    "check_data",
    "coverage",
    "coverage_sets",
    "dataset_path",
    "detect_road_format",
    "e2sfca",
    "exact_mclp",
    "fetch",
    "get_profile",
    "gini",
    "gravity_access",
    "greedy_mclp",
    "interactive_map",
    "isochrones",
    "load_area",
    "load_bpe",
    "load_commune_code_map",
    "load_commune_origins",
    "load_communes",
    "load_departements",
    "load_emergency",
    "load_epci",
    "load_france_communes",
    "load_gp_supply",
    "load_health_centres",
    "load_hospitals",
    "load_national_area",
    "load_network",
    "load_population_by_age",
    "load_population_grid",
    "load_priority_zones",
    "load_registry",
    "map_commune_codes",
    "multi_source_dijkstra",
    "nearest_flags",
    "nearest_time",
    "palma",
    "parse_maxspeed",
    "plot_map",
    "population_reached",
    "read_geopackage",
    "read_run_metadata",
    "resolve_data_dir",
    "resolve_region",
    "run_score",
    "save_map_png",
    "score_zones",
    "share_under",
    "standardised_demand",
    "summarise_access",
    "three_sfca",
    "to_geopackage",
    "travel_time_matrix",
    "two_sfca",
    "weighted_mean_time",
    "what_if",
    "write_report",
    "write_tables",
]
