"""Run parameters and the result of a run (:class:`ScoreParams`, :class:`ScoreResult`).

May import: :mod:`accessmap.errors`, :mod:`accessmap.supply`, :mod:`accessmap.measures`.
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
from accessmap.measures.apl import CONSULTATIONS_PER_GP_FITTED
from accessmap.traveltime.engines import ENGINES

__all__ = ["ENGINES", "Progress", "ScoreParams", "ScoreResult"]

#: Progress callback: (stage label, done, total).
Progress = Callable[[str, int, int], None]


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
        GP supply source: ``"bpe2021"`` (default: BPE 2021 D265 head counts of the INSEE
        Statistiques locales export, the year that agrees best with the DREES APL outside
        Occitanie, ``docs/validation.md``), ``"bpe2019"`` (D201), or a BPE file path.
    engine : str
        ``"auto"`` (default: the road network where it covers, crow-fly elsewhere),
        ``"crow-fly"`` or ``"road-network"`` (only origins the road network covers are
        routed). The engine is built by :func:`accessmap.traveltime.make_engine`.
    roads : Path, optional
        Road file (``.osm.pbf``, ``.osm``, ``.osm.bz2``, a node/edge CSV pair given as the
        nodes file, a Travel Mapping archive or folder, an osmnx ``.graphml``). ``None``
        (default): the Travel Mapping network of the data directory
        (``roads_france_travelmapping``), clipped to the study area plus ``margin_m``.
        ``Path("none")``: no road network (crow-fly everywhere).
    margin_m : float
        Margin around the study area kept in a Travel Mapping network, metres (default
        30,000: trips across the border are routed and GPs just beyond it are reachable).
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
        Consultations a year per GP head count when ``activity="constant"``: default 4,238,
        FITTED on the DREES APL 2023 outside Occitanie
        (:data:`accessmap.measures.apl.CONSULTATIONS_PER_GP_FITTED`); DREES imputes 5,400 to
        new GPs (``--consultations-per-gp 5400``).
    activity : str
        ``"pressure"`` (default): consultations per head count from the fitted
        :data:`accessmap.measures.apl.ACTIVITY_FITTED` curve of the population per GP in
        reach; ``"constant"``: ``consultations_per_gp`` for every GP.
    border_km : float
        Width of the border context (:data:`accessmap.area.BORDER_KM`, 30 km): facilities and
        APL demand of the communes of other départements within it count; 0 = walls.
    scale_bpe2024 : bool
        Scale commune GP counts to the BPE 2024 département totals (off by default).
    min_epci_share_inside : float
        An EPCI cut by the study area's border is ranked only when at least this share of its
        population lives inside (default 0.10; assumption: CC Pays de Nay, 167 of 28,940
        inhabitants in Occitanie, is scored and flagged but not ranked).
    isochrone_min : tuple of float
        Isochrone thresholds.
    what_if : tuple of str
        Sites to evaluate one at a time on the baseline (existing and planned centres):
        ``"46102"`` or ``"46102:6"`` (INSEE code and doctors; default
        ``doctors_per_centre``).
    objective : str
        Siting objective (:data:`accessmap.siting.OBJECTIVES`): ``"apl"`` (default: people
        lifted above APL 2.5), ``"coverage"`` (people newly within the target, MCLP) or
        ``"time"`` (population-weighted mean time to the nearest GP, p-median).
    doctors_per_centre : float
        Doctors of a new centre: 4 = 44 salaried GPs / 11 centres, the first year of
        "Ma Santé, Ma Région" (:data:`accessmap.siting.inputs.DOCTORS_PER_CENTRE`).
    candidates : str or Path, optional
        Candidate sites: ``None`` = the default rule (a pharmacy in BPE 2021 or at least
        ``candidate_min_pop`` inhabitants), ``"all"`` = every commune (the rule of earlier
        versions), or a file of INSEE codes or points
        (:func:`accessmap.siting.inputs.read_sites_file`).
    candidate_min_pop : float
        Population from which a commune without a pharmacy is a candidate (1,000; assumption).
    within_priority : Path, optional
        CSV of EPCI SIREN codes (the ARS list format,
        :func:`accessmap.loaders.admin.load_priority_zones`): candidates restricted to them.
    existing_centres : bool
        Count the existing Ma Santé, Ma Région sites as supply (default True).
    planned : Path, optional
        File of centres already decided (same layout as ``candidates``, optional
        ``doctors``), fixed like the existing ones.
    per_year : int, optional
        Centres opened each year of ``years`` (default ``k``).
    years : tuple of (int, int), optional
        First and last year of a multi-year plan (``--years 2026-2028``): ``per_year`` x
        number of years sites, the effect after each year.
    supply_kinds : tuple of str
        Supply kinds of :mod:`accessmap.supply` to time (``gp`` always; default
        ``gp, emergency, hospital``); each adds ``time_<kind>_min`` to the communes.
    modified_data : tuple of str
        Required input files that differ from the registry and that the user accepted
        (``accessmap score --allow-modified-data``; :func:`accessmap.data.check.modified_inputs`).
        Recorded in the summary and the metadata so that every output says so.
    """

    region: str = "occitanie"
    threshold_min: float = 15.0
    bands_min: tuple[float, ...] = (10.0, 15.0, 20.0, 30.0)
    supply: str = sk.DEFAULT_GP_SOURCE
    engine: str = "auto"
    roads: Path | None = None
    margin_m: float = 30_000.0
    profile: str = "osrm-car"
    zones: Path | None = None
    zones_id: str = "id"
    priority: Path | None = None
    top_n: int = 28
    k: int = 10
    exact: bool = True
    grid: bool = True
    catchment_cutoff_min: float = 20.0
    consultations_per_gp: float = CONSULTATIONS_PER_GP_FITTED
    activity: str = "pressure"
    border_km: float = 30.0
    scale_bpe2024: bool = False
    min_epci_share_inside: float = 0.10
    isochrone_min: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0)
    what_if: tuple[str, ...] = ()
    objective: str = "apl"
    doctors_per_centre: float = 4.0
    candidates: str | Path | None = None
    candidate_min_pop: float = 1000.0
    within_priority: Path | None = None
    existing_centres: bool = True
    planned: Path | None = None
    per_year: int | None = None
    years: tuple[int, int] | None = None
    supply_kinds: tuple[str, ...] = sk.DEFAULT_KINDS
    modified_data: tuple[str, ...] = ()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the bad option and the fix."""
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}: use one of {', '.join(ENGINES)}")
        if self.engine == "road-network" and str(self.roads).strip().lower() == "none":
            raise ConfigError(
                "engine 'road-network' needs a road network but --roads is 'none': drop --roads "
                "(default Travel Mapping network) or pass a road file, or use --engine crow-fly"
            )
        if not self.margin_m >= 0:
            raise ConfigError(f"margin must be >= 0 metres, got {self.margin_m!r}")
        if self.zones is not None and self.zones_id.strip().lower() in ("geometry", "geom", ""):
            raise ConfigError(
                f"--zones-id {self.zones_id[:40]!r} names the geometry, not an id column: give "
                "the column of --zones that identifies each zone (e.g. --zones-id id)"
            )
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
        self._validate_siting()
        self._validate_apl()

    def _validate_apl(self) -> None:
        if self.activity not in ("pressure", "constant"):
            raise ConfigError(f"unknown activity model {self.activity!r}: use pressure or constant")
        if not (0 < self.consultations_per_gp < float("inf")):
            raise ConfigError(
                f"--consultations-per-gp must be > 0, got {self.consultations_per_gp!r} "
                "(fitted default 4238; DREES new-GP figure 5400)"
            )
        if not (0 <= self.border_km < float("inf")):
            raise ConfigError(f"--border-km must be >= 0 km, got {self.border_km!r}")
        if not (0 <= self.min_epci_share_inside <= 1):
            raise ConfigError(
                f"min_epci_share_inside must be in [0, 1], got {self.min_epci_share_inside!r}"
            )

    def _validate_siting(self) -> None:
        # the objectives of accessmap.siting.OBJECTIVES (params imports no siting module)
        if self.objective not in ("apl", "coverage", "time"):
            raise ConfigError(f"unknown objective {self.objective!r}: use apl, coverage or time")
        if not (self.doctors_per_centre > 0 and self.doctors_per_centre < float("inf")):
            raise ConfigError(
                f"--doctors-per-centre must be > 0, got {self.doctors_per_centre!r} (default 4 "
                "= 44 GPs / 11 centres)"
            )
        if not self.candidate_min_pop >= 0:
            raise ConfigError(f"--candidate-min-pop must be >= 0, got {self.candidate_min_pop!r}")
        if self.per_year is not None and self.per_year < 1:
            raise ConfigError(f"--per-year must be >= 1 centre, got {self.per_year!r}")
        if self.years is not None and (len(self.years) != 2 or self.years[1] < self.years[0]):
            raise ConfigError(f"--years must be FIRST-LAST with FIRST <= LAST (e.g. 2026-2028), "
                              f"got {self.years!r}")  # fmt: skip


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
    what_if_fn : callable, optional
        ``(insee, doctors) -> dict``: one more centre evaluated on the run's baseline (set by
        :func:`accessmap.pipeline.run_score`; see :meth:`what_if`).

    Examples
    --------
    >>> result = run_score(ScoreParams(k=5))  # doctest: +SKIP
    >>> result  # doctest: +SKIP
    ScoreResult(Occitanie: 4,446 communes, 6,124,653 people; 0.39% beyond 15 min ...)
    >>> result.layer("epci_scores").head()  # doctest: +SKIP
    >>> result.what_if("46102")["lifted_pop"]  # doctest: +SKIP
    """

    layers: dict[str, gpd.GeoDataFrame]
    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    what_if_fn: Callable[[str, float | None], dict[str, Any]] | None = field(
        default=None, repr=False, compare=False
    )

    def __repr__(self) -> str:
        s = self.summary
        sites = self.layers.get("sites")
        share = s.get("share_beyond_target")
        beyond = f"{100 * float(share):.2f}%" if share is not None else "?"
        return (
            f"ScoreResult({s.get('area', '?')}: {int(s.get('communes', 0)):,} communes, "
            f"{int(s.get('population', 0)):,} people; {beyond} beyond "
            f"{float(s.get('threshold_min', 15)):g} min; engines "
            f"{', '.join(map(str, s.get('engines', [])))}; "
            f"{0 if sites is None else len(sites)} sites; "
            f"layers {', '.join(self.layers)}; tables {', '.join(self.tables)})"
        )

    def layer(self, name: str) -> pd.DataFrame:
        """One layer (GeoDataFrame) or table (DataFrame) of the run, by name.

        Raises
        ------
        ConfigError
            No such layer or table; the message lists them.
        """
        if name in self.layers:
            return self.layers[name]
        if name in self.tables:
            return self.tables[name]
        raise ConfigError(
            f"no layer or table {name!r} in this result: have "
            f"{', '.join([*self.layers, *self.tables])}"
        )

    def site_gains(self) -> pd.DataFrame:
        """The proposed sites' gains in their order (no geometry): rank, commune, doctors,
        people newly within the target (``gain_pop``), people lifted above APL 2.5
        (``lifted_pop``) and the cumulative totals, as far as the run wrote them."""
        sites = self.layers.get("sites")
        if sites is None or not len(sites):
            return pd.DataFrame()
        keep = [c for c in ("rank", "year", "insee", "label", "nom", "epci_nom", "doctors",
                            "gain_pop", "cumulative_pop", "lifted_pop", "cumulative_lifted_pop",
                            "apl_site_before", "apl_site_after", "time_change_min")
                if c in sites.columns]  # fmt: skip
        return pd.DataFrame(sites[keep]).sort_values("rank").reset_index(drop=True)

    def what_if(self, insee: str, doctors: float | None = None) -> dict[str, Any]:
        """What one more centre at commune ``insee`` (with ``doctors`` doctors, default the
        run's ``doctors_per_centre``) would change on the run's baseline: people newly within
        the target, people lifted above APL 2.5, the site's APL before and after.

        Raises
        ------
        ConfigError
            The result carries no siting model (built outside :func:`run_score`).
        """
        if self.what_if_fn is None:
            raise ConfigError(
                "this result has no siting model: run it with accessmap.run_score to ask what-ifs"
            )
        return self.what_if_fn(str(insee), doctors)
