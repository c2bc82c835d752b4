"""The ``accessmap`` command line.

The CLI parses options, calls one library function, renders the result and sets the exit
code. Errors are caught here, at the command boundary: one line on stderr, non-zero exit,
no traceback unless ``-v`` (the fastapi-cli pattern).
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from accessmap import __version__
from accessmap.cli._common import STATE, configure_logging
from accessmap.errors import AccessmapError

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


def _register() -> None:
    # Sub-command modules register themselves on ``app``; each stage owns its own file.
    from accessmap.cli import data as _data  # noqa: F401
    from accessmap.cli import network as _network  # noqa: F401
    from accessmap.cli import outputs as _outputs  # noqa: F401
    from accessmap.cli import score as _score  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point with the error boundary."""
    _register()
    try:
        app(args=argv, standalone_mode=False)
    except AccessmapError as exc:
        if STATE.verbose:
            logging.getLogger("accessmap").exception("accessmap failed")
        print(f"accessmap: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        print("accessmap: aborted", file=sys.stderr)
        return 130
    except Exception as exc:  # click usage errors (typer vendors click) and the unexpected
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()  # "Usage: ... Error: No such option: --foo" on stderr
            return int(exc.exit_code)  # type: ignore[attr-defined]
        if STATE.verbose:
            raise
        print(
            f"accessmap: internal error: {type(exc).__name__}: {exc} (rerun with -v)",
            file=sys.stderr,
        )
        return 70
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
