"""The DREES APL indicator (accessibilité potentielle localisée) and its age standardisation.

Source: [DREES]_ of :mod:`accessmap.measures` and the DREES workbook's parameter sheet
(``docs/methods.md``).

May import: :mod:`accessmap.errors` and the measure modules listed below it
(tables <- catchment <- apl; tables <- coverage <- equity). Plain tables only, no geodata.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from accessmap.errors import (
    BadValueError,
    ConfigError,
)
from accessmap.measures.catchment import (
    E2SFCA_BANDS,
    _banded,
)
from accessmap.measures.equity import share_under
from accessmap.measures.tables import (
    Bands,
    _check_amounts,
)

__all__ = [
    "ACTIVITY_FITTED",
    "APL_BANDS_DREES",
    "APL_BANDS_ROUNDED",
    "APL_CLASSES",
    "CONSULTATIONS_PER_GP",
    "CONSULTATIONS_PER_GP_FITTED",
    "DREES_AGE_WEIGHTS_2022",
    "DREES_AGE_WEIGHTS_2023",
    "FRANCE_AGE_STRUCTURE_2023",
    "ActivityModel",
    "aggregate_age_weights",
    "apl",
    "apl_class",
    "apl_shares",
    "gp_pressure",
    "standardised_demand",
]


#: DREES APL distance decay as in the DREES workbook parameter sheet: 1 under 10 min,
#: 2/3 for 10-15 min, 1/3 for 15-20 min, 0 beyond 20 min (``docs/methods.md``). Default.
APL_BANDS_DREES: tuple[tuple[float, float], ...] = ((10.0, 1.0), (15.0, 2 / 3), (20.0, 1 / 3))


#: The same decay with the rounded weights 0.66 / 0.33 often quoted in DREES publications.
APL_BANDS_ROUNDED: tuple[tuple[float, float], ...] = E2SFCA_BANDS


#: Consultations (and home visits) a year per GP head count when only head counts are
#: known (BPE). DREES imputes 5,400 a year to newly installed GPs (APL workbook, parameter
#: sheet); using it for every GP is an ASSUMPTION (the usual conversion, not a measurement).
CONSULTATIONS_PER_GP = 5400.0


#: Consultations a year per **BPE head count** fitted so that our level (standardised-
#: population-weighted mean APL) equals the official DREES level on the 30,290 communes of the
#: DREES APL 2023 workbook outside Occitanie (``benchmarks/calibrate_apl.py``; road network
#: of Travel Mapping with crow-fly fallback, BPE 2021 D265 head counts; ``docs/validation.md``).
#: A FITTED value, not a measurement: BPE head counts include GPs with little activity (DREES
#: counts 0 consultations below 250 a year) while 5,400 is what DREES imputes to a new GP.
CONSULTATIONS_PER_GP_FITTED = 4238.0


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


@dataclass(frozen=True)
class ActivityModel:
    """Consultations a year per GP head count as a bounded function of the local pressure.

    ``c(x) = low + (high - low) / (1 + (x0 / x) ** gamma)`` where ``x`` is the population per
    GP in reach of the GP's commune (:func:`gp_pressure`): a logistic curve in ``log x``,
    bounded by ``low`` (GPs where there are few people per GP: many part-time, "mode
    d'exercice particulier" or seasonal practices, which DREES counts 0 below 250
    consultations or 3,600 up to 3,600) and ``high`` (GPs facing many patients work more, up
    to the DREES cap of 6,000 counted consultations a year, workbook ``Paramètres`` sheet).

    The form is an ASSUMPTION (monotone, bounded, two shape parameters); its four parameters
    are fitted outside Occitanie (:data:`ACTIVITY_FITTED`, ``benchmarks/calibrate_apl.py``).

    Attributes
    ----------
    low, high : float
        Bounds of the consultations counted per head count (``0 <= low <= high <= 6000``).
    x0 : float
        Population per GP in reach at the midpoint of the curve (people).
    gamma : float
        Steepness (> 0) in ``log x``.
    """

    low: float
    high: float
    x0: float
    gamma: float

    def __post_init__(self) -> None:
        vals = (self.low, self.high, self.x0, self.gamma)
        if not all(math.isfinite(float(v)) for v in vals):
            raise ConfigError(f"activity model parameters must be finite, got {vals!r}")
        if not (0 <= self.low <= self.high) or self.x0 <= 0 or self.gamma <= 0:
            raise ConfigError(
                "activity model needs 0 <= low <= high, x0 > 0 and gamma > 0; got "
                f"low={self.low!r}, high={self.high!r}, x0={self.x0!r}, gamma={self.gamma!r}"
            )

    def consultations(self, pressure: pd.Series | np.ndarray) -> np.ndarray:
        """Consultations per head count for population-per-GP values (NaN/0 -> ``high``:
        no GP in reach of the commune means no competition from colleagues)."""
        x = np.asarray(pressure, dtype="float64")
        out = np.full(x.shape, float(self.high))
        ok = np.isfinite(x) & (x > 0)
        out[ok] = self.low + (self.high - self.low) / (1.0 + (self.x0 / x[ok]) ** self.gamma)
        return out

    def scaled(self, k: float) -> ActivityModel:
        """The same curve with both bounds multiplied by ``k`` (APL is linear in supply)."""
        return ActivityModel(self.low * k, self.high * k, self.x0, self.gamma)


#: The activity model fitted outside Occitanie on the 30,290 communes of the DREES APL 2023
#: sheet (Nelder-Mead on the squared error of ``log(APL + 1)`` weighted by the standardised
#: population, plus a penalty on the gap of the share of people below 2.5, the level matched
#: exactly; Travel Mapping road network with crow-fly fallback, BPE 2021 D265 head counts;
#: ``benchmarks/calibrate_apl.py``, ``docs/validation.md``). FITTED values: about 2,600
#: consultations per head count where GPs are plentiful (x << 728 people per GP) up to 5,354
#: where they are scarce, 3,977 at the midpoint.
ACTIVITY_FITTED = ActivityModel(low=2599.0, high=5354.0, x0=728.0, gamma=0.99)


def gp_pressure(
    matrix: pd.DataFrame,
    demand: pd.Series,
    supply: pd.Series,
    facility_origin: pd.Series,
    *,
    bands: Bands = APL_BANDS_DREES,
) -> pd.Series:
    """Population per GP in reach of each GP's commune (the inverse of an E2SFCA of heads).

    ``A_i = sum_j w_ij S_j / sum_k w_kj D_k`` (GP head counts per standardised inhabitant,
    the DREES distance decay ``bands``), then ``x_j = 1 / A_{o(j)}`` where ``o(j)`` is the
    origin of facility ``j`` (``facility_origin``). Used by :class:`ActivityModel`.

    Parameters
    ----------
    matrix, demand, supply, bands
        As :func:`apl` (``supply`` in head counts).
    facility_origin : Series
        Origin id (commune code) of each facility id.

    Returns
    -------
    Series
        People per GP, indexed like ``supply``; NaN when the commune reaches no GP.
    """
    acc = _banded(matrix, demand, supply, bands, name="heads")
    o = facility_origin.reindex(supply.index)
    a = acc.reindex(o.to_numpy()).to_numpy(dtype="float64")
    x = np.divide(1.0, a, out=np.full(len(a), np.nan), where=np.isfinite(a) & (a > 0))
    return pd.Series(x, index=supply.index, name="pop_per_gp")


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
