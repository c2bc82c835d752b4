"""The supply-kind registry: every kind of facility people travel to, in one place.

A :class:`SupplyKind` names a facility type (GPs, emergency services, hospitals,
pharmacies...), the column its travel time gets in the ``communes`` layer
(``time_<name>_min``) and its **source spec**: one function that loads its points for a
study area (:class:`SupplyContext`: départements, data directory, routing origins). Adding a
kind is one :func:`register` call (or one entry of :data:`SUPPLY_KINDS`) plus its source
spec; the pipeline (``--supply-kinds``), the GeoPackage columns, their QGIS styles and the
report pick it up from here.

Built-in kinds and sources (``SOURCES.md`` of the data directory):

* ``gp``: general practitioners, by default BPE 2021 D265 head counts per commune (INSEE
  *Statistiques locales* export, mapped to COG 2026; ``gp_source="bpe2019"``: BPE 2019 D201,
  Occitanie ``supply_gp_counts_commune_bpe2019.csv`` and the national BPE rows elsewhere),
  plus the "Ma Santé, Ma Région" centres as salaried GPs (:data:`CENTRE_DOCTORS` each), and
  optionally scaled to the BPE 2024 département totals (:func:`scale_to_bpe2024`);
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

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from accessmap.config import OCCITANIE_DEPS, WORKING_CRS
from accessmap.data.registry import dataset_path
from accessmap.errors import ConfigError
from accessmap.loaders import france, statlocales
from accessmap.loaders import supply as occ
from accessmap.loaders.common import dep_of

__all__ = [
    "CENTRE_DOCTORS",
    "DEFAULT_GP_SOURCE",
    "DEFAULT_KINDS",
    "GP_SOURCES",
    "SUPPLY_KINDS",
    "SupplyContext",
    "SupplyKind",
    "empty_points",
    "get_kind",
    "register",
    "resolve_kinds",
    "scale_to_bpe2024",
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
        GP source option (``ScoreParams.supply``): ``"bpe2021"`` (default), ``"bpe2019"``
        or a BPE file path.
    crs : str
        CRS of the layers.
    context : GeoDataFrame, optional
        Routing origins of the communes around the area (border buffer, indexed by
        ``insee``): their facilities are loaded too, so people near the border reach them.
    centre_doctors : float
        Salaried GPs counted per "Ma Santé, Ma Région" centre (0: the centres are left out).
    scale_bpe2024 : bool
        Scale commune GP counts so each département's total equals its BPE 2024 count
        (``supply_gp_counts_departement_bpe2024.csv``, Occitanie départements only).
    """

    deps: tuple[str, ...]
    data_dir: str | Path | None
    origins: gpd.GeoDataFrame
    occitanie: bool
    gp_source: str = "bpe2021"
    crs: str = WORKING_CRS
    context: gpd.GeoDataFrame | None = None
    centre_doctors: float = 0.0
    scale_bpe2024: bool = False

    def all_origins(self) -> gpd.GeoDataFrame:
        """Origins of the area and of its border context (:attr:`context`), by ``insee``."""
        if self.context is None or not len(self.context):
            return self.origins
        ctx = self.context[~self.context.index.isin(self.origins.index)]
        parts = [g[["geometry"]].assign(insee=g.index.astype(str)) for g in (self.origins, ctx)]
        both = pd.concat(parts)[["insee", "geometry"]]
        return gpd.GeoDataFrame(both, geometry="geometry", crs=self.origins.crs)

    def context_deps(self) -> list[str]:
        """Départements of the border context communes."""
        if self.context is None or not len(self.context):
            return []
        return sorted(set(dep_of(pd.Series(self.context.index, dtype="str"))))


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


#: GP sources of :attr:`SupplyContext.gp_source` read from the national files (any area).
GP_SOURCES: tuple[str, ...] = ("bpe2021", "bpe2019")

#: Default GP source: BPE 2021 D265 head counts (INSEE Statistiques locales export), the
#: year that agrees best with the DREES APL outside Occitanie (``docs/validation.md``).
DEFAULT_GP_SOURCE = "bpe2021"

#: Salaried GPs per "Ma Santé, Ma Région" centre: 44 GPs in the 11 centres of the first year
#: (Région Occitanie, first-year figures quoted in the project brief). An ASSUMPTION for every
#: centre of the partial list whose source gives no number (Mazamet: "2 salaried GPs in Feb
#: 2023", ``SOURCES.md`` section 6, counts 2); antennas get none (their doctors are the
#: parent centre's). The same rule as :func:`accessmap.siting.inputs.existing_centre_doctors`.
CENTRE_DOCTORS = 4.0


