"""Siting new health centres on plain tables: where, with how many doctors, and what changes.

* :mod:`accessmap.siting.coverage`: maximal covering location (MCLP, Church & ReVelle 1974):
  :func:`coverage_sets`, :func:`greedy_mclp`, :func:`exact_mclp`, :func:`what_if`,
  :class:`SitingModel` (the coverage objective, unchanged since the first version).
* :mod:`accessmap.siting.problem`: :func:`build_problem` turns an origin -> site time table
  into the effect rows of each site on the DREES APL (per doctor), on coverage within the
  target and on the time to the nearest GP; :class:`SitingState` adds centres incrementally
  and gives every candidate's gain in all three terms.
* :mod:`accessmap.siting.solvers`: the objectives ``apl`` (people lifted above APL 2.5:
  greedy + swap local search + MILP upper bound), ``coverage`` and ``time`` (p-median,
  exact MILP with HiGHS).
* :mod:`accessmap.siting.inputs`: candidate sites (default rule, a planner's file, the
  priority EPCI) and fixed centres (Ma Santé, Ma Région; planned).

May import: :mod:`accessmap.errors`, :mod:`accessmap.measures`, :mod:`accessmap.data`
(typed CSV reading), :mod:`accessmap.network.store` and :mod:`accessmap.parallel` (road
coverage sets). Never loaders or engines.
"""

from accessmap.siting.coverage import (
    CoverSets,
    MCLPResult,
    SitingModel,
    coverage_sets,
    distributed_coverage_sets,
    exact_mclp,
    greedy_mclp,
    what_if,
)
from accessmap.siting.problem import (
    APL_UNDERSERVED,
    OBJECTIVES,
    SitingProblem,
    SitingState,
    build_problem,
)
from accessmap.siting.solvers import (
    BoundResult,
    apl_bound,
    exact_pmedian,
    greedy,
    objective_value,
    order_greedily,
    swap_search,
)

__all__ = [
    "APL_UNDERSERVED",
    "OBJECTIVES",
    "BoundResult",
    "CoverSets",
    "MCLPResult",
    "SitingModel",
    "SitingProblem",
    "SitingState",
    "apl_bound",
    "build_problem",
    "coverage_sets",
    "distributed_coverage_sets",
    "exact_mclp",
    "exact_pmedian",
    "greedy",
    "greedy_mclp",
    "objective_value",
    "order_greedily",
    "swap_search",
    "what_if",
]
