"""One place where every input is read and checked.

Loaders read files through :func:`read_csv`, :func:`read_layer` and :func:`read_raster_meta`
and check the result with the ``require_*`` / ``check_*`` functions below. Each failure raises
the matching :class:`accessmap.errors.AccessmapError` subclass with a message that names the
file, layer or column, quotes one offending value and says how to fix it (the pattern of
geopandas' CRS messages and r5py's validated id columns).
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accessmap.config import WORKING_CRS
from accessmap.errors import (
    AccessmapError,
    BadValueError,
    CRSMismatchError,
    DataNotFoundError,
    DuplicateIdError,
    EmptyLayerError,
    InvalidGeometryError,
    MissingColumnError,
    MissingCRSError,
    UnknownCodeError,
    UnreadableFileError,
)

__all__ = [
    "check_coordinates",
    "check_geometries",
    "read_csv",
    "read_header",
    "read_layer",
    "require_code_format",
    "require_columns",
    "require_crs",
    "require_file",
    "require_known_codes",
    "require_not_empty",
    "require_same_crs",
    "require_unique",
    "to_numeric",
    "to_working_crs",
]

#: Errors that mean "the bytes of this file cannot be decoded" (truncated gzip, bad zip,
#: wrong encoding, malformed CSV).
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    zlib.error,
    UnicodeDecodeError,
    pd.errors.ParserError,
    OSError,
)
_READ_ERRORS: tuple[type[BaseException], ...] = (*_DECODE_ERRORS, zipfile.BadZipFile)


def _q(value: Any) -> str:
    """repr() of a value as a plain Python scalar (no ``np.float64(...)`` wrappers)."""
    return repr(value.item() if hasattr(value, "item") else value)


def _name(path: str | Path, layer: str | None = None) -> str:
    p = Path(path)
    return f"{p.name} (layer {layer!r})" if layer else p.name


def require_file(path: str | Path, *, fix: str | None = None) -> Path:
    """Return ``path`` as a Path if it is an existing file, else raise DataNotFoundError.

    Parameters
    ----------
    path : str or Path
        The file.
    fix : str, optional
        How to get the file (default: the ``accessmap data fetch`` / ``--data-dir`` advice).
    """
    p = Path(path)
    if not p.is_file():
        hint = fix or (
            "check the path, run `accessmap data fetch NAME`, or set --data-dir / "
            "$ACCESSMAP_DATA_DIR to the data bundle"
        )
        raise DataNotFoundError(f"file {p.name} not found in {p.parent}; {hint}")
    return p


def read_csv(
    path: str | Path,
    *,
    columns: Sequence[str],
    optional: Sequence[str] = (),
    dtype: Mapping[str, Any] | None = None,
    sep: str | None = ",",
    encoding: str | None = "utf-8",
    allow_empty: bool = False,
    **kwargs: Any,
) -> pd.DataFrame:
    """Read the needed columns of a CSV (plain, gz, bz2, zip, xz) with typed errors.

    Parameters
    ----------
    path : str or Path
        CSV file; compression is inferred from the suffix.
    columns : sequence of str
        Required columns (MissingColumnError if absent).
    optional : sequence of str
        Columns read when present.
    dtype : mapping, optional
        pandas dtypes per column (read codes as ``str``: leading zeros).
    sep : str or None, default ","
        Separator; None sniffs ``;`` / ``,`` / tab from the header line.
    encoding : str or None, default "utf-8"
        None tries UTF-8 then Latin-1 (INSEE files of some years are Latin-1).
    allow_empty : bool, default False
        Accept a header-only file.
    **kwargs
        Passed to :func:`pandas.read_csv` (``usecols`` overrides the column selection, e.g.
        ``usecols=None`` for ragged files read with ``names=``).

    Raises
    ------
    DataNotFoundError, UnreadableFileError, MissingColumnError, EmptyLayerError
    """
    p = require_file(path)
    wanted = set(columns) | set(optional)
    encodings = [encoding] if encoding is not None else ["utf-8", "latin-1"]
    for i, enc in enumerate(encodings):
        try:
            df = _read_csv_once(p, wanted, dtype, sep, enc, kwargs)
            break
        except UnicodeDecodeError as exc:
            if i == len(encodings) - 1:
                raise UnreadableFileError(
                    f"{p.name}: not valid {enc} text ({exc.reason} at byte {exc.start}); "
                    "re-save the file as UTF-8"
                ) from exc
    else:  # pragma: no cover - loop always breaks or raises
        raise AssertionError
    _require_whole_last_line(p, sep)
    if any(c not in df.columns for c in columns):
        header: list[str] | None = None
        if p.suffix.lower() != ".zip":
            try:
                header = read_header(p, encoding=encoding or "latin-1")
            except AccessmapError:
                header = None
        require_columns(df, columns, where=p.name, present=header)
    if not allow_empty:
        require_not_empty(df, where=p.name)
    return df


def _require_whole_last_line(p: Path, sep: str | None) -> None:
    """Raise UnreadableFileError when a plain CSV ends inside a row (a cut download).

    A file cut mid-line parses, its last row padded with missing values, and the error
    surfaced later as "1 missing value, fill it with 0" (issue 15). A last line without a
    newline and with fewer fields than the header means the file was cut.
    """
    if p.suffix.lower() not in (".csv", ".txt", ".tsv") or p.stat().st_size == 0:
        return
    with open(p, "rb") as fh:
        header = fh.readline()
        fh.seek(max(0, p.stat().st_size - 65536))
        tail = fh.read()
    if tail.endswith((b"\n", b"\r")):
        return
    last = tail.rsplit(b"\n", 1)[-1]
    seps = [sep.encode()] if sep else [b";", b",", b"\t"]
    sp = max(seps, key=header.count)
    if last.count(sp) < header.count(sp):
        shown = last[-40:].decode("utf-8", errors="replace")
        raise UnreadableFileError(
            f"{p.name}: looks truncated: the last line ends inside a row ({last.count(sp) + 1} "
            f"of {header.count(sp) + 1} fields, ending {shown!r}); the file was cut during a "
            "download or copy: fetch it again (`accessmap data fetch NAME`, with --base-url for "
            "a bundle file)"
        )


def _read_csv_once(
    p: Path,
    wanted: set[str],
    dtype: Mapping[str, Any] | None,
    sep: str | None,
    encoding: str,
    kwargs: dict[str, Any],
) -> pd.DataFrame:
    try:
        if p.suffix.lower() == ".zip":
            return _read_zip_member(p, wanted, dtype, sep, encoding, kwargs)
        if sep is None:
            sep = _sniff_sep(p, encoding)
        return pd.read_csv(
            p,
            sep=sep,
            usecols=kwargs.get("usecols", lambda c: c in wanted),
            dtype=dict(dtype) if dtype else None,
            encoding=encoding,
            **{k: val for k, val in kwargs.items() if k != "usecols"},
        )
    except pd.errors.EmptyDataError as exc:
        raise EmptyLayerError(
            f"{p.name}: file is empty (no header, no rows); re-download or regenerate it"
        ) from exc
    except UnicodeDecodeError:
        raise  # the caller may retry with another encoding
    except _READ_ERRORS as exc:
        raise UnreadableFileError(
            f"{p.name}: cannot be read ({type(exc).__name__}: {exc}); the file is truncated "
            "or corrupt: delete it and fetch it again (`accessmap data fetch NAME`)"
        ) from exc
    except ValueError as exc:  # dtype conversion failures
        raise UnreadableFileError(
            f"{p.name}: cannot be parsed ({exc}); check the column types"
        ) from exc


def _read_zip_member(
    p: Path,
    wanted: set[str],
    dtype: Mapping[str, Any] | None,
    sep: str | None,
    encoding: str,
    kwargs: dict[str, Any],
) -> pd.DataFrame:
    """Read the largest ``.csv`` member of a zip (INSEE zips also hold metadata files)."""
    import io

    with zipfile.ZipFile(p) as zf:
        members = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
        if not members:
            raise UnreadableFileError(
                f"{p.name}: the zip holds no .csv file (members: "
                f"{', '.join(zf.namelist()[:5])}); extract the table and pass it directly"
            )
        member = max(members, key=lambda i: i.file_size)
        with zf.open(member) as raw:
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            if sep is None:
                header = text.readline()
                counts = {s: header.count(s) for s in (";", ",", "\t")}
                sep = max(counts, key=lambda s: counts[s])
                text = io.TextIOWrapper(zf.open(member), encoding=encoding, newline="")
            return pd.read_csv(
                text,
                sep=sep,
                usecols=kwargs.get("usecols", lambda c: c in wanted),
                dtype=dict(dtype) if dtype else None,
                **{k: val for k, val in kwargs.items() if k != "usecols"},
            )


def read_header(path: str | Path, *, encoding: str = "utf-8") -> list[str]:
    """Column names of a CSV (plain, compressed, or the largest CSV of a zip), separator sniffed."""
    p = require_file(path)
    try:
        if p.suffix.lower() == ".zip":
            import io

            with zipfile.ZipFile(p) as zf:
                members = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
                if not members:
                    raise UnreadableFileError(
                        f"{p.name}: the zip holds no .csv file (members: "
                        f"{', '.join(zf.namelist()[:5])}); extract the table and pass it"
                    )
                with zf.open(max(members, key=lambda i: i.file_size)) as raw:
                    line = io.TextIOWrapper(raw, encoding=encoding).readline()
            counts = {s: line.count(s) for s in (";", ",", "\t")}
            sep = max(counts, key=lambda s: counts[s])
            return [c.strip().strip('"') for c in line.rstrip("\r\n").split(sep)]
        sep = _sniff_sep(p, encoding)
        return [str(c) for c in pd.read_csv(p, sep=sep, nrows=0, encoding=encoding).columns]
    except pd.errors.EmptyDataError as exc:
        raise EmptyLayerError(f"{p.name}: file is empty (no header); fix the file") from exc
    except _READ_ERRORS as exc:
        raise UnreadableFileError(
            f"{p.name}: cannot be read ({type(exc).__name__}: {exc}); re-create the file"
        ) from exc


def _sniff_sep(p: Path, encoding: str) -> str:
    from pandas.io.common import get_handle

    with get_handle(p, "r", compression="infer", encoding=encoding) as h:
        header = h.handle.readline()
    counts = {s: header.count(s) for s in (";", ",", "\t")}
    return max(counts, key=lambda s: counts[s]) if max(counts.values()) > 0 else ","


def read_layer(
    path: str | Path,
    *,
    layer: str | None = None,
    columns: Sequence[str] = (),
    optional: Sequence[str] = (),
    allow_empty: bool = False,
) -> Any:
    """Read columns of one vector layer (GeoPackage, shapefile, GeoJSON...) with pyogrio.

    Returns a GeoDataFrame in the file's CRS (check it with :func:`require_crs`).

    Raises
    ------
    DataNotFoundError
        Missing file or missing layer (the message lists the layers present).
    UnreadableFileError
        Not a readable vector file (e.g. a ``.gpkg`` that is not SQLite, truncated).
    MissingColumnError, EmptyLayerError
    """
    import geopandas as gpd
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    p = require_file(path)
    where = _name(p, layer)
    try:
        gdf = gpd.read_file(
            p,
            layer=layer,
            columns=[*columns, *optional] if (columns or optional) else None,
            engine="pyogrio",
            use_arrow=True,
        )
    except DataLayerError as exc:
        try:
            present = [str(n) for n, _ in pyogrio.list_layers(p)]
        except Exception:  # pragma: no cover - the layer error is the message that matters
            present = []
        raise DataNotFoundError(
            f"{p.name}: layer {layer!r} not found (layers present: "
            f"{', '.join(present) or 'none'}); use the right file or regenerate it"
        ) from exc
    except (DataSourceError, *_DECODE_ERRORS, RuntimeError) as exc:
        raise UnreadableFileError(
            f"{where}: cannot be read as a vector layer ({str(exc).split(';')[0]}); the file "
            "is corrupt, truncated or not a GeoPackage: fetch it again"
        ) from exc
    require_columns(gdf, columns, where=where)
    _require_utf8_text(gdf, where=where)
    if not allow_empty:
        require_not_empty(gdf, where=where)
    return gdf


def _require_utf8_text(gdf: Any, *, where: str) -> None:
    """Decode every text column now: bytes that are not UTF-8 raise UnreadableFileError.

    GDAL hands GeoPackage text over unchecked and Arrow fails later, far from the cause, with
    a misleading message; the columns are converted to Python strings here.
    """
    for col in gdf.columns:
        if col == gdf.geometry.name or not (
            pd.api.types.is_string_dtype(gdf[col]) or gdf[col].dtype == object
        ):
            continue
        try:
            values = gdf[col].tolist()
        except Exception:  # UnicodeDecodeError, or pyarrow's ArrowException wrapping it
            values = None
        if values is not None:
            if not isinstance(gdf[col].dtype, np.dtype):  # Arrow-backed: keep plain objects
                gdf[col] = pd.Series(values, index=gdf.index, dtype=object)
            continue
        arr = gdf[col].array
        bad = 0
        for i in range(len(arr)):
            try:
                arr[i]
            except Exception:  # the first undecodable row
                bad = i
                break
        raise UnreadableFileError(
            f"{where}: column {col!r} holds text that is not valid UTF-8 (first at row "
            f"{bad + 1}); re-encode the layer as UTF-8 (e.g. `ogr2ogr -lco ENCODING=UTF-8`) or "
            "fetch it again"
        )


def require_columns(
    df: pd.DataFrame,
    columns: Iterable[str],
    *,
    where: str,
    present: Sequence[str] | None = None,
) -> None:
    """Raise MissingColumnError naming the first missing column and the columns present.

    ``present`` overrides the listed columns (the full header when only some were read).
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        cols = [str(c) for c in (present if present is not None else df.columns)]
        present_txt = ", ".join(cols[:12]) + (", ..." if len(cols) > 12 else "")
        raise MissingColumnError(
            f"{where}: missing column {missing[0]!r}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + f"; columns present: {present_txt}. Rename the column or use the documented layout"
        )


