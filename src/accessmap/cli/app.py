"""The typer application and its global options (``--version``, ``-v``, ``-q``)."""

from __future__ import annotations

from typing import Annotated

import typer

from accessmap import __version__
from accessmap.cli._common import STATE, configure_logging

app = typer.Typer(
    name="accessmap",
    help="Measure medical deserts: drive times to GPs, coverage, APL, zone ranking and siting.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"accessmap {__version__}")
        raise typer.Exit()


@app.callback()
def _callback(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More output; -v shows tracebacks.")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
) -> None:
    """accessmap: who is beyond 15 minutes of a GP, which zones are worst off, where to build."""
    STATE.verbose = verbose
    STATE.quiet = quiet
    configure_logging(verbose, quiet)
