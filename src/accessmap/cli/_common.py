"""Shared CLI helpers: global state from the callback, logging, the data-dir option."""

from __future__ import annotations

import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TextIO

import typer


@dataclass
class _State:
    verbose: int = 0
    quiet: bool = False


STATE = _State()

#: Reusable ``--data-dir`` option for every command that reads inputs.
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (default: $ACCESSMAP_DATA_DIR, then the user cache directory).",
        file_okay=False,
    ),
]


def configure_logging(verbose: int, quiet: bool) -> None:
    """Configure the ``accessmap`` logger with a rich handler on stderr (CLI only)."""
    from rich.logging import RichHandler

    level = (
        logging.ERROR
        if quiet
        else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    )
    logger = logging.getLogger("accessmap")
    logger.handlers.clear()
    from rich.console import Console

    if sys.stderr.isatty():
        logger.addHandler(RichHandler(console=Console(stderr=True), show_path=False))
    else:  # logs, pipes, CI: one plain line per message (Rich would wrap at 80 columns)
        plain = logging.StreamHandler(sys.stderr)
        plain.setFormatter(_OneLineFormatter())
        logger.addHandler(plain)
    logger.setLevel(level)
    logger.propagate = False
    configure_warnings()


class _OneLineFormatter(logging.Formatter):
    """``accessmap: warning: <message on one line>`` (tracebacks only with -v)."""

    def format(self, record: logging.LogRecord) -> str:
        text = " ".join(record.getMessage().split())
        out = f"accessmap: {record.levelname.lower()}: {text}"
        if record.exc_info and STATE.verbose:
            out += "\n" + self.formatException(record.exc_info)
        return out


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str,
                      lineno: int, file: TextIO | None = None,
                      line: str | None = None) -> None:  # fmt: skip
    """Print a Python warning as one ``accessmap: warning: ...`` line on stderr (CLI only).

    Counted warnings (codes dropped, ...) are part of what the user must see; Python's
    default format adds the file, line and source text on a second line.
    """
    if STATE.quiet:
        return
    text = " ".join(str(message).split())
    print(f"accessmap: warning: {text}", file=file or sys.stderr)


def configure_warnings() -> None:
    """Route Python warnings to :func:`_one_line_warning` (Python's filters unchanged)."""
    warnings.showwarning = _one_line_warning


def show_progress() -> bool:
    """Progress bars only when stderr is a terminal and not ``-q``."""
    return sys.stderr.isatty() and not STATE.quiet