def require_not_empty(df: pd.DataFrame, *, where: str) -> None:
    """Raise EmptyLayerError if ``df`` has no rows."""
    if len(df) == 0:
        raise EmptyLayerError(
            f"{where}: no rows (empty layer/table); check the filter (départements) or "
            "use a complete file"
        )


def require_crs(gdf: Any, *, where: str) -> None:
    """Raise MissingCRSError when a GeoDataFrame has no CRS (accessmap never guesses one)."""
    if gdf.crs is None:
        raise MissingCRSError(
            f"{where}: layer has no CRS; accessmap never guesses one. Set it in the file "
            "(e.g. `ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg`, or gdf.set_crs(...) in Python)"
        )


def require_same_crs(a: Any, b: Any, *, where_a: str, where_b: str) -> None:
    """Raise CRSMismatchError when two layers do not share a CRS."""
    require_crs(a, where=where_a)
    require_crs(b, where=where_b)
    if not a.crs.equals(b.crs):
        raise CRSMismatchError(
            f"CRS mismatch: {where_a} is in {a.crs.to_string()!r} but {where_b} is in "
            f"{b.crs.to_string()!r}; reproject one with .to_crs() (accessmap works in EPSG:2154)"
        )


def to_working_crs(gdf: Any, *, where: str, expected: str | None = None) -> Any:
    """Reproject a layer to EPSG:2154 after checking it has a CRS.

    Parameters
    ----------
    expected : str, optional
        When given, the layer must be in this CRS (CRSMismatchError otherwise): used for files
        whose CRS is documented (e.g. the bundle's EPSG:4326 layers).
    """

    require_crs(gdf, where=where)
    if expected is not None:
        from pyproj import CRS

        if not gdf.crs.equals(CRS.from_user_input(expected)):
            raise CRSMismatchError(
                f"{where}: CRS is {gdf.crs.to_string()!r}, expected {expected}; reproject the "
                f"file to {expected} or pass the file's true CRS"
            )
    return gdf.to_crs(WORKING_CRS)


