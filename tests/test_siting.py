"""Tests for accessmap.siting: greedy and exact MCLP against exhaustive search on a small
real instance, what-if against recomputation, hand cases and bad inputs."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from scipy.spatial import cKDTree

from accessmap.errors import BadValueError, ConfigError, UnknownCodeError
from accessmap.siting import (
    SitingModel,
    coverage_sets,
    exact_mclp,
    greedy_mclp,
    what_if,
)

# --------------------------------------------------------------------------------------
# hand case where greedy is not optimal
#   demand 1..4 of 2 people each, 5 of 1 person
#   s1 covers {1, 2}, s2 covers {3, 4}, s3 covers {2, 3, 5}
#   greedy: s3 (2 + 2 + 1 = 5), then s1 or s2 (+2) = 7 ; optimum s1 + s2 = 8
# --------------------------------------------------------------------------------------


@pytest.fixture
def hand() -> tuple[pd.DataFrame, pd.Series]:
    sets = {"s1": ["d1", "d2"], "s2": ["d3", "d4"], "s3": ["d2", "d3", "d5"]}
    rows = [(s, d, 10.0) for s, ds in sets.items() for d in ds]
    rows.append(("s1", "d5", 25.0))  # beyond the 15-min threshold: not covered
    m = pd.DataFrame(rows, columns=["from_id", "to_id", "travel_time_min"])
    demand = pd.Series({"d1": 2.0, "d2": 2.0, "d3": 2.0, "d4": 2.0, "d5": 1.0})
    return m, demand


def test_coverage_sets_hand(hand):
    m, _ = hand
    cs = coverage_sets(m, threshold_min=15)
    assert list(cs.candidate_ids) == ["s1", "s2", "s3"]
    assert list(cs.demand_ids) == ["d1", "d2", "d3", "d4", "d5"]
    assert cs.matrix.dtype == bool
    assert cs.matrix.toarray().astype(int).tolist() == [
        [1, 1, 0, 0, 0],
        [0, 0, 1, 1, 0],
        [0, 1, 1, 0, 1],
    ]
    # with 30 min, s1 also covers d5
    assert cs.matrix.sum() == 7
    assert coverage_sets(m, threshold_min=30).matrix[0, 4]
    # patient -> practice orientation: candidates in to_id
    flipped = m.rename(columns={"from_id": "to_id", "to_id": "from_id"})
    cs2 = coverage_sets(flipped, threshold_min=15, candidate_col="to_id")
    assert (cs2.matrix != cs.matrix).nnz == 0


def test_greedy_and_exact_hand(hand):
    m, d = hand
    cs = coverage_sets(m, threshold_min=15)
    g = greedy_mclp(cs, d, k=2)
    assert list(g.columns) == [
        "rank", "site_id", "gain_pop", "cumulative_pop", "cumulative_share", "covered_share",
    ]  # fmt: skip
    # s3 first (5 people), then s1 (+2, tie with s2 broken by candidate order)
    assert g["site_id"].tolist() == ["s3", "s1"]
    assert g["gain_pop"].tolist() == [5.0, 2.0]
    assert g["cumulative_pop"].tolist() == [5.0, 7.0]
    assert g["cumulative_share"].tolist() == pytest.approx([5 / 9, 7 / 9])
    ex = exact_mclp(cs, d, k=2)
    assert ex.optimal and ex.status == 0
    assert sorted(ex.sites) == ["s1", "s2"]
    assert ex.objective_pop == 8.0
    assert ex.greedy_pop == 7.0
    assert ex.gap_to_greedy == pytest.approx(1 / 8)
    assert ex.mip_gap <= 1e-6
    assert ex.dual_bound_pop == pytest.approx(8.0)
    # d2 already covered by existing supply: s1 adds d1 (2), s2 adds d3 + d4 (4), s3 adds
    # d3 + d5 (3). Greedy: s2 (4); then s1 (+2) beats s3 (only d5 left, +1); then s3 (+1)
    g = greedy_mclp(cs, d, k=3, already_covered=["d2"])
    assert g["site_id"].tolist() == ["s2", "s1", "s3"]
    assert g["gain_pop"].tolist() == [4.0, 2.0, 1.0]
    # 2 already covered + 7 gained = all 9 people
    assert g["covered_share"].iloc[-1] == pytest.approx(1.0)


def test_greedy_stops_at_zero_gain_and_covered_share(hand):
    m, d = hand
    cs = coverage_sets(m, threshold_min=15)
    covered = pd.Series([True, True, True, True, False], index=d.index)
    g = greedy_mclp(cs, d, k=3, already_covered=covered)
    # only d5 (1 person) is left: s3 gains it, then nothing else can gain
    assert g["site_id"].tolist() == ["s3"]
    assert g["gain_pop"].tolist() == [1.0]
    assert g["covered_share"].tolist() == [1.0]
    # a demand point outside the cover matrix still counts in the total population
    d2 = pd.concat([d, pd.Series({"far": 9.0})])
    g = greedy_mclp(cs, d2, k=1)
    assert g["cumulative_share"].iloc[0] == pytest.approx(5 / 18)


def test_siting_model_and_what_if_hand(hand):
    m, d = hand
    cs = coverage_sets(m, threshold_min=15)
    model = SitingModel(cs, d)
    assert [model.gain(s) for s in ("s1", "s2", "s3")] == [4.0, 4.0, 5.0]
    assert model.open("s3") == 5.0
    # after s3: s1 adds d1 only (2), s2 adds d4 only (2)
    assert [model.gain(s) for s in ("s1", "s2", "s3")] == [2.0, 2.0, 0.0]
    assert model.covered_share == pytest.approx(5 / 9)
    assert what_if(cs, d, "s2", ["d3"]) == 2.0
    assert what_if(cs, d, "s2", pd.Series({"d3": True, "d4": True})) == 0.0


def test_siting_bad_inputs(hand):
    m, d = hand
    cs = coverage_sets(m, threshold_min=15)
    with pytest.raises(UnknownCodeError, match="site 'zz' is not a candidate"):
        what_if(cs, d, "zz")
    with pytest.raises(ConfigError, match="k = 4 exceeds the 3 candidate sites"):
        greedy_mclp(cs, d, k=4)
    with pytest.raises(ConfigError, match="k must be a positive integer"):
        exact_mclp(cs, d, k=0)
    with pytest.raises(ConfigError, match="time_limit_s must be a positive"):
        exact_mclp(cs, d, k=1, time_limit_s=0)
    with pytest.raises(UnknownCodeError, match=r"demand point 'd5'.*no population"):
        greedy_mclp(cs, d.drop("d5"), k=1)
    with pytest.raises(BadValueError, match=r"demand holds -2\.0"):
        greedy_mclp(cs, d.replace(2.0, -2.0), k=1)
    with pytest.raises(BadValueError, match="demand must be a Series"):
        greedy_mclp(cs, d.to_dict(), k=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="threshold_min must be minutes >= 0"):
        coverage_sets(m, threshold_min=-1)
    with pytest.raises(ConfigError, match="candidate_col must be"):
        coverage_sets(m, threshold_min=15, candidate_col="site")
    with pytest.raises(UnknownCodeError, match="'from_id' holds 's3', which is not in"):
        coverage_sets(m, threshold_min=15, candidate_ids=["s1", "s2"])
    with pytest.raises(BadValueError, match="candidate_ids holds 's1' twice"):
        coverage_sets(m, threshold_min=15, candidate_ids=["s1", "s1", "s2", "s3"])


# --------------------------------------------------------------------------------------
# lazy greedy == plain greedy on random instances (seeded)
# --------------------------------------------------------------------------------------


def _plain_greedy(sets: list[set[int]], w: list[float], k: int) -> list[tuple[int, float]]:
    covered: set[int] = set()
    out = []
    for _ in range(k):
        best, best_gain = -1, 0.0
        for s, members in enumerate(sets):
            gain = sum(w[i] for i in members - covered)
            if gain > best_gain:  # strict: ties go to the first candidate
                best, best_gain = s, gain
        if best < 0:
            break
        covered |= sets[best]
        out.append((best, best_gain))
    return out


def test_lazy_greedy_equals_plain_greedy_random():
    rng = np.random.default_rng(5)
    for _ in range(30):
        n_c, n_d = int(rng.integers(3, 25)), int(rng.integers(5, 60))
        rows = [
            (f"c{c:02d}", f"d{d:02d}", float(rng.uniform(0, 30)))
            for c in range(n_c)
            for d in range(n_d)
            if rng.random() < 0.3
        ]
        m = pd.DataFrame(rows, columns=["from_id", "to_id", "travel_time_min"])
        dem_ids = [f"d{d:02d}" for d in range(n_d)]
        demand = pd.Series(rng.integers(0, 100, n_d).astype(float), index=dem_ids)
        cs = coverage_sets(
            m,
            threshold_min=15,
            candidate_ids=[f"c{c:02d}" for c in range(n_c)],
            demand_ids=dem_ids,
        )
        k = int(rng.integers(1, n_c + 1))
        sets = [set(cs.matrix[r].indices.tolist()) for r in range(n_c)]
        ref = _plain_greedy(sets, demand.tolist(), k)
        g = greedy_mclp(cs, demand, k=k)
        assert [cs.candidate_position(s) for s in g["site_id"]] == [r for r, _ in ref]
        assert g["gain_pop"].tolist() == pytest.approx([x for _, x in ref])
        assert g["gain_pop"].is_monotonic_decreasing  # submodularity


# --------------------------------------------------------------------------------------
# small real instance: the 15 communes of one EPCI, crow-fly times
# --------------------------------------------------------------------------------------

EPCI = "200034601"  # 15 communes, 5,463 inhabitants, 6 GPs (BPE 2019)
THRESHOLD = 5.0  # minutes: tight, so that several sites are needed


@pytest.fixture(scope="module")
def real(data_dir: Path) -> dict:
    sup = pd.read_csv(
        data_dir / "supply_gp_counts_commune_bpe2019.csv",
        dtype={"insee": str, "epci_siren": str},
    )
    tr = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    x, y = tr.transform(sup["lon"].to_numpy(), sup["lat"].to_numpy())
    sup = sup.assign(x=x, y=y).set_index("insee")
    com = sup[sup["epci_siren"] == EPCI]
    # existing GPs anywhere in the region: a commune is already covered if a GP commune is
    # within the threshold (1.3 x straight line at 60 km/h)
    gp = sup[sup["gp_2019"] > 0]
    t_near = cKDTree(gp[["x", "y"]].to_numpy()).query(com[["x", "y"]].to_numpy())[0] * 1.3e-3
    already = pd.Series(t_near <= THRESHOLD, index=com.index)
    rows = []
    for c in com.index:
        for d in com.index:
            t = (
                math.hypot(com.at[c, "x"] - com.at[d, "x"], com.at[c, "y"] - com.at[d, "y"])
                * 1.3e-3
            )
            rows.append((c, d, t))
    m = pd.DataFrame(rows, columns=["from_id", "to_id", "travel_time_min"])
    demand = com["pop_mun_2023"].astype(float)
    return {"matrix": m, "demand": demand, "already": already}


def _exhaustive(real: dict, k: int) -> float:
    m, d, already = real["matrix"], real["demand"], real["already"]
    within = m[m["travel_time_min"] <= THRESHOLD]
    sets = {c: set(g["to_id"]) for c, g in within.groupby("from_id")}
    open_pop = {i: d[i] for i in d.index if not already[i]}
    best = 0.0
    for combo in itertools.combinations(sorted(sets), k):
        covered = set().union(*(sets[c] for c in combo))
        best = max(best, sum(p for i, p in open_pop.items() if i in covered))
    return best


def test_real_instance_shape(real):
    d, already = real["demand"], real["already"]
    assert len(d) == 15
    assert d.sum() == 5463
    # a real siting problem: some people already covered, most not
    assert 0 < already.sum() < 15
    cs = coverage_sets(real["matrix"], threshold_min=THRESHOLD)
    # brute force check of the coverage matrix
    m = real["matrix"]
    brute = (
        m.assign(c=m["travel_time_min"] <= THRESHOLD)
        .pivot(index="from_id", columns="to_id", values="c")
        .loc[cs.candidate_ids, cs.demand_ids]
        .to_numpy()
    )
    assert (cs.matrix.toarray() == brute).all()


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_real_greedy_exact_vs_exhaustive(real, k):
    cs = coverage_sets(real["matrix"], threshold_min=THRESHOLD)
    d, already = real["demand"], real["already"]
    optimum = _exhaustive(real, k)
    assert optimum > 0
    ex = exact_mclp(cs, d, k=k, already_covered=already)
    assert ex.optimal
    assert len(ex.sites) == k
    assert ex.objective_pop == pytest.approx(optimum)
    g = greedy_mclp(cs, d, k=k, already_covered=already)
    greedy_pop = float(g["gain_pop"].sum())
    assert greedy_pop == ex.greedy_pop
    assert greedy_pop <= ex.objective_pop + 1e-9
    assert greedy_pop >= (1 - 1 / math.e) * optimum
    assert ex.gap_to_greedy == pytest.approx((optimum - greedy_pop) / optimum)
    # the curve is consistent with the population table
    total = d.sum()
    assert g["cumulative_share"].tolist() == pytest.approx((g["cumulative_pop"] / total).tolist())
    base = d[already].sum()
    assert g["covered_share"].iloc[-1] == pytest.approx((base + greedy_pop) / total)


def test_real_what_if_equals_recomputation(real):
    cs = coverage_sets(real["matrix"], threshold_min=THRESHOLD)
    d, already = real["demand"], real["already"]
    m = real["matrix"]
    model = SitingModel(cs, d, already)
    covered = set(already[already].index)
    for step in range(3):
        for site in cs.candidate_ids:
            reach = set(m[(m["from_id"] == site) & (m["travel_time_min"] <= THRESHOLD)]["to_id"])
            expected = float(d[sorted(reach - covered)].sum())
            assert model.gain(site) == pytest.approx(expected)
            if step == 0:
                assert what_if(cs, d, site, already) == pytest.approx(expected)
        # open the best site and check again against the recomputed sets
        best = max(cs.candidate_ids, key=model.gain)
        model.open(best)
        covered |= set(m[(m["from_id"] == best) & (m["travel_time_min"] <= THRESHOLD)]["to_id"])


def test_nothing_left_to_cover(hand):
    m, d = hand
    cs = coverage_sets(m, threshold_min=np.int64(15))  # numpy scalars are accepted
    everyone = pd.Series(True, index=d.index)
    g = greedy_mclp(cs, d, k=2, already_covered=everyone)
    assert g.empty and list(g.columns)[:3] == ["rank", "site_id", "gain_pop"]
    ex = exact_mclp(cs, d, k=2, already_covered=everyone)
    assert ex.optimal and ex.objective_pop == 0.0 and ex.greedy_pop == 0.0
    assert ex.gap_to_greedy == 0.0 and len(ex.sites) == 2


def test_exact_beats_or_ties_greedy_random():
    rng = np.random.default_rng(9)
    for _ in range(5):
        n_c, n_d = 40, 150
        rows = [
            (c, d, float(rng.uniform(0, 40)))
            for c in range(n_c)
            for d in range(n_d)
            if rng.random() < 0.08
        ]
        m = pd.DataFrame(rows, columns=["from_id", "to_id", "travel_time_min"])
        cs = coverage_sets(m, threshold_min=15, candidate_ids=range(n_c), demand_ids=range(n_d))
        demand = pd.Series(rng.integers(0, 1000, n_d).astype(float), index=range(n_d))
        ex = exact_mclp(cs, demand, k=4)
        assert ex.optimal
        assert ex.greedy_pop <= ex.objective_pop + 1e-9
        assert ex.greedy_pop >= (1 - 1 / math.e) * ex.objective_pop
        # the chosen sites really cover what the objective says
        covered = cs.matrix[[cs.candidate_position(s) for s in ex.sites]].toarray().any(axis=0)
        assert ex.objective_pop == pytest.approx(float(demand.to_numpy()[covered].sum()))


def test_exact_time_limit_reports_best_known():
    # a random instance far too big to prove optimal in 0.05 s
    rng = np.random.default_rng(1)
    n_c, n_d = 800, 5000
    rows = rng.integers(0, n_c, 16000)
    cols = rng.integers(0, n_d, 16000)
    m = pd.DataFrame({"from_id": rows, "to_id": cols, "travel_time_min": 5.0}).drop_duplicates(
        ["from_id", "to_id"]
    )
    cs = coverage_sets(m, threshold_min=15, candidate_ids=range(n_c), demand_ids=range(n_d))
    demand = pd.Series(rng.integers(1, 1000, n_d).astype(float), index=range(n_d))
    ex = exact_mclp(cs, demand, k=40, time_limit_s=0.05)
    # whatever the solver managed, the result is never worse than greedy and is consistent
    assert ex.objective_pop >= ex.greedy_pop
    assert len(ex.sites) == 40
    covered = cs.matrix[[cs.candidate_position(s) for s in ex.sites]].toarray().any(axis=0)
    assert ex.objective_pop == pytest.approx(float(demand.to_numpy()[covered].sum()))
    if not ex.optimal:
        assert ex.status == 1
        assert "Time limit" in ex.message
        assert math.isnan(ex.mip_gap) or ex.mip_gap >= 0


def test_docstring_examples_run():
    import doctest

    from accessmap.siting import coverage, inputs, problem, solvers

    attempted = 0
    for mod in (coverage, inputs, problem, solvers):
        result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, mod.__name__
        attempted += result.attempted
    assert attempted > 0
