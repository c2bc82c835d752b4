"""CLI commands for the outputs stage (placeholder until the stage lands)."""

from __future__ import annotations

from accessmap.cli import app  # noqa: F401