def check_geometries(
    gdf: Any,
    *,
    where: str,
    id_col: str,
    repair: bool = False,
    geom_types: Collection[str] | None = None,
) -> Any:
    """Check that geometries are present, non-empty, valid and of the expected type.

    Parameters
    ----------
    id_col : str
        Column quoted in messages to name the offending feature.
    repair : bool, default False
        Repair invalid polygons with :func:`shapely.make_valid` instead of raising (missing or
        empty geometries still raise). Repairs are explicit: accessmap never repairs silently.
    geom_types : collection of str, optional
        Allowed geometry types (e.g. ``{"Polygon", "MultiPolygon"}``).

    Returns
    -------
    GeoDataFrame
        ``gdf``, or a copy with repaired geometries.

    Raises
    ------
    InvalidGeometryError
        Naming the feature id and the reason (shapely ``is_valid_reason``).
    """
    import shapely

    geoms = gdf.geometry.values
    missing = gdf.geometry.isna().to_numpy() | shapely.is_empty(geoms)
    if missing.any():
        fid = gdf[id_col].to_numpy()[missing.argmax()]
        raise InvalidGeometryError(
            f"{where}: feature {id_col}={_q(fid)} has no geometry (null or empty; "
            f"{int(missing.sum())} such features); fix or remove it in the source file"
        )
    if geom_types is not None:
        types = np.asarray(shapely.get_type_id(geoms))
        names = np.asarray(gdf.geom_type)
        bad = ~np.isin(names, list(geom_types))
        if bad.any():
            i = int(bad.argmax())
            raise InvalidGeometryError(
                f"{where}: feature {id_col}={_q(gdf[id_col].iloc[i])} is a {names[i]} (type id "
                f"{types[i]}), expected {' or '.join(sorted(geom_types))}; use the right layer"
            )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        if repair:
            out = gdf.copy()
            out.loc[invalid, out.geometry.name] = shapely.make_valid(geoms[invalid])
            return out
        i = int(invalid.argmax())
        reason = shapely.is_valid_reason(geoms[i])
        raise InvalidGeometryError(
            f"{where}: feature {id_col}={_q(gdf[id_col].iloc[i])} has an invalid geometry "
            f"({reason}; {int(invalid.sum())} invalid in total); fix it in the source "
            "(e.g. QGIS 'Fix geometries') or pass repair=True to apply shapely.make_valid"
        )
    return gdf


