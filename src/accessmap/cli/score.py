"""``accessmap score``: the main job, end to end."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from accessmap.cli._common import STATE, DataDirOption, show_progress
from accessmap.cli.app import app
from accessmap.data.check import ModifiedDataError, modified_inputs
from accessmap.errors import ConfigError
from accessmap.outputs.atomic import check_target
from accessmap.outputs.geopackage import write_run
from accessmap.parallel import dask_client
from accessmap.pipeline import ScoreParams, run_score
from accessmap.pipeline.summary import engine_lines
from accessmap.supply import SUPPLY_KINDS, resolve_kinds

DEFAULT_OUT = Path("out/accessmap.gpkg")


def _parse_floats(text: str, option: str) -> tuple[float, ...]:

    try:
        vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(
            f"{option} {text!r}: give comma-separated minutes, e.g. {option} 10,15,20,30"
        ) from None
    if not vals:
        raise ConfigError(f"{option} is empty: give comma-separated minutes, e.g. 10,15,20")
    bad = [x for x in vals if not x > 0 or x != x or x == float("inf")]
    if bad:
        raise ConfigError(
            f"{option} {text[:40]!r}: {bad[0]:g} is not a positive number of minutes; give "
            f"comma-separated minutes > 0, e.g. {option} 10,15,20,30"
        )
    return vals


@app.command()
def score(
    data_dir: DataDirOption = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output GeoPackage (CSV copies go beside it).")
    ] = DEFAULT_OUT,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    region: Annotated[
        str, typer.Option(help="occitanie, a département code (46), a région code or FR.")
    ] = "occitanie",
    threshold: Annotated[float, typer.Option(help="Access target in minutes.")] = 15.0,
    bands: Annotated[
        str, typer.Option(help="Reporting thresholds in minutes, comma-separated.")
    ] = "10,15,20,30",
    supply: Annotated[
        str, typer.Option(help="GP supply: bpe2019 (counts per commune) or a BPE file path.")
    ] = "bpe2019",
    supply_kinds: Annotated[
        str | None,
        typer.Option(
            "--supply-kinds",
            help="Extra supply kinds to time, comma-separated (e.g. gp,pharmacy); gp, "
            "emergency and hospital are always measured. Known: " + ", ".join(SUPPLY_KINDS),
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            help="auto (road network where it reaches, crow-fly elsewhere) | crow-fly | "
            "road-network."
        ),
    ] = "auto",
    roads: Annotated[
        Path | None,
        typer.Option(
            help="Road network: .osm.pbf/.osm/.osm.bz2, a nodes CSV of a table pair, a Travel "
            "Mapping archive/folder or an osmnx .graphml; 'none' for crow-fly. Default: the "
            "Travel Mapping network of the data directory (roads_france_travelmapping)."
        ),
    ] = None,
    margin: Annotated[
        float,
        typer.Option(
            help="Metres of Travel Mapping network kept around the study area (GPs across "
            "the border stay reachable)."
        ),
    ] = 30_000.0,
    profile: Annotated[str, typer.Option(help="Speed profile (osrm-car, fr-legal).")] = "osrm-car",
    zones: Annotated[
        Path | None, typer.Option(help="Extra zone layer (polygons) to score besides EPCI.")
    ] = None,
    zones_id: Annotated[str, typer.Option(help="Id column of --zones.")] = "id",
    priority: Annotated[
        Path | None, typer.Option(help="CSV of official priority EPCI (column epci_siren).")
    ] = None,
    top: Annotated[int, typer.Option(help="Size of the top list of zones.")] = 28,
    k: Annotated[int, typer.Option("-k", "--k", help="Number of new centres to site.")] = 10,
    exact: Annotated[bool, typer.Option(help="Also solve the exact MCLP (HiGHS).")] = True,
    grid: Annotated[bool, typer.Option(help="Also measure at 1 km population cells.")] = True,
    cutoff: Annotated[float, typer.Option(help="Catchment cutoff (2SFCA/APL), minutes.")] = 20.0,
    what_if: Annotated[
        list[str] | None,
        typer.Option("--what-if", help="INSEE code of a commune where a centre would open."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:8786): road bounded searches run there; "
            "workers read the network cache, which must be at the same path on each."
        ),
    ] = None,
    scheduler_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the --scheduler to answer.")
    ] = 10.0,
    allow_modified_data: Annotated[
        bool,
        typer.Option(
            "--allow-modified-data",
            help="Run even if a required input differs from the registry (checksum); the "
            "summary and the metadata then name the files.",
        ),
    ] = False,
) -> None:
    """Who is beyond the target, how zones rank, and where K new centres help most."""

    # The output pair is checked before any work (suffix, kinds, --overwrite); it is written
    # as one unit at the end (accessmap.outputs.geopackage.write_run).
    check_target(out, overwrite, suffix=".gpkg")
    check_target(out.with_suffix(""), overwrite, directory=True)
    params = ScoreParams(
        region=region,
        threshold_min=threshold,
        bands_min=_parse_floats(bands, "--bands"),
        supply=supply,
        supply_kinds=resolve_kinds(supply_kinds),
        engine=engine,
        roads=roads,
        margin_m=margin,
        profile=profile,
        zones=zones,
        zones_id=zones_id,
        priority=priority,
        top_n=top,
        k=k,
        exact=exact,
        grid=grid,
        catchment_cutoff_min=cutoff,
        what_if=tuple(what_if or ()),
    )
    params.validate()
    # A required input that differs from the registry (a file cut at a line boundary reads
    # without error) is refused unless the user accepts it; then every output names it.
    modified = modified_inputs(data_dir)
    if modified and not allow_modified_data:
        raise ModifiedDataError(
            f"{len(modified)} required input(s) differ from the registered version: "
            f"{modified[0]}" + (f" (and {len(modified) - 1} more)" if len(modified) > 1 else "")
            + "; fetch them again (`accessmap data check` lists them) or pass "
            "--allow-modified-data to use them anyway"
        )  # fmt: skip
    params = replace(params, modified_data=tuple(modified))
    console = Console(stderr=True)
    # One connection for the whole run, closed on exit; a bad address is a ConfigError
    # (one line on stderr) raised before any data is read.
    with dask_client(scheduler, timeout=scheduler_timeout) as client:
        if show_progress():
            from rich.progress import Progress

            with Progress(console=console, transient=True) as bar:
                task = bar.add_task("scoring", total=6)

                def cb(stage: str, done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total, description=stage)

                result = run_score(params, data_dir=data_dir, progress=cb, scheduler=client)
        else:
            result = run_score(params, data_dir=data_dir, scheduler=client)
    out, csv_dir = write_run(result, out, overwrite=overwrite)
    if not STATE.quiet:
        render_summary(result, out, csv_dir)


def _fmt_pct(x: Any) -> str:
    return "-" if x is None else f"{100 * float(x):.1f} %"


def render_summary(result: Any, out: Path, csv_dir: Path | None) -> None:
    """Print the readable summary of a run on stdout."""
    con = Console(file=sys.stdout, width=110)
    s = result.summary
    thr = s["threshold_min"]
    con.print(f"[bold]accessmap score[/] — {s['area']}: {s['communes']:,} communes, "
              f"{s['population']:,} inhabitants, {s['gp_count']:,.0f} GPs; "
              f"engine: {', '.join(s['engines'])}")  # fmt: skip
    for line in engine_lines(s):
        con.print(line, markup=False, highlight=False)
    con.print(
        f"Beyond {thr:g} min of a GP: [bold]{_fmt_pct(s['share_beyond_target'])}[/] of the "
        f"population ({s['pop_beyond_target']:,} people); mean time {s['mean_time_min']:.1f} min"
    )
    if "cells_share_beyond_target" in s:
        con.print(f"  at 1 km population cells ({s['cells']:,} cells): "
                  f"{_fmt_pct(s['cells_share_beyond_target'])} beyond {thr:g} min")  # fmt: skip
    con.print(f"APL below 2.5: {_fmt_pct(s['share_apl_below_2_5'])} of the population; "
              f"below 4: {_fmt_pct(s['share_apl_below_4'])}; Gini {s['gini_apl']:.3f}, "
              f"Palma {s['palma_apl']:.2f}")  # fmt: skip
    if s.get("apl_age_standardised_share", 1.0) < 0.999:
        con.print(f"  (APL demand age-standardised for "
                  f"{_fmt_pct(s['apl_age_standardised_share'])} of the population; the rest "
                  "has no age bands in the data and counts with weight 1)")  # fmt: skip
    deps = result.tables.get("departements")
    if deps is not None and len(deps):
        t = Table(title=f"By département: share beyond {thr:g} min", title_justify="left")
        for c in ("dep", "dep_nom", "pop", "share_beyond", "mean_time_min"):
            t.add_column(c, justify="right" if c not in ("dep_nom",) else "left")
        sb = f"share_beyond_{thr:g}"
        for _, r in deps.iterrows():
            t.add_row(str(r["dep"]), str(r["dep_nom"]), f"{int(r['pop']):,}",
                      _fmt_pct(r.get(sb)), f"{r['mean_time_min']:.1f}")  # fmt: skip
        con.print(t)
    z = result.layers["epci_scores"].sort_values("need_rank").head(15)
    t = Table(title="EPCI ranked by need (top 15)", title_justify="left")
    for c in ("rank", "EPCI", "pop", f"beyond {thr:g} min", "mean min", "APL", "need"):
        t.add_column(c, justify="left" if c == "EPCI" else "right")
    for _, r in z.iterrows():
        flag = " *" if bool(r.get("official_priority", False)) else ""
        t.add_row(str(int(r["need_rank"])), f"{r['epci_nom']}{flag}", f"{int(r['pop']):,}",
                  _fmt_pct(r[f"share_beyond_{thr:g}"]), f"{r['mean_time_min']:.1f}",
                  f"{r['apl']:.2f}", f"{r['need_score']:.0f}")  # fmt: skip
    con.print(t)
    if s.get("agreement"):
        con.print(f"Official priority EPCI (*): {s['agreement']}")
    sites = result.layers["sites"]
    if len(sites):
        t = Table(title=f"Proposed new centres (greedy maximal coverage, {thr:g} min)",
                  title_justify="left")  # fmt: skip
        for c in ("rank", "commune", "INSEE", "EPCI", "people newly covered", "cumulative"):
            t.add_column(c, justify="left" if c in ("commune", "EPCI") else "right")
        for _, r in sites.iterrows():
            t.add_row(str(int(r["rank"])), str(r["nom"]), str(r["insee"]), str(r["epci_nom"]),
                      f"{int(r['gain_pop']):,}", f"{int(r['cumulative_pop']):,}")  # fmt: skip
        con.print(t)
        ex = s.get("exact") or {}
        if ex:
            con.print(f"Exact MCLP (HiGHS, {ex.get('status', '')}): {int(ex['objective']):,} "
                      f"people newly covered; greedy reaches "
                      f"{100 * ex['greedy_ratio']:.2f} % of it")  # fmt: skip
    wi = result.tables.get("what_if")
    if wi is not None and len(wi):
        for _, r in wi.iterrows():
            con.print(
                f"What if a centre opens in {r.get('nom', r['site_id'])} "
                f"({r['site_id']}): +{int(r['gain_pop']):,} people within {thr:g} min"
            )
    if s.get("scheduler"):
        con.print(f"Dask scheduler {s['scheduler']}: {s.get('dask_workers', 0)} workers, "
                  f"{s.get('dask_blocks', 0)} blocks of road searches sent")  # fmt: skip
    con.print(f"Wrote {out}" + (f" and CSV tables in {csv_dir}/" if csv_dir else "")
              + f" in {s['seconds']:.1f} s")  # fmt: skip
