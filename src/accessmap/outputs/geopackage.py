"""Write results: a QGIS-ready GeoPackage and plain CSV tables.

Safety rules (``house-style.md``, "Outputs"):

* never overwrite an existing file unless ``overwrite=True`` (CLI ``--overwrite``);
* write into a temporary file in the same directory, check it, then :func:`os.replace` it onto
  the target, so a failure leaves no half-written file and never destroys the previous
  result (``os.replace`` is atomic on POSIX when source and target share a file system).

Run metadata (parameters, engine, data sources with licences and attribution, version, date)
is recorded **in** the GeoPackage twice, on purpose:

* the GeoPackage metadata extension (``gpkg_metadata`` + ``gpkg_metadata_reference``, OGC
  12-128r18 annex F.8): one ``dataset``-scope JSON record referenced at ``geopackage``
  scope (GDAL lists it as ``GPKG_METADATA_ITEM_1`` in ``ogrinfo``);
* a ``run_metadata`` attribute table (``key``, ``value``; nested values as JSON), which any
  SQLite client, pandas or QGIS' attribute table can read without knowing the extension.

The file is written as GeoPackage 1.2 (GDAL dataset option ``VERSION=1.2``): QGIS 3.22 LTR
as packaged by Debian 12 (GDAL 3.6) warns that a 1.4 file "may only be partially supported";
1.2 has everything used here (attribute tables, metadata extension).

QGIS styles go into the ``layer_styles`` table exactly as QGIS itself creates it
(``QgsOgrProviderMetadata::saveStyle``: OGR layer with FID ``id`` and the columns
``f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML,
styleSLD, useAsDefault, description, owner, ui, update_time``), one default style per layer,
so QGIS applies it when the layer is added.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from accessmap import __version__
from accessmap.errors import (
    AccessmapError,
    ConfigError,
    DataNotFoundError,
    ExportError,
    MissingCRSError,
    UnreadableFileError,
)
from accessmap.outputs.atomic import atomic_file, atomic_outputs
from accessmap.outputs.atomic import check_target as _check_target
from accessmap.outputs.i18n import DEFAULT_LANG
from accessmap.outputs.maps import attribution_text
from accessmap.outputs.qgis_project import write_qgis_project
from accessmap.outputs.styles import GeometryKind, styles_for_layer

logger = logging.getLogger(__name__)

__all__ = [
    "CSV_FORMATS",
    "LAYER_DESCRIPTIONS",
    "ExportError",
    "layers_of",
    "read_geopackage",
    "read_run_metadata",
    "to_csv_tables",
    "to_geopackage",
    "write_run",
    "write_tables",
]

#: Reserved table names written by :func:`to_geopackage` itself.
RESERVED = ("layer_styles", "run_metadata", "qgis_projects")

#: Human-readable descriptions stored in ``gpkg_contents.description`` (QGIS shows them).
LAYER_DESCRIPTIONS: dict[str, str] = {
    "communes": "Communes: car time to the nearest GP (time_gp_min, minutes), coverage flags "
    "within_10/15/20/30, E2SFCA and APL, time to emergency care and hospital.",
    "cells": "Population cells (1 km grid centres): time to the nearest GP and 15-min flag.",
    "epci_scores": "EPCI (intercommunalités): need indicators, need_score and need_rank "
    "(1 = most in need), official_priority flag.",
    "sites": "Proposed new health-centre sites in greedy order: rank, people newly within "
    "15 minutes (gain_pop), cumulative totals.",
    "isochrones": "Drive-time bands around GPs (threshold_min, minutes).",
    "departements": "Départements: population beyond 15 minutes of a GP.",
    "region": "Region totals.",
    "siting_curve": "People newly covered against the number of new centres.",
    "agreement": "Agreement of the EPCI ranking with the official priority list.",
}

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def layers_of(result: Any) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Split a score result into ``(layers, metadata)``.

    Accepts a mapping of name -> (Geo)DataFrame (an optional ``"metadata"`` entry is taken as
    the metadata), an object with a ``layers`` mapping and a ``metadata`` attribute, or a
    dataclass such as ``accessmap.pipeline.ScoreResult`` whose DataFrame fields are layers.

    Parameters
    ----------
    result : mapping or object
        The result of ``accessmap.pipeline.run_score`` or a dict of layers.

    Returns
    -------
    layers : dict of str to DataFrame
    metadata : dict
    """
    meta: Any = {}
    if isinstance(result, Mapping):
        items = dict(result)
        meta = items.pop("metadata", {})
    elif isinstance(getattr(result, "layers", None), Mapping):
        items = dict(result.layers)
        meta = getattr(result, "metadata", {})
    elif dataclasses.is_dataclass(result) and not isinstance(result, type):
        items = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
        meta = items.pop("metadata", {})
    else:
        raise ConfigError(
            f"cannot read layers from a {type(result).__name__}: pass a dict of "
            "name -> GeoDataFrame/DataFrame or the ScoreResult of accessmap.pipeline.run_score"
        )
    layers = {k: v for k, v in items.items() if isinstance(v, pd.DataFrame)}
    tables = getattr(result, "tables", None)
    if isinstance(tables, Mapping):
        layers.update({k: v for k, v in tables.items() if isinstance(v, pd.DataFrame)})
    return layers, dict(meta or {})


