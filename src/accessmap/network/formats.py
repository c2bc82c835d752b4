"""Recognise road-network files from their names and first bytes.

:func:`detect_road_format` tells which builder reads a file (moved here from
``accessmap.loaders.admin``, which re-exports it): OSM PBF / XML / bzip2 XML, the PFE and INSA
node/edge CSV tables, osmnx GraphML and the Travel Mapping waypoint data (archive or folder).
"""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path
from typing import Literal

from accessmap.data import validate as v
from accessmap.errors import DataNotFoundError, UnreadableFileError

__all__ = ["RoadFormat", "detect_road_format"]

RoadFormat = Literal[
    "osm_pbf",
    "osm_xml",
    "osm_bz2",
    "pfe_tables",
    "insa_tables",
    "graphml",
    "travelmapping",
]

_PFE_EDGE_COLS = {"node_id1", "node_id2", "speed", "type", "length"}
_INSA_EDGE_COLS = {"u", "v", "length_m", "highway", "maxspeed_kmh", "oneway"}


def _edges_sibling(p: Path) -> Path | None:
    name = p.name
    for suffix in ("_nodes.csv.gz", "_nodes.csv"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            for cand in (f"{stem}_edges.csv", f"{stem}_edges.csv.gz"):
                if (p.parent / cand).is_file():
                    return p.parent / cand
            return None
    return p


def _check_travelmapping_archive(p: Path) -> None:
    """A gzip-compressed tar holding ``hwy_data/.../*.wpt`` (reads the first members only)."""
    with open(p, "rb") as fh:
        head = fh.read(2)
    if p.name.lower().endswith((".tar.gz", ".tgz")) and head != b"\x1f\x8b":
        raise UnreadableFileError(
            f"{p.name}: not gzip-compressed (first bytes {head!r}); re-download the Travel "
            "Mapping archive"
        )
    try:
        with tarfile.open(p, mode="r:*") as tf:
            for i, m in enumerate(tf):
                if "/hwy_data/" in f"/{m.name}" and m.name.endswith(".wpt"):
                    return
                if i > 2000:
                    break
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableFileError(
            f"{p.name}: not a readable tar archive ({type(exc).__name__}: {exc}); re-download it"
        ) from exc
    raise UnreadableFileError(
        f"{p.name}: no hwy_data/<region>/<system>/*.wpt file near the start of the archive; is "
        "this the Travel Mapping HighwayData archive?"
    )


def detect_road_format(path: str | Path) -> RoadFormat:
    """Recognise a road-network file from its name and first bytes.

    ``.osm.pbf`` (checked for the ``OSMHeader`` block), ``.osm`` / ``.osm.xml`` (XML starting
    with ``<?xml`` or ``<osm``), ``.osm.bz2`` (bzip2 magic ``BZh``), CSV node/edge tables:
    ``pfe_tables`` (``node_id1,node_id2,speed,type,length``) or ``insa_tables``
    (``u,v,length_m,highway,maxspeed_kmh,oneway,...``), ``graphml`` (an XML ``.graphml``, as
    ``osmnx.save_graphml`` writes) and ``travelmapping`` (a ``*travelmapping*.tar.gz`` or
    ``HighwayData*.tar.gz`` archive holding ``hwy_data/.../*.wpt``, or a folder holding
    ``hwy_data/``). A ``*_nodes.csv`` path is resolved to its ``*_edges.csv[.gz]`` sibling.

    Raises
    ------
    DataNotFoundError
        Missing file (or missing edges sibling).
    UnreadableFileError
        The content does not match the name, or the format is not supported.
    """
    p = Path(path)
    if p.is_dir():
        if (p / "hwy_data").is_dir() or any(
            (q / "hwy_data").is_dir() for q in p.iterdir() if q.is_dir()
        ):
            return "travelmapping"
        raise UnreadableFileError(
            f"{p}: a folder without hwy_data/; road networks are files (.osm.pbf, .osm, "
            ".osm.bz2, node/edge CSV tables, .graphml) or a Travel Mapping folder"
        )
    p = v.require_file(path)
    name = p.name.lower()
    with open(p, "rb") as fh:
        head = fh.read(64)
    if name.endswith((".tar.gz", ".tgz", ".tar")) and (
        "travelmapping" in name or "highwaydata" in name
    ):
        _check_travelmapping_archive(p)
        return "travelmapping"
    if name.endswith(".graphml"):
        if not head.lstrip().startswith((b"<?xml", b"<graphml")):
            raise UnreadableFileError(
                f"{p.name}: not GraphML (starts with {head[:16]!r}); write it with "
                "osmnx.save_graphml"
            )
        return "graphml"
    if name.endswith(".osm.pbf") or name.endswith(".pbf"):
        if b"OSMHeader" not in head[:32]:
            raise UnreadableFileError(
                f"{p.name}: not an OSM PBF file (no OSMHeader block at the start, first bytes "
                f"{head[:8]!r}); re-download the extract"
            )
        return "osm_pbf"
    if name.endswith(".osm.bz2") or name.endswith(".bz2"):
        if not head.startswith(b"BZh"):
            raise UnreadableFileError(
                f"{p.name}: not bzip2-compressed (first bytes {head[:8]!r}); re-download it"
            )
        return "osm_bz2"
    if name.endswith(".osm") or name.endswith(".osm.xml"):
        if not head.lstrip().startswith((b"<?xml", b"<osm")):
            raise UnreadableFileError(
                f"{p.name}: not OSM XML (starts with {head[:16]!r}); re-export it from OSM"
            )
        return "osm_xml"
    if name.endswith((".csv", ".csv.gz")):
        edges = _edges_sibling(p)
        if edges is None:
            raise DataNotFoundError(
                f"{p.name}: node table without its edges table (expected "
                f"{p.name.replace('_nodes', '_edges')} next to it); copy both files"
            )
        head_df = v.read_csv(
            edges,
            columns=[],
            optional=sorted(_PFE_EDGE_COLS | _INSA_EDGE_COLS),
            nrows=5,
            allow_empty=True,
        )
        cols = set(head_df.columns)
        if _INSA_EDGE_COLS <= cols:
            return "insa_tables"
        if _PFE_EDGE_COLS <= cols:
            return "pfe_tables"
        raise UnreadableFileError(
            f"{edges.name}: edge table columns {sorted(cols)!r} match no known layout; expected "
            f"{sorted(_PFE_EDGE_COLS)} (pfe) or {sorted(_INSA_EDGE_COLS)} (insa)"
        )
    raise UnreadableFileError(
        f"{p.name}: unknown road-network format; use .osm.pbf, .osm, .osm.bz2, node/edge CSV "
        "tables, an osmnx .graphml or the Travel Mapping archive (see data/README.md)"
    )
