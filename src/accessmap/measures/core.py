"""Access measures on plain tables: coverage, 2SFCA family, DREES APL, equity.

Every function takes pandas/numpy inputs, never geodata and never files:

* a *travel-time table* is the long DataFrame ``from_id, to_id, travel_time_min``
  (origins -> facilities, only the pairs within the cutoff, as returned by
  ``travel_time_matrix``);
* *demand* is a Series indexed by origin id (people, or age-standardised people);
* *supply* is a Series indexed by facility id (GPs, FTE, or consultations a year).

The catchment indices are computed on a ``scipy.sparse`` origins x facilities matrix, so a
national run (35,000 communes x 10,000 facilities, or 300,000 grid cells) is a few sparse
matrix-vector products. Methods, defaults and sources: ``docs/methods.md``.

References
----------
.. [LW03] Luo W., Wang F. (2003). Measures of spatial accessibility to health care in a GIS
   environment: synthesis and a case study in the Chicago region. *Environment and Planning
   B* 30(6), 865-884. (2SFCA)
.. [LQ09] Luo W., Qi Y. (2009). An enhanced two-step floating catchment area (E2SFCA) method
   for measuring spatial accessibility to primary care physicians. *Health & Place* 15(4),
   1100-1107.
.. [W12] Wan N., Zou B., Sternberg T. (2012). A three-step floating catchment area method
   for analyzing spatial access to health services. *IJGIS* 26(6), 1073-1089. (3SFCA)
.. [DREES] Barlet M., Coldefy M., Collin C., Lucas-Gabrielli V. (2012). L'accessibilité
   potentielle localisée (APL) : une nouvelle mesure de l'accessibilité aux médecins
   généralistes libéraux. DREES/IRDES, *Études et Résultats* 795; and the DREES APL
   workbook (parameter sheet) summarised in ``docs/methods.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from accessmap.errors import (
    BadValueError,
    ConfigError,
    DuplicateIdError,
    EmptyLayerError,
    MissingColumnError,
    UnknownCodeError,
)

__all__ = [
    "APL_BANDS_DREES",
    "APL_BANDS_ROUNDED",
    "APL_CLASSES",
    "CONSULTATIONS_PER_GP",
    "DREES_AGE_WEIGHTS_2022",
    "DREES_AGE_WEIGHTS_2023",
    "E2SFCA_BANDS",
    "FRANCE_AGE_STRUCTURE_2023",
    "aggregate_age_weights",
    "apl",
    "apl_class",
    "apl_shares",
    "coverage",
    "e2sfca",
    "gini",
    "gravity_access",
    "nearest_flags",
    "palma",
    "share_under",
    "standardised_demand",
    "summarise_access",
    "three_sfca",
    "two_sfca",
    "validate_time_table",
    "weighted_mean_time",
]

#: Band table type: ``((upper_bound_min, weight), ...)`` with strictly increasing bounds.
Bands = Sequence[tuple[float, float]]

#: E2SFCA default bands: weight 1 up to 10 min, 0.66 up to 15, 0.33 up to 20, 0 beyond.
#: The three-band step decay of Luo & Qi (2009) with the DREES APL thresholds and the
#: two-decimal weights quoted in issue 4.
E2SFCA_BANDS: tuple[tuple[float, float], ...] = ((10.0, 1.0), (15.0, 0.66), (20.0, 0.33))

#: DREES APL distance decay as in the DREES workbook parameter sheet: 1 under 10 min,
#: 2/3 for 10-15 min, 1/3 for 15-20 min, 0 beyond 20 min (``docs/methods.md``). Default.
APL_BANDS_DREES: tuple[tuple[float, float], ...] = ((10.0, 1.0), (15.0, 2 / 3), (20.0, 1 / 3))

#: The same decay with the rounded weights 0.66 / 0.33 often quoted in DREES publications.
APL_BANDS_ROUNDED: tuple[tuple[float, float], ...] = E2SFCA_BANDS

#: Consultations (and home visits) a year per GP head count when only head counts are
#: known (BPE). DREES imputes 5,400 a year to newly installed GPs (APL workbook, parameter
#: sheet); using it for every GP is an ASSUMPTION (the usual conversion, not a measurement).
CONSULTATIONS_PER_GP = 5400.0

#: APL classes (consultations per standardised inhabitant per year): below 2.5 is
#: under-served; 2.5-4 is the pool for ZIP/ZAC zoning (DREES, ``docs/methods.md``).
APL_CLASSES: tuple[str, str, str] = ("<2.5", "2.5-4", ">=4")

_AGE_GROUPS: tuple[str, ...] = (
    "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
    "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+",
)  # fmt: skip

_W2022 = (0.93, 0.59, 0.55, 0.59, 0.73, 0.78, 0.84, 0.88, 0.90, 0.97,
          1.06, 1.14, 1.16, 1.19, 1.52, 1.53, 1.72, 1.99, 2.39)  # fmt: skip
_W2023 = (1.12, 0.58, 0.51, 0.60, 0.75, 0.79, 0.82, 0.85, 0.89, 0.93,
          1.03, 1.15, 1.18, 1.23, 1.46, 1.57, 1.63, 1.89, 2.26)  # fmt: skip
_FR2023 = (3.48, 3.83, 4.16, 4.20, 3.88, 3.68, 4.03, 4.27, 4.24, 4.36,
           4.49, 4.41, 4.17, 3.92, 3.73, 2.77, 1.97, 1.37, 0.93)  # fmt: skip

#: DREES APL age weights (GP consumption by age relative to the mean), 2022 edition
#: (``docs/methods.md``, from the DREES APL workbook).
DREES_AGE_WEIGHTS_2022: dict[str, float] = dict(zip(_AGE_GROUPS, _W2022, strict=True))

#: DREES APL age weights, 2023 edition (the default).
DREES_AGE_WEIGHTS_2023: dict[str, float] = dict(zip(_AGE_GROUPS, _W2023, strict=True))

#: Population of France on 1 January 2023 by five-year age group, in millions, rounded to
#: 0.01 M. ASSUMPTION: transcribed from the INSEE age-pyramid estimates without access to
#: the published table when written, so unverified to the last digit (shares: 23 % under 20,
#: 55 % aged 20-64, 22 % aged 65+, as INSEE publishes). Only used to weight the DREES
#: five-year weights inside our three census bands, where an error of a few percent in one
#: group moves a band weight by well under 0.01.
FRANCE_AGE_STRUCTURE_2023: dict[str, float] = dict(zip(_AGE_GROUPS, _FR2023, strict=True))

_CENSUS_BANDS: dict[str, tuple[str, ...]] = {
    "pop_0_19": _AGE_GROUPS[0:4],
    "pop_20_64": _AGE_GROUPS[4:13],
    "pop_65p": _AGE_GROUPS[13:],
}

_TIME_COLUMNS = ("from_id", "to_id", "travel_time_min")


# --------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# catchment-area indices
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# DREES APL
# --------------------------------------------------------------------------------------


def aggregate_age_weights(
    weights: Mapping[str, float] = DREES_AGE_WEIGHTS_2023,
    *,
    structure: Mapping[str, float] | Literal["uniform"] = FRANCE_AGE_STRUCTURE_2023,
) -> dict[str, float]:
    """Aggregate five-year DREES age weights to the census bands 0-19, 20-64, 65+.

    Band weight = mean of the five-year weights inside the band, weighted by ``structure``
    (population per five-year group), or the plain mean when ``structure="uniform"``.

    Parameters
    ----------
    weights : mapping, optional
        Weight per five-year group (keys ``"0-4"`` ... ``"90+"``). Default
        :data:`DREES_AGE_WEIGHTS_2023`.
    structure : mapping or "uniform", optional
        Population per five-year group. Default :data:`FRANCE_AGE_STRUCTURE_2023` (an
        ASSUMPTION: national structure used for every commune). With ``"uniform"`` the 65+
        weight rises from about 1.53 to 1.67 because the rare 90+ group counts as much as
        the 65-69 group.

    Returns
    -------
    dict
        ``{"pop_0_19": w1, "pop_20_64": w2, "pop_65p": w3}``.
    """
    missing = [g for g in _AGE_GROUPS if g not in weights]
    if missing:
        raise ConfigError(f"age weights have no group {missing[0]!r}; expected {_AGE_GROUPS}")
    if isinstance(structure, str):
        if structure != "uniform":
            raise ConfigError(f"structure must be a mapping or 'uniform', got {structure!r}")
        shares = dict.fromkeys(_AGE_GROUPS, 1.0)
    else:
        miss = [g for g in _AGE_GROUPS if g not in structure]
        if miss:
            raise ConfigError(f"age structure has no group {miss[0]!r}; expected {_AGE_GROUPS}")
        shares = {g: float(structure[g]) for g in _AGE_GROUPS}
    out: dict[str, float] = {}
    for band, groups in _CENSUS_BANDS.items():
        total = sum(shares[g] for g in groups)
        if total <= 0:
            raise ConfigError(f"age structure gives no population to band {band}")
        out[band] = sum(shares[g] * float(weights[g]) for g in groups) / total
    return out


def standardised_demand(
    pop_0_19: pd.Series,
    pop_20_64: pd.Series,
    pop_65p: pd.Series,
    *,
    weights: Mapping[str, float] | None = None,
    pop: pd.Series | None = None,
) -> pd.Series:
    """Population standardised by GP consumption per age, as in the DREES APL.

    ``D_i = k * sum_b w_b P_ib`` over the census bands b (0-19, 20-64, 65+), with ``k``
    chosen so that ``sum_i D_i`` equals the total population of the table (DREES normalises
    standardised population to the real population).

    Parameters
    ----------
    pop_0_19, pop_20_64, pop_65p : Series
        People per age band, same index (origin ids). RP2021 bands in our data.
    weights : mapping, optional
        Band weights ``{"pop_0_19": ..., "pop_20_64": ..., "pop_65p": ...}``. Default
        :func:`aggregate_age_weights` of the DREES 2023 weights with the national 2023 age
        structure: about 0.69 / 0.94 / 1.53.
    pop : Series, optional
        A more recent population per origin (e.g. ``pop_mun_2023``). When given, each
        origin's age profile from the bands is applied to it, ``D_i ~ pop_i * w.bands_i /
        sum(bands_i)`` (origins with empty bands get the mean weight 1), and the result is
        normalised to ``pop.sum()``.

    Returns
    -------
    Series
        Standardised people per origin, named ``"demand_std"``.
    """
    w = aggregate_age_weights() if weights is None else dict(weights)
    for key in _CENSUS_BANDS:
        if key not in w or not math.isfinite(float(w[key])) or float(w[key]) < 0:
            raise ConfigError(
                f"weights must give a finite weight >= 0 for {key!r}, got {w.get(key)!r}"
            )
    bands = {
        "pop_0_19": _check_amounts(pop_0_19, name="pop_0_19", what="origin"),
        "pop_20_64": _check_amounts(pop_20_64, name="pop_20_64", what="origin"),
        "pop_65p": _check_amounts(pop_65p, name="pop_65p", what="origin"),
    }
    index = bands["pop_0_19"].index
    for key, s in bands.items():
        if not s.index.equals(index):
            raise BadValueError(
                f"{key} is not indexed like pop_0_19; give the three bands for the same "
                "origins in the same order"
            )
    frame = pd.DataFrame(bands)
    raw = sum(frame[k] * float(w[k]) for k in _CENSUS_BANDS)
    assert isinstance(raw, pd.Series)
    census_total = frame.sum(axis=1)
    if pop is not None:
        p = _check_amounts(pop, name="pop", what="origin")
        if not p.index.equals(index):
            raise BadValueError("pop is not indexed like the age bands; align it first")
        factor = np.divide(
            raw.to_numpy(),
            census_total.to_numpy(),
            out=np.ones(len(raw)),
            where=census_total.to_numpy() > 0,
        )
        raw = pd.Series(p.to_numpy() * factor, index=index)
        target = float(p.sum())
    else:
        target = float(census_total.sum())
    total_raw = float(raw.sum())
    if total_raw <= 0:
        raise BadValueError("standardised demand is zero everywhere: the age bands hold nobody")
    return (raw * (target / total_raw)).rename("demand_std")


def apl(
    matrix: pd.DataFrame,
    demand: pd.Series,
    supply: pd.Series,
    *,
    consultations_per_gp: float = CONSULTATIONS_PER_GP,
    bands: Bands = APL_BANDS_DREES,
) -> pd.Series:
    """DREES accessibilité potentielle localisée (APL) to GPs.

    An E2SFCA (both steps weighted) with the DREES distance decay (1 under 10 min, 2/3 for
    10-15 min, 1/3 for 15-20 min, 0 beyond), supply in consultations a year and demand in
    age-standardised people.

    Parameters
    ----------
    matrix : DataFrame
        Long travel-time table, commune (or cell) -> GP location, at least up to 20 min.
    demand : Series
        Age-standardised people per origin (:func:`standardised_demand`); raw population is
        accepted but then the result is per inhabitant, not per standardised inhabitant.
    supply : Series
        GP head counts (or FTE) per facility id.
    consultations_per_gp : float, optional
        Consultations a year per unit of ``supply``. Default 5,400 (:data:`CONSULTATIONS_PER_GP`,
        the DREES figure for new GPs; ASSUMPTION when applied to every GP). With BPE head
        counts it overstates supply (Occitanie crow-fly mean APL 5.5 against a national
        mean of 3.3); about 3,600 per BPE head count reproduces the national mean
        (``docs/methods.md``). Pass 1 when ``supply`` already holds consultations.
    bands : sequence of (upper_bound_min, weight), optional
        Default :data:`APL_BANDS_DREES` (weights 1, 2/3, 1/3 of the workbook);
        :data:`APL_BANDS_ROUNDED` gives 1, 0.66, 0.33.

    Returns
    -------
    Series
        Consultations per standardised inhabitant per year, indexed like ``demand``,
        named ``"apl"``. National mean 3.3 (2022); below 2.5 is under-served.

    Examples
    --------
    >>> m = pd.DataFrame({"from_id": ["a", "b"], "to_id": ["g", "g"],
    ...                   "travel_time_min": [5.0, 12.0]})
    >>> apl(m, pd.Series({"a": 100.0, "b": 300.0}), pd.Series({"g": 2})).round(6).tolist()
    [36.0, 24.0]
    """
    if not (math.isfinite(consultations_per_gp) and consultations_per_gp > 0):
        raise ConfigError(
            f"consultations_per_gp must be a positive number, got {consultations_per_gp!r}"
        )
    s = _check_amounts(supply, name="supply", what="facility")
    out = _banded(matrix, demand, s * float(consultations_per_gp), bands, name="apl")
    return out


def apl_class(values: pd.Series | Iterable[float]) -> pd.Series:
    """Class APL values: ``"<2.5"``, ``"2.5-4"`` (2.5 <= APL < 4) or ``">=4"``.

    Thresholds: DREES under-served threshold 2.5 and the ZIP/ZAC zoning pool up to 4
    (``docs/methods.md``). NaN stays missing.

    Returns
    -------
    Series
        Ordered categorical, index kept when ``values`` is a Series.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype="float64")
    v = pd.to_numeric(s, errors="coerce").astype("float64")
    cat = pd.cut(v, bins=[-np.inf, 2.5, 4.0, np.inf], right=False, labels=list(APL_CLASSES))
    return pd.Series(cat, index=s.index, name="apl_class")


def apl_shares(values: pd.Series, pop: pd.Series) -> dict[str, float]:
    """Share of people with APL below 2.5 and below 4.

    Returns
    -------
    dict
        ``{"share_below_2_5": ..., "share_below_4": ...}`` (population-weighted).
    """
    return {
        "share_below_2_5": share_under(values, pop, 2.5),
        "share_below_4": share_under(values, pop, 4.0),
    }


# --------------------------------------------------------------------------------------
# nearest-facility summaries
# --------------------------------------------------------------------------------------


def _flag_name(threshold: float) -> str:
    return f"within_{threshold:g}".replace(".", "_")


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


# --------------------------------------------------------------------------------------
# equity
# --------------------------------------------------------------------------------------


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
