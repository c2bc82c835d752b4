"""Floating catchment measures: 2SFCA, E2SFCA, 3SFCA and gravity access, on sparse matrices.

References: [LW03]_, [LQ09]_, [W12]_ of :mod:`accessmap.measures`.

May import: :mod:`accessmap.errors` and the measure modules listed below it
(tables <- catchment <- apl; tables <- coverage <- equity). Plain tables only, no geodata.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd
import scipy.sparse as sp

from accessmap.errors import (
    ConfigError,
    EmptyLayerError,
)
from accessmap.measures.tables import (
    Bands,
    _check_amounts,
    _positions,
    validate_time_table,
)

__all__ = ["E2SFCA_BANDS", "e2sfca", "gravity_access", "three_sfca", "two_sfca"]


#: E2SFCA default bands: weight 1 up to 10 min, 0.66 up to 15, 0.33 up to 20, 0 beyond.
#: The three-band step decay of Luo & Qi (2009) with the DREES APL thresholds and the
#: two-decimal weights quoted in issue 4.
E2SFCA_BANDS: tuple[tuple[float, float], ...] = ((10.0, 1.0), (15.0, 0.66), (20.0, 0.33))


def _check_bands(bands: Bands) -> tuple[np.ndarray, np.ndarray]:
    try:
        arr = np.asarray(bands, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"bands must be a sequence of (upper_bound_min, weight) pairs, got {bands!r}"
        ) from exc
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ConfigError(
            f"bands must be a non-empty sequence of (upper_bound_min, weight) pairs, got {bands!r}"
        )
    bounds, weights = arr[:, 0], arr[:, 1]
    if not np.all(np.isfinite(arr)) or (bounds <= 0).any() or (np.diff(bounds) <= 0).any():
        raise ConfigError(
            f"band upper bounds must be finite, > 0 and strictly increasing, got "
            f"{bounds.tolist()}; e.g. ((10, 1.0), (15, 0.66), (20, 0.33))"
        )
    if (weights < 0).any():
        raise ConfigError(f"band weights must be >= 0, got {weights.tolist()}")
    return bounds, weights


def _band_weight(t: np.ndarray, bounds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Step weight: ``weights[r]`` for ``bounds[r-1] < t <= bounds[r]``, 0 beyond the last."""
    idx = np.searchsorted(bounds, t, side="left")
    w = np.zeros(len(t), dtype="float64")
    inside = idx < len(bounds)
    w[inside] = weights[idx[inside]]
    return w


def _prepare(
    matrix: pd.DataFrame, demand: pd.Series, supply: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series, pd.Series]:
    m = validate_time_table(matrix)
    d = _check_amounts(demand, name="demand", what="origin")
    s = _check_amounts(supply, name="supply", what="facility")
    if len(d) == 0:
        raise EmptyLayerError("demand is empty: give the population of at least one origin")
    rows = _positions(m["from_id"], d.index, column="from_id", name="demand")
    cols = _positions(m["to_id"], s.index, column="to_id", name="supply")
    return rows, cols, m["travel_time_min"].to_numpy(), d, s


def _floating_catchment(
    weights: sp.csr_matrix, demand: np.ndarray, supply: np.ndarray
) -> np.ndarray:
    """Two steps of every FCA method: ``R = S / (W^T P)``, then ``A = W R``.

    Facilities with no weighted demand in reach get ``R = 0`` (their supply reaches nobody).
    """
    denom = weights.T @ demand
    ratio = np.divide(supply, denom, out=np.zeros_like(supply), where=denom > 0)
    return np.asarray(weights @ ratio, dtype="float64")


