"""``accessmap data``: list, fetch and check the datasets of the data directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from accessmap.cli._common import STATE, DataDirOption, show_progress
from accessmap.cli.app import app
from accessmap.data.check import check_data
from accessmap.data.fetch import DEFAULT_DEADLINE_S, FetchItem, fetch
from accessmap.data.registry import load_registry, resolve_data_dir

data_app = typer.Typer(
    help="List, download and check the input datasets.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data_app, name="data")


def _console() -> Console:
    return Console(soft_wrap=False, width=200 if not Console().is_terminal else None)


@data_app.command("list")
def list_cmd(data_dir: DataDirOption = None) -> None:
    """Show the dataset registry and which files are present in the data directory."""

    try:
        d: Path | None = resolve_data_dir(data_dir)
    except Exception:  # a missing directory just means nothing is present
        d = None
    table = Table(title=f"accessmap datasets (data directory: {d or 'not found'})")
    for col in ("dataset", "kind", "required", "files", "present", "licence / attribution"):
        table.add_column(col, overflow="fold")
    for ds in load_registry().values():
        files = "\n".join(f.name for f in ds.files) or f"pip install {ds.package or ds.name}"
        if ds.kind == "package":
            present = "-"
        else:
            n = sum(1 for f in ds.files if d is not None and (d / f.name).is_file())
            present = f"{n}/{len(ds.files)}"
        table.add_row(
            ds.name,
            ds.kind,
            "yes" if ds.required else "",
            files,
            present,
            f"{ds.licence}\n{ds.attribution}",
        )
    _console().print(table)


@data_app.command("fetch")
def fetch_cmd(
    names: Annotated[
        list[str],
        typer.Argument(help="Dataset names (see `accessmap data list`), 'required' or 'all'."),
    ],
    data_dir: DataDirOption = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="Mirror: download <base-url>/<file name> instead of the official URL.",
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Download even if a verified copy is present.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Socket timeout (s).")] = 60.0,
    deadline: Annotated[
        float,
        typer.Option("--deadline", help="Overall limit per file (s); a stalled server fails."),
    ] = DEFAULT_DEADLINE_S,
) -> None:
    """Download datasets into the data directory (streamed, checksummed, atomic)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    err = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show_progress(),
    ) as bar:
        task: list[object] = []

        def on_file(item: FetchItem) -> None:
            task.clear()
            task.append(bar.add_task(item.name, total=item.size))

        def progress(done: int, total: int) -> None:
            if task:
                bar.update(task[0], completed=done, total=total or None)  # type: ignore[arg-type]

        results = fetch(
            names,
            data_dir,
            base_url=base_url,
            overwrite=overwrite,
            progress=progress,
            on_file=on_file,
            timeout=timeout,
            deadline=deadline,
        )
    if not STATE.quiet:
        for r in results:
            typer.echo(f"{r.status:10s} {r.path} ({r.size:,} bytes)")


@data_app.command("check")
def check_cmd(
    data_dir: DataDirOption = None,
    no_checksums: Annotated[
        bool, typer.Option("--no-checksums", help="Skip the SHA-256 comparison.")
    ] = False,
) -> None:
    """Read every dataset present; print files, rows, CRS, status and join rates.

    Exits non-zero when a required dataset is missing, broken, or differs from the registry
    (checksum or row count).
    """

    report = check_data(data_dir, verify_checksums=not no_checksums)
    console = _console()
    table = Table(title=f"accessmap data check: {report.data_dir}")
    for col in ("dataset", "required", "file", "rows", "CRS", "status"):
        table.add_column(col, overflow="fold", justify="right" if col == "rows" else "left")
    for r in report.rows:
        status = r.status if not r.message else f"{r.status}: {r.message}"
        if r.required and r.failed:
            status = f"[bold red]{status} (required)[/]"
        elif r.failed:
            status = f"[yellow]{status}[/]"
        rows = "" if r.rows is None else f"{r.rows:,}"
        table.add_row(r.dataset, "yes" if r.required else "", r.file, rows, r.crs, status)
    console.print(table)
    joins = Table(title="join rates")
    for col in ("join", "matched", "total", "rate", "note"):
        joins.add_column(col, justify="left" if col in ("join", "note") else "right")
    for j in report.join_rates:
        joins.add_row(
            j.name,
            f"{j.matched:,.1f}".removesuffix(".0"),
            f"{j.total:,.1f}".removesuffix(".0"),
            f"{100 * j.rate:.1f} %",
            j.note,
        )
    console.print(joins)
    report.raise_for_problems()
