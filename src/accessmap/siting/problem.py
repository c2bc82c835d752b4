"""The siting problem on plain tables: what a centre with ``d`` doctors changes, incrementally.

A :class:`SitingProblem` holds, for every site a centre could open in (candidates, existing
and planned centres, what-if communes), three sparse rows over the demand points (communes):

* ``cover``: the demand points within the access target (15 min, Région Occitanie);
* ``apl_unit``: the APL increase a single doctor at the site brings to each demand point;
* ``time_gain``: how many minutes the site would cut from each demand point's baseline
  time to the nearest GP (only the points for which it is nearer than every GP).

The APL is the DREES E2SFCA (``accessmap.measures.apl``): ``A_i = sum_j W_ij R_j`` with
``R_j = S_j / sum_k W_kj D_k``, ``W`` the DREES step decay and ``D`` the age-standardised
demand. Demand does not change when a centre opens, so the ratios ``R_j`` of the existing
GPs stay as they are and a new facility ``n`` with ``S_n = d x C`` consultations
(``C`` = consultations per GP of the run) adds ``W_in d C / sum_k W_kn D_k`` to the APL of
the origins in its catchment, and nothing elsewhere: the APL after any set of openings is
the baseline plus a sum of sparse rows. :class:`SitingState` keeps that sum (and the coverage
and nearest-time state) and gives the gain of every candidate in all three terms at once
(one pass over the non-zeros). ``tests/test_siting_objectives.py`` checks the incremental APL
against a full recomputation with :func:`accessmap.measures.apl` on an augmented table.

May import: :mod:`accessmap.errors`, :mod:`accessmap.measures`. Plain tables only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from accessmap.errors import BadValueError, ConfigError, UnknownCodeError
from accessmap.measures import validate_time_table
from accessmap.measures.apl import APL_BANDS_DREES

__all__ = [
    "APL_UNDERSERVED",
    "OBJECTIVES",
    "SitingProblem",
    "SitingState",
    "build_problem",
]

#: APL below which people are under-served (DREES, ``docs/methods.md``).
APL_UNDERSERVED = 2.5

#: Siting objectives: ``apl`` (people lifted above APL 2.5), ``coverage`` (people newly
#: within the target time, MCLP) and ``time`` (population-weighted mean time to the nearest
#: GP, p-median).
OBJECTIVES: tuple[str, ...] = ("apl", "coverage", "time")


def _step_weight(t: np.ndarray, bands: Sequence[tuple[float, float]]) -> np.ndarray:
    """DREES step decay: ``w_r`` for ``b_{r-1} < t <= b_r`` (first band includes 0), 0 beyond.

    Same rule as :func:`accessmap.measures.e2sfca` (``measures/catchment.py``).
    """
    bounds = np.array([b for b, _ in bands], dtype="float64")
    weights = np.array([w for _, w in bands], dtype="float64")
    idx = np.searchsorted(bounds, t, side="left")
    out = np.zeros(len(t), dtype="float64")
    inside = idx < len(bounds)
    out[inside] = weights[idx[inside]]
    return out


def _aligned(
    values: pd.Series, index: pd.Index, name: str, *, allow_nan: bool = False
) -> np.ndarray:
    if not isinstance(values, pd.Series):
        raise BadValueError(
            f"{name} must be a Series indexed by origin id, got {type(values).__name__}"
        )
    missing = ~index.isin(values.index)
    if missing.any():
        raise UnknownCodeError(
            f"{name} has no value for origin {index[int(np.flatnonzero(missing)[0])]!r}; "
            "give one for every origin"
        )
    arr = pd.to_numeric(values, errors="coerce").astype("float64").reindex(index).to_numpy()
    bad = ~np.isfinite(arr) if not allow_nan else np.isinf(arr)
    bad |= arr < 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadValueError(
            f"{name} holds {arr[i]!r} for origin {index[i]!r}; give finite values >= 0"
        )
    return arr


@dataclass
class SitingProblem:
    """Sparse effect rows of every site over the demand points (see the module docstring).

    Build it with :func:`build_problem`. Rows are sites (``site_ids``), columns demand points
    (``origin_ids``).

    Attributes
    ----------
    origin_ids, site_ids : ndarray
        Column and row ids.
    pop : ndarray
        People per demand point (counts lifted above 2.5, newly covered, mean time).
    apl0, time0 : ndarray
        APL and time to the nearest GP before any site opens (existing GPs only); ``time0``
        is NaN for points no engine routed (left out of the mean time).
    cover : csr_matrix of bool
        ``t_ij <= threshold_min``.
    apl_unit : csr_matrix of float
        APL increase per doctor at the site.
    time_gain : csr_matrix of float
        ``time0_i - t_ij`` where positive (minutes saved if the site were the nearest).
    threshold_min, consultations_per_gp, apl_threshold : float
        Access target, consultations per doctor and the under-served APL threshold.
    """

    origin_ids: np.ndarray
    site_ids: np.ndarray
    pop: np.ndarray
    apl0: np.ndarray
    time0: np.ndarray
    cover: sp.csr_matrix
    apl_unit: sp.csr_matrix
    time_gain: sp.csr_matrix
    threshold_min: float
    consultations_per_gp: float
    apl_threshold: float = APL_UNDERSERVED
    _site_index: pd.Index = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._site_index = pd.Index(self.site_ids)
        if self._site_index.has_duplicates:
            dup = self._site_index[self._site_index.duplicated()][0]
            raise BadValueError(f"site id {dup!r} appears twice; site ids must be unique")
        m = len(self.site_ids)
        self._rows = {
            name: np.repeat(np.arange(m), np.diff(mat.indptr))
            for name, mat in (("cover", self.cover), ("apl", self.apl_unit),
                              ("time", self.time_gain))
        }  # fmt: skip

    @property
    def n_sites(self) -> int:
        """Number of rows (sites)."""
        return len(self.site_ids)

    def row(self, site_id: Any) -> int:
        """Row of ``site_id``; :class:`UnknownCodeError` when it is not a site."""
        pos = self._site_index.get_indexer(pd.Index([site_id]))[0]
        if pos < 0:
            sample = self.site_ids[0] if len(self.site_ids) else None
            raise UnknownCodeError(
                f"site {site_id!r} is not a site of the siting tables (e.g. {sample!r}); "
                "check the INSEE code (5 characters, as text)"
            )
        return int(pos)

    def rows(self, site_ids: Iterable[Any]) -> np.ndarray:
        """Rows of several sites."""
        return np.array([self.row(s) for s in site_ids], dtype=np.int64)

    def routed_pop(self) -> float:
        """People whose baseline time is known (the mean-time denominator)."""
        return float(self.pop[np.isfinite(self.time0)].sum())

    def apl_delta(self, row: int, doctors: float) -> tuple[np.ndarray, np.ndarray]:
        """(origin positions, APL increase) of ``doctors`` doctors at site ``row``."""
        m = self.apl_unit
        sl = slice(m.indptr[row], m.indptr[row + 1])
        return m.indices[sl], m.data[sl] * float(doctors)


def build_problem(
    matrix: pd.DataFrame,
    *,
    pop: pd.Series,
    std_demand: pd.Series,
    apl0: pd.Series,
    time0: pd.Series,
    site_ids: Iterable[Any] | None = None,
    threshold_min: float = 15.0,
    consultations_per_gp: float,
    bands: Sequence[tuple[float, float]] = APL_BANDS_DREES,
    apl_threshold: float = APL_UNDERSERVED,
    extra_demand: pd.Series | None = None,
) -> SitingProblem:
    """Build the effect rows of every site from a long origin -> site time table.

    Parameters
    ----------
    matrix : DataFrame
        ``from_id`` (demand point = origin), ``to_id`` (site), ``travel_time_min``: the
        patient -> practice direction of the APL catchment table. It must reach at least the
        APL catchment (20 min) and, for the time objective, the largest baseline time (pairs
        beyond the table count as out of reach). Same-commune pairs at 0 min, as in the APL.
    pop : Series
        People per origin id; its index is the set of demand points (column order).
    std_demand : Series
        Age-standardised demand per origin (:func:`accessmap.measures.standardised_demand`),
        the denominator of the APL ratios.
    apl0 : Series
        APL per origin with the existing GPs (``communes.apl``), same run parameters.
    time0 : Series
        Time to the nearest GP per origin (``communes.time_gp_min``); NaN = not routed.
    site_ids : iterable, optional
        Row order (default: the ``to_id`` present, sorted). Sites that reach nobody keep an
        empty row.
    threshold_min : float
        Access target (15 min, Région Occitanie).
    consultations_per_gp : float
        Consultations a year per doctor of a new centre; the run's
        ``ScoreParams.consultations_per_gp`` (whatever the APL of the communes used).
    bands : sequence of (upper_bound_min, weight)
        APL decay (default :data:`accessmap.measures.apl.APL_BANDS_DREES`, DREES workbook).
    apl_threshold : float
        Under-served threshold (2.5, DREES).
    extra_demand : Series, optional
        APL demand of origins that are not demand points (the border context of the study
        area, :attr:`accessmap.area.Area.context`): their pairs in ``matrix`` count in the
        denominators ``sum_k W_kn D_k`` of the new sites only, as they do for the GPs in
        the catchment stage, so that the incremental APL equals the stage's recomputation.

    Returns
    -------
    SitingProblem
    """
    if not (math.isfinite(threshold_min) and threshold_min > 0):
        raise ConfigError(f"threshold_min must be minutes > 0, got {threshold_min!r}")
    if not (math.isfinite(consultations_per_gp) and consultations_per_gp > 0):
        raise ConfigError(
            f"consultations_per_gp must be a positive number, got {consultations_per_gp!r}"
        )
    m = validate_time_table(matrix)
    ext = pd.Series(dtype="float64") if extra_demand is None else extra_demand
    ext = ext[~ext.index.isin(pop.index)] if isinstance(pop, pd.Series) else ext
    if len(ext):
        e = _aligned(ext, pd.Index(ext.index), "extra_demand")
        in_ext = m["from_id"].isin(ext.index).to_numpy()
        m_ext, m = m[in_ext], m[~in_ext]
    else:
        e, m_ext = np.zeros(0), m.iloc[:0]
    if not isinstance(pop, pd.Series):
        raise BadValueError(f"pop must be a Series indexed by origin id, got {type(pop).__name__}")
    origins = pd.Index(pop.index)
    if origins.has_duplicates:
        raise BadValueError(f"origin {origins[origins.duplicated()][0]!r} appears twice in pop")
    p = _aligned(pop, origins, "pop")
    dstd = _aligned(std_demand, origins, "std_demand")
    a0 = _aligned(apl0, origins, "apl0")
    t0 = _aligned(time0, origins, "time0", allow_nan=True)
    sites = (
        np.asarray(sorted(pd.unique(m["to_id"])), dtype=object)
        if site_ids is None
        else np.asarray(list(site_ids), dtype=object)
    )
    rows = pd.Index(sites).get_indexer(pd.Index(m["to_id"]))
    cols = origins.get_indexer(pd.Index(m["from_id"]))
    for pos, col, what in ((rows, "to_id", "site_ids"), (cols, "from_id", "pop")):
        if (pos < 0).any():
            bad = m[col].iloc[int(np.flatnonzero(pos < 0)[0])]
            raise UnknownCodeError(
                f"matrix column {col!r} holds {bad!r}, which is not in {what}; add it or "
                "filter the table"
            )
    t = m["travel_time_min"].to_numpy(dtype="float64")
    shape = (len(sites), len(origins))
    # duplicates (one pair timed twice) keep the shortest time
    order = np.lexsort((t, cols, rows))
    rows, cols, t = rows[order], cols[order], t[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, t = rows[first], cols[first], t[first]

    def csr(mask: np.ndarray, data: np.ndarray, dtype: Any) -> sp.csr_matrix:
        out = sp.csr_matrix((data[mask], (rows[mask], cols[mask])), shape=shape, dtype=dtype)
        out.sort_indices()
        return out

    cover = csr(t <= threshold_min, np.ones(len(t), dtype=bool), bool)
    w = _step_weight(t, bands)
    denom = np.bincount(rows, weights=w * dstd[cols], minlength=len(sites))
    if len(m_ext):
        er = pd.Index(sites).get_indexer(pd.Index(m_ext["to_id"]))
        ec = pd.Index(ext.index).get_indexer(pd.Index(m_ext["from_id"]))
        ew = _step_weight(m_ext["travel_time_min"].to_numpy(dtype="float64"), bands)
        ok = er >= 0
        denom += np.bincount(er[ok], weights=ew[ok] * e[ec[ok]], minlength=len(sites))
    ratio = np.divide(float(consultations_per_gp), denom, out=np.zeros_like(denom),
                      where=denom > 0)  # fmt: skip
    unit = w * ratio[rows]
    apl_unit = csr(unit > 0, unit, "float64")
    saved = t0[cols] - t
    time_gain = csr(np.isfinite(saved) & (saved > 0), np.nan_to_num(saved), "float64")
    return SitingProblem(
        origin_ids=np.asarray(origins, dtype=object), site_ids=sites, pop=p, apl0=a0,
        time0=t0, cover=cover, apl_unit=apl_unit, time_gain=time_gain,
        threshold_min=float(threshold_min), consultations_per_gp=float(consultations_per_gp),
        apl_threshold=float(apl_threshold),
    )  # fmt: skip


class SitingState:
    """APL, coverage and nearest-time state after some sites opened; gains of every site.

    Parameters
    ----------
    problem : SitingProblem
    opened : sequence of (site row, doctors), optional
        Sites open from the start (existing and planned centres).

    Notes
    -----
    ``apl`` is the baseline APL plus the rows of the open sites (exact, see the module
    docstring); ``saved`` is the largest number of minutes any open site cuts from each
    point's baseline time (the new nearest time is ``time0 - saved``); ``covered`` marks the
    points within the target of a GP or an open site.
    """

    def __init__(self, problem: SitingProblem, opened: Sequence[tuple[int, float]] = ()):
        self.problem = problem
        self.apl = problem.apl0.copy()
        self.covered = np.asarray(problem.time0 <= problem.threshold_min, dtype=bool)
        self.saved = np.zeros(len(problem.origin_ids), dtype="float64")
        self.opened: list[tuple[int, float]] = []
        for row, doctors in opened:
            self.open(row, doctors)

    def copy(self) -> SitingState:
        """An independent copy."""
        new = SitingState.__new__(SitingState)
        new.problem = self.problem
        new.apl, new.covered, new.saved = self.apl.copy(), self.covered.copy(), self.saved.copy()
        new.opened = list(self.opened)
        return new

    def open(self, row: int, doctors: float) -> None:
        """Open ``doctors`` doctors at site ``row`` (commits the change)."""
        pb = self.problem
        if not (math.isfinite(doctors) and doctors >= 0):
            raise ConfigError(f"doctors must be a number >= 0, got {doctors!r}")
        idx, delta = pb.apl_delta(row, doctors)
        self.apl[idx] += delta
        c = pb.cover
        self.covered[c.indices[c.indptr[row] : c.indptr[row + 1]]] = True
        g = pb.time_gain
        sl = slice(g.indptr[row], g.indptr[row + 1])
        np.maximum.at(self.saved, g.indices[sl], g.data[sl])
        self.opened.append((int(row), float(doctors)))

    # --- totals ------------------------------------------------------------------------
    def pop_below(self) -> float:
        """People below the under-served APL threshold now."""
        pb = self.problem
        return float(pb.pop[self.apl < pb.apl_threshold].sum())

    def covered_pop(self) -> float:
        """People within the target now."""
        return float(self.problem.pop[self.covered].sum())

    def mean_time(self) -> float:
        """Population-weighted mean time to the nearest GP or open site (routed points)."""
        pb = self.problem
        ok = np.isfinite(pb.time0)
        tot = float(pb.pop[ok].sum())
        if tot <= 0:
            return float("nan")
        return float((pb.pop[ok] * (pb.time0[ok] - self.saved[ok])).sum() / tot)

    def effects(self, base: SitingState) -> dict[str, float]:
        """The three effects of the sites opened since ``base`` (a state it grew from).

        Returns
        -------
        dict
            ``lifted_pop`` (people below 2.5 in ``base`` and at or above it now),
            ``pop_below_2_5`` (now), ``apl_gain_under`` (population-weighted mean APL gain
            of the people below 2.5 in ``base``), ``newly_within_pop`` (people newly within
            the target), ``mean_time_min`` (now) and ``mean_time_change_min`` (now - base,
            negative = faster).
        """
        pb = self.problem
        thr = pb.apl_threshold
        under = base.apl < thr
        pop_under = float(pb.pop[under].sum())
        gain_under = (
            float((pb.pop[under] * (self.apl[under] - base.apl[under])).sum() / pop_under)
            if pop_under > 0
            else 0.0
        )
        mt, mt0 = self.mean_time(), base.mean_time()
        return {
            "lifted_pop": float(pb.pop[under & (self.apl >= thr)].sum()),
            "pop_below_2_5": self.pop_below(),
            "apl_gain_under": gain_under,
            "newly_within_pop": float(pb.pop[self.covered & ~base.covered].sum()),
            "mean_time_min": mt,
            "mean_time_change_min": mt - mt0,
        }

    # --- gains of every site at once ---------------------------------------------------
    def gains(self, doctors: float | np.ndarray) -> dict[str, np.ndarray]:
        """Gain of opening each site now, in the terms of every objective (arrays over rows).

        Parameters
        ----------
        doctors : float or array over sites
            Doctors a centre at each site would have.

        Returns
        -------
        dict of str to ndarray
            ``lifted`` (people lifted above 2.5), ``shortfall`` (reduction of the
            population-weighted APL shortfall below 2.5, ``sum_i P_i (min(A'_i, 2.5) -
            min(A_i, 2.5))``: the tie-break of the APL objective), ``covered`` (people newly
            within the target) and ``time`` (person-minutes saved).
        """
        pb = self.problem
        m = pb.n_sites
        thr = pb.apl_threshold
        d = np.broadcast_to(np.asarray(doctors, dtype="float64"), (m,))
        u = pb.apl_unit
        r = pb._rows["apl"]
        before = self.apl[u.indices]
        after = before + u.data * d[r]
        p = pb.pop[u.indices]
        lifted = np.bincount(r, weights=p * ((before < thr) & (after >= thr)), minlength=m)
        short = np.bincount(
            r, weights=p * (np.minimum(after, thr) - np.minimum(before, thr)), minlength=m
        )
        c = pb.cover
        cov = np.bincount(pb._rows["cover"], weights=pb.pop[c.indices] * ~self.covered[c.indices],
                          minlength=m)  # fmt: skip
        g = pb.time_gain
        tsave = np.bincount(
            pb._rows["time"],
            weights=pb.pop[g.indices] * np.maximum(g.data - self.saved[g.indices], 0.0),
            minlength=m,
        )
        return {"lifted": lifted, "shortfall": short, "covered": cov, "time": tsave}

    def gain(self, row: int, doctors: float) -> dict[str, float]:
        """Gain of one site (O(non-zeros of its rows)), same keys as :meth:`gains`."""
        pb = self.problem
        thr = pb.apl_threshold
        idx, delta = pb.apl_delta(row, doctors)
        before = self.apl[idx]
        after = before + delta
        p = pb.pop[idx]
        c = pb.cover
        ci = c.indices[c.indptr[row] : c.indptr[row + 1]]
        g = pb.time_gain
        sl = slice(g.indptr[row], g.indptr[row + 1])
        gi = g.indices[sl]
        return {
            "lifted": float(p[(before < thr) & (after >= thr)].sum()),
            "shortfall": float((p * (np.minimum(after, thr) - np.minimum(before, thr))).sum()),
            "covered": float(pb.pop[ci][~self.covered[ci]].sum()),
            "time": float((pb.pop[gi] * np.maximum(g.data[sl] - self.saved[gi], 0.0)).sum()),
        }
