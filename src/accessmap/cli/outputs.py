"""``accessmap map`` and ``accessmap report``: maps and the report (HTML, PDF) of a score run.

Both read the GeoPackage written by ``accessmap score`` (no recomputation), so the figures
in the maps and the report are those of the file GIS staff open in QGIS. French by default
(``--lang en`` for English).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from accessmap.cli._common import STATE
from accessmap.cli.app import app
from accessmap.errors import ConfigError
from accessmap.loaders.admin import load_priority_zones
from accessmap.outputs.atomic import atomic_outputs
from accessmap.outputs.geopackage import read_geopackage
from accessmap.outputs.i18n import DEFAULT_LANG, LANGS
from accessmap.outputs.maps import interactive_map, save_map_png
from accessmap.outputs.report import build_report, write_report, write_report_pdf

DEFAULT_GPKG = Path("out/accessmap.gpkg")

GpkgArg = Annotated[
    Path,
    typer.Argument(help="GeoPackage written by `accessmap score`."),
]
LangOption = Annotated[
    str, typer.Option("--lang", help=f"Language of the texts: {' | '.join(LANGS)}.")
]


def _done(msg: str) -> None:
    if not STATE.quiet:
        typer.echo(msg)


@app.command("map")
def map_command(
    gpkg: GpkgArg = DEFAULT_GPKG,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="PNG file (default: beside the GeoPackage)."),
    ] = None,
    indicator: Annotated[
        str,
        typer.Option(
            "--indicator",
            "-i",
            help="time | apl | need | apl_diff (ours minus the official DREES APL: needs a "
            "run with --official-apl).",
        ),
    ] = "time",
    dep: Annotated[str | None, typer.Option("--dep", help="Zoom on a département (46).")] = None,
    epci: Annotated[str | None, typer.Option("--epci", help="Zoom on an EPCI (SIREN).")] = None,
    dpi: Annotated[int, typer.Option(help="Resolution; 300 = print quality at A4.")] = 300,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write an interactive HTML map here.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
    lang: LangOption = DEFAULT_LANG,
) -> None:
    """Write a PNG choropleth (A4) and optionally an offline interactive HTML map."""

    layers, meta = read_geopackage(gpkg)
    if out is None:
        suffix = f"_dep{dep}" if dep else (f"_epci{epci}" if epci else "")
        out = gpkg.with_name(f"{gpkg.stem}_{indicator}{suffix}.png")
    targets = [out] if html is None else [out, html]
    # The PNG and the HTML map are one unit (accessmap.outputs.atomic.atomic_outputs): both
    # are written to temporaries first; a failure of either leaves the earlier pair intact.
    (unit,) = atomic_outputs(
        targets, overwrite=overwrite, suffixes=[".png", ".html"][: len(targets)]
    )
    with unit as tmps:
        save_map_png(layers, tmps[0], indicator=indicator, dep=dep, epci=epci,
                     metadata=meta, dpi=dpi, overwrite=True, lang=lang)  # fmt: skip
        if html is not None:
            interactive_map(layers, tmps[1], metadata=meta, overwrite=True, lang=lang)
    _done(f"Wrote {out}")
    if html is not None:
        _done(f"Wrote {html}")


@app.command("report")
def report_command(
    gpkg: GpkgArg = DEFAULT_GPKG,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="HTML file (default: beside the GeoPackage)."),
    ] = None,
    pdf: Annotated[
        Path | None,
        typer.Option("--pdf", help="Also write the same report as an A4 PDF here."),
    ] = None,
    priority: Annotated[
        Path | None,
        typer.Option(help="CSV of official priority EPCI (column epci_siren) to compare with."),
    ] = None,
    top: Annotated[int, typer.Option(help="Rows of the EPCI ranking shown.")] = 28,
    lang: LangOption = DEFAULT_LANG,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing report.")] = False,
) -> None:
    """Write the self-contained report (summary, caveats, figures, maps, ranking, siting,
    methods) as HTML, and as an A4 PDF with --pdf."""

    if top < 1:
        raise ConfigError(f"--top must be >= 1, got {top}")
    if lang not in LANGS:
        raise ConfigError(f"--lang {lang!r}: use one of {', '.join(LANGS)}")
    layers, meta = read_geopackage(gpkg)
    official = None
    if priority is not None:
        official = list(load_priority_zones(priority)["epci_siren"].astype(str))
    out = out or gpkg.with_name(f"{gpkg.stem}_report.html")
    if pdf is None:
        write_report(layers, out, metadata=meta, official=official, top_n=top, lang=lang,
                     overwrite=overwrite)  # fmt: skip
        _done(f"Wrote {out}")
        return
    # the HTML and the PDF are one document, written as one unit
    (unit,) = atomic_outputs([out, pdf], overwrite=overwrite, suffixes=[".html", ".pdf"])
    with unit as (tmp_html, tmp_pdf):
        text = build_report(layers, metadata=meta, official=official, top_n=top, lang=lang)
        tmp_html.write_text(text, encoding="utf-8")
        write_report_pdf(layers, tmp_pdf, metadata=meta, html=text, overwrite=True)
    _done(f"Wrote {out}")
    _done(f"Wrote {pdf}")
