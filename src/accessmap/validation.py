"""Agreement with the official DREES APL: ``accessmap validate apl`` and ``score --official-apl``.

:func:`validate_apl` runs the scoring pipeline (:func:`accessmap.pipeline.run_score`, the
default engine, supply and calibration) on a study area, reads the official DREES workbook
(:func:`accessmap.loaders.drees.read_apl_workbook`, mapped to COG 2026 by
:func:`~accessmap.loaders.drees.to_cog`) and compares them commune by commune with
:func:`accessmap.measures.agreement.compare_apl` (level = standardised-population-weighted mean,
shares of people below 2.5 and 4 on the total population, 3x3 classes, per département,
EPCI and région). :func:`compare_result` does the comparison on a finished run (the ``score
--official-apl`` path) and :func:`attach_agreement` adds its tables, a difference layer and
summary keys to a :class:`~accessmap.pipeline.ScoreResult`.

Three supply conversions are compared (``conversions`` table): the activity curve of the run
(``activity="pressure"``, fitted), the fitted constant ``consultations_per_gp`` and the DREES
5,400 consultations per head count. Nothing is fitted here: the fitted values come from
``benchmarks/calibrate_apl.py`` (outside Occitanie only, ``docs/validation.md``).

Likely causes of the largest disagreements (a heuristic, :func:`likely_causes`): ``engine`` (the
commune was timed by the crow-fly fallback although a road network was used), ``supply`` (its GP
count moved by at least 1 and 20 % between BPE 2019 and BPE 2021: the supply changes faster than
the counts), ``border`` (only for a run with walls at the border, ``border_km=0``: the commune is
within 20 km of the study area's edge, a border or a coast), ``age bands`` (no census age
bands, and the official standardised population differs from the total population by more than
10 %: an old or young population DREES weights and we do not), else ``activity`` (GP
activity or location, which head counts per commune do not show).

May import: :mod:`accessmap.pipeline`, :mod:`accessmap.loaders`, :mod:`accessmap.measures`,
:mod:`accessmap.geography`, :mod:`accessmap.errors`.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from accessmap.config import OCCITANIE_DEPS, WORKING_CRS
from accessmap.data.registry import dataset_path
from accessmap.errors import UnknownCodeError
from accessmap.geography import REGIONS, resolve_region
from accessmap.loaders import drees, france, statlocales
from accessmap.loaders.bpe import UnmatchedCodeWarning
from accessmap.measures.agreement import AplAgreement, compare_apl
from accessmap.measures.apl import CONSULTATIONS_PER_GP
from accessmap.pipeline import ScoreParams, ScoreResult, run_score

log = logging.getLogger(__name__)

__all__ = [
    "TARGETS",
    "AplValidation",
    "attach_agreement",
    "compare_result",
    "likely_causes",
    "official_table",
    "validate_apl",
]

#: Targets of issue 12 on the workbook outside Occitanie: Spearman, level ratio tolerance,
#: share below 2.5 tolerance (points).
TARGETS: dict[str, float] = {"spearman": 0.6, "level_tol": 0.05, "share_tol": 0.03}

#: Distance to the study area's edge under which a disagreement may be a border effect (km):
#: the DREES 20-minute catchment at rural speeds.
BORDER_CAUSE_KM = 20.0

_DEP_REG = {d: code for code, (_, deps) in REGIONS.items() for d in deps}
_REG_NAME = {code: name for code, (name, _) in REGIONS.items()}


@dataclass
class AplValidation:
    """Our APL against the official DREES APL for one year (:func:`validate_apl`).

    Attributes
    ----------
    year : int
        APL year of the workbook sheet.
    agreement : AplAgreement
        The run's APL (default activity curve) against the official one.
    conversions : DataFrame
        One row per supply conversion (``activity curve``, ``constant (fitted)``,
        ``constant 5,400 (DREES)``): the figures of :meth:`AplAgreement.scalars`.
    by_region : DataFrame
        Per-région figures (``reg``, ``reg_nom`` and the statistics).
    largest : DataFrame
        The largest disagreements with their ``cause``.
    targets : DataFrame
        ``target, value, goal, met`` for the issue's targets.
    notes : list of str
        Supply year, engine, age bands, BPE 2024 scaling: what the figures rest on.
    summary : dict
        Headline keys (``apl_official_*``) for the report and the CLI.
    """

    year: int
    agreement: AplAgreement
    conversions: pd.DataFrame
    by_region: pd.DataFrame
    largest: pd.DataFrame
    targets: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def tables(self, prefix: str = "apl_agreement") -> dict[str, pd.DataFrame]:
        """Flat tables for the GeoPackage and the CSV folder (``apl_agreement*``)."""
        out = self.agreement.to_tables(prefix)
        out[f"{prefix}_largest_abs"] = self.largest.reset_index(drop=True)
        out[f"{prefix}_by_reg"] = self.by_region.reset_index(drop=True)
        out[f"{prefix}_conversions"] = self.conversions.reset_index(drop=True)
        out[f"{prefix}_targets"] = self.targets.reset_index(drop=True)
        return out


def official_table(
    workbook: str | Path | None = None,
    *,
    year: int | None = None,
    data_dir: str | Path | None = None,
) -> pd.DataFrame:
    """The official APL of one year in COG 2026 (:func:`drees.read_apl_workbook` +
    :func:`drees.to_cog`; unmapped codes are counted in ``attrs["n_unmatched"]``)."""
    raw = drees.read_apl_workbook(workbook, year=year, data_dir=data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedCodeWarning)
        return drees.to_cog(raw, data_dir=data_dir)


def drees_dep(codes: pd.Series) -> pd.Series:
    """Département of commune codes (3 characters overseas)."""
    c = codes.astype(str)
    return c.str[:3].where(c.str.startswith("97"), c.str[:2])


def _ours(com: pd.DataFrame) -> pd.DataFrame:
    cols = ["insee", "apl", "pop", "dep", "epci_siren", "epci_nom", "gp_count", "time_gp_min",
            "engine", "apl_constant", "apl_age_standardised"]  # fmt: skip
    out = pd.DataFrame(com[[c for c in cols if c in com.columns]]).reset_index(drop=True)
    out["reg"] = out["dep"].map(_DEP_REG)
    return out


def _gp_change(codes: pd.Series, data_dir: str | Path | None) -> tuple[pd.Series, pd.Series]:
    """(BPE 2021 minus BPE 2019 GP head counts, BPE 2019 counts) per commune (COG 2026)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedCodeWarning)
        sl = statlocales.to_cog(statlocales.select(statlocales.read_statlocales(data_dir=data_dir),
                                                   "D265"), data_dir=data_dir)  # fmt: skip
        g21 = sl.set_index("insee")["gp_2021"].astype("float64")
        deps = sorted(set(codes.str[:2]))
        g19 = france.load_france_gp_supply(deps, data_dir=data_dir).groupby("insee")["count"].sum()
    both = pd.DataFrame({"g21": g21.reindex(codes).fillna(0), "g19": g19.reindex(codes).fillna(0)})
    return both["g21"] - both["g19"], both["g19"]


