"""Every kind of bad input, each with a small broken file made inside the test."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from accessmap.data import validate as v
from accessmap.errors import (
    BadValueError,
    CRSMismatchError,
    DataNotFoundError,
    DuplicateIdError,
    EmptyLayerError,
    InvalidGeometryError,
    MissingColumnError,
    MissingCRSError,
    UnknownCodeError,
    UnreadableFileError,
)

CSV = "insee,pop\n09001,59\n09002,625\n"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as exc:
        v.read_csv(tmp_path / "absent.csv", columns=["insee"])
    assert "absent.csv" in str(exc.value) and "accessmap data fetch" in str(exc.value)


def test_read_csv_ok_plain_gz_zip(tmp_path: Path) -> None:
    plain = tmp_path / "t.csv"
    plain.write_text(CSV)
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(CSV.encode()))
    zp = tmp_path / "t.zip"
    with zipfile.ZipFile(zp, "w") as zf:
        zf.writestr("notes.csv", "a\n1\n")  # smaller member: ignored
        zf.writestr("data.csv", CSV.replace(",", ";") + "09003;1\n" * 5)
    for p, sep in ((plain, ","), (gz, ","), (zp, None)):
        df = v.read_csv(p, columns=["insee", "pop"], dtype={"insee": "str"}, sep=sep)
        assert df["insee"].iloc[0] == "09001" and df["pop"].iloc[1] == 625


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(("insee,pop\n" + "09001,59\n" * 5000).encode())
    p = tmp_path / "cut.csv.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableFileError) as exc:
        v.read_csv(p, columns=["insee"])
    msg = str(exc.value)
    assert "cut.csv.gz" in msg and "truncated or corrupt" in msg and "fetch it again" in msg


def test_not_a_zip(tmp_path: Path) -> None:
    p = tmp_path / "bpe.zip"
    p.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(UnreadableFileError, match=r"bpe\.zip: cannot be read \(BadZipFile"):
        v.read_csv(p, columns=["DEPCOM"], sep=None)


def test_latin1_fallback_and_strict_utf8(tmp_path: Path) -> None:
    p = tmp_path / "latin.csv"
    p.write_bytes("insee,nom\n09001,Ariège\n".encode("latin-1"))
    df = v.read_csv(p, columns=["nom"], encoding=None)
    assert df["nom"].iloc[0] == "Ariège"
    with pytest.raises(UnreadableFileError, match=r"latin\.csv: not valid utf-8 text"):
        v.read_csv(p, columns=["nom"])


def test_missing_column(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(CSV)
    with pytest.raises(MissingColumnError) as exc:
        v.read_csv(p, columns=["insee", "population"])
    msg = str(exc.value)
    assert "t.csv: missing column 'population'" in msg and "columns present: insee, pop" in msg


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(EmptyLayerError, match=r"empty\.csv: file is empty"):
        v.read_csv(empty, columns=["insee"])
    header = tmp_path / "header.csv"
    header.write_text("insee,pop\n")
    with pytest.raises(EmptyLayerError, match=r"header\.csv: no rows"):
        v.read_csv(header, columns=["insee"])
    assert len(v.read_csv(header, columns=["insee"], allow_empty=True)) == 0


def test_read_header(tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("a;b;c\n1;2;3\n")
    assert v.read_header(p) == ["a", "b", "c"]


def _gpkg(tmp_path: Path, gdf: gpd.GeoDataFrame, layer: str = "communes") -> Path:
    p = tmp_path / "t.gpkg"
    gdf.to_file(p, layer=layer, driver="GPKG", engine="pyogrio")
    return p


def test_gpkg_that_is_not_sqlite(tmp_path: Path) -> None:
    p = tmp_path / "fake.gpkg"
    p.write_text("this is not a GeoPackage")
    with pytest.raises(UnreadableFileError) as exc:
        v.read_layer(p, layer="communes", columns=["insee"])
    assert "fake.gpkg (layer 'communes')" in str(exc.value) and "not a GeoPackage" in str(exc.value)


def test_truncated_gpkg(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"insee": [f"{i:05d}" for i in range(2000)]},
        geometry=[box(i, 0, i + 1, 1) for i in range(2000)],
        crs="EPSG:2154",
    )
    p = _gpkg(tmp_path, gdf)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(UnreadableFileError, match=r"t\.gpkg"):
        v.read_layer(p, layer="communes", columns=["insee"])


def test_missing_layer_lists_layers(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"insee": ["09001"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:2154")
    p = _gpkg(tmp_path, gdf, layer="other")
    with pytest.raises(
        DataNotFoundError, match=r"layer 'communes' not found \(layers present: other"
    ):
        v.read_layer(p, layer="communes")


def test_layer_missing_column_and_empty(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"code": ["09001"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:2154")
    p = _gpkg(tmp_path, gdf)
    with pytest.raises(
        MissingColumnError, match=r"t\.gpkg \(layer 'communes'\): missing column 'insee'"
    ):
        v.read_layer(p, layer="communes", columns=["insee"])
    empty = gpd.GeoDataFrame({"insee": pd.Series([], dtype="str")}, geometry=[], crs="EPSG:2154")
    p2 = tmp_path / "empty.gpkg"
    empty.to_file(p2, layer="communes", driver="GPKG", engine="pyogrio")
    with pytest.raises(EmptyLayerError, match=r"empty\.gpkg \(layer 'communes'\): no rows"):
        v.read_layer(p2, layer="communes", columns=["insee"])


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_no_crs(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"insee": ["09001"]}, geometry=[box(0, 0, 1, 1)])
    p = _gpkg(tmp_path, gdf)
    layer = v.read_layer(p, layer="communes", columns=["insee"])
    with pytest.raises(MissingCRSError) as exc:
        v.require_crs(layer, where="t.gpkg (layer 'communes')")
    assert "t.gpkg (layer 'communes'): layer has no CRS" in str(exc.value)
    assert "ogr2ogr -a_srs" in str(exc.value)


def test_crs_mismatch() -> None:
    a = gpd.GeoDataFrame(geometry=[Point(1.4, 43.6)], crs="EPSG:4326")
    b = a.to_crs("EPSG:2154")
    with pytest.raises(CRSMismatchError, match="CRS mismatch: origins is in 'EPSG:4326'"):
        v.require_same_crs(a, b, where_a="origins", where_b="facilities")
    v.require_same_crs(b, b.copy(), where_a="x", where_b="y")
    with pytest.raises(CRSMismatchError, match=r"f\.gpkg: CRS is 'EPSG:2154', expected EPSG:4326"):
        v.to_working_crs(b, where="f.gpkg", expected="EPSG:4326")
    out = v.to_working_crs(a, where="a", expected="EPSG:4326")
    assert out.crs.to_epsg() == 2154


def test_coordinates_in_wrong_crs() -> None:
    x = pd.Series([1.44, 574000.0])
    y = pd.Series([43.6, 6280000.0])
    with pytest.raises(CRSMismatchError) as exc:
        v.check_coordinates(x, y, crs="EPSG:4326", where="pts.csv", columns=("lon", "lat"))
    assert "(574000.0, 6280000.0)" in str(exc.value) and "'lon'/'lat'" in str(exc.value)
    with pytest.raises(BadValueError, match=r"missing or non-numeric coordinates \(e\.g\. 'x'"):
        v.check_coordinates(
            pd.Series(["x"]), pd.Series([1.0]), crs="EPSG:2154", where="p", columns=("X", "Y")
        )


def test_invalid_geometry_raises_or_repairs() -> None:
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    gdf = gpd.GeoDataFrame(
        {"insee": ["09001", "09002"]}, geometry=[box(0, 0, 1, 1), bowtie], crs="EPSG:2154"
    )
    with pytest.raises(InvalidGeometryError) as exc:
        v.check_geometries(gdf, where="c.gpkg", id_col="insee")
    msg = str(exc.value)
    assert "feature insee='09002'" in msg and "Self-intersection" in msg and "repair=True" in msg
    fixed = v.check_geometries(gdf, where="c.gpkg", id_col="insee", repair=True)
    assert fixed.is_valid.all() and not gdf.geometry.iloc[1].is_valid  # input untouched
    assert fixed.geometry.iloc[1].area == pytest.approx(0.5)


def test_null_empty_and_wrong_type_geometry() -> None:
    gdf = gpd.GeoDataFrame(
        {"insee": ["09001", "09002"]}, geometry=[box(0, 0, 1, 1), None], crs="EPSG:2154"
    )
    with pytest.raises(InvalidGeometryError, match="feature insee='09002' has no geometry"):
        v.check_geometries(gdf, where="c", id_col="insee", repair=True)
    pts = gpd.GeoDataFrame({"insee": ["09001"]}, geometry=[Point(0, 0)], crs="EPSG:2154")
    with pytest.raises(InvalidGeometryError, match=r"is a Point.*expected MultiPolygon or Polygon"):
        v.check_geometries(pts, where="c", id_col="insee", geom_types={"Polygon", "MultiPolygon"})


def test_duplicate_ids() -> None:
    df = pd.DataFrame({"insee": ["09001", "09002", "09001"]})
    with pytest.raises(DuplicateIdError) as exc:
        v.require_unique(df, "insee", where="c.csv")
    assert "'09001' appears 2 times" in str(exc.value) and "column 'insee'" in str(exc.value)
    v.require_unique(df.iloc[:2], "insee", where="c.csv")


def test_unknown_codes() -> None:
    with pytest.raises(UnknownCodeError) as exc:
        v.require_known_codes(
            pd.Series(["09001", "99999"]), {"09001"}, where="s.csv", column="insee"
        )
    assert "1 value(s) of column 'insee'" in str(exc.value) and "'99999'" in str(exc.value)
    assert "map_commune_codes" in str(exc.value)


def test_code_format() -> None:
    with pytest.raises(BadValueError, match=r"column 'epci_siren' holds '24310001'"):
        v.require_code_format(
            pd.Series(["200067940", "24310001"]),
            pattern=r"\d{9}",
            where="z.csv",
            column="epci_siren",
            description="a 9-digit SIREN",
        )


def test_non_numeric_population() -> None:
    df = pd.DataFrame({"pop": ["59", "abc", "3"]})
    with pytest.raises(BadValueError) as exc:
        v.to_numeric(df, "pop", where="c.csv")
    assert "column 'pop' must be numeric but holds 'abc'" in str(exc.value)
    with pytest.raises(BadValueError, match=r"negative value -3\.0"):
        v.to_numeric(pd.DataFrame({"pop": [1, -3]}), "pop", where="c.csv")
    with pytest.raises(BadValueError, match="1 missing values"):
        v.to_numeric(pd.DataFrame({"pop": [1, None]}), "pop", where="c.csv")
    out = v.to_numeric(pd.DataFrame({"pop": ["1", "2.5"]}), "pop", where="c.csv")
    assert out.tolist() == [1.0, 2.5]
