"""Nearest-facility summaries: threshold flags, coverage shares, weighted mean times.

May import: :mod:`accessmap.errors` and the measure modules listed below it
(tables <- catchment <- apl; tables <- coverage <- equity). Plain tables only, no geodata.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real

import numpy as np
import pandas as pd

from accessmap.errors import (
    BadValueError,
    ConfigError,
    MissingColumnError,
)
from accessmap.measures.tables import (
    _aligned,
    _keep_kind,
    _times,
)

__all__ = ["coverage", "nearest_flags", "summarise_access", "weighted_mean_time"]


def _flag_name(threshold: float) -> str:
    return f"within_{threshold:g}".replace(".", "_")


def nearest_flags(
    times: pd.Series | Iterable[float],
    thresholds: Sequence[float] = (10, 15, 20, 30),
) -> pd.DataFrame:
    """Whether each origin's nearest-facility time is within each threshold.

    Parameters
    ----------
    times : Series or array-like
        Minutes to the nearest facility; NaN = unreachable, which is *not* within.
    thresholds : sequence of float, optional
        Minutes, inclusive (``t <= X``). Default 10, 15, 20, 30 (reporting bands,
        :class:`accessmap.config.Thresholds`; 15 is the Région Occitanie goal).

    Returns
    -------
    DataFrame
        Boolean columns ``within_10``, ``within_15``, ... indexed like ``times``.

    Examples
    --------
    >>> nearest_flags([4.0, 12.0, float("nan")], thresholds=(10, 15))["within_15"].tolist()
    [True, True, False]
    """
    t = _times(times)
    out = {}
    for x in _check_thresholds(thresholds):
        out[_flag_name(x)] = (t <= x).fillna(False).astype(bool)
    return pd.DataFrame(out, index=t.index)


def _check_thresholds(thresholds: Sequence[float]) -> list[float]:
    vals = [thresholds] if isinstance(thresholds, Real) else list(thresholds)
    if not vals:
        raise ConfigError("thresholds is empty; give minutes such as (10, 15, 20, 30)")
    for x in vals:
        if not isinstance(x, Real) or not math.isfinite(x) or x < 0:
            raise ConfigError(f"threshold {x!r} is not a number of minutes >= 0")
    return [float(x) for x in vals]


def coverage(
    times: pd.Series | Iterable[float], pop: pd.Series | Iterable[float], threshold_min: float
) -> float:
    """Share of people whose nearest-facility time is within a threshold.

    ``C(tau) = sum_i P_i [t_i <= tau] / sum_i P_i`` counted at population points
    (``docs/methods.md``). NaN times (unreachable) count as not covered.

    Returns
    -------
    float
        Between 0 and 1; NaN when the total population is 0.

    Examples
    --------
    >>> coverage([5.0, 12.0, 20.0, float("nan")], [100, 200, 300, 400], 15)
    0.3
    """
    (tau,) = _check_thresholds([threshold_min])
    t = _times(times)
    tv, pv = _aligned(_keep_kind(t, times), pop, vname="times", wname="pop")
    total = pv.sum()
    if total <= 0:
        return float("nan")
    return float(pv[tv <= tau].sum() / total)


def weighted_mean_time(
    times: pd.Series | Iterable[float], pop: pd.Series | Iterable[float]
) -> float:
    """Population-weighted mean time ``sum_i P_i t_i / sum_i P_i`` over reachable origins.

    Origins with a NaN time are left out (report them with the ``pop_unreached`` column of
    :func:`summarise_access`). Returns NaN when no reachable origin has people.
    """
    t = _times(times)
    tv, pv = _aligned(_keep_kind(t, times), pop, vname="times", wname="pop")
    ok = np.isfinite(tv)
    total = pv[ok].sum()
    if total <= 0:
        return float("nan")
    return float((tv[ok] * pv[ok]).sum() / total)


def summarise_access(
    table: pd.DataFrame,
    by: str | Sequence[str] | None,
    *,
    pop_col: str = "pop",
    time_col: str = "time_gp_min",
    thresholds: Sequence[float] = (10, 15, 20, 30),
    total_label: str = "all",
) -> pd.DataFrame:
    """Population beyond each threshold, mean and worst time, per group and overall.

    Parameters
    ----------
    table : DataFrame
        One row per origin (commune or cell), with ``pop_col``, ``time_col`` and ``by``.
    by : str, list of str or None
        Grouping column(s), e.g. ``"epci_siren"`` or ``"dep"``. ``None`` gives only the
        whole-table row.
    pop_col, time_col : str, optional
        Population and minutes to the nearest facility (NaN = unreachable).
    thresholds : sequence of float, optional
        Minutes; "beyond X" means ``t > X`` or unreachable. Default 10, 15, 20, 30.
    total_label : str, optional
        Value placed in the ``by`` column(s) of the whole-table row. Default ``"all"``.

    Returns
    -------
    DataFrame
        One row per group then the whole-table row, columns: ``by`` column(s), ``pop``,
        ``pop_beyond_X`` and ``share_beyond_X`` per threshold, ``mean_time_min``
        (population-weighted over reachable origins), ``worst_time_min`` (max over origins
        with people), ``pop_unreached``.
    """
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    if not isinstance(table, pd.DataFrame):
        raise BadValueError(f"table must be a DataFrame, got {type(table).__name__}")
    for c in [pop_col, time_col, *keys]:
        if c not in table.columns:
            raise MissingColumnError(
                f"table has no column {c!r} (columns: {list(table.columns)}); pass "
                "pop_col=/time_col=/by= naming your columns"
            )
    ths = _check_thresholds(thresholds)
    t = _times(table[time_col], name=time_col).to_numpy()
    _, p = _aligned(table[time_col], table[pop_col], vname=time_col, wname=pop_col)
    work = pd.DataFrame(
        {
            "_pop": p,
            "_pt": np.where(np.isfinite(t), t * p, 0.0),
            "_preach": np.where(np.isfinite(t), p, 0.0),
            "_worst": np.where(p > 0, t, np.nan),
            "_unreached": np.where(np.isfinite(t), 0.0, p),
        },
        index=table.index,
    )
    for x in ths:
        work[f"pop_beyond_{x:g}".replace(".", "_")] = np.where(t <= x, 0.0, p)
    for k in keys:
        work[k] = table[k].to_numpy()
    sums = [c for c in work.columns if c.startswith("pop_beyond_")] + [
        "_pop", "_pt", "_preach", "_unreached",
    ]  # fmt: skip

    def finish(agg: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=agg.index)
        out["pop"] = agg["_pop"]
        for x in ths:
            name = f"{x:g}".replace(".", "_")
            out[f"pop_beyond_{name}"] = agg[f"pop_beyond_{name}"]
            out[f"share_beyond_{name}"] = np.divide(
                agg[f"pop_beyond_{name}"].to_numpy(),
                agg["_pop"].to_numpy(),
                out=np.full(len(agg), np.nan),
                where=agg["_pop"].to_numpy() > 0,
            )
        out["mean_time_min"] = np.divide(
            agg["_pt"].to_numpy(),
            agg["_preach"].to_numpy(),
            out=np.full(len(agg), np.nan),
            where=agg["_preach"].to_numpy() > 0,
        )
        out["worst_time_min"] = agg["_worst"]
        out["pop_unreached"] = agg["_unreached"]
        return out

    total = work[sums].sum().to_frame().T
    total["_worst"] = work["_worst"].max()
    total_row = finish(total)
    for k in keys:
        total_row.insert(0, k, total_label)
    total_row = total_row[[*keys, *[c for c in total_row.columns if c not in keys]]]
    if not keys:
        return total_row.reset_index(drop=True)
    grouped = work.groupby(keys, sort=True, dropna=False)
    agg = grouped[sums].sum()
    agg["_worst"] = grouped["_worst"].max()
    per_group = finish(agg).reset_index()
    return pd.concat([per_group, total_row], ignore_index=True)
