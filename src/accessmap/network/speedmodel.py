"""Speed model for the coarse Travel Mapping network, and origin -> destination times on it.

The Travel Mapping network (:mod:`accessmap.network.travelmapping`) has no speeds, no streets
and straight segments between waypoints. :class:`TravelMappingSpeedModel` turns its edges into
car travel times and adds an *access leg* between every point and the network:

1. **class speed** ``v_c`` (km/h) per road class, from the Travel Mapping system of the edge
   (autoroute/freeway, European route, route nationale, métropole road, route départementale);
2. **length correction**: straight segments are shorter than the real road (median ratio 1.16
   against OSM in Andorra, 1.15 around Toulouse: ``SOURCES-roads.md`` section 7), and more so
   where the road winds. The edge sinuosity ``s`` (polyline length through the hidden shaping
   points over the straight junction-to-junction distance, :attr:`TravelMappingEdges.sinuosity`)
   tells where it winds: the corrected length is
   ``L * length_factor * (1 + winding_factor * (min(s, sinuosity_cap) - 1))``;
3. **urban slowdown**: speeds off autoroutes fall in dense areas, measured by the network's own
   node density (junctions per km² within ``urban_radius_m``) or by an urban share passed in
   (e.g. from commune population density). With ``u = clip((d - d_low) / (d_high - d_low),
   0, 1)`` the speed is ``v_c * (1 - urban_slowdown * u)``;
4. **junction delay**: ``junction_delay_s`` seconds per edge traversed (edges run from junction
   to junction; OSRM adds turn and signal penalties of the same kind);
5. **access leg** from an origin or facility to its nearest network node: a *terminal time*
   ``access_terminal_min`` (the streets of the village or town between its reference point and
   the numbered road, which Travel Mapping does not hold) plus the straight distance
   ``x access_detour`` at ``access_speed_kmh``; points farther than ``max_snap_m`` from any node
   are not routed (NaN). A pair of points may also be joined by a direct access-road leg
   (``2 x access_terminal_min`` plus the distance ``x access_detour`` at ``access_speed_kmh``)
   when that is quicker than going through the network (neighbouring villages);
6. **snapping anchors**: long straight edges are split into equal pieces of at most
   ``node_spacing_m`` (their time shared in proportion, so no network path changes), so that a
   point beside the middle of a long edge snaps to the road beside it instead of a junction
   kilometres away (:meth:`TravelMappingEdges.to_network
   <accessmap.network.travelmapping.TravelMappingEdges.to_network>`).

Edge time in minutes::

    t = L * length_factor * (1 + winding_factor * (min(s, cap) - 1))
        / (1000 * v_c * (1 - urban_slowdown * u)) * 60 + junction_delay_s / 60

The defaults of :data:`DEFAULT_MODEL` were fitted by
``python -m benchmarks.calibrate_travelmapping`` (see its docstring and ``docs/benchmarks.md``,
section "Travel Mapping speed model calibration"): OSRM car durations of 2021 between the 512
Isère communes (``times_isere_osrm2021_*``, ``SOURCES-roads.md`` section 8), fit on a seeded
half of the communes (seed 20260822) on the pairs OSRM puts within 30 minutes (the range of
the calibration target and of trips to the nearest GP), scored on the other half. Values
marked *assumed* were not fitted. The fit drives ``urban_slowdown`` to 0 on Isère (Grenoble
is the only dense area there; the junction delay and terminal time absorb town traffic), so
the urban term is off by default but kept for areas where it can be fitted.

:func:`od_times` computes an origin x destination matrix of times on a
:class:`~accessmap.network.graph.RoadNetwork` with the access legs, using
``scipy.spatial.cKDTree`` for snapping and ``scipy.sparse.csgraph.dijkstra`` for the network
part; :func:`nearest_times` gives the time from every origin to its nearest facility with one
multi-source Dijkstra (:func:`accessmap.routing.kernels.multi_source_dijkstra`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from accessmap.errors import BadValueError, SnapDistanceError
from accessmap.network.graph import RoadNetwork
from accessmap.routing.kernels import multi_source_dijkstra

__all__ = [
    "DEFAULT_MODEL",
    "ROAD_CLASSES",
    "SnapResult",
    "TravelMappingSpeedModel",
    "access_minutes",
    "direct_minutes",
    "edge_times_min",
    "model_from_network",
    "nearest_times",
    "node_density_per_km2",
    "od_times",
    "snap_points",
    "urban_share",
]

#: Road classes of the Travel Mapping network, highest first (class code = position).
ROAD_CLASSES: tuple[str, ...] = ("motorway", "european", "nationale", "metropole", "departementale")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TravelMappingSpeedModel:
    """Parameters of the Travel Mapping speed model (see the module docstring for the formula).

    Defaults marked *fitted* come from ``python -m benchmarks.calibrate_travelmapping`` (OSRM
    2021 car durations between Isère communes, fit half chosen with seed 20260822); the others
    are *assumed* or sourced as stated.

    Parameters
    ----------
    motorway_kmh : float
        Autoroutes and named freeways (systems ``fraa``, ``frasf``). *Fitted*.
    european_kmh : float
        European routes not also an autoroute or nationale (``eure``, ``eure2``). *Assumed*
        equal to ``nationale_kmh`` (such sections are rare in France and are national roads).
    nationale_kmh : float
        Routes nationales (``fran``, Corsican ``fracort``). *Fitted*.
    metropole_kmh : float
        Métropole roads (``fra<reg>m<NN>``), former départementales inside métropoles. *Assumed*
        equal to ``departementale_kmh`` (same roads before the 2015 transfers; the urban
        slowdown handles their density).
    departementale_kmh : float
        Routes départementales (``fra<reg>d<NN>``) and every other system. *Fitted*.
    length_factor : float
        Real length over polyline length of a straight edge (sinuosity 1): 1.15, the median
        ratio against OSM around Toulouse (1.16 in Andorra), ``SOURCES-roads.md`` section 7.
        Not fitted (it is collinear with the class speeds).
    winding_factor : float
        Extra length/time per unit of sinuosity above 1. *Fitted*.
    sinuosity_cap : float
        Sinuosity above this is treated as this (hairpin sequences, loops). *Assumed*.
    junction_delay_s : float
        Seconds added per edge (junction to junction). *Fitted*.
    urban_radius_m : float
        Radius of the node-density window. *Assumed* (2 km: the size of a town centre).
    urban_density_low, urban_density_high : float
        Node densities (junctions per km²) at which the urban share is 0 and 1. *Assumed* from
        the distribution over the France network (0.7 is about the 75th percentile of node
        density, 2.0 about the 99th; median 0.4 nodes per km²).
    urban_slowdown : float
        Fraction of the class speed lost at urban share 1 (not on motorways). *Fitted* (to 0
        on Isère).
    access_speed_kmh : float
        Speed of the access leg on local roads. *Fitted* (only ``access_speed_kmh /
        access_detour`` matters, so the detour is fixed and the speed fitted).
    access_detour : float
        Road distance over straight distance of the access leg. *Assumed* 1.3 (the usual
        circuity of local road networks: Ballou et al. 2002, *J. Business Logistics*
        23(1), road circuity factors 1.2-1.4 in Europe).
    access_terminal_min : float
        Minutes added at each end of a trip (each access leg; twice on a direct leg): the
        village or town streets between a commune's reference point and the numbered road,
        absent from Travel Mapping. *Fitted*, bounded to 0-3 min in the fit (a few hundred
        metres of streets at 10-20 km/h).
    node_spacing_m : float
        Longest piece of a straight edge (no shaping point) after splitting it into equal
        pieces for snapping (0: no splitting). *Assumed* 1,000 m: on the Isère held-out half
        500 m scored the same and the original network (no splitting) worse
        (``docs/benchmarks.md``); it is a build parameter, so it enters the cache key with
        the rest of the model.
    max_snap_m : float
        Points farther than this from every node are not routed. *Assumed* 10 km (97.9 % of
        Occitanie commune origins lie within 2 km of a waypoint, ``SOURCES-roads.md`` s. 7).
    name : str
        Label stored in network metadata.
    """

    # Fitted by benchmarks/calibrate_travelmapping.py on times_isere_osrm2021_commune_matrix.csv
    # (OSRM car, July 2021; fit half seed 20260822, pairs within 30 min). Re-run it to refit.
    motorway_kmh: float = 130.0  # at the fit's upper bound (the legal limit)
    european_kmh: float = 80.13  # tied to nationale_kmh
    nationale_kmh: float = 80.13
    metropole_kmh: float = 76.2  # tied to departementale_kmh
    departementale_kmh: float = 76.2
    length_factor: float = 1.15
    winding_factor: float = 1.73
    sinuosity_cap: float = 3.0
    junction_delay_s: float = 8.49
    urban_radius_m: float = 2000.0
    urban_density_low: float = 0.7
    urban_density_high: float = 2.0
    urban_slowdown: float = 0.0  # fitted to 0 on Isère: see docs/benchmarks.md
    access_speed_kmh: float = 41.71
    access_detour: float = 1.3
    access_terminal_min: float = 1.936
    node_spacing_m: float = 1000.0
    max_snap_m: float = 10_000.0
    name: str = "tm-isere-osrm2021-v2"

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name == "name":
                continue
            val = getattr(self, f.name)
            if not (isinstance(val, (int, float)) and math.isfinite(val)):
                raise BadValueError(
                    f"TravelMappingSpeedModel.{f.name} must be a finite number, got {val!r}"
                )
        positive = [
            "motorway_kmh",
            "european_kmh",
            "nationale_kmh",
            "metropole_kmh",
            "departementale_kmh",
            "length_factor",
            "sinuosity_cap",
            "urban_radius_m",
            "access_speed_kmh",
            "access_detour",
            "max_snap_m",
        ]
        for name in positive:
            if getattr(self, name) <= 0:
                raise BadValueError(
                    f"TravelMappingSpeedModel.{name} must be > 0, got {getattr(self, name)!r}"
                )
        for name in ("winding_factor", "junction_delay_s", "access_terminal_min", "node_spacing_m"):
            if getattr(self, name) < 0:
                raise BadValueError(
                    f"TravelMappingSpeedModel.{name} must be >= 0, got {getattr(self, name)!r}"
                )
        if not 0 <= self.urban_slowdown < 1:
            raise BadValueError(
                f"TravelMappingSpeedModel.urban_slowdown must be in [0, 1), got "
                f"{self.urban_slowdown!r} (1 would stop traffic in towns)"
            )
        if not self.urban_density_high > self.urban_density_low >= 0:
            raise BadValueError(
                "TravelMappingSpeedModel needs 0 <= urban_density_low < urban_density_high, got "
                f"{self.urban_density_low!r} and {self.urban_density_high!r}"
            )
        if self.sinuosity_cap < 1:
            raise BadValueError(
                f"TravelMappingSpeedModel.sinuosity_cap must be >= 1, got {self.sinuosity_cap!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-ready; part of the network cache key and metadata)."""
        return asdict(self)

    def replace(self, **changes: Any) -> TravelMappingSpeedModel:
        """A copy with some parameters changed (validated again)."""
        return replace(self, **changes)

    def class_speeds_kmh(self) -> FloatArray:
        """Speeds of :data:`ROAD_CLASSES` in order, km/h."""
        return np.array(
            [
                self.motorway_kmh,
                self.european_kmh,
                self.nationale_kmh,
                self.metropole_kmh,
                self.departementale_kmh,
            ],
            dtype=np.float64,
        )


