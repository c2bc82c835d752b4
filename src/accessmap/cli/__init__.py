"""The ``accessmap`` command line.

The CLI parses options, calls one library function, renders the result and sets the exit
code. Errors are caught here, at the command boundary: one line on stderr, non-zero exit,
no traceback unless ``-v`` (the fastapi-cli pattern).
"""

from __future__ import annotations

import logging
import sys

import typer

from accessmap.cli import data as _data  # noqa: F401  (registers its commands on app)
from accessmap.cli import network as _network  # noqa: F401
from accessmap.cli import outputs as _outputs  # noqa: F401
from accessmap.cli import score as _score  # noqa: F401
from accessmap.cli import validate as _validate  # noqa: F401
from accessmap.cli._common import STATE
from accessmap.cli.app import app
from accessmap.errors import AccessmapError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point with the error boundary."""
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
