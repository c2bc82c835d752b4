"""Road network from an osmnx ``MultiDiGraph`` (in memory or a ``.graphml`` osmnx wrote).

osmnx (Boeing 2017, *Computers, Environment and Urban Systems* 65:126-139) builds
``networkx.MultiDiGraph`` road graphs: nodes with ``x``/``y`` in the graph's CRS
(``G.graph["crs"]``, EPSG:4326 unless projected), edges ``(u, v, key)`` with ``length``
(metres), ``highway``, ``maxspeed`` and, after ``osmnx.routing.add_edge_speeds`` /
``add_edge_travel_times``, ``speed_kph`` and ``travel_time`` (seconds). Two-way streets are
already two edges.

Rules (:func:`build_from_osmnx`):

* node coordinates are projected to EPSG:2154 with pyproj from the graph's CRS;
* edge time = ``travel_time / 60`` where the edge has a finite ``travel_time``; otherwise
  ``length`` at the speed of the :mod:`accessmap.network.speeds` profile (default
  ``"osrm-car"``) for the edge's ``highway`` and ``maxspeed`` (for simplified edges that merge
  several ways, osmnx stores lists: the first value is used);
* ``length_m`` is the osmnx ``length`` (great-circle metres), or the straight EPSG:2154
  distance when missing;
* node ids are the osmnx node ids (OSM ids), which must be integers;
* :meth:`RoadNetwork.from_arrays` keeps the fastest of parallel edges and, by default, the
  largest strongly connected component.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from accessmap.config import WORKING_CRS
from accessmap.errors import (
    BadValueError,
    DataNotFoundError,
    NetworkBuildError,
    UnreadableFileError,
)
from accessmap.network.graph import RoadNetwork, register_builder
from accessmap.network.speeds import SpeedProfile, get_profile, parse_maxspeed_array

__all__ = ["build_from_graphml", "build_from_osmnx"]


def _first(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def _float_or_nan(value: Any) -> float:
    value = _first(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return math.nan
    return f


def build_from_osmnx(
    graph: Any,
    *,
    profile: str | SpeedProfile = "osrm-car",
    largest_scc: bool = True,
    source: str | None = None,
) -> RoadNetwork:
    """Convert an osmnx ``MultiDiGraph`` to a :class:`RoadNetwork`.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        As returned by ``osmnx.graph_from_xml``, ``graph_from_place``, ``load_graphml``...
    profile : str or SpeedProfile, default "osrm-car"
        Speeds for edges without ``travel_time``.
    largest_scc : bool, default True
        Keep only the largest strongly connected component.
    source : str, optional
        Recorded as ``meta["source"]``.

    Raises
    ------
    BadValueError
        Not a graph, node without ``x``/``y``, non-integer node ids, negative times.
    NetworkBuildError
        No edge.
    """
    from pyproj import CRS, Transformer

    prof = get_profile(profile)
    if not hasattr(graph, "nodes") or not hasattr(graph, "edges"):
        raise BadValueError(
            f"from_osmnx expects a networkx (Multi)DiGraph from osmnx, got {type(graph).__name__}"
        )
    nodes = list(graph.nodes(data=True))
    if not nodes:
        raise NetworkBuildError("the osmnx graph has no nodes; check the area or the file")
    try:
        ids = np.array([int(n) for n, _ in nodes], dtype=np.int64)
    except (TypeError, ValueError):
        raise BadValueError(
            f"osmnx node id {nodes[0][0]!r} is not an integer; accessmap keeps OSM node ids "
            "(relabel the graph with networkx.convert_node_labels_to_integers)"
        ) from None
    try:
        gx = np.array([float(d["x"]) for _, d in nodes])
        gy = np.array([float(d["y"]) for _, d in nodes])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadValueError(
            f"osmnx graph nodes need numeric 'x' and 'y' attributes ({type(exc).__name__}: "
            f"{exc}); build the graph with osmnx"
        ) from None
    crs = graph.graph.get("crs", "EPSG:4326") if hasattr(graph, "graph") else "EPSG:4326"
    if CRS.from_user_input(crs) == CRS.from_user_input(WORKING_CRS):
        x, y = gx, gy
    else:
        tr = Transformer.from_crs(crs, WORKING_CRS, always_xy=True)
        x, y = (np.asarray(a, dtype=np.float64) for a in tr.transform(gx, gy))
    pos = {n: i for i, (n, _) in enumerate(nodes)}
    edges = list(graph.edges(data=True))
    if not edges:
        raise NetworkBuildError("the osmnx graph has no edges; check the area or the file")
    u = np.fromiter((pos[a] for a, _, _ in edges), dtype=np.int64, count=len(edges))
    v = np.fromiter((pos[b] for _, b, _ in edges), dtype=np.int64, count=len(edges))
    length = np.array([_float_or_nan(d.get("length")) for _, _, d in edges])
    tt_s = np.array([_float_or_nan(d.get("travel_time")) for _, _, d in edges])
    straight = np.hypot(x[u] - x[v], y[u] - y[v])
    length = np.where(np.isfinite(length), length, straight)
    has_tt = np.isfinite(tt_s)
    tt_min = np.empty(len(edges))
    tt_min[has_tt] = tt_s[has_tt] / 60.0
    if (~has_tt).any():
        miss = np.flatnonzero(~has_tt)
        hw = np.array([_first(edges[i][2].get("highway")) for i in miss], dtype=object)
        ms = parse_maxspeed_array(
            [_first(edges[i][2].get("maxspeed")) for i in miss],
            implicit=prof.implicit_maxspeed_kmh,
        )
        speed = prof.edge_speeds_kmh(hw, ms)
        tt_min[miss] = length[miss] / 1000.0 / speed * 60.0
    meta = {
        "source": source or str(graph.graph.get("name", "osmnx graph")),
        "format": "osmnx",
        "profile": prof.name if (~has_tt).any() else "osmnx travel_time",
        "edges_with_travel_time": int(has_tt.sum()),
        "osmnx_crs": str(crs),
    }
    return RoadNetwork.from_arrays(
        u, v, tt_min, x, y, ids, length_m=length, largest_scc=largest_scc, meta=meta
    )


def build_from_graphml(
    path: str | os.PathLike[str], *, profile: str | SpeedProfile = "osrm-car"
) -> RoadNetwork:
    """Read a ``.graphml`` written by ``osmnx.save_graphml`` and convert it.

    Raises
    ------
    DataNotFoundError
        Missing file.
    UnreadableFileError
        Not a GraphML file osmnx can read.
    """
    import osmnx as ox

    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"GraphML file {p} not found; check the path")
    try:
        g = ox.load_graphml(p)
    except Exception as exc:  # osmnx/networkx raise many kinds on bad XML
        raise UnreadableFileError(
            f"{p}: cannot read as an osmnx GraphML file ({type(exc).__name__}: {exc}); "
            "write it with osmnx.save_graphml"
        ) from exc
    return build_from_osmnx(g, profile=profile, source=str(p))


register_builder("graphml", build_from_graphml)
register_builder("osmnx", build_from_osmnx)
