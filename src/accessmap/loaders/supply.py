"""Health supply loaders: GPs, emergency services, hospitals, regional health centres.

GP supply comes from the INSEE *Base permanente des équipements* (BPE), read by
:mod:`accessmap.loaders.bpe` (codes, COG 2026 mapping, unmatched-code reports).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from accessmap.config import WORKING_CRS
from accessmap.data import validate as v
from accessmap.data.registry import dataset_path
from accessmap.errors import ConfigError, EmptyLayerError
from accessmap.loaders.admin import EXTENT_MARGIN_M, load_commune_origins, study_extent
from accessmap.loaders.bpe import (
    BPE_EMERGENCY,
    BPE_GP,
    UnmatchedCodeWarning,
    load_bpe,
    load_bpe_geolocated,
    normalise_codes,
)
from accessmap.loaders.common import (
    COMMUNE_CODE_PATTERN,
    as_int,
    dep_of,
    filter_deps,
    norm_deps,
)

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = [
    "load_emergency",
    "load_gp_supply",
    "load_health_centres",
    "load_hospitals",
]

logger = logging.getLogger(__name__)

GpSource = Literal["bpe2019", "bpe2019-points", "bpe", "bpe-geo"]


def _at_origins(
    table: pd.DataFrame,
    *,
    data_dir: str | Path | None,
    deps: Sequence[str] | None,
    where: str,
) -> gpd.GeoDataFrame:
    """Place per-commune rows at the commune routing origin; report communes without one."""
    import geopandas as gpd

    origins = load_commune_origins(data_dir, deps=deps).set_index("insee")
    known = table["insee"].isin(origins.index)
    missing = table[~known]
    if not missing.empty:
        msg = (
            f"{where}: {len(missing)} commune(s) with supply have no routing origin, e.g. "
            f"{missing['insee'].iloc[0]!r} ({int(missing['count'].sum())} equipments); they "
            "are excluded: add their origins to occitanie_admin.gpkg (layer commune_origins)"
        )
        logger.debug(msg)  # reported once, as a Python warning (filterable, testable)
        warnings.warn(msg, UnmatchedCodeWarning, stacklevel=3)
    kept = table[known]
    geom = origins.geometry.reindex(kept["insee"]).to_numpy()
    out = gpd.GeoDataFrame(kept.reset_index(drop=True), geometry=geom, crs=origins.crs)
    out.attrs["no_origin"] = missing.reset_index(drop=True)
    reason = "no routing origin for the commune code"
    out.attrs["dropped"] = (
        [v.drop_record(where, reason, list(missing["insee"]), missing["count"].sum())]
        if len(missing)
        else []
    )
    return out


def _known_communes(
    df: pd.DataFrame, *, data_dir: str | Path | None, deps: Sequence[str] | None, where: str
) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """Drop rows whose commune code has no routing origin, with a counted warning.

    Malformed codes (a lost leading zero) are an error first, not a drop.
    """
    v.require_code_format(df["insee"], pattern=COMMUNE_CODE_PATTERN, where=where,
                          column="insee",
                          description="an INSEE commune code (5 characters)")  # fmt: skip
    origins = load_commune_origins(data_dir, deps=deps)
    known = df["insee"].isin(set(origins["insee"]))
    if known.all():
        return df, []
    bad = df[~known]
    msg = (
        f"{where}: {len(bad)} row(s) ({int(bad['count'].sum())} GPs) have a commune code "
        f"unknown to the study area, e.g. {bad['insee'].iloc[0]!r}; they are excluded (listed "
        "in the run summary under 'dropped'): correct the codes (COG 2026)"
    )
    logger.debug(msg)
    warnings.warn(msg, UnmatchedCodeWarning, stacklevel=3)
    rec = v.drop_record(where, "unknown commune code", list(bad["insee"]), bad["count"].sum())
    return df[known], [rec]


def _require_gps(df: pd.DataFrame, *, where: str, deps: Sequence[str] | None) -> None:
    if len(df) == 0 or float(df["count"].sum()) <= 0:
        raise EmptyLayerError(
            f"{where}: no GP in the supply for départements {list(norm_deps(deps))} (every "
            "count is 0 or no row is a GP); every commune would be 'beyond' the target: use "
            "the complete supply file"
        )


def load_gp_supply(
    data_dir: str | Path | None = None,
    *,
    source: GpSource = "bpe2019",
    path: str | Path | None = None,
    deps: Sequence[str] | None = None,
    types: Sequence[str] = BPE_GP,
) -> gpd.GeoDataFrame:
    """General practitioners as supply points in EPSG:2154.

    Parameters
    ----------
    data_dir : str or Path, optional
        Data directory.
    source : {"bpe2019", "bpe2019-points", "bpe", "bpe-geo"}, default "bpe2019"
        ``"bpe2019"``: ``supply_gp_counts_commune_bpe2019.csv``, GPs = ``gp_2019`` (BPE 2019
        D201) per commune, placed at the commune routing origin (6,226 GPs in 1,040 Occitanie
        communes). ``"bpe2019-points"``: ``supply_points_bpe2019_commune_origins.csv`` rows of
        kind ``gp`` (same counts). ``"bpe"``: an official BPE row file (``path``; default the
        bundle's BPE 2019 health rows) via :func:`load_bpe`, at commune origins.
        ``"bpe-geo"``: a BPE file with one geolocated row per equipment (``path``; columns
        ``LAMBERT_X``/``LAMBERT_Y`` in EPSG:2154 or ``LONGITUDE``/``LATITUDE`` in WGS84);
        rows without coordinates fall back to the commune origin.
    path : str or Path, optional
        Input file for the ``"bpe"`` and ``"bpe-geo"`` sources.
    deps : sequence of str, optional
        Départements to keep (default Occitanie).
    types : sequence of str, default ("D201", "D265")
        BPE codes counted as GPs for the ``"bpe"`` / ``"bpe-geo"`` sources.

    Returns
    -------
    GeoDataFrame
        ``supply_id, insee, kind`` (``"gp"``), ``count`` (int, GPs at the point), ``geometry``.
        Commune-level sources give one row per commune with GPs: times from these points are
        commune-to-commune times (practice addresses are not in the BPE commune files).
    """
    import geopandas as gpd

    named = ("bpe2019", "bpe2019-points", "bpe", "bpe-geo")
    if source not in named and path is None and ("/" in source or "." in source):
        # `accessmap score --supply FILE`: an INSEE BPE file given by its path
        source, path = (
            _bpe_source_of(str(source)),
            v.require_file(
                source, fix="check the --supply path (an INSEE BPE file) or use --supply bpe2019"
            ),
        )
    if source == "bpe2019":
        p = dataset_path("supply_gp_bpe2019", data_dir)
        df = v.read_csv(
            p,
            columns=["insee", "dep", "gp_2019", "lon", "lat"],
            dtype={"insee": "str", "dep": "str"},
        )
        v.require_unique(df, "insee", where=p.name)
        df = filter_deps(df, deps, column="dep", where=p.name)
        df = df.assign(count=as_int(df, "gp_2019", where=p.name))
        df = df[df["count"] > 0]
        _require_gps(df, where=p.name, deps=deps)
        ids = "bpe2019-D201-" + df["insee"]
        x, y = df["lon"], df["lat"]
    elif source == "bpe2019-points":
        p = dataset_path("supply_points_bpe2019", data_dir)
        df = v.read_csv(
            p,
            columns=["id", "kind", "insee", "lon", "lat", "count"],
            dtype={"insee": "str", "id": "str"},
        )
        v.require_unique(df, "id", where=p.name)
        df = df[df["kind"] == "gp"]
        df = filter_deps(df.assign(dep=dep_of(df["insee"])), deps, column="dep", where=p.name)
        df = df.assign(count=as_int(df, "count", where=p.name))
        _require_gps(df, where=p.name, deps=deps)
        ids, x, y = df["id"], df["lon"], df["lat"]
    elif source == "bpe":
        counts = load_bpe(path, types=types, deps=deps, data_dir=data_dir)
        per_commune = counts.groupby("insee", as_index=False).agg(count=("count", "sum"))
        out = _at_origins(
            per_commune, data_dir=data_dir, deps=deps, where=str(counts.attrs["source"])
        )
        out.insert(0, "supply_id", "bpe-gp-" + out["insee"])
        out.insert(2, "kind", "gp")
        out.attrs["unmatched"] = counts.attrs["unmatched"]
        _require_gps(out, where=str(counts.attrs["source"]), deps=deps)
        return _with_attrs(out[["supply_id", "insee", "kind", "count", "geometry"]], out)
    elif source == "bpe-geo":
        if path is None:
            raise ConfigError(
                "load_gp_supply(source='bpe-geo') needs path= (a geolocated BPE file, e.g. "
                "BPE24.zip from `accessmap data fetch bpe2024_geoloc`)"
            )
        return load_bpe_geolocated(path, types=types, deps=deps, data_dir=data_dir)
    else:
        raise ConfigError(
            f"unknown GP source {source!r}; use 'bpe2019', 'bpe2019-points', 'bpe' or 'bpe-geo'"
        )
    v.require_code_format(
        df["insee"],
        pattern=COMMUNE_CODE_PATTERN,
        where=p.name,
        column="insee",
        description="an INSEE commune code (5 characters)",
    )
    v.check_coordinates(x, y, crs="EPSG:4326", where=p.name, columns=("lon", "lat"))
    gdf = gpd.GeoDataFrame(
        {
            "supply_id": ids.to_numpy(),
            "insee": df["insee"].to_numpy(),
            "kind": "gp",
            "count": df["count"].to_numpy(),
        },
        geometry=gpd.points_from_xy(x.astype(float), y.astype(float)),
        crs="EPSG:4326",
    )
    kept, dropped = _known_communes(gdf, data_dir=data_dir, deps=deps, where=p.name)
    out = gpd.GeoDataFrame(kept, geometry="geometry", crs="EPSG:4326")
    out = out.to_crs(WORKING_CRS).reset_index(drop=True)
    v.check_within(out, study_extent(data_dir, deps=norm_deps(deps)), margin_m=EXTENT_MARGIN_M,
                   where=p.name, id_col="insee",
                   area="départements " + ",".join(norm_deps(deps)))  # fmt: skip
    out.attrs["dropped"] = dropped
    return out


def _bpe_source_of(path: str) -> GpSource:
    """``"bpe-geo"`` for a BPE file with coordinates columns, else ``"bpe"`` (counts)."""
    p = v.require_file(
        path, fix="check the --supply path (an INSEE BPE file) or use --supply bpe2019"
    )
    header = {c.upper() for c in v.read_header(p, encoding="latin-1")}
    return (
        "bpe-geo"
        if {"LAMBERT_X", "LAMBERT_Y"} <= header or {"LONGITUDE", "LATITUDE"} <= header
        else "bpe"
    )


def _with_attrs(frame: gpd.GeoDataFrame, source: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with the ``attrs`` of ``source`` (column selection may not carry them)."""
    frame.attrs.update(source.attrs)
    return frame


def load_emergency(
    data_dir: str | Path | None = None,
    *,
    path: str | Path | None = None,
    deps: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Emergency services (BPE D106 "urgences") at commune routing origins, EPSG:2154.

    Parameters
    ----------
    path : str or Path, optional
        A BPE row file; default the bundle's BPE 2019 health rows (all of France).
    deps : sequence of str, optional
        Départements (default Occitanie). Services just across the regional border are not
        included unless their départements are listed and have commune origins.

    Returns
    -------
    GeoDataFrame
        ``supply_id`` (``bpe-D106-<insee>``), ``insee``, ``count``, ``geometry``.
    """
    counts = load_bpe(path, types=BPE_EMERGENCY, deps=deps, data_dir=data_dir)
    per = counts.groupby("insee", as_index=False).agg(count=("count", "sum"))
    out = _at_origins(per, data_dir=data_dir, deps=deps, where=str(counts.attrs["source"]))
    out.insert(0, "supply_id", "bpe-D106-" + out["insee"])
    out.attrs["unmatched"] = counts.attrs["unmatched"]
    return _with_attrs(out[["supply_id", "insee", "count", "geometry"]], out)


def load_hospitals(
    data_dir: str | Path | None = None, *, deps: Sequence[str] | None = None
) -> gpd.GeoDataFrame:
    """Hospital-type establishments (FINESS 2020 via Eurostat GISCO) as points in EPSG:2154.

    Layer ``hospitals_finess_2020`` of ``occitanie_health_supply.gpkg`` (565 points; CH, CHR,
    CHS, SSR, long-term care, clinics, cancer centres; not GP practices; ``SOURCES.md`` s. 5).

    Returns
    -------
    GeoDataFrame
        ``finess_et, name, facility_type, insee, dep, geometry``.
    """
    path = dataset_path("hospitals_finess_2020", data_dir)
    layer = "hospitals_finess_2020"
    where = f"{path.name} (layer {layer!r})"
    cols = ["finess_et", "hospital_name", "facility_type", "insee", "dep"]
    gdf = v.read_layer(path, layer=layer, columns=cols)
    v.require_crs(gdf, where=where)
    v.require_unique(gdf, "finess_et", where=where)
    gdf = filter_deps(gdf, deps, column="dep", where=where)
    gdf = v.check_geometries(gdf, where=where, id_col="finess_et", geom_types={"Point"})
    gdf = v.to_working_crs(gdf, where=where).rename(columns={"hospital_name": "name"})
    return gdf[["finess_et", "name", "facility_type", "insee", "dep", "geometry"]].reset_index(
        drop=True
    )


def load_health_centres(
    data_dir: str | Path | None = None, *, path: str | Path | None = None
) -> gpd.GeoDataFrame:
    """Sites of the regional "Ma Santé, Ma Région" centres, at commune routing origins.

    ``ma_sante_ma_region_centres_partial.csv``: 10 of the 22 sites the Région reported in
    April 2025, compiled from press articles (``SOURCES.md`` section 6): the list is partial.

    Returns
    -------
    GeoDataFrame
        ``insee, commune, site_kind, status, geometry`` (points, EPSG:2154).

    Raises
    ------
    UnknownCodeError
        A code is not an Occitanie commune with a routing origin.
    """
    import geopandas as gpd

    p = dataset_path("ma_sante_centres", data_dir) if path is None else v.require_file(path)
    df = v.read_csv(
        p, columns=["insee", "commune", "site_kind", "status_in_source"], dtype={"insee": "str"}
    )
    df["insee"] = normalise_codes(df["insee"])
    v.require_code_format(
        df["insee"],
        pattern=COMMUNE_CODE_PATTERN,
        where=p.name,
        column="insee",
        description="an INSEE commune code (5 characters)",
    )
    origins = load_commune_origins(data_dir).set_index("insee")
    v.require_known_codes(
        df["insee"],
        set(origins.index),
        where=p.name,
        column="insee",
        fix="use COG 2026 codes of Occitanie communes",
    )
    return gpd.GeoDataFrame(
        {
            "insee": df["insee"].to_numpy(),
            "commune": df["commune"].to_numpy(),
            "site_kind": df["site_kind"].to_numpy(),
            "status": df["status_in_source"].to_numpy(),
        },
        geometry=origins.geometry.reindex(df["insee"]).to_numpy(),
        crs=origins.crs,
    )