#: The default (fitted) model.
DEFAULT_MODEL = TravelMappingSpeedModel()


def model_from_network(network: Any) -> TravelMappingSpeedModel | None:
    """The speed model a Travel Mapping network was timed with, or ``None`` for other networks.

    Read from ``network.meta``: ``format == "travelmapping"`` and the ``speed_model`` dict the
    builder stores (:meth:`TravelMappingEdges.to_network
    <accessmap.network.travelmapping.TravelMappingEdges.to_network>`; it survives the network
    cache). The road engine takes its access-leg speed, detour and maximum snap distance from
    it (:class:`accessmap.traveltime.network.NetworkEngine`).

    Raises
    ------
    BadValueError
        The stored model has an unknown or invalid parameter (a cache file written by another
        version: delete it and rebuild).

    Examples
    --------
    >>> net = RoadNetwork.from_arrays([0], [1], [1.0], [0.0, 1.0], [0.0, 0.0], [1, 2],
    ...                               meta={"format": "travelmapping",
    ...                                     "speed_model": DEFAULT_MODEL.to_dict()})
    >>> model_from_network(net) == DEFAULT_MODEL
    True
    """
    meta = getattr(network, "meta", None) or {}
    if meta.get("format") != "travelmapping":
        return None
    stored = meta.get("speed_model")
    if not isinstance(stored, dict):
        return DEFAULT_MODEL
    known = {f.name for f in fields(TravelMappingSpeedModel)}
    unknown = sorted(set(stored) - known)
    if unknown:
        raise BadValueError(
            f"the network's stored speed model has unknown parameters {unknown}; the cache file "
            f"{meta.get('cache_file', '')!s} was written by another accessmap version: delete it "
            "and rebuild the network"
        )
    return TravelMappingSpeedModel(**stored)


