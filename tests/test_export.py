"""accessmap.outputs.geopackage: GeoPackage layers, tables, styles, metadata, QGIS project, CSV."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import accessmap.outputs.geopackage as export
from accessmap.errors import ConfigError, MissingCRSError, OutputExistsError
from accessmap.outputs.atomic import OutputWriteError
from accessmap.outputs.geopackage import (
    ExportError,
    layers_of,
    read_geopackage,
    read_run_metadata,
    to_csv_tables,
    to_geopackage,
    write_tables,
)

QGIS_STYLE_COLUMNS = [
    "id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column",
    "styleName", "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui",
    "update_time",
]  # fmt: skip


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def outputs(score_result):  # type: ignore[no-untyped-def]
    """Layers and metadata of the session's default run_score (conftest ``score_result``)."""
    return layers_of(score_result)


@pytest.fixture(scope="module")
def gpkg(outputs, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    layers, meta = outputs
    path = tmp_path_factory.mktemp("gpkg") / "run.gpkg"
    return to_geopackage(layers, path, metadata=meta)


def _points(n: int = 3, crs: str | None = "EPSG:2154") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"rank": np.arange(1, n + 1), "gain_pop": np.arange(n) * 10.0},
        geometry=[shapely.Point(600000 + i, 6200000) for i in range(n)],
        crs=crs,
    )


# --- the real run -----------------------------------------------------------------------


def test_every_layer_written_with_its_rows_and_kind(gpkg, outputs) -> None:
    layers, _ = outputs
    listed = {str(n): g for n, g in pyogrio.list_layers(gpkg)}
    for name, df in layers.items():
        if len(df.columns) == 0:
            continue
        assert name in listed
        assert pyogrio.read_info(gpkg, layer=name)["features"] == len(df)
    with sqlite3.connect(gpkg) as con:
        kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert kinds["communes"] == "features"
    assert kinds["sites"] == "features"
    # non-spatial tables are GeoPackage attribute tables
    assert kinds["departements"] == "attributes"
    assert kinds["siting_curve"] == "attributes"
    assert kinds["run_metadata"] == "attributes"
    assert kinds["layer_styles"] == "attributes"
    assert listed["communes"] == "MultiPolygon"
    assert listed["sites"] == "Point"


def test_values_and_crs_round_trip(gpkg, outputs) -> None:
    layers, _ = outputs
    back, _ = read_geopackage(gpkg)
    assert set(back) >= {"communes", "cells", "epci_scores", "sites", "isochrones"}
    assert "layer_styles" not in back and "run_metadata" not in back
    com = back["communes"]
    assert com.crs.to_epsg() == 2154
    src = layers["communes"].set_index("insee")
    got = com.set_index("insee").loc[src.index]
    np.testing.assert_allclose(got["time_gp_min"], src["time_gp_min"])
    assert got["within_15"].astype(bool).tolist() == src["within_15"].astype(bool).tolist()
    assert com["insee"].str.len().eq(5).all()  # codes stay text (leading zeros)
    assert isinstance(back["departements"], pd.DataFrame)
    assert not isinstance(back["departements"], gpd.GeoDataFrame)


