"""INSEE BPE (Base permanente des équipements) files and commune-code mapping to COG 2026.

Equipment codes (BPE nomenclature): D201 "médecin omnipraticien" until BPE 2020, D265
"médecin généraliste" from BPE 2021 on; D106 "urgences"; D108 "centre de santé"; D113
"maison de santé pluridisciplinaire" (``SOURCES.md`` sections 7 and 10; check INSEE's
nomenclature of the year you load, codes were renumbered in 2021 and revised in 2024).

BPE commune codes follow the geography of their year: they are mapped to COG 2026 with
``commune_codes_to_cog2026_france.csv.gz``; rows that still do not map are reported (warning
:class:`UnmatchedCodeWarning`, and the table ``result.attrs["unmatched"]``), never silently
dropped.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from accessmap.config import WORKING_CRS
from accessmap.data import validate as v
from accessmap.data.registry import dataset_path
from accessmap.errors import (
    ConfigError,
    DataNotFoundError,
    EmptyLayerError,
    MissingColumnError,
    UnknownCodeError,
    UnmatchedCodeWarning,
)
from accessmap.loaders.admin import load_commune_origins
from accessmap.loaders.cog import RELATION_RANK as _RELATION_RANK
from accessmap.loaders.cog import build_commune_code_map
from accessmap.loaders.common import COMMUNE_CODE_PATTERN, dep_of, norm_deps

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "BPE_EMERGENCY",
    "BPE_GP",
    "BPE_HEALTH_CENTRE",
    "BPE_MSP",
    "UnmatchedCodeWarning",
    "load_bpe",
    "load_bpe_geolocated",
    "load_commune_code_map",
    "map_commune_codes",
    "normalise_codes",
]

logger = logging.getLogger(__name__)

BPE_GP: tuple[str, ...] = ("D201", "D265")
#: BPE code of emergency services ("urgences").
BPE_EMERGENCY: tuple[str, ...] = ("D106",)
#: BPE code of health centres ("centre de santé").
BPE_HEALTH_CENTRE: tuple[str, ...] = ("D108",)
#: BPE code of multi-professional health houses (MSP).
BPE_MSP: tuple[str, ...] = ("D113",)


def load_commune_code_map(data_dir: str | Path | None = None) -> pd.Series:
    """Map any French commune code (current, former, delegated...) to its COG 2026 commune.

    Reads ``commune_codes_to_cog2026_france.csv.gz`` (built from INSEE COG 2026 via
    @etalab/decoupage-administratif 6.0.0; ``SOURCES.md`` section 11). When that file is
    absent but the package itself is present (registry dataset ``decoupage_administratif``),
    the map is built from it with the same rules (:mod:`accessmap.loaders.cog`).

    Returns
    -------
    Series
        Indexed by ``code`` (str), values ``code_cog2026`` (str); 39,254 codes. Two codes of
        the file have two targets (60455, 55273): the present-day relation wins (current,
        then delegated/associated commune, then arrondissement, then former code); the
        conflicting rows are in ``attrs["ambiguous"]``.
    """
    try:
        path = dataset_path("commune_code_map", data_dir)
    except DataNotFoundError as missing:
        # Without the bundle, build the same table from the official COG package.

        try:
            path = dataset_path("decoupage_administratif", data_dir)
        except DataNotFoundError:
            raise DataNotFoundError(
                f"{missing}; or run `accessmap data fetch decoupage_administratif` (official "
                "COG 2026 package) from which accessmap builds the same map"
            ) from None
        df = build_commune_code_map(path)
    else:
        df = v.read_csv(
            path,
            columns=["code", "code_cog2026"],
            optional=["relation"],
            dtype={"code": "str", "code_cog2026": "str", "relation": "str"},
        )
    for col in ("code", "code_cog2026"):
        v.require_code_format(
            df[col],
            pattern=COMMUNE_CODE_PATTERN,
            where=path.name,
            column=col,
            description="an INSEE commune code (5 characters)",
        )
    dup = df["code"].duplicated(keep=False)
    ambiguous = df[dup]
    if dup.any():
        if "relation" not in df.columns:
            v.require_unique(df, "code", where=path.name)
        # A few codes have two targets (e.g. 60455: former code of 60054 and delegated
        # commune of 60694). Keep the present-day status: current > delegated/associated >
        # municipal arrondissement > former (assumption, logged).
        rank = df["relation"].map(_RELATION_RANK).fillna(len(_RELATION_RANK))
        df = df.assign(_rank=rank).sort_values(["code", "_rank"], kind="stable")
        df = df.drop_duplicates("code", keep="first").drop(columns="_rank")
        logger.debug(
            "%s: %d codes with two targets resolved by relation, e.g. %r",
            path.name,
            ambiguous["code"].nunique(),
            ambiguous["code"].iloc[0],
        )
    out = pd.Series(
        df["code_cog2026"].to_numpy(),
        index=pd.Index(df["code"], name="code"),
        name="code_cog2026",
    )
    out.attrs["ambiguous"] = ambiguous.reset_index(drop=True)
    return out


def normalise_codes(codes: pd.Series) -> pd.Series:
    """Strip commune codes and restore a lost leading zero (``"1001"`` -> ``"01001"``)."""
    s = codes.astype("str").str.strip()
    return s.where(~s.str.fullmatch(r"\d{4}"), s.str.zfill(5))


def map_commune_codes(codes: pd.Series | Sequence[str], mapping: pd.Series) -> pd.Series:
    """Map commune codes to COG 2026 with a code map (:func:`load_commune_code_map`).

    Parameters
    ----------
    codes : Series or sequence of str
        Commune codes of any vintage (numbers that lost their leading zero are repaired).
    mapping : Series
        ``code -> code_cog2026``.

    Returns
    -------
    Series
        COG 2026 codes aligned on ``codes``; missing (``NaN``) where a code is unknown.

    Examples
    --------
    >>> m = pd.Series({"12076": "12218", "12218": "12218"})
    >>> map_commune_codes(pd.Series(["12076", "99999"]), m).tolist()
    ['12218', nan]
    """
    s = codes if isinstance(codes, pd.Series) else pd.Series(list(codes), dtype="str")
    return normalise_codes(s).map(mapping)


def _report_unmatched(unmatched: pd.DataFrame, *, where: str, strict: bool, fix: str) -> None:
    if unmatched.empty:
        return
    first = unmatched.iloc[0]
    msg = (
        f"{where}: {len(unmatched)} row(s) ({int(unmatched['count'].sum())} equipments) have a "
        f"commune code that does not map to COG 2026, e.g. {first['code']!r}; {fix}"
    )
    if strict:
        raise UnknownCodeError(msg)
    logger.debug(msg)  # reported once, as a Python warning (filterable, testable)
    warnings.warn(msg, UnmatchedCodeWarning, stacklevel=3)


def _select_types(df: pd.DataFrame, types: Sequence[str], *, where: str) -> pd.DataFrame:
    """Rows of the wanted TYPEQU codes; EmptyLayerError quoting the codes present if none."""
    codes = df["TYPEQU"].astype("str").str.strip().str.upper()
    out = df[codes.isin(list(types))]
    if out.empty:
        present = ", ".join(sorted(codes.unique())[:12])
        raise EmptyLayerError(
            f"{where}: no row of equipment type(s) {', '.join(types)} (column 'TYPEQU' holds "
            f"e.g. {present}); check the BPE nomenclature of this vintage and pass types="
        )
    return out


def load_bpe(
    path: str | Path | None = None,
    *,
    types: Sequence[str] = BPE_GP,
    deps: Sequence[str] | None = None,
    data_dir: str | Path | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """Count INSEE BPE equipments per COG 2026 commune and type.

    Reads the official BPE row format ``REG;DEP;DEPCOM;DCIRIS;AN;TYPEQU;NB_EQUIP`` (one row per
    IRIS x type, as in ``bpe19_ensemble_csv.zip`` and the bundle's
    ``bpe2019_health_equipment_france.csv.gz``) or the one-row-per-equipment files of
    BPE 2021+ (no ``NB_EQUIP``: each row counts 1). Plain, gzip or zip; ``;`` or ``,``.

    Parameters
    ----------
    path : str or Path, optional
        The BPE file; default the bundle's BPE 2019 health rows (all of France).
    types : sequence of str, default ("D201", "D265")
        TYPEQU codes to keep (both GP codes by default, so any vintage works).
    deps : sequence of str, optional
        Départements (of the COG 2026 commune) to keep; default Occitanie.
    strict : bool, default False
        Raise UnknownCodeError instead of warning when codes do not map to COG 2026.

    Returns
    -------
    DataFrame
        ``insee`` (COG 2026), ``typequ``, ``count`` (int), summed over IRIS and merged
        communes. ``attrs["unmatched"]``: rows of the selected types whose code did not map
        (``code, typequ, count``); ``attrs["n_rows"]``: rows read of the selected types;
        ``attrs["source"]``: the file name.

    Examples
    --------
    >>> gp = load_bpe(types=["D201"], deps=["46"])  # doctest: +SKIP
    >>> int(gp["count"].sum())  # doctest: +SKIP
    165
    """
    p = dataset_path("bpe2019_health_france", data_dir) if path is None else v.require_file(path)
    codes_map = load_commune_code_map(data_dir)
    df = v.read_csv(
        p,
        columns=["DEPCOM", "TYPEQU"],
        optional=["NB_EQUIP"],
        sep=None,
        encoding=None,
        dtype={"DEPCOM": "str", "TYPEQU": "str"},
    )
    types = [str(t).strip().upper() for t in types]
    if not types:
        raise ConfigError("load_bpe: types is empty; give BPE codes, e.g. ['D201', 'D265']")
    df = _select_types(df, types, where=p.name)
    n_rows = len(df)
    if "NB_EQUIP" in df.columns:
        count = v.to_numeric(df, "NB_EQUIP", where=p.name)
    else:
        count = pd.Series(1.0, index=df.index)
    table = pd.DataFrame(
        {
            "code": normalise_codes(df["DEPCOM"]),
            "typequ": df["TYPEQU"].str.strip().str.upper(),
            "count": count.to_numpy(),
        }
    )
    table["insee"] = table["code"].map(codes_map)
    wanted = set(norm_deps(deps))
    unmatched = table[table["insee"].isna()]
    unmatched = unmatched[dep_of(unmatched["code"]).isin(wanted)]
    unmatched = unmatched.groupby(["code", "typequ"], as_index=False).agg(count=("count", "sum"))
    unmatched["count"] = unmatched["count"].round().astype("int64")
    _report_unmatched(
        unmatched,
        where=p.name,
        strict=strict,
        fix="these equipments are excluded; update commune_codes_to_cog2026_france.csv.gz",
    )
    matched = table.dropna(subset=["insee"])
    matched = matched[dep_of(matched["insee"]).isin(wanted)]
    out = matched.groupby(["insee", "typequ"], as_index=False, sort=True).agg(
        count=("count", "sum")
    )
    out["count"] = out["count"].round().astype("int64")
    out = out[out["count"] > 0].reset_index(drop=True)
    out.attrs["unmatched"] = unmatched
    out.attrs["n_rows"] = n_rows
    out.attrs["source"] = p.name
    return out


def load_bpe_geolocated(
    path: str | Path,
    *,
    types: Sequence[str] = BPE_GP,
    deps: Sequence[str] | None = None,
    data_dir: str | Path | None = None,
    kind: str = "gp",
) -> gpd.GeoDataFrame:
    """GP (or other) equipments of a geolocated BPE file as points in EPSG:2154.

    For INSEE files with one row per equipment and coordinates (BPE 2021+, e.g. ``BPE24.zip``):
    ``LAMBERT_X``/``LAMBERT_Y`` (EPSG:2154, metropolitan France) or ``LONGITUDE``/``LATITUDE``
    (WGS84). Codes are mapped to COG 2026 (unmatched rows reported as in :func:`load_bpe`);
    rows without coordinates are placed at their commune routing origin (logged, counted in
    ``attrs["fallback_to_origin"]``). Coordinates outside the declared CRS's extent raise
    CRSMismatchError.

    Returns
    -------
    GeoDataFrame
        ``supply_id`` (``bpe-geo-<row>``), ``insee``, ``kind`` (``kind``), ``count`` (1, or
        ``NB_EQUIP`` when present), ``geometry``.
    """
    import geopandas as gpd
    import numpy as np

    p = v.require_file(path)
    header = set(_header(p))
    if {"LAMBERT_X", "LAMBERT_Y"} <= header:
        xcol, ycol, crs = "LAMBERT_X", "LAMBERT_Y", "EPSG:2154"
    elif {"LONGITUDE", "LATITUDE"} <= header:
        xcol, ycol, crs = "LONGITUDE", "LATITUDE", "EPSG:4326"
    else:
        raise MissingColumnError(
            f"{p.name}: missing coordinate columns 'LAMBERT_X'/'LAMBERT_Y' or "
            "'LONGITUDE'/'LATITUDE'; use the geolocated BPE file or source='bpe'"
        )
    df = v.read_csv(
        p,
        columns=["DEPCOM", "TYPEQU", xcol, ycol],
        optional=["NB_EQUIP"],
        sep=None,
        encoding=None,
        dtype={"DEPCOM": "str", "TYPEQU": "str"},
    )
    types = [t.upper() for t in types]
    df = _select_types(df, types, where=p.name).copy()
    df["code"] = normalise_codes(df["DEPCOM"])
    df["insee"] = df["code"].map(load_commune_code_map(data_dir))
    df["count"] = v.to_numeric(df, "NB_EQUIP", where=p.name) if "NB_EQUIP" in df.columns else 1.0
    wanted = set(norm_deps(deps))
    bad = df[df["insee"].isna() & dep_of(df["code"]).isin(wanted)]
    bad = bad.rename(columns={"TYPEQU": "typequ"})
    unmatched = bad.groupby(["code", "typequ"], as_index=False).agg(count=("count", "sum"))
    _report_unmatched(
        unmatched,
        where=p.name,
        strict=False,
        fix="these equipments are excluded; update the commune code map",
    )
    df = df.dropna(subset=["insee"])
    df = df[dep_of(df["insee"]).isin(wanted)].reset_index(drop=True)
    xs = pd.to_numeric(df[xcol], errors="coerce")
    ys = pd.to_numeric(df[ycol], errors="coerce")
    has_xy = (xs.notna() & ys.notna()).to_numpy()
    v.check_coordinates(xs[has_xy], ys[has_xy], crs=crs, where=p.name, columns=(xcol, ycol))
    pts = gpd.GeoSeries(gpd.points_from_xy(xs.fillna(0), ys.fillna(0)), crs=crs)
    geom = pts.to_crs(WORKING_CRS)
    if not has_xy.all():
        origins = load_commune_origins(data_dir, deps=deps).set_index("insee").geometry
        fallback = origins.reindex(df.loc[~has_xy, "insee"]).to_numpy()
        geom = geom.copy()
        geom.iloc[np.flatnonzero(~has_xy)] = fallback
        logger.warning(
            "%s: %d rows without coordinates placed at the commune origin",
            p.name,
            int((~has_xy).sum()),
        )
    out = gpd.GeoDataFrame(
        {
            "supply_id": [f"bpe-geo-{i}" for i in range(len(df))],
            "insee": df["insee"].to_numpy(),
            "kind": kind,
            "count": df["count"].round().astype("int64").to_numpy(),
        },
        geometry=geom.to_numpy(),
        crs=WORKING_CRS,
    )
    out = out[~out.geometry.isna()].reset_index(drop=True)
    out.attrs["unmatched"] = unmatched
    out.attrs["fallback_to_origin"] = int((~has_xy).sum())
    return out


def _header(p: Path) -> list[str]:
    """Column names of a BPE file (plain, gz or the largest CSV of a zip)."""
    return v.read_header(p, encoding="latin-1")
