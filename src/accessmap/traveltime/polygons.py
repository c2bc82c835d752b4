"""Isochrone polygons drawn from the reached road network (not circles).

(Named ``polygons`` so that :func:`accessmap.traveltime.engines.isochrones` is not shadowed
by a submodule of the same name.)

Given, for one facility, the travel time ``d[v]`` from every reached node ``v`` *to* the
facility (a search on the reversed graph, patient -> practice), the area from which the
facility is reachable within ``t`` minutes is drawn as:

1. every edge ``a -> b`` of the reversed graph whose start node is reached (``d[a] <= t``)
   contributes the part of the segment ``a``-``b`` that is reachable: a point at fraction
   ``f`` along it is ``d[a] + f * w`` minutes away (``w`` the edge time), so the segment
   ``[a, a + f_max (b - a)]`` with ``f_max = min(1, (t - d[a]) / w)`` is kept (partial
   edges, as in the "reached network" isochrones of OpenTripPlanner and of osmnx's
   ``make_iso_polys(edge_buff=...)`` example, Boeing 2017);
2. the union of those segments is buffered by ``buffer_m`` metres (a roadside band: the
   houses along the reached streets), giving a polygon with holes where no road is reached.
   For speed, consecutive segments are merged (``shapely.line_merge``) and simplified by
   ``buffer_m / 6`` before buffering (whole Andorra network: 0.4 s instead of minutes for a
   buffer of the raw segments).

Edges are drawn as straight lines between their nodes: the OSM and table builders keep every
OSM vertex, so the drawing follows the road shape.

**Large areas (raster path).** Buffering and unioning millions of segments (a 30-minute band
over a whole région) takes GEOS many minutes. Above ``RASTER_ABOVE_SEGMENTS`` reached segments
(``method="auto"``) the same band is drawn on a grid instead: the reached segments are
sampled every half cell and burnt into a boolean grid of ``buffer_m / 2`` cells, the grid is
dilated by a disc of radius ``buffer_m`` (:func:`scipy.ndimage.binary_dilation`), and the
cells are polygonised (:func:`rasterio.features.shapes`). The outline then follows the vector
band to within about one cell (``buffer_m / 2``), in steps of a cell; the threshold test and
the partial edges are the same.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["RASTER_ABOVE_SEGMENTS", "reached_network_polygon"]

#: Reached segments above which ``method="auto"`` draws the band on a grid (see the module
#: docstring). A speed trade-off chosen on the 1.5 M-node benchmark graph, not a standard.
RASTER_ABOVE_SEGMENTS = 150_000


def reached_network_polygon(
    dist: npt.NDArray[np.float64],
    threshold_min: float,
    *,
    edge_tail: npt.NDArray[np.int64],
    edge_head: npt.NDArray[np.int32],
    edge_time_min: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    buffer_m: float,
    method: str = "auto",
) -> BaseGeometry:
    """Polygon of the network reachable within ``threshold_min`` (see the module docstring).

    Parameters
    ----------
    dist
        Time (min) from every node to the facility (``inf`` when unreached), length n.
    threshold_min
        Isochrone threshold in minutes.
    edge_tail, edge_head, edge_time_min
        Edges of the graph the times were computed on (the reversed graph): tail, head and
        travel time of every edge.
    x, y
        Node coordinates (EPSG:2154 metres).
    buffer_m
        Width of the roadside band drawn around the reached segments (metres, > 0).
    method : {"auto", "vector", "raster"}, optional
        ``"vector"`` buffers the segments (exact band), ``"raster"`` draws it on a grid of
        ``buffer_m / 2`` cells (fast on large areas), ``"auto"`` (default) picks ``"raster"``
        above :data:`RASTER_ABOVE_SEGMENTS` reached segments.

    Returns
    -------
    shapely geometry
        A (Multi)Polygon; empty when no node is reached within the threshold.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([0.0, 1.0, np.inf])
    >>> poly = reached_network_polygon(
    ...     d, 2.0, edge_tail=np.array([0, 1]), edge_head=np.array([1, 2], dtype=np.int32),
    ...     edge_time_min=np.array([1.0, 2.0]), x=np.array([0.0, 100.0, 300.0]),
    ...     y=np.zeros(3), buffer_m=10.0)
    >>> round(poly.bounds[2])  # node 1 + half of the 1 -> 2 edge + the 10 m band
    210
    """
    t = float(threshold_min)
    reached = dist <= t
    if not reached.any():
        return shapely.Polygon()
    use = reached[edge_tail]
    a = edge_tail[use]
    b = edge_head[use].astype(np.int64)
    w = edge_time_min[use]
    da = dist[a]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(w > 0, (t - da) / w, 1.0)
    frac = np.clip(frac, 0.0, 1.0)
    x0, y0 = x[a], y[a]
    x1 = x0 + frac * (x[b] - x0)
    y1 = y0 + frac * (y[b] - y0)
    seg = frac > 0
    # full edges appear in both directions: keep one copy of each undirected pair
    full = seg & (frac >= 1.0)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * (x.shape[0] + 1) + hi
    _, first = np.unique(key[full], return_index=True)
    keep = seg & ~full
    keep[np.flatnonzero(full)[first]] = True
    if method not in ("auto", "vector", "raster"):
        raise ValueError(f"method must be 'auto', 'vector' or 'raster', got {method!r}")
    if method == "raster" or (method == "auto" and keep.sum() > RASTER_ABOVE_SEGMENTS):
        lonely_r = reached.copy()
        lonely_r[a[seg]] = False
        lonely_r[b[seg]] = False
        return _raster_band(
            x0[keep], y0[keep], x1[keep], y1[keep], x[lonely_r], y[lonely_r], buffer_m
        )
    parts = []
    if keep.any():
        coords = np.stack(
            [np.column_stack([x0[keep], y0[keep]]), np.column_stack([x1[keep], y1[keep]])],
            axis=1,
        )
        merged = shapely.line_merge(shapely.multilinestrings(shapely.linestrings(coords)))
        lines = shapely.get_parts(merged)
        # simplifying by a sixth of the band width changes the outline by < 1/6 of the band
        parts.append(shapely.buffer(shapely.simplify(lines, buffer_m / 6.0), buffer_m, quad_segs=4))
    # reached nodes with no reached segment (e.g. a facility node with a long access leg)
    lonely = reached.copy()
    lonely[a[seg]] = False
    lonely[b[seg]] = False
    if lonely.any():
        parts.append(shapely.buffer(shapely.points(x[lonely], y[lonely]), buffer_m, quad_segs=4))
    return shapely.union_all(np.concatenate(parts))


def _raster_band(
    x0: npt.NDArray[np.float64],
    y0: npt.NDArray[np.float64],
    x1: npt.NDArray[np.float64],
    y1: npt.NDArray[np.float64],
    px: npt.NDArray[np.float64],
    py: npt.NDArray[np.float64],
    buffer_m: float,
) -> BaseGeometry:
    """Band of ``buffer_m`` around segments and points, drawn on a grid (module docstring)."""
    from rasterio.features import shapes
    from rasterio.transform import Affine
    from scipy.ndimage import binary_dilation

    cell = buffer_m / 2.0
    allx = np.concatenate([x0, x1, px])
    ally = np.concatenate([y0, y1, py])
    if allx.size == 0:
        return shapely.Polygon()
    pad = buffer_m + 2 * cell
    xmin, ymax = float(allx.min()) - pad, float(ally.max()) + pad
    ncol = int(np.ceil((float(allx.max()) + pad - xmin) / cell))
    nrow = int(np.ceil((ymax - (float(ally.min()) - pad)) / cell))
    while ncol * nrow > 400_000_000:  # keep the grid under 400 MB: coarser cells
        cell *= 2.0
        ncol, nrow = int(np.ceil(ncol / 2)) + 1, int(np.ceil(nrow / 2)) + 1
    grid = np.zeros((nrow, ncol), dtype=bool)

    def burn(xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]) -> None:
        col = ((xs - xmin) / cell).astype(np.int64)
        row = ((ymax - ys) / cell).astype(np.int64)
        grid[row, col] = True

    burn(px, py)
    # sample every segment at least every half cell, in chunks to bound memory
    length = np.hypot(x1 - x0, y1 - y0)
    steps = np.ceil(length / (cell / 2.0)).astype(np.int64) + 1
    chunk = 500_000
    for lo in range(0, len(steps), chunk):
        st = steps[lo : lo + chunk]
        seg = np.repeat(np.arange(lo, lo + len(st)), st)
        first = np.repeat(np.cumsum(st) - st, st)
        f = (np.arange(len(seg)) - first) / np.repeat(np.maximum(st - 1, 1), st)
        burn(x0[seg] + f * (x1[seg] - x0[seg]), y0[seg] + f * (y1[seg] - y0[seg]))
    r = int(np.ceil(buffer_m / cell))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    grid = binary_dilation(grid, structure=(xx * xx + yy * yy) <= r * r)
    transform = Affine(cell, 0.0, xmin, 0.0, -cell, ymax)
    polys = [
        shapely.geometry.shape(geom)
        for geom, value in shapes(grid.astype(np.uint8), mask=grid, transform=transform)
        if value == 1
    ]
    if not polys:
        return shapely.Polygon()
    # the polygons of separate regions do not overlap (they may touch at a corner, which a
    # multipolygon allows): no union needed. Not simplified: GEOS's topology-preserving
    # simplification takes minutes on a region-wide band with 100,000 holes.
    return shapely.multipolygons(polys) if len(polys) > 1 else polys[0]
