"""``accessmap score``: the main job, end to end."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from accessmap.cli._common import STATE, DataDirOption, show_progress
from accessmap.cli.app import app
from accessmap.data.check import ModifiedDataError, modified_inputs
from accessmap.data.validate import require_file
from accessmap.errors import ConfigError, UnknownCodeError
from accessmap.outputs.atomic import check_target
from accessmap.outputs.geopackage import CSV_FORMATS, layers_of, write_run
from accessmap.outputs.i18n import DEFAULT_LANG, LANGS
from accessmap.outputs.report import write_report_pdf
from accessmap.parallel import dask_client
from accessmap.pipeline import ScoreParams, run_score
from accessmap.pipeline.summary import engine_lines
from accessmap.supply import SUPPLY_KINDS, resolve_kinds
from accessmap.validation import attach_agreement

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


def _parse_years(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    first, _, last = text.strip().partition("-")
    try:
        y0, y1 = int(first), int(last or first)
    except ValueError:
        raise ConfigError(f"--years {text!r}: give FIRST-LAST, e.g. --years 2026-2028") from None
    return (y0, y1)


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
        str,
        typer.Option(
            help="GP supply: bpe2021 (default, BPE 2021 D265), bpe2019 (D201) or a BPE file path."
        ),
    ] = "bpe2021",
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
    consultations_per_gp: Annotated[
        float | None,
        typer.Option(
            "--consultations-per-gp",
            help="APL supply: this constant number of consultations per GP head count "
            "(DREES new-GP figure: 5400) instead of the fitted activity curve.",
        ),
    ] = None,
    border_km: Annotated[
        float,
        typer.Option(
            help="Border context, km: GPs and people of neighbouring départements "
            "within it count (0 = walls at the border)."
        ),
    ] = 30.0,
    scale_bpe2024: Annotated[
        bool, typer.Option(help="Scale GP counts to the BPE 2024 département totals.")
    ] = False,
    official_apl: Annotated[
        Path | None,
        typer.Option(
            help="DREES APL workbook: compare our APL with it (apl_agreement* tables, "
            "apl_difference layer)."
        ),
    ] = None,
    official_apl_year: Annotated[
        int | None, typer.Option(help="Year sheet of --official-apl (default the latest).")
    ] = None,
    what_if: Annotated[
        list[str] | None,
        typer.Option(
            "--what-if",
            help="INSEE[:DOCTORS] of a commune where a centre would "
            "open (e.g. 46102:6); repeat for several.",
        ),
    ] = None,
    objective: Annotated[
        str,
        typer.Option(
            help="Siting objective: apl (people lifted above APL 2.5), coverage "
            "(people newly within the target) or time (mean time to a GP)."
        ),
    ] = "apl",
    doctors_per_centre: Annotated[
        float, typer.Option(help="Doctors of a new centre (4 = 44 GPs / 11 centres).")
    ] = 4.0,
    candidates: Annotated[
        str | None,
        typer.Option(
            help="Candidate sites: a CSV of INSEE codes or points (lon,lat / x,y), "
            "or 'all' (every commune); default: a pharmacy or 1,000 inhabitants."
        ),
    ] = None,
    candidate_min_pop: Annotated[
        float,
        typer.Option(
            help="Default rule: inhabitants from which a commune without a pharmacy is a candidate."
        ),
    ] = 1000.0,
    within_priority: Annotated[
        Path | None,
        typer.Option(help="CSV of EPCI SIREN codes (ARS priority list): candidates in them only."),
    ] = None,
    existing_centres: Annotated[
        bool, typer.Option(help="Count the existing Ma Santé, Ma Région centres as supply.")
    ] = True,
    planned: Annotated[
        Path | None,
        typer.Option(help="CSV of centres already decided (insee or points, optional doctors)."),
    ] = None,
    per_year: Annotated[
        int | None, typer.Option(help="Centres a year in a multi-year plan (default -k).")
    ] = None,
    years: Annotated[
        str | None, typer.Option(help="Years of a multi-year plan, FIRST-LAST (2026-2028).")
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
    pdf: Annotated[
        Path | None,
        typer.Option("--pdf", help="Also write the report as an A4 PDF (see accessmap report)."),
    ] = None,
    lang: Annotated[
        str, typer.Option("--lang", help=f"Language of the report: {' | '.join(LANGS)}.")
    ] = DEFAULT_LANG,
    csv_format: Annotated[
        str,
        typer.Option(
            "--csv-format",
            help="CSV copies: plain (comma, point) or fr (French spreadsheet: ';', UTF-8 BOM, "
            "decimal comma, rounded).",
        ),
    ] = "plain",
) -> None:
    """Who is beyond the target, how zones rank, and where K new centres help most."""

    # The output pair is checked before any work (suffix, kinds, --overwrite); it is written
    # as one unit at the end (accessmap.outputs.geopackage.write_run).
    check_target(out, overwrite, suffix=".gpkg")
    check_target(out.with_suffix(""), overwrite, directory=True)
    # The user's own files are checked before any work, each message naming its option.
    for option, path in (("--zones", zones), ("--priority", priority), ("--roads", roads)):
        if path is not None and str(path).strip().lower() != "none":
            require_file(path, fix=f"check the {option} path")
    if lang not in LANGS:
        raise ConfigError(f"--lang {lang!r}: use one of {', '.join(LANGS)}")
    if csv_format not in CSV_FORMATS:
        raise ConfigError(f"--csv-format {csv_format!r}: use one of {', '.join(CSV_FORMATS)}")
    if pdf is not None:
        check_target(pdf, overwrite, suffix=".pdf")
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
        objective=objective,
        doctors_per_centre=doctors_per_centre,
        candidates=candidates,
        candidate_min_pop=candidate_min_pop,
        within_priority=within_priority,
        existing_centres=existing_centres,
        planned=planned,
        per_year=per_year,
        years=_parse_years(years),
        border_km=border_km,
        scale_bpe2024=scale_bpe2024,
    )
    if consultations_per_gp is not None:
        params = replace(params, activity="constant", consultations_per_gp=consultations_per_gp)
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
    if official_apl is not None:
        try:
            attach_agreement(result, official_apl, year=official_apl_year, params=params,
                             data_dir=data_dir)  # fmt: skip
        except UnknownCodeError as exc:
            # the workbook has no commune of the area (the bundle's leaves Occitanie out):
            # the run stands, the report and the metadata say so plainly (a counted warning)
            gone = {"workbook": Path(official_apl).name, "reason": str(exc)}
            result.summary["apl_official_unavailable"] = gone
            result.metadata.setdefault("summary", {})["apl_official_unavailable"] = gone
            console.print(f"warning: --official-apl not compared: {exc}", markup=False,
                          highlight=False, soft_wrap=True)  # fmt: skip
    out, csv_dir = write_run(result, out, overwrite=overwrite, csv_format=csv_format)
    if pdf is not None:
        layers, meta = layers_of(result)
        write_report_pdf(layers, pdf, metadata=meta, lang=lang, overwrite=overwrite)
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
        rank = "-" if pd.isna(r["need_rank"]) else str(int(r["need_rank"]))
        t.add_row(rank, f"{r['epci_nom']}{flag}", f"{int(r['pop']):,}",
                  _fmt_pct(r[f"share_beyond_{thr:g}"]), f"{r['mean_time_min']:.1f}",
                  f"{r['apl']:.2f}", f"{r['need_score']:.0f}")  # fmt: skip
    con.print(t)
    if s.get("agreement"):
        con.print(f"Official priority EPCI (*): {s['agreement']}")
    if s.get("apl_official_year"):
        con.print(f"Official APL {s['apl_official_year']} (DREES) on "
                  f"{s['apl_official_n_matched']:,} communes: Spearman "
                  f"{s['apl_official_spearman']:.3f}; level ours {s['apl_official_level_ours']:.2f}"
                  f" vs {s['apl_official_level']:.2f}; below 2.5 ours "
                  f"{_fmt_pct(s['apl_official_share_below_2_5_ours'])} vs "
                  f"{_fmt_pct(s['apl_official_share_below_2_5'])} (tables apl_agreement*)"
                  )  # fmt: skip
    _render_siting(con, result, thr)
    if s.get("scheduler"):
        con.print(f"Dask scheduler {s['scheduler']}: {s.get('dask_workers', 0)} workers, "
                  f"{s.get('dask_blocks', 0)} blocks of road searches sent")  # fmt: skip
    con.print(f"Wrote {out}" + (f" and CSV tables in {csv_dir}/" if csv_dir else "")
              + f" in {s['seconds']:.1f} s")  # fmt: skip


_OBJECTIVE_TITLES = {
    "apl": "people lifted above APL 2.5",
    "coverage": "people newly within {thr:g} min (maximal coverage)",
    "time": "mean time to the nearest GP (p-median)",
}


def _render_siting(con: Console, result: Any, thr: float) -> None:
    """The proposed sites with their gains in APL and in 15-minute terms, and the what-ifs."""
    s = result.summary
    info = s.get("siting") or {}
    sites = result.layers["sites"]
    obj = info.get("objective", "coverage")
    if len(sites):
        title = _OBJECTIVE_TITLES.get(obj, obj).format(thr=thr)
        t = Table(title=f"Proposed new centres ({obj}: {title}; "
                        f"{info.get('doctors_per_centre', 4):g} doctors each)",
                  title_justify="left")  # fmt: skip
        multi = "year" in sites.columns and bool(sites["year"].notna().any())
        cols = ["rank", *(["year"] if multi else []), "commune", "INSEE", "doctors"]
        cols += ["lifted >= 2.5", "APL here", f"newly <= {thr:g} min", "mean time (min)"]
        for c in cols:
            t.add_column(c, justify="left" if c == "commune" else "right")
        for _, r in sites.iterrows():
            label = r["label"] if "label" in r else r["nom"]
            year = [str(int(r["year"]))] if multi else []
            t.add_row(
                str(int(r["rank"])), *year, str(label), str(r["insee"]),
                f"{float(r.get('doctors', 0)):g}", f"+{int(r.get('lifted_pop', 0)):,}",
                f"{r.get('apl_site_before', float('nan')):.2f} -> "
                f"{r.get('apl_site_after', float('nan')):.2f}",
                f"+{int(r['gain_pop']):,}", f"{r.get('time_change_min', 0.0) + 0.0:+.3f}",
            )  # fmt: skip
        con.print(t)
        eff = info.get("effects") or {}
        if eff:
            con.print(
                f"Together: {int(eff['lifted_pop']):,} people lifted above APL 2.5 "
                f"({int(eff['pop_below_2_5']):,} left below), mean APL gain of the under-served "
                f"+{eff['apl_gain_under']:.3f}; {int(eff['newly_within_pop']):,} people newly "
                f"within {thr:g} min; mean time {eff['mean_time_change_min']:+.3f} min"
            )
        b = info.get("bound") or {}
        if b:
            con.print(f"{b['method']}: best {b['value']:,.0f}, upper bound "
                      f"{b['upper_bound']:,.0f}, gap {100 * b['gap']:.2f} %"
                      + (" (optimal)" if b.get("optimal") else ""))  # fmt: skip
        for y in info.get("years") or []:
            con.print(f"  after {y['year']}: {int(y['lifted_pop']):,} lifted above 2.5, "
                      f"{int(y['newly_within_pop']):,} newly within {thr:g} min, mean time "
                      f"{y['mean_time_min']:.2f} min")  # fmt: skip
        comp = info.get("compare") or {}
        if len(comp) > 1:
            con.print("Same number of centres chosen by each objective: " + "; ".join(
                f"{o}: +{int(e['lifted_pop']):,} >= 2.5, +{int(e['newly_within_pop']):,} "
                f"<= {thr:g} min, {e['mean_time_change_min']:+.3f} min"
                for o, e in comp.items()))  # fmt: skip
        ex = s.get("exact") or {}
        if ex:
            con.print(f"Exact MCLP (HiGHS, {ex.get('status', '')}): {int(ex['objective']):,} "
                      f"people newly covered at best; its greedy reaches "
                      f"{100 * ex['greedy_ratio']:.2f} % of it")  # fmt: skip
    wi = result.tables.get("what_if")
    if wi is not None and len(wi):
        for _, r in wi.iterrows():
            label = r["label"] if "label" in r else r.get("nom", r["site_id"])
            if "lifted_pop" in r:
                con.print(
                    f"What if a centre with {float(r['doctors']):g} doctors opens in {label} "
                    f"({r['site_id']}): APL there {r['apl_site_before']:.2f} -> "
                    f"{r['apl_site_after']:.2f}; {int(r['lifted_pop']):,} people lifted above "
                    f"2.5 (mean gain +{r['apl_gain_under']:.3f} for the "
                    f"{int(r['under_in_reach_pop']):,} under-served in reach); "
                    f"+{int(r['gain_pop']):,} people within {thr:g} min; mean time "
                    f"{r['time_change_min']:+.4f} min; most: {r['top_communes']}"
                )
            else:
                con.print(f"What if a centre opens in {label} ({r['site_id']}): "
                          f"+{int(r['gain_pop']):,} people within {thr:g} min")  # fmt: skip