# ------------------------------------------------------------------------------ edge times
def node_density_per_km2(
    x: npt.ArrayLike, y: npt.ArrayLike, radius_m: float, *, at: npt.ArrayLike | None = None
) -> FloatArray:
    """Network nodes per km² within ``radius_m`` of every node (or of the points ``at``).

    Parameters
    ----------
    x, y : array-like of float
        Node coordinates in EPSG:2154 metres.
    radius_m : float
        Window radius.
    at : array-like of shape (k, 2), optional
        Where to measure; default at the nodes themselves (the node itself counts).

    Returns
    -------
    numpy.ndarray of float64
        Count in the disc divided by its area in km².
    """
    from scipy.spatial import cKDTree

    pts = np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])
    if pts.shape[0] == 0:
        return np.zeros(0)
    tree = cKDTree(pts)
    where = pts if at is None else np.asarray(at, dtype=np.float64).reshape(-1, 2)
    counts = np.asarray(tree.query_ball_point(where, r=radius_m, return_length=True))
    return counts.astype(np.float64) / (math.pi * (radius_m / 1000.0) ** 2)


def urban_share(density: npt.ArrayLike, model: TravelMappingSpeedModel) -> FloatArray:
    """Urban share ``clip((d - d_low) / (d_high - d_low), 0, 1)`` of node densities ``d``."""
    d = np.asarray(density, dtype=np.float64)
    span = model.urban_density_high - model.urban_density_low
    return np.clip((d - model.urban_density_low) / span, 0.0, 1.0)


