"""The one atomic writer: outputs appear whole or not at all, and earlier outputs survive.

Every file or folder accessmap writes (GeoPackage, CSV folder, maps, report, compiled
graphs, downloads, travel-time tables) goes through this module:

* :func:`atomic_file` yields a temporary sibling of the target (same directory, so the final
  :func:`os.replace` is an atomic rename on POSIX file systems) and moves it into place only
  when the ``with`` block succeeds; on any error the temporary file is removed and the
  target is untouched.
* :func:`atomic_outputs` does the same for **several targets as one unit** (a GeoPackage and
  its CSV folder, a PNG and an HTML map): everything is written to temporaries first, then
  the existing targets are moved aside, the new ones moved in, and the old ones deleted
  only once every move succeeded; if a move fails the previous outputs are put back.
* :func:`clean_stale` removes temporaries a killed run left next to a target (names carry
  :data:`TMP_TAG`; only files older than the running process are removed, so a concurrent
  run's temporaries are never touched).

The pattern is the classic write-to-temporary-then-rename of POSIX ``rename(2)``; see also
the "safe file writing" notes of the Python ``os.replace`` documentation.

May import: :mod:`accessmap.errors` only (every stage may use it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from accessmap.errors import AccessmapError, ConfigError, OutputExistsError, OutputWriteError

__all__ = [
    "TMP_TAG",
    "OutputWriteError",
    "atomic_file",
    "atomic_outputs",
    "check_target",
    "clean_stale",
    "remove_quietly",
    "tmp_sibling",
]


def _write_error(path: Path, exc: BaseException) -> OutputWriteError:
    reason = getattr(exc, "strerror", None) or str(exc).split("\n")[0][:200]
    return OutputWriteError(
        f"cannot write {path} ({type(exc).__name__}: {reason}); nothing was replaced and "
        "earlier outputs are intact: choose a writable folder with free space (--out)"
    )


def _is_write_failure(exc: BaseException) -> bool:
    """OS and GDAL/SQLite write failures (not programming errors, not our own errors)."""
    if isinstance(exc, AccessmapError):
        return False
    if isinstance(exc, OSError):
        return True
    mod = type(exc).__module__
    return mod.startswith(("pyogrio", "sqlite3", "fiona", "rasterio")) or (
        isinstance(exc, RuntimeError) and "disk" in str(exc).lower()
    )


#: Marker in the names of temporary files and folders (``.<stem>.accessmap-tmp-<token>``).
TMP_TAG = ".accessmap-tmp-"
_OLD_TAG = ".accessmap-old-"
#: When this process started (temporaries older than this may be cleaned).
_STARTED = time.time()


def tmp_sibling(path: Path, *, tag: str = TMP_TAG) -> Path:
    """A fresh hidden name next to ``path`` that keeps its suffix (drivers pick formats by it)."""
    return path.with_name(f".{path.stem}{tag}{os.getpid()}-{secrets.token_hex(4)}{path.suffix}")


def remove_quietly(path: Path) -> None:
    """Remove a file or folder and its SQLite/GDAL side files; ignore what is missing."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
        return
    for p in (path, *(Path(f"{path}{s}") for s in ("-journal", "-wal", "-shm", ".aux.xml"))):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            p.unlink()


def check_target(path: Path, overwrite: bool, *, suffix: str | None = None,
                 directory: bool = False) -> None:  # fmt: skip
    """Refuse an output that exists (unless ``overwrite``), has the wrong suffix or kind.

    Raises
    ------
    ConfigError
        Wrong suffix, a folder where a file is expected (or the reverse).
    OutputExistsError
        The target exists and ``overwrite`` is False.
    """
    if suffix and path.suffix.lower() != suffix:
        raise ConfigError(
            f"output {path} must end in {suffix}: rename it (e.g. {path.stem}{suffix})"
        )
    if not directory and path.is_dir():
        raise ConfigError(f"output {path} is a directory: give a file name ending in {suffix}")
    if directory and path.exists() and not path.is_dir():
        raise ConfigError(f"{path} is a file: give a directory for the CSV tables")
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} already exists; pass --overwrite (overwrite=True) to replace it, "
            "or choose another output path"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(path.parent, exc) from exc
    if not os.access(path.parent, os.W_OK):  # read-only folder or file system: fail before work
        raise _write_error(path.parent, PermissionError(13, "folder is not writable"))