def likely_causes(
    table: pd.DataFrame,
    *,
    road: bool,
    communes: gpd.GeoDataFrame | None = None,
    whole_country: bool = False,
    data_dir: str | Path | None = None,
) -> pd.Series:
    """Likely cause(s) of each disagreement (rule in the module docstring), ``;``-joined.

    Parameters
    ----------
    table : DataFrame
        Rows of :attr:`AplAgreement.largest_abs` (``insee``, ``engine``, ``pop_std``,
        ``pop_total``, ``apl_age_standardised`` when known).
    road : bool
        A road network was used (else ``engine`` is never a cause).
    communes : GeoDataFrame, optional
        Polygons of the study area (for ``border``); ``border`` is skipped without it and for
        metropolitan France (the DREES indicator has the same national border).
    """
    codes = table["insee"].astype(str)
    causes: list[list[str]] = [[] for _ in range(len(table))]
    if road and "engine" in table.columns:
        for i, e in enumerate(table["engine"].astype(str)):
            if e == "crow-fly":
                causes[i].append("engine (crow-fly fallback)")
    if len(table):
        diff, g19 = _gp_change(codes, data_dir)
        moved = (diff.abs() >= 1) & (diff.abs() >= 0.2 * g19.clip(lower=1))
        for i, c in enumerate(codes):
            if bool(moved.get(c, False)):
                causes[i].append(f"supply (GPs {int(g19[c])} in 2019 -> {int(g19[c] + diff[c])} "
                                 "in 2021)")  # fmt: skip
    if communes is not None and not whole_country and len(table):
        poly = communes.set_index("insee").geometry
        tree = communes.sindex
        for i, c in enumerate(codes):
            if c not in poly.index:
                continue
            ring = poly[c].centroid.buffer(BORDER_CAUSE_KM * 1000.0)
            near = communes.geometry.iloc[tree.query(ring, predicate="intersects")]
            if not ring.difference(near.union_all()).is_empty:
                causes[i].append("border (within 20 km of the study area's edge or a coast)")
    if {"pop_std", "pop_total"} <= set(table.columns):
        ratio = table["pop_std"].astype(float) / table["pop_total"].astype(float).where(
            table["pop_total"].astype(float) > 0
        )
        has_bands = (table["apl_age_standardised"].astype(bool)
                     if "apl_age_standardised" in table.columns
                     else pd.Series(False, index=table.index))  # fmt: skip
        for i, (r, b) in enumerate(zip(ratio.to_numpy(), has_bands.to_numpy(), strict=True)):
            if not b and math.isfinite(r) and abs(r - 1.0) > 0.10:
                causes[i].append(f"age bands (none here; official std/total population {r:.2f})")
    return pd.Series(["; ".join(c) if c else "activity or GP location (not identified)"
                      for c in causes], index=table.index, name="cause")  # fmt: skip