def _geometry_kind(df: pd.DataFrame) -> GeometryKind | None:
    """``polygon``/``point``/``line`` for a GeoDataFrame with geometries, else ``None``."""
    if not isinstance(df, gpd.GeoDataFrame) or df._geometry_column_name not in df.columns:
        return None
    types = set(df.geom_type.dropna().unique())
    if not types:
        return None
    if types <= {"Polygon", "MultiPolygon"}:
        return "polygon"
    if types <= {"Point", "MultiPoint"}:
        return "point"
    if types <= {"LineString", "MultiLineString"}:
        return "line"
    raise ConfigError(
        f"layer has mixed geometry types {sorted(types)}: split it into one layer per type"
    )


def _has_geometry_column(df: pd.DataFrame) -> bool:
    """A GeoDataFrame whose active geometry column exists (possibly with no rows)."""
    return isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df.columns


def _check_layers(layers: Mapping[str, Any]) -> None:
    if not isinstance(layers, Mapping) or not layers:
        raise ConfigError("no layers to write: pass a non-empty dict of name -> (Geo)DataFrame")
    for name, df in layers.items():
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ConfigError(
                f"invalid layer name {name!r}: use letters, digits and '_' (max 63 characters), "
                "not starting with a digit"
            )
        if name in RESERVED:
            raise ConfigError(
                f"layer name {name!r} is reserved for accessmap's own table: rename the layer"
            )
        if not isinstance(df, pd.DataFrame):
            raise ConfigError(
                f"layer {name!r} is a {type(df).__name__}, not a DataFrame/GeoDataFrame"
            )
        if _geometry_kind(df) is not None and df.crs is None:
            raise MissingCRSError(
                f"layer {name!r} has geometries but no CRS: set it with "
                "gdf.set_crs('EPSG:2154') if the coordinates are Lambert-93 (never guessed)"
            )


def _jsonable(value: Any) -> Any:
    """Make metadata JSON-serialisable (numpy scalars, paths, dates, dataclasses, NaN)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _metadata_record(metadata: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(metadata, Mapping):
        raise ConfigError(
            f"metadata must be a dict (parameters, engine, sources, ...), got "
            f"{type(metadata).__name__}"
        )

    rec = _jsonable(dict(metadata))
    rec.setdefault("accessmap_version", __version__)
    rec.setdefault("written", datetime.now(UTC).isoformat(timespec="seconds"))
    return rec


def _metadata_table(rec: Mapping[str, Any]) -> pd.DataFrame:
    rows = [
        (k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True))
        for k, v in rec.items()
    ]
    return pd.DataFrame(rows, columns=["key", "value"])


# --------------------------------------------------------------------------------------------
# GeoPackage
# --------------------------------------------------------------------------------------------


def _drop_geometries(df: pd.DataFrame) -> pd.DataFrame:
    geo = [c for c in df.columns if isinstance(df[c].dtype, gpd.array.GeometryDtype)]
    return pd.DataFrame(df.drop(columns=geo))


def _prepare_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Copy with types every GDAL driver takes: categoricals as text, no object mixes."""
    out = df.copy()
    for col in out.columns:
        if col == getattr(out, "_geometry_column_name", None):
            continue
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype(str).where(s.notna(), None)
    if not _has_geometry_column(out):
        out = _drop_geometries(out)
    return out.reset_index(drop=True)