def test_run_metadata_in_table_and_gpkg_metadata_extension(gpkg, outputs) -> None:
    _, meta = outputs
    rec = read_run_metadata(gpkg)
    assert rec["engines"] == meta["engines"] and rec["engines"]
    assert rec["sources"] == meta["sources"]
    assert all(s["licence"] for s in rec["sources"])
    assert rec["parameters"]["threshold_min"] == 15.0
    assert rec["parameters"]["bands_min"] == [10.0, 15.0, 20.0, 30.0]
    assert rec["created"] == meta["created"]
    assert rec["accessmap_version"]
    assert "written" in rec
    with sqlite3.connect(gpkg) as con:
        md = con.execute(
            "SELECT m.md_scope, m.md_standard_uri, m.mime_type, m.metadata, r.reference_scope, "
            "r.table_name FROM gpkg_metadata m "
            "JOIN gpkg_metadata_reference r ON r.md_file_id = m.id"
        ).fetchall()
        ext = con.execute(
            "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_metadata' "
            "ORDER BY table_name"
        ).fetchall()
    assert ext == [("gpkg_metadata",), ("gpkg_metadata_reference",)]
    assert len(md) == 1
    scope, uri, mime, text, ref_scope, ref_table = md[0]
    assert (scope, uri, mime, ref_scope, ref_table) == (
        "dataset", "urn:accessmap:run-metadata:1", "application/json", "geopackage", None,
    )  # fmt: skip
    doc = json.loads(text)
    assert doc["sources"] == meta["sources"]
    assert doc["engines"] == meta["engines"]
    # GDAL exposes the record, and reading leaves no .aux.xml side-car behind
    info = pyogrio.read_info(gpkg, layer="communes")
    assert json.loads(info["dataset_metadata"]["GPKG_METADATA_ITEM_1"]) == doc
    assert sorted(p.name for p in gpkg.parent.iterdir()) == [gpkg.name]


def test_layer_styles_table_as_qgis_writes_it(gpkg) -> None:
    with sqlite3.connect(gpkg) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
        rows = con.execute(
            "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
            "styleName, styleQML, useAsDefault FROM layer_styles"
        ).fetchall()
        geom_cols = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    assert cols == QGIS_STYLE_COLUMNS
    by_layer: dict[str, list[tuple]] = {}
    for r in rows:
        by_layer.setdefault(r[2], []).append(r)
    assert set(by_layer) == {
        "communes",
        "cells",
        "epci_scores",
        "sites",
        "isochrones",
        "gp_sites",
        "emergency_sites",
        "hospital_sites",
        "health_centres",
    }
    for layer, rs in by_layer.items():
        assert sum(r[6] for r in rs) == 1, f"{layer}: exactly one default style"
        for cat, schema, _, gcol, _, qml, _ in rs:
            assert (cat, schema) == ("", "")
            assert gcol == geom_cols[layer]  # QGIS matches the style on this column
            root = ET.fromstring(qml.split("\n", 1)[1])  # drop the DOCTYPE line
            assert root.tag == "qgis"
    default = {r[2]: r for r in rows if r[6]}
    qml = ET.fromstring(default["communes"][5].split("\n", 1)[1])
    rend = qml.find("renderer-v2")
    assert rend is not None and rend.get("type") == "graduatedSymbol"
    assert rend.get("attr") == "time_gp_min"
    uppers = [float(r.get("upper")) for r in rend.iter("range")]
    assert 15.0 in uppers  # the 15-minute break is a class boundary
    sites = ET.fromstring(default["sites"][5].split("\n", 1)[1])
    assert sites.get("labelsEnabled") == "1"
    expr = sites.find("labeling/settings/text-style").get("fieldName")
    assert '"rank"' in expr and '"label"' in expr


def test_styles_false_writes_no_style_table(outputs, tmp_path) -> None:
    layers, meta = outputs
    p = to_geopackage({"sites": layers["sites"]}, tmp_path / "s.gpkg", metadata=meta,
                      styles=False)  # fmt: skip
    assert "layer_styles" not in {str(n) for n, _ in pyogrio.list_layers(p)}


# --- safety -------------------------------------------------------------------------------


def test_refuses_to_overwrite_and_keeps_file(gpkg, outputs) -> None:
    layers, meta = outputs
    before = _sha(gpkg)
    with pytest.raises(OutputExistsError, match="--overwrite") as err:
        to_geopackage({"sites": layers["sites"]}, gpkg, metadata=meta)
    assert str(gpkg) in str(err.value)
    assert _sha(gpkg) == before