def _conversion_rows(ours: pd.DataFrame, official: pd.DataFrame, params: ScoreParams,
                     main: AplAgreement) -> pd.DataFrame:  # fmt: skip
    rows = [{"conversion": f"activity curve ({params.activity})", **main.scalars()}]
    if "apl_constant" in ours.columns:
        for label, factor in (
            (f"constant {params.consultations_per_gp:,.0f} (fitted)", 1.0),
            (f"constant {CONSULTATIONS_PER_GP:,.0f} (DREES new GP)",
             CONSULTATIONS_PER_GP / params.consultations_per_gp),
        ):  # fmt: skip
            o = ours.assign(apl=ours["apl_constant"] * factor)
            a = compare_apl(o[["insee", "apl", "pop"]], official, by=[], n_largest=0)
            rows.append({"conversion": label, **a.scalars()})
    return pd.DataFrame(rows)


def _targets(a: AplAgreement) -> pd.DataFrame:
    gap = a.share_below_2_5_ours - a.share_below_2_5_official
    rows = [
        ("Spearman >= 0.6", a.spearman, ">= 0.60", a.spearman >= TARGETS["spearman"]),
        ("level within 5 %", a.level_ratio, "0.95-1.05",
         abs(a.level_ratio - 1.0) <= TARGETS["level_tol"]),
        ("share below 2.5 within 3 points", gap, "-0.03..+0.03",
         abs(gap) <= TARGETS["share_tol"]),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["target", "value", "goal", "met"])


def _by_region(a: AplAgreement) -> pd.DataFrame:
    tab = a.by_group.get("reg")
    if tab is None:
        return pd.DataFrame()
    out = tab.copy()
    out.insert(1, "reg_nom", out["reg"].map(_REG_NAME))
    return out


def _bpe2024_note(data_dir: str | Path | None, deps: set[str]) -> str:
    p = dataset_path("supply_gp_dep_bpe2024", data_dir)
    dep24 = pd.read_csv(p, dtype={"dep": str})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedCodeWarning)
        sl = statlocales.to_cog(statlocales.select(statlocales.read_statlocales(data_dir=data_dir),
                                                   "D265"), data_dir=data_dir)  # fmt: skip
    g21 = sl.groupby(sl["insee"].str[:2])["gp_2021"].sum()
    tot21 = float(g21.reindex(dep24["dep"]).sum())
    tot24 = float(dep24["gp_bpe2024"].sum())
    inside = sorted(deps & set(dep24["dep"]))
    where = (
        "none of the compared communes is in them, so it has no effect on this comparison"
        if not inside
        else f"départements {', '.join(inside)} of this comparison are scaled"
    )
    return (f"BPE 2024 scaling (--scale-bpe2024, off by default): the file covers the 13 Occitanie "
            f"départements ({tot24:,.0f} GPs in 2024 against {tot21:,.0f} in BPE 2021, APL level "
            f"of Occitanie x{tot24 / tot21:.3f} since APL is linear in supply); {where}"
            )  # fmt: skip


