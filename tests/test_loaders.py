"""Loaders on the real data (counts, CRS, totals, joins) and on small broken data dirs."""

from __future__ import annotations

import gzip
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Polygon, box

from accessmap import loaders as L
from accessmap.config import OCCITANIE_DEPS
from accessmap.errors import (
    BadValueError,
    ConfigError,
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
from accessmap.loaders import admin as LA

REGION_POP = 6_124_653  # INSEE population municipale 2023, Occitanie (SOURCES.md)


@pytest.fixture(scope="module")
def communes(data_dir: Path) -> gpd.GeoDataFrame:
    return L.load_communes(data_dir)


# --------------------------------------------------------------------------- boundaries


def test_communes(communes: gpd.GeoDataFrame) -> None:
    assert list(communes.columns) == [
        "insee",
        "nom",
        "dep",
        "dep_nom",
        "epci_siren",
        "epci_nom",
        "pop",
        "pop_0_19",
        "pop_20_64",
        "pop_65p",
        "share_65p",
        "area_km2",
        "geometry",
    ]
    assert len(communes) == 4446 and communes["insee"].is_unique
    assert communes.crs.to_epsg() == 2154
    assert int(communes["pop"].sum()) == REGION_POP
    # RP 2021 bands are rounded per IRIS: their sum is 22 below the rounded total 6,022,183.
    assert int(communes[["pop_0_19", "pop_20_64", "pop_65p"]].sum().sum()) == 6_022_161
    assert int(communes["pop_65p"].sum()) == 1_392_178
    assert set(communes["dep"]) == set(OCCITANIE_DEPS)
    assert communes["insee"].map(type).eq(str).all()
    assert communes["epci_siren"].str.fullmatch(r"\d{9}").all()
    # Region area 73,335 km² from the simplified polygons (SOURCES.md).
    assert communes["area_km2"].sum() == pytest.approx(73_335, rel=1e-3)
    toulouse = communes.set_index("insee").loc["31555"]
    assert toulouse["nom"] == "Toulouse" and toulouse["area_km2"] == pytest.approx(118, rel=0.02)
    assert communes["share_65p"].between(0, 1).all()


def test_communes_deps_filter(data_dir: Path) -> None:
    lot = L.load_communes(data_dir, deps=["46"])
    assert len(lot) == 312 and int(lot["pop"].sum()) == 176_473
    assert len(L.load_communes(data_dir, deps=[9])) == len(L.load_communes(data_dir, deps=["09"]))
    with pytest.raises(EmptyLayerError, match=r"no rows for départements \['75'\]"):
        L.load_communes(data_dir, deps=["75"])


def test_origins_inside_their_commune(data_dir: Path, communes: gpd.GeoDataFrame) -> None:
    origins = L.load_commune_origins(data_dir)
    assert list(origins.columns) == ["insee", "nom", "source", "geometry"]
    assert len(origins) == 4446 and origins.crs.to_epsg() == 2154
    assert origins["source"].value_counts().to_dict() == {"mairie": 4212, "point_on_surface": 234}
    poly = communes.set_index("insee").geometry.reindex(origins["insee"])
    import shapely

    inside = shapely.contains(poly.buffer(1.0).to_numpy(), origins.geometry.to_numpy())
    assert inside.all()


def test_epci_and_departements(data_dir: Path) -> None:
    epci = L.load_epci(data_dir)
    assert list(epci.columns) == [
        "epci_siren",
        "epci_nom",
        "epci_type",
        "pop",
        "n_communes",
        "geometry",
    ]
    assert len(epci) == 164 and epci.crs.to_epsg() == 2154
    assert int(epci["pop"].sum()) == REGION_POP and int(epci["n_communes"].sum()) == 4446
    assert set(epci["epci_type"]) <= {"CC", "CA", "CU", "METRO"}
    assert len(L.load_epci(data_dir, deps=["46"])) == 10
    deps = L.load_departements(data_dir)
    assert list(deps.columns) == ["dep", "dep_nom", "pop", "geometry"]
    assert len(deps) == 13 and int(deps["pop"].sum()) == REGION_POP
    assert deps.set_index("dep").loc["46", "dep_nom"] == "Lot"


def test_population_by_age(data_dir: Path, communes: gpd.GeoDataFrame) -> None:
    age = L.load_population_by_age(data_dir)
    assert len(age) == 4446 and int(age["pop"].sum()) == 6_022_183
    merged = communes.set_index("insee")[["pop_65p"]].join(
        age.set_index("insee")["pop_65p"].rename("pop_65p_iris")
    )
    # Same RP 2021 source: the IRIS sums equal the commune layer's age bands.
    assert (merged["pop_65p"] == merged["pop_65p_iris"]).all()


# --------------------------------------------------------------------------- grids


def test_population_grid_occitanie(data_dir: Path) -> None:
    cells = L.load_population_grid(data_dir=data_dir)
    assert list(cells.columns) == ["cell_id", "pop", "geometry"]
    assert len(cells) == 50_486 and cells["cell_id"].is_unique
    assert cells["pop"].sum() == pytest.approx(5_349_557.5, abs=0.5)
    assert (cells["pop"] > 0).all() and cells.crs.to_epsg() == 2154
    assert cells["cell_id"].str.fullmatch(r"CRS3035RES1000mN\d{7}E\d{7}").all()
    # The id's corner is the lower-left corner; the point is the cell centre.
    first = cells.iloc[0]
    n, e = (int(x) for x in first["cell_id"].removeprefix("CRS3035RES1000mN").split("E"))
    tr = Transformer.from_crs("EPSG:3035", "EPSG:2154", always_xy=True)
    x, y = tr.transform(e + 500, n + 500)
    assert first.geometry.x == pytest.approx(x, abs=0.01)
    assert first.geometry.y == pytest.approx(y, abs=0.01)


def test_population_grid_lot(data_dir: Path) -> None:
    cells = L.load_population_grid("popgrid_lot_2015", data_dir=data_dir)
    assert cells["pop"].sum() == pytest.approx(1_809_692, abs=1)
    same = L.load_population_grid(data_dir / "popgrid_lot46_filosofi2015_1km_epsg3035.tif")
    assert same["cell_id"].equals(cells["cell_id"])


def _write_tif(path: Path, values: np.ndarray, *, crs: str | None) -> None:
    import rasterio
    from affine import Affine

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=Affine(1000, 0, 3_600_000, 0, -1000, 2_400_000),
    ) as dst:
        dst.write(values.astype("float32"), 1)