def _styles_table(
    written: Mapping[str, tuple[GeometryKind | None, str, list[str]]],
) -> pd.DataFrame:
    rows = []
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    for layer, (kind, geom_col, columns) in written.items():
        for st in styles_for_layer(layer, kind, columns):
            rows.append(
                {
                    "f_table_catalog": "",
                    "f_table_schema": "",
                    "f_table_name": layer,
                    "f_geometry_column": geom_col,
                    "styleName": st.name,
                    "styleQML": st.qml,
                    "styleSLD": "",
                    "useAsDefault": st.default,
                    "description": st.description,
                    "owner": "",
                    "ui": "",
                    "update_time": now,
                }
            )
    return pd.DataFrame(rows)


#: ``md_standard_uri`` of the run-metadata record (a URN: the JSON layout is accessmap's own).
METADATA_URI = "urn:accessmap:run-metadata:1"

_GPKG_METADATA_DDL = (
    """CREATE TABLE IF NOT EXISTS gpkg_metadata (
    id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,
    md_scope TEXT NOT NULL DEFAULT 'dataset',
    md_standard_uri TEXT NOT NULL,
    mime_type TEXT NOT NULL DEFAULT 'text/xml',
    metadata TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (
    reference_scope TEXT NOT NULL,
    table_name TEXT,
    column_name TEXT,
    row_id_value INTEGER,
    timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    md_file_id INTEGER NOT NULL,
    md_parent_id INTEGER,
    CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
    CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_extensions (
    table_name TEXT,
    column_name TEXT,
    extension_name TEXT NOT NULL,
    definition TEXT NOT NULL,
    scope TEXT NOT NULL,
    CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""",
)


def _write_gpkg_metadata(path: Path, rec: Mapping[str, Any]) -> None:
    """Record ``rec`` with the GeoPackage metadata extension (OGC 12-128r18, annex F.8).

    One ``gpkg_metadata`` row (scope ``dataset``, ``application/json``) referenced from
    ``gpkg_metadata_reference`` with scope ``geopackage``, and the extension registered in
    ``gpkg_extensions``. Written with sqlite3 rather than as GDAL dataset metadata: GDAL's
    own format makes every later read-only open leave a ``.aux.xml`` side-car next to the
    file.
    """
    definition = "http://www.geopackage.org/spec120/#extension_metadata"
    con = sqlite3.connect(path)
    try:
        with con:
            for ddl in _GPKG_METADATA_DDL:
                con.execute(ddl)
            for table in ("gpkg_metadata", "gpkg_metadata_reference"):
                exists = con.execute(
                    "SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND "
                    "extension_name = 'gpkg_metadata'",
                    (table,),
                ).fetchone()
                if not exists:
                    con.execute(
                        "INSERT INTO gpkg_extensions VALUES (?, NULL, 'gpkg_metadata', ?, "
                        "'read-write')",
                        (table, definition),
                    )
            cur = con.execute(
                "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) "
                "VALUES ('dataset', ?, 'application/json', ?)",
                (METADATA_URI, json.dumps(rec, ensure_ascii=False, sort_keys=True, indent=1)),
            )
            con.execute(
                "INSERT INTO gpkg_metadata_reference (reference_scope, md_file_id) "
                "VALUES ('geopackage', ?)",
                (cur.lastrowid,),
            )
    finally:
        con.close()


