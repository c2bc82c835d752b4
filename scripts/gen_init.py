"""Regenerate the lazy tables of ``src/accessmap/__init__.py`` from PUBLIC below.

Run ``python scripts/gen_init.py`` after adding a name; ``tests/test_api.py`` checks that
every name resolves and that ``__all__`` and ``_LAZY`` agree; then run ``ruff check --fix``
and ``ruff format`` on the file.
"""

from __future__ import annotations

import re
from pathlib import Path

#: submodule -> names exported at the top level (errors are imported eagerly).
PUBLIC: dict[str, list[str]] = {
    "datadir": ["resolve_data_dir", "dataset_path", "dataset_files", "load_registry",
                "get_dataset", "Dataset"],
    "fetch": ["fetch", "plan_fetch", "download"],
    "loaders": ["load_communes", "load_commune_origins", "load_epci", "load_departements",
                "load_population_by_age", "load_priority_zones", "detect_road_format",
                "load_gp_supply", "load_emergency", "load_hospitals", "load_health_centres",
                "load_population_grid", "load_bpe", "load_bpe_geolocated", "load_finess",
                "load_commune_code_map", "map_commune_codes", "UnmatchedCodeWarning"],
    "loaders_check": ["check_data", "CheckReport"],
    "speeds": ["SpeedProfile", "get_profile", "parse_maxspeed", "PROFILES"],
    "network": ["RoadNetwork", "load_network"],
    "routing": ["multi_source_dijkstra", "bounded_dijkstra", "reverse_csr"],
    "traveltime": ["NetworkEngine", "CrowFlyEngine", "TravelTimeEngine", "TravelTimeWarning",
                   "nearest_time", "travel_time_matrix", "isochrones", "population_reached"],
    "measures": ["coverage", "nearest_flags", "weighted_mean_time", "summarise_access",
                 "two_sfca", "e2sfca", "three_sfca", "gravity_access", "apl", "apl_class",
                 "apl_shares", "standardised_demand", "aggregate_age_weights", "gini", "palma",
                 "share_under", "APL_BANDS_DREES", "E2SFCA_BANDS", "CONSULTATIONS_PER_GP"],
    "scoring": ["Criterion", "DEFAULT_CRITERIA", "score_zones", "agreement", "Agreement"],
    "siting": ["coverage_sets", "CoverSets", "SitingModel", "greedy_mclp", "exact_mclp",
               "what_if", "MCLPResult"],
    "export": ["to_geopackage", "write_tables", "to_csv_tables", "read_geopackage",
               "read_run_metadata", "LAYER_DESCRIPTIONS", "ExportError"],
    "maps": ["plot_map", "save_map_png", "interactive_map"],
    "report": ["build_report", "write_report"],
    "national": ["resolve_region", "region_name", "REGIONS", "load_france_communes",
                 "load_france_gp_supply", "load_national_area"],
    "distributed": ["dask_client", "distributed_bounded_table", "distributed_coverage_sets",
                    "distributed_nearest", "distributed_partitioned_nearest",
                    "partitioned_nearest", "bounded_table_to_parquet", "iter_bounded_blocks",
                    "preload_graph", "run_regions"],
    "area": ["Area", "load_area"],
    "pipeline": ["ScoreParams", "ScoreResult", "run_score"],
}  # fmt: skip


def main() -> None:
    path = Path(__file__).resolve().parents[1] / "src" / "accessmap" / "__init__.py"
    text = path.read_text()
    errors = re.search(r"from accessmap\.errors import \((.*?)\)", text, re.S)
    assert errors is not None
    error_names = [n.strip() for n in errors.group(1).split(",") if n.strip()]
    lazy = "".join(f'    "{n}": "{m}",\n' for m, names in PUBLIC.items() for n in names)
    checking = "".join(
        f"    from accessmap.{m} import (\n"
        + "".join(f"        {n},\n" for n in sorted(names))
        + "    )\n"
        for m, names in sorted(PUBLIC.items())
    )
    every = sorted({*error_names, "__version__", *(n for v in PUBLIC.values() for n in v)})
    all_block = "__all__ = [\n" + "".join(f'    "{n}",\n' for n in every) + "]\n"
    text = re.sub(
        r"(_LAZY: dict\[str, str\] = \{\n).*?(\}\n)",
        lambda m: m.group(1) + lazy + m.group(2),
        text,
        flags=re.S,
    )
    text = re.sub(
        r"(if TYPE_CHECKING:  # pragma: no cover\n).*?(\n\ndef __getattr__)",
        lambda m: m.group(1) + checking.rstrip("\n") + "\n" + m.group(2),
        text,
        flags=re.S,
    )
    text = re.sub(r"__all__ = \[\n.*?\]\n", lambda m: all_block, text, flags=re.S)
    path.write_text(text)


if __name__ == "__main__":
    main()
