"""Agreement between our APL and the official DREES APL, on plain tables (no I/O).

Conventions, from the notes of the DREES APL workbook (``APL <year>`` sheets; ``SOURCES.md``
section 13):

* the **level** of an area is the mean APL of its communes weighted by the **standardised
  population** (``pop_std``);
* **shares of people** below a threshold use the **total population** (``pop_total``);
* APL classes: below 2.5 (the DREES under-served threshold), 2.5 to 4, 4 and above (the upper
  bound of the ZIP/ZAC zoning pool; ``docs/methods.md``), as
  :func:`accessmap.measures.apl_class` (same labels, :data:`APL_CLASSES`).

APL is linear in supply: multiplying the consultations counted per GP by ``k`` multiplies
every APL by ``k``. :func:`fit_level_scale` gives the ``k`` that makes our weighted level equal
the official one, a calibration of ``consultations_per_gp`` (our supply counts heads, DREES
counts consultations with the activity bounds of its ``Paramètres`` sheet); the correlations
and the class table after scaling say what calibration cannot fix.

Typical use::

    official = drees.to_cog(drees.read_apl_workbook(year=2023))
    agreement = compare_apl(ours, official)
    print(agreement.summary())
    tables = agreement.to_tables()   # named DataFrames for a GeoPackage / CSV export
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from accessmap.errors import (
    BadValueError,
    DuplicateIdError,
    MissingColumnError,
    UnknownCodeError,
)

__all__ = [
    "APL_CLASSES",
    "APL_THRESHOLDS",
    "DEFAULT_GROUPS",
    "AplAgreement",
    "compare_apl",
    "fit_level_scale",
]

#: DREES under-served threshold and the ZIP/ZAC pool bound (consultations per std. inhabitant).
APL_THRESHOLDS: tuple[float, float] = (2.5, 4.0)
#: Class labels, as :data:`accessmap.measures.APL_CLASSES`.
APL_CLASSES: tuple[str, str, str] = ("<2.5", "2.5-4", ">=4")
#: Short keys of the classes for column names.
_CLASS_KEYS: dict[str, str] = {"<2.5": "lt2_5", "2.5-4": "2_5to4", ">=4": "ge4"}
#: Group columns used when ``by`` is not given (those present; ``dep`` is derived from insee).
DEFAULT_GROUPS: tuple[str, ...] = ("dep", "epci_siren", "reg")

#: Minimum number of communes for a correlation (NaN below).
_MIN_CORR = 3


def _classes(values: pd.Series) -> pd.Series:
    """APL class of each value (left-closed bins: 2.5 is in "2.5-4", 4 in ">=4")."""
    cat = pd.cut(
        values.astype("float64"),
        bins=[-np.inf, APL_THRESHOLDS[0], APL_THRESHOLDS[1], np.inf],
        right=False,
        labels=list(APL_CLASSES),
    )
    return pd.Series(cat, index=values.index)


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    tot = float(w.sum())
    return float((x * w).sum() / tot) if tot > 0 else math.nan


def _share_below(x: np.ndarray, pop: np.ndarray, t: float) -> float:
    tot = float(pop.sum())
    return float(pop[x < t].sum() / tot) if tot > 0 else math.nan


def _corr(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(Spearman, Pearson) of paired values; NaN under 3 pairs or for a constant input."""
    if len(x) < _MIN_CORR or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Spearman = Pearson of the (average) ranks, as scipy.stats.spearmanr.
        rho = float(np.corrcoef(stats.rankdata(x), stats.rankdata(y))[0, 1])
        r = float(np.corrcoef(x, y)[0, 1])
    return rho, r