def test_overwrite_replaces(tmp_path) -> None:
    p = tmp_path / "o.gpkg"
    to_geopackage({"sites": _points(3)}, p, metadata={"engine": "crow-fly"})
    to_geopackage({"sites": _points(5)}, p, metadata={"engine": "crow-fly"}, overwrite=True)
    assert pyogrio.read_info(p, layer="sites")["features"] == 5
    assert sorted(x.name for x in tmp_path.iterdir()) == ["o.gpkg"]


def test_failure_midway_leaves_previous_file_and_no_temp(tmp_path, monkeypatch) -> None:
    p = tmp_path / "keep.gpkg"
    to_geopackage({"sites": _points(3)}, p, metadata={"engine": "crow-fly"})
    before = _sha(p)
    real = pyogrio.write_dataframe
    calls = {"n": 0}

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(export.pyogrio, "write_dataframe", flaky)
    with pytest.raises((ExportError, OutputWriteError), match="No space left on device") as err:
        to_geopackage({"a": _points(4), "b": _points(2)}, p, metadata={}, overwrite=True)
    assert "nothing was replaced" in str(err.value)
    assert _sha(p) == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["keep.gpkg"]


def test_creates_missing_parent_directory(tmp_path) -> None:
    p = tmp_path / "new" / "dir" / "x.gpkg"
    to_geopackage({"sites": _points()}, p, metadata={})
    assert p.exists()


def test_empty_tables_skipped_and_empty_layers_kept(tmp_path) -> None:
    empty_sites = gpd.GeoDataFrame({"rank": [], "gain_pop": []}, geometry=[], crs="EPSG:2154")
    p = to_geopackage(
        {"sites": empty_sites, "agreement": pd.DataFrame(), "t": pd.DataFrame({"a": [1]})},
        tmp_path / "e.gpkg", metadata={},
    )  # fmt: skip
    listed = {str(n) for n, _ in pyogrio.list_layers(p)}
    assert "agreement" not in listed
    assert {"sites", "t"} <= listed
    assert pyogrio.read_info(p, layer="sites")["features"] == 0


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "exc", "needle"),
    [
        ({}, ConfigError, "no layers"),
        ({"1bad": pd.DataFrame({"a": [1]})}, ConfigError, "invalid layer name '1bad'"),
        ({"layer_styles": pd.DataFrame({"a": [1]})}, ConfigError, "reserved"),
        ({"x": [1, 2, 3]}, ConfigError, "'x' is a list"),
        ({"pts": _points(crs=None)}, MissingCRSError, "'pts' has geometries but no CRS"),
        (
            {"mix": gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), shapely.box(0, 0, 1, 1)],
                                     crs="EPSG:2154")},
            ConfigError, "mixed geometry types",
        ),
    ],
)  # fmt: skip
def test_bad_layers(tmp_path, layers, exc, needle) -> None:
    with pytest.raises(exc, match=needle):
        to_geopackage(layers, tmp_path / "x.gpkg", metadata={})
    assert not (tmp_path / "x.gpkg").exists()


def test_bad_path_and_metadata(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"must end in \.gpkg"):
        to_geopackage({"sites": _points()}, tmp_path / "x.shp", metadata={})
    (tmp_path / "d.gpkg").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        to_geopackage({"sites": _points()}, tmp_path / "d.gpkg", metadata={})
    with pytest.raises(ConfigError, match="metadata must be a dict"):
        to_geopackage({"sites": _points()}, tmp_path / "x.gpkg", metadata=["engine"])  # type: ignore[arg-type]


def test_read_errors(tmp_path) -> None:
    from accessmap.errors import DataNotFoundError, UnreadableFileError

    with pytest.raises(DataNotFoundError, match="accessmap score --out"):
        read_geopackage(tmp_path / "none.gpkg")
    bad = tmp_path / "bad.gpkg"
    bad.write_text("not a geopackage")
    with pytest.raises(UnreadableFileError, match=r"bad\.gpkg"):
        read_geopackage(bad)
    plain = tmp_path / "plain.gpkg"
    pyogrio.write_dataframe(_points(), plain, layer="p")
    with pytest.raises(UnreadableFileError, match="run_metadata"):
        read_run_metadata(plain)


