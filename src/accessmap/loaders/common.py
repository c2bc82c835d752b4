"""Helpers shared by the loaders: département filters, code patterns, integer columns."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from accessmap.config import OCCITANIE_DEPS
from accessmap.data import validate as v
from accessmap.errors import EmptyLayerError

__all__ = [
    "COMMUNE_CODE_PATTERN",
    "EPCI_SIREN_PATTERN",
    "as_int",
    "dep_of",
    "filter_deps",
    "norm_deps",
]

#: INSEE commune code: 5 digits, or 2A/2B + 3 digits in Corsica.
COMMUNE_CODE_PATTERN = r"(\d{5}|2[AB]\d{3})"
#: SIREN of an EPCI (or any legal unit): 9 digits.
EPCI_SIREN_PATTERN = r"\d{9}"


def norm_deps(deps: Sequence[str] | None) -> tuple[str, ...]:
    """Normalise a département list (default: Occitanie); ``9`` or ``"9"`` becomes ``"09"``."""
    if deps is None:
        return OCCITANIE_DEPS
    if isinstance(deps, str):
        deps = [deps]
    out = tuple(str(d).strip().upper().zfill(2) for d in deps)
    if not out:
        raise EmptyLayerError("deps is an empty list; give département codes, e.g. ['46']")
    return out


def dep_of(codes: pd.Series) -> pd.Series:
    """Département of commune codes (3 characters overseas: 971..976, else 2)."""
    s = codes.astype("str")
    return s.str[:3].where(s.str.startswith("97"), s.str[:2])


def filter_deps(
    df: pd.DataFrame, deps: Sequence[str] | None, *, column: str, where: str
) -> pd.DataFrame:
    """Keep rows whose ``column`` is in ``deps``; EmptyLayerError naming the codes if none."""
    wanted = norm_deps(deps)
    out = df[df[column].isin(wanted)]
    if len(out) == 0:
        present = ", ".join(sorted(map(str, df[column].dropna().unique()))[:15])
        raise EmptyLayerError(
            f"{where}: no rows for départements {list(wanted)} (départements present: "
            f"{present}); pass deps from that list or use data covering them"
        )
    return out


def as_int(df: pd.DataFrame, column: str, *, where: str) -> pd.Series:
    """Column as int64 when every value is integral (float64 otherwise); validated numeric."""
    num = v.to_numeric(df, column, where=where)
    return num.round().astype("int64") if (num % 1 == 0).all() else num