def require_unique(df: pd.DataFrame, column: str, *, where: str) -> None:
    """Raise DuplicateIdError quoting one duplicated value of ``column``."""
    dup = df[column].duplicated(keep=False)
    if dup.any():
        value = df.loc[dup, column].iloc[0]
        raise DuplicateIdError(
            f"{where}: column {column!r} must be unique but {_q(value)} appears "
            f"{int((df[column] == value).sum())} times ({int(dup.sum())} rows involved); "
            "remove or merge the duplicate rows"
        )


def require_known_codes(
    codes: pd.Series,
    known: Collection[str],
    *,
    where: str,
    column: str,
    fix: str = "map old codes with load_commune_code_map() / map_commune_codes()",
) -> None:
    """Raise UnknownCodeError when codes are absent from the reference set ``known``."""
    known_set = known if isinstance(known, (set, frozenset)) else set(known)
    bad = ~codes.isin(known_set)
    if bad.any():
        value = codes[bad].iloc[0]
        raise UnknownCodeError(
            f"{where}: {int(bad.sum())} value(s) of column {column!r} do not join to the "
            f"reference, e.g. {_q(value)}; {fix}"
        )


def require_code_format(
    codes: pd.Series,
    *,
    pattern: str,
    where: str,
    column: str,
    description: str,
) -> None:
    """Raise BadValueError when a code does not match ``pattern`` (full match).

    Example: SIREN of an EPCI = ``r"\\d{9}"``; commune code = ``r"(\\d{5}|2[AB]\\d{3})"``.
    """
    s = codes.astype("string")
    bad = s.isna() | ~s.str.fullmatch(pattern).fillna(False).astype(bool)
    if bad.any():
        value = codes[bad].iloc[0]
        raise BadValueError(
            f"{where}: column {column!r} holds {_q(value)}, not {description} "
            f"({int(bad.sum())} bad rows); read the column as text so leading zeros are kept"
        )


