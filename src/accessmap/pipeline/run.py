"""The main job composed of its stages (``accessmap score``), and per-région runs.

:func:`run_score` chains: load an :class:`~accessmap.area.Area`, build the engine
(:func:`accessmap.traveltime.make_engine`), then the stages :func:`~.times.times_stage`,
:func:`~.catchments.catchments_stage`, :func:`~.zones.zones_stage`,
:func:`~.sites.siting_stage`, :func:`~.isochrones.isochrones_stage`, and assembles the
layers, tables, summary and metadata of a :class:`~.params.ScoreResult`.

May import: every stage of :mod:`accessmap.pipeline`, :mod:`accessmap.area`,
:mod:`accessmap.parallel`, :mod:`accessmap.geography`, :mod:`accessmap.traveltime`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import shapely

from accessmap.area import Area, load_area
from accessmap.config import OCCITANIE_DEPS, WORKING_CRS
from accessmap.errors import AccessmapError, SnapDistanceError
from accessmap.geography import resolve_region
from accessmap.loaders.supply import load_health_centres
from accessmap.parallel import _session, dask_client
from accessmap.pipeline.catchments import catchments_stage
from accessmap.pipeline.isochrones import isochrones_stage, land_of
from accessmap.pipeline.params import Progress, ScoreParams, ScoreResult
from accessmap.pipeline.sites import SitingStage, siting_stage, what_if_site
from accessmap.pipeline.summary import _metadata, run_summary, sensitivity_table
from accessmap.pipeline.times import times_stage
from accessmap.pipeline.zones import zones_stage
from accessmap.traveltime import MixedEngine, make_engine

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

__all__ = ["run_regions", "run_score"]


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
                         grid=params.grid, supply_kinds=params.supply_kinds,
                         border_km=params.border_km, scale_bpe2024=params.scale_bpe2024,
                         centre_doctors=params.doctors_per_centre
                         if params.existing_centres else 0.0)  # fmt: skip
    tick("load")
    # default: the Travel Mapping network of the data directory, clipped to the study area
    # (its départements = the union of its communes) plus params.margin_m
    engine = make_engine(params.engine, roads=params.roads, profile=params.profile,
                         client=client, clip=area.departements, margin_m=params.margin_m,
                         data_dir=data_dir)  # fmt: skip
    _refuse_uncovered(params, engine, area)
    times = times_stage(params, area, engine)
    tick("times")
    catch = catchments_stage(params, times, engine, area)
    tick("catchments")
    zones = zones_stage(params, area, times.com)
    tick("zones")
    sited = siting_stage(params, area, engine, times.com, times.origins, catch.demand,
                         std_demand=catch.std_demand, data_dir=data_dir)  # fmt: skip
    tick("siting")
    iso = isochrones_stage(engine, times.gp, sited.sites, params,
                           land=land_of(area.departements))  # fmt: skip
    tick("isochrones")
    summary = run_summary(params, area, engine, times, catch.age_share, zones, sited, client,
                          time.perf_counter() - t0)  # fmt: skip
    com, cells = times.com, times.cells
    layers: dict[str, gpd.GeoDataFrame] = {
        "communes": gpd.GeoDataFrame(
            com.reset_index(drop=True), geometry="geometry", crs=WORKING_CRS
        ),
        "epci_scores": zones.epci_scores.reset_index(drop=True),
        "sites": sited.sites,
        "isochrones": iso,
    }
    if cells is not None:
        layers["cells"] = _cell_squares(
            gpd.GeoDataFrame(cells.reset_index(drop=True), geometry="geometry", crs=WORKING_CRS)
        )
    layers.update(_facility_layers(area, data_dir))  # fmt: skip
    if zones.extra_zones is not None:
        layers["zones"] = zones.extra_zones
    tables = {
        "departements": zones.departements,
        "region": zones.region,
        "siting_curve": sited.curve,
        "agreement": zones.agreement_table,
        "what_if": sited.what_if,
        "sensitivity": sensitivity_table(
            com["time_gp_min"],
            com["pop"].astype(float),
            params.threshold_min,
            crow_fly=None if engine.primary is None else times.crow_fly_time,
            engine="+".join(summary["engines"]),
        ),
    }
    metadata = _metadata(params, area, engine, summary)
    # holes of the commune polygons filled by the loaders (accessmap.loaders.holes)
    metadata["commune_holes"] = {
        "filled": list(area.communes.attrs.get("filled_holes", [])),
        "left": list(area.communes.attrs.get("holes_left", [])),
    }
    return ScoreResult(layers=layers, tables=tables, summary=summary, metadata=metadata,
                       what_if_fn=_what_if_fn(sited, times.com, params))  # fmt: skip


_INSPIRE = r"^CRS(?P<epsg>\d+)RES(?P<res>\d+)mN(?P<n>\d+)E(?P<e>\d+)$"


def _cell_squares(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The population cells as their INSPIRE squares (1 km in EPSG:3035, from ``cell_id``:
    ``CRS3035RES1000mN{y}E{x}``, lower-left corner) in EPSG:2154, the centre kept in ``x``,
    ``y`` (EPSG:2154 metres); cells whose id is not INSPIRE keep their point."""
    parts = cells["cell_id"].astype(str).str.extract(_INSPIRE)
    ok = parts["n"].notna().to_numpy()
    if not ok.any() or parts.loc[ok, "epsg"].nunique() != 1:
        return cells
    out = cells.copy()
    out["x"] = cells.geometry.x.round(1)
    out["y"] = cells.geometry.y.round(1)
    e = parts["e"].astype(float).to_numpy()[ok]
    n = parts["n"].astype(float).to_numpy()[ok]
    res = parts["res"].astype(float).to_numpy()[ok]
    boxes = gpd.GeoSeries(
        shapely.box(e, n, e + res, n + res), crs=f"EPSG:{parts.loc[ok, 'epsg'].iloc[0]}"
    ).to_crs(WORKING_CRS)
    if not ok.all():  # mixed ids: keep the points rather than mix geometry types
        return cells
    return gpd.GeoDataFrame(
        out.drop(columns="geometry"), geometry=boxes.to_numpy(), crs=WORKING_CRS
    )


