"""Build a :class:`~accessmap.network.graph.RoadNetwork` from node and edge CSV tables.

Two real table formats are read (``SOURCES-roads.md`` of the data directory, sections 2, 5, 6);
the format is detected from the edge table's columns (:func:`detect_table_format`).

``"pfe"`` (student project ``PFE_RECHERCHE_VOITURE``: Auch, Nîmes, Montpellier,
Toulouse centre)
    Nodes ``node_id, lon, lat`` (WGS84); edges ``node_id1, node_id2, speed, type, length``.
    Each row is one directed arc (two-way segments are already listed in both directions,
    so ``type`` = ``oneway``/``twoway`` is informative only and no reverse arc is added).
    ``speed`` is the way's numeric ``maxspeed``; it is scaled by the profile's
    ``maxspeed_factor`` like an OSM tag. ``speed = "default"`` (no limit tagged; 38-91 % of
    rows) gets the profile's ``default_speed_kmh``, because the tables carry no road class
    (25 km/h for ``osrm-car``, 50 for ``fr-legal``: both assumptions, documented in
    :mod:`accessmap.network.speeds`). ``length`` (metres, haversine in the source) is used as is.
    The tables keep every highway class except footways (paths, tracks, cycleways cannot
    be told apart): times are indicative, good for algorithm tests on real topology.

``"insa"`` (INSA Toulouse "BE Graphes" course map of Toulouse)
    Nodes ``node_id, lon, lat``; edges ``u, v, length_m, highway, maxspeed_kmh, oneway,
    access_motorcar, ...``. Kept: car classes (the OSM drivable classes plus the converter's
    own ``roundabout`` class), i.e. ``pedestrian`` and ``cycleway`` are dropped; rows whose
    ``access_motorcar`` is ``forbidden`` are dropped. ``private`` rows are *kept* by default
    (:data:`INSA_DENIED_ACCESS`), unlike OSM ``access=private`` ways in
    :mod:`accessmap.network.osm` (OSRM and osmnx drop those): in this file ``private`` marks
    4,676 rows, mostly service roads (3,745) but also residential streets (267) and
    roundabouts (134), i.e. the streets of gated estates where people live and from which
    they drive out; dropping them removes 3,945 of the 29,662 nodes of the largest
    component. Pass ``insa_denied_access={"forbidden", "private"}`` for the OSRM reading.
    ``destination``, ``customers``, ``delivery`` and ``unknown`` are kept. ``oneway = 0``
    rows stand for both directions, so the reverse arc is added; ``oneway = 1`` means
    ``u -> v`` only. ``maxspeed_kmh`` is always filled (the converter put class defaults
    where OSM had no tag), so it is used as a tagged limit (scaled by ``maxspeed_factor``).
    ``length_m`` is used as is.

In both formats coordinates are projected to EPSG:2154; only the largest strongly
connected component is kept (:meth:`RoadNetwork.from_arrays`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accessmap.errors import (
    BadValueError,
    DataNotFoundError,
    EmptyLayerError,
    MissingColumnError,
    NetworkBuildError,
    UnreadableFileError,
)
from accessmap.network.graph import BUILDER_VERSION, RoadNetwork, register_builder
from accessmap.network.osm import DRIVABLE_HIGHWAYS, lonlat_to_working_crs
from accessmap.network.speeds import SpeedProfile, get_profile, parse_maxspeed_array

__all__ = [
    "INSA_CAR_CLASSES",
    "INSA_DENIED_ACCESS",
    "build_from_tables",
    "detect_table_format",
]

log = logging.getLogger(__name__)

#: Road classes of the INSA format routed by car: OSM drivable classes + ``roundabout``.
INSA_CAR_CLASSES: frozenset[str] = DRIVABLE_HIGHWAYS | {"roundabout"}

#: ``access_motorcar`` values of the INSA format that drop a row (see the module docstring
#: for why ``private`` is kept).
INSA_DENIED_ACCESS: frozenset[str] = frozenset({"forbidden"})

NODE_COLUMNS = ("node_id", "lon", "lat")
PFE_COLUMNS = ("node_id1", "node_id2", "speed", "type", "length")
INSA_COLUMNS = ("u", "v", "length_m", "highway", "maxspeed_kmh", "oneway", "access_motorcar")


def _read_header(path: Path) -> list[str]:
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, EOFError) as exc:
        raise UnreadableFileError(
            f"{path}: cannot read the CSV header ({exc}); check the file is a CSV table"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise EmptyLayerError(f"{path}: the table is empty; give a non-empty edge table") from exc


def detect_table_format(edges_csv: str | os.PathLike[str]) -> str:
    """``"pfe"`` or ``"insa"`` from the edge table's columns.

    Raises
    ------
    MissingColumnError
        The columns match neither format; the message lists what each needs.
    """
    p = Path(edges_csv)
    cols = set(_read_header(p))
    if set(INSA_COLUMNS) <= cols:
        return "insa"
    if set(PFE_COLUMNS) <= cols:
        return "pfe"
    insa_missing = [c for c in INSA_COLUMNS if c not in cols]
    pfe_missing = [c for c in PFE_COLUMNS if c not in cols]
    raise MissingColumnError(
        f"{p}: edge table matches no known format: missing {', '.join(pfe_missing)} for the "
        f"PFE format ({', '.join(PFE_COLUMNS)}) and {', '.join(insa_missing)} for the INSA "
        f"format ({', '.join(INSA_COLUMNS)}); rename the columns"
    )


def _read_csv(path: Path, columns: tuple[str, ...], *, what: str) -> pd.DataFrame:
    if not path.exists():
        raise DataNotFoundError(f"{what} table {path} not found; check the path")
    header = _read_header(path)
    missing = [c for c in columns if c not in header]
    if missing:
        raise MissingColumnError(
            f"{path}: {what} table lacks column(s) {', '.join(missing)} (has "
            f"{', '.join(header) or 'no columns'}); expected {', '.join(columns)}"
        )
    try:
        df = pd.read_csv(path, usecols=list(columns))
    except (OSError, pd.errors.ParserError, EOFError, UnicodeDecodeError) as exc:
        raise UnreadableFileError(
            f"{path}: cannot read the {what} table ({exc}); the file may be truncated"
        ) from exc
    if df.empty:
        raise EmptyLayerError(f"{path}: the {what} table has no rows; give a non-empty table")
    return df


def _numeric(df: pd.DataFrame, col: str, path: Path, *, integer: bool = False) -> np.ndarray:
    vals = pd.to_numeric(df[col], errors="coerce")
    bad = vals.isna() | ~np.isfinite(vals.to_numpy(dtype=np.float64, na_value=np.nan))
    if integer:
        bad |= vals.fillna(0) % 1 != 0
    if bad.any():
        raise BadValueError(
            f"{path}: column {col!r} must be numeric; row {int(np.flatnonzero(bad)[0])} holds "
            f"{df[col][bad].iloc[0]!r}; fix or remove that row"
        )
    return vals.to_numpy(dtype=np.int64 if integer else np.float64)


def build_from_tables(
    nodes_csv: str | os.PathLike[str],
    edges_csv: str | os.PathLike[str],
    *,
    profile: str | SpeedProfile = "osrm-car",
    insa_denied_access: Collection[str] = INSA_DENIED_ACCESS,
) -> RoadNetwork:
    """Build the network of a node table and an edge table (PFE or INSA format).

    Parameters
    ----------
    nodes_csv : path-like
        ``node_id, lon, lat`` (WGS84), one row per node.
    edges_csv : path-like
        Edge table, PFE or INSA format (see the module docstring); may be ``.csv.gz``.
    profile : str or SpeedProfile, keyword-only
        Speed profile (default ``"osrm-car"``).
    insa_denied_access : collection of str, keyword-only
        INSA format: ``access_motorcar`` values that drop a row (default
        :data:`INSA_DENIED_ACCESS`; not part of the cache key of ``load_network``).

    Returns
    -------
    RoadNetwork
        Largest strongly connected component; ``meta`` records the format, rows dropped by
        reason and what the component step dropped.

    Raises
    ------
    DataNotFoundError
        A table does not exist.
    MissingColumnError
        A required column is missing.
    BadValueError
        Non-numeric ids, coordinates or lengths, negative lengths, coordinates outside
        lon/lat ranges, duplicate node ids, edges naming a node absent from the node table.
    NetworkBuildError
        No drivable edge left.
    UnknownProfileError
        Unknown profile name.
    """
    prof = get_profile(profile)
    t0 = time.perf_counter()
    npath, epath = Path(nodes_csv), Path(edges_csv)
    if not epath.exists():
        raise DataNotFoundError(f"edge table {epath} not found; check the path")
    fmt = detect_table_format(epath)
    nodes = _read_csv(npath, NODE_COLUMNS, what="node")
    node_ids = _numeric(nodes, "node_id", npath, integer=True)
    lon = _numeric(nodes, "lon", npath)
    lat = _numeric(nodes, "lat", npath)
    out_of_range = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if out_of_range.any():
        i = int(np.flatnonzero(out_of_range)[0])
        raise BadValueError(
            f"{npath}: node {node_ids[i]} has lon/lat ({lon[i]}, {lat[i]}) outside WGS84 "
            "ranges; node tables must be in longitude/latitude degrees (EPSG:4326)"
        )
    uniq, counts = np.unique(node_ids, return_counts=True)
    if (counts > 1).any():
        raise BadValueError(
            f"{npath}: node_id {int(uniq[counts > 1][0])} appears "
            f"{int(counts[counts > 1][0])} times; node ids must be unique"
        )

    info: dict[str, Any] = {"edge_rows": 0}
    if fmt == "pfe":
        edges = _read_csv(epath, PFE_COLUMNS, what="edge")
        info["edge_rows"] = len(edges)
        src = _numeric(edges, "node_id1", epath, integer=True)
        dst = _numeric(edges, "node_id2", epath, integer=True)
        length = _numeric(edges, "length", epath)
        raw_speed = edges["speed"].astype(object).where(edges["speed"].notna(), None)
        limits = parse_maxspeed_array(raw_speed, implicit=prof.implicit_maxspeed_kmh)
        info["rows_default_speed"] = int(np.isnan(limits).sum())
        speed = prof.edge_speeds_kmh(None, limits)
    else:
        edges = _read_csv(epath, INSA_COLUMNS, what="edge")
        info["edge_rows"] = len(edges)
        hw = edges["highway"].astype(str)
        access = edges["access_motorcar"].astype(str)
        car = hw.isin(INSA_CAR_CLASSES).to_numpy()
        allowed = (~access.isin(list(insa_denied_access))).to_numpy()
        info["rows_not_car_class"] = int((~car).sum())
        info["rows_no_car_access"] = int((car & ~allowed).sum())
        edges = edges[car & allowed]
        if edges.empty:
            raise NetworkBuildError(
                f"{epath}: no drivable edge (no row with a car class "
                f"{', '.join(sorted(INSA_CAR_CLASSES))} and car access); check the table"
            )
        u0 = _numeric(edges, "u", epath, integer=True)
        v0 = _numeric(edges, "v", epath, integer=True)
        len0 = _numeric(edges, "length_m", epath)
        oneway = _numeric(edges, "oneway", epath, integer=True)
        bad_ow = ~np.isin(oneway, (0, 1))
        if bad_ow.any():
            raise BadValueError(
                f"{epath}: column 'oneway' must be 0 or 1, got {int(oneway[bad_ow][0])}; "
                "fix the table"
            )
        limits0 = _numeric(edges, "maxspeed_kmh", epath)
        limits0 = np.where(limits0 > 0, limits0, np.nan)
        speed0 = prof.edge_speeds_kmh(edges["highway"].to_numpy(dtype=object), limits0)
        two = oneway == 0
        src = np.concatenate([u0, v0[two]])
        dst = np.concatenate([v0, u0[two]])
        length = np.concatenate([len0, len0[two]])
        speed = np.concatenate([speed0, speed0[two]])
        info["reverse_arcs_added"] = int(two.sum())

    if (length < 0).any():
        raise BadValueError(
            f"{epath}: negative edge length {float(length[length < 0][0])}; lengths must be "
            "metres >= 0"
        )
    order = np.argsort(node_ids, kind="stable")
    sorted_ids = node_ids[order]
    pos_u = np.searchsorted(sorted_ids, src).clip(0, len(sorted_ids) - 1)
    pos_v = np.searchsorted(sorted_ids, dst).clip(0, len(sorted_ids) - 1)
    unknown = (sorted_ids[pos_u] != src) | (sorted_ids[pos_v] != dst)
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        bad_id = src[i] if sorted_ids[pos_u[i]] != src[i] else dst[i]
        raise BadValueError(
            f"{epath}: {int(unknown.sum())} edge(s) refer to nodes missing from {npath.name}, "
            f"e.g. node {int(bad_id)}; give the node table that goes with this edge table"
        )
    u = order[pos_u]
    v = order[pos_v]
    tt = length / 1000.0 / speed * 60.0
    x, y = lonlat_to_working_crs().transform(lon, lat)
    meta: dict[str, Any] = {
        "source": str(epath),
        "nodes_source": str(npath),
        "format": f"{fmt}_tables",
        "builder": "accessmap.network.tables",
        "builder_version": BUILDER_VERSION,
        "profile": prof.name,
        "profile_fields": prof.to_dict(),
        **info,
    }
    net = RoadNetwork.from_arrays(
        u,
        v,
        tt,
        np.asarray(x, dtype=np.float64),
        np.asarray(y, dtype=np.float64),
        node_ids,
        length_m=length,
        largest_scc=True,
        meta=meta,
    )
    net.meta["build_seconds"] = round(time.perf_counter() - t0, 4)
    log.info(
        "built road network from %s (%s format): %d nodes, %d edges (dropped %d nodes and %d "
        "edges outside the largest strongly connected component)",
        epath,
        fmt,
        net.n_nodes,
        net.n_edges,
        net.meta["nodes_dropped"],
        net.meta["edges_dropped"],
    )
    return net


register_builder("tables", build_from_tables)