def edge_times_min(
    road_class: npt.ArrayLike,
    length_m: npt.ArrayLike,
    sinuosity: npt.ArrayLike,
    urban: npt.ArrayLike,
    model: TravelMappingSpeedModel = DEFAULT_MODEL,
) -> FloatArray:
    """Travel time of each edge in minutes (the formula of the module docstring).

    Parameters
    ----------
    road_class : array-like of int
        Class code per edge, an index into :data:`ROAD_CLASSES` (0 = motorway).
    length_m : array-like of float
        Polyline length of each edge (through its shaping points), metres.
    sinuosity : array-like of float
        Polyline length over straight end-to-end distance (>= 1).
    urban : array-like of float
        Urban share in [0, 1] per edge (see :func:`urban_share`).
    model : TravelMappingSpeedModel
        Parameters.

    Returns
    -------
    numpy.ndarray of float64
        Minutes per edge.

    Raises
    ------
    BadValueError
        Unknown class code, negative length.

    Examples
    --------
    >>> m = TravelMappingSpeedModel(
    ...     motorway_kmh=108.0, length_factor=1.0, winding_factor=0.0, junction_delay_s=0.0
    ... )
    >>> edge_times_min([0], [1000.0], [1.0], [0.0], m).round(4).tolist()  # 1 km at 108 km/h
    [0.5556]
    """
    cls = np.asarray(road_class, dtype=np.int64)
    ln = np.asarray(length_m, dtype=np.float64)
    s = np.asarray(sinuosity, dtype=np.float64)
    u = np.asarray(urban, dtype=np.float64)
    if cls.size and (cls.min() < 0 or cls.max() >= len(ROAD_CLASSES)):
        raise BadValueError(
            f"road class codes must be 0..{len(ROAD_CLASSES) - 1} ({', '.join(ROAD_CLASSES)}); "
            f"got {int(cls[(cls < 0) | (cls >= len(ROAD_CLASSES))][0])}"
        )
    if ln.size and not (ln >= 0).all():
        raise BadValueError(f"edge lengths must be >= 0 metres; got {ln[~(ln >= 0)][0]!r}")
    speed = model.class_speeds_kmh()[cls]
    slow = np.where(cls == 0, 0.0, model.urban_slowdown * np.clip(u, 0.0, 1.0))
    speed = speed * (1.0 - slow)
    wind = 1.0 + model.winding_factor * (np.clip(s, 1.0, model.sinuosity_cap) - 1.0)
    real_m = ln * model.length_factor * wind
    return real_m / 1000.0 / speed * 60.0 + model.junction_delay_s / 60.0


