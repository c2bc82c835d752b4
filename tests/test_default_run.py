"""The default run (``run_score(ScoreParams())``) on the Travel Mapping road network.

Every Occitanie commune is within reach of the network, so the ``engine`` column says
``road-network`` everywhere; the summary gives the shares per engine; the sensitivity table
moves the speeds by -20..+20 % and swaps in the crow-fly engine; the isochrones cover the
region and stop at its land border.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from accessmap.measures import coverage
from accessmap.network.speedmodel import DEFAULT_MODEL
from accessmap.pipeline.summary import engine_lines


def test_default_run_routes_on_the_road_network(score_result) -> None:  # type: ignore[no-untyped-def]
    com = score_result.layers["communes"]
    s = score_result.summary
    assert (com["engine"] == "road-network").mean() >= 0.99
    shares = s["engine_shares"]
    assert shares["road-network"]["share_pop"] >= 0.99
    assert sum(v["rows"] for v in shares.values()) == len(com)
    road = s["road_network"]
    assert road["format"] == "travelmapping" and road["clip_margin_m"] == 30_000.0
    assert road["source"].startswith("roads_france_travelmapping")
    model = DEFAULT_MODEL
    assert road["access_speed_kmh"] == model.access_speed_kmh
    assert road["access_terminal_min"] == model.access_terminal_min
    assert road["max_snap_m"] == model.max_snap_m == 10_000.0
    # communes without a GP that were not routed are named, with the reason
    off = com[(com["engine"] != "road-network") & (com["gp_count"] <= 0)]
    assert sorted(r["insee"] for r in s["fallback_communes"]) == sorted(off["insee"])
    assert all(r["reason"] for r in s["fallback_communes"])
    lines = engine_lines(s)
    assert any(line.startswith("Road network: roads_france_travelmapping") for line in lines)
    assert any(line.startswith("Engines: road-network") for line in lines)
    meta = score_result.metadata
    assert "Travel Mapping" in meta["attribution"]
    assert "roads_france_travelmapping" in [src["name"] for src in meta["sources"]]
    assert meta["summary"]["engine_shares"] == shares


def test_sensitivity_table(score_result) -> None:  # type: ignore[no-untyped-def]
    com = score_result.layers["communes"]
    sens = score_result.tables["sensitivity"]
    assert list(sens["speed_change"]) == ["-20%", "-10%", "+0%", "+10%", "+20%", "crow-fly engine"]
    assert list(sens["engine"])[:5] == ["road-network"] * 5 and sens["engine"].iloc[5] == "crow-fly"
    share = sens["share_beyond"].to_numpy()
    # slower speeds put more people beyond the target; the as-run row is the headline
    assert (np.diff(share[:5]) <= 0).all() and share[0] > share[4]
    assert share[2] == pytest.approx(score_result.summary["share_beyond_target"])
    # recomputed by hand: +10 % speed divides every time by 1.1
    pop = com["pop"].astype(float)
    ref = 1.0 - coverage(com["time_gp_min"] / 1.1, pop, 15.0)
    assert share[3] == pytest.approx(ref)
    assert sens["pop_beyond"].iloc[2] == pytest.approx(score_result.summary["pop_beyond_target"])


def test_isochrones_cover_the_region_and_stop_at_its_land(score_result, occitanie_area) -> None:  # type: ignore[no-untyped-def]
    iso = score_result.layers["isochrones"]
    existing = iso[iso["kind"] == "existing"].sort_values("threshold_min")
    assert (existing["engine"] == "road-network").all()
    land = shapely.union_all(np.asarray(occitanie_area.departements.geometry.values))
    band30 = existing.geometry.iloc[-1]
    # within the land (to rounding of the overlay), and most of it within 30 min
    assert band30.difference(land).area < 1e-6 * band30.area
    assert band30.area > 0.9 * land.area
    for geom in iso.geometry:
        assert geom.difference(land.buffer(1.0)).is_empty
    tr = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    # off Sète in the Mediterranean, and Spanish Puigcerdà: no band
    for lon, lat in ((3.75, 43.30), (1.93, 42.43)):
        x, y = tr.transform(lon, lat)
        assert not any(g.contains(shapely.Point(x, y)) for g in iso.geometry)
    # Mende (Lozère) is inside the 30-minute band of the existing GPs
    x, y = tr.transform(3.50, 44.52)
    assert band30.contains(shapely.Point(x, y))
    proposed = iso[iso["kind"] == "proposed"]
    assert len(proposed) == len(score_result.layers["sites"])
    assert (proposed.geometry.area > 1e6).all()