def fit_level_scale(
    ours_apl: pd.Series | Sequence[float] | np.ndarray,
    official_apl: pd.Series | Sequence[float] | np.ndarray,
    weights: pd.Series | Sequence[float] | np.ndarray,
) -> float:
    """Factor ``k`` such that the weighted level of ``k * ours`` equals the official level.

    ``k = sum(w * official) / sum(w * ours)``. APL is linear in supply, so multiplying the
    consultations counted per GP (``consultations_per_gp`` of
    :func:`accessmap.measures.apl`) by ``k`` multiplies every APL by ``k`` and matches
    the level; use the standardised population as ``weights`` (the DREES rule for averaging
    APL). A calibration helper: it fixes the level, not the ranking or the classes.

    Parameters
    ----------
    ours_apl, official_apl : Series or array-like
        APL per commune. Series are aligned on their index (inner join); array-likes must
        have the same length as ``weights``.
    weights : Series or array-like
        Non-negative weights (standardised population).

    Returns
    -------
    float
        The scale factor; pairs with a missing value are ignored.

    Raises
    ------
    BadValueError
        Lengths differ, a negative weight, or our weighted APL is 0 (no supply reached).

    Examples
    --------
    >>> fit_level_scale([1.0, 2.0], [2.0, 4.0], [10.0, 30.0])
    2.0
    """
    if all(isinstance(s, pd.Series) for s in (ours_apl, official_apl, weights)):
        frame = pd.concat(
            [pd.Series(ours_apl), pd.Series(official_apl), pd.Series(weights)],
            axis=1,
            join="inner",
            keys=["o", "f", "w"],
        )
    else:
        arrs = [np.asarray(a, dtype="float64") for a in (ours_apl, official_apl, weights)]
        if len({len(a) for a in arrs}) != 1:
            raise BadValueError(
                f"fit_level_scale: ours_apl, official_apl and weights have lengths "
                f"{[len(a) for a in arrs]}; give aligned values (or Series with the same index)"
            )
        frame = pd.DataFrame({"o": arrs[0], "f": arrs[1], "w": arrs[2]})
    frame = frame.apply(pd.to_numeric, errors="coerce").dropna()
    if (frame["w"] < 0).any():
        raise BadValueError(
            f"fit_level_scale: weights hold the negative value {frame['w'].min()!r}; use the "
            "standardised population (>= 0)"
        )
    den = float((frame["o"] * frame["w"]).sum())
    if not den > 0:
        raise BadValueError(
            "fit_level_scale: our weighted APL is 0 (no pair with supply and weight); a scale "
            "cannot be fitted: check that supply reaches these communes"
        )
    return float((frame["f"] * frame["w"]).sum() / den)


# --------------------------------------------------------------------------------------------
# the comparison
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Arrays:
    """The matched communes as arrays (fast per-group statistics)."""

    o: np.ndarray  # our APL
    f: np.ndarray  # official APL
    wo: np.ndarray  # our level weight
    wf: np.ndarray  # official standardised population
    po: np.ndarray  # our total population
    pf: np.ndarray  # official total population
    co: np.ndarray  # our class code (0, 1, 2)
    cf: np.ndarray  # official class code

    @classmethod
    def of(cls, m: pd.DataFrame) -> _Arrays:
        def arr(c: str) -> np.ndarray:
            return m[c].to_numpy("float64")

        return cls(
            o=arr("apl_ours"),
            f=arr("apl_official"),
            wo=arr("w_ours"),
            wf=arr("pop_std"),
            po=arr("pop_ours"),
            pf=arr("pop_total"),
            co=np.searchsorted(APL_THRESHOLDS, arr("apl_ours"), side="right"),
            cf=np.searchsorted(APL_THRESHOLDS, arr("apl_official"), side="right"),
        )

    def take(self, idx: np.ndarray) -> _Arrays:
        return _Arrays(*(getattr(self, k)[idx] for k in self.__dataclass_fields__))