def test_population_grid_small_and_bad(tmp_path: Path) -> None:
    ok = tmp_path / "ok.tif"
    _write_tif(ok, np.array([[0.0, 2.5], [np.nan, 10.0]]), crs="EPSG:3035")
    cells = L.load_population_grid(ok)
    assert cells["cell_id"].tolist() == [
        "CRS3035RES1000mN2399000E3601000",
        "CRS3035RES1000mN2398000E3601000",
    ]
    assert cells["pop"].tolist() == [2.5, 10.0]
    nocrs = tmp_path / "nocrs.tif"
    _write_tif(nocrs, np.ones((2, 2)), crs=None)
    with pytest.raises(MissingCRSError, match=r"nocrs\.tif: raster has no CRS"):
        L.load_population_grid(nocrs)
    neg = tmp_path / "neg.tif"
    _write_tif(neg, np.array([[1.0, -4.0]]), crs="EPSG:3035")
    with pytest.raises(BadValueError, match=r"neg\.tif: negative population -4\.0 at row 0"):
        L.load_population_grid(neg)
    cut = tmp_path / "cut.tif"
    cut.write_bytes(ok.read_bytes()[:100])
    with pytest.raises(UnreadableFileError, match=r"cut\.tif: cannot be read as a raster"):
        L.load_population_grid(cut)
    with pytest.raises(ConfigError, match="unknown dataset 'no_such_grid'"):
        L.load_population_grid("no_such_grid", data_dir=tmp_path)


# --------------------------------------------------------------------------- supply


def test_gp_supply_default(data_dir: Path, communes: gpd.GeoDataFrame) -> None:
    gp = L.load_gp_supply(data_dir)
    assert list(gp.columns) == ["supply_id", "insee", "kind", "count", "geometry"]
    assert len(gp) == 1040 and int(gp["count"].sum()) == 6226
    assert gp["supply_id"].is_unique and (gp["kind"] == "gp").all()
    assert gp["insee"].isin(set(communes["insee"])).all() and gp.crs.to_epsg() == 2154
    by = gp.set_index("insee")["count"]
    assert by["31555"] == 548 and by["34172"] == 393  # Toulouse, Montpellier (SOURCES.md)
    assert int(L.load_gp_supply(data_dir, deps=["46"])["count"].sum()) == 165


def test_gp_supply_sources_agree(data_dir: Path) -> None:
    """The three BPE 2019 routes (commune table, points, official rows) give the same counts."""
    a = L.load_gp_supply(data_dir).set_index("insee")["count"].sort_index()
    b = L.load_gp_supply(data_dir, source="bpe2019-points").set_index("insee")["count"]
    c = L.load_gp_supply(data_dir, source="bpe").set_index("insee")["count"]
    assert a.equals(b.sort_index()) and a.equals(c.sort_index())
    with pytest.raises(ConfigError, match="unknown GP source 'x'"):
        L.load_gp_supply(data_dir, source="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs path="):
        L.load_gp_supply(data_dir, source="bpe-geo")


