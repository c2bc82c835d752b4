"""Maximal covering location (MCLP) on plain tables: coverage sets, greedy, exact, what-if.

The maximal covering location problem (MCLP, Church & ReVelle 1974) picks ``k`` sites among
candidates to maximise the people who end up within a travel-time threshold of a site,
existing supply staying fixed (people already within the threshold count as covered).

* :func:`coverage_sets` turns a long candidate -> demand time table into a sparse boolean
  matrix (candidates x demand points).
* :func:`greedy_mclp` adds sites one at a time (lazy greedy, Minoux 1978), returning the
  marginal-gain curve; coverage is submodular so greedy is within ``1 - 1/e`` of the
  optimum (Nemhauser, Wolsey & Fisher 1978).
* :func:`exact_mclp` solves the MILP with HiGHS through :func:`scipy.optimize.milp`.
* :func:`what_if` / :class:`SitingModel` evaluate "what if a centre opens here" in
  O(nnz of one row).

References
----------
.. [CR74] Church R., ReVelle C. (1974). The maximal covering location problem. *Papers of
   the Regional Science Association* 32, 101-118.
.. [NWF78] Nemhauser G., Wolsey L., Fisher M. (1978). An analysis of approximations for
   maximizing submodular set functions. *Mathematical Programming* 14, 265-294.
.. [M78] Minoux M. (1978). Accelerated greedy algorithms for maximizing submodular set
   functions. *Optimization Techniques*, LNCIS 7, 234-243.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy.typing as npt

from accessmap.network.store import graph_arrays
from accessmap.parallel import DEFAULT_BLOCK_SIZE, distributed_bounded_table

if TYPE_CHECKING:
    from distributed import Client

import heapq
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from accessmap.errors import BadValueError, ConfigError, UnknownCodeError
from accessmap.measures import validate_time_table

__all__ = [
    "CoverSets",
    "MCLPResult",
    "SitingModel",
    "coverage_sets",
    "exact_mclp",
    "greedy_mclp",
    "what_if",
]

Covered = pd.Series | Iterable[Any] | None


@dataclass(frozen=True)
class CoverSets:
    """Which demand points each candidate site covers.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix of bool
        ``matrix[c, d]`` is True when demand point ``d`` is within the threshold of
        candidate ``c``. Shape ``(len(candidate_ids), len(demand_ids))``.
    candidate_ids, demand_ids : ndarray
        Ids of the rows and columns.
    threshold_min : float
        The threshold used (inclusive).
    """

    matrix: sp.csr_matrix
    candidate_ids: np.ndarray
    demand_ids: np.ndarray
    threshold_min: float

    @cached_property
    def _candidate_index(self) -> pd.Index:
        return pd.Index(self.candidate_ids)

    def candidate_position(self, site_id: Any) -> int:
        """Row of ``site_id``; raises :class:`UnknownCodeError` if it is not a candidate."""
        pos = self._candidate_index.get_indexer(pd.Index([site_id]))[0]
        if pos < 0:
            sample = self.candidate_ids[0] if len(self.candidate_ids) else None
            raise UnknownCodeError(
                f"site {site_id!r} is not a candidate (e.g. {sample!r}); candidates are the "
                "ids of the coverage table, check the code and its dtype (str)"
            )
        return int(pos)


def coverage_sets(
    matrix: pd.DataFrame,
    *,
    threshold_min: float,
    candidate_col: str = "from_id",
    candidate_ids: Iterable[Any] | None = None,
    demand_ids: Iterable[Any] | None = None,
) -> CoverSets:
    """Build the candidate x demand coverage matrix from a long time table.

    Parameters
    ----------
    matrix : DataFrame
        ``from_id, to_id, travel_time_min``. By default ``from_id`` holds candidates and
        ``to_id`` demand points; for a patient -> practice table (demand in ``from_id``)
        pass ``candidate_col="to_id"``.
    threshold_min : float
        Covered means ``travel_time_min <= threshold_min`` (15 = Région Occitanie goal).
    candidate_col : {"from_id", "to_id"}, optional
        Which column holds the candidate ids.
    candidate_ids, demand_ids : iterable, optional
        Full id lists (keeps candidates/demand points that cover/are covered by nothing);
        default: the ids present in ``matrix``, sorted.

    Returns
    -------
    CoverSets
    """
    if not isinstance(threshold_min, Real) or not (
        math.isfinite(threshold_min) and threshold_min >= 0
    ):
        raise ConfigError(f"threshold_min must be minutes >= 0, got {threshold_min!r}")
    if candidate_col not in ("from_id", "to_id"):
        raise ConfigError(f"candidate_col must be 'from_id' or 'to_id', got {candidate_col!r}")
    m = validate_time_table(matrix)
    demand_col = "to_id" if candidate_col == "from_id" else "from_id"
    m = m[m["travel_time_min"] <= threshold_min]
    cand = _ids(candidate_ids, matrix[candidate_col], name="candidate_ids")
    dem = _ids(demand_ids, matrix[demand_col], name="demand_ids")
    rows = pd.Index(cand).get_indexer(pd.Index(m[candidate_col]))
    cols = pd.Index(dem).get_indexer(pd.Index(m[demand_col]))
    for pos, col, name in (
        (rows, candidate_col, "candidate_ids"),
        (cols, demand_col, "demand_ids"),
    ):
        if (pos < 0).any():
            bad = m[col].iloc[int(np.flatnonzero(pos < 0)[0])]
            raise UnknownCodeError(
                f"matrix column {col!r} holds {bad!r}, which is not in {name}; add it or "
                "filter the table"
            )
    data = np.ones(len(rows), dtype=bool)
    cover = sp.csr_matrix((data, (rows, cols)), shape=(len(cand), len(dem)), dtype=bool)
    cover.sum_duplicates()
    cover.sort_indices()
    return CoverSets(cover, cand, dem, float(threshold_min))


def _ids(given: Iterable[Any] | None, present: pd.Series, *, name: str) -> np.ndarray:
    if given is None:
        return np.asarray(sorted(pd.unique(present)), dtype=object)
    arr = np.asarray(list(given), dtype=object)
    idx = pd.Index(arr)
    if idx.has_duplicates:
        raise BadValueError(f"{name} holds {idx[idx.duplicated()][0]!r} twice; ids must be unique")
    return arr


def _demand_vector(cover: CoverSets, demand: pd.Series) -> tuple[np.ndarray, float]:
    """Demand aligned on ``cover.demand_ids`` and the total population (all ids of demand)."""
    if not isinstance(demand, pd.Series):
        raise BadValueError(
            f"demand must be a Series indexed by demand id, got {type(demand).__name__}"
        )
    d = pd.to_numeric(demand, errors="coerce").astype("float64")
    if d.isna().any() or (d < 0).any() or not np.isfinite(d.to_numpy()).all():
        bad = demand[d.isna() | (d < 0) | ~np.isfinite(d)].iloc[0]
        bad = float(bad) if isinstance(bad, int | float | np.number) else bad
        raise BadValueError(f"demand holds {bad!r}; people must be finite numbers >= 0")
    if d.index.has_duplicates:
        raise BadValueError(f"demand index holds {d.index[d.index.duplicated()][0]!r} twice")
    idx = pd.Index(cover.demand_ids)
    missing = ~idx.isin(d.index)
    if missing.any():
        raise UnknownCodeError(
            f"demand point {cover.demand_ids[int(np.flatnonzero(missing)[0])]!r} of the "
            "coverage matrix has no population in demand; give demand for every demand id"
        )
    return np.array(d.reindex(idx), dtype="float64"), float(d.sum())


def _covered_mask(cover: CoverSets, already_covered: Covered) -> np.ndarray:
    """Boolean over ``cover.demand_ids``; accepts a boolean Series or an iterable of ids."""
    n = len(cover.demand_ids)
    if already_covered is None:
        return np.zeros(n, dtype=bool)
    idx = pd.Index(cover.demand_ids)
    if isinstance(already_covered, pd.Series) and already_covered.dtype == bool:
        return already_covered.reindex(idx, fill_value=False).to_numpy(dtype=bool, copy=True)
    ids = pd.Index(list(already_covered))
    return np.array(idx.isin(ids), dtype=bool)


def _covered_pop_outside(demand: pd.Series, cover: CoverSets, already_covered: Covered) -> float:
    """People already covered who are not columns of the cover matrix."""
    if already_covered is None:
        return 0.0
    if isinstance(already_covered, pd.Series) and already_covered.dtype == bool:
        ids = already_covered.index[already_covered.to_numpy()]
    else:
        ids = pd.Index(list(already_covered))
    outside = ids[~ids.isin(cover.demand_ids)]
    return float(demand.reindex(outside).fillna(0.0).sum())


class SitingModel:
    """Coverage state for fast what-ifs and incremental siting.

    Parameters
    ----------
    cover : CoverSets
    demand : Series
        People per demand id (must hold every ``cover.demand_ids``; extra ids count in the
        total population only).
    already_covered : boolean Series or iterable of ids, optional
        Demand points already within the threshold of existing supply.

    Examples
    --------
    >>> m = pd.DataFrame({"from_id": ["s1", "s1", "s2"], "to_id": ["a", "b", "b"],
    ...                   "travel_time_min": [5.0, 9.0, 3.0]})
    >>> model = SitingModel(coverage_sets(m, threshold_min=15), pd.Series({"a": 10, "b": 5}))
    >>> model.gain("s1"), model.gain("s2")
    (15.0, 5.0)
    """

    def __init__(self, cover: CoverSets, demand: pd.Series, already_covered: Covered = None):
        self.cover = cover
        self._d, self.total_pop = _demand_vector(cover, demand)
        self._covered = _covered_mask(cover, already_covered)
        self.base_pop = float(self._d[self._covered].sum()) + _covered_pop_outside(
            demand, cover, already_covered
        )
        self.covered_pop = self.base_pop
        self.opened: list[Any] = []

    def _gain_row(self, row: int) -> float:
        m = self.cover.matrix
        cols = m.indices[m.indptr[row] : m.indptr[row + 1]]
        return float(self._d[cols][~self._covered[cols]].sum())

    def gain(self, site_id: Any) -> float:
        """People newly covered if ``site_id`` opened now (O(nnz of its row))."""
        return self._gain_row(self.cover.candidate_position(site_id))

    def open(self, site_id: Any) -> float:
        """Open ``site_id``: mark its demand points covered; return the people gained."""
        row = self.cover.candidate_position(site_id)
        g = self._gain_row(row)
        m = self.cover.matrix
        self._covered[m.indices[m.indptr[row] : m.indptr[row + 1]]] = True
        self.covered_pop += g
        self.opened.append(site_id)
        return g

    @property
    def covered_share(self) -> float:
        """Share of the total population covered now (existing supply + opened sites)."""
        return self.covered_pop / self.total_pop if self.total_pop > 0 else float("nan")


def what_if(
    cover: CoverSets, demand: pd.Series, site_id: Any, already_covered: Covered = None
) -> float:
    """People newly within the threshold if a centre opened at ``site_id``.

    For many what-ifs on the same state build a :class:`SitingModel` once and call
    :meth:`SitingModel.gain` (O(nnz of one row) each).
    """
    return SitingModel(cover, demand, already_covered).gain(site_id)


def _check_k(k: int, n: int) -> None:
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"k must be a positive integer number of sites, got {k!r}")
    if k > n:
        raise ConfigError(f"k = {k} exceeds the {n} candidate sites; lower k or add candidates")


def greedy_mclp(
    cover: CoverSets,
    demand: pd.Series,
    *,
    k: int,
    already_covered: Covered = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Pick ``k`` sites one at a time, each adding the most people newly covered.

    Lazy greedy (Minoux 1978): candidates sit in a max-heap keyed by their last computed
    gain; since gains only shrink as sites open (submodularity), the top entry is re-evaluated
    and accepted as soon as its fresh gain still beats the next stale one. Ties go to the
    candidate listed first in ``cover.candidate_ids``. Stops early when no candidate adds
    anyone (fewer than ``k`` rows then).

    Parameters
    ----------
    cover : CoverSets
    demand : Series
        People per demand id.
    k : int
        Number of new sites.
    already_covered : boolean Series or iterable of ids, optional
        Demand points already covered by existing supply.
    progress : callable, optional
        ``progress(done, total)`` after each site.

    Returns
    -------
    DataFrame
        ``rank, site_id, gain_pop, cumulative_pop`` (people newly covered so far),
        ``cumulative_share`` (``cumulative_pop`` / total population) and
        ``covered_share`` (share of the total population covered, existing supply
        included).

    Examples
    --------
    >>> m = pd.DataFrame({"from_id": ["s1", "s1", "s2", "s3", "s3"],
    ...                   "to_id": ["a", "b", "c", "b", "c"], "travel_time_min": 10.0})
    >>> cover = coverage_sets(m, threshold_min=15)
    >>> greedy_mclp(cover, pd.Series({"a": 5.0, "b": 1.0, "c": 3.0}), k=2)[
    ...     ["site_id", "gain_pop"]].values.tolist()
    [['s1', 6.0], ['s2', 3.0]]
    """
    n = len(cover.candidate_ids)
    _check_k(k, n)
    model = SitingModel(cover, demand, already_covered)
    open_demand = np.where(model._covered, 0.0, model._d)
    first = cover.matrix.astype("float64") @ open_demand  # all initial gains at once
    heap = [(-float(g), r) for r, g in enumerate(first)]
    heapq.heapify(heap)
    rows: list[dict[str, Any]] = []
    cum = 0.0
    while heap and len(rows) < k:
        _, r = heapq.heappop(heap)
        fresh = model._gain_row(r)
        if heap and (-fresh, r) > heap[0]:
            heapq.heappush(heap, (-fresh, r))
            continue
        if fresh <= 0:
            break
        site = cover.candidate_ids[r]
        model.open(site)
        cum += fresh
        rows.append(
            {
                "rank": len(rows) + 1,
                "site_id": site,
                "gain_pop": fresh,
                "cumulative_pop": cum,
                "cumulative_share": cum / model.total_pop if model.total_pop else float("nan"),
                "covered_share": model.covered_share,
            }
        )
        if progress is not None:
            progress(len(rows), k)
    cols = ["rank", "site_id", "gain_pop", "cumulative_pop", "cumulative_share", "covered_share"]
    return pd.DataFrame(rows, columns=cols)