def _stats(a: _Arrays) -> dict[str, float]:
    """Scalar statistics of matched communes."""
    o, f, pf = a.o, a.f, a.pf
    rho, r = _corr(o, f)
    lo, lf = _wmean(o, a.wo), _wmean(f, a.wf)
    same = a.co == a.cf
    tot = float(pf.sum())
    return {
        "n_matched": float(len(o)),
        "spearman": rho,
        "pearson": r,
        "level_ours": lo,
        "level_official": lf,
        "level_ratio": lo / lf if lf > 0 else math.nan,
        "mean_abs_diff": _wmean(np.abs(o - f), a.wf),
        "share_below_2_5_ours": _share_below(o, a.po, APL_THRESHOLDS[0]),
        "share_below_2_5_official": _share_below(f, pf, APL_THRESHOLDS[0]),
        "share_below_4_ours": _share_below(o, a.po, APL_THRESHOLDS[1]),
        "share_below_4_official": _share_below(f, pf, APL_THRESHOLDS[1]),
        "share_same_class_pop": float(pf[same].sum() / tot) if tot > 0 else math.nan,
        "share_same_class_count": float(same.mean()) if len(o) else math.nan,
        "pop_total": tot,
        "pop_std": float(a.wf.sum()),
    }


def _cells(a: _Arrays, *, people: bool) -> np.ndarray:
    """3x3 sums: rows the official class, columns ours (official total population or 1)."""
    k = len(APL_CLASSES)
    w = a.pf if people else None
    return np.bincount(a.cf * k + a.co, weights=w, minlength=k * k).reshape(k, k)


def _confusion(a: _Arrays, *, people: bool) -> pd.DataFrame:
    """3x3 table of :func:`_cells` with class labels (``official`` x ``ours``)."""
    cells = _cells(a, people=people)
    tab = pd.DataFrame(
        cells if people else cells.round().astype("int64"),
        index=pd.Index(list(APL_CLASSES), name="official"),
        columns=pd.Index(list(APL_CLASSES), name="ours"),
    )
    return tab


def _flat_confusion(a: _Arrays) -> dict[str, float]:
    out: dict[str, float] = {}
    pop = _cells(a, people=True)
    cnt = _cells(a, people=False)
    keys = [_CLASS_KEYS[c] for c in APL_CLASSES]
    for i, ka in enumerate(keys):
        for j, kb in enumerate(keys):
            out[f"pop_off_{ka}_ours_{kb}"] = float(pop[i, j])
            out[f"n_off_{ka}_ours_{kb}"] = float(cnt[i, j])
    return out


def _dep(codes: pd.Series) -> pd.Series:
    """Département of commune codes (3 characters overseas, INSEE COG)."""
    s = codes.astype("str")
    return s.str[:3].where(s.str.startswith("97"), s.str[:2])


def _numeric(df: pd.DataFrame, column: str, *, name: str, allow_missing: bool) -> pd.Series:
    """Column as float64; BadValueError on text, missing (unless allowed) or negatives."""
    raw = df[column]
    num = pd.to_numeric(raw, errors="coerce").astype("float64")
    bad = num.isna() & raw.notna()
    if bad.any():
        raise BadValueError(
            f"{name}: column {column!r} must be numeric but holds {raw[bad].iloc[0]!r} "
            f"({int(bad.sum())} rows); fix the value"
        )
    if not allow_missing and num.isna().any():
        raise BadValueError(
            f"{name}: column {column!r} has {int(num.isna().sum())} missing values; fill them "
            "(0 if there is truly none)"
        )
    if (num < 0).any():
        raise BadValueError(
            f"{name}: column {column!r} holds the negative value {float(num[num < 0].iloc[0])!r};"
            " APL and populations must be >= 0"
        )
    return num


def _prepare(
    df: pd.DataFrame, *, name: str, required: Sequence[str], pops: Sequence[str]
) -> pd.DataFrame:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise MissingColumnError(
            f"{name}: missing column {missing[0]!r}; columns present: "
            f"{', '.join(map(str, df.columns))}. Rename the column (see compare_apl)"
        )
    out = df.copy()
    codes = out["insee"].astype("str").str.strip()
    out["insee"] = codes.where(~codes.str.fullmatch(r"\d{4}"), codes.str.zfill(5))
    dup = out["insee"].duplicated(keep=False)
    if dup.any():
        raise DuplicateIdError(
            f"{name}: column 'insee' must be unique but {out.loc[dup, 'insee'].iloc[0]!r} "
            f"appears more than once ({int(dup.sum())} rows); merge the rows first"
        )
    out["apl"] = _numeric(out, "apl", name=name, allow_missing=True)
    for c in pops:
        if c in out.columns:
            out[c] = _numeric(out, c, name=name, allow_missing=c == "pop_std")
    return out