def test_bpe_france_d201(data_dir: Path) -> None:
    every_dep = sorted(
        set(L.load_commune_code_map(data_dir).str[:2]) | {"971", "972", "973", "974", "976"}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no unmatched code may be reported
        gp = L.load_bpe(types=["D201"], deps=every_dep, data_dir=data_dir)
    assert int(gp["count"].sum()) == 61_429
    assert gp.attrs["unmatched"].empty and gp.attrs["n_rows"] == 18_079
    assert set(gp.columns) == {"insee", "typequ", "count"}
    occ = L.load_bpe(types=("D201", "D265", "D106"), data_dir=data_dir)
    assert occ.groupby("typequ")["count"].sum().to_dict() == {"D106": 76, "D201": 6226}


def test_bpe_unmatched_codes_are_reported(tmp_path: Path, data_dir: Path) -> None:
    p = tmp_path / "bpe.csv.gz"
    rows = [
        "REG;DEP;DEPCOM;DCIRIS;AN;TYPEQU;NB_EQUIP",
        "76;12;12076;12076;2019;D201;2",  # Conques, merged into 12218 in 2025
        "76;12;12218;12218;2019;D201;1",
        "76;46;46999;46999;2019;D201;4",  # not a commune code
        "76;46;46042;46042;2019;D108;7",  # other type: ignored
        "11;75;75056;75056;2019;D201;9",  # outside deps: neither counted nor reported
    ]
    p.write_bytes(gzip.compress("\n".join(rows).encode()))
    with pytest.warns(L.UnmatchedCodeWarning, match=r"1 row\(s\) \(4 equipments\).*'46999'"):
        out = L.load_bpe(p, data_dir=data_dir)
    assert out[["insee", "typequ", "count"]].values.tolist() == [["12218", "D201", 3]]
    assert out.attrs["unmatched"].to_dict("records") == [
        {"code": "46999", "typequ": "D201", "count": 4}
    ]
    with pytest.raises(UnknownCodeError, match="'46999'"):
        L.load_bpe(p, data_dir=data_dir, strict=True)
    with pytest.raises(EmptyLayerError, match=r"no row of equipment type\(s\) D265X.*D108, D201"):
        L.load_bpe(p, data_dir=data_dir, types=["D265X"])


def test_bpe_current_format_zip_without_nb_equip(tmp_path: Path, data_dir: Path) -> None:
    """BPE 2021+ rows (one per equipment, D265, no NB_EQUIP) inside an INSEE-style zip."""
    body = "AN;DEPCOM;DCIRIS;TYPEQU\n" + "2024;46042;46042;D265\n" * 3 + "2024;1001;;D265\n"
    p = tmp_path / "BPE24.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("varmod.csv", "x\n")
        zf.writestr("BPE24.csv", body.encode("latin-1"))
    out = L.load_bpe(p, data_dir=data_dir, deps=["46", "01"])
    assert dict(zip(out["insee"], out["count"], strict=True)) == {"01001": 1, "46042": 3}


def test_bpe_geolocated(tmp_path: Path, data_dir: Path) -> None:
    p = tmp_path / "geo.csv"
    p.write_text(
        "DEPCOM;TYPEQU;LAMBERT_X;LAMBERT_Y\n"
        "46042;D265;574000;6372000\n"
        "46042;D265;;\n"  # no coordinates: placed at the commune origin
        "31555;D265;574500;6280000\n"
        "31555;D108;574500;6280000\n"
    )
    with caplog_disabled():
        gp = L.load_gp_supply(data_dir, source="bpe-geo", path=p)
    assert len(gp) == 3 and gp["count"].tolist() == [1, 1, 1]
    assert gp.attrs["fallback_to_origin"] == 1
    origin = L.load_commune_origins(data_dir, deps=["46"]).set_index("insee").geometry["46042"]
    assert gp.geometry.iloc[1].equals(origin)
    assert gp.geometry.iloc[0].x == pytest.approx(574000)
    lonlat = tmp_path / "lonlat.csv"
    lonlat.write_text("DEPCOM,TYPEQU,LONGITUDE,LATITUDE\n31555,D265,6280000,574500\n")
    with pytest.raises(CRSMismatchError, match=r"'LONGITUDE'/'LATITUDE' are outside"):
        L.load_gp_supply(data_dir, source="bpe-geo", path=lonlat)
    nocoords = tmp_path / "nocoords.csv"
    nocoords.write_text("DEPCOM;TYPEQU;X\n31555;D265;1\n")
    with pytest.raises(MissingColumnError, match="'LAMBERT_X'/'LAMBERT_Y'"):
        L.load_gp_supply(data_dir, source="bpe-geo", path=nocoords)


class caplog_disabled:
    def __enter__(self) -> None:
        import logging

        logging.getLogger("accessmap").disabled = True

    def __exit__(self, *exc: object) -> None:
        import logging

        logging.getLogger("accessmap").disabled = False


def test_emergency_hospitals_centres(data_dir: Path) -> None:
    em = L.load_emergency(data_dir)
    assert list(em.columns) == ["supply_id", "insee", "count", "geometry"]
    assert len(em) == 50 and int(em["count"].sum()) == 76 and em.crs.to_epsg() == 2154
    hosp = L.load_hospitals(data_dir)
    assert list(hosp.columns) == ["finess_et", "name", "facility_type", "insee", "dep", "geometry"]
    assert len(hosp) == 565 and hosp["finess_et"].is_unique and hosp.crs.to_epsg() == 2154
    centres = L.load_health_centres(data_dir)
    assert list(centres.columns) == ["insee", "commune", "site_kind", "status", "geometry"]
    assert len(centres) == 10 and "81163" in set(centres["insee"])
    assert centres.crs.to_epsg() == 2154 and centres.geometry.notna().all()


def test_health_centres_unknown_code(tmp_path: Path, data_dir: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text("insee,commune,site_kind,status_in_source\n75056,Paris,centre,open\n")
    with pytest.raises(UnknownCodeError, match=r"c\.csv: 1 value\(s\) of column 'insee'.*'75056'"):
        L.load_health_centres(data_dir, path=p)


def test_commune_code_map(data_dir: Path) -> None:
    m = L.load_commune_code_map(data_dir)
    assert len(m) == 39_254 and m.index.is_unique
    assert len(m.attrs["ambiguous"]) == 4
    assert m["60455"] == "60694" and m["55273"] == "55386"  # present-day relation wins
    mapped = L.map_commune_codes(["12076", "1001", " 31555 ", "99999"], m)
    assert mapped.iloc[:3].tolist() == ["12218", "01001", "31555"] and pd.isna(mapped.iloc[3])


def test_priority_zones(tmp_path: Path, data_dir: Path) -> None:
    known = set(L.load_epci(data_dir)["epci_siren"])
    p = tmp_path / "z.csv"
    p.write_text("siren;name\n200067940;CC Couserans-Pyrénées\n200044469;CC Mirepoix\n")
    z = L.load_priority_zones(p, known=known)
    assert z["epci_siren"].tolist() == ["200067940", "200044469"]
    assert z["name"].iloc[0] == "CC Couserans-Pyrénées"
    p.write_text("epci_siren\n20006794\n")
    with pytest.raises(BadValueError, match=r"holds '20006794', not a 9-digit EPCI SIREN"):
        L.load_priority_zones(p)
    p.write_text("epci_siren\n200067940\n200067940\n")
    with pytest.raises(DuplicateIdError, match="'200067940' appears 2 times"):
        L.load_priority_zones(p)
    p.write_text("epci_siren\n200000172\n")
    with pytest.raises(UnknownCodeError, match="'200000172'"):
        L.load_priority_zones(p, known=known)
    p.write_text("code\n200067940\n")
    with pytest.raises(MissingColumnError, match="missing column 'epci_siren'"):
        L.load_priority_zones(p)


# --------------------------------------------------------------------------- roads


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("roads_andorra_geofabrik-20210622_highways.osm.pbf", "osm_pbf"),
        ("roads_andorra_geofabrik-20210622_highways.osm.bz2", "osm_bz2"),
        ("roads_occitanie_auch_pfe-osm2024_nodes.csv", "pfe_tables"),
        ("roads_occitanie_nimes_pfe-osm2024_edges.csv", "pfe_tables"),
        ("roads_occitanie_toulouse_insa-begraphes-osm_nodes.csv", "insa_tables"),
        ("roads_occitanie_toulouse_insa-begraphes-osm_edges.csv.gz", "insa_tables"),
    ],
)
def test_detect_road_format(data_dir: Path, name: str, fmt: str) -> None:
    assert LA.detect_road_format(data_dir / name) == fmt