def to_numeric(
    df: pd.DataFrame,
    column: str,
    *,
    where: str,
    allow_negative: bool = False,
    allow_missing: bool = False,
) -> pd.Series:
    """Return ``df[column]`` as float64, raising BadValueError on text, NaN or negatives."""
    raw = df[column]
    num = pd.to_numeric(raw, errors="coerce").astype("float64")
    bad = num.isna() & raw.notna()
    if bad.any():
        raise BadValueError(
            f"{where}: column {column!r} must be numeric but holds {_q(raw[bad].iloc[0])} "
            f"({int(bad.sum())} rows); fix the value (use '.' as decimal separator, no spaces)"
        )
    if not allow_missing and num.isna().any():
        idx = num.index[num.isna()][0]
        raise BadValueError(
            f"{where}: column {column!r} has {int(num.isna().sum())} missing values "
            f"(first at row {_q(idx)}); fill them (0 if there is truly none)"
        )
    if not allow_negative and (num < 0).any():
        raise BadValueError(
            f"{where}: column {column!r} holds the negative value {_q(num[num < 0].iloc[0])}; "
            "counts and populations must be >= 0"
        )
    return num


#: Plausible coordinate envelopes (xmin, ymin, xmax, ymax) used to catch coordinates
#: written in a different CRS than declared. Lambert-93 (EPSG:2154) covers metropolitan
#: France with x about 100,000-1,250,000 and y 6,000,000-7,150,000 m (IGN); we allow a margin.
_ENVELOPES: dict[str, tuple[float, float, float, float]] = {
    "EPSG:4326": (-180.0, -90.0, 180.0, 90.0),
    "EPSG:2154": (-400_000.0, 5_900_000.0, 1_600_000.0, 7_300_000.0),
}


