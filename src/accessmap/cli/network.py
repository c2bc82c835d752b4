"""CLI commands for the network stage: ``accessmap network build`` and ``accessmap times ...``.

* ``accessmap network build ROADFILE``: build (or load from the cache) the drivable graph of
  an OSM file or a node/edge table pair; prints nodes, edges, what was dropped and the cache
  file.
* ``accessmap times nearest ORIGINS FACILITIES --out FILE``: nearest facility per origin.
* ``accessmap times matrix ORIGINS FACILITIES --cutoff 20 --out FILE``: long table.
* ``accessmap times isochrones FACILITIES --thresholds 5,10,15 --out FILE``: polygons.

Point inputs: any vector file geopandas reads (GeoPackage, GeoJSON, Parquet, ...), or a CSV
with ``lon``/``lat`` (WGS84) or ``x``/``y`` (EPSG:2154) columns; ids from ``--id-col``
(default ``id``, else ``insee``). Geographic inputs are reprojected to EPSG:2154 here, at the
user boundary (the library itself refuses them). Engines are picked by
:func:`accessmap.traveltime.make_engine`, as in ``accessmap score``: with ``--roads`` the
road-network engine alone (points beyond its snapping distance get NaN), without it the
crow-fly engine; ``--engine auto`` mixes them (road network where it reaches, crow-fly
elsewhere; without ``--roads`` the Travel Mapping network of the data directory, clipped to
the points plus 30 km). Outputs are written by extension (``.gpkg``, ``.csv``,
``.parquet``) to a temporary file then renamed; an existing file is kept unless
``--overwrite``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from accessmap.cli._common import STATE, DataDirOption
from accessmap.cli.app import app
from accessmap.config import SOURCE_CRS, WORKING_CRS
from accessmap.errors import (
    ConfigError,
    DataNotFoundError,
    MissingColumnError,
    UnreadableFileError,
)
from accessmap.network.build import load_network
from accessmap.outputs.atomic import atomic_file
from accessmap.traveltime.engines import make_engine

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

network_app = typer.Typer(
    help="Road networks: build and cache the drivable graph.", no_args_is_help=True
)
times_app = typer.Typer(
    help="Travel times: nearest facility, bounded table, isochrones.", no_args_is_help=True
)
app.add_typer(network_app, name="network")
app.add_typer(times_app, name="times")

_ID_FALLBACKS = ("id", "insee", "supply_id", "cell_id", "facility_id")

RoadsOption = Annotated[
    Path | None,
    typer.Option(
        "--roads",
        help="Road file (.osm.pbf/.osm/.osm.bz2, a *_edges.csv table, a Travel Mapping archive "
        "or folder, a .graphml); crow-fly if omitted (unless --engine auto).",
    ),
]
ProfileOption = Annotated[str, typer.Option(help="Speed profile (see accessmap.network.speeds).")]
OutOption = Annotated[
    Path, typer.Option("--out", "-o", help="Output file: .gpkg, .csv or .parquet.")
]
OverwriteOption = Annotated[bool, typer.Option(help="Replace an existing output file.")]
IdColOption = Annotated[
    str | None,
    typer.Option("--id-col", help="Id column of the point files (default: id, then insee)."),
]
MaxSnapOption = Annotated[
    float | None,
    typer.Option(
        help="Road engine: points farther from the network are not routed (m); default "
        "10,000 on Travel Mapping (its speed model), else 1,000."
    ),
]
AccessOption = Annotated[
    float | None,
    typer.Option(
        help="Road engine: speed of the access leg to the network (km/h); default: the fitted "
        "value of the speed model on Travel Mapping networks, else 15."
    ),
]
EngineOption = Annotated[
    str | None,
    typer.Option(
        help="auto (road network where it reaches, crow-fly elsewhere) | road-network | "
        "crow-fly; default road-network with --roads, else crow-fly."
    ),
]
SpeedOption = Annotated[
    float | None, typer.Option(help="Crow-fly engine: average speed (km/h); default 60.")
]
DetourOption = Annotated[
    float | None, typer.Option(help="Crow-fly engine: detour factor; default 1.4.")
]


def _echo(text: str) -> None:
    if not STATE.quiet:
        typer.echo(text)


@contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Show library warnings (e.g. rows with NaN times) as one line each on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for w in caught:
                typer.echo(f"accessmap: warning: {w.message}", err=True)


# ------------------------------------------------------------------ network build


@network_app.command("build")
def build(
    roadfile: Annotated[Path, typer.Argument(help="OSM file or *_edges.csv / *_nodes.csv.")],
    nodes: Annotated[
        Path | None, typer.Option(help="Node table, when not next to the edge table.")
    ] = None,
    profile: ProfileOption = "osrm-car",
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache directory (default: $ACCESSMAP_CACHE_DIR).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rebuild, write nothing.")] = False,
) -> None:
    """Build the drivable graph of ROADFILE (largest strongly connected component) and cache it."""

    net = load_network(
        roadfile, nodes=nodes, profile=profile, cache_dir=cache_dir, use_cache=not no_cache
    )
    meta = net.meta
    _echo(f"nodes: {net.n_nodes:,}")
    _echo(f"edges: {net.n_edges:,}")
    _echo(
        f"dropped: {meta.get('nodes_dropped', 0):,} nodes, {meta.get('edges_dropped', 0):,} "
        "edges outside the largest strongly connected component"
    )
    _echo(f"profile: {meta.get('profile', profile)}")
    _echo(f"cache: {meta.get('cache', 'off')} {meta.get('cache_file', '')}".rstrip())


# ------------------------------------------------------------------ helpers


def read_points(path: Path, *, id_col: str | None, what: str) -> gpd.GeoDataFrame:
    """Read a point file into EPSG:2154 with the ids in the index."""
    import geopandas as gpd
    import pandas as pd

    if not path.exists():
        raise DataNotFoundError(f"{what} file {path} not found; check the path")
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        df = pd.read_csv(path, dtype={c: str for c in _ID_FALLBACKS})
        if {"lon", "lat"} <= set(df.columns):
            gdf = gpd.GeoDataFrame(
                df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=SOURCE_CRS
            )
        elif {"x", "y"} <= set(df.columns):
            gdf = gpd.GeoDataFrame(
                df, geometry=gpd.points_from_xy(df["x"], df["y"]), crs=WORKING_CRS
            )
        else:
            raise MissingColumnError(
                f"{path}: a CSV of points needs lon/lat (WGS84) or x/y (EPSG:2154) columns; "
                f"found {list(df.columns)}"
            )
    else:
        try:
            gdf = gpd.read_parquet(path) if name.endswith(".parquet") else gpd.read_file(path)
        except Exception as exc:
            raise UnreadableFileError(
                f"{path}: cannot read {what} ({type(exc).__name__}: {exc}); give a GeoPackage, "
                "GeoJSON, GeoParquet or a CSV with lon/lat"
            ) from exc
    cols = [id_col] if id_col else [c for c in _ID_FALLBACKS if c in gdf.columns][:1]
    if not cols or cols[0] not in gdf.columns:
        raise MissingColumnError(
            f"{path}: no id column {id_col or ' / '.join(_ID_FALLBACKS)!r} in {what}; "
            f"columns are {list(gdf.columns)}; pass --id-col"
        )
    gdf = gdf.set_index(cols[0])
    if gdf.crs is not None and gdf.crs.is_geographic:
        gdf = gdf.to_crs(WORKING_CRS)
    return gdf


def _engine(
    roads: Path | None,
    *,
    engine: str | None,
    profile: str,
    max_snap_m: float | None,
    access_speed_kmh: float | None,
    speed_kmh: float | None,
    detour_factor: float | None,
    points: list[gpd.GeoDataFrame],
    data_dir: Path | None,
) -> Any:
    """The engine of a ``times`` command, from :func:`accessmap.traveltime.make_engine`.

    ``--engine`` omitted: ``road-network`` with ``--roads``, else ``crow-fly``. A mixed
    engine with a single member is returned as that member (its outputs keep their own
    columns, e.g. ``snap_distance_m``).
    """
    import shapely

    name = engine or ("road-network" if roads is not None else "crow-fly")
    net_opts: dict[str, Any] = {}
    if max_snap_m is not None:
        net_opts["max_snap_m"] = max_snap_m
    if access_speed_kmh is not None:
        net_opts["access_speed_kmh"] = access_speed_kmh
    crow_opts: dict[str, Any] = {}
    if speed_kmh is not None:
        crow_opts["speed_kmh"] = speed_kmh
    if detour_factor is not None:
        crow_opts["detour_factor"] = detour_factor
    # a Travel Mapping network is clipped to the points (+ 30 km margin)
    xy = [np.column_stack([p.geometry.x, p.geometry.y]) for p in points if len(p)]
    clip = shapely.MultiPoint(np.concatenate(xy)).convex_hull if xy else None
    mixed = make_engine(name, roads=roads, profile=profile, clip=clip, data_dir=data_dir,
                        network_options=net_opts, crow_fly_options=crow_opts)  # fmt: skip
    if mixed.primary is None:
        return mixed.fallback
    if mixed.fallback is None:
        return mixed.primary
    return mixed


def write_output(df: pd.DataFrame, out: Path, *, overwrite: bool, layer: str) -> Path:
    """Write a (Geo)DataFrame by extension through the one atomic writer.

    :func:`accessmap.outputs.atomic.atomic_file` refuses an existing ``out`` unless
    ``overwrite``, writes a temporary sibling, renames it into place only when complete, and
    cleans temporaries a killed earlier run left.
    """
    import geopandas as gpd

    name = out.name.lower()
    kind = next((k for k in (".gpkg", ".csv", ".parquet") if name.endswith(k)), None)
    if kind is None:
        raise ConfigError(f"output {out}: unknown extension; use .gpkg, .csv or .parquet")
    with atomic_file(out, overwrite=overwrite) as tmp:
        if kind == ".gpkg":
            if isinstance(df, gpd.GeoDataFrame):
                df.to_file(tmp, layer=layer, driver="GPKG")
            else:
                import pyogrio

                pyogrio.write_dataframe(df, tmp, layer=layer, driver="GPKG")
        elif kind == ".csv":
            frame = (
                df.drop(columns="geometry").assign(geometry_wkt=df.geometry.to_wkt())
                if isinstance(df, gpd.GeoDataFrame)
                else df
            )
            frame.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
    return out


def _done(out: Path, n: int, what: str, engine: Any) -> None:
    label = ", ".join(getattr(engine, "names", None) or [engine.name])
    _echo(f"wrote {n:,} {what} to {out} (engine: {label})")


# ------------------------------------------------------------------ times commands


@times_app.command("nearest")
def nearest_cmd(
    origins: Annotated[Path, typer.Argument(help="Origin points (where people live).")],
    facilities: Annotated[Path, typer.Argument(help="Facility points (e.g. GP practices).")],
    out: OutOption,
    roads: RoadsOption = None,
    profile: ProfileOption = "osrm-car",
    id_col: IdColOption = None,
    facility_id_col: Annotated[
        str | None, typer.Option(help="Id column of FACILITIES (default: as --id-col).")
    ] = None,
    engine: EngineOption = None,
    data_dir: DataDirOption = None,
    max_snap_m: MaxSnapOption = None,
    access_speed_kmh: AccessOption = None,
    speed_kmh: SpeedOption = None,
    detour_factor: DetourOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Time from every origin to its nearest facility."""
    import geopandas as gpd

    o = read_points(origins, id_col=id_col, what="origins")
    f = read_points(facilities, id_col=facility_id_col or id_col, what="facilities")
    eng = _engine(
        roads,
        profile=profile,
        max_snap_m=max_snap_m,
        access_speed_kmh=access_speed_kmh,
        speed_kmh=speed_kmh,
        detour_factor=detour_factor,
        engine=engine,
        points=[o, f],
        data_dir=data_dir,
    )
    with _warnings_to_stderr():
        res = eng.nearest(o, f)
    res.index.name = "origin_id"
    table = gpd.GeoDataFrame(res.reset_index(), geometry=o.geometry.to_numpy(), crs=o.crs)
    write_output(table, out, overwrite=overwrite, layer="nearest")
    _done(out, len(table), "origins", eng)


