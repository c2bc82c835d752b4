"""Choosing sites for each objective: greedy, swap local search, exact MILPs (HiGHS).

Objectives (:data:`accessmap.siting.problem.OBJECTIVES`), each on a
:class:`~accessmap.siting.problem.SitingState` that already holds the existing and planned
centres:

* ``apl``: maximise the people lifted from APL < 2.5 to >= 2.5 (ties broken by the reduction
  of the population-weighted APL shortfall below 2.5). Not submodular (two centres together
  can lift a commune neither lifts alone), so :func:`greedy` is followed by :func:`swap_search`
  (Teitz & Bart 1968 vertex substitution) and :func:`apl_bound` reports an upper bound: the
  dual bound of the MILP ``max sum_i P_i y_i`` s.t. ``g_i y_i <= sum_j min(d u_ij, g_i) x_j``,
  ``sum_j x_j = k``, ``x, y`` binary (``g_i`` = 2.5 - APL_i, ``u_ij`` = APL per doctor),
  solved by HiGHS within a time limit, and the counting bound "people whose k largest
  possible gains reach 2.5".
* ``coverage``: the MCLP of :mod:`accessmap.siting.coverage` (greedy, exact MILP).
* ``time``: the p-median (Hakimi 1964; ReVelle & Swain 1970) with the existing GPs fixed:
  minimise ``sum_i P_i min(t_i0, min_{j open} t_ij)``. Greedy is within ``1 - 1/e`` of the
  optimum of the time saved (the saving is submodular, Nemhauser, Wolsey & Fisher 1978);
  :func:`exact_pmedian` solves the MILP ``max sum_ij P_i s_ij z_ij`` s.t. ``sum_j z_ij <= 1``,
  ``z_ij <= x_j``, ``sum_j x_j = k`` (``s_ij`` minutes saved over the current nearest).

References
----------
.. [H64] Hakimi S. L. (1964). Optimum locations of switching centers and the absolute
   centers and medians of a graph. *Operations Research* 12(3), 450-459.
.. [RS70] ReVelle C., Swain R. (1970). Central facilities location. *Geographical Analysis*
   2(1), 30-42.
.. [TB68] Teitz M. B., Bart P. (1968). Heuristic methods for estimating the generalized
   vertex median of a weighted graph. *Operations Research* 16(5), 955-961.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from accessmap.errors import ConfigError
from accessmap.siting.problem import OBJECTIVES, SitingState

__all__ = [
    "BoundResult",
    "apl_bound",
    "exact_pmedian",
    "greedy",
    "objective_value",
    "order_greedily",
    "swap_search",
]


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r}: use one of {', '.join(OBJECTIVES)}")


def _key(g: dict[str, np.ndarray], objective: str) -> tuple[np.ndarray, np.ndarray]:
    """(primary, tie-break) arrays of the objective's gain."""
    if objective == "apl":
        return g["lifted"], g["shortfall"]
    if objective == "coverage":
        return g["covered"], g["time"]
    return g["time"], g["covered"]


def _best(primary: np.ndarray, second: np.ndarray, allowed: np.ndarray) -> int:
    """Row with the largest (primary, second) among ``allowed``; first one on ties; -1."""
    if not allowed.any():
        return -1
    p = np.where(allowed, primary, -np.inf)
    top = p.max()
    tie = allowed & (primary >= top - 1e-9 * max(1.0, abs(top)))
    s = np.where(tie, second, -np.inf)
    return int(np.argmax(s))


def objective_value(state: SitingState, base: SitingState, objective: str) -> tuple[float, float]:
    """(primary, tie-break) value of ``state`` against ``base`` for ``objective``.

    ``apl``: (people lifted above 2.5, shortfall reduced); ``coverage``: (people newly
    within the target, person-minutes saved); ``time``: (person-minutes saved, people newly
    within the target).
    """
    _check_objective(objective)
    pb = state.problem
    thr = pb.apl_threshold
    under = base.apl < thr
    lifted = float(pb.pop[under & (state.apl >= thr)].sum())
    short = float((pb.pop * (np.minimum(state.apl, thr) - np.minimum(base.apl, thr))).sum())
    cov = float(pb.pop[state.covered & ~base.covered].sum())
    ok = np.isfinite(pb.time0)
    saved = float((pb.pop[ok] * (state.saved[ok] - base.saved[ok])).sum())
    return {"apl": (lifted, short), "coverage": (cov, saved), "time": (saved, cov)}[objective]


def _doctors(doctors: float | np.ndarray, m: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(doctors, dtype="float64"), (m,)).copy()