@contextlib.contextmanager
def quiet_context_logs() -> Iterator[None]:
    """Silence the France loaders' warnings while the border context is loaded.

    Its facilities are read for whole départements and kept only within the context, so the
    loaders would report every equipment beyond it as "left out"; those reports are about
    communes outside the study area and would mislead (the area's own loads keep them).
    """
    logger = logging.getLogger("accessmap.loaders.france")
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(old)


def _in_area(gdf: gpd.GeoDataFrame, ctx: SupplyContext) -> gpd.GeoDataFrame:
    return gdf[gdf["insee"].isin(ctx.all_origins().index)]


def _mark(gdf: gpd.GeoDataFrame, ctx: SupplyContext) -> gpd.GeoDataFrame:
    """Add ``in_area`` (facility in a commune of the area, not of the border context)."""
    out = gdf.copy()
    out["in_area"] = out["insee"].isin(ctx.origins.index).to_numpy()
    return out


def _concat(parts: list[gpd.GeoDataFrame], crs: str) -> gpd.GeoDataFrame:
    parts = [p.to_crs(crs) if p.crs is not None and str(p.crs) != crs else p for p in parts]
    # what each part's loader dropped (counted with its codes) survives the concatenation
    dropped = [d for p in parts for d in p.attrs.get("dropped", [])]
    parts = [p for p in parts if len(p)]
    out = (
        gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
        if parts
        else empty_points(crs)
    )
    out.attrs = {"dropped": dropped} if dropped else {}
    return out


def _gp_bpe2021(ctx: SupplyContext) -> gpd.GeoDataFrame:
    out = statlocales_source("D265", id_prefix="bpe2021-D265-")(ctx)
    out.insert(2, "kind", "gp")
    return out


def _gp_bpe2019(ctx: SupplyContext) -> gpd.GeoDataFrame:
    parts: list[gpd.GeoDataFrame] = []
    if ctx.occitanie:
        gp = occ.load_gp_supply(ctx.data_dir, source="bpe2019")
        parts.append(gp[gp["insee"].isin(ctx.origins.index)])
        others = ctx.context_deps()
        origins = ctx.context
    else:
        others = sorted(set(ctx.deps) | set(ctx.context_deps()))
        origins = ctx.all_origins()
    if others and origins is not None and len(origins):
        with quiet_context_logs() if ctx.context is not None else contextlib.nullcontext():
            fr = france.load_france_gp_supply(others, data_dir=ctx.data_dir, origins=origins,
                                              crs=ctx.crs)  # fmt: skip
        parts.append(fr[fr["insee"].isin(origins.index)])
    return _concat(parts, ctx.crs)


def _centres(ctx: SupplyContext) -> gpd.GeoDataFrame:
    """The "Ma Santé, Ma Région" centres of the area as salaried GP supply."""
    sites = occ.load_health_centres(ctx.data_dir)
    kind = sites["site_kind"].astype(str).str.strip().str.lower()
    sites = sites[~kind.str.startswith("antenna") & sites["insee"].isin(ctx.all_origins().index)]
    # the number of salaried GPs when the source gives it ("2 salaried GPs"), else the default
    given = sites["status"].astype(str).str.extract(r"(\d+)\s+salaried\s+(?:GP|doctor)",
                                                    flags=re.IGNORECASE)[0]  # fmt: skip
    doctors = pd.to_numeric(given, errors="coerce").fillna(float(ctx.centre_doctors))
    out = gpd.GeoDataFrame(
        {"supply_id": "msmr-centre-" + sites["insee"].to_numpy(),
         "insee": sites["insee"].to_numpy(), "kind": "centre",
         "count": doctors.to_numpy(dtype="float64")},
        geometry=sites.geometry.to_numpy(), crs=sites.crs,
    )  # fmt: skip
    return out.to_crs(ctx.crs)


def scale_to_bpe2024(gp: gpd.GeoDataFrame, data_dir: str | Path | None) -> gpd.GeoDataFrame:
    """Scale GP head counts so each département's total equals its BPE 2024 count.

    ``supply_gp_counts_departement_bpe2024.csv`` (``SOURCES.md`` section 9: INSEE
    Statistiques locales, BPE 2024 D265, the 13 Occitanie départements): commune counts of
    the liberal GPs (``kind == "gp"``) of a listed département are multiplied by
    ``gp_bpe2024 / sum(count)``; other départements and the salaried centres are unchanged.
    The commune pattern of the older year is kept (an ASSUMPTION: the decline is spread
    evenly over a département's communes). ``count`` becomes a float.
    """
    p = dataset_path("supply_gp_dep_bpe2024", data_dir)
    dep24 = pd.read_csv(p, dtype={"dep": str}).set_index("dep")["gp_bpe2024"].astype(float)
    out = gp.copy()
    out["count"] = out["count"].astype("float64")
    dep = dep_of(out["insee"])
    liberal = out["kind"].eq("gp") if "kind" in out.columns else pd.Series(True, out.index)
    totals = out["count"].where(liberal, 0.0).groupby(dep).sum()
    factor = (dep24 / totals.reindex(dep24.index)).dropna()
    f = dep.map(factor).where(liberal).fillna(1.0)
    out["count"] = out["count"] * f.to_numpy()
    out.attrs["bpe2024_factors"] = {str(k): float(v) for k, v in factor.items()}
    return out