def check_coordinates(
    x: pd.Series, y: pd.Series, *, crs: str, where: str, columns: tuple[str, str]
) -> None:
    """Raise CRSMismatchError when coordinates fall outside the declared CRS's envelope.

    Catches e.g. Lambert-93 metres written in ``lon``/``lat`` columns, or swapped axes.
    Missing coordinates raise BadValueError.
    """
    xmin, ymin, xmax, ymax = _ENVELOPES[crs]
    xs = pd.to_numeric(x, errors="coerce")
    ys = pd.to_numeric(y, errors="coerce")
    nan = xs.isna() | ys.isna()
    if nan.any():
        i = nan.to_numpy().argmax()
        raise BadValueError(
            f"{where}: columns {columns[0]!r}/{columns[1]!r} have {int(nan.sum())} missing or "
            f"non-numeric coordinates (e.g. {_q(x.iloc[i])}, {_q(y.iloc[i])}); fill or drop them"
        )
    out = ~(xs.between(xmin, xmax) & ys.between(ymin, ymax))
    if out.any():
        i = out.to_numpy().argmax()
        raise CRSMismatchError(
            f"{where}: coordinates ({_q(xs.iloc[i])}, {_q(ys.iloc[i])}) in columns "
            f"{columns[0]!r}/{columns[1]!r} are outside the extent of {crs} "
            f"({int(out.sum())} rows); the file uses another CRS or swaps x and y: convert it"
        )


