"""``accessmap validate apl``: our APL against the official DREES APL workbook."""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from accessmap.cli._common import STATE, DataDirOption
from accessmap.cli.app import app
from accessmap.errors import ConfigError
from accessmap.outputs.atomic import atomic_outputs
from accessmap.pipeline import ScoreParams
from accessmap.validation import AplValidation, validate_apl

validate_app = typer.Typer(help="Check our measures against official figures.",
                           no_args_is_help=True)  # fmt: skip
app.add_typer(validate_app, name="validate")


def _pct(x: Any) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f} %"


def _num(x: Any, nd: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


@validate_app.command("apl")
def apl_command(
    workbook: Annotated[
        Path | None,
        typer.Argument(help="DREES APL workbook as published (default: the data directory's)."),
    ] = None,
    data_dir: DataDirOption = None,
    year: Annotated[int | None, typer.Option(help="APL year sheet (default the latest).")] = None,
    region: Annotated[
        str, typer.Option(help="Area to run and compare: FR (default), a région or département.")
    ] = "FR",
    engine: Annotated[str, typer.Option(help="auto | crow-fly | road-network.")] = "auto",
    supply: Annotated[str, typer.Option(help="GP supply: bpe2021 (default) or bpe2019.")] = (
        "bpe2021"
    ),
    consultations_per_gp: Annotated[
        float | None,
        typer.Option(
            "--consultations-per-gp",
            help="Constant consultations per GP head count instead of the fitted activity "
            "curve (DREES new-GP figure: 5400).",
        ),
    ] = None,
    border_km: Annotated[
        float, typer.Option(help="Border context, km (0 = walls at the area's border).")
    ] = 30.0,
    scale_bpe2024: Annotated[
        bool, typer.Option(help="Scale GP counts to the BPE 2024 département totals.")
    ] = False,
    top: Annotated[int, typer.Option(help="Largest disagreements listed.")] = 20,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the CSV tables of the comparison.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out folder.")] = False,
) -> None:
    """Spearman, level, shares below 2.5 and 4, classes, per région/département/EPCI."""
    if top < 0:
        raise ConfigError(f"--top must be >= 0, got {top}")
    params = ScoreParams(region=region, engine=engine, supply=supply, border_km=border_km,
                         scale_bpe2024=scale_bpe2024)  # fmt: skip
    if consultations_per_gp is not None:
        params = replace(params, activity="constant", consultations_per_gp=consultations_per_gp)
    params.validate()
    # the output folder is checked before the (long) run
    units = (atomic_outputs([out], overwrite=overwrite, suffixes=[None], directories=[True])
             if out is not None else [])  # fmt: skip
    val, result = validate_apl(workbook, year=year, region=region, params=params,
                               data_dir=data_dir, n_largest=top)  # fmt: skip
    if units:
        with units[0] as (tmp,):
            for name, tab in val.tables().items():
                tab.to_csv(Path(tmp) / f"{name}.csv", index=False)
    if not STATE.quiet:
        render(val, result.summary, out)


def render(val: AplValidation, summary: dict, out: Path | None) -> None:
    """Print the comparison on stdout."""
    con = Console(file=sys.stdout, width=160)
    a = val.agreement
    con.print(f"[bold]accessmap validate apl[/] — {summary['area']}, APL {val.year} (DREES) "
              f"on {a.n_matched:,} communes; engine {', '.join(summary['engines'])}, GP supply "
              f"{summary.get('gp_source')}")  # fmt: skip
    t = Table(title="Agreement (level: standardised-population-weighted mean; shares: total "
              "population)", title_justify="left")  # fmt: skip
    for c in ("conversion", "Spearman", "Pearson", "level ours", "official", "ratio",
              "< 2.5 ours", "< 2.5 off.", "< 4 ours", "< 4 off.", "same class"):  # fmt: skip
        t.add_column(c, justify="left" if c == "conversion" else "right", no_wrap=True)
    for _, r in val.conversions.iterrows():
        t.add_row(str(r["conversion"]), _num(r["spearman"]), _num(r["pearson"]),
                  _num(r["level_ours"], 2), _num(r["level_official"], 2), _num(r["level_ratio"]),
                  _pct(r["share_below_2_5_ours"]), _pct(r["share_below_2_5_official"]),
                  _pct(r["share_below_4_ours"]), _pct(r["share_below_4_official"]),
                  _pct(r["share_same_class_pop"]))  # fmt: skip
    con.print(t)
    for _, r in val.targets.iterrows():
        mark = "[green]met[/]" if bool(r["met"]) else "[red]NOT met[/]"
        con.print(f"  target {r['target']}: {_num(float(r['value']))} ({r['goal']}) {mark}")
    conf = a.confusion_pop
    t = Table(title="Classes, people (rows official, columns ours)", title_justify="left")
    t.add_column("official \\ ours")
    for c in conf.columns:
        t.add_column(str(c), justify="right")
    for idx, row in conf.iterrows():
        t.add_row(str(idx), *[f"{float(v):,.0f}" for v in row])
    con.print(t)
    if len(val.by_region):
        t = Table(title="By région", title_justify="left")
        for c in ("reg", "région", "communes", "Spearman", "level ratio", "< 2.5 ours",
                  "< 2.5 off."):  # fmt: skip
            t.add_column(c, justify="left" if c == "région" else "right")
        for _, r in val.by_region.iterrows():
            t.add_row(str(r["reg"]), str(r["reg_nom"]), f"{int(r['n_matched']):,}",
                      _num(r.get("spearman")), _num(r.get("level_ratio")),
                      _pct(r.get("share_below_2_5_ours")),
                      _pct(r.get("share_below_2_5_official")))  # fmt: skip
        con.print(t)
    deps = a.by_group.get("dep")
    if deps is not None and len(deps):
        worst = deps.assign(gap=(deps["level_ratio"] - 1).abs()).sort_values("gap", ascending=False)
        t = Table(title=f"By département ({len(deps)}; the 10 with the largest level gap, all in "
                  "the apl_agreement_by_dep table)", title_justify="left")  # fmt: skip
        for c in ("dep", "communes", "Spearman", "level ratio", "< 2.5 ours", "< 2.5 off."):
            t.add_column(c, justify="right")
        for _, r in worst.head(10).iterrows():
            t.add_row(str(r["dep"]), f"{int(r['n_matched']):,}", _num(r.get("spearman")),
                      _num(r.get("level_ratio")), _pct(r.get("share_below_2_5_ours")),
                      _pct(r.get("share_below_2_5_official")))  # fmt: skip
        con.print(t)
    ep = a.by_group.get("epci_siren")
    if ep is not None and len(ep):
        con.print(f"By EPCI: {len(ep):,} EPCI, median Spearman "
                  f"{pd.to_numeric(ep['spearman'], errors='coerce').median():.3f}, median level "
                  f"ratio {pd.to_numeric(ep['level_ratio'], errors='coerce').median():.3f} "
                  "(table apl_agreement_by_epci_siren)")  # fmt: skip
    lg = val.largest
    if len(lg):
        t = Table(title=f"The {len(lg)} largest disagreements", title_justify="left")
        for c in ("rank", "INSEE", "ours", "official", "pop", "likely cause"):
            t.add_column(c, justify="left" if c == "likely cause" else "right")
        for _, r in lg.iterrows():
            t.add_row(str(int(r["rank"])), str(r["insee"]), _num(r["apl_ours"], 2),
                      _num(r["apl_official"], 2), f"{float(r['pop_total']):,.0f}",
                      str(r["cause"]))  # fmt: skip
        con.print(t)
    for n in val.notes:
        con.print(f"- {n}")
    if out is not None:
        con.print(f"Wrote the tables in {out}/")