def _facility_layers(area: Area, data_dir: str | Path | None) -> dict[str, gpd.GeoDataFrame]:
    """Point layers for QGIS: GP sites, emergency services, hospitals (the area's supply) and
    the existing "Ma Santé, Ma Région" centres (Occitanie; partial list, loaders.supply)."""
    names = {"gp": "gp_sites", "emergency": "emergency_sites", "hospital": "hospital_sites"}
    out: dict[str, gpd.GeoDataFrame] = {}
    for kind, name in names.items():
        df = area.supply.get(kind)
        if isinstance(df, gpd.GeoDataFrame) and len(df):
            out[name] = gpd.GeoDataFrame(
                df.reset_index(drop=True), geometry="geometry", crs=df.crs
            ).to_crs(WORKING_CRS)
    if set(area.deps) & set(OCCITANIE_DEPS):
        try:
            centres = load_health_centres(data_dir)
        except AccessmapError as exc:  # optional dataset: the layer is left out
            log.info("no Ma Santé centres layer: %s", exc)
        else:
            centres = centres[centres["insee"].isin(area.communes["insee"])]
            out["health_centres"] = centres.reset_index(drop=True)
    return out


def _what_if_fn(sited: SitingStage, com: Any, params: ScoreParams) -> Any:
    """``ScoreResult.what_if``: one more centre on the run's baseline (pipeline.sites)."""
    problem, base = sited.problem, sited.baseline
    if problem is None or base is None:
        return None

    def fn(code: str, doctors: float | None = None) -> dict[str, Any]:
        d = params.doctors_per_centre if doctors is None else float(doctors)
        return what_if_site(problem, base, code, d, com)

    return fn


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


def _refuse_uncovered(params: ScoreParams, engine: MixedEngine, area: Area) -> None:
    """Stop before any work when ``--engine road-network`` has a road file that reaches no
    routing origin of the area (the summary's road-coverage check is the second line)."""
    if params.engine != "road-network" or engine.primary is None:
        return
    if not engine.covers(area.origins).any():
        meta = getattr(getattr(engine.primary, "network", None), "meta", None) or {}
        source = meta.get("source") or params.roads
        raise SnapDistanceError(
            f"the road network {Path(str(source)).name} covers none of the {len(area.origins)} "
            f"communes of {area.name} (no origin within the snapping distance): pass a road "
            "file that covers the area, or use --engine auto / crow-fly"
        )
