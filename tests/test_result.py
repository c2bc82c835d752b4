"""accessmap.pipeline.ScoreResult: a short repr and the analyst's follow-up questions."""

from __future__ import annotations

import pytest

from accessmap.errors import ConfigError
from accessmap.pipeline import ScoreResult


def test_repr_is_short_and_says_what_matters(score_result) -> None:
    text = repr(score_result)
    s = score_result.summary
    assert text.startswith("ScoreResult(Occitanie: 4,446 communes, 6,124,653 people; ")
    assert f"{100 * s['share_beyond_target']:.2f}% beyond 15 min" in text
    assert "layers communes" in text and "tables departements" in text
    assert len(text) < 400 and "\n" not in text


def test_layer_by_name(score_result) -> None:
    assert score_result.layer("communes") is score_result.layers["communes"]
    assert score_result.layer("departements") is score_result.tables["departements"]
    with pytest.raises(ConfigError, match=r"no layer or table 'nope'.*communes"):
        score_result.layer("nope")


def test_site_gains_in_order(score_result) -> None:
    gains = score_result.site_gains()
    sites = score_result.layers["sites"].sort_values("rank")
    assert gains["rank"].tolist() == sites["rank"].tolist()
    assert "geometry" not in gains.columns
    assert gains["gain_pop"].tolist() == sites["gain_pop"].tolist()


def test_what_if_matches_the_run_for_its_own_first_site(score_result) -> None:
    """A centre at the first proposed site, on the baseline, brings what the run's first
    site brought (the greedy's first step is a what-if on the same baseline)."""
    first = score_result.layers["sites"].sort_values("rank").iloc[0]
    got = score_result.what_if(first["insee"], first["doctors"])
    assert got["site_id"] == first["insee"]
    assert got["lifted_pop"] == pytest.approx(first["lifted_pop"])
    assert got["gain_pop"] == pytest.approx(first["gain_pop"])
    bare = ScoreResult(layers={}, tables={}, summary={})
    with pytest.raises(ConfigError, match="no siting model"):
        bare.what_if("46102")