def to_geopackage(
    layers: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any],
    overwrite: bool = False,
    styles: bool = True,
    project: bool = True,
    final_name: str | None = None,
    lang: str = DEFAULT_LANG,
) -> Path:
    """Write layers and tables to one GeoPackage, atomically, with styles and run metadata.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame or DataFrame
        Layer name -> data. GeoDataFrames become feature layers (polygons promoted to
        MultiPolygon; an empty GeoDataFrame gives an empty layer of unknown geometry type);
        DataFrames become attribute-only tables (``gpkg_contents.data_type =
        'attributes'``). Tables without any column (e.g. no agreement table when no official
        list was given) are skipped.
    path : path-like
        Output file, ending in ``.gpkg``. Missing parent directories are created.
    metadata : mapping
        Run metadata: parameters, engine, data sources (with licence and attribution),
        version, date. Stored in ``gpkg_metadata`` and in the ``run_metadata`` table.
    overwrite : bool, default False
        Replace an existing file. Without it an existing file raises ``OutputExistsError``.
    styles : bool, default True
        Store default QGIS styles (``layer_styles`` table) for the known layers.
    project : bool, default True
        Store a QGIS project (``qgis_projects`` table: ordered, styled layers and an EPCI
        atlas; :mod:`accessmap.outputs.qgis_project`).
    final_name : str, optional
        File name the GeoPackage will end up with when ``path`` is a temporary file (the
        project's data sources are relative to it); default ``path``'s name.
    lang : {"fr", "en"}, default "fr"
        Language of the project's layer names and atlas.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    ConfigError
        Bad layer names, non-DataFrame values, mixed geometry types, wrong suffix.
    MissingCRSError
        A layer has geometries but no CRS.
    ExportError
        GDAL failed to write (the previous file, if any, is left untouched).

    Examples
    --------
    >>> to_geopackage({"communes": communes}, "out/run.gpkg",
    ...               metadata={"engine": "crow-fly"})  # doctest: +SKIP
    """
    path = Path(path)
    _check_layers(layers)
    rec = _metadata_record(metadata)
    _check_target(path, overwrite, suffix=".gpkg")

    written: dict[str, tuple[GeometryKind | None, str, list[str]]] = {}
    try:
        with atomic_file(path, overwrite=overwrite, suffix=".gpkg") as tmp:
            first = True
            skipped = [n for n, df in layers.items() if len(df.columns) == 0]
            for name in skipped:
                logger.info("layer %r has no columns: not written", name)
            for name, df in layers.items():
                if name in skipped:
                    continue
                kind = _geometry_kind(df)
                frame = _prepare_frame(df)
                empty_geo = _has_geometry_column(frame) and kind is None
                desc = LAYER_DESCRIPTIONS.get(name, "")
                pyogrio.write_dataframe(
                    frame,
                    tmp,
                    layer=name,
                    driver="GPKG",
                    append=not first,
                    promote_to_multi=kind in ("polygon", "line"),
                    geometry_type="Unknown" if empty_geo else None,
                    dataset_options={"VERSION": "1.2"} if first else None,
                    layer_options={"IDENTIFIER": name, "DESCRIPTION": desc},
                )
                first = False
                geom_col = pyogrio.read_info(tmp, layer=name)["geometry_name"] or ""
                written[name] = (kind, geom_col, [str(c) for c in frame.columns])
            pyogrio.write_dataframe(
                _metadata_table(rec), tmp, layer="run_metadata", driver="GPKG", append=True,
                layer_options={"IDENTIFIER": "run_metadata",
                               "DESCRIPTION": "accessmap run metadata (key, value as JSON)"},
            )  # fmt: skip
            if styles:
                table = _styles_table(written)
                if len(table):
                    pyogrio.write_dataframe(
                        table, tmp, layer="layer_styles", driver="GPKG", append=True,
                        layer_options={"FID": "id"},
                    )  # fmt: skip
            _write_gpkg_metadata(tmp, rec)
            if project:
                spatial = {n: (k, cols) for n, (k, _, cols) in written.items() if k is not None}
                summary = rec.get("summary") if isinstance(rec.get("summary"), dict) else {}
                write_qgis_project(
                    tmp, spatial, gpkg_name=final_name or path.name,
                    title=f"accessmap — {rec.get('area', '')}".strip(" —"),
                    attribution=attribution_text(layers, rec),
                    threshold_min=float((summary or {}).get("threshold_min") or 15.0),
                    lang=lang,
                )  # fmt: skip
            # integrity check before replacing anything: every layer present with all its rows
            present = {str(n) for n, _ in pyogrio.list_layers(tmp)}
            for name, df in layers.items():
                if name in skipped:
                    continue
                if name not in present:
                    raise ExportError(f"layer {name!r} missing from {tmp} after writing")
                n = pyogrio.read_info(tmp, layer=name)["features"]
                if n != len(df):
                    raise ExportError(f"layer {name!r}: wrote {n} rows of {len(df)} to {tmp}")
    except AccessmapError:
        raise
    except Exception as exc:
        raise ExportError(
            f"could not write GeoPackage {path}: {type(exc).__name__}: {exc}; "
            "nothing was replaced (check free disk space and write permission)"
        ) from exc
    logger.info("wrote %s (%d layers)", path, len(layers))
    return path


