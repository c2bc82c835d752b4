"""Candidate sites and fixed centres: the default rule, planners' files, doctors per centre.

Default candidate rule (:func:`default_candidates`): a commune can host a new centre when it
has **at least one pharmacy** (BPE 2021 D307, the ``pharmacy`` supply kind) **or at least
1,000 inhabitants** (:data:`DEFAULT_MIN_POP`). ASSUMPTION, documented in
``docs/methods.md``: a salaried-doctor centre needs an everyday-services town, a pharmacy
being the service a GP's patients use next; 1,000 inhabitants catches the bourgs with no
pharmacy in the BPE. In Occitanie it keeps 1,162 of the 4,446 communes (919 with a
pharmacy). Communes that already hold an existing or planned centre are not candidates (a
second centre there would be an extension, not a new site).

Doctors per centre (:data:`DOCTORS_PER_CENTRE`): 4, the programme's first-year figures,
44 salaried GPs in 11 centres (Région Occitanie, "Ma Santé, Ma Région", ``../shared/docs``).
Existing Ma Santé, Ma Région sites (:func:`existing_centre_doctors`): the number of doctors
the source states when it states one (Mazamet: "2 salaried GPs"), 0 for an antenna (served
by the doctors of its parent centre, so counting them again would double the supply; the
antenna still counts as a place of care within reach for the 15-minute and time measures),
otherwise the default per centre: ASSUMPTIONS, the source list is partial (10 of 22 sites).

May import: :mod:`accessmap.errors`, :mod:`accessmap.data.validate`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from accessmap.data import validate as v
from accessmap.errors import BadValueError, ConfigError

__all__ = [
    "DEFAULT_MIN_POP",
    "DOCTORS_PER_CENTRE",
    "default_candidates",
    "existing_centre_doctors",
    "parse_what_if",
    "read_sites_file",
]

#: Doctors of a new centre: 44 salaried GPs in the 11 centres of the programme's first year.
DOCTORS_PER_CENTRE = 44 / 11

#: Population from which a commune without a pharmacy is a candidate (ASSUMPTION).
DEFAULT_MIN_POP = 1000.0

_CODE = re.compile(r"^(\d[0-9AB]\d{3})$")


def default_candidates(
    communes: pd.DataFrame, pharmacy_insee: Iterable[str], *, min_pop: float = DEFAULT_MIN_POP
) -> pd.Index:
    """INSEE codes of the communes with a pharmacy or at least ``min_pop`` inhabitants.

    Parameters
    ----------
    communes : DataFrame
        Indexed by INSEE code, with ``pop``.
    pharmacy_insee : iterable of str
        Codes of the communes holding at least one pharmacy (BPE 2021 D307).
    min_pop : float
        Population threshold (default 1,000, an assumption).

    Returns
    -------
    Index
        Candidate codes in the order of ``communes``.

    Examples
    --------
    >>> com = pd.DataFrame({"pop": [300, 1500, 200]}, index=["a", "b", "c"])
    >>> list(default_candidates(com, ["c"]))
    ['b', 'c']
    """
    if not (math.isfinite(min_pop) and min_pop >= 0):
        raise ConfigError(f"candidate minimum population must be >= 0, got {min_pop!r}")
    ph = pd.Index(list(pharmacy_insee))
    keep = (communes["pop"].astype(float) >= min_pop) | communes.index.isin(ph)
    return communes.index[keep.to_numpy()]


def existing_centre_doctors(
    centres: pd.DataFrame, *, doctors_per_centre: float = DOCTORS_PER_CENTRE
) -> pd.Series:
    """Doctors counted at each existing Ma Santé, Ma Région site (rule in the module docstring).

    Parameters
    ----------
    centres : DataFrame
        ``site_kind`` and ``status`` (:func:`accessmap.loaders.supply.load_health_centres`).
    doctors_per_centre : float
        Default for a centre whose source gives no number.

    Returns
    -------
    Series of float, index of ``centres``.

    Examples
    --------
    >>> c = pd.DataFrame({"site_kind": ["centre", "antenna of X", "centre"],
    ...                   "status": ["opened (2 salaried GPs)", "announced", "opened"]})
    >>> existing_centre_doctors(c).tolist()
    [2.0, 0.0, 4.0]
    """
    out = []
    for kind, status in zip(centres["site_kind"].astype(str), centres["status"].astype(str),
                            strict=True):  # fmt: skip
        m = re.search(r"(\d+)\s+salaried\s+(?:GP|doctor)", status, flags=re.IGNORECASE)
        if kind.lower().startswith("antenna"):
            out.append(0.0)
        elif m:
            out.append(float(m.group(1)))
        else:
            out.append(float(doctors_per_centre))
    return pd.Series(out, index=centres.index, dtype="float64", name="doctors")


def parse_what_if(item: str, *, default_doctors: float) -> tuple[str, float]:
    """``"46102"`` or ``"46102:6"`` -> (code, doctors).

    Examples
    --------
    >>> parse_what_if("46102:6", default_doctors=4)
    ('46102', 6.0)
    """
    code, sep, doc = str(item).strip().partition(":")
    code = code.strip().upper()
    if not _CODE.match(code):
        raise ConfigError(
            f"--what-if {item!r}: give an INSEE commune code (5 characters, e.g. 46102) "
            "optionally followed by :DOCTORS (46102:6)"
        )
    if not sep:
        return code, float(default_doctors)
    try:
        d = float(doc)
    except ValueError:
        d = math.nan
    if not (math.isfinite(d) and d > 0):
        raise ConfigError(
            f"--what-if {item!r}: doctors after ':' must be a number > 0, e.g. 46102:6"
        )
    return code, d


def read_sites_file(path: str | Path, *, option: str = "--candidates") -> pd.DataFrame:
    """Read a planner's list of sites: INSEE codes or points.

    Accepted layouts (CSV, ``,`` or ``;``, UTF-8 or Latin-1):

    * a column ``insee`` (also ``code``, ``codgeo``, ``INSEE``): commune codes, placed at the
      commune's routing origin;
    * columns ``lon, lat`` (WGS84 degrees) or ``x, y`` (EPSG:2154 metres): points, placed in
      the commune that contains them;
    * a file of bare codes, one a line, without a header.

    Optional columns: ``id`` (site id of a point; default ``<file stem>-<row>``), ``name``
    (or ``nom``), ``doctors`` (doctors of that centre; default ``--doctors-per-centre``).

    Returns
    -------
    DataFrame
        ``site_id, insee (or NA), x, y (EPSG:2154 or NaN), name, doctors (NaN = default)``.

    Raises
    ------
    DataNotFoundError, MissingColumnError, BadValueError
        File missing, no usable column, bad codes, coordinates or doctors.
    """
    p = v.require_file(path)
    first = p.read_text(encoding="utf-8", errors="replace").lstrip("\ufeff").splitlines()
    first_line = first[0].strip() if first else ""
    if _CODE.match(first_line.strip('"').upper()):
        codes = [ln.strip().strip('"').upper() for ln in first if ln.strip()]
        df = pd.DataFrame({"insee": codes})
    else:
        header = [h.strip().strip('"') for h in re.split(r"[;,\t]", first_line)]
        code_col = next((c for c in ("insee", "INSEE", "code", "codgeo", "CODGEO") if c in header),
                        None)  # fmt: skip
        opt = [c for c in ("id", "name", "nom", "doctors", "lon", "lat", "x", "y")
               if c in header]  # fmt: skip
        if code_col is None and not ({"lon", "lat"} <= set(header) or {"x", "y"} <= set(header)):
            raise BadValueError(
                f"{option} {p.name}: no column insee (INSEE codes) nor lon,lat / x,y (points); "
                f"found {', '.join(header[:8]) or 'nothing'}"
            )
        df = v.read_csv(p, columns=[code_col] if code_col else [], optional=opt, sep=None,
                        dtype={code_col: "str"} if code_col else None, encoding=None)  # fmt: skip
        if code_col:
            df = df.rename(columns={code_col: "insee"})
        if "nom" in df.columns and "name" not in df.columns:
            df = df.rename(columns={"nom": "name"})
    n = len(df)
    if n == 0:
        raise BadValueError(f"{option} {p.name} lists no site; give at least one code or point")
    out = pd.DataFrame(index=range(n))
    out["insee"] = (
        df["insee"].astype("string").str.strip().str.upper().str.zfill(5)
        if "insee" in df.columns
        else pd.Series(pd.NA, index=range(n), dtype="string")
    )
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if {"lon", "lat"} <= set(df.columns):
        from pyproj import Transformer

        lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy()
        lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy()
        bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
        if bad.any() and out["insee"].isna().to_numpy()[bad].any():
            i = int(np.flatnonzero(bad)[0])
            raise BadValueError(f"{option} {p.name} row {i + 2}: lon/lat {df['lon'].iloc[i]!r}, "
                                f"{df['lat'].iloc[i]!r} are not WGS84 degrees")  # fmt: skip
        tr = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
        x, y = tr.transform(lon, lat)
        x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    elif {"x", "y"} <= set(df.columns):
        x = pd.to_numeric(df["x"], errors="coerce").to_numpy(dtype="float64")
        y = pd.to_numeric(df["y"], errors="coerce").to_numpy(dtype="float64")
    out["x"], out["y"] = x, y
    has_pt = np.isfinite(x) & np.isfinite(y)
    missing = out["insee"].isna().to_numpy() & ~has_pt
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise BadValueError(f"{option} {p.name} row {i + 2}: neither an INSEE code nor a point")
    codes_s: pd.Series = out["insee"].dropna()
    bad_code = ~codes_s.str.match(_CODE.pattern)
    if bad_code.any():
        raise BadValueError(
            f"{option} {p.name}: {codes_s[bad_code].iloc[0]!r} is not an INSEE commune code "
            "(5 characters, e.g. 46102)"
        )
    ids = (
        df["id"].astype(str).str.strip()
        if "id" in df.columns
        else pd.Series([f"{p.stem}-{i + 1}" for i in range(n)])
    )
    out["site_id"] = np.where(has_pt, ids.to_numpy(), out["insee"].astype(object).to_numpy())
    if out["site_id"].duplicated().any():
        raise BadValueError(
            f"{option} {p.name}: site {out['site_id'][out['site_id'].duplicated()].iloc[0]!r} "
            "is listed twice"
        )
    out["name"] = (
        df["name"].astype("string").to_numpy()
        if "name" in df.columns
        else pd.Series(pd.NA, index=range(n), dtype="string").to_numpy()
    )
    doctors = (
        pd.to_numeric(df["doctors"], errors="coerce").to_numpy(dtype="float64")
        if "doctors" in df.columns
        else np.full(n, np.nan)
    )
    if "doctors" in df.columns:
        bad_d = ~np.isfinite(doctors) | (doctors < 0)
        if bad_d.any():
            i = int(np.flatnonzero(bad_d)[0])
            raise BadValueError(f"{option} {p.name} row {i + 2}: doctors "
                                f"{df['doctors'].iloc[i]!r} must be a number >= 0")  # fmt: skip
    out["doctors"] = doctors
    return out[["site_id", "insee", "x", "y", "name", "doctors"]]
