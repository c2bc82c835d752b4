"""Car speed profiles: road-class speed tables and OpenStreetMap ``maxspeed`` parsing.

A :class:`SpeedProfile` turns an edge's road class (OSM ``highway``) and its tagged speed
limit into a driving speed in km/h:

1. if the edge has a usable ``maxspeed`` (parsed by :func:`parse_maxspeed`, French implicit
   values included), speed = ``maxspeed * maxspeed_factor``;
2. otherwise speed = ``class_speeds_kmh[highway]``, or ``default_speed_kmh`` for a class the
   table does not know (e.g. the PFE tables, which carry no class);
3. the result is multiplied by the global ``factor`` (1.0 by default; 0.9 / 1.1 for the
   ±10 % sensitivity runs asked for in ``docs/methods.md``).

Two profiles ship (:data:`PROFILES`, :func:`get_profile`):

``"osrm-car"`` (default)
    Class speeds of the OSRM car profile (``profiles/car.lua``, Project OSRM, BSD-2; the same
    table is used by Itinero's car profile): motorway 90, motorway_link 45, trunk 85,
    trunk_link 40, primary 65, primary_link 30, secondary 55, secondary_link 25, tertiary 40,
    tertiary_link 20, unclassified 25, residential 25, living_street 10, service 15 km/h.
    Tagged limits are scaled by 0.8 (``speed_reduction`` in car.lua: "OSRM will use 4/5 of the
    projected free-flow speed", OSRM ``features/car/maxspeed.feature``). These are *average*
    speeds, including junction delays, which OSRM models separately and we do not.
    ``highway=road`` (unknown class) is not in car.lua; 25 km/h is our assumption (same as
    ``unclassified``). ``default_speed_kmh`` = 25 is also an assumption (used for edges with
    no class and no limit, e.g. the PFE tables, whose edges are mostly town streets).

``"fr-legal"``
    French legal limits (Code de la route): 130 km/h on motorways, 110 on dual carriageways,
    80 on other roads outside built-up areas (art. R413-2, 80 since décret n° 2018-487 of
    15 June 2018), 50 in built-up areas (art. R413-3), 20 in a *zone de rencontre* and 30 in
    a *zone 30* (art. R110-2). The mapping of OSM classes onto these limits is our assumption:
    trunk = dual carriageway 110; primary, secondary, tertiary and unclassified = rural 80;
    residential and road = urban 50; links 50 and service 30 (assumptions; navitia's French
    defaults also use 50 for links); living_street 20. Tagged limits are used unscaled
    (``maxspeed_factor`` 1.0). Legal limits are upper bounds: times are lower bounds, for
    comparison with the OSRM-style profile.

Implicit ``maxspeed`` values (:data:`FR_IMPLICIT_MAXSPEED_KMH`): ``FR:urban`` 50,
``FR:rural`` 80, ``FR:motorway`` 130, ``FR:zone30`` 30, ``FR:zone20`` / ``FR:living_street``
20 (OSM wiki "Key:maxspeed", "Default speed limits" France; OSRM car.lua has
``fr:rural = 80``); ``FR:walk`` / ``walk`` = 6 km/h (walking pace; the number is our
assumption), ``none`` = 130 (France has no unrestricted roads: the motorway limit).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from accessmap.errors import BadValueError, UnknownProfileError

if TYPE_CHECKING:  # pandas is imported lazily: the cached-network path never needs it
    import pandas as pd

__all__ = [
    "FR_IMPLICIT_MAXSPEED_KMH",
    "OSRM_CAR_CLASS_SPEEDS_KMH",
    "PROFILES",
    "SpeedProfile",
    "get_profile",
    "parse_maxspeed",
    "parse_maxspeed_array",
]

#: Kilometres per statute mile (international mile, 1959).
KM_PER_MILE = 1.609344
#: Kilometres per nautical mile (knots).
KM_PER_NAUTICAL_MILE = 1.852

#: Implicit ``maxspeed`` values for France (keys lower-case), see the module docstring.
FR_IMPLICIT_MAXSPEED_KMH: Mapping[str, float] = MappingProxyType(
    {
        "fr:urban": 50.0,
        "fr:rural": 80.0,
        "fr:motorway": 130.0,
        "fr:zone30": 30.0,
        "fr:zone20": 20.0,
        "fr:living_street": 20.0,
        "fr:walk": 6.0,
        "walk": 6.0,
        "none": 130.0,
    }
)

#: OSRM car.lua class speeds in km/h (``profiles/car.lua`` ``speeds.highway``), plus
#: ``road`` = 25 (our assumption; car.lua has no entry for it).
OSRM_CAR_CLASS_SPEEDS_KMH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 90.0,
        "motorway_link": 45.0,
        "trunk": 85.0,
        "trunk_link": 40.0,
        "primary": 65.0,
        "primary_link": 30.0,
        "secondary": 55.0,
        "secondary_link": 25.0,
        "tertiary": 40.0,
        "tertiary_link": 20.0,
        "unclassified": 25.0,
        "residential": 25.0,
        "living_street": 10.0,
        "service": 15.0,
        "road": 25.0,
    }
)

#: French legal limits by OSM class (Code de la route R413-2, R413-3, R110-2; class mapping
#: is an assumption, see the module docstring).
FR_LEGAL_CLASS_SPEEDS_KMH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 130.0,
        "motorway_link": 50.0,
        "trunk": 110.0,
        "trunk_link": 50.0,
        "primary": 80.0,
        "primary_link": 50.0,
        "secondary": 80.0,
        "secondary_link": 50.0,
        "tertiary": 80.0,
        "tertiary_link": 50.0,
        "unclassified": 80.0,
        "residential": 50.0,
        "living_street": 20.0,
        "service": 30.0,
        "road": 50.0,
    }
)

_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots?)?\s*$")
_ZONE = re.compile(r"^[a-z]{2}:zone:?(\d+)$")


def parse_maxspeed(
    value: object, *, implicit: Mapping[str, float] = FR_IMPLICIT_MAXSPEED_KMH
) -> float:
    """Parse an OpenStreetMap ``maxspeed`` value into km/h.

    Parameters
    ----------
    value : object
        The tag value: ``"50"``, ``"50 km/h"``, ``"30 mph"``, ``"10 knots"``, ``"50;70"``
        (several limits: the lowest is taken, the conservative reading), ``"FR:urban"``,
        ``"FR:zone30"``, ``"none"``, ... Numbers are returned as floats.
    implicit : mapping, keyword-only
        Implicit values, keys lower-case (default :data:`FR_IMPLICIT_MAXSPEED_KMH`).

    Returns
    -------
    float
        The limit in km/h, or NaN when the value is missing, variable (``"signals"``,
        ``"variable"``), non-positive or unreadable: the caller then falls back to the
        road-class speed.

    Examples
    --------
    >>> parse_maxspeed("50;70"), parse_maxspeed("FR:urban"), parse_maxspeed("signals")
    (50.0, 50.0, nan)
    >>> round(parse_maxspeed("30 mph"), 2)
    48.28
    """
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        num = float(value)
        return num if math.isfinite(num) and num > 0 else math.nan
    text = str(value).strip().lower()
    if not text:
        return math.nan
    if ";" in text or "|" in text:
        parts = [parse_maxspeed(p, implicit=implicit) for p in re.split(r"[;|]", text)]
        good = [p for p in parts if not math.isnan(p)]
        return min(good) if good else math.nan
    if text in implicit:
        return float(implicit[text])
    m = _NUMBER.match(text)
    if m:
        num = float(m.group(1).replace(",", "."))
        unit = m.group(2) or "km/h"
        if unit == "mph":
            num *= KM_PER_MILE
        elif unit.startswith("knot"):
            num *= KM_PER_NAUTICAL_MILE
        return num if num > 0 else math.nan
    z = _ZONE.match(text)
    if z:
        return float(z.group(1))
    return math.nan


def parse_maxspeed_array(
    values: npt.ArrayLike | pd.Series | Sequence[object],
    *,
    implicit: Mapping[str, float] = FR_IMPLICIT_MAXSPEED_KMH,
) -> npt.NDArray[np.float64]:
    """Vectorised :func:`parse_maxspeed`: parses each distinct value once.

    Returns a float64 array (NaN where unknown) the length of ``values``.
    """
    import pandas as pd

    ser = pd.Series(np.asarray(values, dtype=object))
    if ser.empty:
        return np.zeros(0, dtype=np.float64)
    codes, uniques = pd.factorize(ser, use_na_sentinel=True)
    parsed = np.array([parse_maxspeed(u, implicit=implicit) for u in uniques], dtype=np.float64)
    out = np.full(len(ser), np.nan)
    ok = codes >= 0
    out[ok] = parsed[codes[ok]]
    return out


@dataclass(frozen=True)
class SpeedProfile:
    """How road class and speed limit become a car speed (km/h); swappable and frozen.

    Attributes
    ----------
    name : str
        Profile name (part of the network cache key, with every other field).
    class_speeds_kmh : mapping
        Speed for each OSM ``highway`` class when the edge has no usable ``maxspeed``.
    maxspeed_factor : float
        Multiplier applied to tagged limits (OSRM: 0.8).
    default_speed_kmh : float
        Speed for classes missing from ``class_speeds_kmh`` (and class-less tables).
    implicit_maxspeed_kmh : mapping
        Implicit ``maxspeed`` values (lower-case keys), e.g. ``fr:urban`` -> 50.
    factor : float, default 1.0
        Global multiplier on every speed, for sensitivity runs (0.9 / 1.1 = ±10 %).
    description : str
        One-line provenance, shown in reports.

    Examples
    --------
    >>> p = get_profile("osrm-car")
    >>> p.speed_kmh("primary", "FR:rural"), p.speed_kmh("primary", None)
    (64.0, 65.0)
    >>> p.with_factor(0.9).speed_kmh("primary", None)
    58.5
    """

    name: str
    class_speeds_kmh: Mapping[str, float]
    maxspeed_factor: float
    default_speed_kmh: float
    implicit_maxspeed_kmh: Mapping[str, float] = field(
        default_factory=lambda: FR_IMPLICIT_MAXSPEED_KMH
    )
    factor: float = 1.0
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_speeds_kmh", MappingProxyType(dict(self.class_speeds_kmh)))
        object.__setattr__(
            self,
            "implicit_maxspeed_kmh",
            MappingProxyType({k.lower(): v for k, v in self.implicit_maxspeed_kmh.items()}),
        )
        checks: list[tuple[str, float]] = [
            ("maxspeed_factor", self.maxspeed_factor),
            ("default_speed_kmh", self.default_speed_kmh),
            ("factor", self.factor),
        ]
        checks += [(f"class_speeds_kmh[{k!r}]", v) for k, v in self.class_speeds_kmh.items()]
        checks += [
            (f"implicit_maxspeed_kmh[{k!r}]", v) for k, v in self.implicit_maxspeed_kmh.items()
        ]
        for label, val in checks:
            if not (isinstance(val, (int, float)) and math.isfinite(val) and val > 0):
                raise BadValueError(
                    f"SpeedProfile {self.name!r}: {label} must be a positive number, got "
                    f"{val!r}; fix the profile definition"
                )

    def with_factor(self, factor: float) -> SpeedProfile:
        """A copy with the global ``factor`` set (e.g. 0.9 for a -10 % sensitivity run)."""
        return replace(self, factor=factor)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-ready; used in the cache key and in metadata)."""
        return {
            "name": self.name,
            "class_speeds_kmh": dict(sorted(self.class_speeds_kmh.items())),
            "maxspeed_factor": self.maxspeed_factor,
            "default_speed_kmh": self.default_speed_kmh,
            "implicit_maxspeed_kmh": dict(sorted(self.implicit_maxspeed_kmh.items())),
            "factor": self.factor,
        }

    def parse_maxspeed(self, value: object) -> float:
        """:func:`parse_maxspeed` with this profile's implicit values."""
        return parse_maxspeed(value, implicit=self.implicit_maxspeed_kmh)

    def speed_kmh(self, highway: str | None, maxspeed: object = None) -> float:
        """Speed of one edge (km/h) from its class and raw ``maxspeed`` value."""
        limit = self.parse_maxspeed(maxspeed)
        if not math.isnan(limit):
            return limit * self.maxspeed_factor * self.factor
        base = self.class_speeds_kmh.get(highway or "", self.default_speed_kmh)
        return float(base) * self.factor

    def edge_speeds_kmh(
        self,
        highway: npt.ArrayLike | pd.Series | None,
        maxspeed_kmh: npt.ArrayLike | None,
        *,
        n: int | None = None,
    ) -> npt.NDArray[np.float64]:
        """Vectorised speeds (km/h) from classes and already-parsed limits.

        Parameters
        ----------
        highway : array-like of str or None
            Road class per edge; ``None`` means no class (every edge gets the default).
        maxspeed_kmh : array-like of float or None
            Parsed limits in km/h, NaN where unknown; ``None`` means no limits.
        n : int, optional
            Number of edges when both inputs are ``None``.
        """
        if highway is not None:
            import pandas as pd

            cls_speed = (
                pd.Series(np.asarray(highway, dtype=object))
                .map(dict(self.class_speeds_kmh))
                .fillna(self.default_speed_kmh)
                .to_numpy(dtype=np.float64)
            )
        else:
            size = n if maxspeed_kmh is None else len(np.asarray(maxspeed_kmh))
            cls_speed = np.full(int(size or 0), self.default_speed_kmh, dtype=np.float64)
        if maxspeed_kmh is not None:
            lim = np.asarray(maxspeed_kmh, dtype=np.float64)
            ok = np.isfinite(lim) & (lim > 0)
            speed = np.where(ok, lim * self.maxspeed_factor, cls_speed)
        else:
            speed = cls_speed
        return speed * self.factor


