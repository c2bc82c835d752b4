"""The cached entry point :func:`load_network`: detect a road file's format, build, cache.

:func:`load_network` picks the builder of a road file (OSM PBF/XML, node/edge tables, a
Travel Mapping archive or folder, an osmnx GraphML), builds the :class:`RoadNetwork` and
stores the compiled arrays in the network cache (:func:`accessmap.network.graph.default_cache_dir`)
under a key that hashes the input files, the speed profile or model, the builder options and
:data:`accessmap.network.graph.BUILDER_VERSION`, so a second run only reads the arrays back.

May import: every module of :mod:`accessmap.network` (it sits above the builders).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from accessmap.errors import BadValueError, DataNotFoundError, UnreadableFileError
from accessmap.network.graph import (
    BUILDER_VERSION,
    RoadNetwork,
    default_cache_dir,
    register_builder,
)
from accessmap.network.osm import build_from_osm
from accessmap.network.osmnx_graph import build_from_graphml
from accessmap.network.speedmodel import DEFAULT_MODEL, TravelMappingSpeedModel
from accessmap.network.speeds import SpeedProfile, get_profile
from accessmap.network.store import read_store, write_store
from accessmap.network.tables import build_from_tables
from accessmap.network.travelmapping import (
    DEFAULT_MARGIN_M,
    build_from_travelmapping,
    cache_options,
    is_travelmapping_path,
)

log = logging.getLogger(__name__)

__all__ = ["cache_key", "load_network", "load_travelmapping"]


def _file_fingerprint(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_key(
    inputs: list[Path],
    profile: SpeedProfile,
    *,
    kind: str,
    extra: dict[str, Any] | None = None,
) -> str:
    """Hex digest identifying a build: input files (path, size, mtime), profile, version.

    ``extra`` holds builder options that change the arrays (for ``kind="travelmapping"``:
    regions, clip-geometry hash, margin and speed model; when omitted the defaults of
    :func:`accessmap.network.travelmapping.cache_options` are used). A folder input (an
    extracted Travel Mapping tree) is fingerprinted by the size and mtime of every file in it.
    """
    if kind == "travelmapping" and extra is None:
        extra = cache_options()
    fingerprints = []
    for p in inputs:
        if p.is_dir():
            n_files, total, latest = 0, 0, 0
            for dirpath, _dirs, files in os.walk(p):
                for f in files:
                    st = os.stat(os.path.join(dirpath, f))
                    n_files += 1
                    total += st.st_size
                    latest = max(latest, st.st_mtime_ns)
            fingerprints.append(
                {"path": str(p.resolve()), "files": n_files, "size": total, "mtime_ns": latest}
            )
        else:
            fingerprints.append(_file_fingerprint(p))
    payload: dict[str, Any] = {
        "kind": kind,
        "builder_version": BUILDER_VERSION,
        "inputs": fingerprints,
        "profile": profile.to_dict(),
    }
    if extra is not None:
        payload["extra"] = extra
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def load_network(
    path: str | os.PathLike[str],
    *,
    nodes: str | os.PathLike[str] | None = None,
    profile: str | SpeedProfile = "osrm-car",
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> RoadNetwork:
    """Load a road network from an OSM file or node/edge tables, through the cache.

    The compiled graph is stored as a store folder ``<cache_dir>/<file stem>-<key>.graph``
    (:func:`accessmap.network.store.write_store`) where ``key``
    hashes the input files (absolute path, size, modification time), every field of the
    speed profile and :data:`BUILDER_VERSION`; editing the input, changing a speed or
    upgrading the builder therefore rebuilds. Arrays are stored uncompressed, so a cache hit
    costs one sequential read (well under a second for 1.5 million nodes).

    Parameters
    ----------
    path : path-like
        An OSM file (``.osm.pbf``, ``.osm``, ``.osm.bz2``) or an edge table (``*_edges.csv``
        or ``.csv.gz``). For tables the node table is ``nodes`` or, when omitted, the file
        next to it with ``_edges`` replaced by ``_nodes`` (``.csv`` or ``.csv.gz``). A node
        table path is accepted too (its ``_edges`` sibling is used).
    nodes : path-like, optional
        Node table for the table formats.
    profile : str or SpeedProfile, default "osrm-car"
        Speed profile (see :mod:`accessmap.network.speeds`).
    cache_dir : path-like, optional
        Cache directory; default :func:`default_cache_dir`.
    use_cache : bool, default True
        ``False`` always rebuilds and writes nothing.
    progress : callable, optional
        ``progress(done, total)`` over the build steps (OSM files).

    Returns
    -------
    RoadNetwork
        ``meta["cache"]`` is ``"hit"``, ``"miss"`` or ``"off"``; ``meta["cache_file"]`` the
        file used.
    """

    prof = get_profile(profile)
    p = Path(path)
    kind, inputs = _resolve_inputs(p, nodes)
    if not use_cache:
        net = _build(kind, inputs, prof, progress)
        net.meta["cache"] = "off"
        return net
    cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = cache_key(inputs, prof, kind=kind)
    stem = inputs[-1].name.split(".")[0]
    target = cdir / f"{stem}-{key[:20]}.graph"
    if target.is_dir():
        t0 = time.perf_counter()
        try:
            net = read_store(target)
        except UnreadableFileError as exc:
            log.warning("ignoring unreadable cache file %s (%s); rebuilding", target, exc)
        else:
            net.meta["cache"] = "hit"
            net.meta["cache_file"] = str(target)
            log.info("loaded cached network %s in %.3f s", target, time.perf_counter() - t0)
            return net
    net = _build(kind, inputs, prof, progress)
    net.meta["cache"] = "miss"
    net.meta["cache_file"] = str(target)
    try:
        write_store(net, target)
    except OSError as exc:  # a read-only cache must not stop the run
        log.warning("could not write network cache %s: %s", target, exc)
    return net


def _resolve_inputs(p: Path, nodes: str | os.PathLike[str] | None) -> tuple[str, list[Path]]:
    """Which builder to use and the input files (``[osm]`` or ``[nodes, edges]``)."""

    name = p.name.lower()
    if name.endswith((".tar.gz", ".tgz")) and ("travelmapping" in name or "highwaydata" in name):
        if not p.exists():
            raise DataNotFoundError(f"Travel Mapping archive {p} not found; check the path")
        return "travelmapping", [p]
    if p.is_dir():
        if is_travelmapping_path(p):
            return "travelmapping", [p]
        raise BadValueError(
            f"{p} is a folder without hwy_data/; pass a Travel Mapping folder or archive, an "
            "OSM file, a .graphml or an edge table"
        )
    if name.endswith(".graphml"):
        if not p.exists():
            raise DataNotFoundError(f"GraphML file {p} not found; check the path")
        return "graphml", [p]
    if name.endswith((".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".o5m")):
        if not p.exists():
            raise DataNotFoundError(f"road file {p} not found; check the path")
        return "osm", [p]
    if nodes is not None:
        nodes_p, edges_p = Path(nodes), p
    elif "_nodes" in name:
        nodes_p, edges_p = p, _sibling(p, "_nodes", "_edges")
    elif "_edges" in name:
        nodes_p, edges_p = _sibling(p, "_edges", "_nodes"), p
    else:
        raise BadValueError(
            f"cannot tell the road-file format of {p}: expected .osm.pbf, .osm, .osm.bz2, a "
            "'*_edges.csv' table with its '*_nodes.csv' (pass nodes= for other table names), "
            "an osmnx .graphml, or a Travel Mapping '*travelmapping*.tar.gz' / hwy_data folder"
        )
    for q in (nodes_p, edges_p):
        if not q.exists():
            raise DataNotFoundError(f"road table {q} not found; check the path")
    return "tables", [nodes_p, edges_p]


def _sibling(p: Path, old: str, new: str) -> Path:
    base = p.name.replace(old, new)
    stem = base.split(".")[0]
    for cand in (base, stem + ".csv", stem + ".csv.gz"):
        q = p.with_name(cand)
        if q.exists():
            return q
    return p.with_name(base)


def _build(
    kind: str,
    inputs: list[Path],
    profile: SpeedProfile,
    progress: Callable[[int, int], None] | None,
) -> RoadNetwork:
    if kind == "osm":
        return build_from_osm(inputs[0], profile=profile, progress=progress)
    if kind == "travelmapping":
        # Travel Mapping has no OSM classes: its own speed model (accessmap.network.speedmodel,
        # defaults in the cache key via cache_options) replaces ``profile``.
        return build_from_travelmapping(inputs[0])
    if kind == "graphml":
        return build_from_graphml(inputs[0], profile=profile)
    return build_from_tables(inputs[0], inputs[1], profile=profile)


def load_travelmapping(
    path: str | os.PathLike[str],
    *,
    regions: Collection[str] | None = None,
    clip: Any = None,
    margin_m: float = DEFAULT_MARGIN_M,
    model: TravelMappingSpeedModel | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> RoadNetwork:
    """Cached :func:`build_from_travelmapping` (the cache of :func:`.graph.load_network`).

    The key hashes the input (path, size, mtime; for a folder every file's size and mtime),
    :data:`~accessmap.network.graph.BUILDER_VERSION`, the regions, the clip geometry (WKB hash)
    and margin, and every speed-model parameter. ``meta["cache"]`` is ``"hit"``, ``"miss"`` or
    ``"off"``.
    """
    model = model or DEFAULT_MODEL
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"Travel Mapping data {p} not found; check the path")
    if not use_cache:
        net = build_from_travelmapping(
            p, regions=regions, clip=clip, margin_m=margin_m, model=model
        )
        net.meta["cache"] = "off"
        return net
    opts = cache_options(regions=regions, clip=clip, margin_m=margin_m, model=model)
    key = cache_key([p], get_profile("osrm-car"), kind="travelmapping", extra=opts)
    cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = cdir / f"{p.name.split('.')[0]}-{key[:20]}.graph"
    if target.is_dir():
        try:
            net = read_store(target)
        except UnreadableFileError as exc:
            log.warning("ignoring unreadable cache file %s (%s); rebuilding", target, exc)
        else:
            net.meta["cache"] = "hit"
            net.meta["cache_file"] = str(target)
            return net
    net = build_from_travelmapping(p, regions=regions, clip=clip, margin_m=margin_m, model=model)
    net.meta["cache"] = "miss"
    net.meta["cache_file"] = str(target)
    try:
        write_store(net, target)
    except OSError as exc:
        log.warning("could not write network cache %s: %s", target, exc)
    return net


register_builder("travelmapping-cached", load_travelmapping)
register_builder("cached", load_network)
