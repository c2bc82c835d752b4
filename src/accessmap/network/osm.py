"""Build a drivable :class:`~accessmap.network.graph.RoadNetwork` from an OpenStreetMap file.

Reads ``.osm.pbf``, ``.osm`` and ``.osm.bz2`` (also ``.osm.gz``) with pyosmium (libosmium):
a :class:`osmium.SimpleHandler` with a node-location index, so only the ways reach Python
and node coordinates come from the C++ index.

Rules (each follows the OSRM car profile ``profiles/car.lua`` or the osmnx ``drive``
network type, as cited):

* **Drivable classes** (:data:`DRIVABLE_HIGHWAYS`): ``motorway``, ``trunk``, ``primary``,
  ``secondary``, ``tertiary`` and their ``_link`` roads, ``unclassified``, ``residential``,
  ``living_street``, ``service`` and ``road``. Tracks, paths, footways, cycleways,
  pedestrian streets, ``construction`` and ``proposed`` are not drivable (as in osmnx
  ``drive`` and OSRM car; OSRM also routes ``track``, we do not: rural tracks are rarely the
  way to a GP).
* **Areas**: ways tagged ``area=yes`` are dropped (squares mapped as polygons).
* **Access**: the most specific of ``motorcar``, ``motor_vehicle``, ``vehicle``, ``access``
  that is present decides (OSRM ``access_tags_hierarchy``); values in
  :data:`DENIED_ACCESS` (``no``, ``private``, ``agricultural``, ``forestry``, ``emergency``,
  ``psv``: OSRM ``access_tag_blacklist``) drop the way. So ``access=private`` +
  ``motor_vehicle=yes`` is kept; ``destination``/``delivery`` ways are kept.
  ``service=emergency_access`` is dropped (OSRM ``service_tag_forbidden``).
* **One-way**: ``oneway`` = ``yes``/``true``/``1`` keeps the way's direction, ``-1`` /
  ``reverse`` the opposite, ``no``/``false``/``0`` both. Without a ``oneway`` tag,
  ``junction=roundabout``/``circular`` and ``highway=motorway`` are one-way (implied by the
  OSM wiki "Key:oneway" and by OSRM). ``oneway=reversible``/``alternating`` ways are dropped
  (their direction changes during the day; OSRM drops them too).
* **Geometry**: the graph is kept at OSM-node level (not simplified): every pair of
  consecutive way nodes is an edge, so every road vertex is a snapping candidate. Node
  coordinates are projected once to EPSG:2154 (Lambert-93) with one vectorised pyproj
  call; segment lengths are Euclidean in Lambert-93 (scale error under 0.1 % in
  metropolitan France, more outside it, e.g. about +0.2 % at Andorra's latitude).
* **Speed**: per way, ``maxspeed`` parsed with French implicit values, scaled by the
  profile, else the class speed (:mod:`accessmap.network.speeds`); travel time in minutes =
  ``length_m / 1000 / speed_kmh * 60``. ``maxspeed:forward`` / ``maxspeed:backward``
  (relative to the way's node order) override ``maxspeed`` in their direction.
* Turn restrictions, traffic signals and ferries are ignored.

Ways that refer to nodes missing from the file (clipped extracts) are cut at those nodes.
Then :meth:`RoadNetwork.from_arrays` drops self-loops, keeps the fastest of parallel edges
and keeps the largest strongly connected component.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from array import array
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import osmium
import pandas as pd
from pyproj import Transformer

from accessmap.config import SOURCE_CRS, WORKING_CRS
from accessmap.errors import DataNotFoundError, NetworkBuildError, UnreadableFileError
from accessmap.network.graph import BUILDER_VERSION, RoadNetwork, register_builder
from accessmap.network.speeds import SpeedProfile, get_profile, parse_maxspeed_array

__all__ = [
    "DENIED_ACCESS",
    "DRIVABLE_HIGHWAYS",
    "OsmWays",
    "build_from_osm",
    "read_osm_ways",
]

log = logging.getLogger(__name__)

#: OSM ``highway`` values routed by car (see the module docstring).
DRIVABLE_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
)

#: Access values that forbid cars (OSRM car.lua ``access_tag_blacklist``).
DENIED_ACCESS: frozenset[str] = frozenset(
    {"no", "private", "agricultural", "forestry", "emergency", "psv"}
)

_ACCESS_HIERARCHY = ("motorcar", "motor_vehicle", "vehicle", "access")
_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
_ONEWAY_BOTH = frozenset({"no", "false", "0"})
_ONEWAY_DROP = frozenset({"reversible", "alternating"})
_OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".o5m")


class OsmWays:
    """The drivable ways of an OSM file, as flat arrays (one row per way node).

    Attributes
    ----------
    way_highway, way_maxspeed : list of str or None
        Per way: ``highway`` class and raw ``maxspeed`` value.
    way_maxspeed_forward, way_maxspeed_backward : list of str or None
        Per way: raw ``maxspeed:forward`` and ``maxspeed:backward`` values.
    way_oneway : numpy.ndarray of int8
        Per way: 1 forward only, -1 backward only, 0 both directions.
    way_id : numpy.ndarray of int64
        Per way: OSM way id.
    node_way : numpy.ndarray of int64
        Per way node: index of its way.
    node_ref, node_lon, node_lat : numpy.ndarray
        Per way node: OSM node id and WGS84 location (NaN when the node is missing).
    counts : dict
        Ways seen, kept and dropped by reason.
    """

    def __init__(self) -> None:
        self.way_highway: list[str] = []
        self.way_maxspeed: list[str | None] = []
        self.way_maxspeed_forward: list[str | None] = []
        self.way_maxspeed_backward: list[str | None] = []
        self.way_oneway: npt.NDArray[np.int8] = np.zeros(0, dtype=np.int8)
        self.way_id: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.node_way: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.node_ref: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.node_lon: npt.NDArray[np.float64] = np.zeros(0, dtype=np.float64)
        self.node_lat: npt.NDArray[np.float64] = np.zeros(0, dtype=np.float64)
        self.counts: dict[str, int] = {}


class _WayHandler(osmium.SimpleHandler):  # type: ignore[misc]
    """Collect drivable ways; only :meth:`way` is a Python callback."""

    def __init__(self, classes: Collection[str], denied: Collection[str]) -> None:
        super().__init__()
        self.classes = frozenset(classes)
        self.denied = frozenset(denied)
        self.highway: list[str] = []
        self.maxspeed: list[str | None] = []
        self.maxspeed_fwd: list[str | None] = []
        self.maxspeed_bwd: list[str | None] = []
        self.oneway = array("b")
        self.way_id = array("q")
        self.node_way = array("q")
        self.ref = array("q")
        self.lon = array("d")
        self.lat = array("d")
        self.counts = {
            "ways_highway": 0,
            "ways_not_drivable": 0,
            "ways_no_access": 0,
            "ways_area": 0,
            "ways_reversible": 0,
            "ways_kept": 0,
            "way_nodes_missing": 0,
        }

    def way(self, w: Any) -> None:
        tags = w.tags
        hw = tags.get("highway")
        if hw is None:
            return
        self.counts["ways_highway"] += 1
        if hw not in self.classes:
            self.counts["ways_not_drivable"] += 1
            return
        if tags.get("area") == "yes":
            self.counts["ways_area"] += 1
            return
        for key in _ACCESS_HIERARCHY:
            val = tags.get(key)
            if val is not None:
                if val in self.denied:
                    self.counts["ways_no_access"] += 1
                    return
                break
        if tags.get("service") == "emergency_access":
            self.counts["ways_no_access"] += 1
            return
        ow = tags.get("oneway")
        if ow is None:
            implied = tags.get("junction") in ("roundabout", "circular") or hw == "motorway"
            direction = 1 if implied else 0
        elif ow in _ONEWAY_FORWARD:
            direction = 1
        elif ow in _ONEWAY_BACKWARD:
            direction = -1
        elif ow in _ONEWAY_DROP:
            self.counts["ways_reversible"] += 1
            return
        else:  # "no" and unknown values: two-way (osmnx and OSRM read unknown values as no)
            direction = 0
        nodes = w.nodes
        k = len(self.highway)
        try:  # one pass over the node list: each access builds a NodeRef in Python
            data = [(nd.ref, nd.lon, nd.lat) for nd in nodes]
        except osmium.InvalidLocationError:
            data = []
            for nd in nodes:
                loc = nd.location
                if loc.valid():
                    data.append((nd.ref, loc.lon, loc.lat))
                else:
                    data.append((nd.ref, math.nan, math.nan))
                    self.counts["way_nodes_missing"] += 1
        refs, lons, lats = zip(*data, strict=True)
        self.ref.extend(refs)
        self.lon.extend(lons)
        self.lat.extend(lats)
        self.node_way.extend([k] * len(data))
        self.highway.append(hw)
        self.maxspeed.append(tags.get("maxspeed"))
        self.maxspeed_fwd.append(tags.get("maxspeed:forward"))
        self.maxspeed_bwd.append(tags.get("maxspeed:backward"))
        self.oneway.append(direction)
        self.way_id.append(w.id)
        self.counts["ways_kept"] += 1


@functools.lru_cache(maxsize=1)
def lonlat_to_working_crs() -> Transformer:
    """The WGS84 lon/lat -> EPSG:2154 transformer (built once per process: proj start-up
    costs about 0.1-0.2 s)."""
    return Transformer.from_crs(SOURCE_CRS, WORKING_CRS, always_xy=True)


def _check_osm_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"OSM file {p} not found; check the path or fetch the extract")
    if not p.name.lower().endswith(_OSM_SUFFIXES):
        raise UnreadableFileError(
            f"{p}: not an OSM file name (expected one of {', '.join(_OSM_SUFFIXES)}); "
            "rename the file with the suffix matching its format"
        )
    if p.stat().st_size == 0:
        raise UnreadableFileError(f"{p}: the OSM file is empty (0 bytes); download it again")
    return p


def read_osm_ways(
    path: str | os.PathLike[str],
    *,
    highway_classes: Collection[str] = DRIVABLE_HIGHWAYS,
    denied_access: Collection[str] = DENIED_ACCESS,
) -> OsmWays:
    """Read the drivable ways of an OSM file with their node locations.

    Parameters
    ----------
    path : path-like
        ``.osm.pbf``, ``.osm``, ``.osm.bz2`` or ``.osm.gz`` file.
    highway_classes : collection of str, keyword-only
        ``highway`` values to keep (default :data:`DRIVABLE_HIGHWAYS`).
    denied_access : collection of str, keyword-only
        Access values that drop a way (default :data:`DENIED_ACCESS`).

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    UnreadableFileError
        Empty, truncated or corrupt file (the libosmium message is quoted).
    """
    p = _check_osm_path(path)
    handler = _WayHandler(highway_classes, denied_access)
    try:
        handler.apply_file(str(p), locations=True, filters=[osmium.filter.KeyFilter("highway")])
    except RuntimeError as exc:
        raise UnreadableFileError(
            f"{p}: cannot read OSM data ({exc}); the file is truncated or corrupt, download "
            "it again (check its size and checksum)"
        ) from exc
    out = OsmWays()
    out.way_highway = handler.highway
    out.way_maxspeed = handler.maxspeed
    out.way_maxspeed_forward = handler.maxspeed_fwd
    out.way_maxspeed_backward = handler.maxspeed_bwd
    out.way_oneway = np.frombuffer(handler.oneway, dtype=np.int8).copy()
    out.way_id = np.frombuffer(handler.way_id, dtype=np.int64).copy()
    out.node_way = np.frombuffer(handler.node_way, dtype=np.int64).copy()
    out.node_ref = np.frombuffer(handler.ref, dtype=np.int64).copy()
    out.node_lon = np.frombuffer(handler.lon, dtype=np.float64).copy()
    out.node_lat = np.frombuffer(handler.lat, dtype=np.float64).copy()
    out.counts = dict(handler.counts)
    return out


def build_from_osm(
    path: str | os.PathLike[str],
    *,
    profile: str | SpeedProfile = "osrm-car",
    highway_classes: Collection[str] = DRIVABLE_HIGHWAYS,
    denied_access: Collection[str] = DENIED_ACCESS,
    progress: Callable[[int, int], None] | None = None,
) -> RoadNetwork:
    """Build the drivable, directed network of an OSM file (no cache; see ``load_network``).

    Parameters
    ----------
    path : path-like
        OSM file.
    profile : str or SpeedProfile, keyword-only
        Speed profile (default ``"osrm-car"``).
    highway_classes, denied_access : collection of str, keyword-only
        Overrides of :data:`DRIVABLE_HIGHWAYS` and :data:`DENIED_ACCESS` (they are not part
        of the cache key: use :func:`load_network` only with the defaults).
    progress : callable, optional
        ``progress(done, total)`` over the four build steps.

    Returns
    -------
    RoadNetwork
        Largest strongly connected component; ``meta`` records the way counts by reason,
        the nodes and edges dropped, the profile and the build time.

    Raises
    ------
    DataNotFoundError, UnreadableFileError
        Missing, empty, truncated or corrupt file.
    NetworkBuildError
        No drivable road in the file.
    UnknownProfileError
        Unknown profile name.
    """
    prof = get_profile(profile)
    t0 = time.perf_counter()
    total = 4

    def _tick(i: int) -> None:
        if progress is not None:
            progress(i, total)

    ways = read_osm_ways(path, highway_classes=highway_classes, denied_access=denied_access)
    _tick(1)
    if ways.way_id.size == 0:
        raise NetworkBuildError(
            f"{path}: no drivable road in the file ({ways.counts['ways_highway']} highway ways, "
            f"none of the drivable classes {', '.join(sorted(highway_classes))} with car "
            "access); give an OSM extract with the road network"
        )
    # Nodes: unique OSM ids; coordinates from the first occurrence.
    node_ids, first, inverse = np.unique(ways.node_ref, return_index=True, return_inverse=True)
    lon = ways.node_lon[first]
    lat = ways.node_lat[first]
    x, y = lonlat_to_working_crs().transform(lon, lat)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    _tick(2)

    # Segments: consecutive nodes of the same way, both ends located.
    same_way = ways.node_way[1:] == ways.node_way[:-1]
    a = inverse[:-1][same_way]
    b = inverse[1:][same_way]
    seg_way = ways.node_way[:-1][same_way]
    located = np.isfinite(x[a]) & np.isfinite(x[b])
    a, b, seg_way = a[located], b[located], seg_way[located]
    length = np.hypot(x[b] - x[a], y[b] - y[a])
    implicit = prof.implicit_maxspeed_kmh
    limits = parse_maxspeed_array(ways.way_maxspeed, implicit=implicit)
    lim_f = parse_maxspeed_array(ways.way_maxspeed_forward, implicit=implicit)
    lim_b = parse_maxspeed_array(ways.way_maxspeed_backward, implicit=implicit)
    lim_f = np.where(np.isnan(lim_f), limits, lim_f)
    lim_b = np.where(np.isnan(lim_b), limits, lim_b)
    speed_f = prof.edge_speeds_kmh(ways.way_highway, lim_f)[seg_way]
    speed_b = prof.edge_speeds_kmh(ways.way_highway, lim_b)[seg_way]
    direction = ways.way_oneway[seg_way]
    fwd = direction >= 0
    bwd = direction <= 0
    u = np.concatenate([a[fwd], b[bwd]])
    v = np.concatenate([b[fwd], a[bwd]])
    times = np.concatenate(
        [
            length[fwd] / 1000.0 / speed_f[fwd] * 60.0,
            length[bwd] / 1000.0 / speed_b[bwd] * 60.0,
        ]
    )
    lengths = np.concatenate([length[fwd], length[bwd]])
    # Keep only nodes used by a located segment (drops isolated, unlocated nodes).
    used = np.zeros(node_ids.shape[0], dtype=bool)
    used[u] = True
    used[v] = True
    new_pos = np.cumsum(used) - 1
    n_segments = int(a.shape[0])
    u, v = new_pos[u], new_pos[v]
    x, y, node_ids = x[used], y[used], node_ids[used]
    n_tagged = int((np.isfinite(lim_f) | np.isfinite(lim_b)).sum())
    # free the per-segment intermediates before the CSR assembly (peak memory)
    del a, b, seg_way, length, speed_f, speed_b, direction, fwd, bwd, new_pos, used, inverse
    _tick(3)

    highway_counts = pd.Series(ways.way_highway).value_counts().to_dict()
    meta: dict[str, Any] = {
        "source": str(Path(path)),
        "format": "osm",
        "builder": "accessmap.network.osm",
        "builder_version": BUILDER_VERSION,
        "profile": prof.name,
        "profile_fields": prof.to_dict(),
        "osm_nodes_in_ways": int(node_ids.shape[0]),
        "segments": n_segments,
        "ways_by_highway": {str(k): int(v) for k, v in highway_counts.items()},
        "maxspeed_tagged_ways": n_tagged,
        **ways.counts,
    }
    net = RoadNetwork.from_arrays(
        u,
        v,
        times,
        x,
        y,
        node_ids,
        length_m=lengths,
        largest_scc=True,
        meta=meta,
    )
    net.meta["build_seconds"] = round(time.perf_counter() - t0, 4)
    _tick(4)
    log.info(
        "built road network from %s: %d nodes, %d edges (dropped %d nodes and %d edges "
        "outside the largest strongly connected component; %d ways kept of %d highway ways)",
        path,
        net.n_nodes,
        net.n_edges,
        net.meta["nodes_dropped"],
        net.meta["edges_dropped"],
        ways.counts["ways_kept"],
        ways.counts["ways_highway"],
    )
    return net


register_builder("osm", build_from_osm)
