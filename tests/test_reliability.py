"""Issue 15: no silent wrong answer, no half-written output.

A battery of bad inputs and faults, each built in ``tmp_path`` from small real slices of the
data directory (symlinks for the files left alone; never a copy into the repository). For
each case the CLI must give a typed error (or a counted warning), the documented exit code,
exactly one line on stderr, no traceback, nothing half-written, and earlier output intact.

Whole runs use one département (``--region 46``/``09``) with ``--no-grid --no-exact -k 1``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from accessmap.cli import main
from accessmap.data.fetch import content_digest
from accessmap.data.registry import load_registry
from accessmap.outputs.atomic import TMP_TAG
from accessmap.outputs.geopackage import read_run_metadata

FAST = ["--region", "46", "--no-grid", "--no-exact", "-k", "1", "--roads", "none"]
SUPPLY = "supply_gp_counts_commune_bpe2019.csv"
ADMIN = "occitanie_admin.gpkg"
CODES = "commune_codes_to_cog2026_france.csv.gz"
BPE = "bpe2019_health_equipment_france.csv.gz"
ACCESSMAP = [sys.executable, "-c", "import sys; from accessmap.cli import main; sys.exit(main())"]


# ------------------------------------------------------------------------------ helpers
def make_dir(tmp: Path, data_dir: Path, changes: dict[str, bytes | None]) -> Path:
    """A data directory of symlinks to the real files, with ``changes`` (None = removed)."""
    d = tmp / "data"
    d.mkdir(exist_ok=True)
    for p in data_dir.iterdir():
        if p.name not in changes and not (d / p.name).exists():
            (d / p.name).symlink_to(p)
    for name, body in changes.items():
        if body is not None:
            (d / name).write_bytes(body)
    return d


def csv_lines(data_dir: Path, name: str) -> list[bytes]:
    return (data_dir / name).read_bytes().splitlines(keepends=True)


def edit_csv(data_dir: Path, name: str, fn: Callable[[list[str], list[str]], None]) -> bytes:
    """Apply ``fn(header, row)`` to every data row of a comma CSV (rows as lists of str)."""
    lines = (data_dir / name).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    out = [lines[0]]
    for line in lines[1:]:
        row = line.split(",")
        fn(header, row)
        out.append(",".join(row))
    return ("\n".join(out) + "\n").encode()


def gpkg_copy(tmp: Path, data_dir: Path, sql: list[str]) -> bytes:
    """The admin GeoPackage with SQL statements applied (GDAL's rtree triggers stubbed)."""
    p = tmp / "edit.gpkg"
    shutil.copyfile(data_dir / ADMIN, p)
    con = sqlite3.connect(p)
    for fn in ("ST_IsEmpty", "ST_MinX", "ST_MinY", "ST_MaxX", "ST_MaxY", "ST_SRID"):
        con.create_function(fn, 1, lambda g: 0)
    for stmt in sql:
        con.execute(stmt)
    con.commit()
    con.close()
    body = p.read_bytes()
    p.unlink()
    return body


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *needles: str) -> str:
    """One ``accessmap: error:`` line; any other line is a one-line counted warning."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("accessmap: error: ")]
    assert len(errors) == 1, err
    assert all(ln in errors or ln.startswith("accessmap: warning: ") for ln in lines), err
    assert "Traceback" not in err and "internal error" not in err, err
    for n in needles:
        assert n in errors[0], errors[0]
    return errors[0]


def tree(d: Path) -> dict[str, str]:
    """File name -> SHA-256 of everything under ``d`` (hidden temporaries included)."""
    return {
        str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """One good run's output (GeoPackage + CSV folder), copied into each test that needs it."""
    out = tmp_path_factory.mktemp("earlier") / "run.gpkg"
    proc = subprocess.run(
        [*ACCESSMAP, "score", *FAST, "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "ACCESSMAP_DATA_DIR": str(data_dir)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def copy_earlier(earlier: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(earlier, dest / earlier.name)
    shutil.copytree(earlier.with_suffix(""), dest / earlier.stem)
    return dest / earlier.name


# ------------------------------------------------------------------------------ bad data files
# (id, changes builder, extra argv, exit code, words the one stderr line must hold)
def _cut_lines(data_dir: Path) -> bytes:
    """Cut at a line boundary inside the Lot rows: 2,899 of 4,446 communes left."""
    return b"".join(csv_lines(data_dir, SUPPLY)[:2900])


def _cut_mid_line(data_dir: Path) -> bytes:
    body = (data_dir / SUPPLY).read_bytes()
    lines = csv_lines(data_dir, SUPPLY)
    cut = sum(len(x) for x in lines[: len(lines) // 2]) + 9  # inside a row
    return body[:cut]


def _swap_lonlat(data_dir: Path) -> bytes:
    def fn(h: list[str], r: list[str]) -> None:
        if r[h.index("insee")] == "09029":
            i, j = h.index("lon"), h.index("lat")
            r[i], r[j] = r[j], r[i]

    return edit_csv(data_dir, SUPPLY, fn)


def _set(column: str, value: str, insee: str | None = None) -> Callable[[Path], bytes]:
    def build(data_dir: Path) -> bytes:
        def fn(h: list[str], r: list[str]) -> None:
            if insee is None or r[h.index("insee")] == insee:
                r[h.index(column)] = value

        return edit_csv(data_dir, SUPPLY, fn)

    return build


def _drop_column(column: str) -> Callable[[Path], bytes]:
    def build(data_dir: Path) -> bytes:
        lines = (data_dir / SUPPLY).read_text(encoding="utf-8").splitlines()
        i = lines[0].split(",").index(column)
        rows = [",".join(c for k, c in enumerate(ln.split(",")) if k != i) for ln in lines]
        return ("\n".join(rows) + "\n").encode()

    return build


def _duplicate_row(data_dir: Path) -> bytes:
    lines = csv_lines(data_dir, SUPPLY)
    return b"".join([*lines, lines[1]])


def _non_utf8(data_dir: Path) -> bytes:
    return (data_dir / SUPPLY).read_bytes().replace(b"46042", b"46\xff42", 1)


def _half(name: str) -> Callable[[Path], bytes]:
    return lambda d: (d / name).read_bytes()[: (d / name).stat().st_size // 2]


def _flip(name: str) -> Callable[[Path], bytes]:
    def build(d: Path) -> bytes:
        body = bytearray((d / name).read_bytes())
        for k in range(200, 4200, 7):
            body[k] ^= 0x5A
        return bytes(body)

    return build


DATA_CASES: list[tuple[str, dict[str, Callable[[Path], bytes | None]], list[str], int, tuple]] = [
    (
        "supply-cut-at-line-refused",
        {SUPPLY: _cut_lines},
        ["--supply", "bpe2019"],
        6,
        (SUPPLY, "--allow-modified-data"),
    ),
    (
        "supply-cut-mid-line",
        {SUPPLY: _cut_mid_line},
        ["--supply", "bpe2019", "--allow-modified-data"],
        4,
        (SUPPLY, "truncated", "fetch"),
    ),
    (
        "supply-lonlat-swapped",
        {SUPPLY: _swap_lonlat},
        ["--supply", "bpe2019", "--allow-modified-data", "--region", "09"],
        1,
        ("09029", "outside the study area"),
    ),
    (
        "supply-no-gp",
        {SUPPLY: _set("gp_2019", "0")},
        ["--supply", "bpe2019", "--allow-modified-data"],
        1,
        ("no GP",),
    ),
    (
        "supply-text-count",
        {SUPPLY: _set("gp_2019", "abc", "46042")},
        ["--supply", "bpe2019", "--allow-modified-data"],
        1,
        ("gp_2019", "numeric"),
    ),
    (
        "supply-missing-column",
        {SUPPLY: _drop_column("gp_2019")},
        ["--supply", "bpe2019", "--allow-modified-data"],
        1,
        ("missing column 'gp_2019'",),
    ),
    (
        "supply-empty-file",
        {SUPPLY: lambda d: b""},
        ["--supply", "bpe2019", "--allow-modified-data"],
        1,
        ("empty",),
    ),
    (
        "supply-header-only",
        {SUPPLY: lambda d: csv_lines(d, SUPPLY)[0]},
        ["--supply", "bpe2019", "--allow-modified-data"],
        1,
        ("no rows",),
    ),
    (
        "supply-non-utf8",
        {SUPPLY: _non_utf8},
        ["--supply", "bpe2019", "--allow-modified-data"],
        4,
        ("UTF-8",),
    ),
    (
        "supply-duplicate-row",
        {SUPPLY: _duplicate_row},
        ["--supply", "bpe2019", "--allow-modified-data"],
        1,
        ("must be unique",),
    ),
    (
        "supply-code-lost-zero",
        {SUPPLY: _set("insee", "9029", "09029")},
        ["--supply", "bpe2019", "--allow-modified-data", "--region", "09"],
        1,
        ("'9029'", "INSEE commune code"),
    ),
    ("supply-missing", {SUPPLY: lambda d: None}, ["--supply", "bpe2019"], 3, (SUPPLY, "not found")),
    ("admin-truncated", {ADMIN: _half(ADMIN)}, ["--allow-modified-data"], 4, (ADMIN,)),
    (
        "admin-not-sqlite",
        {ADMIN: lambda d: b"PK\x03\x04 not a geopackage" * 100},
        ["--allow-modified-data"],
        4,
        (ADMIN,),
    ),
    ("admin-missing", {ADMIN: lambda d: None}, [], 3, (ADMIN, "not found")),
    (
        "codes-truncated",
        {CODES: _half(CODES)},
        ["--allow-modified-data"],
        4,
        (CODES, "fetch it again"),
    ),
    ("bpe-corrupted", {BPE: _flip(BPE)}, ["--allow-modified-data"], 4, (BPE,)),
]


@pytest.mark.parametrize(
    ("changes", "argv", "code", "needles"),
    [pytest.param(c, a, k, n, id=i) for i, c, a, k, n in DATA_CASES],
)
def test_bad_data_file(
    changes: dict[str, Callable[[Path], bytes | None]],
    argv: list[str],
    code: int,
    needles: tuple[str, ...],
    tmp_path: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    d = make_dir(tmp_path, data_dir, {k: f(data_dir) for k, f in changes.items()})
    out = tmp_path / "out" / "run.gpkg"
    got, _, err = run(["score", "--data-dir", str(d), *FAST, *argv, "--out", str(out)], capsys)
    assert got == code, err
    assert_one_line_error(err, *needles)
    assert not out.parent.exists() or not any(out.parent.iterdir())  # nothing half-written


LAMBERT93_WKT = (
    'PROJCS["RGF93 v1 / Lambert-93",GEOGCS["RGF93 v1",DATUM["Reseau_Geodesique_Francais_1993_v1",'
    'SPHEROID["GRS 1980",6378137,298.257222101]],PRIMEM["Greenwich",0],'
    'UNIT["degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic_2SP"],'
    'PARAMETER["latitude_of_origin",46.5],PARAMETER["central_meridian",3],'
    'PARAMETER["standard_parallel_1",49],PARAMETER["standard_parallel_2",44],'
    'PARAMETER["false_easting",700000],PARAMETER["false_northing",6600000],UNIT["metre",1],'
    'AUTHORITY["EPSG","2154"]]'
)
# GeoPackage point blob (header "GP", version 0, flags 1 = little endian, no envelope, srs 4326)
# + WKB point: New York City (-74.006, 40.713).
NEW_YORK = "X'47500001E61000000101000000{x}{y}'"  # one literal: || of blobs gives text
ADMIN_CASES: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "commune-pop-text": (
        ["UPDATE communes SET pop_mun_2023 = 'abc' WHERE insee = '46042'"],
        ("46042", "pop_mun_2023"),
    ),
    "commune-origin-new-york": (
        [
            "UPDATE commune_origins SET geom = "
            + NEW_YORK.format(
                x=struct.pack("<d", -74.006).hex().upper(),
                y=struct.pack("<d", 40.713).hex().upper(),
            )
            + " WHERE insee = '46042'"
        ],
        ("46042", "outside the study area"),
    ),
    "communes-degrees-declared-2154": (
        [
            "INSERT OR IGNORE INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, "
            f"organization_coordsys_id, definition) VALUES ('RGF93 / Lambert-93', 2154, 'EPSG', "
            f"2154, '{LAMBERT93_WKT}')",
            "UPDATE gpkg_geometry_columns SET srs_id = 2154 WHERE table_name = 'communes'",
            "UPDATE gpkg_contents SET srs_id = 2154 WHERE table_name = 'communes'",
        ],
        ("area (km2)", "outside the plausible range"),
    ),
    "commune-name-not-utf8": (
        ["UPDATE communes SET nom = CAST(X'4361686f72ff' AS TEXT) WHERE insee = '46042'"],
        ("'nom'", "not valid UTF-8"),
    ),
}


@pytest.mark.parametrize("case", list(ADMIN_CASES))
def test_bad_admin_layer(
    case: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql, needles = ADMIN_CASES[case]
    d = make_dir(tmp_path, data_dir, {ADMIN: gpkg_copy(tmp_path, data_dir, sql)})
    out = tmp_path / "out" / "run.gpkg"
    argv = ["score", "--data-dir", str(d), *FAST, "--allow-modified-data", "--out", str(out)]
    code, _, err = run(argv, capsys)
    assert code in (1, 4), err
    assert_one_line_error(err, *needles)
    assert not out.exists()


def test_modified_data_check_fails_and_allowed_run_names_it(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cut at a line boundary (2,899 of 4,446 rows) and one unknown commune code (46999)."""
    body = _cut_lines(data_dir).replace(b"46042,", b"46999,", 1)
    d = make_dir(tmp_path, data_dir, {SUPPLY: body})
    code, out, err = run(["data", "check", "--data-dir", str(d)], capsys)
    assert code == 6, err
    assert_one_line_error(err, SUPPLY, "2,899 rows, the registry has 4,446")
    assert "modified" in out
    # --allow-modified-data: the run goes on and the metadata names the file
    gpkg = tmp_path / "o" / "run.gpkg"
    argv = ["score", "--data-dir", str(d), *FAST, "--supply", "bpe2019",
            "--allow-modified-data", "--out", str(gpkg)]  # fmt: skip
    code, _, err = run(argv, capsys)
    assert code == 0, err
    # counted warning, one line: the unknown code is dropped and named
    assert any(ln.startswith("accessmap: warning: ") and "46999" in ln and "1 row(s)" in ln
               for ln in err.splitlines()), err  # fmt: skip
    meta = read_run_metadata(gpkg)
    text = json.dumps(meta, default=str)
    assert SUPPLY in text and "modified_data" in text


# ------------------------------------------------------------------------------ bad options
OPTION_CASES: list[tuple[str, list[str], int, tuple[str, ...]]] = [
    ("bands-negative", ["--bands", "-5,10"], 1, ("--bands", "-5")),
    ("bands-text", ["--bands", "ten"], 1, ("--bands",)),
    ("threshold-zero", ["--threshold", "0"], 1, ("threshold",)),
    ("k-negative", ["-k", "-1"], 1, ("k",)),
    ("engine-unknown", ["--engine", "teleport"], 1, ("teleport",)),
    ("region-unknown", ["--region", "999"], 1, ("999",)),
    ("cutoff-below-threshold", ["--cutoff", "5"], 1, ("--cutoff",)),
    ("out-wrong-suffix", ["--out", "{tmp}/run.txt"], 1, (".gpkg",)),
    ("zones-missing", ["--zones", "{tmp}/nope.gpkg"], 3, ("nope.gpkg",)),
    ("supply-path-missing", ["--supply", "{tmp}/nope.csv"], 3, ("nope.csv", "--supply")),
    ("roads-missing", ["--roads", "{tmp}/nope.osm.pbf"], 3, ("nope.osm.pbf",)),
    (
        "zones-id-geometry",
        ["--zones", "{data}/occitanie_admin.gpkg", "--zones-id", "geometry"],
        1,
        ("--zones-id",),
    ),
]


@pytest.mark.parametrize(
    ("argv", "code", "needles"), [pytest.param(a, c, n, id=i) for i, a, c, n in OPTION_CASES]
)
def test_bad_option(
    argv: list[str],
    code: int,
    needles: tuple[str, ...],
    tmp_path: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [a.format(tmp=tmp_path, data=data_dir) for a in argv]
    out = ["--out", str(tmp_path / "run.gpkg")] if "--out" not in argv else []
    got, _, err = run(["score", *FAST, *out, *argv], capsys)
    assert got == code, err
    line = assert_one_line_error(err, *needles)
    assert len(line) < 600
    assert not (tmp_path / "run.gpkg").exists()


def test_missing_priority_file_does_not_suggest_fetch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["score", *FAST, "--priority", str(tmp_path / "prio.csv"), "--out",
            str(tmp_path / "run.gpkg")]  # fmt: skip
    code, _, err = run(argv, capsys)
    assert code == 3, err
    line = assert_one_line_error(err, "prio.csv", "--priority")
    assert "data fetch" not in line


def test_long_dataset_name_is_cut(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["data", "fetch", "x" * 100_000, "--data-dir", str(tmp_path)], capsys)
    assert code == 1
    line = assert_one_line_error(err, "100,000 characters")
    assert len(line) < 1_000


def test_supply_accepts_a_bpe_file_path(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gpkg = tmp_path / "run.gpkg"
    argv = ["score", *FAST, "--supply", str(data_dir / BPE), "--out", str(gpkg)]
    code, _out, err = run(argv, capsys)
    assert code == 0, err
    assert "Traceback" not in err and gpkg.is_file()


def test_road_file_covering_nothing_is_refused(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    andorra = data_dir / "roads_andorra_geofabrik-20210622_highways.osm.pbf"
    gpkg = tmp_path / "run.gpkg"
    argv = ["score", *FAST, "--engine", "road-network", "--roads", str(andorra), "--out",
            str(gpkg)]  # fmt: skip
    code, _, err = run(argv, capsys)
    assert code != 0, err
    lines = [ln for ln in err.splitlines() if ln.startswith("accessmap: error:")]
    assert len(lines) == 1 and "covers none" in lines[0], err
    assert not gpkg.exists()


# ------------------------------------------------------------------------------ output faults
def test_existing_output_kept_without_overwrite(
    earlier: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gpkg = copy_earlier(earlier, tmp_path / "o")
    before = tree(tmp_path / "o")
    code, _, err = run(["score", *FAST, "--out", str(gpkg)], capsys)
    assert code == 1
    assert_one_line_error(err, "--overwrite")
    assert tree(tmp_path / "o") == before


def test_csv_folder_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run").write_text("not a folder")
    code, _, err = run(["score", *FAST, "--out", str(tmp_path / "run.gpkg")], capsys)
    assert code == 1
    assert_one_line_error(err, "is a file")
    assert not (tmp_path / "run.gpkg").exists()


def _mount_tmpfs(path: Path, options: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    path.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True)  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "mnt"
    _mount_tmpfs(mnt, "size=3m")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("fault", ["read-only", "full-disk"])
def test_unwritable_output_folder(
    fault: str, earlier: Path, small_fs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if fault == "full-disk":  # 3 MB: the earlier pair fits (about 1.7 MB), a second does not
        gpkg = copy_earlier(earlier, small_fs)
        with open(small_fs / "filler", "wb") as fh:
            try:
                fh.write(b"\0" * (3 << 20))
            except OSError:
                pass
    else:
        gpkg = copy_earlier(earlier, small_fs)
        subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    before = tree(small_fs)
    code, _, err = run(["score", *FAST, "--overwrite", "--out", str(gpkg)], capsys)
    assert code == 73, err
    assert_one_line_error(err, "cannot write", "intact")
    assert tree(small_fs) == before  # earlier pair intact, no temporary left


def test_kill_during_write_keeps_earlier_output_and_next_run_cleans(
    earlier: Path, tmp_path: Path, data_dir: Path
) -> None:
    gpkg = copy_earlier(earlier, tmp_path / "o")
    before = tree(tmp_path / "o")
    env = {**os.environ, "ACCESSMAP_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen([*ACCESSMAP, "score", *FAST, "--overwrite", "--out", str(gpkg)],
                            env=env, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if any(TMP_TAG in p.name for p in (tmp_path / "o").iterdir()):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before writing started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.stderr is not None
    proc.stderr.close()
    after = tree(tmp_path / "o")
    assert {k: v for k, v in after.items() if TMP_TAG not in k} == before
    # The next run of the same output removes the killed run's temporaries.
    again = subprocess.run([*ACCESSMAP, "score", *FAST, "--overwrite", "--out", str(gpkg)],
                           env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert not [p for p in (tmp_path / "o").iterdir() if TMP_TAG in p.name]


def test_concurrent_runs_on_the_same_output(earlier: Path, tmp_path: Path, data_dir: Path) -> None:
    gpkg = copy_earlier(earlier, tmp_path / "o")
    env = {**os.environ, "ACCESSMAP_DATA_DIR": str(data_dir)}
    cmd = [*ACCESSMAP, "score", *FAST, "--overwrite", "--out", str(gpkg)]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    results = [(p.wait(timeout=600), p.communicate()[1]) for p in procs]
    for code, err in results:
        assert code == 0 or len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
    assert any(code == 0 for code, _ in results)
    names = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert names == ["run", "run.gpkg"], names  # one complete pair, no temporary left
    assert sorted(p.name for p in (tmp_path / "o" / "run").iterdir()) == sorted(
        p.name for p in earlier.with_suffix("").iterdir()
    )


def test_map_png_and_html_are_one_unit(
    earlier: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gpkg = copy_earlier(earlier, tmp_path / "o")
    png, html = tmp_path / "o" / "m.png", tmp_path / "o" / "m.html"
    html.mkdir()  # the HTML target is a folder: nothing may be written, not even the PNG
    code, _, err = run(["map", str(gpkg), "--out", str(png), "--html", str(html), "--dpi", "50"],
                       capsys)  # fmt: skip
    assert code == 1
    assert_one_line_error(err, "m.html")
    assert not png.exists()


# ------------------------------------------------------------------------------ downloads
ROUTES: dict[str, tuple[bytes, float]] = {}  # path -> (body, seconds between bytes)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path not in ROUTES:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, drip = ROUTES[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if drip:
                for b in body:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(drip)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_deadline_stops_a_dripping_server(
    server: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "ma_sante_ma_region_centres_partial.csv"
    ROUTES["/" + name] = ((data_dir / name).read_bytes(), 2.0)
    t0 = time.monotonic()
    code, _, err = run(["data", "fetch", "ma_sante_centres", "--data-dir", str(tmp_path),
                        "--base-url", server, "--deadline", "3"], capsys)  # fmt: skip
    assert time.monotonic() - t0 < 30
    assert code == 5
    assert_one_line_error(err, "deadline of 3 s")
    assert list(tmp_path.iterdir()) == []


def test_fetch_sigterm_leaves_no_part(server: str, tmp_path: Path, data_dir: Path) -> None:
    name = "ma_sante_ma_region_centres_partial.csv"
    ROUTES["/" + name] = ((data_dir / name).read_bytes(), 0.2)
    proc = subprocess.Popen([*ACCESSMAP, "data", "fetch", "ma_sante_centres", "--data-dir",
                             str(tmp_path), "--base-url", server],
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(tmp_path.iterdir()):
        time.sleep(0.02)
    time.sleep(0.5)  # the download is under way
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert_one_line_error(err, "SIGTERM")
    assert list(tmp_path.iterdir()) == []


def _travelmapping_archive(data_dir: Path, tmp: Path, *, alter: bool) -> bytes:
    """The France files of the bundle copy re-packed as GitHub would (another top folder,
    other files beside, another gzip), optionally with one waypoint changed."""
    commit = "3d7993c9cb603f57706bf3bcf705eb25895e8526"
    buf = io.BytesIO()
    src = data_dir / "roads_france_travelmapping-20260822_wpt.tar.gz"
    with tarfile.open(src) as tin, tarfile.open(fileobj=buf, mode="w") as tout:
        extra = tarfile.TarInfo(f"HighwayData-{commit}/hwy_data/ESP-CT/espa/espa2.wpt")
        blob = b"A1 http://www.openstreetmap.org/?lat=41.4&lon=2.1\n"
        extra.size = len(blob)
        tout.addfile(extra, io.BytesIO(blob))
        changed = False
        for m in tin:
            if not m.isfile():
                continue
            data = tin.extractfile(m).read()  # type: ignore[union-attr]
            if alter and not changed and m.name.endswith(".wpt"):
                data, changed = data.replace(b"lat=4", b"lat=5", 1), True
            m.name = f"HighwayData-{commit}/" + m.name.split("/", 1)[1]
            m.size = len(data)
            tout.addfile(m, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), compresslevel=1)


@pytest.mark.parametrize("alter", [False, True], ids=["same-content", "altered"])
def test_fetch_travelmapping_checks_content_digest(
    alter: bool, server: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (f,) = load_registry()["travelmapping"].files
    ROUTES["/" + f.name] = (_travelmapping_archive(data_dir, tmp_path, alter=alter), 0.0)
    target = tmp_path / "d"
    code, _out, err = run(["data", "fetch", "travelmapping", "--data-dir", str(target),
                          "--base-url", server], capsys)  # fmt: skip
    if alter:
        assert code == 5
        assert_one_line_error(err, "content of", "differs from the registry")
        assert list(target.iterdir()) == []
    else:
        assert code == 0, err
        digest, n = content_digest(target / f.name, f.content_members)
        assert digest == f.content_sha256 and n == 39_688