def _load_gp(ctx: SupplyContext) -> gpd.GeoDataFrame:
    src = ctx.gp_source
    if src == "bpe2021":
        gp = _gp_bpe2021(ctx)
    elif src == "bpe2019":
        gp = _gp_bpe2019(ctx)
    elif ctx.occitanie:
        gp = _in_area(occ.load_gp_supply(ctx.data_dir, source=src), ctx)  # type: ignore[arg-type]
    else:
        raise ConfigError(
            f"GP supply {src!r} is read for Occitanie only; use --supply "
            f"{' or '.join(GP_SOURCES)} for {', '.join(ctx.deps[:3])}..."
        )
    if "kind" not in gp.columns:
        gp = gp.assign(kind="gp")
    factors: dict[str, float] = {}
    if ctx.scale_bpe2024:
        gp = scale_to_bpe2024(gp, ctx.data_dir)
        factors = gp.attrs.get("bpe2024_factors", {})
    if ctx.centre_doctors > 0 and (set(ctx.deps) | set(ctx.context_deps())) & set(OCCITANIE_DEPS):
        gp = _concat([gp, _centres(ctx)], ctx.crs)
    out = _mark(gp[["supply_id", "insee", "kind", "count", "geometry"]], ctx)
    out.attrs["gp_source"] = src
    out.attrs["bpe2024_factors"] = factors
    return out


def _load_emergency(ctx: SupplyContext) -> gpd.GeoDataFrame:
    parts: list[gpd.GeoDataFrame] = []
    if ctx.occitanie:
        parts.append(occ.load_emergency(ctx.data_dir))
        parts[0] = parts[0][parts[0]["insee"].isin(ctx.origins.index)]
        others, origins = ctx.context_deps(), ctx.context
    else:
        others = sorted(set(ctx.deps) | set(ctx.context_deps()))
        origins = ctx.all_origins()
    if others and origins is not None and len(origins):
        with quiet_context_logs() if ctx.context is not None else contextlib.nullcontext():
            fr = france.load_france_emergency(others, data_dir=ctx.data_dir, origins=origins,
                                              crs=ctx.crs)  # fmt: skip
        parts.append(fr[fr["insee"].isin(origins.index)])
    return _mark(_concat(parts, ctx.crs), ctx)


def _load_hospitals(ctx: SupplyContext) -> gpd.GeoDataFrame:
    if (set(ctx.deps) | set(ctx.context_deps())) & set(OCCITANIE_DEPS):
        return _mark(_in_area(occ.load_hospitals(ctx.data_dir).to_crs(ctx.crs), ctx), ctx)
    out = empty_points(ctx.crs)
    out["finess_et"] = pd.Series(dtype=str)
    out["in_area"] = pd.Series(dtype=bool)
    return out


def statlocales_source(indicator: str, *, id_prefix: str) -> Loader:
    """A source spec reading one indicator of the INSEE *Statistiques locales* BPE export.

    Counts per commune (``bpe2021_equipements_communes_france_statistiques-locales.xlsx``,
    ``SOURCES.md`` section 14) are mapped from COG 2023 to 2026 (merged communes summed,
    :func:`accessmap.loaders.statlocales.to_cog`) and placed at the commune routing origin,
    as the GP supply is (commune-to-commune times, as in the DREES APL), for the communes of
    the area and of its border context (``in_area`` tells them apart).

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
        origins = ctx.all_origins()
        counts = counts[(counts["count"] > 0) & counts["insee"].isin(origins.index)]
        counts = counts.sort_values("insee").reset_index(drop=True)
        out = gpd.GeoDataFrame(
            {"supply_id": id_prefix + counts["insee"], "insee": counts["insee"].to_numpy(),
             "count": counts["count"].to_numpy(dtype="int64")},
            geometry=origins.geometry.reindex(counts["insee"]).to_numpy(),
            crs=ctx.crs,
        )  # fmt: skip
        return _mark(out, ctx)

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
                    sources=("bpe2021_statlocales", "supply_gp_bpe2019", "bpe2019_health_france",
                             "ma_sante_centres")))  # fmt: skip
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
