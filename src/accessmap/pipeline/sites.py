"""Stage 4, siting: where K new centres help most (greedy and exact MCLP), what-if sites.

May import: :mod:`accessmap.siting`, :mod:`accessmap.traveltime`, :mod:`accessmap.pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from accessmap import siting
from accessmap.area import Area
from accessmap.config import WORKING_CRS
from accessmap.errors import UnknownCodeError
from accessmap.pipeline.params import ScoreParams
from accessmap.traveltime import MixedEngine

__all__ = ["SitingStage", "siting_stage"]


@dataclass
class SitingStage:
    """Output of :func:`siting_stage`: the greedy curve, the exact MCLP check, the ``sites``
    layer and the what-if table."""

    curve: pd.DataFrame
    exact_info: dict[str, Any]
    sites: gpd.GeoDataFrame
    what_if: pd.DataFrame


def siting_stage(
    params: ScoreParams,
    area: Area,
    engine: MixedEngine,
    com: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    demand: pd.Series,
) -> SitingStage:
    """Site ``params.k`` new centres on the communes' coverage sets within the target."""
    tcol = f"within_{params.threshold_min:g}"
    # --- siting --------------------------------------------------------------------------
    cover_tab = engine.matrix(origins, origins, cutoff_min=params.threshold_min)
    # Patient -> practice direction: origins are the demand (from_id), candidate sites the
    # facilities (to_id); matters on one-way streets with the road engine.
    cover = siting.coverage_sets(
        cover_tab, threshold_min=params.threshold_min, candidate_col="to_id"
    )
    covered_now = com[tcol].astype(bool)
    curve = (
        siting.greedy_mclp(cover, demand, k=params.k, already_covered=covered_now)
        if params.k > 0
        else pd.DataFrame()
    )
    exact_info: dict[str, Any] = {}
    if params.exact and params.k > 0:
        ex = siting.exact_mclp(cover, demand, k=params.k, already_covered=covered_now,
                               time_limit_s=60.0)  # fmt: skip
        exact_info = {
            "status": "optimal" if ex.optimal else ex.message,
            "objective": ex.objective_pop,
            "bound": ex.dual_bound_pop,
            "mip_gap": ex.mip_gap,
            "greedy": ex.greedy_pop,
            "gap_to_greedy": ex.gap_to_greedy,
            "greedy_ratio": ex.greedy_pop / ex.objective_pop if ex.objective_pop else 1.0,
            "sites": [str(x) for x in ex.sites],
            "solve_time_s": ex.solve_time_s,
        }
    sites = _sites_layer(curve, origins, com, demand)
    what_if_rows = []
    if params.what_if:
        model = siting.SitingModel(cover, demand, covered_now)
        for code in params.what_if:
            if code not in com.index:
                raise UnknownCodeError(
                    f"--what-if {code!r} is not an INSEE commune code of {area.name}; "
                    "give a 5-character code such as 46102"
                )
            gain = model.gain(code) if code in set(cover.candidate_ids) else 0.0
            what_if_rows.append({"site_id": code, "nom": com.loc[code, "nom"],
                                 "gain_pop": gain})  # fmt: skip
    what_if_table = pd.DataFrame(what_if_rows)
    return SitingStage(curve=curve, exact_info=exact_info, sites=sites, what_if=what_if_table)


def _sites_layer(
    curve: pd.DataFrame, origins: gpd.GeoDataFrame, com: pd.DataFrame, demand: pd.Series
) -> gpd.GeoDataFrame:
    cols = ["rank", "insee", "nom", "epci_siren", "epci_nom", "gain_pop", "cumulative_pop",
            "cumulative_share"]  # fmt: skip
    if curve is None or len(curve) == 0:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=WORKING_CRS)
    site_ids = list(curve["site_id"].astype(str))
    out = pd.DataFrame(
        {
            "rank": curve["rank"].to_numpy(),
            "insee": site_ids,
            "nom": com.loc[site_ids, "nom"].to_numpy(),
            "epci_siren": com.loc[site_ids, "epci_siren"].to_numpy(),
            "epci_nom": com.loc[site_ids, "epci_nom"].to_numpy(),
            "gain_pop": curve["gain_pop"].to_numpy(),
            "cumulative_pop": curve["cumulative_pop"].to_numpy(),
            "cumulative_share": curve["cumulative_share"].to_numpy(),
        }
    )
    return gpd.GeoDataFrame(out, geometry=origins.loc[site_ids].geometry.to_numpy(),
                            crs=WORKING_CRS)  # fmt: skip