#: Longest user-supplied text echoed in a message (a 100,000-character name is cut).
MAX_ECHO = 80


def short(value: object, limit: int = MAX_ECHO) -> str:
    """``repr`` of a user-supplied value, cut to ``limit`` characters with its length."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(str(value)):,} characters)"


def check_within(
    gdf: Any,
    bounds: tuple[float, float, float, float],
    *,
    margin_m: float,
    where: str,
    id_col: str,
    area: str,
) -> None:
    """Raise BadValueError when points (EPSG:2154) fall outside the study area plus a margin.

    Catches coordinates that are valid numbers in the declared CRS but wrong: swapped
    longitude and latitude (a GP of Ariège placed in the Gulf of Guinea), a commune origin
    typed in New York, a layer in another CRS than the one declared.

    Parameters
    ----------
    gdf : GeoDataFrame
        Points (or any geometry: its representative point is used) in metres.
    bounds : tuple of float
        ``(xmin, ymin, xmax, ymax)`` of the study area in the same CRS.
    margin_m : float
        Tolerance beyond the bounds, metres (an assumption of each caller, stated there).
    area : str
        Name of the study area, for the message.
    """
    import shapely

    pts = shapely.get_coordinates(gdf.geometry.representative_point())
    xmin, ymin, xmax, ymax = bounds
    dx = np.maximum(np.maximum(xmin - margin_m - pts[:, 0], pts[:, 0] - xmax - margin_m), 0)
    dy = np.maximum(np.maximum(ymin - margin_m - pts[:, 1], pts[:, 1] - ymax - margin_m), 0)
    far = np.hypot(dx, dy)
    bad = far > 0
    if bad.any():
        i = int(far.argmax())
        raise BadValueError(
            f"{where}: feature {id_col}={_q(gdf[id_col].iloc[i])} lies {far[i] / 1000:,.0f} km "
            f"outside the study area ({area}, + {margin_m / 1000:g} km margin) "
            f"({int(bad.sum())} such rows); its coordinates are wrong (longitude and latitude "
            "swapped, or another CRS than the file declares): fix them in the source"
        )


def check_range(
    values: pd.Series,
    low: float,
    high: float,
    *,
    where: str,
    column: str,
    ids: pd.Series,
    id_col: str,
    why: str,
) -> None:
    """Raise BadValueError when a value is outside the plausible range ``[low, high]``.

    ``why`` names the source of the range (e.g. "IGN: the smallest metropolitan commune
    covers 0.04 km2"); the message quotes the first offending row.
    """
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    bad = ~((arr >= low) & (arr <= high))
    if bad.any():
        i = int(bad.argmax())
        raise BadValueError(
            f"{where}: {column} of {id_col}={_q(ids.iloc[i])} is {arr[i]:.4g}, outside the "
            f"plausible range {low:g}-{high:g} ({why}; {int(bad.sum())} such rows); the "
            "file is corrupt or its units/CRS are not the declared ones: fix the source"
        )


def drop_record(where: str, reason: str, codes: Sequence[object], count: float) -> dict[str, Any]:
    """A counted drop for ``summary["dropped"]``: file, reason, rows, equipments, codes."""
    shown = sorted({str(c) for c in codes})
    return {
        "file": where,
        "reason": reason,
        "rows": len(codes),
        "count": float(count),
        "codes": shown[:50],
    }
