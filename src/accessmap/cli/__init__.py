"""The ``accessmap`` command line.

The CLI parses options, calls one library function, renders the result and sets the exit
code. Errors are caught here, at the command boundary: one line on stderr, non-zero exit,
no traceback unless ``-v`` (the fastapi-cli pattern).
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from accessmap.cli._common import STATE
from accessmap.cli.app import app
from accessmap.errors import AccessmapError

__all__ = ["COMMAND_MODULES", "app", "main", "register_commands"]

#: The command modules; each registers its commands on :data:`app` when imported.
COMMAND_MODULES = ("data", "network", "outputs", "score", "validate")


def register_commands() -> None:
    """Import every command module (they register themselves on :data:`app`).

    Done on demand by :func:`main` rather than at import, so that ``accessmap --version``
    does not load the geospatial stack the commands need (0.1 s instead of 2 s). The modules
    are named in :data:`COMMAND_MODULES`; importing one twice is a no-op.
    """
    for name in COMMAND_MODULES:
        importlib.import_module(f"accessmap.cli.{name}")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point with the error boundary."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args != ["--version"]:  # the eager option needs no command
        register_commands()
    try:
        app(args=args, standalone_mode=False)
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
