"""Travel Mapping speed model (accessmap.network.speedmodel): hand-computed cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from accessmap.errors import BadValueError, SnapDistanceError
from accessmap.network.graph import RoadNetwork
from accessmap.network.speedmodel import (
    DEFAULT_MODEL,
    TravelMappingSpeedModel,
    access_minutes,
    direct_minutes,
    edge_times_min,
    nearest_times,
    node_density_per_km2,
    od_times,
    snap_points,
    urban_share,
)

PLAIN = TravelMappingSpeedModel(
    motorway_kmh=120.0,
    european_kmh=90.0,
    nationale_kmh=80.0,
    metropole_kmh=50.0,
    departementale_kmh=60.0,
    length_factor=1.0,
    winding_factor=0.0,
    junction_delay_s=0.0,
    urban_slowdown=0.0,
    access_speed_kmh=30.0,
    access_detour=1.5,
    access_terminal_min=0.0,
    max_snap_m=1000.0,
)


def test_class_speeds() -> None:
    t = edge_times_min([0, 1, 2, 3, 4], [1000.0] * 5, [1.0] * 5, [0.0] * 5, PLAIN)
    np.testing.assert_allclose(t, [0.5, 60 / 90, 0.75, 1.2, 1.0])


def test_length_correction_and_delay() -> None:
    m = PLAIN.replace(length_factor=1.2, winding_factor=0.5, sinuosity_cap=2.0, junction_delay_s=6)
    # 6 km of départementale at 60 km/h = 6 min; x 1.2 x (1 + 0.5 x (1.5 - 1)) = 1.5; + 0.1 min
    t = edge_times_min([4], [6000.0], [1.5], [0.0], m)
    assert t[0] == pytest.approx(6 * 1.2 * 1.25 + 0.1)
    # sinuosity capped at 2: factor 1 + 0.5 x 1
    t = edge_times_min([4], [6000.0], [5.0], [0.0], m)
    assert t[0] == pytest.approx(6 * 1.2 * 1.5 + 0.1)


def test_urban_slowdown() -> None:
    m = PLAIN.replace(urban_slowdown=0.5, urban_density_low=1.0, urban_density_high=3.0)
    np.testing.assert_allclose(urban_share([0.5, 2.0, 10.0], m), [0.0, 0.5, 1.0])
    # D road at urban share 1: 30 km/h -> 2 min per km; motorways are not slowed.
    t = edge_times_min([4, 0], [1000.0, 1000.0], [1.0, 1.0], [1.0, 1.0], m)
    np.testing.assert_allclose(t, [2.0, 0.5])


def test_node_density() -> None:
    # 4 nodes within 1 km of the origin, one far: pi km^2 window.
    d = node_density_per_km2([0, 100, 0, -200, 5000], [0, 0, 300, 0, 0], 1000.0)
    assert d[0] == pytest.approx(4 / math.pi)
    assert d[4] == pytest.approx(1 / math.pi)


def test_access_leg() -> None:
    # 1 km x 1.5 at 30 km/h = 3 min
    assert access_minutes([1000.0], PLAIN)[0] == pytest.approx(3.0)
    assert access_minutes([1000.0], DEFAULT_MODEL)[0] == pytest.approx(
        DEFAULT_MODEL.access_terminal_min
        + 1.0 * DEFAULT_MODEL.access_detour / DEFAULT_MODEL.access_speed_kmh * 60
    )


def test_terminal_time() -> None:
    m = PLAIN.replace(access_terminal_min=1.25)
    # 1.25 + 1 km x 1.5 at 30 km/h; the direct leg has a terminal at each end
    assert access_minutes([1000.0], m)[0] == pytest.approx(1.25 + 3.0)
    assert direct_minutes([1000.0], m)[0] == pytest.approx(2.5 + 3.0)
    net = _line_net()
    orig = np.array([[0.0, 200.0]])
    dest = np.array([[20_000.0, -400.0], [100.0, 200.0]])
    t = od_times(net, orig, dest, m)
    assert t[0, 0] == pytest.approx(1.25 + 0.6 + 10.0 + 1.25 + 1.2)
    assert t[0, 1] == pytest.approx(2.5 + 0.3)  # direct leg, 100 m
    s = snap_points(net, orig, m)
    assert s.access_min[0] == pytest.approx(1.25 + 0.6)
    minutes, _ = nearest_times(net, orig, dest[:1], m)
    assert minutes[0] == pytest.approx(t[0, 0])
    with pytest.raises(BadValueError, match="access_terminal_min must be >= 0"):
        TravelMappingSpeedModel(access_terminal_min=-0.5)
    with pytest.raises(BadValueError, match="node_spacing_m must be >= 0"):
        TravelMappingSpeedModel(node_spacing_m=-1.0)


def _line_net() -> RoadNetwork:
    # 0 -- 1 -- 2 on the x axis, 10 km apart, 5 min per edge both ways.
    return RoadNetwork.from_arrays(
        [0, 1, 1, 2], [1, 0, 2, 1], [5.0] * 4, x=[0.0, 1e4, 2e4], y=[0.0] * 3, node_ids=[1, 2, 3]
    )


def test_od_times_with_access_legs() -> None:
    net = _line_net()
    orig = np.array([[0.0, 200.0], [30_000.0, 0.0]])  # 200 m from node 0; 10 km from node 2
    dest = np.array([[20_000.0, -400.0], [0.0, 0.0], [100.0, 200.0]])
    t = od_times(net, orig, dest, PLAIN)
    a0 = 0.2 * 1.5 / 30 * 60  # 0.6 min
    # origin 0 -> dest 0: access 0.6 + 10 min + access 0.4 km -> 1.2 min
    assert t[0, 0] == pytest.approx(a0 + 10.0 + 1.2)
    assert t[0, 1] == pytest.approx(a0 + 0.0)
    # dest 2 snaps to node 0 too; the direct leg (100 m x 1.5 at 30 km/h = 0.3 min) is quicker
    assert t[0, 2] == pytest.approx(0.3)
    assert t[0, 2] < a0 + access_minutes([math.hypot(100, 200)], PLAIN)[0]
    # origin 1 is beyond max_snap_m (1 km): NaN
    assert np.isnan(t[1]).all()
    no_direct = od_times(net, orig, dest, PLAIN, direct_leg=False)
    assert no_direct[0, 2] == pytest.approx(a0 + access_minutes([math.hypot(100, 200)], PLAIN)[0])
    # cutoff: network part over 6 min is unreached
    cut = od_times(net, orig[:1], dest[:1], PLAIN, cutoff_min=6.0, direct_leg=False)
    assert np.isinf(cut[0, 0])


def test_snap_and_nearest() -> None:
    net = _line_net()
    s = snap_points(net, [[10_100.0, 0.0], [50_000.0, 0.0]], PLAIN)
    assert s.node.tolist() == [1, -1] and s.ok.tolist() == [True, False]
    assert s.access_min[0] == pytest.approx(0.1 * 1.5 / 30 * 60)
    with pytest.raises(SnapDistanceError, match="max_snap_m=1000"):
        snap_points(net, [[50_000.0, 0.0]], PLAIN, strict=True)
    with pytest.raises(BadValueError, match=r"shape \(n, 2\)"):
        snap_points(net, [1.0, 2.0], PLAIN)
    minutes, fac = nearest_times(
        net, [[0.0, 0.0], [20_000.0, 0.0], [90_000.0, 0.0]], [[20_000.0, 300.0]], PLAIN
    )
    assert minutes[0] == pytest.approx(10.0 + 0.9) and fac[0] == 0
    assert minutes[1] == pytest.approx(0.9)
    assert np.isnan(minutes[2]) and fac[2] == -1


def test_model_validation_and_dict() -> None:
    d = DEFAULT_MODEL.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert TravelMappingSpeedModel(**d) == DEFAULT_MODEL
    with pytest.raises(BadValueError, match="motorway_kmh must be > 0"):
        TravelMappingSpeedModel(motorway_kmh=0.0)
    with pytest.raises(BadValueError, match="urban_slowdown"):
        TravelMappingSpeedModel(urban_slowdown=1.0)
    with pytest.raises(BadValueError, match="finite"):
        TravelMappingSpeedModel(access_detour=math.nan)
    with pytest.raises(BadValueError, match="road class codes"):
        edge_times_min([7], [1.0], [1.0], [0.0])
