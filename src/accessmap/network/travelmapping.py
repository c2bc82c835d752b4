"""Road network from the Travel Mapping waypoint files (TravelMapping/HighwayData).

Travel Mapping (travelmapping.net) describes every autoroute, route nationale, European route
and route départementale of (almost) every French département as polylines of waypoints. The
files (``SOURCES-roads.md`` section 7 of the data directory):

* ``hwy_data/<REGION>/<system>/<route>.wpt``: one waypoint a line,
  ``LABEL [ALT_LABEL ...] http://www.openstreetmap.org/?lat=LAT&lon=LON`` (WGS84 degrees).
  Labels starting with ``+`` are hidden shaping points (bends); consecutive waypoints are
  joined by straight segments. Routes that meet share identical coordinates.
* ``systems.csv`` (``;``-separated, UTF-8 with BOM): ``System;CountryCode;Name;Color;Tier;Level``.

Build rules (:func:`build_edges`):

* **Nodes** are distinct coordinates (rounded to 1e-6 degree, about 0.1 m) that are a visible
  waypoint of some route, the end of a route, or shared by two waypoints (junctions, shared
  points, and hidden points another route passes through). The other hidden points are not
  nodes: they are kept as geometry, so an edge runs from node to node through its shaping
  points; its ``length_m`` is the polyline length (Euclidean in EPSG:2154) and its
  ``sinuosity`` that length over the straight node-to-node distance.
* Every edge is two-way (the files carry no one-way information).
* **Road class** from the system: ``fraa``/``frasf`` autoroutes and freeways, ``eure``/``eure2``
  European routes, ``fran`` (and Corsica ``fracort``) routes nationales, ``fra<reg>m<NN>``
  métropole roads, ``fra<reg>d<NN>`` and every other system (tourist routes ``fratr``, Corsica
  ``fracord``, foreign systems) départementales (see :func:`system_class`). Where routes run
  together (same two nodes, same length within 1 m + 0.1 %) the segment is kept once with the
  highest class.
* Optional **clip** to a study area (EPSG:2154 geometry) buffered by ``margin_m`` (default
  30 km, so that trips leaving the area and coming back are routed): nodes outside are dropped
  with their edges.
* Only the largest connected component is kept (every edge is two-way, so it is also the
  largest strongly connected component); what was dropped is counted in ``meta``.

Travel times come from :mod:`accessmap.network.speedmodel`.

Reading: a ``.tar.gz`` archive is streamed with :mod:`tarfile` (no unpacking step); an
extracted folder (the archive's top folder or any folder holding ``hwy_data/``) works too.
The archive of the GitHub repository at a commit (``HighwayData-<commit>/...``, all countries)
is read the same way: by default only the ``FRA-*`` regions are kept.

The Travel Mapping repository states no licence; waypoints are placed from OpenStreetMap
(ODbL) and départements' open data (Licence Ouverte). Attribute "Travel Mapping project;
© OpenStreetMap contributors".
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tarfile
import time
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from accessmap.config import SOURCE_CRS, WORKING_CRS
from accessmap.errors import (
    BadValueError,
    DataNotFoundError,
    MissingCRSError,
    NetworkBuildError,
    UnreadableFileError,
)
from accessmap.network.graph import (
    BUILDER_VERSION,
    RoadNetwork,
    register_builder,
)
from accessmap.network.speedmodel import (
    DEFAULT_MODEL,
    ROAD_CLASSES,
    TravelMappingSpeedModel,
    edge_times_min,
    node_density_per_km2,
    urban_share,
)

__all__ = [
    "DEFAULT_MARGIN_M",
    "TravelMappingEdges",
    "Waypoints",
    "build_edges",
    "build_from_travelmapping",
    "cache_options",
    "is_travelmapping_path",
    "read_waypoints",
    "system_class",
]

log = logging.getLogger(__name__)

#: Default margin around a clip geometry, metres (trips to a GP just across the border).
DEFAULT_MARGIN_M = 30_000.0

_LINE = re.compile(
    r"^[ \t]*(\S+)(?:[ \t]+\S+)*?[ \t]+http://www\.openstreetmap\.org/\?lat=(-?\d+(?:\.\d*)?)"
    r"&lon=(-?\d+(?:\.\d*)?)[ \t\r]*$",
    re.M,
)
_NONBLANK = re.compile(r"^[ \t\r]*\S", re.M)
_WPT_PATH = re.compile(r"(?:^|/)hwy_data/([^/_][^/]*)/([^/]+)/([^/]+\.wpt)$")
_SYSTEMS_PATH = re.compile(r"^(?:[^/]+/)?systems\.csv$")
_D_OR_M = re.compile(r"^fra[a-z]{3}([dm])[0-9a-z]+$")


# ------------------------------------------------------------------------------ classes
def system_class(system: str, tier: int | None = None) -> int:
    """Road-class code (index into :data:`~accessmap.network.speedmodel.ROAD_CLASSES`).

    ``fraa``, ``frasf``, ``frasf2`` -> 0 motorway; ``eure``, ``eure2`` -> 1 European route;
    ``fran``, ``fran2``, ``fracort`` -> 2 nationale; ``fra<reg>m<NN>`` -> 3 métropole;
    ``fra<reg>d<NN>`` -> 4 départementale. Other systems by their Travel Mapping tier
    (``systems.csv``): tier 1-2 motorway, 3 European, 4 nationale, 5+ (or unknown)
    départementale.

    Examples
    --------
    >>> [system_class(s) for s in ("fraa", "eure", "fran", "fraoccm31", "fraoccd48", "fratr")]
    [0, 1, 2, 3, 4, 4]
    """
    s = system.lower()
    if s in ("fraa", "frasf", "frasf2"):
        return 0
    if s in ("eure", "eure2"):
        return 1
    if s in ("fran", "fran2", "fracort"):
        return 2
    m = _D_OR_M.match(s)
    if m:
        return 3 if m.group(1) == "m" else 4
    if tier is not None:
        return 0 if tier <= 2 else 1 if tier == 3 else 2 if tier == 4 else 4
    return 4


# ------------------------------------------------------------------------------ reading
@dataclass(frozen=True)
class Waypoints:
    """Every waypoint of the files read, in file order.

    Attributes
    ----------
    lat, lon : numpy.ndarray of float64
        WGS84 degrees.
    hidden : numpy.ndarray of bool
        Primary label starts with ``+``.
    route : numpy.ndarray of int64
        Index into ``route_files`` / ``route_system`` / ``route_region``.
    route_files, route_system, route_region : list of str
        Per route: file name inside the source, system folder, region folder.
    systems : dict
        ``systems.csv`` rows: system -> ``{"name", "tier", "level", "country"}``.
    source : str
        Path read.
    """

    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    hidden: npt.NDArray[np.bool_]
    route: npt.NDArray[np.int64]
    route_files: list[str]
    route_system: list[str]
    route_region: list[str]
    systems: dict[str, dict[str, Any]]
    source: str


def is_travelmapping_path(path: str | os.PathLike[str]) -> bool:
    """True for a ``*.tar.gz``/``*.tgz`` whose name says Travel Mapping or HighwayData, or for
    a folder holding ``hwy_data/`` (directly or in its single subfolder)."""
    p = Path(path)
    name = p.name.lower()
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        return "travelmapping" in name or "highwaydata" in name
    return _folder_root(p) is not None


def _folder_root(p: Path) -> Path | None:
    if not p.is_dir():
        return None
    if (p / "hwy_data").is_dir():
        return p
    subs = [q for q in p.iterdir() if q.is_dir()]
    if len(subs) == 1 and (subs[0] / "hwy_data").is_dir():
        return subs[0]
    return None


def _iter_source(path: Path) -> Iterator[tuple[str, bytes]]:
    """Yield ``(relative name, bytes)`` of the systems.csv and .wpt files of a source."""
    if path.is_dir():
        root = _folder_root(path)
        if root is None:
            raise DataNotFoundError(
                f"{path}: no hwy_data/ folder inside; pass the Travel Mapping archive "
                "(.tar.gz) or the folder it extracts to"
            )
        sys_csv = root / "systems.csv"
        if sys_csv.is_file():
            yield "systems.csv", sys_csv.read_bytes()
        for dirpath, _dirs, files in os.walk(root / "hwy_data"):
            for f in sorted(files):
                if f.endswith(".wpt"):
                    full = Path(dirpath) / f
                    yield full.relative_to(root).as_posix(), full.read_bytes()
        return
    try:
        tf = tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UnreadableFileError(
            f"{path}: not a readable tar archive ({type(exc).__name__}: {exc}); re-download "
            "the Travel Mapping archive (accessmap data fetch travelmapping)"
        ) from exc
    try:
        with tf:
            for m in tf:
                if not m.isfile():
                    continue
                name = m.name
                if not (name.endswith(".wpt") or name.endswith("systems.csv")):
                    continue
                fh = tf.extractfile(m)
                if fh is None:
                    continue
                yield name, fh.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise UnreadableFileError(
            f"{path}: archive is truncated or corrupt ({type(exc).__name__}: {exc}); re-download it"
        ) from exc


def _parse_systems(name: str, raw: bytes, source: Path) -> dict[str, dict[str, Any]]:
    text = raw.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    if not lines:
        raise UnreadableFileError(f"{source}: {name} is empty; re-download the archive")
    header = [h.strip().lower() for h in lines[0].split(";")]
    need = ("system", "tier", "level")
    if not all(h in header for h in need):
        raise UnreadableFileError(
            f"{source}: {name} line 1 has columns {header!r}; expected "
            "System;CountryCode;Name;Color;Tier;Level (the Travel Mapping systems.csv)"
        )
    ix = {h: header.index(h) for h in header}
    out: dict[str, dict[str, Any]] = {}
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.lstrip().startswith("#"):  # comments: "#Preview Systems"
            continue
        cols = line.split(";")
        if len(cols) < len(header):
            raise UnreadableFileError(
                f"{source}: {name} line {lineno}: {line!r} has {len(cols)} fields, expected "
                f"{len(header)} (;-separated); fix or remove the line"
            )
        tier_s = cols[ix["tier"]].strip()
        try:
            tier = int(tier_s)
        except ValueError:
            raise BadValueError(
                f"{source}: {name} line {lineno}: Tier {tier_s!r} is not an integer; fix the "
                "line (tiers are 1 to 5)"
            ) from None
        out[cols[ix["system"]].strip().lower()] = {
            "tier": tier,
            "level": cols[ix["level"]].strip().lower(),
            "name": cols[ix["name"]].strip() if "name" in ix else "",
            "country": cols[ix["countrycode"]].strip() if "countrycode" in ix else "",
        }
    return out


def _bad_line(fname: str, text: str, source: Path) -> UnreadableFileError:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not _LINE.match(line):
            return UnreadableFileError(
                f"{source}: {fname} line {lineno}: {line.strip()[:120]!r} is not a waypoint; "
                "expected 'LABEL [ALT_LABEL ...] http://www.openstreetmap.org/?lat=LAT&lon=LON'"
                " (fix or remove the line)"
            )
    return UnreadableFileError(f"{source}: {fname}: cannot parse the waypoints; check the file")


def _normalise_regions(regions: Collection[str] | None, country: str) -> set[str] | None:
    if regions is None:
        return None
    out = set()
    for r in regions:
        r = str(r).strip().upper()
        out.add(r if "-" in r else f"{country.upper()}-{r}")
    return out


def read_waypoints(
    path: str | os.PathLike[str],
    *,
    regions: Collection[str] | None = None,
    country: str = "FRA",
    levels: Collection[str] = ("active", "preview", "devel"),
) -> Waypoints:
    """Read every waypoint of a Travel Mapping archive or folder.

    Parameters
    ----------
    path : path-like
        ``.tar.gz`` archive (streamed) or extracted folder.
    regions : collection of str, optional
        Region folders to keep, e.g. ``["FRA-OCC"]`` or ``["OCC", "NAQ"]``; default every
        ``<country>-*`` folder.
    country : str, default "FRA"
        Country prefix of region folders used when ``regions`` is None.
    levels : collection of str
        ``systems.csv`` levels to keep (``preview`` systems such as Isère's ``fraarad38`` are
        complete or nearly, so the default keeps every level).

    Raises
    ------
    DataNotFoundError
        Missing path, or no waypoint file for the regions asked.
    UnreadableFileError
        Corrupt archive, undecodable file, a line that is not a waypoint (the message names the
        file and line).
    BadValueError
        Latitude/longitude out of range.
    """
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(
            f"Travel Mapping data {p} not found; fetch it with `accessmap data fetch "
            "travelmapping` or set ACCESSMAP_DATA_DIR"
        )
    want = _normalise_regions(regions, country)
    prefix = country.upper() + "-"
    keep_levels = {lv.lower() for lv in levels}
    lat_parts: list[npt.NDArray[np.float64]] = []
    lon_parts: list[npt.NDArray[np.float64]] = []
    hid_parts: list[npt.NDArray[np.bool_]] = []
    count_parts: list[int] = []
    files: list[str] = []
    systems_of: list[str] = []
    regions_of: list[str] = []
    systems: dict[str, dict[str, Any]] = {}
    seen_regions: set[str] = set()
    for name, raw in _iter_source(p):
        if _SYSTEMS_PATH.search(name) and name.count("/") <= 1:
            systems = _parse_systems(name, raw, p)
            continue
        m = _WPT_PATH.search(name)
        if m is None:
            continue
        region, system, _fname = m.group(1), m.group(2).lower(), m.group(3)
        seen_regions.add(region)
        if want is not None:
            if region.upper() not in want:
                continue
        elif not region.upper().startswith(prefix):
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableFileError(
                f"{p}: {name}: not UTF-8 text ({exc}); re-download the archive"
            ) from exc
        found = _LINE.findall(text)
        if len(found) != len(_NONBLANK.findall(text)):
            raise _bad_line(name, text, p)
        if not found:
            continue
        labels, lats, lons = zip(*found, strict=True)
        lat_parts.append(np.array(lats, dtype=np.float64))
        lon_parts.append(np.array(lons, dtype=np.float64))
        hid_parts.append(np.array([lb.startswith("+") for lb in labels], dtype=bool))
        count_parts.append(len(found))
        files.append(name)
        systems_of.append(system)
        regions_of.append(region)
    if want is not None and not (want & {r.upper() for r in seen_regions}):
        raise DataNotFoundError(
            f"{p}: no waypoint file for regions {sorted(want)}; regions present: "
            f"{', '.join(sorted(seen_regions)) or 'none'}"
        )
    if not files:
        raise DataNotFoundError(
            f"{p}: no .wpt waypoint file under hwy_data/{prefix}*; is this the Travel Mapping "
            "HighwayData archive?"
        )
    # Level filter (needs systems.csv, which may come after the waypoint files in the archive).
    if systems and keep_levels != {"active", "preview", "devel"}:
        keep = [systems.get(s, {}).get("level", "active") in keep_levels for s in systems_of]
        sel = [i for i, k in enumerate(keep) if k]
        lat_parts = [lat_parts[i] for i in sel]
        lon_parts = [lon_parts[i] for i in sel]
        hid_parts = [hid_parts[i] for i in sel]
        count_parts = [count_parts[i] for i in sel]
        files = [files[i] for i in sel]
        systems_of = [systems_of[i] for i in sel]
        regions_of = [regions_of[i] for i in sel]
    lat = np.concatenate(lat_parts) if lat_parts else np.zeros(0)
    lon = np.concatenate(lon_parts) if lon_parts else np.zeros(0)
    bad = (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        route = int(np.searchsorted(np.cumsum(count_parts), i, side="right"))
        raise BadValueError(
            f"{p}: {files[route]}: waypoint lat={float(lat[i])} lon={float(lon[i])} is out of "
            "range (|lat| <= 90, |lon| <= 180); fix the coordinates"
        )
    return Waypoints(
        lat=lat,
        lon=lon,
        hidden=np.concatenate(hid_parts) if hid_parts else np.zeros(0, bool),
        route=np.repeat(np.arange(len(files), dtype=np.int64), count_parts),
        route_files=files,
        route_system=systems_of,
        route_region=regions_of,
        systems=systems,
        source=str(p),
    )


# ------------------------------------------------------------------------------ building
@dataclass(frozen=True)
class TravelMappingEdges:
    """Undirected node-to-node edges with the features the speed model needs.

    Attributes
    ----------
    u, v : numpy.ndarray of int64
        Node positions (``u < v`` not guaranteed); one row per undirected edge.
    road_class : numpy.ndarray of int8
        Index into :data:`~accessmap.network.speedmodel.ROAD_CLASSES`.
    length_m : numpy.ndarray of float64
        Polyline length through the shaping points (EPSG:2154 metres).
    chord_m : numpy.ndarray of float64
        Straight distance between the two nodes.
    n_shape : numpy.ndarray of int32
        Hidden shaping points inside the edge.
    x, y : numpy.ndarray of float64
        Node coordinates, EPSG:2154.
    node_ids : numpy.ndarray of int64
        ``(lat_e6 + 90e6) * 1e9 + (lon_e6 + 180e6)``: the node's coordinates in micro-degrees,
        stable across builds.
    node_density : numpy.ndarray of float64
        Nodes per km² within ``meta["urban_radius_m"]`` (measured before clipping).
    meta : dict
        Counts and provenance.
    """

    u: npt.NDArray[np.int64]
    v: npt.NDArray[np.int64]
    road_class: npt.NDArray[np.int8]
    length_m: npt.NDArray[np.float64]
    chord_m: npt.NDArray[np.float64]
    n_shape: npt.NDArray[np.int32]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    node_ids: npt.NDArray[np.int64]
    node_density: npt.NDArray[np.float64]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sinuosity(self) -> npt.NDArray[np.float64]:
        """Polyline length over straight distance (1 for a straight edge; capped at 10)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(self.chord_m > 1.0, self.length_m / self.chord_m, 1.0)
        return np.clip(s, 1.0, 10.0)

    def edge_urban_share(
        self, model: TravelMappingSpeedModel, node_urban: npt.ArrayLike | None = None
    ) -> npt.NDArray[np.float64]:
        """Urban share per edge: mean of its two nodes' shares (from density unless given)."""
        share = (
            urban_share(self.node_density, model)
            if node_urban is None
            else np.asarray(node_urban, dtype=np.float64)
        )
        if share.shape != self.x.shape:
            raise BadValueError(
                f"node_urban has {share.shape[0]} values for {self.x.shape[0]} nodes; pass one "
                "urban share (0..1) per network node"
            )
        return 0.5 * (share[self.u] + share[self.v])

    def to_network(
        self,
        model: TravelMappingSpeedModel = DEFAULT_MODEL,
        *,
        node_urban: npt.ArrayLike | None = None,
    ) -> RoadNetwork:
        """The two-way :class:`RoadNetwork` with edge times from ``model``.

        Straight edges (no shaping point) longer than ``model.node_spacing_m`` are split into
        ``ceil(length / node_spacing_m)`` equal pieces by nodes placed on the edge (they are
        on the road, since the edge is straight), each piece carrying its share of the edge's
        time and length: every path between the original nodes keeps its time, and points
        beside a long edge snap to it (:mod:`accessmap.network.speedmodel`, item 6). The new
        nodes come after the original ones; their ``node_ids`` use the same micro-degree
        encoding (:attr:`node_ids`). ``meta["split_nodes"]`` counts them.

        Parameters
        ----------
        model : TravelMappingSpeedModel
            Speed model.
        node_urban : array-like of float, optional
            Urban share (0..1) per node, e.g. from commune population density; default from
            the network's own node density.
        """
        tt = edge_times_min(
            self.road_class,
            self.length_m,
            self.sinuosity,
            self.edge_urban_share(model, node_urban),
            model,
        )
        u, v, t, ln, x, y, ids = _split_straight_edges(self, tt, model.node_spacing_m)
        meta = dict(self.meta)
        meta["speed_model"] = model.to_dict()
        meta["profile"] = model.name
        meta["split_nodes"] = int(x.shape[0] - self.x.shape[0])
        return RoadNetwork.from_arrays(
            np.concatenate([u, v]),
            np.concatenate([v, u]),
            np.concatenate([t, t]),
            x,
            y,
            ids,
            length_m=np.concatenate([ln, ln]),
            largest_scc=False,
            meta=meta,
        )


