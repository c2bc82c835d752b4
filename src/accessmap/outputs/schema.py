"""The catalogue of what ``accessmap score`` writes: every layer and table, every column.

One place describes each output layer (what one row is, its geometry) and each column (what it
holds, its unit). The README's GeoPackage table is generated from it (:func:`readme_table`,
checked by ``tests/test_schema.py`` so the documentation cannot drift), QGIS field aliases fall
back to it (:func:`describe`), and the tests check that every column a real run writes is
catalogued. Column families are written with a placeholder: ``within_{X}`` (X = each
reporting threshold), ``time_{kind}_min`` (each supply kind of :mod:`accessmap.supply`),
``score_{criterion}`` (each need criterion of :mod:`accessmap.scoring`).

May import: nothing from accessmap (plain data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LAYERS", "Layer", "describe", "match_column", "readme_table"]


@dataclass(frozen=True)
class Layer:
    """One output layer or table.

    Attributes
    ----------
    name : str
        Layer name in the GeoPackage (and CSV file stem).
    geometry : str
        ``"polygons"``, ``"points"`` or ``"table"``.
    one_per : str
        What one row is.
    columns : tuple of (str, str)
        ``(column, description)``; a column name may hold one ``{placeholder}``.
    when : str
        When the layer is written (empty: always).
    """

    name: str
    geometry: str
    one_per: str
    columns: tuple[tuple[str, str], ...]
    when: str = ""


_COMMUNE_IDS: tuple[tuple[str, str], ...] = (
    ("insee", "INSEE commune code, COG 2026"),
    ("nom", "commune name"),
    ("dep", "département code"),
    ("dep_nom", "département name"),
    ("epci_siren", "SIREN of the EPCI (intercommunalité)"),
    ("epci_nom", "EPCI name"),
)
_POINT_XY: tuple[tuple[str, str], ...] = (
    ("x", "point x in the layer CRS (CSV copies only)"),
    ("y", "point y (CSV copies only)"),
    ("crs", "CRS of x, y (CSV copies only)"),
)
_ACCESS_SUMMARY: tuple[tuple[str, str], ...] = (
    ("pop", "population"),
    ("pop_beyond_{X}", "people beyond X minutes of a GP (X = each reporting threshold)"),
    ("share_beyond_{X}", "their share of the population"),
    ("mean_time_min", "population-weighted mean car time to the nearest GP (min)"),
    ("worst_time_min", "longest time of a commune (min)"),
    ("pop_unreached", "people of communes no engine could time"),
)
_SITE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rank", "order in which the objective chose the site"),
    ("year", "plan year (with --years)"),
    ("site_id", "candidate id"),
    ("insee", "INSEE code of the commune"),
    ("nom", "commune name"),
    ("dep", "département code"),
    ("label", "name with its département, e.g. Antras (09)"),
    ("epci_siren", "SIREN of the EPCI"),
    ("epci_nom", "EPCI name"),
    ("pop", "population of the commune"),
    ("doctors", "salaried GPs of the centre (--doctors-per-centre)"),
    ("objective", "apl, coverage or time (--objective)"),
    ("gain_pop", "people newly within the target time, this site"),
    ("cumulative_pop", "people newly within the target, all sites so far"),
    ("cumulative_share", "the same as a share of the population"),
    ("covered_share", "share within the target, existing GPs plus the sites so far"),
    ("lifted_pop", "people lifted from APL below 2.5 to 2.5 or more, this site"),
    ("cumulative_lifted_pop", "people lifted above 2.5, all sites so far"),
    ("pop_below_2_5", "people still below APL 2.5 after this site"),
    ("apl_site_before", "APL of the site's commune before the centre"),
    ("apl_site_after", "APL of the site's commune after it"),
    ("apl_gain_under", "population-weighted mean APL gain of the people below 2.5, this site"),
    ("cumulative_apl_gain_under", "the same, all sites so far"),
    ("time_change_min", "change of the population-weighted mean time to a GP, this site (min)"),
    ("mean_time_min", "population-weighted mean time to a GP after this site (min)"),
)

#: Every layer and table ``accessmap score`` may write, in the GeoPackage's order.
LAYERS: dict[str, Layer] = {
    lay.name: lay
    for lay in (
        Layer("communes", "polygons", "commune", (
            *_COMMUNE_IDS,
            ("pop", "population municipale 2023"),
            ("pop_0_19", "people aged 0-19 (census 2021)"),
            ("pop_20_64", "people aged 20-64 (census 2021)"),
            ("pop_65p", "people aged 65 or more (census 2021)"),
            ("share_65p", "share aged 65 or more"),
            ("area_km2", "area (km²; holes of former communes filled)"),
            ("gp_count", "GPs in the commune (BPE head counts)"),
            ("nearest_gp_id", "supply id of the nearest GP site"),
            ("time_gp_min", "car minutes to the nearest GP; 0 inside a commune that has one "
                            "(Insee Metric convention)"),
            ("engine", "engine that timed the commune: road-network or crow-fly"),
            ("fallback_reason", "why a commune was timed crow-fly (beyond snap distance, "
                                "unreachable on the network)"),
            ("within_{X}", "a GP within X minutes (boolean, X = each reporting threshold)"),
            ("time_{kind}_min", "car minutes to the nearest facility of a supply kind "
                                "(emergency: BPE D106; hospital: FINESS; pharmacy: BPE D307)"),
            ("e2sfca", "GPs per inhabitant in reach, E2SFCA (Luo & Qi 2009), bands 0-10/10-15/"
                       "15-20 min"),
            ("apl", "consultations per standardised inhabitant per year (DREES APL variant, "
                    "fitted activity of each GP)"),
            ("apl_constant", "the same with a constant number of consultations per GP"),
            ("apl_class", "<2.5, 2.5-4 or >=4"),
            ("apl_age_standardised", "demand age-standardised (census age bands present)"),
        )),
        Layer("cells", "polygons", "populated 1 km INSEE grid cell (2010), INSPIRE square", (
            ("cell_id", "INSPIRE cell code"),
            ("pop", "population of the cell"),
            ("insee", "commune of the cell centre"),
            ("time_gp_min", "car minutes from the cell centre to the nearest GP"),
            ("nearest_gp_id", "supply id of the nearest GP site"),
            ("within_{X}", "a GP within X minutes"),
            ("engine", "engine that timed the cell"),
            ("fallback_reason", "why the cell was timed crow-fly"),
            ("x", "cell centre x (EPSG:2154)"),
            ("y", "cell centre y"),
            ("crs", "CRS of x, y (CSV copies only)"),
        ), when="Occitanie (the grid covers it)"),
        Layer("epci_scores", "polygons", "EPCI (intercommunalité)", (
            ("epci_siren", "SIREN of the EPCI"),
            ("epci_nom", "EPCI name"),
            ("crosses_region_border", "the EPCI has communes outside the area (scored on its "
                                      "inside part)"),
            ("share_inside", "share of its people inside the area"),
            ("pop_inside", "its people inside the area"),
            ("pop_epci_total", "its whole population"),
            ("pop", "population scored (inside the area)"),
            ("pop_beyond_15", "people beyond the target time"),
            ("share_beyond_15", "their share"),
            ("mean_time_min", "population-weighted mean time to a GP (min)"),
            ("worst_time_min", "longest commune time (min)"),
            ("apl", "population-weighted APL"),
            ("share_apl_below_2_5", "share of people with APL below 2.5"),
            ("share_65p", "share aged 65 or more"),
            ("time_emergency_min", "population-weighted time to emergency care (min)"),
            ("time_hospital_min", "population-weighted time to a hospital (min)"),
            ("gp_per_10k", "GPs per 10,000 inhabitants"),
            ("score_{criterion}", "need criterion scaled 0-1 (1 = most need)"),
            ("n_criteria_missing", "criteria without a value"),
            ("need_score", "weighted need score, 0-100"),
            ("need_rank", "1 = most in need; ties share a rank; empty when not ranked"),
            ("ranked", "ranked (at least 10 % of its people inside the area)"),
            ("official_priority", "in the --priority list"),
        )),
        Layer("sites", "points", "proposed new centre, in the order chosen by --objective",
              (*_SITE_COLUMNS, *_POINT_XY)),
        Layer("isochrones", "polygons", "drive-time band of the existing GPs (dissolved), and "
              "the target band of each proposed site, clipped to the area's land", (
            ("facility_id", "existing GPs, or the proposed site's code"),
            ("threshold_min", "drive time (min)"),
            ("kind", "existing or proposed"),
            ("engine", "engine that drew the band"),
        )),
        Layer("gp_sites", "points", "GP site (commune reference point with its head count)", (
            ("supply_id", "supply id"), ("insee", "commune code"), ("kind", "gp or centre"),
            ("count", "GPs at the site"), ("in_area", "inside the study area (else border "
                                                      "context)"), *_POINT_XY,
        )),
        Layer("emergency_sites", "points", "emergency service (BPE D106)", (
            ("supply_id", "supply id"), ("insee", "commune code"), ("count", "services"),
            ("in_area", "inside the study area"), *_POINT_XY,
        )),
        Layer("hospital_sites", "points", "hospital-type establishment (FINESS)", (
            ("finess_et", "FINESS establishment number"), ("name", "name"),
            ("facility_type", "category"), ("insee", "commune code"), ("dep", "département"),
            ("in_area", "inside the study area"), *_POINT_XY,
        )),
        Layer("health_centres", "points", "Ma Santé, Ma Région centre (existing)", (
            ("insee", "commune code"), ("commune", "commune name"), ("site_kind",
                                                                     "centre or antenna"),
            ("status", "status in the source"), *_POINT_XY,
        )),
        Layer("departements", "table", "département", (("dep", "département code"),
                                                      ("dep_nom", "name"), *_ACCESS_SUMMARY)),
        Layer("region", "table", "the study area", (("area", "name of the area"),
                                                    *_ACCESS_SUMMARY)),
        Layer("siting_curve", "table", "added centre, for each objective (one sequence per "
              "objective, the marginal-gain curves)", (
            *_SITE_COLUMNS, ("chosen", "the run's objective"),
        )),
        Layer("agreement", "table", "zone in our top N or in the official list", (
            ("status", "hit, missed or ours only"), ("{epci_scores}", "the zone's epci_scores "
                                                     "columns"),
        ), when="with --priority"),
        Layer("what_if", "table", "evaluated commune (existing and planned centres open)", (
            ("site_id", "commune code"), ("nom", "name"), ("label", "name (département)"),
            ("doctors", "doctors of the centre"),
            ("gain_pop", "people newly within the target time"),
            ("lifted_pop", "people lifted above APL 2.5"),
            ("under_in_reach_pop", "people below 2.5 in the centre's catchment"),
            ("apl_gain_under", "their mean APL gain"),
            ("apl_site_before", "APL of the commune before"),
            ("apl_site_after", "APL after"),
            ("time_change_min", "change of the mean time to a GP (min)"),
            ("top_communes", "the three communes whose APL gains most"),
            ("ms", "evaluation time (ms)"),
        ), when="with --what-if INSEE[:DOCTORS]"),
        Layer("sensitivity", "table", "speed change or engine", (
            ("engine", "engine of the row"),
            ("speed_change", "-20 %, -10 %, 0, +10 %, +20 % on every speed, then crow-fly"),
            ("time_factor", "factor applied to every time"),
            ("share_beyond", "share beyond the target"),
            ("pop_beyond", "people beyond the target"),
            ("mean_time_min", "population-weighted mean time (min)"),
        )),
        Layer("zones", "polygons", "user zone", (
            ("zone_id", "the --zones-id value"), ("{epci_scores}", "the epci_scores columns"),
        ), when="with --zones"),
        Layer("apl_difference", "polygons", "commune with an official APL", (
            ("{apl_difference}", "our APL, the official APL, their difference and classes "
                                 "(see docs/validation.md)"),
        ), when="with --official-apl"),
        Layer("apl_agreement_{table}", "table", "agreement with the official DREES APL: "
              "overall, per département, EPCI and région, the class table, the largest "
              "disagreements", (
            ("{apl_agreement}", "see docs/validation.md"),
        ), when="with --official-apl"),
    )
}  # fmt: skip


def _pattern(name: str) -> re.Pattern[str]:
    parts = re.split(r"\{[A-Za-z_]+\}", name)
    return re.compile("^" + "(.+)".join(re.escape(p) for p in parts) + "$")


def match_column(layer: str, column: str) -> str | None:
    """The catalogue entry (column name, maybe with a placeholder) that ``column`` matches."""
    lay = _layer(layer)
    if lay is None:
        return None
    for name, _ in lay.columns:
        if name.startswith("{") and name.endswith("}"):
            return name  # "any column of another layer" entries
        if _pattern(name).match(column):
            return name
    return None


def _layer(name: str) -> Layer | None:
    if name in LAYERS:
        return LAYERS[name]
    for key, lay in LAYERS.items():
        if "{" in key and _pattern(key).match(name):
            return lay
    return None


def describe(layer: str, column: str) -> str | None:
    """Description of ``column`` of ``layer`` (None when not catalogued)."""
    lay = _layer(layer)
    entry = match_column(layer, column)
    if lay is None or entry is None:
        return None
    return dict(lay.columns)[entry]


def readme_table() -> str:
    """The README's GeoPackage table (Markdown), generated from :data:`LAYERS`."""
    rows = ["| layer | one row per | columns |", "|---|---|---|"]
    for lay in LAYERS.values():
        when = f", {lay.when}" if lay.when else ""
        cols = ", ".join(f"`{c}` ({d})" for c, d in lay.columns if c not in ("x", "y", "crs"))
        rows.append(f"| `{lay.name}` ({lay.geometry}{when}) | {lay.one_per} | {cols} |")
    return "\n".join(rows)