def compare_result(
    result: ScoreResult,
    official: pd.DataFrame,
    *,
    params: ScoreParams | None = None,
    n_largest: int = 20,
    data_dir: str | Path | None = None,
) -> AplValidation:
    """Compare a finished run's APL with the official table (:func:`official_table`).

    Raises
    ------
    UnknownCodeError
        No commune in common (e.g. an Occitanie run against the bundle's workbook, which has
        no Occitanie rows: download the complete workbook from data.drees).
    """
    params = params or ScoreParams()
    com = result.layers["communes"]
    ours = _ours(com)
    year = int(official["year"].iloc[0]) if "year" in official.columns and len(official) else 0
    common = ours["insee"].isin(official["insee"]).sum()
    if common == 0:
        raise UnknownCodeError(
            f"the DREES workbook has no commune of {result.summary.get('area', 'the area')} "
            f"(it holds {len(official):,} communes, e.g. {official['insee'].iloc[0]!r}); the "
            "bundle's workbook leaves Occitanie out: download the complete apl_generalistes.xlsx "
            "from data.drees, or validate another --region"
        )
    # the official communes of the run's départements (the others are not ours to compare)
    official = official[drees_dep(official["insee"]).isin(set(ours["dep"]))]
    agr = compare_apl(ours, official, by=["dep", "epci_siren", "reg"], n_largest=n_largest)
    largest = agr.largest_abs.copy()
    engines = result.summary.get("engines", [])
    largest["cause"] = likely_causes(
        # with a border context the area has no wall: the border is then not a likely cause
        largest, road="road-network" in engines,
        communes=com if not result.summary.get("border_context_communes") else None,
        whole_country=len(result.metadata.get("departements", [])) >= 96,
        data_dir=data_dir,
    ).to_numpy()  # fmt: skip
    matched = agr.communes[agr.communes["status"] == "matched"]
    share_bands = 0.0
    if "apl_age_standardised" in matched.columns and len(matched):
        with_bands = matched["apl_age_standardised"].fillna(False).astype(bool)
        share_bands = float(matched.loc[with_bands, "pop_total"].sum() / matched["pop_total"].sum())
    s = result.summary
    notes = [
        f"GP supply {s.get('gp_source', params.supply)}; engines {', '.join(engines)}; "
        f"supply conversion: {params.activity} "
        f"(constant {params.consultations_per_gp:,.0f} consultations per head count)",
        f"age standardisation: {100 * share_bands:.1f} % of the compared population has census "
        "age bands (DREES weights of the Paramètres sheet aggregated to 0-19/20-64/65+); the "
        "others count with weight 1 (no national age table in the data directory)",
        f"border context: {s.get('border_context_communes', 0):,} communes within "
        f"{s.get('border_km', 0):g} km of the area count for supply and demand",
        _bpe2024_note(data_dir, set(ours["dep"])),
    ]
    conv = _conversion_rows(ours, official, params, agr)
    summary = {
        "apl_official_year": year,
        "apl_official_spearman": agr.spearman,
        "apl_official_pearson": agr.pearson,
        "apl_official_level_ours": agr.level_ours,
        "apl_official_level": agr.level_official,
        "apl_official_level_ratio": agr.level_ratio,
        "apl_official_share_below_2_5_ours": agr.share_below_2_5_ours,
        "apl_official_share_below_2_5": agr.share_below_2_5_official,
        "apl_official_share_same_class": agr.share_same_class_pop,
        "apl_official_n_matched": agr.n_matched,
        "apl_official_age_band_share": share_bands,
    }
    return AplValidation(year=year, agreement=agr, conversions=conv, by_region=_by_region(agr),
                         largest=largest, targets=_targets(agr), notes=notes,
                         summary=summary)  # fmt: skip