def _split_straight_edges(
    e: TravelMappingEdges, tt: npt.NDArray[np.float64], spacing_m: float
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
]:
    """Split straight edges longer than ``spacing_m`` into equal pieces (see ``to_network``).

    Returns ``u, v, minutes, length_m`` per (undirected) piece and the node ``x, y, ids``.
    """
    n_e = int(e.u.shape[0])
    k = np.ones(n_e, dtype=np.int64)
    if spacing_m > 0 and n_e:
        straight = e.n_shape == 0
        k = np.where(straight, np.maximum(1, np.ceil(e.length_m / spacing_m)), 1).astype(np.int64)
    if n_e == 0 or int(k.max()) == 1:
        return e.u, e.v, tt, e.length_m, e.x, e.y, e.node_ids
    eidx = np.repeat(np.arange(n_e), k)
    pos = np.arange(eidx.shape[0]) - np.repeat(np.cumsum(k) - k, k)  # piece 0..k-1
    kk = k[eidx]
    inner = pos > 0  # pieces that start at a new node
    n0 = int(e.x.shape[0])
    start = np.where(inner, 0, e.u[eidx])
    start[inner] = n0 + np.arange(int(inner.sum()))
    end = np.empty_like(start)
    end[:-1] = start[1:]
    last = pos == kk - 1
    end[last] = e.v[eidx[last]]
    ei = eidx[inner]
    f = pos[inner] / kk[inner]
    nx_ = e.x[e.u[ei]] + f * (e.x[e.v[ei]] - e.x[e.u[ei]])
    ny_ = e.y[e.u[ei]] + f * (e.y[e.v[ei]] - e.y[e.u[ei]])
    new_ids = _node_keys(nx_, ny_)
    if np.isin(new_ids, e.node_ids).any() or _dup_mask(new_ids).any():
        # a piece end within 0.1 m of another node: shift its id by 1e-6 degree of longitude
        taken = set(e.node_ids.tolist())
        for i in range(new_ids.shape[0]):
            key = int(new_ids[i])
            while key in taken:
                key += 1
            new_ids[i] = key
            taken.add(key)
    return (
        start.astype(np.int64),
        end.astype(np.int64),
        tt[eidx] / kk,
        e.length_m[eidx] / kk,
        np.concatenate([e.x, nx_]),
        np.concatenate([e.y, ny_]),
        np.concatenate([e.node_ids, new_ids]),
    )