def test_detect_road_format_bad(tmp_path: Path) -> None:
    fake = tmp_path / "x.osm.pbf"
    fake.write_text("<osm></osm>")
    with pytest.raises(UnreadableFileError, match=r"x\.osm\.pbf: not an OSM PBF file"):
        LA.detect_road_format(fake)
    xml = tmp_path / "x.osm"
    xml.write_text('<?xml version="1.0"?><osm version="0.6"></osm>')
    assert LA.detect_road_format(xml) == "osm_xml"
    bz = tmp_path / "y.osm.bz2"
    bz.write_text("plain text")
    with pytest.raises(UnreadableFileError, match="not bzip2-compressed"):
        LA.detect_road_format(bz)
    nodes = tmp_path / "t_nodes.csv"
    nodes.write_text("node_id,lon,lat\n1,0,0\n")
    with pytest.raises(DataNotFoundError, match=r"t_edges.csv"):
        LA.detect_road_format(nodes)
    (tmp_path / "t_edges.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UnreadableFileError, match="match no known layout"):
        LA.detect_road_format(nodes)
    shp = tmp_path / "roads.shp"
    shp.write_text("x")
    with pytest.raises(UnreadableFileError, match="unknown road-network format"):
        LA.detect_road_format(shp)
    with pytest.raises(DataNotFoundError, match=r"absent.osm.pbf"):
        LA.detect_road_format(tmp_path / "absent.osm.pbf")


# --------------------------------------------------------------------------- broken admin


def _admin(tmp_path: Path, **changes: object) -> Path:
    """Write a 2-commune occitanie_admin.gpkg (layer communes) into tmp_path."""
    data = {
        "insee": ["09001", "09002"],
        "nom": ["A", "B"],
        "dep": ["09", "09"],
        "dep_nom": ["Ariège"] * 2,
        "epci_siren": ["200067940"] * 2,
        "epci_nom": ["CC"] * 2,
        "pop_mun_2023": [59, 625],
        "rp2021_pop_0_19": [7, 134],
        "rp2021_pop_20_64": [33, 353],
        "rp2021_pop_65p": [18, 146],
    }
    geoms: list[object] = [box(1.40, 43.0, 1.41, 43.01), box(1.41, 43.0, 1.42, 43.01)]
    crs: str | None = "EPSG:4326"
    for k, val in changes.items():
        if k == "geometry":
            geoms = val  # type: ignore[assignment]
        elif k == "crs":
            crs = val  # type: ignore[assignment]
        elif k == "drop":
            data.pop(str(val))
        else:
            data[k] = val  # type: ignore[assignment]
    gdf = gpd.GeoDataFrame(data, geometry=geoms, crs=crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gdf.to_file(tmp_path / "occitanie_admin.gpkg", layer="communes", engine="pyogrio")
    return tmp_path


def test_small_admin_ok(tmp_path: Path) -> None:
    c = L.load_communes(_admin(tmp_path))
    assert c["pop"].tolist() == [59, 625] and c.crs.to_epsg() == 2154
    assert c["share_65p"].iloc[0] == pytest.approx(18 / 58)  # no rp2021_pop: sum of bands


def test_admin_missing(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"admin: file occitanie_admin.gpkg not found"):
        L.load_communes(tmp_path)


def test_admin_not_sqlite(tmp_path: Path) -> None:
    (tmp_path / "occitanie_admin.gpkg").write_text("not a database")
    with pytest.raises(UnreadableFileError, match=r"occitanie_admin\.gpkg \(layer 'communes'\)"):
        L.load_communes(tmp_path)


def test_admin_bad_layers(tmp_path: Path) -> None:
    d = _admin(tmp_path)
    with pytest.raises(DataNotFoundError, match=r"layer 'epci' not found.*communes"):
        L.load_epci(d)


@pytest.mark.parametrize(
    ("changes", "error", "pattern"),
    [
        ({"drop": "pop_mun_2023"}, MissingColumnError, "missing column 'pop_mun_2023'"),
        ({"crs": None}, MissingCRSError, "layer has no CRS"),
        ({"insee": ["09001", "09001"]}, DuplicateIdError, "'09001' appears 2 times"),
        ({"insee": ["9001", "09002"]}, BadValueError, "holds '9001', not an INSEE commune"),
        ({"pop_mun_2023": ["59", "n/a"]}, BadValueError, "must be numeric but holds 'n/a'"),
        ({"dep": ["75", "75"]}, EmptyLayerError, "no rows for départements"),
        (
            {
                "geometry": [
                    box(1.40, 43.0, 1.41, 43.01),
                    Polygon([(1.41, 43), (1.42, 43.01), (1.42, 43), (1.41, 43.01)]),
                ]
            },
            InvalidGeometryError,
            "feature insee='09002' has an invalid geometry",
        ),
    ],
)
def test_admin_broken(
    tmp_path: Path, changes: dict[str, object], error: type[Exception], pattern: str
) -> None:
    d = _admin(tmp_path, **changes)
    with pytest.raises(error, match=pattern) as exc:
        L.load_communes(d)
    assert "occitanie_admin.gpkg" in str(exc.value)


def test_admin_invalid_geometry_repair(tmp_path: Path) -> None:
    bowtie = Polygon([(1.41, 43), (1.42, 43.01), (1.42, 43), (1.41, 43.01)])
    d = _admin(tmp_path, geometry=[box(1.40, 43.0, 1.41, 43.01), bowtie])
    c = L.load_communes(d, repair=True)
    assert c.is_valid.all() and len(c) == 2


def test_supply_csv_bad(tmp_path: Path) -> None:
    p = tmp_path / "supply_gp_counts_commune_bpe2019.csv"
    p.write_text("insee,dep,gp_2019,lon,lat\n09001,09,2,574000,6280000\n")
    with pytest.raises(CRSMismatchError, match="outside the extent of EPSG:4326"):
        L.load_gp_supply(tmp_path)
    p.write_text("insee,dep,gp_2019,lon,lat\n09001,09,two,1.4,43\n")
    with pytest.raises(BadValueError, match="'gp_2019' must be numeric but holds 'two'"):
        L.load_gp_supply(tmp_path)
    p.write_bytes(gzip.compress(b"x")[:5])
    with pytest.raises(UnreadableFileError):
        L.load_gp_supply(tmp_path)


# --------------------------------------------------------------------------- check_data


def test_check_data_join_rates(data_dir: Path) -> None:
    from accessmap.data.check import check_data

    report = check_data(data_dir)
    assert report.ok and not report.problems
    assert all(r.status == "ok" for r in report.rows), report.to_frame()
    rows = {r.file: r for r in report.rows}
    assert rows["occitanie_admin.gpkg:communes"].rows == 4446
    assert rows["occitanie_admin.gpkg:epci"].rows == 164
    assert rows["occitanie_admin.gpkg:departements"].rows == 13
    assert rows["occitanie_admin.gpkg:communes"].crs == "EPSG:4326"
    assert rows["popgrid_occitanie_insee2010_1km_epsg3035.tif"].crs == "EPSG:3035"
    assert rows["bpe2019_health_equipment_france.csv.gz"].rows == 146_419
    rates = {j.name: j for j in report.join_rates}
    grid = rates.pop("population grid total vs commune total")
    assert grid.matched == pytest.approx(5_349_557.5) and grid.total == REGION_POP
    assert grid.rate == pytest.approx(0.8734, abs=1e-4)
    assert {n: j.rate for n, j in rates.items()} == dict.fromkeys(rates, 1.0)
    for name in (
        "communes with population",
        "communes with EPCI",
        "GP supply rows whose commune code is known",
        "BPE rows mapped to COG 2026",
    ):
        assert name in rates
    assert rates["GPs (BPE 2019) in known communes"].total == 6226


# --------------------------------------------------------------------------- COG package

# A tiny communes.json in the decoupage-administratif layout (fields: code, type,
# anciensCodes, chefLieu, commune), with the real codes of a merger (Conques-en-Rouergue),
# the ambiguous code 60455 and the municipal arrondissements.
COG_ENTRIES = [
    {"code": "12218", "type": "commune-actuelle", "anciensCodes": ["12076", "12114"]},
    {"code": "12076", "type": "commune-deleguee", "chefLieu": "12218"},
    {"code": "12218", "type": "commune-deleguee", "chefLieu": "12218"},
    {"code": "60054", "type": "commune-actuelle", "anciensCodes": ["60455"]},
    {"code": "60694", "type": "commune-actuelle"},
    {"code": "60455", "type": "commune-deleguee", "chefLieu": "60694"},
    {"code": "75056", "type": "commune-actuelle"},
    {"code": "75101", "type": "arrondissement-municipal", "commune": "75056"},
    {"code": "13201", "type": "arrondissement-municipal"},
]


def _cog_tarball(path: Path, entries: list[dict[str, object]]) -> Path:
    import io
    import json
    import tarfile

    payload = json.dumps(entries).encode()
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo("package/data/communes.json")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    return path


def test_build_commune_code_map(tmp_path: Path) -> None:
    from accessmap.loaders.cog import build_commune_code_map

    t = build_commune_code_map(_cog_tarball(tmp_path / "cog.tgz", COG_ENTRIES))
    rows = set(t.itertuples(index=False, name=None))
    assert ("12218", "12218", "current") in rows and (
        "12218",
        "12218",
        "commune-deleguee",
    ) not in rows
    assert {("12076", "12218", "commune-deleguee"), ("12114", "12218", "former")} <= rows
    assert ("12076", "12218", "former") not in rows  # one row per (code, target)
    assert {
        ("75101", "75056", "arrondissement-municipal"),
        ("13201", "13055", "arrondissement-municipal"),
    } <= rows
    assert {("60455", "60054", "former"), ("60455", "60694", "commune-deleguee")} <= rows


def test_code_map_built_from_package_when_bundle_file_absent(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as exc:
        L.load_commune_code_map(tmp_path)
    assert "commune_codes_to_cog2026_france.csv.gz" in str(exc.value)
    assert "accessmap data fetch decoupage_administratif" in str(exc.value)
    _cog_tarball(tmp_path / "decoupage-administratif-6.0.0.tgz", COG_ENTRIES)
    m = L.load_commune_code_map(tmp_path)
    assert m["12076"] == "12218" and m["13201"] == "13055"
    assert m["60455"] == "60694"  # the same present-day rule as for the bundle file
    assert len(m.attrs["ambiguous"]) == 2


def test_cog_package_broken(tmp_path: Path) -> None:
    from accessmap.loaders.cog import build_commune_code_map

    p = _cog_tarball(tmp_path / "cog.tgz", COG_ENTRIES)
    p.write_bytes(p.read_bytes()[:40])
    with pytest.raises(UnreadableFileError, match=r"cog\.tgz: cannot be read"):
        build_commune_code_map(p)
    other = tmp_path / "other.tgz"
    import tarfile

    with tarfile.open(other, "w:gz"):
        pass
    with pytest.raises(UnreadableFileError, match=r"no package/data/communes\.json"):
        build_commune_code_map(other)
    bad = tmp_path / "communes.json"
    bad.write_text('[{"code": "12076", "type": "commune-deleguee"}]')
    with pytest.raises(BadValueError, match="commune-deleguee '12076' has no 'chefLieu'"):
        build_commune_code_map(bad)
    bad.write_text('{"not": "a list"}')
    with pytest.raises(UnreadableFileError, match="not a list of objects"):
        build_commune_code_map(bad)


def test_check_data_accepts_code_map_alternative(tmp_path: Path) -> None:
    from accessmap.data.check import check_data

    _cog_tarball(tmp_path / "decoupage-administratif-6.0.0.tgz", COG_ENTRIES)
    report = check_data(tmp_path)
    rows = {r.dataset: r for r in report.rows}
    assert rows["commune_code_map"].status == "ok (built from decoupage_administratif)"
    assert (
        rows["commune_code_map"].rows == 9
    )  # 12218 12076 12114 60054 60694 60455 75056 75101 13201
    assert rows["decoupage_administratif"].status == "ok"
    assert "commune_code_map" not in {r.dataset for r in report.problems}
    assert "admin" in {r.dataset for r in report.problems}  # still missing: not ok
    assert not report.ok


def test_population_grid_from_insee_table(tmp_path: Path, data_dir: Path) -> None:
    # Filosofi-style table: INSPIRE ids (lower-left corners) and Ind; a cell split in 2 rows.
    p = tmp_path / "carreaux_1km_met.csv"
    p.write_text(
        "Idcar_1km,Ind,Men\n"
        "CRS3035RES1000mN2474000E3652000,1.0,1\n"
        "CRS3035RES1000mN2474000E3653000,3.5,2\n"
        "CRS3035RES1000mN2474000E3653000,0.5,0\n"
        "CRS3035RES1000mN2475000E3653000,0,0\n"
    )
    cells = L.load_population_grid(p)
    assert cells["cell_id"].tolist() == [
        "CRS3035RES1000mN2474000E3652000",
        "CRS3035RES1000mN2474000E3653000",
    ]
    assert cells["pop"].tolist() == [1.0, 4.0]
    # Same cell, same point as the raster loader gives for the bundle's 2010 grid.
    raster = L.load_population_grid(data_dir=data_dir).set_index("cell_id").geometry
    ref = raster["CRS3035RES1000mN2474000E3652000"]
    assert cells.geometry.iloc[0].distance(ref) < 1e-6
    zp = tmp_path / "Filosofi2015_carreaux_1000m_csv.zip"
    with zipfile.ZipFile(zp, "w") as zf:
        zf.writestr("Filosofi2015_carreaux_1000m_csv.7z", b"7z\xbc\xaf")
    with pytest.raises(UnreadableFileError, match=r"zip holds no \.csv file .*\.7z"):
        L.load_population_grid(zp)
    p.write_text("Idcar_1km,Ind\n1000mN2474000E3652000,1\n")
    with pytest.raises(BadValueError, match="not an INSPIRE cell id"):
        L.load_population_grid(p)
    p.write_text("code,Ind\nx,1\n")
    with pytest.raises(MissingColumnError, match="missing column 'Idcar_1km'"):
        L.load_population_grid(p)


# --------------------------------------------------------------------------- FINESS


def _finess_file(path: Path, lines: list[str]) -> Path:
    header = "finess;etalab;100;2026-05-12"
    path.write_bytes("\n".join([header, *lines]).encode("latin-1"))
    return path


def _structure(no: str, name: str, commune: str, dep: str, cat: str, agr: str) -> str:
    fields = [
        "structureet",
        no,
        "460000000",
        name,
        name,
        "",
        "",
        "1",
        "R",
        "DU PONT",
        "",
        "",
        commune,
        dep,
        "LOT",
        "46000 CAHORS",
        "",
        "",
        cat,
        f"cat {cat}",
        agr,
        f"agr {agr}",
        "",
        "",
        "",
        "",
        "",
        "",
        "2020-01-01",
        "2020-01-01",
        "2026-01-01",
        "",
    ]
    assert len(fields) == 32
    return ";".join(fields)


def test_load_finess(tmp_path: Path) -> None:
    p = _finess_file(
        tmp_path / "etalab-cs1100507-stock-20260512-0339.csv",
        [
            _structure("460000001", "MSP DE FIGEAC", "102", "46", "603", "1200"),
            _structure("460000002", "CENTRE DE SANTÉ", "042", "46", "124", "1200"),
            _structure("750000001", "HOPITAL PARIS", "056", "75", "355", "1102"),
            _structure("460000003", "MSP SANS COORD", "042", "46", "603", "1200"),
            "geolocalisation;460000001;612345.6;6392345.1;1,ATLASANTE,100,IGN;2026-01-01",
            "geolocalisation;460000002;574000.0;6372000.0;1,ATLASANTE,100,IGN;2026-01-01",
            "geolocalisation;750000001;652000.0;6862000.0;1,ATLASANTE,100,IGN;2026-01-01",
        ],
    )
    with pytest.warns(L.UnmatchedCodeWarning, match="1 establishment.*'460000003'"):
        msp = L.load_finess(p, categetab=["603"])
    assert msp["finess_et"].tolist() == ["460000001"] and msp["insee"].tolist() == ["46102"]
    assert msp["name"].iloc[0] == "MSP DE FIGEAC" and msp.crs.to_epsg() == 2154
    assert msp.geometry.iloc[0].x == pytest.approx(612345.6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        every = L.load_finess(p, deps=["46", "75"])
    assert sorted(every["insee"]) == ["46042", "46102", "75056"]
    assert every.set_index("finess_et").loc["460000002", "name"] == "CENTRE DE SANTÉ"
    with pytest.raises(EmptyLayerError, match="no rows for départements"):
        L.load_finess(p, deps=["09"])


def test_load_finess_bad(tmp_path: Path) -> None:
    p = _finess_file(
        tmp_path / "f.csv",
        [
            _structure("460000001", "MSP", "102", "46", "603", "1200"),
            "geolocalisation;460000001;1.65;44.6;1,ATLASANTE;2026-01-01",  # lon/lat, not L93
        ],
    )
    with pytest.raises(CRSMismatchError, match=r"'coordxet'/'coordyet' are outside the extent"):
        L.load_finess(p)
    other = tmp_path / "other.csv"
    other.write_text("a;b\n1;2\n")
    with pytest.raises(EmptyLayerError, match="no 'structureet' line"):
        L.load_finess(other)
    dup = _finess_file(
        tmp_path / "dup.csv",
        [_structure("460000001", "A", "102", "46", "603", "1200")] * 2,
    )
    with pytest.raises(DuplicateIdError, match="'460000001' appears 2 times"):
        L.load_finess(dup)


def test_check_data_reads_official_downloads(tmp_path: Path, data_dir: Path) -> None:
    """Downloaded official files are read by their loaders, not just listed."""
    from accessmap.data.check import check_data
    from accessmap.data.registry import get_dataset

    for p in data_dir.iterdir():
        (tmp_path / p.name).symlink_to(p)
    finess = get_dataset("finess_etalab").files[0].name
    _finess_file(
        tmp_path / finess,
        [
            _structure("460000001", "MSP DE FIGEAC", "102", "46", "603", "1200"),
            "geolocalisation;460000001;612345.6;6392345.1;1,ATLASANTE,100,IGN;2026-01-01",
        ],
    )
    with zipfile.ZipFile(tmp_path / "BPE24.zip", "w") as zf:
        zf.writestr("BPE24.csv", "DEPCOM;TYPEQU;LAMBERT_X;LAMBERT_Y\n46042;D265;574000;6372000\n")
    with zipfile.ZipFile(tmp_path / "bpe19_ensemble_csv.zip", "w") as zf:
        zf.writestr(
            "bpe19_ensemble.csv",
            "REG;DEP;DEPCOM;DCIRIS;AN;TYPEQU;NB_EQUIP\n76;46;46042;46042;2019;D201;2\n",
        )
    (tmp_path / "BPE99.zip").write_bytes(b"not registered: ignored")
    report = check_data(tmp_path, verify_checksums=False)
    rows = {r.dataset: r for r in report.rows}
    assert rows["finess_etalab"].status == "ok" and rows["finess_etalab"].rows == 1
    assert rows["bpe2024_geoloc"].status == "ok" and rows["bpe2024_geoloc"].rows == 1
    assert rows["bpe2019_ensemble"].status == "ok" and rows["bpe2019_ensemble"].rows == 1
    assert report.ok