def difference_layer(result: ScoreResult, validation: AplValidation) -> gpd.GeoDataFrame:
    """Commune polygons with ``apl_ours``, ``apl_official``, ``diff`` and the classes (a map)."""
    com = result.layers["communes"][["insee", "nom", "geometry"]]
    m = validation.agreement.communes
    cols = ["insee", "status", "apl_ours", "apl_official", "diff", "rel_diff", "class_ours",
            "class_official"]  # fmt: skip
    tab = m[[c for c in cols if c in m.columns]].copy()
    for c in ("class_ours", "class_official"):
        tab[c] = tab[c].astype("object")
    out = com.merge(tab, on="insee", how="inner")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=result.layers["communes"].crs
                            or WORKING_CRS)  # fmt: skip


def attach_agreement(
    result: ScoreResult,
    workbook: str | Path | None,
    *,
    year: int | None = None,
    params: ScoreParams | None = None,
    data_dir: str | Path | None = None,
) -> AplValidation:
    """Add the comparison with the DREES workbook to a run (``score --official-apl``).

    Adds the ``apl_agreement*`` tables, the ``apl_difference`` layer (communes: ours minus
    official) and the ``apl_official_*`` summary keys; returns the :class:`AplValidation`.
    """
    val = compare_result(result, official_table(workbook, year=year, data_dir=data_dir),
                         params=params, data_dir=data_dir)  # fmt: skip
    result.tables.update(val.tables())
    result.layers["apl_difference"] = difference_layer(result, val)
    result.summary.update(val.summary)
    result.summary["apl_official_notes"] = list(val.notes)
    # the GeoPackage's run metadata carries the summary too (finite numbers only)
    meta_summary = result.metadata.setdefault("summary", {})
    for key, value in result.summary.items():
        if key.startswith("apl_official"):
            bad = isinstance(value, float) and not math.isfinite(value)
            meta_summary[key] = None if bad else value
    return val


def validate_apl(
    workbook: str | Path | None = None,
    *,
    year: int | None = None,
    region: str = "FR",
    params: ScoreParams | None = None,
    data_dir: str | Path | None = None,
    n_largest: int = 20,
) -> tuple[AplValidation, ScoreResult]:
    """Run the pipeline on ``region`` and compare its APL with the DREES workbook.

    Parameters
    ----------
    workbook : path, optional
        The DREES APL workbook as published (default the bundle's, outside Occitanie).
    year : int, optional
        Sheet year (2022 or 2023 in the bundle; default the latest).
    region : str
        Study area (default ``"FR"``, metropolitan France; communes of Occitanie are absent
        from the bundle's workbook and are not compared).
    params : ScoreParams, optional
        Run parameters (default ones: default engine, BPE 2021, fitted activity curve); the
        siting, the exact MCLP, the grid and all isochrones but one are switched off.

    Returns
    -------
    (AplValidation, ScoreResult)
    """
    base = params or ScoreParams()
    p = replace(base, region=region, k=0, exact=False, grid=False,
                isochrone_min=(base.threshold_min,), what_if=())  # fmt: skip
    official = official_table(workbook, year=year, data_dir=data_dir)
    wanted = {"occitanie", "76", "r76"}
    deps = set(OCCITANIE_DEPS) if region.strip().lower() in wanted else set(resolve_region(region))
    if not drees_dep(official["insee"]).isin(deps).any():  # fail before the run
        raise UnknownCodeError(
            f"the DREES workbook has no commune of {region!r} (départements "
            f"{', '.join(sorted(deps)[:5])}...); the bundle's workbook leaves Occitanie out: "
            "download the complete apl_generalistes.xlsx from data.drees, or validate another "
            "--region"
        )
    result = run_score(p, data_dir=data_dir)
    val = compare_result(result, official, params=p, n_largest=n_largest, data_dir=data_dir)
    if set(result.layers["communes"]["dep"]) & set(OCCITANIE_DEPS):
        val.notes.append("Occitanie communes are compared only when the workbook has them (the "
                         "bundle's does not): nothing is fitted on Occitanie")  # fmt: skip
    return val, result
