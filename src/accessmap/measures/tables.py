"""Travel-time tables and the input checks every measure shares.

A *travel-time table* is the long DataFrame ``from_id, to_id, travel_time_min`` (origins ->
facilities, only the pairs within the cutoff); :func:`validate_time_table` checks it.

May import: :mod:`accessmap.errors` and the measure modules listed below it
(tables <- catchment <- apl; tables <- coverage <- equity). Plain tables only, no geodata.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from accessmap.errors import (
    BadValueError,
    DuplicateIdError,
    MissingColumnError,
    UnknownCodeError,
)

__all__ = ["validate_time_table"]


#: Band table type: ``((upper_bound_min, weight), ...)`` with strictly increasing bounds.
Bands = Sequence[tuple[float, float]]


_TIME_COLUMNS = ("from_id", "to_id", "travel_time_min")


def validate_time_table(matrix: pd.DataFrame, *, name: str = "matrix") -> pd.DataFrame:
    """Check a long travel-time table and return it with float times.

    Parameters
    ----------
    matrix : DataFrame
        Columns ``from_id, to_id, travel_time_min``; one row per pair.
    name : str, optional
        Name used in error messages.

    Returns
    -------
    DataFrame
        The three columns, ``travel_time_min`` as float64.

    Raises
    ------
    MissingColumnError
        A column is absent.
    BadValueError
        A time is negative, NaN or not numeric.
    DuplicateIdError
        A ``(from_id, to_id)`` pair appears twice.
    """
    if not isinstance(matrix, pd.DataFrame):
        raise BadValueError(
            f"{name} must be a pandas DataFrame with columns {', '.join(_TIME_COLUMNS)}, "
            f"got {type(matrix).__name__}"
        )
    missing = [c for c in _TIME_COLUMNS if c not in matrix.columns]
    if missing:
        raise MissingColumnError(
            f"{name} has no column {missing[0]!r} (columns: {list(matrix.columns)}); "
            f"a travel-time table needs {', '.join(_TIME_COLUMNS)}"
        )
    try:
        t = pd.to_numeric(matrix["travel_time_min"], errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        bad = _first_non_numeric(matrix["travel_time_min"])
        raise BadValueError(
            f"{name} column 'travel_time_min' holds a non-numeric value {bad!r}; "
            "give times in minutes as numbers"
        ) from exc
    bad_mask = ~np.isfinite(t.to_numpy()) | (t.to_numpy() < 0)
    if bad_mask.any():
        i = int(np.flatnonzero(bad_mask)[0])
        raise BadValueError(
            f"{name} column 'travel_time_min' holds {float(t.iloc[i])!r} for pair "
            f"({matrix['from_id'].iloc[i]!r}, {matrix['to_id'].iloc[i]!r}); times must be "
            "finite and >= 0: drop unreachable pairs instead of coding them as NaN/inf"
        )
    out = pd.DataFrame(
        {
            "from_id": matrix["from_id"].to_numpy(),
            "to_id": matrix["to_id"].to_numpy(),
            "travel_time_min": t.to_numpy(),
        }
    )
    dup = out.duplicated(["from_id", "to_id"])
    if dup.any():
        row = out[dup].iloc[0]
        raise DuplicateIdError(
            f"{name} has the pair ({row['from_id']!r}, {row['to_id']!r}) more than once; "
            "keep one row per origin-facility pair (e.g. the minimum time)"
        )
    return out


def _first_non_numeric(s: pd.Series) -> Any:
    conv = pd.to_numeric(s, errors="coerce")
    bad = s[conv.isna() & s.notna()]
    return bad.iloc[0] if len(bad) else None


def _check_amounts(values: pd.Series, *, name: str, what: str) -> pd.Series:
    """Validate a non-negative numeric Series with a unique index; return it as float."""
    if not isinstance(values, pd.Series):
        raise BadValueError(
            f"{name} must be a pandas Series indexed by {what} id, got {type(values).__name__}"
        )
    if values.index.has_duplicates:
        dup = values.index[values.index.duplicated()][0]
        raise DuplicateIdError(
            f"{name} has the {what} id {dup!r} more than once; ids in the index must be unique"
        )
    try:
        v = pd.to_numeric(values, errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise BadValueError(
            f"{name} holds a non-numeric value {_first_non_numeric(values)!r}; give plain numbers"
        ) from exc
    arr = v.to_numpy()
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadValueError(
            f"{name} holds {float(arr[i])!r} for {what} {v.index[i]!r}; values must be finite and "
            ">= 0 (fill missing values with 0 or drop the row)"
        )
    return v


def _positions(ids: pd.Series, index: pd.Index, *, column: str, name: str) -> np.ndarray:
    pos = index.get_indexer(pd.Index(ids))
    if (pos < 0).any():
        bad = ids.iloc[int(np.flatnonzero(pos < 0)[0])]
        sample = index[0] if len(index) else None
        raise UnknownCodeError(
            f"matrix column {column!r} holds {bad!r}, which is not in the index of {name} "
            f"(first id there: {sample!r}); check that both use the same ids and dtype "
            "(e.g. INSEE codes as str)"
        )
    return pos


def _as_series(values: Any, *, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    return pd.Series(np.asarray(values), name=name)


def _times(values: Any, *, name: str = "times") -> pd.Series:
    s = _as_series(values, name=name)
    try:
        t = pd.to_numeric(s, errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise BadValueError(
            f"{name} holds a non-numeric value {_first_non_numeric(s)!r}; give minutes, "
            "NaN for unreachable"
        ) from exc
    if (t < 0).any():
        raise BadValueError(
            f"{name} holds a negative time {float(t[t < 0].iloc[0])!r}; times are >= 0"
        )
    return t


def _keep_kind(converted: pd.Series, original: Any) -> pd.Series | np.ndarray:
    """A converted Series back to a plain array when the caller gave no index."""
    return converted if isinstance(original, pd.Series) else converted.to_numpy()


def _aligned(values: Any, weights: Any, *, vname: str, wname: str) -> tuple[np.ndarray, np.ndarray]:
    v = _as_series(values, name=vname)
    w = _as_series(weights, name=wname)
    if isinstance(values, pd.Series) and isinstance(weights, pd.Series):
        if not v.index.equals(w.index):
            if len(v) == len(w) and set(v.index) == set(w.index) and not v.index.has_duplicates:
                w = w.reindex(v.index)
            else:
                raise BadValueError(
                    f"{vname} and {wname} are not indexed alike ({len(v)} vs {len(w)} rows); "
                    "align them on the same ids first"
                )
    elif len(v) != len(w):
        raise BadValueError(f"{vname} has {len(v)} values but {wname} has {len(w)}")
    try:
        wa = pd.to_numeric(w, errors="raise").to_numpy(dtype="float64")
    except (TypeError, ValueError) as exc:
        raise BadValueError(f"{wname} holds a non-numeric value {_first_non_numeric(w)!r}") from exc
    bad = ~np.isfinite(wa) | (wa < 0)
    if bad.any():
        raise BadValueError(
            f"{wname} holds {float(wa[bad][0])!r}; weights (population) must be finite and >= 0"
        )
    va = pd.to_numeric(v, errors="coerce").to_numpy(dtype="float64")
    return va, wa
