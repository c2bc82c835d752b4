"""Siting objectives on real data (Lot, crow-fly): incremental APL equals a full
recomputation, every objective against exhaustive search, coverage reproduces the earlier
answer, candidates / fixed centres / multi-year / what-if."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accessmap import measures, siting
from accessmap.area import load_area
from accessmap.errors import BadValueError, ConfigError, UnknownCodeError
from accessmap.pipeline import ScoreParams
from accessmap.pipeline.catchments import catchments_stage
from accessmap.pipeline.sites import siting_stage, what_if_site
from accessmap.pipeline.times import times_stage
from accessmap.siting import inputs as si
from accessmap.traveltime import make_engine

# 3,600 consultations per head count: the calibration of docs/methods.md, which leaves 81
# of the 312 communes of the Lot below APL 2.5 (26 with 5,400), a real APL siting problem
PARAMS = ScoreParams(region="46", engine="crow-fly", grid=False, consultations_per_gp=3600.0,
                     k=3, exact=True)  # fmt: skip


@pytest.fixture(scope="module")
def lot(data_dir: Path) -> dict:
    # pharmacies loaded once (the default candidate rule reads them)
    area = load_area("46", data_dir=data_dir, grid=False, supply_kinds="gp,pharmacy")
    eng = make_engine("crow-fly")
    ts = times_stage(PARAMS, area, eng)
    catch = catchments_stage(PARAMS, ts, eng, area)
    return {"area": area, "engine": eng, "times": ts, "catch": catch, "data_dir": data_dir}


def _stage(lot: dict, **kw):  # type: ignore[no-untyped-def]
    p = replace(PARAMS, **kw)
    ts, c = lot["times"], lot["catch"]
    return siting_stage(p, lot["area"], lot["engine"], ts.com, ts.origins, c.demand,
                        std_demand=c.std_demand, data_dir=lot["data_dir"])  # fmt: skip


@pytest.fixture(scope="module")
def all_communes(lot: dict):  # type: ignore[no-untyped-def]
    """Every commune a site, no fixed centre (the Lot has no Ma Santé site in the list)."""
    return _stage(lot, candidates="all", objective="apl")


# --------------------------------------------------------------------------------------
# the slow obvious reference: full recomputation with accessmap.measures
# --------------------------------------------------------------------------------------


def _reference(lot: dict, opened: list[tuple[str, float]]) -> dict[str, np.ndarray]:
    """APL, nearest time and coverage with new centres, recomputed from scratch as the
    catchment stage computes the APL (its table, its consultations per GP site, the border
    context in the demand), each new centre a facility of ``d x consultations_per_gp``."""
    ts, c, area = lot["times"], lot["catch"], lot["area"]
    com, origins = ts.com, ts.origins
    gp = ts.gp
    ctx = area.context if area.context is not None else origins.iloc[:0].assign(pop=0.0)
    ctx = ctx[~ctx.index.isin(origins.index)]
    everyone = pd.concat([origins[["geometry"]], ctx[["geometry"]]])
    new = origins.loc[[s for s, _ in opened]].copy()
    new["insee"] = new.index
    new["supply_id"] = ["new-" + s for s, _ in opened]
    new = new.set_index("supply_id", drop=False)
    new.index.name = None
    extra = lot["engine"].matrix(everyone, new, cutoff_min=60.0, same_commune=True)
    within = extra[extra["travel_time_min"] <= PARAMS.catchment_cutoff_min]
    cols = ["from_id", "to_id", "travel_time_min"]
    mat = pd.concat([c.matrix[cols], within[cols]], ignore_index=True)
    cons = gp["count"].astype(float) * c.consultations.reindex(gp.index).astype(float)
    supply = pd.concat([cons, pd.Series([d * PARAMS.consultations_per_gp for _, d in opened],
                                        index=new.index, dtype=float)])  # fmt: skip
    demand = pd.concat([c.std_demand, ctx["pop"].astype(float)])
    apl = measures.apl(mat, demand, supply, consultations_per_gp=1.0)
    t = com["time_gp_min"].astype(float)
    ext = extra[extra["from_id"].isin(com.index)]
    if len(ext):
        t_new = ext.groupby("from_id")["travel_time_min"].min().reindex(com.index)
        t = np.fmin(t, t_new)
    return {"apl": apl.reindex(com.index).fillna(0.0).to_numpy(), "time": t.to_numpy(),
            "covered": (t <= PARAMS.threshold_min).to_numpy()}  # fmt: skip


def _values(lot: dict, ref: dict, base: dict) -> dict[str, float]:
    pop = lot["times"].com["pop"].astype(float).to_numpy()
    under = base["apl"] < 2.5
    return {
        "apl": float(pop[under & (ref["apl"] >= 2.5)].sum()),
        "coverage": float(pop[ref["covered"] & ~base["covered"]].sum()),
        "time": float((pop * (base["time"] - ref["time"])).sum()),
    }


def test_incremental_apl_equals_full_recomputation(lot, all_communes) -> None:
    pb, base = all_communes.problem, all_communes.baseline
    com = lot["times"].com
    # the baseline is the communes' APL of the catchment stage
    ref0 = _reference(lot, [])
    np.testing.assert_allclose(base.apl, ref0["apl"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(base.apl, com["apl"].to_numpy(), atol=1e-12)
    rng = np.random.default_rng(13)
    sites = [str(x) for x in rng.choice(pb.site_ids, size=6, replace=False)]
    opened: list[tuple[str, float]] = []
    state = base.copy()
    for s in sites:
        d = float(rng.integers(1, 7))
        state.open(pb.row(s), d)
        opened.append((s, d))
        ref = _reference(lot, opened)
        np.testing.assert_allclose(state.apl, ref["apl"], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(pb.time0 - state.saved, ref["time"], atol=1e-9)
        assert (state.covered == ref["covered"]).all()
    # a second centre at the same site: the same as one centre with the summed doctors
    state.open(pb.row(sites[0]), 2.0)
    merged = dict(opened)
    merged[sites[0]] += 2.0
    ref = _reference(lot, list(merged.items()))
    np.testing.assert_allclose(state.apl, ref["apl"], rtol=1e-10, atol=1e-10)
    # only the origins in reach of an opened site changed
    reach = np.zeros(len(pb.origin_ids), dtype=bool)
    for s in merged:
        reach[pb.apl_unit[pb.row(s)].indices] = True
    assert (state.apl[~reach] == base.apl[~reach]).all()
    assert (state.apl[reach] > base.apl[reach]).all()


def test_gains_vectorised_equal_single_and_recomputation(all_communes, lot) -> None:
    pb, base = all_communes.problem, all_communes.baseline
    state = base.copy()
    state.open(pb.row("46102"), 4.0)  # Figeac
    g = state.gains(4.0)
    ref_state = _reference(lot, [("46102", 4.0)])
    for s in ("46042", "46127", "46201", "46311"):
        r = pb.row(s)
        one = state.gain(r, 4.0)
        for key in ("lifted", "shortfall", "covered", "time"):
            assert g[key][r] == pytest.approx(one[key], rel=1e-12, abs=1e-9)
        after = _reference(lot, [("46102", 4.0), (s, 4.0)])
        v = _values(lot, after, ref_state)
        assert one["lifted"] == pytest.approx(v["apl"])
        assert one["covered"] == pytest.approx(v["coverage"])
        assert one["time"] == pytest.approx(v["time"], rel=1e-9, abs=1e-6)


# --------------------------------------------------------------------------------------
# every objective against exhaustive search: 10 candidates of the Lot, k = 1..3
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(lot, all_communes) -> dict:  # type: ignore[no-untyped-def]
    com = lot["times"].com
    # the 10 communes of at least 300 inhabitants with the lowest APL: real rival sites
    pick = com[com["pop"] >= 300].sort_values(["apl", "insee"]).index[:10]
    pb = all_communes.problem
    base_ref = _reference(lot, [])
    exhaustive: dict[tuple[str, int], float] = {}
    for k in (1, 2, 3):
        best = dict.fromkeys(siting.OBJECTIVES, 0.0)
        for combo in itertools.combinations(pick, k):
            v = _values(lot, _reference(lot, [(s, 4.0) for s in combo]), base_ref)
            for o in best:
                best[o] = max(best[o], v[o])
        for o in best:
            exhaustive[(o, k)] = best[o]
    return {"rows": pb.rows(pick), "ids": list(pick), "opt": exhaustive}


@pytest.mark.parametrize("k", [1, 2, 3])
def test_apl_greedy_swap_bound_vs_exhaustive(all_communes, small, k) -> None:
    base, rows = all_communes.baseline, small["rows"]
    opt = small["opt"][("apl", k)]
    assert opt > 0
    g = siting.greedy(base, "apl", k, doctors=4.0, candidates=rows)
    sw, _ = siting.swap_search(base, "apl", g, doctors=4.0, candidates=rows)
    val = siting.objective_value(_open(base, sw), base, "apl")[0]
    assert val <= opt + 1e-9
    assert val >= siting.objective_value(_open(base, g), base, "apl")[0] - 1e-9
    b = siting.apl_bound(base, k, candidates=rows, heuristic=sw, doctors=4.0)
    assert b.upper_bound >= opt - 1e-6  # a true upper bound
    assert b.value == pytest.approx(opt)  # the MILP closes the gap on this instance
    assert b.optimal and b.gap == pytest.approx(0.0, abs=1e-9)
    counting = siting.apl_bound(base, k, candidates=rows, heuristic=sw, doctors=4.0, solve=False)
    assert counting.upper_bound >= opt - 1e-9


@pytest.mark.parametrize("k", [1, 2, 3])
def test_time_greedy_and_exact_vs_exhaustive(all_communes, small, k) -> None:
    base, rows = all_communes.baseline, small["rows"]
    opt = small["opt"][("time", k)]
    g = siting.greedy(base, "time", k, doctors=4.0, candidates=rows)
    gval = siting.objective_value(_open(base, g), base, "time")[0]
    assert gval <= opt + 1e-6
    assert gval >= (1 - 1 / np.e) * opt - 1e-6  # submodular saving
    ex = siting.exact_pmedian(base, k, candidates=rows, heuristic=g)
    assert ex.optimal
    assert ex.value == pytest.approx(opt, rel=1e-9)
    assert ex.upper_bound == pytest.approx(opt, rel=1e-6)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_coverage_greedy_and_exact_vs_exhaustive(all_communes, small, k) -> None:
    pb, base, rows = all_communes.problem, all_communes.baseline, small["rows"]
    opt = small["opt"][("coverage", k)]
    cover = siting.CoverSets(pb.cover[rows], pb.site_ids[rows], pb.origin_ids, pb.threshold_min)
    pop = pd.Series(pb.pop, index=pb.origin_ids)
    covered = pd.Series(base.covered, index=pb.origin_ids)
    ex = siting.exact_mclp(cover, pop, k=k, already_covered=covered)
    assert ex.optimal and ex.objective_pop == pytest.approx(opt)
    assert ex.greedy_pop <= opt + 1e-9


def _open(base, rows):  # type: ignore[no-untyped-def]
    s = base.copy()
    for r in rows:
        s.open(int(r), 4.0)
    return s


# --------------------------------------------------------------------------------------
# the stage: coverage reproduces the earlier answer, effects, candidates, years, what-if
# --------------------------------------------------------------------------------------


def test_coverage_reproduces_earlier_answer(lot) -> None:
    """--objective coverage --candidates all --no-existing-centres = the MCLP of before."""
    ts = lot["times"]
    for k in (1, 3):
        st = _stage(lot, objective="coverage", candidates="all", existing_centres=False, k=k)
        tab = lot["engine"].matrix(ts.origins, ts.origins, cutoff_min=PARAMS.threshold_min)
        cover = siting.coverage_sets(tab, threshold_min=PARAMS.threshold_min, candidate_col="to_id")
        old = siting.greedy_mclp(cover, lot["catch"].demand, k=k,
                                 already_covered=ts.com["within_15"].astype(bool))  # fmt: skip
        assert st.sites["insee"].tolist() == old["site_id"].astype(str).tolist()
        np.testing.assert_allclose(st.sites["gain_pop"], old["gain_pop"])
        np.testing.assert_allclose(st.sites["cumulative_pop"], old["cumulative_pop"])


def test_stage_effects_match_recomputation(lot) -> None:
    st = _stage(lot)  # default: apl, default candidates, k = 3
    sites = st.sites
    assert len(sites) == 3 and (sites["objective"] == "apl").all()
    assert (sites["doctors"] == 4.0).all()
    assert all(lbl.endswith(" (46)") for lbl in sites["label"])
    ref = _reference(lot, [(s, 4.0) for s in sites["site_id"]])
    base = _reference(lot, [])
    v = _values(lot, ref, base)
    last = sites.iloc[-1]
    assert last["cumulative_lifted_pop"] == pytest.approx(v["apl"])
    assert sites["lifted_pop"].sum() == pytest.approx(v["apl"])
    assert last["cumulative_pop"] == pytest.approx(v["coverage"])
    pop = lot["times"].com["pop"].astype(float).to_numpy()
    assert last["mean_time_min"] == pytest.approx(float((pop * ref["time"]).sum() / pop.sum()))
    assert last["pop_below_2_5"] == pytest.approx(float(pop[ref["apl"] < 2.5].sum()))
    # all three objectives in the curve, each with all three effects
    curve = st.curve
    assert set(st.info["compare"]) == set(siting.OBJECTIVES)
    # coverage stops early in the Lot: no default candidate reaches its one commune beyond
    # 15 minutes (137 people), so its sequence is empty
    assert set(curve["objective"]) == {"apl", "time"}
    assert st.info["compare"]["coverage"]["sites"] == 0
    assert curve.loc[curve["chosen"], "site_id"].tolist() == sites["site_id"].tolist()
    comp = st.info["compare"]
    # each objective is best at its own effect
    assert comp["apl"]["lifted_pop"] >= max(comp["time"]["lifted_pop"],
                                           comp["coverage"]["lifted_pop"])  # fmt: skip
    assert comp["time"]["mean_time_min"] <= comp["apl"]["mean_time_min"] + 1e-9
    b = st.info["bound"]
    assert b["upper_bound"] >= b["value"] and 0 <= b["gap"] <= 1
    assert set(sites["site_id"]) <= set(st.problem.site_ids)


def test_default_candidates_rule(lot) -> None:
    st = _stage(lot)
    com = lot["times"].com
    ph = si.default_candidates(com, [], min_pop=1000)
    chosen = set(st.problem.site_ids)
    assert set(ph) <= chosen  # every commune of 1,000+ inhabitants is a candidate
    small_ones = [s for s in chosen if com.loc[s, "pop"] < 1000]
    assert small_ones  # and the smaller ones with a pharmacy
    assert "46102" in chosen  # Figeac


def test_multi_year_plan(lot) -> None:
    st = _stage(lot, per_year=2, years=(2026, 2027))
    sites = st.sites
    assert sites["year"].tolist() == [2026, 2026, 2027, 2027]
    years = st.info["years"]
    assert [y["year"] for y in years] == [2026, 2027]
    assert years[1]["lifted_pop"] >= years[0]["lifted_pop"]
    assert years[1]["lifted_pop"] == pytest.approx(sites["cumulative_lifted_pop"].iloc[-1])
    assert len(st.curve[st.curve["objective"] == "time"]) == 4


def test_objective_time_uses_exact(lot) -> None:
    st = _stage(lot, objective="time")
    b = st.info["bound"]
    assert b["method"].startswith("p-median") and b["optimal"]
    assert (st.sites["objective"] == "time").all()
    assert st.sites["time_change_min"].sum() < 0


def test_what_if_figeac_doctors(lot) -> None:
    st = _stage(lot, what_if=("46102", "46102:8"), k=1)
    wi = st.what_if
    assert wi["label"].tolist() == ["Figeac (46)", "Figeac (46)"]
    assert wi["doctors"].tolist() == [4.0, 8.0]
    # a centre adds supply: the APL of Figeac rises, twice as much with twice the doctors
    gain4 = wi["apl_site_after"].iloc[0] - wi["apl_site_before"].iloc[0]
    gain8 = wi["apl_site_after"].iloc[1] - wi["apl_site_before"].iloc[1]
    assert gain4 > 0 and gain8 == pytest.approx(2 * gain4)
    ref = _values(lot, _reference(lot, [("46102", 8.0)]), _reference(lot, []))
    assert wi["lifted_pop"].iloc[1] == pytest.approx(ref["apl"])
    assert wi["gain_pop"].iloc[1] == pytest.approx(ref["coverage"])
    assert "(" in wi["top_communes"].iloc[0]
    r = what_if_site(st.problem, st.baseline, "46102", 8.0, lot["times"].com)
    assert r["lifted_pop"] == wi["lifted_pop"].iloc[1]


def test_planned_and_within_priority(lot, tmp_path) -> None:
    planned = tmp_path / "planned.csv"
    planned.write_text("insee,doctors\n46102,6\n")
    st = _stage(lot, planned=planned)
    assert st.info["planned_centres"] == 1
    assert "46102" not in set(st.sites["insee"])
    assert st.info["fixed_sites"][0]["label"] == "Figeac (46)"
    assert st.info["baseline"]["pop_below_2_5"] < _stage(lot).info["baseline"]["pop_below_2_5"]
    com = lot["times"].com
    epci = sorted(com["epci_siren"].unique())[:2]
    prio = tmp_path / "prio.csv"
    prio.write_text("epci_siren\n" + "\n".join(epci) + "\n")
    st = _stage(lot, within_priority=prio, k=1)
    cand_epci = set(com.loc[[s for s in st.problem.site_ids if s in com.index], "epci_siren"])
    assert set(com.loc[st.sites["insee"], "epci_siren"]) <= set(epci)
    assert cand_epci  # sites of the table
    with pytest.raises(ConfigError, match="exceeds the"):
        _stage(lot, within_priority=prio, k=500)


def test_candidates_file_points_and_codes(lot, tmp_path) -> None:
    f = tmp_path / "cands.csv"
    # Figeac by code, and a point in Cahors (lon/lat of the town centre)
    f.write_text("insee,lon,lat,name\n46102,,,\n,1.4410,44.4475,Cahors centre\n")
    st = _stage(lot, candidates=f, k=2, objective="coverage")
    ids = set(st.problem.site_ids)
    assert {"46102", "cands-2"} <= ids
    row = st.curve[st.curve["site_id"] == "cands-2"]
    if len(row):
        assert row["insee"].iloc[0] == "46042"
    bare = tmp_path / "bare.txt"
    bare.write_text("46102\n46042\n")
    assert list(si.read_sites_file(bare)["insee"]) == ["46102", "46042"]


def test_existing_centres_doctors(data_dir) -> None:
    from accessmap.loaders.supply import load_health_centres

    c = load_health_centres(data_dir)
    d = si.existing_centre_doctors(c).set_axis(c["insee"])
    assert d["81163"] == 2.0  # Mazamet: "2 salaried GPs" in the source
    assert d["11041"] == 0.0 and d["09070"] == 0.0  # antennas
    assert d["81124"] == 4.0  # Lacaune: the programme's 44 / 11
    assert si.DOCTORS_PER_CENTRE == 4.0


@pytest.mark.parametrize(
    ("content", "exc", "match"),
    [
        ("foo,bar\n1,2\n", BadValueError, "no column insee"),
        ("insee\nFigeac\n", BadValueError, "not an INSEE commune code"),
        ("insee,doctors\n46102,-1\n", BadValueError, "doctors"),
        ("insee\n46102\n46102\n", BadValueError, "listed twice"),
        ("lon,lat\n200,44\n", BadValueError, "WGS84"),
    ],
)
def test_bad_site_files(tmp_path, content, exc, match) -> None:
    f = tmp_path / "x.csv"
    f.write_text(content)
    with pytest.raises(exc, match=match):
        si.read_sites_file(f)


def test_bad_options(lot) -> None:
    with pytest.raises(ConfigError, match="INSEE commune code"):
        si.parse_what_if("Figeac", default_doctors=4)
    with pytest.raises(ConfigError, match="doctors after"):
        si.parse_what_if("46102:0", default_doctors=4)
    with pytest.raises(UnknownCodeError, match="99999"):
        _stage(lot, what_if=("99999",), k=0)
    with pytest.raises(ConfigError, match="unknown objective"):
        replace(PARAMS, objective="votes").validate()
    with pytest.raises(ConfigError, match="--years"):
        replace(PARAMS, years=(2028, 2026)).validate()
    with pytest.raises(ConfigError, match="--doctors-per-centre"):
        replace(PARAMS, doctors_per_centre=0).validate()
