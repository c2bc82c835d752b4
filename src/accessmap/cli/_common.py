"""Shared CLI helpers: global state from the callback, logging, the data-dir option."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

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

    logger.addHandler(RichHandler(console=Console(stderr=True), show_path=False))
    logger.setLevel(level)
    logger.propagate = False


def show_progress() -> bool:
    """Progress bars only when stderr is a terminal and not ``-q``."""
    return sys.stderr.isatty() and not STATE.quiet