def test_layers_of_rejects_unknown_objects() -> None:
    with pytest.raises(ConfigError, match="cannot read layers from a int"):
        layers_of(3)


# --- CSV ------------------------------------------------------------------------------------


def test_csv_tables(outputs, tmp_path) -> None:
    layers, meta = outputs
    paths = to_csv_tables(
        {"sites": layers["sites"], "departements": layers["departements"]}, tmp_path / "csv",
        metadata=meta,
    )  # fmt: skip
    assert sorted(p.name for p in paths) == ["departements.csv", "run_metadata.json", "sites.csv"]
    sites = pd.read_csv(tmp_path / "csv" / "sites.csv", dtype={"insee": str})
    np.testing.assert_allclose(sites["x"], layers["sites"].geometry.x.round(1))
    assert sites["insee"].tolist() == layers["sites"]["insee"].tolist()
    assert "geometry" not in sites.columns
    assert (
        json.loads((tmp_path / "csv" / "run_metadata.json").read_text())["engines"]
        == (meta["engines"])
    )
    before = _sha(tmp_path / "csv" / "sites.csv")
    with pytest.raises(OutputExistsError, match=r"sites\.csv"):
        to_csv_tables({"sites": layers["sites"].head(2)}, tmp_path / "csv")
    assert _sha(tmp_path / "csv" / "sites.csv") == before
    to_csv_tables({"sites": layers["sites"].head(2)}, tmp_path / "csv", overwrite=True)
    assert len(pd.read_csv(tmp_path / "csv" / "sites.csv")) == 2


def test_write_tables_from_result(outputs, tmp_path) -> None:
    layers, meta = outputs
    d = write_tables({**layers, "metadata": meta, "agreement": pd.DataFrame()}, tmp_path / "t")
    names = {p.name for p in d.iterdir()}
    assert {"communes.csv", "epci_scores.csv", "siting_curve.csv", "run_metadata.json"} <= names
    assert "agreement.csv" not in names


def test_csv_for_french_spreadsheets(outputs, tmp_path) -> None:
    """``--csv-format fr``: UTF-8 BOM, ';', decimal comma, integers as integers, floats
    rounded to what the measure supports (CSV_DECIMALS)."""
    layers, meta = outputs
    tables = {k: layers[k] for k in ("communes", "departements", "sites")}
    to_csv_tables(tables, tmp_path / "fr", metadata=meta, csv_format="fr")
    raw = (tmp_path / "fr" / "departements.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the accents
    text = raw.decode("utf-8-sig")
    header, first = text.splitlines()[:2]
    assert header.split(";")[:3] == ["dep", "dep_nom", "pop"]
    cells = dict(zip(header.split(";"), first.split(";"), strict=True))
    dep = layers["departements"].iloc[0]
    assert cells["pop"] == str(int(dep["pop"]))  # a float column of integers: no ".0"
    assert cells["share_beyond_15"] == f"{dep['share_beyond_15']:.4f}".replace(".", ",")
    assert cells["mean_time_min"] == f"{dep['mean_time_min']:.1f}".replace(".", ",")
    com = pd.read_csv(tmp_path / "fr" / "communes.csv", sep=";", decimal=",",
                      encoding="utf-8-sig", dtype={"insee": str, "dep": str})  # fmt: skip
    src = layers["communes"]
    np.testing.assert_allclose(com["apl"], src["apl"].round(2), atol=1e-9)
    np.testing.assert_allclose(com["time_gp_min"], src["time_gp_min"].round(1), atol=1e-9)
    assert com["insee"].tolist() == src["insee"].tolist()
    plain = pd.read_csv(to_csv_tables({"communes": src}, tmp_path / "plain")[0])
    np.testing.assert_allclose(plain["apl"], src["apl"])  # the default keeps full precision
    with pytest.raises(ConfigError, match="unknown CSV format 'xls'"):
        to_csv_tables(tables, tmp_path / "x", csv_format="xls")