def _weight_matrix(
    rows: np.ndarray, cols: np.ndarray, w: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    keep = w > 0
    return sp.csr_matrix((w[keep], (rows[keep], cols[keep])), shape=shape)


def two_sfca(
    matrix: pd.DataFrame,
    demand: pd.Series,
    supply: pd.Series,
    *,
    cutoff_min: float = 20.0,
) -> pd.Series:
    """Two-step floating catchment area accessibility (Luo & Wang 2003).

    ``R_j = S_j / sum_{k: t_kj <= d0} P_k`` then ``A_i = sum_{j: t_ij <= d0} R_j``.

    Parameters
    ----------
    matrix : DataFrame
        Long travel-time table ``from_id, to_id, travel_time_min`` (origins -> facilities).
        Pairs absent from the table are treated as out of reach.
    demand : Series
        People per origin id. Every ``from_id`` must be in its index.
    supply : Series
        Supply per facility id (GPs, FTE, consultations). Every ``to_id`` must be in its index.
    cutoff_min : float, optional
        Catchment size d0 in minutes, inclusive (``t <= d0``). Default 20, the DREES APL
        catchment beyond which access counts zero (``docs/methods.md``).

    Returns
    -------
    Series
        Supply per person, indexed like ``demand``, named ``"two_sfca"``. Origins with no
        facility in reach get 0. Facilities with no demand in reach contribute nothing.

    Examples
    --------
    >>> m = pd.DataFrame({"from_id": ["a", "b"], "to_id": ["g", "g"],
    ...                   "travel_time_min": [5.0, 12.0]})
    >>> two_sfca(m, pd.Series({"a": 100.0, "b": 300.0}), pd.Series({"g": 2.0}),
    ...          cutoff_min=15).tolist()
    [0.005, 0.005]
    """
    if not (isinstance(cutoff_min, Real) and math.isfinite(cutoff_min) and cutoff_min > 0):
        raise ConfigError(f"cutoff_min must be a positive number of minutes, got {cutoff_min!r}")
    return _banded(matrix, demand, supply, ((float(cutoff_min), 1.0),), name="two_sfca")


def e2sfca(
    matrix: pd.DataFrame,
    demand: pd.Series,
    supply: pd.Series,
    *,
    bands: Bands = E2SFCA_BANDS,
) -> pd.Series:
    """Enhanced 2SFCA with step distance decay in both steps (Luo & Qi 2009).

    ``R_j = S_j / sum_k W(t_kj) P_k`` then ``A_i = sum_j W(t_ij) R_j`` where ``W`` is the
    weight of the band holding the time: ``W(t) = w_r`` for ``b_{r-1} < t <= b_r``
    (``b_0 = 0``, the first band includes 0), and 0 beyond the last bound.

    Parameters
    ----------
    matrix, demand, supply
        As in :func:`two_sfca`.
    bands : sequence of (upper_bound_min, weight), optional
        Default ``((10, 1.0), (15, 0.66), (20, 0.33))`` (:data:`E2SFCA_BANDS`).

    Returns
    -------
    Series
        Supply per (weighted) person, indexed like ``demand``, named ``"e2sfca"``.

    Examples
    --------
    >>> m = pd.DataFrame({"from_id": ["a", "b"], "to_id": ["g", "g"],
    ...                   "travel_time_min": [5.0, 12.0]})
    >>> e2sfca(m, pd.Series({"a": 100.0, "b": 300.0}), pd.Series({"g": 2.0})).round(5).tolist()
    [0.00671, 0.00443]
    """
    return _banded(matrix, demand, supply, bands, name="e2sfca")


def _banded(
    matrix: pd.DataFrame, demand: pd.Series, supply: pd.Series, bands: Bands, *, name: str
) -> pd.Series:
    bounds, weights = _check_bands(bands)
    rows, cols, t, d, s = _prepare(matrix, demand, supply)
    w = _band_weight(t, bounds, weights)
    wm = _weight_matrix(rows, cols, w, (len(d), len(s)))
    acc = _floating_catchment(wm, d.to_numpy(), s.to_numpy())
    return pd.Series(acc, index=d.index, name=name)


def three_sfca(
    matrix: pd.DataFrame,
    demand: pd.Series,
    supply: pd.Series,
    *,
    bands: Bands = E2SFCA_BANDS,
) -> pd.Series:
    """Three-step FCA: E2SFCA with selection weights (Wan, Zou & Sternberg 2012).

    Selection weight ``G_ij = W_ij / sum_j' W_ij'`` (the share of origin i's demand assumed
    to go to facility j); then ``R_j = S_j / sum_k G_kj W_kj P_k`` and
    ``A_i = sum_j G_ij W_ij R_j``.

    Parameters
    ----------
    matrix, demand, supply, bands
        As in :func:`e2sfca`.

    Returns
    -------
    Series
        Indexed like ``demand``, named ``"three_sfca"``.
    """
    bounds, weights = _check_bands(bands)
    rows, cols, t, d, s = _prepare(matrix, demand, supply)
    w = _band_weight(t, bounds, weights)
    wm = _weight_matrix(rows, cols, w, (len(d), len(s)))
    row_sum = np.asarray(wm.sum(axis=1)).ravel()
    inv = np.divide(1.0, row_sum, out=np.zeros_like(row_sum), where=row_sum > 0)
    g = sp.diags(inv) @ wm  # G_ij, rows sum to 1
    gw = g.multiply(wm).tocsr()
    acc = _floating_catchment(gw, d.to_numpy(), s.to_numpy())
    return pd.Series(acc, index=d.index, name="three_sfca")


def gravity_access(
    matrix: pd.DataFrame,
    demand: pd.Series,
    supply: pd.Series,
    *,
    beta: float = 1.0,
    min_time_min: float = 1.0,
) -> pd.Series:
    """Gravity (Hansen-type, demand-adjusted) accessibility.

    ``A_i = sum_j S_j t_ij^-b / V_j`` with ``V_j = sum_k P_k t_kj^-b``, over the pairs present
    in ``matrix`` (so the table's cutoff truncates the decay).

    Parameters
    ----------
    matrix, demand, supply
        As in :func:`two_sfca`.
    beta : float, optional
        Decay exponent b > 0. Default 1.0: an ASSUMPTION (common textbook value; the
        literature fits 1-2 for primary care).
    min_time_min : float, optional
        Times below this are raised to it so that ``t^-b`` stays finite (same-commune pairs
        have t = 0). Default 1 minute: an ASSUMPTION.

    Returns
    -------
    Series
        Indexed like ``demand``, named ``"gravity"``. Satisfies the same conservation
        property as the FCA methods.
    """
    if not (math.isfinite(beta) and beta > 0):
        raise ConfigError(f"beta must be a positive number, got {beta!r}")
    if not (math.isfinite(min_time_min) and min_time_min > 0):
        raise ConfigError(
            f"min_time_min must be a positive number of minutes, got {min_time_min!r}"
        )
    rows, cols, t, d, s = _prepare(matrix, demand, supply)
    w = np.maximum(t, min_time_min) ** (-float(beta))
    wm = _weight_matrix(rows, cols, w, (len(d), len(s)))
    acc = _floating_catchment(wm, d.to_numpy(), s.to_numpy())
    return pd.Series(acc, index=d.index, name="gravity")
