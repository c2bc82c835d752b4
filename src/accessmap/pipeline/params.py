"""Run parameters and the result of a run (:class:`ScoreParams`, :class:`ScoreResult`).

May import: :mod:`accessmap.errors`, :mod:`accessmap.supply`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from accessmap import supply as sk
from accessmap.errors import ConfigError

__all__ = ["ENGINES", "Progress", "ScoreParams", "ScoreResult"]

#: Progress callback: (stage label, done, total).
Progress = Callable[[str, int, int], None]

ENGINES = ("auto", "crow-fly", "road-network")


@dataclass(frozen=True)
class ScoreParams:
    """Parameters of one scoring run (all have documented defaults).

    Attributes
    ----------
    region : str
        ``"occitanie"`` (default), a département code, a région code or ``"FR"``.
    threshold_min : float
        The access target: 15 minutes (Région Occitanie, "Ma Santé, Ma Région").
    bands_min : tuple of float
        Reporting thresholds for the ``within_X`` flags and shares.
    supply : str
        GP supply source (``"bpe2019"`` counts per commune, or a BPE file path).
    engine : str
        ``"auto"`` (road network where ``roads`` covers, crow-fly elsewhere), ``"crow-fly"``
        or ``"road-network"`` (only origins the road file covers are routed).
    roads : Path, optional
        Road file (``.osm.pbf``, ``.osm``, ``.osm.bz2``, or a node/edge CSV pair given as
        the nodes file).
    profile : str
        Speed profile name (:func:`accessmap.network.speeds.get_profile`).
    zones : Path, optional
        An extra zone layer (any OGR file with polygons) to score besides the EPCI.
    zones_id : str
        Id column of ``zones``.
    priority : Path, optional
        CSV of official priority EPCI SIREN codes for the agreement report.
    top_n : int
        Size of the top list compared with the official list (28 EPCI in Occitanie, ARS 2025).
    k : int
        Number of new centres to site (about ten a year in "Ma Santé, Ma Région").
    exact : bool
        Also solve the exact MCLP (HiGHS) and report its gap to the greedy answer.
    grid : bool
        Also measure at 1 km population cells where the grid exists.
    catchment_cutoff_min : float
        Catchment radius of the 2SFCA family (DREES APL: 20 minutes).
    consultations_per_gp : float
        Consultations a year per GP head count (DREES convention 5,400; assumption).
    isochrone_min : tuple of float
        Isochrone thresholds.
    what_if : tuple of str
        INSEE codes to evaluate as single new sites.
    supply_kinds : tuple of str
        Supply kinds of :mod:`accessmap.supply` to time (``gp`` always; default
        ``gp, emergency, hospital``); each adds ``time_<kind>_min`` to the communes.
    """

    region: str = "occitanie"
    threshold_min: float = 15.0
    bands_min: tuple[float, ...] = (10.0, 15.0, 20.0, 30.0)
    supply: str = "bpe2019"
    engine: str = "auto"
    roads: Path | None = None
    profile: str = "osrm-car"
    zones: Path | None = None
    zones_id: str = "id"
    priority: Path | None = None
    top_n: int = 28
    k: int = 10
    exact: bool = True
    grid: bool = True
    catchment_cutoff_min: float = 20.0
    consultations_per_gp: float = 5400.0
    isochrone_min: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0)
    what_if: tuple[str, ...] = ()
    supply_kinds: tuple[str, ...] = sk.DEFAULT_KINDS

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the bad option and the fix."""
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}: use one of {', '.join(ENGINES)}")
        if self.engine == "road-network" and self.roads is None:
            raise ConfigError("engine 'road-network' needs a road file: pass --roads FILE")
        if not self.threshold_min > 0:
            raise ConfigError(f"threshold must be > 0 minutes, got {self.threshold_min!r}")
        if self.k < 0:
            raise ConfigError(f"k (number of new centres) must be >= 0, got {self.k!r}")
        if self.top_n < 1:
            raise ConfigError(f"top-n must be >= 1, got {self.top_n!r}")
        if self.catchment_cutoff_min < self.threshold_min:
            raise ConfigError(
                f"catchment cutoff {self.catchment_cutoff_min} min is below the threshold "
                f"{self.threshold_min} min: raise --cutoff"
            )


@dataclass
class ScoreResult:
    """Everything one run produced.

    Attributes
    ----------
    layers : dict of str to GeoDataFrame
        ``communes``, ``cells``, ``epci_scores``, ``sites``, ``isochrones`` (+ ``zones``).
    tables : dict of str to DataFrame
        ``departements``, ``region``, ``siting_curve``, ``agreement``, ``what_if``,
        ``sensitivity``.
    summary : dict
        Headline figures for the CLI and the report.
    metadata : dict
        Parameters, engine, data sources, version and date (written into the GeoPackage).
    """

    layers: dict[str, gpd.GeoDataFrame]
    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