@dataclass
class MCLPResult:
    """Result of :func:`exact_mclp`.

    Attributes
    ----------
    sites : list
        Chosen candidate ids (in candidate order).
    objective_pop : float
        People newly covered by the chosen sites (recomputed from the sets).
    dual_bound_pop : float
        Solver upper bound on the optimum (equals the objective when proven optimal).
    mip_gap : float
        Relative gap ``(bound - objective) / bound`` (0 if optimal; NaN when the solver
        gave no bound).
    status : int
        :func:`scipy.optimize.milp` status: 0 optimal, 1 iteration/time limit, 2
        infeasible, 3 unbounded, 4 other.
    message : str
        Solver message.
    optimal : bool
        Whether optimality was proven.
    greedy_pop : float
        People newly covered by :func:`greedy_mclp` with the same ``k``.
    gap_to_greedy : float
        ``(objective_pop - greedy_pop) / objective_pop`` (0 = greedy was optimal).
    solve_time_s : float
        Wall-clock seconds spent in the solver.
    """

    sites: list[Any]
    objective_pop: float
    dual_bound_pop: float
    mip_gap: float
    status: int
    message: str
    optimal: bool
    greedy_pop: float
    gap_to_greedy: float
    solve_time_s: float


def exact_mclp(
    cover: CoverSets,
    demand: pd.Series,
    *,
    k: int,
    already_covered: Covered = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 1e-6,
) -> MCLPResult:
    """Solve the MCLP exactly as a MILP with HiGHS (:func:`scipy.optimize.milp`).

    ``max sum_i d_i y_i`` subject to ``y_i <= sum_j a_ij x_j``, ``sum_j x_j = k``,
    ``x_j in {0, 1}``, ``0 <= y_i <= 1``, over the demand points that are not already
    covered and that some candidate covers (Church & ReVelle 1974). ``y`` may stay
    continuous: for integer ``x`` the optimum sets ``y_i = min(1, sum_j a_ij x_j)``.

    Parameters
    ----------
    cover, demand, k, already_covered
        As in :func:`greedy_mclp`.
    time_limit_s : float, optional
        Solver time limit in seconds (default 60). When it is hit the result carries the
        best known solution (the solver's incumbent, or the greedy one if that is better or
        the solver found none), ``optimal=False``, and the gap to the solver's bound.
    mip_rel_gap : float, optional
        Relative optimality tolerance passed to HiGHS (default 1e-6).

    Returns
    -------
    MCLPResult
    """
    n = len(cover.candidate_ids)
    _check_k(k, n)
    if not (math.isfinite(time_limit_s) and time_limit_s > 0):
        raise ConfigError(
            f"time_limit_s must be a positive number of seconds, got {time_limit_s!r}"
        )
    model = SitingModel(cover, demand, already_covered)
    greedy = greedy_mclp(cover, demand, k=k, already_covered=already_covered)
    greedy_pop = float(greedy["gain_pop"].sum())

    a = cover.matrix.tocsc()
    useful = (~model._covered) & (model._d > 0) & (np.diff(a.indptr) > 0)
    cols = np.flatnonzero(useful)
    a_sub = a[:, cols].T.tocsr().astype("float64")  # useful demand x candidates
    # Reductions that keep the optimum (they matter at national scale): candidates that
    # cover no useful demand only fill the k slots, so they are left out of the model (and
    # added back below if fewer than k useful ones exist); demand points covered by exactly
    # the same candidates are merged, their demand summed.
    live = np.flatnonzero(np.diff(a_sub.tocsc().indptr) > 0)
    a_sub = a_sub[:, live].tocsr()
    a_sub.sort_indices()
    d_sub = model._d[cols]
    if a_sub.shape[0]:
        keys = [a_sub.indices[a_sub.indptr[i] : a_sub.indptr[i + 1]].tobytes()
                for i in range(a_sub.shape[0])]  # fmt: skip
        _, first, inverse = np.unique(np.array(keys, dtype=object), return_index=True,
                                      return_inverse=True)  # fmt: skip
        d_sub = np.bincount(inverse.ravel(), weights=d_sub, minlength=len(first))
        a_sub = a_sub[first]
    nl, m = len(live), a_sub.shape[0]
    k_model = min(k, nl)
    c = np.concatenate([np.zeros(nl), -d_sub])
    cons_cover = LinearConstraint(sp.hstack([-a_sub, sp.identity(m)]).tocsr(), -np.inf, 0.0)
    cons_k = LinearConstraint(
        sp.csr_matrix(np.concatenate([np.ones(nl), np.zeros(m)])), k_model, k_model
    )
    integrality = np.concatenate([np.ones(nl), np.zeros(m)])
    t0 = time.perf_counter()
    if nl == 0:  # nothing left to cover: every choice gains 0, take the first k
        chosen = np.arange(k)
        return MCLPResult(
            sites=[cover.candidate_ids[i] for i in chosen], objective_pop=0.0,
            dual_bound_pop=0.0, mip_gap=0.0, status=0,
            message="no uncovered demand within reach of a candidate", optimal=True,
            greedy_pop=greedy_pop, gap_to_greedy=0.0,
            solve_time_s=time.perf_counter() - t0,
        )  # fmt: skip
    res = milp(
        c,
        constraints=[cons_cover, cons_k] if m else [cons_k],
        integrality=integrality,
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap)},
    )
    elapsed = time.perf_counter() - t0
    optimal = int(res.status) == 0 and res.x is not None
    message = str(res.message)
    if res.x is not None:
        chosen = live[np.flatnonzero(res.x[:nl] > 0.5)]
        if len(chosen) < k:  # fewer useful candidates than k: fill with idle ones
            idle = np.setdiff1d(np.arange(n), chosen)[: k - len(chosen)]
            chosen = np.sort(np.concatenate([chosen, idle]))
        obj = _covered_gain(cover, model, chosen)
    else:
        chosen, obj = np.zeros(0, dtype=np.int64), -math.inf
    if not optimal and obj < greedy_pop:
        # time limit hit with no better incumbent: the greedy solution is the best known
        chosen = np.sort([cover.candidate_position(s) for s in greedy["site_id"]])
        obj = greedy_pop
        message += "; best known solution is the greedy one"
    raw_bound = getattr(res, "mip_dual_bound", None)
    bound = -float(raw_bound) if raw_bound is not None else math.nan
    if optimal and not math.isfinite(bound):
        bound = obj
    if math.isfinite(bound):
        bound = max(bound, obj)
        gap = (bound - obj) / bound if bound > 0 else 0.0
    else:
        gap = math.nan
    return MCLPResult(
        sites=[cover.candidate_ids[i] for i in chosen],
        objective_pop=obj,
        dual_bound_pop=bound,
        mip_gap=gap,
        status=int(res.status),
        message=message,
        optimal=optimal,
        greedy_pop=greedy_pop,
        gap_to_greedy=(obj - greedy_pop) / obj if obj > 0 else 0.0,
        solve_time_s=elapsed,
    )


