"""End-to-end tests of run_score on the real Occitanie data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accessmap.errors import ConfigError
from accessmap.pipeline import ScoreParams, run_score


def test_communes_layer_complete(score_result) -> None:
    com = score_result.layers["communes"]
    assert len(com) == 4446
    assert com["insee"].is_unique
    assert int(com["pop"].sum()) == 6_124_653
    assert com.crs.to_epsg() == 2154
    for col in (
        "time_gp_min",
        "within_15",
        "e2sfca",
        "apl",
        "apl_class",
        "time_emergency_min",
        "time_hospital_min",
        "nearest_gp_id",
        "engine",
    ):
        assert col in com.columns, col
    # A commune with a GP has time 0 (Insee Metric convention: within-commune time is 0).
    has_gp = com["gp_count"] > 0
    assert has_gp.sum() == 1010  # BPE 2021 D265, the default supply (SOURCES.md section 14)
    assert (com.loc[has_gp, "time_gp_min"] == 0).all()
    assert (com.loc[~has_gp, "time_gp_min"] > 0).all()
    # the default run routes every Occitanie commune on the Travel Mapping network
    assert set(com["engine"]) == {"road-network"}


def test_headline_consistent_with_table(score_result) -> None:
    com = score_result.layers["communes"]
    s = score_result.summary
    beyond = com.loc[com["time_gp_min"] > 15, "pop"].sum() / com["pop"].sum()
    assert s["share_beyond_target"] == pytest.approx(beyond)
    assert 0.0 < s["share_beyond_target"] < 0.2  # 81.6 % live in a commune with a GP
    deps = score_result.tables["departements"]
    assert len(deps) == 13
    assert deps["pop"].sum() == pytest.approx(com["pop"].sum())


def test_epci_ranking(score_result) -> None:
    z = score_result.layers["epci_scores"]
    assert len(z) == 164
    ranked = z[z["ranked"]]  # CC Pays de Nay (167 inhabitants inside) is scored, not ranked
    assert len(ranked) == 163 and z.loc[~z["ranked"], "need_rank"].isna().all()
    ranks = ranked["need_rank"].astype(int)
    assert ranks.min() == 1 and ranks.max() <= 163  # ties share the lower rank
    ordered = ranked.sort_values("need_score", ascending=False)
    assert ordered["need_rank"].is_monotonic_increasing
    assert z["pop"].sum() == pytest.approx(6_124_653)
    top = ranked.sort_values("need_rank").iloc[0]
    bottom = ranked.sort_values("need_rank").iloc[-1]
    assert top["need_score"] >= bottom["need_score"]


def test_sites_gain_matches_recomputation(score_result, occitanie_area) -> None:
    """Opening the proposed sites covers exactly the reported number of new people."""
    from accessmap.traveltime import make_engine

    sites = score_result.layers["sites"]
    assert len(sites) == 10
    assert sites["insee"].is_unique
    if score_result.metadata["parameters"].get("objective", "coverage") == "coverage":
        gains = sites["gain_pop"].to_numpy()
        assert (np.diff(gains) <= 1e-9).all()  # greedy coverage gains never increase
    com = score_result.layers["communes"].set_index("insee")
    origins = occitanie_area.origins
    eng = make_engine(clip=occitanie_area.departements)  # the run's engine (cached network)
    new = origins.loc[sites["insee"].astype(str)]
    t_new = eng.nearest(origins, new)["travel_time_min"]
    t_all = np.fmin(com.loc[origins.index, "time_gp_min"].to_numpy(), t_new.to_numpy())
    before = com.loc[origins.index, "time_gp_min"].to_numpy() <= 15
    after = t_all <= 15
    gained = com.loc[origins.index, "pop"].to_numpy()[after & ~before].sum()
    assert gained == pytest.approx(sites["cumulative_pop"].iloc[-1])
    exact = score_result.summary["exact"]
    assert exact["objective"] >= sites["cumulative_pop"].iloc[-1] - 1e-6


def test_metadata_records_run(score_result) -> None:
    meta = score_result.metadata
    assert meta["version"]
    assert meta["parameters"]["threshold_min"] == 15.0
    assert meta["engines"] == ["road-network"]
    assert meta["sources"]


def test_isochrones_layer(score_result) -> None:
    iso = score_result.layers["isochrones"]
    existing = iso[iso["kind"] == "existing"]
    assert sorted(existing["threshold_min"]) == [5, 10, 15, 20, 30]
    areas = existing.sort_values("threshold_min").geometry.area.to_numpy()
    assert (np.diff(areas) > 0).all()
    assert (iso["kind"] == "proposed").sum() == 10


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"engine": "teleport"}, "unknown engine 'teleport'"),
        ({"engine": "road-network", "roads": Path("none")}, "--roads"),
        ({"threshold_min": 0}, "threshold"),
        ({"k": -1}, "k"),
        ({"catchment_cutoff_min": 5}, "--cutoff"),
    ],
)
def test_bad_params(kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        run_score(ScoreParams(**kwargs))


def test_what_if_single_site(occitanie_area, data_dir) -> None:
    res = run_score(
        ScoreParams(k=0, exact=False, grid=False, what_if=("46102",), engine="crow-fly"),
        data_dir=data_dir,
        area=occitanie_area,
    )
    wi = res.tables["what_if"]
    assert list(wi["site_id"].astype(str)) == ["46102"]
    assert wi["gain_pop"].iloc[0] >= 0
    assert isinstance(wi, pd.DataFrame)


def test_extra_zone_layer_scored(tmp_path, occitanie_area, data_dir) -> None:
    """A user zone layer (here the départements, written to a file) is scored too."""
    zones = occitanie_area.departements.rename(columns={"dep": "code"})[["code", "geometry"]]
    path = tmp_path / "zones.gpkg"
    zones.to_file(path, layer="zones")
    res = run_score(
        ScoreParams(k=0, exact=False, grid=False, zones=path, zones_id="code", engine="crow-fly"),
        data_dir=data_dir,
        area=occitanie_area,
    )
    z = res.layers["zones"]
    assert len(z) == 13
    assert z["pop"].sum() == pytest.approx(6_124_653)


def test_extra_zone_layer_bad_id(tmp_path, occitanie_area, data_dir) -> None:
    from accessmap.errors import MissingColumnError

    zones = occitanie_area.departements[["dep", "geometry"]]
    path = tmp_path / "zones.gpkg"
    zones.to_file(path, layer="zones")
    with pytest.raises(MissingColumnError, match="code"):
        run_score(
            ScoreParams(
                k=0, exact=False, grid=False, zones=path, zones_id="code", engine="crow-fly"
            ),
            data_dir=data_dir,
            area=occitanie_area,
        )


def test_agreement_with_priority_list(tmp_path, occitanie_area, data_dir, score_result) -> None:
    z = score_result.layers["epci_scores"].sort_values("need_rank")
    top = list(z["epci_siren"].iloc[:2])
    low = z["epci_siren"].iloc[-1]
    csv = tmp_path / "priority.csv"
    csv.write_text("epci_siren\n" + "\n".join([*top, low]) + "\n")
    res = run_score(
        ScoreParams(k=0, exact=False, grid=False, priority=csv, top_n=5),
        data_dir=data_dir,
        area=occitanie_area,
    )
    agr = res.tables["agreement"].set_index("epci_siren")
    assert set(agr.loc[top, "status"]) == {"hit"}
    assert agr.loc[low, "status"] == "missed"
    assert (agr["status"] == "ours only").sum() == 3
    assert res.summary["agreement"].startswith("2 of 3")
    flagged = res.layers["epci_scores"].set_index("epci_siren")["official_priority"]
    assert flagged.sum() == 3 and bool(flagged[low])


def test_priority_list_unknown_code(tmp_path, occitanie_area, data_dir) -> None:
    from accessmap.errors import UnknownCodeError

    csv = tmp_path / "priority.csv"
    csv.write_text("epci_siren\n200066223\n999999999\n")
    with pytest.raises(UnknownCodeError, match="999999999"):
        run_score(
            ScoreParams(k=0, exact=False, grid=False, priority=csv, engine="crow-fly"),
            data_dir=data_dir,
            area=occitanie_area,
        )


def test_mixed_engines_at_the_edge_of_a_road_file(occitanie_area, data_dir) -> None:
    """Origins a road file covers: road to the GPs it covers, crow-fly to the others."""
    from accessmap.traveltime import CrowFlyEngine, make_engine

    roads = data_dir / "roads_occitanie_toulouse_insa-begraphes-osm_nodes.csv"
    eng = make_engine("auto", roads=roads)
    origins, gp = occitanie_area.origins, occitanie_area.gp_supply
    o_cov, f_cov = eng.covers(origins), eng.covers(gp)
    assert 5 <= o_cov.sum() <= 60 and 0 < f_cov.sum() < len(gp)
    res = eng.nearest(origins, gp)
    inside = origins[o_cov]
    road = eng.primary.nearest(inside, gp[f_cov])["travel_time_min"]
    crow = CrowFlyEngine().nearest(inside, gp[~f_cov])["travel_time_min"]
    expected = np.fmin(road, crow)
    assert np.allclose(res.loc[inside.index, "travel_time_min"], expected, rtol=0, atol=1e-9)
    by_road = road <= crow
    assert (res.loc[inside.index[by_road], "engine"] == "road-network").all()
    assert (res.loc[inside.index[~by_road], "engine"] == "crow-fly").all()
    # outside the file: crow-fly to every GP
    far = origins[~o_cov].iloc[:200]
    alone = CrowFlyEngine().nearest(far, gp)["travel_time_min"]
    assert np.allclose(res.loc[far.index, "travel_time_min"], alone, rtol=0, atol=1e-9)
    # the catchment table of a covered origin holds road pairs and crow-fly pairs to the
    # GPs outside the file, so GPs just beyond the edge still count in its APL
    mat = eng.matrix(inside, gp, cutoff_min=20.0)
    outside_ids = set(gp.index[~f_cov])
    assert mat["to_id"].isin(outside_ids).any() and (~mat["to_id"].isin(outside_ids)).any()