@times_app.command("matrix")
def matrix_cmd(
    origins: Annotated[Path, typer.Argument(help="Origin points.")],
    facilities: Annotated[Path, typer.Argument(help="Facility points.")],
    out: OutOption,
    cutoff: Annotated[float, typer.Option(help="Keep pairs within this many minutes.")] = 20.0,
    roads: RoadsOption = None,
    profile: ProfileOption = "osrm-car",
    id_col: IdColOption = None,
    facility_id_col: Annotated[
        str | None, typer.Option(help="Id column of FACILITIES (default: as --id-col).")
    ] = None,
    engine: EngineOption = None,
    data_dir: DataDirOption = None,
    max_snap_m: MaxSnapOption = None,
    access_speed_kmh: AccessOption = None,
    speed_kmh: SpeedOption = None,
    detour_factor: DetourOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Long table from_id, to_id, travel_time_min of every pair within --cutoff."""
    o = read_points(origins, id_col=id_col, what="origins")
    f = read_points(facilities, id_col=facility_id_col or id_col, what="facilities")
    eng = _engine(
        roads,
        profile=profile,
        max_snap_m=max_snap_m,
        access_speed_kmh=access_speed_kmh,
        speed_kmh=speed_kmh,
        detour_factor=detour_factor,
        engine=engine,
        points=[o, f],
        data_dir=data_dir,
    )
    with _warnings_to_stderr():
        res = eng.matrix(o, f, cutoff_min=cutoff)
    write_output(res, out, overwrite=overwrite, layer="matrix")
    _done(out, len(res), "pairs", eng)


@times_app.command("isochrones")
def isochrones_cmd(
    facilities: Annotated[Path, typer.Argument(help="Facility points.")],
    out: OutOption,
    thresholds: Annotated[
        str, typer.Option(help="Thresholds in minutes, comma-separated.")
    ] = "5,10,15,20,30",
    roads: RoadsOption = None,
    profile: ProfileOption = "osrm-car",
    id_col: IdColOption = None,
    engine: EngineOption = None,
    data_dir: DataDirOption = None,
    max_snap_m: MaxSnapOption = None,
    access_speed_kmh: AccessOption = None,
    speed_kmh: SpeedOption = None,
    detour_factor: DetourOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Isochrone polygons per facility and threshold (reached network, or crow-fly buffers)."""

    try:
        thr = [float(t) for t in thresholds.split(",") if t.strip()]
    except ValueError as exc:
        raise ConfigError(
            f"--thresholds must be minutes separated by commas, e.g. 5,10,15; got {thresholds!r}"
        ) from exc
    f = read_points(facilities, id_col=id_col, what="facilities")
    eng = _engine(
        roads,
        profile=profile,
        max_snap_m=max_snap_m,
        access_speed_kmh=access_speed_kmh,
        speed_kmh=speed_kmh,
        detour_factor=detour_factor,
        engine=engine,
        points=[f],
        data_dir=data_dir,
    )
    with _warnings_to_stderr():
        res = eng.isochrones(f, thresholds_min=thr)
    write_output(res, out, overwrite=overwrite, layer="isochrones")
    _done(out, len(res), "isochrones", eng)