def access_minutes(
    distance_m: npt.ArrayLike, model: TravelMappingSpeedModel = DEFAULT_MODEL
) -> FloatArray:
    """Access-leg time: ``access_terminal_min`` + ``distance x access_detour`` at
    ``access_speed_kmh``, in minutes.

    Examples
    --------
    >>> m = TravelMappingSpeedModel(access_speed_kmh=30.0, access_terminal_min=0.5)
    >>> access_minutes([1000.0], m).round(6).tolist()
    [3.1]
    """
    d = np.asarray(distance_m, dtype=np.float64)
    return (
        model.access_terminal_min + d * model.access_detour / 1000.0 / model.access_speed_kmh * 60.0
    )


def direct_minutes(
    distance_m: npt.ArrayLike, model: TravelMappingSpeedModel = DEFAULT_MODEL
) -> FloatArray:
    """Direct-leg time between two points: ``2 x access_terminal_min`` (a terminal at each
    end) + ``distance x access_detour`` at ``access_speed_kmh``, in minutes.

    Examples
    --------
    >>> m = TravelMappingSpeedModel(access_speed_kmh=30.0, access_terminal_min=0.5)
    >>> direct_minutes([1000.0], m).round(6).tolist()
    [3.6]
    """
    d = np.asarray(distance_m, dtype=np.float64)
    return (
        2.0 * model.access_terminal_min
        + d * model.access_detour / 1000.0 / model.access_speed_kmh * 60.0
    )


