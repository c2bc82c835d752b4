"""Equity of access: Gini and Palma ratios over population-weighted access values.

May import: :mod:`accessmap.errors` and the measure modules listed below it
(tables <- catchment <- apl; tables <- coverage <- equity). Plain tables only, no geodata.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from accessmap.errors import (
    BadValueError,
    ConfigError,
    EmptyLayerError,
)
from accessmap.measures.tables import (
    _aligned,
    _as_series,
)

__all__ = ["gini", "palma", "share_under"]


def _equity_inputs(
    values: Any, weights: Any | None, *, fname: str
) -> tuple[np.ndarray, np.ndarray]:
    if weights is None:
        v = _as_series(values, name="values")
        weights = pd.Series(np.ones(len(v)), index=v.index)
        values = v
    va, wa = _aligned(values, weights, vname="values", wname="weights")
    if len(va) == 0:
        raise EmptyLayerError(f"{fname}: values is empty")
    if not np.isfinite(va).all():
        i = int(np.flatnonzero(~np.isfinite(va))[0])
        raise BadValueError(
            f"{fname}: values holds {float(va[i])!r} at position {i}; drop or fill missing "
            "values first"
        )
    if (va < 0).any():
        raise BadValueError(
            f"{fname}: values holds the negative value {float(va[va < 0][0])!r}; access "
            "must be >= 0"
        )
    if wa.sum() <= 0:
        raise BadValueError(f"{fname}: weights sum to 0; give the population of each value")
    return va, wa


def _lorenz(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve points (population share, access share), starting at (0, 0)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    pop = np.concatenate([[0.0], np.cumsum(w)]) / w.sum()
    total = float((v * w).sum())
    acc = np.concatenate([[0.0], np.cumsum(v * w)]) / total if total > 0 else pop * 0.0
    return pop, acc


def gini(
    values: pd.Series | Iterable[float], weights: pd.Series | Iterable[float] | None = None
) -> float:
    """Gini coefficient of access across people.

    ``G = 1 - sum_i p_i (L_{i-1} + L_i)`` over origins sorted by value, with ``p_i`` the
    population share and ``L`` the cumulative access share (the exact Gini of the
    distribution in which every person of origin i gets the value of i).

    Parameters
    ----------
    values : Series or array-like
        Access per origin, finite and >= 0.
    weights : Series or array-like, optional
        People per origin (default: 1 each).

    Returns
    -------
    float
        0 = everyone equal; 1 - 1/N for one person holding everything. NaN when every value
        is 0.

    Examples
    --------
    >>> gini([1.0, 3.0], [3, 1])
    0.25
    """
    va, wa = _equity_inputs(values, weights, fname="gini")
    if (va * wa).sum() == 0:
        return float("nan")
    pop, acc = _lorenz(va, wa)
    p = np.diff(pop)
    return float(1.0 - (p * (acc[:-1] + acc[1:])).sum())


def _lorenz_at(q: float, pop: np.ndarray, acc: np.ndarray) -> float:
    return float(np.interp(q, pop, acc))


def palma(
    values: pd.Series | Iterable[float], weights: pd.Series | Iterable[float] | None = None
) -> float:
    """Palma ratio: access share of the best-off 10 % of people over that of the worst-off 40 %.

    Shares read on the piecewise-linear Lorenz curve, so an origin straddling the 40th or
    90th percentile is split (Palma 2011; Cobham & Sumner 2013).

    Returns
    -------
    float
        0.25 (= 0.1 / 0.4) when everyone has the same access; 1 for values spread like
        1, 2, ..., 10; ``inf`` when the bottom 40 % have no access;
        NaN when every value is 0.

    Examples
    --------
    >>> round(palma(range(1, 11)), 12)
    1.0
    """
    va, wa = _equity_inputs(values, weights, fname="palma")
    if (va * wa).sum() == 0:
        return float("nan")
    pop, acc = _lorenz(va, wa)
    bottom = _lorenz_at(0.4, pop, acc)
    top = 1.0 - _lorenz_at(0.9, pop, acc)
    if bottom <= 0:
        return float("inf")
    return top / bottom


def share_under(
    values: pd.Series | Iterable[float],
    weights: pd.Series | Iterable[float] | None,
    threshold: float,
) -> float:
    """Share of people whose value is strictly below ``threshold``.

    ``sum_i P_i [x_i < threshold] / sum_i P_i``, e.g. APL below 2.5 (under-served). Values
    must be finite.
    """
    if not isinstance(threshold, Real) or not math.isfinite(threshold):
        raise ConfigError(f"threshold must be a finite number, got {threshold!r}")
    va, wa = _equity_inputs(values, weights, fname="share_under")
    return float(wa[va < threshold].sum() / wa.sum())
