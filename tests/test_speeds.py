"""Tests for accessmap.network.speeds: maxspeed parsing and speed profiles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from accessmap.errors import BadValueError, UnknownProfileError
from accessmap.network.speeds import (
    PROFILES,
    SpeedProfile,
    get_profile,
    parse_maxspeed,
    parse_maxspeed_array,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        ("50 km/h", 50.0),
        ("50kmh", 50.0),
        ("90", 90.0),
        (70, 70.0),
        (30.0, 30.0),
        ("50;70", 50.0),
        ("70;50", 50.0),
        ("30 mph", 30 * 1.609344),
        ("20mph", 20 * 1.609344),
        ("10 knots", 18.52),
        ("FR:urban", 50.0),
        ("fr:urban", 50.0),
        ("FR:rural", 80.0),
        ("FR:motorway", 130.0),
        ("FR:zone30", 30.0),
        ("FR:zone:30", 30.0),
        ("FR:zone20", 20.0),
        ("FR:walk", 6.0),
        ("walk", 6.0),
        ("none", 130.0),
        ("FR:urban;30", 30.0),
        ("signals", math.nan),
        ("variable", math.nan),
        ("fast", math.nan),
        ("", math.nan),
        ("0", math.nan),
        (-5, math.nan),
        (None, math.nan),
        (float("nan"), math.nan),
        ("DE:unknown", math.nan),
        ("50,5", 50.5),
    ],
)
def test_parse_maxspeed(value: object, expected: float) -> None:
    got = parse_maxspeed(value)
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected)


def test_parse_maxspeed_array_matches_scalar() -> None:
    values = ["50", None, "FR:rural", "signals", "50", "30 mph"]
    got = parse_maxspeed_array(values)
    ref = np.array([parse_maxspeed(v) for v in values])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got[~np.isnan(got)], ref[~np.isnan(ref)])
    assert parse_maxspeed_array([]).shape == (0,)


class TestProfiles:
    def test_osrm_car_values(self) -> None:
        p = get_profile("osrm-car")
        expected = {
            "motorway": 90,
            "trunk": 85,
            "primary": 65,
            "secondary": 55,
            "tertiary": 40,
            "unclassified": 25,
            "residential": 25,
            "living_street": 10,
            "service": 15,
            "motorway_link": 45,
        }
        for cls, speed in expected.items():
            assert p.class_speeds_kmh[cls] == speed
        assert p.maxspeed_factor == 0.8
        # tagged limit wins, scaled by 0.8: FR:urban on a primary -> 40 km/h
        assert p.speed_kmh("primary", "FR:urban") == pytest.approx(40.0)
        assert p.speed_kmh("primary", "signals") == 65.0
        assert p.speed_kmh("no-such-class", None) == p.default_speed_kmh

    def test_fr_legal_values(self) -> None:
        p = get_profile("fr-legal")
        assert p.class_speeds_kmh["motorway"] == 130
        assert p.class_speeds_kmh["trunk"] == 110
        assert p.class_speeds_kmh["secondary"] == 80
        assert p.class_speeds_kmh["residential"] == 50
        assert p.maxspeed_factor == 1.0
        assert p.speed_kmh("residential", "FR:zone30") == 30.0

    def test_factor_for_sensitivity(self) -> None:
        p = get_profile("osrm-car")
        lo, hi = p.with_factor(0.9), p.with_factor(1.1)
        assert lo.speed_kmh("secondary") == pytest.approx(55 * 0.9)
        assert hi.speed_kmh("secondary", "90") == pytest.approx(90 * 0.8 * 1.1)
        assert p.factor == 1.0  # frozen original untouched
        assert lo.to_dict() != p.to_dict()

    def test_edge_speeds_vectorised(self) -> None:
        p = get_profile("osrm-car")
        got = p.edge_speeds_kmh(
            ["primary", "residential", "mystery", "primary"], [np.nan, np.nan, np.nan, 50.0]
        )
        np.testing.assert_allclose(got, [65.0, 25.0, 25.0, 40.0])
        np.testing.assert_allclose(p.edge_speeds_kmh(None, None, n=2), [25.0, 25.0])

    def test_frozen_and_hashable_fields(self) -> None:
        p = get_profile("osrm-car")
        with pytest.raises(AttributeError):
            p.factor = 2.0  # type: ignore[misc]
        with pytest.raises(TypeError):
            p.class_speeds_kmh["motorway"] = 1.0  # type: ignore[index]

    def test_custom_profile(self) -> None:
        p = SpeedProfile(
            name="slow",
            class_speeds_kmh={"residential": 20.0},
            maxspeed_factor=0.5,
            default_speed_kmh=10.0,
        )
        assert p.speed_kmh("residential") == 20.0
        assert p.speed_kmh("residential", "FR:urban") == 25.0
        assert get_profile(p) is p

    def test_bad_profile_value(self) -> None:
        with pytest.raises(
            BadValueError, match=r"class_speeds_kmh\['primary'\] must be a positive number, got 0.0"
        ):
            SpeedProfile(
                name="bad",
                class_speeds_kmh={"primary": 0.0},
                maxspeed_factor=1.0,
                default_speed_kmh=10.0,
            )

    def test_unknown_profile(self) -> None:
        with pytest.raises(UnknownProfileError, match=r"'bike'.*fr-legal, osrm-car"):
            get_profile("bike")
        assert set(PROFILES) == {"osrm-car", "fr-legal"}


def test_docstring_examples() -> None:
    import doctest

    import accessmap.network.speeds

    result = doctest.testmod(accessmap.network.speeds)
    assert result.attempted > 0 and result.failed == 0