def _dup_mask(a: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """True for every repeat of a value already seen earlier in ``a``."""
    _, first = np.unique(a, return_index=True)
    out = np.ones(a.shape[0], dtype=bool)
    out[first] = False
    return out


def _node_keys(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """``(lat_e6 + 90e6) * 1e9 + (lon_e6 + 180e6)`` of EPSG:2154 points (the node id encoding)."""
    from pyproj import Transformer

    if x.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    tr = Transformer.from_crs(WORKING_CRS, SOURCE_CRS, always_xy=True)
    lon, lat = tr.transform(x, y)
    lat_e6 = np.rint(np.asarray(lat) * 1e6).astype(np.int64)
    lon_e6 = np.rint(np.asarray(lon) * 1e6).astype(np.int64)
    return (lat_e6 + 90_000_000) * 1_000_000_000 + (lon_e6 + 180_000_000)


def _to_working_crs(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> Any:
    from pyproj import Transformer

    tr = Transformer.from_crs(SOURCE_CRS, WORKING_CRS, always_xy=True)
    return tr.transform(lon, lat)


def _clip_mask(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], clip: Any, margin_m: float
) -> npt.NDArray[np.bool_]:
    import shapely

    geom = _clip_geometry(clip)
    area = geom.buffer(margin_m, quad_segs=4) if margin_m > 0 else geom
    area = shapely.simplify(area, tolerance=max(margin_m / 100.0, 1.0))
    shapely.prepare(area)
    return np.asarray(shapely.contains_xy(area, x, y), dtype=bool)


def _clip_geometry(clip: Any) -> Any:
    """A single shapely geometry in EPSG:2154 from a geometry, GeoSeries or GeoDataFrame."""
    import shapely

    if hasattr(clip, "crs") and hasattr(clip, "geometry"):
        crs = clip.crs
        if crs is None:
            raise MissingCRSError(
                "clip layer has no CRS; set it (e.g. gdf.set_crs('EPSG:2154')) before clipping"
            )
        if crs.to_epsg() != 2154:
            clip = clip.to_crs(WORKING_CRS)
        return shapely.union_all(np.asarray(clip.geometry.values))
    if isinstance(clip, shapely.Geometry):
        if clip.is_empty:
            raise BadValueError("clip geometry is empty; pass the study-area polygon(s)")
        b = clip.bounds
        if -180 <= b[0] and b[2] <= 180 and -90 <= b[1] and b[3] <= 90:
            raise BadValueError(
                f"clip geometry bounds {tuple(round(c, 3) for c in b)} look like lon/lat "
                "degrees; pass it in EPSG:2154 metres (e.g. gdf.to_crs('EPSG:2154'))"
            )
        return clip
    raise BadValueError(
        f"clip must be a shapely geometry or a GeoDataFrame/GeoSeries, got {type(clip).__name__}"
    )


def clip_token(clip: Any, margin_m: float) -> str | None:
    """Hash of a clip geometry and margin (part of the cache key); None without clip."""
    if clip is None:
        return None
    import shapely

    geom = shapely.normalize(_clip_geometry(clip))
    h = hashlib.sha256(shapely.to_wkb(geom, hex=False, output_dimension=2))
    h.update(repr(float(margin_m)).encode())
    return h.hexdigest()


def build_edges(
    wp: Waypoints,
    *,
    clip: Any = None,
    margin_m: float = DEFAULT_MARGIN_M,
    urban_radius_m: float = DEFAULT_MODEL.urban_radius_m,
) -> TravelMappingEdges:
    """Turn waypoints into node-to-node edges (rules in the module docstring).

    Parameters
    ----------
    wp : Waypoints
        From :func:`read_waypoints`.
    clip : shapely geometry, GeoSeries or GeoDataFrame, optional
        Study area (EPSG:2154 for a bare geometry; layers are reprojected).
    margin_m : float, default 30 000
        Buffer around ``clip``.
    urban_radius_m : float
        Radius of the node-density window
        (:func:`~accessmap.network.speedmodel.node_density_per_km2`).

    Raises
    ------
    NetworkBuildError
        No edge (e.g. the clip area misses the data).
    """
    t0 = time.perf_counter()
    n_wp = int(wp.lat.shape[0])
    lat_e6 = np.rint(wp.lat * 1e6).astype(np.int64)
    lon_e6 = np.rint(wp.lon * 1e6).astype(np.int64)
    key = (lat_e6 + 90_000_000) * 1_000_000_000 + (lon_e6 + 180_000_000)
    route = wp.route
    # Drop a waypoint repeating the previous one of the same route (zero-length segment).
    dup = np.zeros(n_wp, dtype=bool)
    dup[1:] = (key[1:] == key[:-1]) & (route[1:] == route[:-1])
    if dup.any():
        keep = ~dup
        key, route, hidden = key[keep], route[keep], wp.hidden[keep]
        lat_e6, lon_e6 = lat_e6[keep], lon_e6[keep]
    else:
        hidden = wp.hidden
    n = int(key.shape[0])
    uniq, inv = np.unique(key, return_inverse=True)
    n_pts = int(uniq.shape[0])
    occurrences = np.bincount(inv, minlength=n_pts)
    visible = np.bincount(inv, weights=(~hidden).astype(np.float64), minlength=n_pts) > 0
    starts = np.ones(n, dtype=bool)
    starts[1:] = route[1:] != route[:-1]
    ends = np.ones(n, dtype=bool)
    ends[:-1] = route[1:] != route[:-1]
    endpoint = np.zeros(n_pts, dtype=bool)
    endpoint[inv[starts | ends]] = True
    is_node_pt = visible | (occurrences >= 2) | endpoint
    seg = ~ends  # segment i -> i + 1 inside a route
    n_segments = int(seg.sum())
    # Undirected distinct point pairs: the figure SOURCES-roads.md quotes.
    a_pt, b_pt = inv[:-1][seg[:-1]], inv[1:][seg[:-1]]
    pair = np.unique(np.minimum(a_pt, b_pt) * n_pts + np.maximum(a_pt, b_pt))

    px, py = _to_working_crs(uniq % 1_000_000_000 / 1e6 - 180.0, uniq // 1_000_000_000 / 1e6 - 90.0)
    px = np.asarray(px, dtype=np.float64)
    py = np.asarray(py, dtype=np.float64)
    wx, wy = px[inv], py[inv]
    seg_len = np.zeros(n)
    seg_len[:-1] = np.hypot(wx[1:] - wx[:-1], wy[1:] - wy[:-1])
    seg_len[ends] = 0.0

    # Pieces: from a node waypoint to the next node waypoint of the same route.
    node_wp = is_node_pt[inv]
    piece = np.cumsum(node_wp) - 1  # piece started by the latest node waypoint
    seg_idx = np.flatnonzero(seg)
    seg_piece = piece[seg_idx]
    n_pieces_all = int(piece[-1]) + 1 if n else 0
    p_len = np.bincount(seg_piece, weights=seg_len[seg_idx], minlength=n_pieces_all)
    p_nseg = np.bincount(seg_piece, minlength=n_pieces_all)
    has = p_nseg > 0
    start_wp = np.flatnonzero(node_wp)  # waypoint that starts piece k
    # Segments of piece k are contiguous: its end waypoint is start_wp[k] + p_nseg[k].
    pid = np.flatnonzero(has)
    pu = inv[start_wp[pid]]
    pv = inv[start_wp[pid] + p_nseg[pid]]
    plen = p_len[pid]
    pshape = (p_nseg[pid] - 1).astype(np.int32)
    sys_cls = np.array(
        [system_class(s, wp.systems.get(s, {}).get("tier")) for s in wp.route_system],
        dtype=np.int8,
    )
    pcls = sys_cls[route[start_wp[pid]]] if pid.size else np.zeros(0, np.int8)

    # Concurrent routes: same node pair, same length (1 m + 0.1 %) -> one edge, highest class.
    lo, hi = np.minimum(pu, pv), np.maximum(pu, pv)
    order = np.lexsort((pcls, plen, hi, lo))
    lo, hi, plen, pcls, pshape = lo[order], hi[order], plen[order], pcls[order], pshape[order]
    new = np.ones(lo.shape[0], dtype=bool)
    if lo.size:
        same_pair = (lo[1:] == lo[:-1]) & (hi[1:] == hi[:-1])
        close = np.abs(plen[1:] - plen[:-1]) <= 1.0 + 1e-3 * plen[:-1]
        new[1:] = ~(same_pair & close)
    grp = np.cumsum(new) - 1
    g_first = np.flatnonzero(new)
    g_cls = np.full(g_first.shape[0], 127, dtype=np.int8)
    np.minimum.at(g_cls, grp, pcls)
    concurrent = int(lo.shape[0] - g_first.shape[0])
    eu, ev = lo[g_first], hi[g_first]
    elen, ecls, eshape = plen[g_first], g_cls, pshape[g_first]
    loops = eu == ev
    eu, ev, elen, ecls, eshape = eu[~loops], ev[~loops], elen[~loops], ecls[~loops], eshape[~loops]

    # Node set: node points used by an edge.
    used = np.zeros(n_pts, dtype=bool)
    used[eu] = True
    used[ev] = True
    node_pt = np.flatnonzero(used)
    density_all = node_density_per_km2(px[node_pt], py[node_pt], urban_radius_m)
    meta: dict[str, Any] = {
        "source": wp.source,
        "format": "travelmapping",
        "builder_version": BUILDER_VERSION,
        "regions": sorted(set(wp.route_region)),
        "routes": len(wp.route_files),
        "waypoints": n_wp,
        "hidden_waypoints": int(wp.hidden.sum()),
        "points_distinct": n_pts,
        "point_pairs": int(pair.shape[0]),
        "segments": n_segments,
        "concurrent_pieces_merged": concurrent,
        "self_loop_pieces_dropped": int(loops.sum()),
        "urban_radius_m": float(urban_radius_m),
        "attribution": "Travel Mapping project; © OpenStreetMap contributors",
        "licence": "none stated; coordinates derived from OpenStreetMap (ODbL) and open "
        "département data (Licence Ouverte)",
    }
    keep_node = np.ones(node_pt.shape[0], dtype=bool)
    new_pos = np.full(n_pts, -1, dtype=np.int64)
    new_pos[node_pt] = np.arange(node_pt.shape[0])
    eu, ev = new_pos[eu], new_pos[ev]
    nx_, ny_ = px[node_pt], py[node_pt]
    if clip is not None:
        keep_node = _clip_mask(nx_, ny_, clip, margin_m)
        meta["clip_margin_m"] = float(margin_m)
        meta["clip_nodes_dropped"] = int((~keep_node).sum())
    keep_edge = keep_node[eu] & keep_node[ev]
    meta["clip_edges_dropped"] = int((~keep_edge).sum()) if clip is not None else 0
    eu, ev = eu[keep_edge], ev[keep_edge]
    elen, ecls, eshape = elen[keep_edge], ecls[keep_edge], eshape[keep_edge]
    if eu.size == 0:
        raise NetworkBuildError(
            f"{wp.source}: no road edge left"
            + (
                " inside the clip area plus margin; check the clip geometry's CRS (EPSG:2154)"
                if clip is not None
                else "; check the regions asked for"
            )
        )
    # Largest connected component (two-way edges: weak = strong connectivity).
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nn = node_pt.shape[0]
    adj = coo_matrix((np.ones(eu.shape[0], np.int8), (eu, ev)), shape=(nn, nn)).tocsr()
    n_comp, labels = connected_components(adj, directed=False)
    sizes = np.bincount(labels[keep_node], minlength=n_comp)
    big = int(np.argmax(sizes))
    in_big = keep_node & (labels == big)
    e_big = in_big[eu]
    meta["components"] = int(n_comp - (~keep_node).sum())
    meta["nodes_dropped"] = int(keep_node.sum() - in_big.sum())
    meta["edges_dropped"] = int((~e_big).sum())
    meta["km_dropped"] = round(float(elen[~e_big].sum()) / 1000.0, 3)
    pos2 = np.full(nn, -1, dtype=np.int64)
    pos2[in_big] = np.arange(int(in_big.sum()))
    eu, ev = pos2[eu[e_big]], pos2[ev[e_big]]
    elen, ecls, eshape = elen[e_big], ecls[e_big], eshape[e_big]
    fx, fy = nx_[in_big], ny_[in_big]
    chord = np.hypot(fx[eu] - fx[ev], fy[eu] - fy[ev])
    meta.update(
        {
            "edges_undirected": int(eu.shape[0]),
            "km": round(float(elen.sum()) / 1000.0, 3),
            "km_by_class": {
                c: round(float(elen[ecls == i].sum()) / 1000.0, 3)
                for i, c in enumerate(ROAD_CLASSES)
            },
            "build_seconds": round(time.perf_counter() - t0, 3),
        }
    )
    return TravelMappingEdges(
        u=eu,
        v=ev,
        road_class=ecls.astype(np.int8),
        length_m=elen,
        chord_m=chord,
        n_shape=eshape,
        x=fx,
        y=fy,
        node_ids=uniq[node_pt][in_big],
        node_density=density_all[in_big],
        meta=meta,
    )


def build_from_travelmapping(
    path: str | os.PathLike[str],
    *,
    regions: Collection[str] | None = None,
    clip: Any = None,
    margin_m: float = DEFAULT_MARGIN_M,
    model: TravelMappingSpeedModel = DEFAULT_MODEL,
) -> RoadNetwork:
    """Read, build and time a Travel Mapping network (no cache; see :func:`load_travelmapping`).

    Parameters
    ----------
    path : path-like
        Archive or folder.
    regions : collection of str, optional
        Region folders (``"FRA-OCC"`` or ``"OCC"``); default all of France.
    clip : geometry or layer, optional
        Study area; with ``margin_m`` around it.
    margin_m : float, default 30 000
        Buffer around ``clip``, metres.
    model : TravelMappingSpeedModel
        Speed model for the edge times.
    """
    t0 = time.perf_counter()
    wp = read_waypoints(path, regions=regions)
    t_read = time.perf_counter() - t0
    edges = build_edges(wp, clip=clip, margin_m=margin_m, urban_radius_m=model.urban_radius_m)
    net = edges.to_network(model)
    net.meta["read_seconds"] = round(t_read, 3)
    net.meta["build_seconds"] = round(time.perf_counter() - t0, 3)
    log.info(
        "Travel Mapping network %s: %d nodes, %d edges (%.1f s)",
        path,
        net.n_nodes,
        net.n_edges,
        net.meta["build_seconds"],
    )
    return net


def cache_options(
    *,
    regions: Collection[str] | None = None,
    clip: Any = None,
    margin_m: float = DEFAULT_MARGIN_M,
    model: TravelMappingSpeedModel = DEFAULT_MODEL,
) -> dict[str, Any]:
    """The build options that enter the cache key (clip as a geometry hash)."""
    return {
        "regions": sorted(_normalise_regions(regions, "FRA") or []) or None,
        "clip": clip_token(clip, margin_m),
        "margin_m": float(margin_m) if clip is not None else None,
        "speed_model": model.to_dict(),
    }


register_builder("travelmapping", build_from_travelmapping)