def greedy(
    base: SitingState,
    objective: str,
    k: int,
    *,
    doctors: float | np.ndarray,
    candidates: np.ndarray,
) -> list[int]:
    """Open ``k`` sites one at a time, each the best gain of ``objective`` at that point.

    Every candidate's gain is recomputed at each step in one pass over the non-zeros
    (:meth:`SitingState.gains`). Ties go to the first row. Stops early when no candidate
    gains anything in the objective's primary or tie-break terms.

    Parameters
    ----------
    base : SitingState
        Start state (not modified).
    objective : {"apl", "coverage", "time"}
    k : int
        Sites to open.
    doctors : float or array over site rows
        Doctors of a centre at each site.
    candidates : array of int
        Site rows allowed.

    Returns
    -------
    list of int
        Rows in the order opened.
    """
    _check_objective(objective)
    pb = base.problem
    d = _doctors(doctors, pb.n_sites)
    allowed = np.zeros(pb.n_sites, dtype=bool)
    allowed[np.asarray(candidates, dtype=np.int64)] = True
    state = base.copy()
    out: list[int] = []
    for _ in range(int(k)):
        primary, second = _key(state.gains(d), objective)
        r = _best(primary, second, allowed)
        if r < 0 or (primary[r] <= 0 and second[r] <= 0):
            break
        state.open(r, d[r])
        allowed[r] = False
        out.append(r)
    return out


def _state_with(base: SitingState, rows: Sequence[int], d: np.ndarray) -> SitingState:
    s = base.copy()
    for r in rows:
        s.open(int(r), d[int(r)])
    return s


def swap_search(
    base: SitingState,
    objective: str,
    rows: Sequence[int],
    *,
    doctors: float | np.ndarray,
    candidates: np.ndarray,
    max_passes: int = 20,
) -> tuple[list[int], int]:
    """Vertex substitution (Teitz & Bart 1968): swap a chosen site for an unchosen one while
    the objective (primary, then tie-break) improves.

    For each chosen site ``s`` the state without ``s`` is rebuilt and every candidate's gain
    computed at once, so one pass costs ``k`` vectorised gain evaluations. Best improvement
    per chosen site; passes repeat until none improves (or ``max_passes``).

    Returns
    -------
    (rows, swaps)
        The improved rows (same length) and the number of swaps made.
    """
    _check_objective(objective)
    pb = base.problem
    d = _doctors(doctors, pb.n_sites)
    chosen = [int(r) for r in rows]
    cand = np.zeros(pb.n_sites, dtype=bool)
    cand[np.asarray(candidates, dtype=np.int64)] = True
    current = objective_value(_state_with(base, chosen, d), base, objective)
    swaps = 0
    for _ in range(max_passes):
        improved = False
        for pos in range(len(chosen)):
            others = chosen[:pos] + chosen[pos + 1 :]
            without = _state_with(base, others, d)
            primary, second = _key(without.gains(d), objective)
            allowed = cand.copy()
            allowed[others] = False
            allowed[chosen[pos]] = False
            r = _best(primary, second, allowed)
            if r < 0:
                continue
            # exact value of the swap (not the sum, which would be approximate for apl)
            new = objective_value(_state_with(without, [r], d), base, objective)
            tol = 1e-9 * max(1.0, abs(current[0]))
            if new[0] > current[0] + tol or (
                new[0] >= current[0] - tol
                and new[1] > current[1] + 1e-9 * max(1.0, abs(current[1]))
            ):
                chosen[pos] = r
                current = new
                swaps += 1
                improved = True
        if not improved:
            break
    return chosen, swaps


def order_greedily(
    base: SitingState, objective: str, rows: Sequence[int], *, doctors: float | np.ndarray
) -> list[int]:
    """Order a chosen set: at each step the member with the best gain of ``objective``."""
    pb = base.problem
    d = _doctors(doctors, pb.n_sites)
    left = [int(r) for r in rows]
    state = base.copy()
    out: list[int] = []
    while left:
        allowed = np.zeros(pb.n_sites, dtype=bool)
        allowed[left] = True
        primary, second = _key(state.gains(d), objective)
        r = _best(primary, second, allowed)
        state.open(r, d[r])
        left.remove(r)
        out.append(r)
    return out