@dataclass(frozen=True)
class AplAgreement:
    """How our APL agrees with the official DREES APL (:func:`compare_apl`).

    Attributes
    ----------
    n_matched, n_only_ours, n_only_official : int
        Communes with an APL on both sides / only ours / only official.
    spearman, pearson : float
        Rank and linear correlation over the matched communes (unweighted, one point per
        commune; NaN under 3 communes or for constant values).
    level_ours, level_official : float
        Mean APL weighted by the standardised population (DREES rule), over matched
        communes; ours uses our ``pop_std`` when given, else the official one
        (``level_weight_ours`` says which).
    level_ratio : float
        ``level_ours / level_official``; :attr:`scale_to_official` = its inverse.
    mean_abs_diff : float
        Mean absolute difference, weighted by the official standardised population.
    share_below_2_5_ours, share_below_2_5_official, share_below_4_ours, share_below_4_official
        Share of people (total population: our ``pop`` / official ``pop_total``) in
        communes with APL below 2.5 / below 4.
    share_same_class_pop, share_same_class_count : float
        Share of people (official total population) / of communes in the same class.
    confusion_pop, confusion_count : DataFrame
        3x3 tables, rows the official class, columns ours (:data:`APL_CLASSES`): official
        total population, and number of communes.
    by_group : dict of str to DataFrame
        The same figures (and the flattened confusion tables) per value of each group column.
    largest_abs, largest_rel : DataFrame
        The N largest disagreements by absolute difference and by relative difference
        (official APL > 0), with every column of the inputs and an empty ``cause`` column to
        fill.
    communes : DataFrame
        Every commune of either side with ``status`` (``matched``/``only_ours``/
        ``only_official``), both APL, difference and classes.
    """

    n_matched: int
    n_only_ours: int
    n_only_official: int
    spearman: float
    pearson: float
    level_ours: float
    level_official: float
    level_ratio: float
    scale_to_official: float
    mean_abs_diff: float
    share_below_2_5_ours: float
    share_below_2_5_official: float
    share_below_4_ours: float
    share_below_4_official: float
    share_same_class_pop: float
    share_same_class_count: float
    confusion_pop: pd.DataFrame = field(repr=False)
    confusion_count: pd.DataFrame = field(repr=False)
    by_group: dict[str, pd.DataFrame] = field(repr=False)
    largest_abs: pd.DataFrame = field(repr=False)
    largest_rel: pd.DataFrame = field(repr=False)
    communes: pd.DataFrame = field(repr=False)
    level_weight_ours: str = "pop_std"

    def scalars(self) -> dict[str, float]:
        """The scalar figures as a dict (the ``summary`` table)."""
        names = [
            "n_matched",
            "n_only_ours",
            "n_only_official",
            "spearman",
            "pearson",
            "level_ours",
            "level_official",
            "level_ratio",
            "scale_to_official",
            "mean_abs_diff",
            "share_below_2_5_ours",
            "share_below_2_5_official",
            "share_below_4_ours",
            "share_below_4_official",
            "share_same_class_pop",
            "share_same_class_count",
        ]
        return {n: float(getattr(self, n)) for n in names}

    def to_tables(self, prefix: str = "apl_agreement") -> dict[str, pd.DataFrame]:
        """Named flat tables (no index) for a GeoPackage or CSV export.

        Returns
        -------
        dict of str to DataFrame
            ``<prefix>_summary`` (``statistic, value, note``), ``<prefix>_confusion``
            (``class_official, class_ours, population, communes``), ``<prefix>_by_<group>``
            for each group column, ``<prefix>_largest_abs``, ``<prefix>_largest_rel`` and
            ``<prefix>_communes``.
        """
        scal = self.scalars()
        notes = {"level_ours": f"weighted by {self.level_weight_ours}"}
        summary = pd.DataFrame(
            {
                "statistic": list(scal),
                "value": list(scal.values()),
                "note": [notes.get(k, "") for k in scal],
            }
        )
        conf = pd.DataFrame(
            [
                {
                    "class_official": a,
                    "class_ours": b,
                    "population": float(self.confusion_pop.at[a, b]),  # type: ignore[arg-type]
                    "communes": int(self.confusion_count.at[a, b]),  # type: ignore[arg-type]
                }
                for a in APL_CLASSES
                for b in APL_CLASSES
            ]
        )
        out = {f"{prefix}_summary": summary, f"{prefix}_confusion": conf}
        for col, tab in self.by_group.items():
            out[f"{prefix}_by_{col}"] = tab.reset_index(drop=True)
        out[f"{prefix}_largest_abs"] = self.largest_abs.reset_index(drop=True)
        out[f"{prefix}_largest_rel"] = self.largest_rel.reset_index(drop=True)
        out[f"{prefix}_communes"] = _plain(self.communes)
        return out

    def summary(self) -> str:
        """A short text: matches, correlations, levels, shares and class agreement."""

        def pct(x: float) -> str:
            return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"

        lines = [
            f"APL agreement on {self.n_matched:,} communes ({self.n_only_ours:,} only ours, "
            f"{self.n_only_official:,} only official)",
            f"  Spearman {self.spearman:.3f}, Pearson {self.pearson:.3f}",
            f"  level (standardised-population-weighted mean APL): ours "
            f"{self.level_ours:.2f}, official {self.level_official:.2f}, ratio "
            f"{self.level_ratio:.3f} (scale x{self.scale_to_official:.3f} to match)",
            f"  people below 2.5: ours {pct(self.share_below_2_5_ours)}, official "
            f"{pct(self.share_below_2_5_official)}; below 4: ours "
            f"{pct(self.share_below_4_ours)}, official {pct(self.share_below_4_official)}",
            f"  same class (<2.5, 2.5-4, >=4): {pct(self.share_same_class_pop)} of people, "
            f"{pct(self.share_same_class_count)} of communes",
        ]
        if self.level_weight_ours != "pop_std":
            lines.append(f"  (our level weighted by {self.level_weight_ours})")
        return "\n".join(lines)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as text, for writers that do not take them."""
    out = df.reset_index(drop=True).copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype("object")
    return out


def compare_apl(
    ours: pd.DataFrame,
    official: pd.DataFrame,
    *,
    by: Iterable[str] | None = None,
    n_largest: int = 20,
) -> AplAgreement:
    """Compare our APL per commune with the official DREES APL.

    Parameters
    ----------
    ours : DataFrame
        ``insee``, ``apl``, ``pop`` (total population, for the shares), optionally
        ``pop_std`` (standardised population, for the level), group columns (``dep``,
        ``epci_siren``, ``reg``...) and any other columns (kept in the disagreement tables,
        e.g. GP counts or the nearest GP time, to attach a likely cause).
    official : DataFrame
        ``insee``, ``apl``, ``pop_std``, ``pop_total``, e.g.
        ``accessmap.loaders.drees.to_cog(read_apl_workbook(...))``. Both tables must use the
        same commune geography (COG 2026). A missing APL counts as absent from that side.
    by : iterable of str, optional
        Group columns, looked up in ``ours`` then ``official``; every one must exist (``dep``
        is derived from ``insee`` when absent). Default :data:`DEFAULT_GROUPS`, those present.
    n_largest : int, default 20
        Rows of each disagreement table.

    Returns
    -------
    AplAgreement

    Raises
    ------
    MissingColumnError
        A required or requested group column is absent.
    BadValueError, DuplicateIdError
        Non-numeric values, negative populations, a commune twice.
    UnknownCodeError
        No commune in common (different geographies: map both to COG 2026 first).

    Examples
    --------
    >>> off = pd.DataFrame({"insee": ["01001", "01002", "01003"], "apl": [2.0, 3.0, 5.0],
    ...                     "pop_std": [100.0, 100.0, 200.0], "pop_total": [100.0, 100.0, 200.0]})
    >>> ours = pd.DataFrame({"insee": ["01001", "01002", "01003"], "apl": [1.0, 1.5, 2.5],
    ...                      "pop": [100.0, 100.0, 200.0]})
    >>> a = compare_apl(ours, off)
    >>> round(a.level_official, 2), round(a.level_ratio, 2), a.spearman
    (3.75, 0.5, 1.0)
    """
    o = _prepare(ours, name="ours", required=["insee", "apl", "pop"], pops=["pop", "pop_std"])
    f = _prepare(
        official,
        name="official",
        required=["insee", "apl", "pop_std", "pop_total"],
        pops=["pop_std", "pop_total"],
    )
    if n_largest < 0:
        raise BadValueError(f"n_largest must be >= 0, got {n_largest!r}")
    o = o[o["apl"].notna()]
    f = f[f["apl"].notna()]
    if (o["apl"] < 0).any() or (f["apl"] < 0).any():
        raise BadValueError("APL values must be >= 0; check the inputs (negative APL found)")

    # Columns: ours keeps its names (apl -> apl_ours, pop -> pop_ours); official's core
    # columns keep theirs (apl -> apl_official, pop_std, pop_total); other official columns
    # get "_official" when ours has the same name.
    o = o.rename(columns={"apl": "apl_ours", "pop": "pop_ours", "pop_std": "pop_std_ours"})
    f = f.rename(columns={"apl": "apl_official"})
    clash = [c for c in f.columns if c in o.columns and c != "insee"]
    f = f.rename(columns={c: f"{c}_official" for c in clash})
    joined = o.merge(f, on="insee", how="outer", indicator=True)
    status = (
        joined["_merge"]
        .astype("object")
        .map({"both": "matched", "left_only": "only_ours", "right_only": "only_official"})
    )
    joined = joined.drop(columns="_merge")
    joined.insert(1, "status", status.to_numpy())
    derived = _dep(joined["insee"])
    joined["dep"] = joined["dep"].fillna(derived) if "dep" in joined.columns else derived

    groups = _groups(by, joined, o, f)
    has_std = (
        "pop_std_ours" in joined.columns
        and joined.loc[joined["status"] == "matched", "pop_std_ours"].notna().all()
    )
    joined["w_ours"] = joined["pop_std_ours"] if has_std else joined["pop_std"]
    weight_note = "pop_std" if has_std else "the official pop_std (ours has none)"
    joined["diff"] = joined["apl_ours"] - joined["apl_official"]
    joined["abs_diff"] = joined["diff"].abs()
    off = joined["apl_official"]
    joined["rel_diff"] = (joined["diff"] / off).where(off > 0)
    joined["class_ours"] = _classes(joined["apl_ours"])
    joined["class_official"] = _classes(joined["apl_official"])
    joined["pop_ratio"] = (joined["pop_ours"] / joined["pop_total"]).where(joined["pop_total"] > 0)

    m = joined[joined["status"] == "matched"]
    if m.empty:
        raise UnknownCodeError(
            f"no commune in common between ours ({len(o)} communes, e.g. "
            f"{o['insee'].iloc[0] if len(o) else None!r}) and official ({len(f)}, e.g. "
            f"{f['insee'].iloc[0] if len(f) else None!r}); map both to COG 2026 "
            "(accessmap.loaders.drees.to_cog) and compare the same area"
        )
    arrays = _Arrays.of(m)
    st = _stats(arrays)

    by_group: dict[str, pd.DataFrame] = {}
    for col in groups:
        rows = []
        sizes: dict[Any, int] = joined.groupby([col, "status"]).size().to_dict()
        positions = m.reset_index(drop=True).groupby(col, sort=True).indices
        for key in sorted(joined[col].dropna().unique()):
            row: dict[str, Any] = {col: key}
            row["n_only_ours"] = int(sizes.get((key, "only_ours"), 0))
            row["n_only_official"] = int(sizes.get((key, "only_official"), 0))
            idx = positions.get(key)
            if idx is None or len(idx) == 0:
                row["n_matched"] = 0
            else:
                sub = arrays.take(np.asarray(idx))
                row.update(_stats(sub))
                row.update(_flat_confusion(sub))
            rows.append(row)
        tab = pd.DataFrame(rows)
        lead = [col, "n_matched", "n_only_ours", "n_only_official"]
        tab = tab[lead + [c for c in tab.columns if c not in lead]]
        tab["n_matched"] = tab["n_matched"].fillna(0).astype("int64")
        by_group[col] = tab

    core = [
        "insee",
        "apl_ours",
        "apl_official",
        "diff",
        "abs_diff",
        "rel_diff",
        "class_ours",
        "class_official",
        "pop_ours",
        "pop_total",
        "pop_std",
        "pop_ratio",
    ]
    extra = [c for c in joined.columns if c not in core and c not in ("status", "w_ours")]
    disp = _plain(m[core + extra])
    disp["cause"] = pd.Series([None] * len(disp), dtype="object")
    k = max(int(n_largest), 0)
    largest_abs = disp.sort_values("abs_diff", ascending=False, kind="stable").head(k)
    rel = disp[disp["rel_diff"].notna()]
    largest_rel = rel.reindex(
        rel["rel_diff"].abs().sort_values(ascending=False, kind="stable").index
    ).head(k)
    for t in (largest_abs, largest_rel):
        t.insert(0, "rank", np.arange(1, len(t) + 1))

    lo, lf = st["level_ours"], st["level_official"]
    return AplAgreement(
        n_matched=len(m),
        n_only_ours=int((joined["status"] == "only_ours").sum()),
        n_only_official=int((joined["status"] == "only_official").sum()),
        spearman=st["spearman"],
        pearson=st["pearson"],
        level_ours=lo,
        level_official=lf,
        level_ratio=st["level_ratio"],
        scale_to_official=lf / lo if lo > 0 else math.nan,
        mean_abs_diff=st["mean_abs_diff"],
        share_below_2_5_ours=st["share_below_2_5_ours"],
        share_below_2_5_official=st["share_below_2_5_official"],
        share_below_4_ours=st["share_below_4_ours"],
        share_below_4_official=st["share_below_4_official"],
        share_same_class_pop=st["share_same_class_pop"],
        share_same_class_count=st["share_same_class_count"],
        confusion_pop=_confusion(arrays, people=True),
        confusion_count=_confusion(arrays, people=False),
        by_group=by_group,
        largest_abs=largest_abs.reset_index(drop=True),
        largest_rel=largest_rel.reset_index(drop=True),
        communes=joined.drop(columns="w_ours").reset_index(drop=True),
        level_weight_ours=weight_note,
    )


def _groups(
    by: Iterable[str] | None, joined: pd.DataFrame, o: pd.DataFrame, f: pd.DataFrame
) -> list[str]:
    """Group columns to report; fills official-only rows from the official column."""
    if by is None:
        wanted = [c for c in DEFAULT_GROUPS if c in joined.columns or f"{c}_official" in joined]
        explicit = False
    else:
        wanted = [str(c) for c in ([by] if isinstance(by, str) else by)]
        explicit = True
    out = []
    for c in wanted:
        if c not in joined.columns and f"{c}_official" in joined.columns:
            joined[c] = joined[f"{c}_official"]
        elif c in joined.columns and f"{c}_official" in joined.columns:
            joined[c] = joined[c].fillna(joined[f"{c}_official"])
        if c not in joined.columns:
            if explicit:
                raise MissingColumnError(
                    f"compare_apl: group column {c!r} is in neither table (ours: "
                    f"{', '.join(map(str, o.columns))}); add it or leave it out of by="
                )
            continue
        out.append(c)
    return out