def read_run_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Run metadata stored by :func:`to_geopackage` (from the ``run_metadata`` table).

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    UnreadableFileError
        The file is not a GeoPackage written by accessmap.
    """
    path = Path(path)
    _must_exist(path)
    try:
        df = pyogrio.read_dataframe(path, layer="run_metadata")
    except Exception as exc:
        raise UnreadableFileError(
            f"{path} has no readable 'run_metadata' table ({exc}): is it a GeoPackage written "
            "by `accessmap score`?"
        ) from exc
    out: dict[str, Any] = {}
    for k, v in zip(df["key"], df["value"], strict=True):
        try:
            out[str(k)] = json.loads(v)
        except (TypeError, ValueError):
            out[str(k)] = v
    return out


def _must_exist(path: Path) -> None:
    if not path.exists():
        raise DataNotFoundError(
            f"{path} not found: run `accessmap score --out {path}` first or give the right path"
        )


def read_geopackage(path: str | os.PathLike[str]) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read back every layer and the run metadata of an accessmap GeoPackage.

    Returns
    -------
    layers : dict of str to GeoDataFrame or DataFrame
        Feature layers as GeoDataFrames, attribute tables as DataFrames; ``layer_styles``
        and ``run_metadata`` are left out.
    metadata : dict
    """
    path = Path(path)
    _must_exist(path)
    try:
        names = [(str(n), g) for n, g in pyogrio.list_layers(path)]
    except Exception as exc:
        raise UnreadableFileError(f"{path} is not a readable GeoPackage ({exc})") from exc
    layers: dict[str, pd.DataFrame] = {}
    for name, geom in names:
        if name in RESERVED:
            continue
        df = pyogrio.read_dataframe(path, layer=name, read_geometry=geom is not None)
        layers[name] = df
    return layers, read_run_metadata(path)


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def _csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    kind = _geometry_kind(df)
    if kind is None:
        return _drop_geometries(df)
    gdf = df
    out = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    if kind == "point":
        out["x"] = gdf.geometry.x.round(1)
        out["y"] = gdf.geometry.y.round(1)
        out["crs"] = gdf.crs.to_string() if gdf.crs is not None else ""
    return out


#: CSV dialects of :func:`to_csv_tables`: ``plain`` (UTF-8, comma, decimal point, full
#: precision: for scripts) and ``fr`` (French spreadsheets: UTF-8 with a byte-order mark so
#: that Excel reads the accents, ``;`` separators, decimal comma, integers as integers and
#: floats rounded to what the measure supports, :data:`CSV_DECIMALS`).
CSV_FORMATS = ("plain", "fr")

#: Decimals kept in the ``fr`` CSV, by column name (first match wins; regular expressions).
#: What each measure supports (assumptions, from the precision of its inputs): minutes to
#: 0.1 min (travel times are modelled to a few tenths of a minute at best), shares to
#: 0.01 % (4 decimals of a 0-1 share), APL to 0.01 consultation, scores to 0.001,
#: need score to 0.1, areas to 0.01 km2, coordinates to the metre; anything else 4
#: significant digits.
CSV_DECIMALS: tuple[tuple[str, int], ...] = (
    (r"(^|_)min$|_min_|^time_|minutes", 1),
    (r"^share_|_share$|share_", 4),
    (r"^apl|_apl$", 2),
    (r"^need_score$", 1),
    (r"^score_", 3),
    (r"km2$|_km$", 2),
    (r"^(x|y)$", 0),
    (r"_factor$|ratio", 3),
)