@dataclass
class BoundResult:
    """An exact or bounded answer of one objective.

    Attributes
    ----------
    objective : str
    rows : list of int
        Best known rows (the MILP incumbent or the heuristic, whichever is better).
    value : float
        Their primary objective value (recomputed from the tables).
    heuristic_value : float
        Primary value of the heuristic rows given in.
    upper_bound : float
        Upper bound on the optimum (the MILP dual bound, or a counting bound for ``apl``).
    gap : float
        ``(upper_bound - value) / upper_bound`` (0 when proven optimal).
    optimal : bool
        Optimality proven.
    method : str
        What produced the bound.
    status : str
        Solver status message.
    solve_time_s : float
        Seconds in HiGHS.
    """

    objective: str
    rows: list[int]
    value: float
    heuristic_value: float
    upper_bound: float
    gap: float
    optimal: bool
    method: str
    status: str
    solve_time_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, site_ids: np.ndarray) -> dict[str, Any]:
        """JSON-ready summary (sites as ids)."""
        return {
            "objective": self.objective,
            "method": self.method,
            "status": self.status,
            "optimal": self.optimal,
            "value": self.value,
            "heuristic_value": self.heuristic_value,
            "upper_bound": self.upper_bound,
            "gap": self.gap,
            "sites": [str(site_ids[r]) for r in self.rows],
            "solve_time_s": self.solve_time_s,
        }


def _gap(bound: float, value: float) -> float:
    if not math.isfinite(bound):
        return math.nan
    return max(0.0, (bound - value) / bound) if bound > 0 else 0.0


def _fill(rows: list[int], k: int, candidates: np.ndarray) -> list[int]:
    """Pad with unused candidates when fewer than ``k`` rows are useful."""
    if len(rows) >= k:
        return rows
    extra = [int(c) for c in candidates if int(c) not in set(rows)][: k - len(rows)]
    return rows + extra


def exact_pmedian(
    base: SitingState,
    k: int,
    *,
    candidates: np.ndarray,
    heuristic: Sequence[int] = (),
    doctors: float | np.ndarray = 1.0,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 1e-6,
) -> BoundResult:
    """Exact p-median on the time saved, with the current state fixed (HiGHS MILP).

    ``max sum_ij P_i s_ij z_ij`` s.t. ``sum_j z_ij <= 1`` per demand point,
    ``z_ij <= x_j`` per pair, ``sum_j x_j = k``, ``x`` binary, ``0 <= z <= 1`` (integral
    for integer ``x``: each point takes its best open site), ``s_ij`` = minutes site ``j``
    would cut from point ``i``'s current nearest time (pairs with ``s_ij > 0`` only).
    The strong (pairwise) formulation of ReVelle & Swain (1970).

    Returns
    -------
    BoundResult
        ``value`` in person-minutes saved (primary of ``objective_value(..., "time")``).
    """
    pb = base.problem
    cand = np.asarray(candidates, dtype=np.int64)
    d = _doctors(doctors, pb.n_sites)
    heur = [int(r) for r in heuristic]
    hval = objective_value(_state_with(base, heur, d), base, "time")[0] if heur else 0.0
    g = pb.time_gain[cand].tocoo()
    ok = np.isfinite(pb.time0)
    s = np.maximum(g.data - base.saved[g.col], 0.0) * pb.pop[g.col] * ok[g.col]
    keep = s > 0
    pj, pi, w = g.row[keep], g.col[keep], s[keep]
    t0 = time.perf_counter()
    if len(w) == 0:
        rows = _fill([], k, cand)
        return BoundResult("time", rows, 0.0, hval, 0.0, 0.0, True, "p-median MILP (HiGHS)",
                           "nothing to save", 0.0)  # fmt: skip
    ui, inv = np.unique(pi, return_inverse=True)
    nx, nz, ni = len(cand), len(w), len(ui)
    c = np.concatenate([np.zeros(nx), -w])
    ar = np.arange(nz)
    # z_ij - x_j <= 0
    a1 = sp.csr_matrix(
        (np.concatenate([np.ones(nz), -np.ones(nz)]),
         (np.concatenate([ar, ar]), np.concatenate([nx + ar, pj]))),
        shape=(nz, nx + nz),
    )  # fmt: skip
    # sum_j z_ij <= 1
    a2 = sp.csr_matrix((np.ones(nz), (inv.ravel(), nx + ar)), shape=(ni, nx + nz))
    a3 = sp.csr_matrix(np.concatenate([np.ones(nx), np.zeros(nz)])[None, :])
    kk = min(int(k), nx)
    res = milp(
        c,
        constraints=[
            LinearConstraint(a1, -np.inf, 0.0),
            LinearConstraint(a2, -np.inf, 1.0),
            LinearConstraint(a3, kk, kk),
        ],
        integrality=np.concatenate([np.ones(nx), np.zeros(nz)]),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap)},
    )
    elapsed = time.perf_counter() - t0
    rows, val = heur, hval
    if res.x is not None:
        sol = [int(cand[j]) for j in np.flatnonzero(res.x[:nx] > 0.5)]
        sval = objective_value(_state_with(base, sol, d), base, "time")[0]
        if sval > hval + 1e-9 * max(1.0, hval) or not heur:
            rows, val = sol, sval
    optimal = int(res.status) == 0 and res.x is not None
    raw = getattr(res, "mip_dual_bound", None)
    bound = -float(raw) if raw is not None and math.isfinite(float(raw)) else math.nan
    if optimal and not math.isfinite(bound):
        bound = val
    if math.isfinite(bound):
        bound = max(bound, val)
    return BoundResult("time", _fill(rows, kk, cand), val, hval, bound, _gap(bound, val),
                       optimal, "p-median MILP (HiGHS)", str(res.message), elapsed)  # fmt: skip


