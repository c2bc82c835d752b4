"""The `accessmap score` command: outputs, summary, bad options and bad inputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyogrio
import pytest

from accessmap.cli import main

TOULOUSE = "roads_occitanie_toulouse_insa-begraphes-osm_nodes.csv"


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_score_default_writes_geopackage(tmp_path, data_dir, capsys) -> None:
    out = tmp_path / "occ.gpkg"
    code = main(["score", "--data-dir", str(data_dir), "--out", str(out), "--no-grid",
                 "-k", "3", "--no-exact"])  # fmt: skip
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert out.exists()
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"communes", "epci_scores", "sites", "isochrones"} <= layers
    assert "Beyond 15 min of a GP" in cap.out
    assert "Proposed new centres" in cap.out
    assert (tmp_path / "occ" / "epci_scores.csv").exists()

    # A second run without --overwrite refuses and leaves the file untouched.
    before = _sha(out)
    code = main(["score", "--data-dir", str(data_dir), "--out", str(out), "-k", "1"])
    cap = capsys.readouterr()
    assert code != 0
    assert "--overwrite" in cap.err
    assert len(cap.err.strip().splitlines()) == 1
    assert _sha(out) == before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--engine", "teleport"], "unknown engine"),
        (["--bands", "10,abc"], "--bands"),
        (["--engine", "road-network", "--roads", "none"], "--roads"),
        (["--what-if", "99999"], "99999"),
        (["--priority", "missing.csv"], "missing.csv"),
    ],
)
def test_score_bad_options_one_line(tmp_path, data_dir, capsys, args, needle) -> None:
    out = tmp_path / "x.gpkg"
    code = main(["score", "--data-dir", str(data_dir), "--out", str(out), "--no-grid",
                 "--no-exact", "-k", "1", *args])  # fmt: skip
    cap = capsys.readouterr()
    assert code != 0
    assert needle in cap.err
    assert len(cap.err.strip().splitlines()) == 1
    assert "Traceback" not in cap.err
    assert not out.exists()


def test_score_missing_data_dir(tmp_path, capsys) -> None:
    code = main(["score", "--data-dir", str(tmp_path / "nodata"), "--out",
                 str(tmp_path / "x.gpkg")])  # fmt: skip
    cap = capsys.readouterr()
    assert code != 0
    assert "nodata" in cap.err
    assert len(cap.err.strip().splitlines()) == 1


def test_score_with_toulouse_roads(tmp_path, data_dir, capsys) -> None:
    out = tmp_path / "tls.gpkg"
    code = main(["score", "--data-dir", str(data_dir), "--out", str(out), "--no-grid",
                 "--no-exact", "-k", "2", "--roads", str(data_dir / TOULOUSE)])  # fmt: skip
    cap = capsys.readouterr()
    assert code == 0, cap.err
    com = pyogrio.read_dataframe(out, layer="communes", read_geometry=False)
    net = com[com["engine"] == "road-network"]
    assert 5 <= len(net) <= 60  # Toulouse and its inner suburbs
    assert "31555" in set(net["insee"])  # Toulouse itself
    assert "road-network" in cap.out


def test_score_other_threshold(tmp_path, data_dir, capsys) -> None:
    out = tmp_path / "t12.gpkg"
    code = main(["score", "--data-dir", str(data_dir), "--out", str(out), "--no-grid",
                 "--no-exact", "-k", "2", "--threshold", "12"])  # fmt: skip
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "Beyond 12 min of a GP" in cap.out
    com = pyogrio.read_dataframe(out, layer="communes", read_geometry=False)
    assert "within_12" in com.columns


def test_unknown_option_is_a_usage_error(capsys) -> None:
    code = main(["score", "--no-such-option"])
    cap = capsys.readouterr()
    assert code == 2
    assert "No such option" in cap.err
    assert "internal error" not in cap.err


def test_version_and_help(capsys) -> None:
    from accessmap import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"accessmap {__version__}"
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("score", "data", "network", "times", "map", "report"):
        assert command in out
