"""Stage 3, zones: EPCI (and user zones) scored and ranked, agreement with an official list,
the département and study-area summaries.

May import: :mod:`accessmap.measures`, :mod:`accessmap.scoring`, :mod:`accessmap.loaders`,
:mod:`accessmap.data`, :mod:`accessmap.pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from accessmap import measures, scoring
from accessmap.area import Area
from accessmap.config import WORKING_CRS
from accessmap.data import validate
from accessmap.errors import UnknownCodeError
from accessmap.loaders.admin import load_priority_zones
from accessmap.pipeline.params import ScoreParams

__all__ = ["ZonesStage", "read_zone_layer", "zones_stage"]


@dataclass
class ZonesStage:
    """Output of :func:`zones_stage`: the ranked EPCI, the agreement with an official list
    (empty without ``--priority``), the département and area summaries, user zones."""

    epci_scores: gpd.GeoDataFrame
    agreement_table: pd.DataFrame
    agreement_summary: str
    departements: pd.DataFrame
    region: pd.DataFrame
    extra_zones: gpd.GeoDataFrame | None


def zones_stage(params: ScoreParams, area: Area, com: gpd.GeoDataFrame) -> ZonesStage:
    """Score the EPCI of ``area`` from the commune measures ``com``."""
    # --- zones ---------------------------------------------------------------------------
    com_table = pd.DataFrame(com.drop(columns="geometry"))
    epci_scores = _ranked_epci(params, area, com_table)
    official: list[str] = []
    agreement_table = pd.DataFrame()
    agreement_summary = ""
    if params.priority is not None:
        official = list(load_priority_zones(params.priority)["epci_siren"].astype(str))
        unknown = sorted(set(official) - set(epci_scores["epci_siren"]))
        if unknown:
            raise UnknownCodeError(
                f"{params.priority}: column epci_siren: {len(unknown)} code(s) are not EPCI "
                f"of {area.name}, e.g. {unknown[0]!r}; check the list or the --region option"
            )
        agreement_table, agr = scoring.agreement_table(epci_scores, official,
                                                       top_n=params.top_n)  # fmt: skip
        agreement_summary = agr.summary()
    epci_scores["official_priority"] = epci_scores["epci_siren"].isin(official)

    by_dep_all = measures.summarise_access(
        com_table, by="dep", thresholds=params.bands_min, total_label="all"
    )
    is_total = by_dep_all["dep"] == "all"
    by_dep = by_dep_all[~is_total].reset_index(drop=True)
    dep_names = com_table.groupby("dep")["dep_nom"].first()
    by_dep.insert(1, "dep_nom", by_dep["dep"].map(dep_names))
    region_row = by_dep_all[is_total].rename(columns={"dep": "area"}).reset_index(drop=True)
    region_row["area"] = area.name
    extra_zones = None
    if params.zones is not None:
        extra_zones = _score_extra_zones(params, com, com_table, area.origins)
    return ZonesStage(epci_scores=epci_scores, agreement_table=agreement_table,
                      agreement_summary=agreement_summary, departements=by_dep,
                      region=region_row, extra_zones=extra_zones)  # fmt: skip


#: Columns of the border flags of :func:`accessmap.area.load_area` kept in ``epci_scores``.
BORDER_COLUMNS = ("crosses_region_border", "share_inside", "pop_inside", "pop_epci_total")


def _ranked_epci(params: ScoreParams, area: Area, com_table: pd.DataFrame) -> gpd.GeoDataFrame:
    """Score every EPCI on its communes inside the area; rank only those with at least
    ``params.min_epci_share_inside`` of their people inside (the others: ``need_rank``
    missing, ``ranked`` False, still scored and flagged ``crosses_region_border``)."""
    epci = area.epci
    flags = [c for c in BORDER_COLUMNS if c in epci.columns]
    share = (epci.set_index("epci_siren")["share_inside"] if "share_inside" in epci.columns
             else pd.Series(1.0, index=epci["epci_siren"]))  # fmt: skip
    small = set(share.index[share.to_numpy() < params.min_epci_share_inside])
    everyone = scoring.score_zones(com_table, zone_col="epci_siren",
                                   threshold_min=params.threshold_min)  # fmt: skip
    keep = ~com_table["epci_siren"].isin(small)
    if small and keep.any():
        ranked = scoring.score_zones(com_table[keep], zone_col="epci_siren",
                                     threshold_min=params.threshold_min)  # fmt: skip
        rest = everyone[everyone["epci_siren"].isin(small)]
        scores = pd.concat([ranked, rest], ignore_index=True)
    else:
        scores = everyone
    scores["ranked"] = ~scores["epci_siren"].isin(small)
    scores["need_rank"] = scores["need_rank"].astype("Int64").where(scores["ranked"])
    epci_geo = epci[["epci_siren", "epci_nom", *flags, "geometry"]]
    out = gpd.GeoDataFrame(epci_geo.merge(scores, on="epci_siren", how="right"),
                           geometry="geometry", crs=WORKING_CRS)  # fmt: skip
    return out.sort_values(["need_rank", "epci_siren"], na_position="last", kind="stable")


def read_zone_layer(path: Path, *, id_col: str) -> gpd.GeoDataFrame:
    """Read a user zone layer (polygons with a unique id column) in EPSG:2154.

    Raises the typed errors of :mod:`accessmap.data.validate` (missing file or column, no CRS,
    invalid geometry, duplicate ids, empty layer).
    """

    zones = validate.read_layer(path, columns=(id_col,))
    where = f"{path}"
    validate.require_crs(zones, where=where)
    zones = validate.to_working_crs(zones, where=where)
    zones[id_col] = zones[id_col].astype(str)
    validate.require_unique(zones, id_col, where=where)
    return validate.check_geometries(
        zones, where=where, id_col=id_col, geom_types=("Polygon", "MultiPolygon")
    )


def _score_extra_zones(
    params: ScoreParams,
    com: gpd.GeoDataFrame,
    com_table: pd.DataFrame,
    origins: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Score a user zone layer: communes are assigned to the zone containing their routing
    origin (the town-hall point), or their polygon's representative point without one.

    The origin is the point the travel times start from, and it lies inside the commune's
    official area even where a polygon carries a filled hole of a former commune.
    """
    zones = read_zone_layer(Path(params.zones or ""), id_col=params.zones_id)
    where = origins.geometry.reindex(com_table.index)
    where = where.where(where.notna(), com.representative_point())
    pts = gpd.GeoDataFrame(com_table[["insee"]], geometry=where.to_numpy(),
                           crs=WORKING_CRS)  # fmt: skip
    joined = gpd.sjoin(pts, zones[[params.zones_id, "geometry"]], predicate="within")
    zone_of = joined.groupby(level=0)[params.zones_id].first()
    table = com_table.assign(zone_id=com_table.index.map(zone_of))
    table = table[table["zone_id"].notna()]
    scores = scoring.score_zones(table, zone_col="zone_id", threshold_min=params.threshold_min)
    geo = zones[[params.zones_id, "geometry"]].rename(columns={params.zones_id: "zone_id"})
    return gpd.GeoDataFrame(
        geo.merge(scores, on="zone_id", how="right"), geometry="geometry", crs=WORKING_CRS
    )
