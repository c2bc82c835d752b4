"""Project-wide constants and frozen configuration objects.

No global mutable settings: configuration is passed explicitly as frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Working CRS for every distance and area: RGF93 / Lambert-93 (EPSG:2154), the official
#: projection for metropolitan France (IGN).
WORKING_CRS = "EPSG:2154"

#: CRS of the shared data files (WGS84 lon/lat) unless a file name says otherwise.
SOURCE_CRS = "EPSG:4326"

#: Occitanie (INSEE region code 76) départements.
OCCITANIE_DEPS: tuple[str, ...] = (
    "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82",
)  # fmt: skip

#: Environment variable naming the data directory.
DATA_DIR_ENV = "ACCESSMAP_DATA_DIR"

#: Environment variable naming the cache directory (compiled graphs).
CACHE_DIR_ENV = "ACCESSMAP_CACHE_DIR"


@dataclass(frozen=True)
class Thresholds:
    """Travel-time thresholds in minutes.

    ``target_min`` = 15 is the Région Occitanie "Ma Santé, Ma Région" goal (GP within a
    quarter of an hour); 10/20/30 are the usual reporting bands (``methods.md``).
    """

    target_min: float = 15.0
    bands_min: tuple[float, ...] = (10.0, 15.0, 20.0, 30.0)
    isochrone_min: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0)
    catchment_cutoff_min: float = 20.0
    extra: dict[str, float] = field(default_factory=dict)