def _round_for_sheet(df: pd.DataFrame) -> pd.DataFrame:
    """Integers as integers, floats rounded per :data:`CSV_DECIMALS` (the ``fr`` dialect)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not pd.api.types.is_float_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        vals = s.to_numpy(dtype=float)
        finite = np.isfinite(vals)
        if (
            finite.any()
            and np.all(vals[finite] == np.round(vals[finite]))
            and (np.abs(vals[finite]).max() < 2**53)
        ):
            out[col] = s.round().astype("Int64")
            continue
        digits = next((d for pat, d in CSV_DECIMALS if re.search(pat, str(col))), None)
        if digits is None:  # 4 significant digits
            mag = np.nanmax(np.abs(vals[finite])) if finite.any() else 0.0
            digits = max(0, 4 - math.floor(math.log10(mag)) - 1) if mag > 0 else 0
        out[col] = s.round(digits)
    return out


def _write_csv(df: pd.DataFrame, path: Path, csv_format: str) -> None:
    if csv_format == "fr":
        _round_for_sheet(df).to_csv(path, index=False, sep=";", decimal=",",
                                    encoding="utf-8-sig")  # fmt: skip
    else:
        df.to_csv(path, index=False, encoding="utf-8")


def _check_csv_format(csv_format: str) -> None:
    if csv_format not in CSV_FORMATS:
        raise ConfigError(
            f"unknown CSV format {csv_format!r}: use one of {', '.join(CSV_FORMATS)} "
            "(--csv-format fr for a French spreadsheet: ';', BOM, decimal comma)"
        )


def to_csv_tables(
    layers: Mapping[str, pd.DataFrame],
    directory: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    csv_format: str = "plain",
) -> list[Path]:
    """Write each layer as ``<directory>/<name>.csv``, atomically.

    ``csv_format="plain"`` (default) writes UTF-8, comma, point, full precision;
    ``"fr"`` a French-spreadsheet CSV (:data:`CSV_FORMATS`).

    Geometries are dropped, except points which get ``x``, ``y`` (layer CRS, metres for
    EPSG:2154) and a ``crs`` column. ``run_metadata.json`` is written alongside when
    ``metadata`` is given. All files are first written as temporary files; none of the
    targets is touched until every one has been written.

    Parameters
    ----------
    layers : mapping of str to DataFrame
    directory : path-like
        Created if missing.
    metadata : mapping, optional
        Run metadata written as ``run_metadata.json``.
    overwrite : bool, default False
        Replace existing files; otherwise any existing target raises ``OutputExistsError``
        before anything is written.

    Returns
    -------
    list of Path
        Written files.
    """
    _check_layers(layers)
    _check_csv_format(csv_format)
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} is a file: give a directory for the CSV tables")
    targets = {name: directory / f"{name}.csv" for name in layers}
    if metadata is not None:
        rec = _metadata_record(metadata)
        targets["run_metadata"] = directory / "run_metadata.json"
    for t in targets.values():
        _check_target(t, overwrite, suffix=None)
    names = list(targets)
    try:
        (unit,) = atomic_outputs([targets[n] for n in names], overwrite=overwrite)
        with unit as tmp_list:
            tmps = dict(zip(names, tmp_list, strict=True))
            for name, df in layers.items():
                _write_csv(_csv_frame(df), tmps[name], csv_format)
            if metadata is not None:
                tmps["run_metadata"].write_text(
                    json.dumps(rec, ensure_ascii=False, indent=2, sort_keys=True),
                    encoding="utf-8",
                )
    except AccessmapError:
        raise
    except Exception as exc:
        raise ExportError(
            f"could not write CSV tables to {directory}: {type(exc).__name__}: {exc}"
        ) from exc
    return list(targets.values())


def write_tables(
    result: Any,
    directory: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    csv_format: str = "plain",
) -> Path:
    """Write every layer and table of a score result as CSV in ``directory`` (see
    :func:`to_csv_tables`), with ``run_metadata.json``; returns the directory.

    Parameters
    ----------
    result : ScoreResult or mapping
        Anything :func:`layers_of` accepts.
    directory : path-like
        Target directory (created if missing).
    overwrite : bool, default False
        Replace existing CSV files.
    csv_format : {"plain", "fr"}, default "plain"
        CSV dialect (:data:`CSV_FORMATS`).
    """
    layers, metadata = layers_of(result)
    layers = {k: v for k, v in layers.items() if len(v.columns)}
    to_csv_tables(layers, directory, metadata=metadata, overwrite=overwrite,
                  csv_format=csv_format)  # fmt: skip
    return Path(directory)


def write_run(
    result: Any,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    csv_format: str = "plain",
) -> tuple[Path, Path]:
    """Write a run's GeoPackage and its CSV folder (``<path without suffix>/``) as one unit.

    Both are written to temporaries first; the previous GeoPackage and folder are replaced
    only when both are complete, and kept if anything fails (:mod:`accessmap.outputs.atomic`).
    The folder is replaced whole, so no table of an earlier run is left beside the new ones.

    Returns
    -------
    (Path, Path)
        The GeoPackage and the CSV folder.
    """
    gpkg = Path(path)
    folder = gpkg.with_suffix("")
    _check_csv_format(csv_format)
    layers, metadata = layers_of(result)
    (unit,) = atomic_outputs([gpkg, folder], overwrite=overwrite, suffixes=[".gpkg", None],
                             directories=[False, True])  # fmt: skip
    with unit as (tmp_gpkg, tmp_folder):
        to_geopackage(layers, tmp_gpkg, metadata=metadata, overwrite=True, final_name=gpkg.name)
        write_tables(result, tmp_folder, overwrite=True, csv_format=csv_format)
    return gpkg, folder