def clean_stale(path: Path) -> list[Path]:
    """Remove temporaries of ``path`` that an interrupted earlier run left behind.

    Only names made by :func:`tmp_sibling` for this target, and only those last modified
    before this process started, are removed. Returns what was removed.
    """
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    for tag in (TMP_TAG, _OLD_TAG):
        prefix = f"{path.stem.lstrip('.')}{tag}"
        for p in path.parent.glob(f".*{prefix}*"):
            # ".<stem><tag>..." and the nested temporaries of a writer that itself writes
            # atomically into a temporary ("..<stem><tag>...<tag>...", SQLite "-journal")
            if not p.name.lstrip(".").startswith(prefix):
                continue
            try:
                if p.lstat().st_mtime < _STARTED:
                    remove_quietly(p)
                    removed.append(p)
            except FileNotFoundError:
                continue
    return removed


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], *, overwrite: bool = False,
                suffix: str | None = None, mode: int | None = 0o666) -> Iterator[Path]:  # fmt: skip
    """Write ``path`` through a temporary sibling; ``with atomic_file(p) as tmp: write(tmp)``.

    Parameters
    ----------
    path : path-like
        Final file.
    overwrite : bool
        Replace an existing file (otherwise :class:`OutputExistsError`, before and after
        writing: a file that appeared meanwhile is never clobbered).
    suffix : str, optional
        Required suffix (``".gpkg"``).
    mode : int or None
        File mode (less the umask) given to the result; ``None`` keeps the writer's.
    """
    (out,) = atomic_outputs([Path(path)], overwrite=overwrite, suffixes=[suffix], mode=mode)
    with out as tmps:
        yield tmps[0]


class _Unit:
    """Context manager behind :func:`atomic_outputs` (see there)."""

    def __init__(self, targets: list[Path], overwrite: bool, dirs: list[bool],
                 mode: int | None) -> None:  # fmt: skip
        self.targets = targets
        self.overwrite = overwrite
        self.dirs = dirs
        self.mode = mode
        self.tmps = [tmp_sibling(t) for t in targets]

    def __enter__(self) -> list[Path]:
        for tmp, is_dir in zip(self.tmps, self.dirs, strict=True):
            if is_dir:
                try:
                    tmp.mkdir()
                except OSError as exc:
                    for t in self.tmps:
                        remove_quietly(t)
                    raise _write_error(tmp.parent, exc) from exc
        return self.tmps

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            for tmp in self.tmps:
                remove_quietly(tmp)
            if _is_write_failure(exc):  # the real cause, typed (clean-up errors are ignored)
                raise _write_error(self.targets[0], exc) from exc
            return
        try:
            self._swap()
        except BaseException as err:
            for tmp in self.tmps:
                remove_quietly(tmp)
            if _is_write_failure(err):
                raise _write_error(self.targets[0], err) from err
            raise

    def _swap(self) -> None:
        for t in self.targets:
            if t.exists() and not self.overwrite:  # appeared meanwhile: never clobber
                raise OutputExistsError(
                    f"{t} already exists; pass --overwrite (overwrite=True) to replace it"
                )
        if self.mode is not None:
            umask = os.umask(0)
            os.umask(umask)
            for tmp, is_dir in zip(self.tmps, self.dirs, strict=True):
                if tmp.exists() and not is_dir:
                    os.chmod(tmp, self.mode & ~umask)
        olds: list[tuple[Path, Path]] = []
        moved: list[Path] = []
        try:
            for t in self.targets:
                if t.exists() or t.is_symlink():
                    old = tmp_sibling(t, tag=_OLD_TAG)
                    os.replace(t, old)
                    olds.append((t, old))
            for tmp, t in zip(self.tmps, self.targets, strict=True):
                os.replace(tmp, t)
                moved.append(t)
        except BaseException:
            for t in moved:  # undo: new outputs out, previous ones back
                remove_quietly(t)
            for t, old in olds:
                with contextlib.suppress(OSError):
                    os.replace(old, t)
            raise
        for _, old in olds:
            remove_quietly(old)


def atomic_outputs(
    targets: Sequence[str | os.PathLike[str]],
    *,
    overwrite: bool = False,
    suffixes: Sequence[str | None] | None = None,
    directories: Sequence[bool] | None = None,
    mode: int | None = 0o666,
) -> list[_Unit]:
    """Several outputs written as one unit.

    ``with atomic_outputs([gpkg, folder], directories=[False, True])[0] as (tmp_gpkg,
    tmp_folder): ...`` writes into the temporaries (a temporary folder is created for each
    directory target); on success every target is replaced, on failure none is.

    Every target is checked first (:func:`check_target`) and stale temporaries of earlier
    killed runs are cleaned (:func:`clean_stale`).

    Returns
    -------
    list
        One context manager (a list so that ``(unit,) = atomic_outputs(...)`` reads well).
    """
    paths = [Path(t) for t in targets]
    sfx = list(suffixes) if suffixes is not None else [None] * len(paths)
    dirs = list(directories) if directories is not None else [False] * len(paths)
    if len({p.resolve() for p in paths}) != len(paths):
        raise ConfigError(f"two outputs name the same file: {', '.join(map(str, paths))}")
    for p, s, d in zip(paths, sfx, dirs, strict=True):
        check_target(p, overwrite, suffix=s, directory=d)
        clean_stale(p)
    return [_Unit(paths, overwrite, dirs, mode)]