def _covered_gain(cover: CoverSets, model: SitingModel, rows: np.ndarray) -> float:
    """People newly covered when the candidate ``rows`` open, from the sets."""
    if len(rows) == 0:
        return 0.0
    covered = np.asarray(cover.matrix[rows].sum(axis=0)).ravel() > 0
    return float(model._d[covered & ~model._covered].sum())


def distributed_coverage_sets(
    network_path: str | os.PathLike[str],
    candidate_nodes: npt.ArrayLike,
    demand_nodes: npt.ArrayLike,
    threshold_min: float,
    client: Client | str | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Which demand points each candidate site covers within ``threshold_min`` (by road).

    Coverage is in the patient -> practice direction: demand point ``i`` is covered by
    candidate ``j`` when the travel time from ``i`` to ``j`` is at most the threshold
    (Church & ReVelle 1974, MCLP coverage sets). It is computed as one bounded search per
    candidate on the reversed graph, restricted to demand nodes, in blocks of candidates.

    Parameters
    ----------
    network_path : path-like
        Compiled graph (see :func:`distributed_bounded_table`).
    candidate_nodes : array of int
        Node position of each candidate site (row order of the result).
    demand_nodes : array of int
        Node position of each demand point (column order of the result). Several demand
        points may share a node.
    threshold_min : float
        Coverage radius in minutes (inclusive).
    client, block_size, progress
        As :func:`distributed_bounded_table`.

    Returns
    -------
    scipy.sparse.csr_array of bool, shape (n_candidates, n_demand)
        ``A[j, i]`` is true when candidate ``j`` covers demand point ``i``; the usual input
        of MCLP/LSCP solvers (spopt ``from_cost_matrix`` uses the same orientation after
        transposition).
    """
    import scipy.sparse as sp

    dem = np.ascontiguousarray(np.atleast_1d(np.asarray(demand_nodes)), dtype=np.int64)
    cand = np.ascontiguousarray(np.atleast_1d(np.asarray(candidate_nodes)), dtype=np.int64)
    ip, _, _ = graph_arrays(network_path)
    n = int(ip.shape[0]) - 1
    if dem.size and (dem.min() < 0 or dem.max() >= n):
        bad = dem[(dem < 0) | (dem >= n)][0]
        raise BadValueError(f"demand node {int(bad)} is outside the node range 0..{n - 1}")
    mask = np.zeros(n, dtype=np.bool_)
    mask[dem] = True
    src, node, _ = distributed_bounded_table(
        network_path,
        cand,
        threshold_min,
        client,
        block_size,
        reverse=True,
        target_mask=mask,
        progress=progress,
    )
    # node -> demand columns (a node may host several demand points)
    order = np.argsort(dem, kind="stable")
    sorted_nodes = dem[order]
    lo = np.searchsorted(sorted_nodes, node, side="left")
    hi = np.searchsorted(sorted_nodes, node, side="right")
    counts = hi - lo
    rows = np.repeat(src, counts)
    starts = np.repeat(lo, counts)
    within = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    cols = order[starts + within]
    data = np.ones(rows.size, dtype=bool)
    return sp.csr_array((data, (rows, cols)), shape=(cand.size, dem.size))