def apl_bound(
    base: SitingState,
    k: int,
    *,
    candidates: np.ndarray,
    heuristic: Sequence[int],
    doctors: float | np.ndarray,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 1e-6,
    solve: bool = True,
) -> BoundResult:
    """Upper bound (and possibly a better answer) for the ``apl`` objective.

    Two bounds, the smaller reported: (1) counting: a point below 2.5 can only be lifted if
    the ``k`` largest APL gains candidates could bring it sum to its gap; (2) with
    ``solve=True``, the dual bound of the MILP of the module docstring (HiGHS within
    ``time_limit_s``); its incumbent replaces the heuristic when strictly better (values
    recomputed from the tables, not taken from the solver).

    Returns
    -------
    BoundResult
        ``value`` in people lifted above 2.5.
    """
    pb = base.problem
    thr = pb.apl_threshold
    cand = np.asarray(candidates, dtype=np.int64)
    d = _doctors(doctors, pb.n_sites)
    heur = [int(r) for r in heuristic]
    hval = objective_value(_state_with(base, heur, d), base, "apl")[0] if heur else 0.0
    kk = min(int(k), len(cand))
    u = (sp.diags(d[cand]) @ pb.apl_unit[cand]).tocsc()
    gap_i = thr - base.apl
    under = np.flatnonzero((gap_i > 0) & (pb.pop > 0))
    # counting bound: sum of the kk largest gains at each point below 2.5
    liftable = []
    for i in under:
        vals = u.data[u.indptr[i] : u.indptr[i + 1]]
        if len(vals) and np.sort(vals)[::-1][:kk].sum() >= gap_i[i]:
            liftable.append(i)
    lift = np.array(liftable, dtype=np.int64)
    count_bound = float(pb.pop[lift].sum()) if len(lift) else 0.0
    rows, val = heur, hval
    bound, optimal, status, method, elapsed = count_bound, False, "counting bound only", \
        "counting bound", 0.0  # fmt: skip
    if count_bound <= hval + 1e-9:
        optimal, status = True, "heuristic meets the counting bound"
    elif solve and len(lift):
        sub = u[:, lift].tocoo()  # candidates x liftable points
        nx, ny = len(cand), len(lift)
        coef = np.minimum(sub.data, gap_i[lift][sub.col])
        a = sp.csr_matrix(
            (np.concatenate([gap_i[lift], -coef]),
             (np.concatenate([np.arange(ny), sub.col]), np.concatenate([nx + np.arange(ny),
                                                                         sub.row]))),
            shape=(ny, nx + ny),
        )  # fmt: skip
        a_k = sp.csr_matrix(np.concatenate([np.ones(nx), np.zeros(ny)])[None, :])
        t0 = time.perf_counter()
        res = milp(
            np.concatenate([np.zeros(nx), -pb.pop[lift]]),
            constraints=[LinearConstraint(a, -np.inf, 0.0), LinearConstraint(a_k, kk, kk)],
            integrality=np.ones(nx + ny),
            bounds=Bounds(0.0, 1.0),
            options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap)},
        )
        elapsed = time.perf_counter() - t0
        method, status = "APL MILP (HiGHS) + counting bound", str(res.message)
        if res.x is not None:
            sol = [int(cand[j]) for j in np.flatnonzero(res.x[:nx] > 0.5)]
            sval = objective_value(_state_with(base, sol, d), base, "apl")[0]
            if sval > hval + 1e-9 * max(1.0, hval):
                rows, val = sol, sval
        raw = getattr(res, "mip_dual_bound", None)
        if raw is not None and math.isfinite(float(raw)):
            # the solver's feasibility tolerance could count a near miss as lifted, so its
            # bound is only trusted up to 1e-6 relative; a proven optimum whose recomputed
            # value meets it is exact
            milp_bound = -float(raw)
            if int(res.status) == 0 and milp_bound <= val + 1e-6 * max(1.0, val):
                bound = val
            else:
                bound = min(bound, milp_bound + 1e-6 * max(1.0, milp_bound))
        optimal = int(res.status) == 0 and bound <= val
    bound = max(bound, val)
    return BoundResult("apl", _fill(rows, kk, cand), val, hval, bound, _gap(bound, val),
                       optimal, method, status, elapsed,
                       extra={"counting_bound": count_bound})  # fmt: skip