#: The shipped profiles, by name.
PROFILES: Mapping[str, SpeedProfile] = MappingProxyType(
    {
        "osrm-car": SpeedProfile(
            name="osrm-car",
            class_speeds_kmh=OSRM_CAR_CLASS_SPEEDS_KMH,
            maxspeed_factor=0.8,
            default_speed_kmh=25.0,
            description="OSRM car.lua class speeds; tagged limits x 0.8",
        ),
        "fr-legal": SpeedProfile(
            name="fr-legal",
            class_speeds_kmh=FR_LEGAL_CLASS_SPEEDS_KMH,
            maxspeed_factor=1.0,
            default_speed_kmh=50.0,
            description="French legal limits (Code de la route R413-2, R413-3, R110-2)",
        ),
    }
)


def get_profile(name: str | SpeedProfile) -> SpeedProfile:
    """Return a shipped profile by name (a :class:`SpeedProfile` is returned unchanged).

    Raises
    ------
    UnknownProfileError
        The name is not one of :data:`PROFILES`; the message lists the known names.

    Examples
    --------
    >>> get_profile("fr-legal").class_speeds_kmh["motorway"]
    130.0
    """
    if isinstance(name, SpeedProfile):
        return name
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(PROFILES))
        raise UnknownProfileError(
            f"unknown speed profile {name!r}; known profiles: {known} (or pass a SpeedProfile)"
        ) from None