# ------------------------------------------------------------------------------ snapping
@dataclass(frozen=True)
class SnapResult:
    """Nearest network node of each point.

    Attributes
    ----------
    node : numpy.ndarray of int64
        Node position, -1 where the point is farther than ``max_snap_m``.
    distance_m : numpy.ndarray of float64
        Straight distance to that node.
    access_min : numpy.ndarray of float64
        Access-leg time (NaN where not snapped).
    """

    node: IntArray
    distance_m: FloatArray
    access_min: FloatArray

    @property
    def ok(self) -> npt.NDArray[np.bool_]:
        """Points within the maximum snap distance."""
        return self.node >= 0


def _as_xy(points: npt.ArrayLike, what: str) -> FloatArray:
    xy = np.asarray(points, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise BadValueError(
            f"{what} must be an array of shape (n, 2) of EPSG:2154 x, y metres; got shape "
            f"{xy.shape}"
        )
    if xy.size and not np.isfinite(xy).all():
        raise BadValueError(f"{what} contain non-finite coordinates; drop or fix those points")
    return xy


def snap_points(
    network: RoadNetwork,
    points: npt.ArrayLike,
    model: TravelMappingSpeedModel = DEFAULT_MODEL,
    *,
    strict: bool = False,
) -> SnapResult:
    """Snap points to their nearest network node (``scipy.spatial.cKDTree``).

    Parameters
    ----------
    network : RoadNetwork
        The graph (node coordinates in EPSG:2154).
    points : array-like of shape (n, 2)
        EPSG:2154 x, y.
    model : TravelMappingSpeedModel
        Access speed, detour and ``max_snap_m``.
    strict : bool, default False
        Raise instead of marking far points as unsnapped.

    Raises
    ------
    SnapDistanceError
        ``strict`` and some point lies farther than ``max_snap_m`` from every node.
    BadValueError
        Points of the wrong shape, empty network.
    """
    from scipy.spatial import cKDTree

    xy = _as_xy(points, "points")
    if network.n_nodes == 0:
        raise BadValueError("cannot snap to an empty road network; check how it was built")
    tree = cKDTree(np.column_stack([network.x, network.y]))
    dist, node = tree.query(xy, k=1) if xy.shape[0] else (np.zeros(0), np.zeros(0, np.int64))
    dist = np.asarray(dist, dtype=np.float64)
    node = np.asarray(node, dtype=np.int64)
    far = dist > model.max_snap_m
    if strict and far.any():
        i = int(np.flatnonzero(far)[0])
        raise SnapDistanceError(
            f"{int(far.sum())} point(s) lie farther than max_snap_m={model.max_snap_m:g} m from "
            f"the road network, e.g. point {i} at ({xy[i, 0]:.0f}, {xy[i, 1]:.0f}) is "
            f"{dist[i]:.0f} m away; check the CRS (EPSG:2154) and the network's clip area, or "
            "raise max_snap_m"
        )
    acc = np.where(far, np.nan, access_minutes(dist, model))
    return SnapResult(np.where(far, -1, node), dist, acc)


# ------------------------------------------------------------------------------ routing
def od_times(
    network: RoadNetwork,
    origins: npt.ArrayLike,
    destinations: npt.ArrayLike,
    model: TravelMappingSpeedModel = DEFAULT_MODEL,
    *,
    cutoff_min: float = math.inf,
    direct_leg: bool = True,
    max_block: int = 20_000_000,
) -> FloatArray:
    """Origin x destination car times in minutes, access legs included.

    ``time = access(origin) + network(node_o -> node_d) + access(destination)``, or the direct
    access-road leg between the two points (:func:`direct_minutes`) when that is quicker
    (``direct_leg``). The network
    part is ``scipy.sparse.csgraph.dijkstra`` on ``network.travel_time_min`` (forward graph,
    origin to destination), run on blocks of origins so that memory stays below
    ``max_block`` floats.

    Parameters
    ----------
    network : RoadNetwork
        Graph with edge times in minutes.
    origins, destinations : array-like of shape (n, 2) and (k, 2)
        EPSG:2154 x, y.
    model : TravelMappingSpeedModel
        Access-leg parameters.
    cutoff_min : float, default inf
        Network searches stop at this time; longer pairs are ``inf``.
    direct_leg : bool, default True
        Allow the direct access-road leg between two points.
    max_block : int
        Maximum ``origins x nodes`` distance block held at once.

    Returns
    -------
    numpy.ndarray of float64, shape (n, k)
        Minutes; NaN where a point is beyond ``max_snap_m``; ``inf`` where unreachable.
    """
    from scipy.sparse.csgraph import dijkstra

    o_xy = _as_xy(origins, "origins")
    d_xy = _as_xy(destinations, "destinations")
    so = snap_points(network, o_xy, model)
    sd = snap_points(network, d_xy, model)
    out = np.full((o_xy.shape[0], d_xy.shape[0]), np.nan)
    oi = np.flatnonzero(so.ok)
    di = np.flatnonzero(sd.ok)
    if oi.size and di.size:
        csr = network.to_csr_matrix()
        uniq, inv = np.unique(so.node[oi], return_inverse=True)
        d_nodes = sd.node[di]
        block = max(1, int(max_block // max(network.n_nodes, 1)))
        net_t = np.empty((uniq.size, di.size))
        for a in range(0, uniq.size, block):
            rows = dijkstra(csr, directed=True, indices=uniq[a : a + block], limit=cutoff_min)
            net_t[a : a + block] = np.asarray(rows).reshape(-1, network.n_nodes)[:, d_nodes]
        t = so.access_min[oi][:, None] + net_t[inv] + sd.access_min[di][None, :]
        out[np.ix_(oi, di)] = t
    if direct_leg and o_xy.shape[0] and d_xy.shape[0]:
        ok = so.ok[:, None] & sd.ok[None, :]
        crow = np.hypot(o_xy[:, None, 0] - d_xy[None, :, 0], o_xy[:, None, 1] - d_xy[None, :, 1])
        direct = direct_minutes(crow, model)
        out = np.where(ok, np.fmin(out, direct), out)
    return out


def nearest_times(
    network: RoadNetwork,
    origins: npt.ArrayLike,
    facilities: npt.ArrayLike,
    model: TravelMappingSpeedModel = DEFAULT_MODEL,
    *,
    cutoff_min: float = math.inf,
) -> tuple[FloatArray, IntArray]:
    """Time from every origin to its nearest facility (minutes) and which facility it is.

    One multi-source Dijkstra from the facilities on the reversed graph
    (:func:`accessmap.routing.kernels.multi_source_dijkstra`), the facilities' access legs as
    initial costs, then each origin's access leg is added at its snapped node. The direct
    access-road leg of :func:`od_times` is not considered here.

    Returns
    -------
    minutes : numpy.ndarray of float64, shape (n,)
        NaN where the origin is beyond ``max_snap_m``; ``inf`` where no facility is reachable.
    facility : numpy.ndarray of int64, shape (n,)
        Index into ``facilities`` (-1 where none).
    """
    o_xy = _as_xy(origins, "origins")
    f_xy = _as_xy(facilities, "facilities")
    so = snap_points(network, o_xy, model)
    sf = snap_points(network, f_xy, model)
    fi = np.flatnonzero(sf.ok)
    minutes = np.full(o_xy.shape[0], np.inf)
    label = np.full(o_xy.shape[0], -1, dtype=np.int64)
    if fi.size:
        rev = network.reverse()
        dist, lab = multi_source_dijkstra(
            rev.indptr,
            rev.indices,
            rev.travel_time_min,
            sf.node[fi],
            initial_cost=sf.access_min[fi],
            cutoff=cutoff_min,
        )
        ok = so.ok
        minutes[ok] = dist[so.node[ok]] + so.access_min[ok]
        got = ok & (lab[np.where(ok, so.node, 0)] >= 0)
        label[got] = fi[lab[so.node[got]]]
    minutes[~so.ok] = np.nan
    return minutes, label
