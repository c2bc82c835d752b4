"""The supply-kind registry: every kind of facility people travel to, in one place.

A :class:`SupplyKind` names a facility type (GPs, emergency services, hospitals,
pharmacies...), the column its travel time gets in the ``communes`` layer
(``time_<name>_min``) and its **source spec**: one function that loads its points for a
study area (:class:`SupplyContext`: départements, data directory, routing origins). Adding a
kind is one :func:`register` call (or one entry of :data:`SUPPLY_KINDS`) plus its source
spec; the pipeline (``--supply-kinds``), the GeoPackage columns, their QGIS styles and the
report pick it up from here.

Built-in kinds and sources (``SOURCES.md`` of the data directory):

* ``gp``: general practitioners, BPE 2019 D201 head counts per commune (Occitanie:
  ``supply_gp_counts_commune_bpe2019.csv``; elsewhere the national BPE rows);
* ``emergency``: emergency services, BPE 2019 D106;
* ``hospital``: FINESS 2020 hospital-type establishments (Occitanie only: no national
  FINESS file in the data directory, so the kind is empty elsewhere);
* ``pharmacy``: pharmacies, BPE 2021 D307 ("Pharmacie") from the INSEE *Statistiques
  locales* export ``bpe2021_equipements_communes_france_statistiques-locales.xlsx``, counts
  per commune mapped to COG 2026 and placed at the commune routing origin.

May import: :mod:`accessmap.config`, :mod:`accessmap.errors`, :mod:`accessmap.geography`,
:mod:`accessmap.loaders`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from accessmap.config import OCCITANIE_DEPS, WORKING_CRS
from accessmap.errors import ConfigError
from accessmap.loaders import france, statlocales
from accessmap.loaders import supply as occ

__all__ = [
    "DEFAULT_KINDS",
    "SUPPLY_KINDS",
    "SupplyContext",
    "SupplyKind",
    "empty_points",
    "get_kind",
    "register",
    "resolve_kinds",
    "statlocales_source",
]


@dataclass(frozen=True)
class SupplyContext:
    """What a source spec needs to load the points of one study area.

    Attributes
    ----------
    deps : tuple of str
        Département codes of the area.
    data_dir : path or None
        Data directory.
    origins : GeoDataFrame
        Commune routing origins of the area, indexed by ``insee`` (EPSG:2154).
    occitanie : bool
        The area is read from the Occitanie bundle (regional files).
    gp_source : str
        GP source option (``ScoreParams.supply``).
    crs : str
        CRS of the layers.
    """

    deps: tuple[str, ...]
    data_dir: str | Path | None
    origins: gpd.GeoDataFrame
    occitanie: bool
    gp_source: str = "bpe2019"
    crs: str = WORKING_CRS


Loader = Callable[[SupplyContext], gpd.GeoDataFrame]


@dataclass(frozen=True)
class SupplyKind:
    """One kind of facility.

    Attributes
    ----------
    name : str
        Registry key and column stem (``time_<name>_min``); lower case, no spaces.
    label : str
        Human-readable label (legends, report).
    load : callable
        The source spec: ``load(ctx) -> GeoDataFrame`` of points in ``ctx.crs`` with the id
        column ``id_col`` (unique), ``insee`` and, for counted supply, ``count``.
    id_col : str
        Id column of the points (the layers are indexed by it).
    sources : tuple of str
        Registry names of the datasets used (``sources.toml``), for the run metadata.
    """

    name: str
    label: str
    load: Loader
    id_col: str = "supply_id"
    sources: tuple[str, ...] = ()

    @property
    def time_column(self) -> str:
        """Column of the car time to the nearest facility of this kind."""
        return f"time_{self.name}_min"


def empty_points(crs: str = WORKING_CRS) -> gpd.GeoDataFrame:
    """An empty point layer (for areas without such facilities)."""
    return gpd.GeoDataFrame({"insee": pd.Series(dtype=str)}, geometry=[], crs=crs)


def _in_area(gdf: gpd.GeoDataFrame, ctx: SupplyContext) -> gpd.GeoDataFrame:
    return gdf[gdf["insee"].isin(ctx.origins.index)]


def _load_gp(ctx: SupplyContext) -> gpd.GeoDataFrame:
    if ctx.occitanie:
        gp = occ.load_gp_supply(ctx.data_dir, source=ctx.gp_source)  # type: ignore[arg-type]
        return _in_area(gp, ctx)
    return france.load_france_gp_supply(
        list(ctx.deps), data_dir=ctx.data_dir, origins=ctx.origins, crs=ctx.crs
    )


def _load_emergency(ctx: SupplyContext) -> gpd.GeoDataFrame:
    if ctx.occitanie:
        return _in_area(occ.load_emergency(ctx.data_dir), ctx)
    return france.load_france_emergency(
        list(ctx.deps), data_dir=ctx.data_dir, origins=ctx.origins, crs=ctx.crs
    )


def _load_hospitals(ctx: SupplyContext) -> gpd.GeoDataFrame:
    if set(ctx.deps) & set(OCCITANIE_DEPS):
        return _in_area(occ.load_hospitals(ctx.data_dir).to_crs(ctx.crs), ctx)
    out = empty_points(ctx.crs)
    out["finess_et"] = pd.Series(dtype=str)
    return out


def statlocales_source(indicator: str, *, id_prefix: str) -> Loader:
    """A source spec reading one indicator of the INSEE *Statistiques locales* BPE export.

    Counts per commune (``bpe2021_equipements_communes_france_statistiques-locales.xlsx``,
    ``SOURCES.md`` section 14) are mapped from COG 2023 to 2026 (merged communes summed,
    :func:`accessmap.loaders.statlocales.to_cog`) and placed at the commune routing origin,
    as the GP supply is (commune-to-commune times, as in the DREES APL).

    Parameters
    ----------
    indicator : str
        A BPE code, key or label :func:`accessmap.loaders.statlocales.select` accepts
        (``"D307"``, ``"pharmacy"``, ``"Pharmacie"``).
    id_prefix : str
        Prefix of the ``supply_id`` (``"bpe2021-D307-"``).
    """

    def load(ctx: SupplyContext) -> gpd.GeoDataFrame:
        table = statlocales.read_statlocales(data_dir=ctx.data_dir)
        mapped = statlocales.to_cog(statlocales.select(table, indicator), data_dir=ctx.data_dir)
        col = next(c for c in mapped.columns if c not in ("insee", "nom", "n_source",
                                                           "codes_source"))  # fmt: skip
        counts = mapped[["insee", col]].rename(columns={col: "count"})
        counts = counts[(counts["count"] > 0) & counts["insee"].isin(ctx.origins.index)]
        counts = counts.sort_values("insee").reset_index(drop=True)
        return gpd.GeoDataFrame(
            {"supply_id": id_prefix + counts["insee"], "insee": counts["insee"].to_numpy(),
             "count": counts["count"].to_numpy(dtype="int64")},
            geometry=ctx.origins.geometry.reindex(counts["insee"]).to_numpy(),
            crs=ctx.crs,
        )  # fmt: skip

    return load


#: The registry: name -> kind. Order is the column order of the ``communes`` layer.
SUPPLY_KINDS: dict[str, SupplyKind] = {}


def register(kind: SupplyKind) -> SupplyKind:
    """Add (or replace) a supply kind; returns it.

    Examples
    --------
    >>> k = register(SupplyKind("dentist", "Dentists", lambda ctx: empty_points()))
    >>> k.time_column
    'time_dentist_min'
    >>> _ = SUPPLY_KINDS.pop("dentist")
    """
    if not kind.name.isidentifier() or kind.name != kind.name.lower():
        raise ConfigError(
            f"supply kind name {kind.name!r} must be a lower-case identifier (e.g. 'pharmacy')"
        )
    SUPPLY_KINDS[kind.name] = kind
    return kind


register(SupplyKind("gp", "General practitioners (GPs)", _load_gp,
                    sources=("supply_gp_bpe2019", "bpe2019_health_france")))  # fmt: skip
register(SupplyKind("emergency", "Emergency services (BPE D106)", _load_emergency,
                    sources=("bpe2019_health_france",)))  # fmt: skip
register(SupplyKind("hospital", "Hospitals (FINESS)", _load_hospitals, id_col="finess_et",
                    sources=("hospitals_finess_2020",)))  # fmt: skip

register(SupplyKind("pharmacy", "Pharmacies (BPE 2021 D307)",
                    statlocales_source("D307", id_prefix="bpe2021-D307-"),
                    sources=("bpe2021_statlocales",)))  # fmt: skip

#: Kinds measured by default (``accessmap score`` without ``--supply-kinds``).
DEFAULT_KINDS: tuple[str, ...] = ("gp", "emergency", "hospital")


def get_kind(name: str) -> SupplyKind:
    """The registered kind called ``name``; :class:`ConfigError` naming the known ones."""
    try:
        return SUPPLY_KINDS[name]
    except KeyError:
        raise ConfigError(
            f"unknown supply kind {name!r}: use one of {', '.join(SUPPLY_KINDS)}"
        ) from None


def resolve_kinds(names: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """Validated kind names from ``"gp,pharmacy"`` or a sequence.

    The :data:`DEFAULT_KINDS` always come first (the need score of the zones uses their
    times); the kinds named are added after them, in registry terms.

    Examples
    --------
    >>> resolve_kinds("gp,pharmacy")
    ('gp', 'emergency', 'hospital', 'pharmacy')
    """
    if names is None:
        return DEFAULT_KINDS
    items = names.split(",") if isinstance(names, str) else list(names)
    out = list(DEFAULT_KINDS)
    for raw in items:
        name = raw.strip().lower()
        if name and name not in out:
            get_kind(name)
            out.append(name)
    return tuple(out)
