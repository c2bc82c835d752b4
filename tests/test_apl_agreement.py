"""compare_apl and fit_level_scale on hand-computed tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from accessmap.errors import BadValueError, DuplicateIdError, MissingColumnError, UnknownCodeError
from accessmap.measures.agreement import APL_CLASSES, AplAgreement, compare_apl, fit_level_scale

# Four matched communes (01001-01004), one only ours (02001), one only official (03001).
OFFICIAL = pd.DataFrame(
    {
        "insee": ["01001", "01002", "01003", "01004", "03001"],
        "apl": [2.0, 3.0, 5.0, 1.0, 4.0],
        "pop_std": [100.0, 200.0, 100.0, 100.0, 50.0],
        "pop_total": [110.0, 190.0, 100.0, 100.0, 50.0],
    }
)
OURS = pd.DataFrame(
    {
        "insee": ["01001", "01002", "01003", "01004", "02001"],
        "apl": [2.0, 4.5, 3.0, 2.6, 1.0],
        "pop": [100.0, 200.0, 100.0, 100.0, 10.0],
        "epci_siren": ["E1", "E1", "E2", "E2", "E3"],
        "gp": [1, 4, 0, 2, 0],  # an extra column, kept to explain disagreements
    }
)


@pytest.fixture(scope="module")
def agreement() -> AplAgreement:
    return compare_apl(OURS, OFFICIAL)


def test_counts(agreement: AplAgreement) -> None:
    assert (agreement.n_matched, agreement.n_only_ours, agreement.n_only_official) == (1 + 3, 1, 1)
    status = agreement.communes.set_index("insee")["status"]
    assert status["02001"] == "only_ours" and status["03001"] == "only_official"


def test_correlations(agreement: AplAgreement) -> None:
    # ranks official [2, 3, 4, 1], ours [1, 4, 3, 2]: sum d^2 = 4, rho = 1 - 6*4/(4*15)
    assert agreement.spearman == pytest.approx(1 - 6 * 4 / (4 * 15))
    # deviations: official [-0.75, 0.25, 2.25, -1.75], ours [-1.025, 1.475, -0.025, -0.425]
    assert agreement.pearson == pytest.approx(1.825 / math.sqrt(8.75 * 3.4075))


def test_levels_and_shares(agreement: AplAgreement) -> None:
    # official level: (2*100 + 3*200 + 5*100 + 1*100) / 500 = 2.8
    assert agreement.level_official == pytest.approx(2.8)
    # ours has no pop_std: the official one weights it: (200 + 900 + 300 + 260) / 500 = 3.32
    assert agreement.level_ours == pytest.approx(3.32)
    assert agreement.level_ratio == pytest.approx(3.32 / 2.8)
    assert agreement.scale_to_official == pytest.approx(2.8 / 3.32)
    assert "official pop_std" in agreement.level_weight_ours
    # |diff| [0, 1.5, 2, 1.6] weighted by pop_std: (300 + 200 + 160) / 500
    assert agreement.mean_abs_diff == pytest.approx(1.32)
    # people below 2.5: official 01001 + 01004 (110 + 100) / 500; ours 01001: 100 / 500
    assert agreement.share_below_2_5_official == pytest.approx(0.42)
    assert agreement.share_below_2_5_ours == pytest.approx(0.2)
    # below 4: official 110 + 190 + 100; ours 100 + 100 + 100
    assert agreement.share_below_4_official == pytest.approx(0.8)
    assert agreement.share_below_4_ours == pytest.approx(0.6)
    # same class only for 01001: 110 of 500 people, 1 of 4 communes
    assert agreement.share_same_class_pop == pytest.approx(0.22)
    assert agreement.share_same_class_count == pytest.approx(0.25)


def test_confusion(agreement: AplAgreement) -> None:
    count = agreement.confusion_count
    assert count.index.tolist() == list(APL_CLASSES) == count.columns.tolist()
    expected = pd.DataFrame(
        [[1, 1, 0], [0, 0, 1], [0, 1, 0]], index=list(APL_CLASSES), columns=list(APL_CLASSES)
    )
    assert (count.to_numpy() == expected.to_numpy()).all()
    pop = agreement.confusion_pop
    assert pop.loc["<2.5", "<2.5"] == 110 and pop.loc["<2.5", "2.5-4"] == 100
    assert pop.loc["2.5-4", ">=4"] == 190 and pop.loc[">=4", "2.5-4"] == 100
    assert pop.to_numpy().sum() == 500


def test_by_group(agreement: AplAgreement) -> None:
    assert set(agreement.by_group) == {"dep", "epci_siren"}  # reg absent: skipped
    epci = agreement.by_group["epci_siren"].set_index("epci_siren")
    assert epci.loc["E1", "n_matched"] == 2
    assert epci.loc["E1", "level_official"] == pytest.approx(800 / 300)
    assert epci.loc["E1", "level_ours"] == pytest.approx(1100 / 300)
    assert math.isnan(epci.at["E1", "spearman"])  # type: ignore[arg-type]  # under 3 communes
    assert epci.loc["E2", "level_official"] == pytest.approx(3.0)
    assert epci.loc["E2", "level_ours"] == pytest.approx(2.8)
    assert epci.loc["E2", "share_below_2_5_official"] == pytest.approx(0.5)
    assert epci.loc["E2", "pop_off_ge4_ours_2_5to4"] == 100
    assert epci.loc["E2", "n_off_lt2_5_ours_2_5to4"] == 1
    assert (epci.loc["E3", "n_matched"], epci.loc["E3", "n_only_ours"]) == (0, 1)
    dep = agreement.by_group["dep"].set_index("dep")  # derived from insee
    assert dep["n_matched"].to_dict() == {"01": 4, "02": 0, "03": 0}
    assert dep.loc["03", "n_only_official"] == 1
    assert dep.loc["01", "spearman"] == pytest.approx(agreement.spearman)


def test_largest_disagreements(agreement: AplAgreement) -> None:
    ab = agreement.largest_abs
    assert ab["insee"].tolist() == ["01003", "01004", "01002", "01001"]
    assert ab["rank"].tolist() == [1, 2, 3, 4]
    assert ab["diff"].tolist() == pytest.approx([-2.0, 1.6, 1.5, 0.0])
    assert {"gp", "epci_siren", "class_ours", "class_official", "pop_ratio", "cause"} <= set(ab)
    assert ab.set_index("insee").loc["01002", "gp"] == 4
    rel = agreement.largest_rel  # (ours - official) / official: 0, 0.5, -0.4, 1.6
    assert rel["insee"].tolist() == ["01004", "01002", "01003", "01001"]
    assert rel["rel_diff"].tolist() == pytest.approx([1.6, 0.5, -0.4, 0.0])
    top2 = compare_apl(OURS, OFFICIAL, n_largest=2)
    assert len(top2.largest_abs) == 2 and len(top2.largest_rel) == 2


def test_tables_and_summary(agreement: AplAgreement) -> None:
    tables = agreement.to_tables()
    assert set(tables) == {
        "apl_agreement_summary",
        "apl_agreement_confusion",
        "apl_agreement_by_dep",
        "apl_agreement_by_epci_siren",
        "apl_agreement_largest_abs",
        "apl_agreement_largest_rel",
        "apl_agreement_communes",
    }
    summ = tables["apl_agreement_summary"].set_index("statistic")["value"]
    assert summ["spearman"] == pytest.approx(0.6) and summ["n_matched"] == 4
    conf = tables["apl_agreement_confusion"]
    assert len(conf) == 9 and conf["communes"].sum() == 4 and conf["population"].sum() == 500
    communes = tables["apl_agreement_communes"]
    assert len(communes) == 6
    assert not any(isinstance(communes[c].dtype, pd.CategoricalDtype) for c in communes)
    text = agreement.summary()
    assert "4 communes" in text and "Spearman 0.600" in text and "ours 3.32, official 2.80" in text


def test_own_standardised_population_weights_our_level() -> None:
    ours = OURS.assign(pop_std=[100.0, 100.0, 100.0, 100.0, 10.0])
    a = compare_apl(ours, OFFICIAL)
    assert a.level_ours == pytest.approx((2.0 + 4.5 + 3.0 + 2.6) / 4)
    assert a.level_weight_ours == "pop_std"
    assert a.level_official == pytest.approx(2.8)


def test_class_boundaries() -> None:
    off = pd.DataFrame(
        {"insee": ["01001", "01002", "01003"], "apl": [2.5, 4.0, 2.4999],
         "pop_std": [1.0, 1.0, 1.0], "pop_total": [1.0, 1.0, 1.0]}
    )  # fmt: skip
    a = compare_apl(off.rename(columns={"pop_total": "pop"}).drop(columns="pop_std"), off)
    classes = a.communes.set_index("insee")["class_official"].astype(str).to_dict()
    assert classes == {"01001": "2.5-4", "01002": ">=4", "01003": "<2.5"}
    assert a.share_below_2_5_official == pytest.approx(1 / 3)


def test_perfect_agreement() -> None:
    ours = OFFICIAL.rename(columns={"pop_total": "pop"})
    a = compare_apl(ours, OFFICIAL)
    assert (a.n_matched, a.n_only_ours, a.n_only_official) == (5, 0, 0)
    assert a.spearman == pytest.approx(1.0) and a.pearson == pytest.approx(1.0)
    assert a.level_ratio == pytest.approx(1.0) and a.mean_abs_diff == 0
    assert a.level_weight_ours == "pop_std"
    assert a.share_below_2_5_ours == a.share_below_2_5_official
    assert a.share_below_4_ours == a.share_below_4_official
    assert a.share_same_class_pop == 1.0 and a.share_same_class_count == 1.0
    off_diag = a.confusion_count.to_numpy() - np.diag(np.diag(a.confusion_count.to_numpy()))
    assert (off_diag == 0).all()
    assert (a.largest_abs["abs_diff"] == 0).all()


def test_scaling_fixes_the_level_not_the_ranking() -> None:
    m = OFFICIAL.iloc[:4]
    ours = pd.DataFrame({"insee": m["insee"], "apl": m["apl"] * 0.5, "pop": m["pop_total"]})
    before = compare_apl(ours, m)
    assert before.level_ratio == pytest.approx(0.5)
    assert before.share_below_2_5_ours > before.share_below_2_5_official
    k = fit_level_scale(ours["apl"], m["apl"], m["pop_std"])
    assert k == pytest.approx(2.0)
    after = compare_apl(ours.assign(apl=ours["apl"] * k), m)
    assert after.level_ratio == pytest.approx(1.0) and after.share_same_class_count == 1.0
    # A scale cannot fix a wrong ranking: OURS scaled to the official level keeps rho = 0.6.
    mo = OURS.iloc[:4]
    k2 = fit_level_scale(mo["apl"].to_numpy(), m["apl"].to_numpy(), m["pop_std"].to_numpy())
    assert k2 == pytest.approx(1400 / 1660)
    fixed = compare_apl(mo.assign(apl=mo["apl"] * k2), m)
    assert fixed.level_ratio == pytest.approx(1.0)
    assert fixed.spearman == pytest.approx(0.6)


def test_fit_level_scale_inputs() -> None:
    assert fit_level_scale([1.0, 2.0], [2.0, 3.0], [1.0, 1.0]) == pytest.approx(5 / 3)
    ours = pd.Series({"a": 1.0, "b": 2.0, "c": np.nan})
    off = pd.Series({"b": 4.0, "a": 2.0, "c": 9.0, "d": 1.0})
    w = pd.Series({"a": 1.0, "b": 3.0, "c": 1.0})
    assert fit_level_scale(ours, off, w) == pytest.approx((2 + 12) / (1 + 6))  # aligned, NaN out
    with pytest.raises(BadValueError, match="lengths"):
        fit_level_scale([1.0], [1.0, 2.0], [1.0])
    with pytest.raises(BadValueError, match="negative"):
        fit_level_scale([1.0], [1.0], [-1.0])
    with pytest.raises(BadValueError, match="is 0"):
        fit_level_scale([0.0, 0.0], [1.0, 2.0], [1.0, 1.0])


def test_bad_inputs() -> None:
    with pytest.raises(MissingColumnError, match="ours: missing column 'pop'"):
        compare_apl(OURS.drop(columns="pop"), OFFICIAL)
    with pytest.raises(MissingColumnError, match="official: missing column 'pop_std'"):
        compare_apl(OURS, OFFICIAL.drop(columns="pop_std"))
    with pytest.raises(MissingColumnError, match="'reg'"):
        compare_apl(OURS, OFFICIAL, by=["reg"])
    with pytest.raises(DuplicateIdError, match="01001"):
        compare_apl(pd.concat([OURS, OURS.iloc[:1]]), OFFICIAL)
    with pytest.raises(BadValueError, match=r"'apl'.*'x'"):
        compare_apl(OURS.assign(apl=["x", 1, 1, 1, 1]), OFFICIAL)
    with pytest.raises(BadValueError, match=">= 0"):
        compare_apl(OURS.assign(apl=[-1.0, 1, 1, 1, 1]), OFFICIAL)
    with pytest.raises(UnknownCodeError, match="no commune in common"):
        compare_apl(OURS.assign(insee=["9" + c[1:] for c in OURS["insee"]]), OFFICIAL)


def test_missing_apl_counts_as_absent() -> None:
    a = compare_apl(OURS.assign(apl=[np.nan, 4.5, 3.0, 2.6, 1.0]), OFFICIAL)
    assert (a.n_matched, a.n_only_ours, a.n_only_official) == (3, 1, 2)
    # 4-digit codes get their leading zero back
    b = compare_apl(OURS.assign(insee=[c.lstrip("0") for c in OURS["insee"]]), OFFICIAL)
    assert b.n_matched == 4
