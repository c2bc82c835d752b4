"""The official DREES APL workbook (accessibilité potentielle localisée aux médecins généralistes).

DREES publishes the APL to GPs per commune as one workbook (``apl_generalistes.xlsx``,
data.drees dataset ``530_l-accessibilite-potentielle-localisee-apl``; the bundle's
``apl_mg_drees_2022_2023_hors_occitanie.xlsx`` is that layout without the Occitanie rows,
``SOURCES.md`` section 13). Its layout:

* a ``Paramètres`` sheet describing the method: the scope of GPs, how activity is counted
  (0 below 250 consultations, 3,600 between 251 and 3,600, the actual count between 3,601 and
  6,000, 6,000 above; 5,400 imputed to GPs without activity the year before; no bounds for
  health centres), the distance decay by car time (1 under 10 min, 2/3 for 10-15, 1/3 for 15-20,
  0 beyond) and the age weights of demand per APL year (:func:`read_apl_parameters`);
* one sheet per year, ``APL <year>``: title and note rows, a header row (``Code commune INSEE``,
  ``Commune``, ``APL aux médecins généralistes``, ``APL aux médecins généralistes de moins de
  65 ans``, ``Population standardisée <pop year> pour la médecine générale``, ``Population
  totale <pop year>``), a units row, then one row per commune of that year's geography
  (:func:`read_apl_workbook`). The header row is found by its content, so the complete
  workbook a user downloads from DREES, with its other years, reads the same way.

Units and use, from the notes of each ``APL <year>`` sheet: APL is in consultations/visits
(including teleconsultations) accessible per standardised inhabitant per year; to average APL
over an area, weight communes by the standardised population; to count people below a
threshold (2.5 is the usual under-served threshold), use the total population.
:func:`to_cog` applies the first rule to merge communes into the COG 2026 geography.

The workbook year is the year of GP activity (SNIIR-AM); the populations are those of two
years earlier (``Population totale 2021`` on the ``APL 2023`` sheet): both are returned
(``year``, ``pop_year``).
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from accessmap.data import validate as v
from accessmap.data.registry import dataset_path
from accessmap.errors import (
    BadValueError,
    MissingColumnError,
    UnknownCodeError,
    UnknownYearError,
    UnreadableFileError,
)
from accessmap.loaders._xlsx import (
    cell_code,
    find_row,
    merged_names,
    norm_text,
    numbers,
    read_sheets,
    source_codes,
)
from accessmap.loaders.bpe import UnmatchedCodeWarning, load_commune_code_map, map_commune_codes
from accessmap.loaders.common import COMMUNE_CODE_PATTERN

__all__ = [
    "APL_COLUMNS",
    "ActivityRule",
    "AplParameters",
    "DistanceBand",
    "UnknownYearError",
    "apl_workbook_years",
    "read_apl_parameters",
    "read_apl_workbook",
    "to_cog",
]

logger = logging.getLogger(__name__)

#: Registry name of the bundle's workbook (``sources.toml``).
DATASET = "apl_drees"

#: Sheet names of the yearly tables: ``APL 2022``, ``APL 2023`` (any text after the year).
_YEAR_SHEET = re.compile(r"^\s*apl\D*?((?:19|20)\d{2})\b", re.IGNORECASE)
_PARAM_SHEET = "parametres"

#: Output columns, in order (``apl_under65`` only when the sheet has it).
APL_COLUMNS: tuple[str, ...] = (
    "insee",
    "nom",
    "apl",
    "apl_under65",
    "pop_std",
    "pop_total",
    "year",
    "pop_year",
)


# --------------------------------------------------------------------------------------------
# the yearly sheets
# --------------------------------------------------------------------------------------------


def _year_sheets(names: Sequence[str]) -> dict[int, str]:
    out: dict[int, str] = {}
    for name in names:
        m = _YEAR_SHEET.match(name)
        if m:
            out.setdefault(int(m.group(1)), name)
    return out


def _path(path: str | Path | None, data_dir: str | Path | None) -> Path:
    if path is None:
        return dataset_path(DATASET, data_dir)
    return v.require_file(
        path,
        fix="download apl_generalistes.xlsx from data.drees (dataset "
        "530_l-accessibilite-potentielle-localisee-apl) or use the bundle's "
        "apl_mg_drees_2022_2023_hors_occitanie.xlsx",
    )


def apl_workbook_years(
    path: str | Path | None = None, *, data_dir: str | Path | None = None
) -> list[int]:
    """Years of the ``APL <year>`` sheets of a DREES APL workbook, ascending.

    Examples
    --------
    >>> apl_workbook_years()  # doctest: +SKIP
    [2022, 2023]
    """
    p = _path(path, data_dir)
    names, _ = read_sheets(p, lambda names: [], what="the DREES APL workbook")
    return sorted(_year_sheets(names))


def _header_kind(cell: str) -> str | None:
    """Output column of a header cell of an ``APL <year>`` sheet (None: not ours)."""
    if cell.startswith("code commune") or cell in ("code insee", "code", "codgeo", "depcom"):
        return "insee"
    if cell in ("commune", "libelle", "nom", "libelle commune", "nom de la commune"):
        return "nom"
    if cell.startswith("apl"):
        return "apl_under65" if "65" in cell else "apl"
    if cell.startswith("population standardisee"):
        return "pop_std"
    if cell.startswith("population totale") or cell.startswith("population municipale"):
        return "pop_total"
    return None


def _is_header(cells: list[str]) -> bool:
    kinds = {_header_kind(c) for c in cells if c}
    return {"insee", "apl"} <= kinds


def read_apl_workbook(
    path: str | Path | None = None,
    *,
    year: int | str | None = None,
    data_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Read one year of the official DREES APL to GPs, one row per commune.

    Parameters
    ----------
    path : str or Path, optional
        The DREES workbook (``apl_generalistes.xlsx`` as downloaded from data.drees, or any
        workbook in its layout); default the bundle's ``apl_mg_drees_2022_2023_hors_occitanie
        .xlsx`` (registry dataset ``apl_drees``, France outside Occitanie and Mayotte).
    year : int or str, optional
        APL year (the ``APL <year>`` sheet); default the latest sheet.
    data_dir : str or Path, optional
        Data directory, when ``path`` is not given.

    Returns
    -------
    DataFrame
        One row per commune of the sheet, in the commune geography of that year (map it to
        COG 2026 with :func:`to_cog`):

        * ``insee`` (str, 5 characters) and ``nom``, as published;
        * ``apl`` (float): consultations/visits accessible per standardised inhabitant per
          year, all GPs (workbook units row);
        * ``apl_under65`` (float): the same restricted to GPs under 65, when the sheet has it;
        * ``pop_std`` (float): standardised population (age-weighted with the weights of the
          ``Paramètres`` sheet), the weight to average APL over an area;
        * ``pop_total`` (float): total population, to count people below a threshold;
        * ``year`` (int): the APL year; ``pop_year`` (int or missing): the population year
          given in the header (two years before ``year`` in the DREES releases).

        ``attrs``: ``source`` (file name), ``sheet``, ``year``, ``pop_year``, ``header_row``
        (1-based row of the header), ``units`` (dict column -> unit text of the units row),
        ``n_missing_apl`` (communes without a value).

    Raises
    ------
    DataNotFoundError
        The file is absent.
    UnreadableFileError
        Not an Excel workbook, or no ``APL <year>`` sheet.
    UnknownYearError
        ``year`` has no sheet (the message lists the years present).
    MissingColumnError
        No header row with ``Code commune INSEE`` and an ``APL`` column in the first rows.
    BadValueError
        A non-numeric or negative APL/population value, or a malformed commune code.
    DuplicateIdError
        A commune code appears twice.

    Examples
    --------
    >>> apl23 = read_apl_workbook(year=2023)  # doctest: +SKIP
    >>> apl23.loc[apl23.insee == "01004", "apl"].item()  # doctest: +SKIP
    3.083
    """
    p = _path(path, data_dir)
    chosen: dict[str, object] = {}

    def pick(names: list[str]) -> list[str]:
        sheets = _year_sheets(names)
        if not sheets:
            raise UnreadableFileError(
                f"{p.name}: no sheet named 'APL <year>' (sheets: {', '.join(names)}); give the "
                "DREES APL workbook (apl_generalistes.xlsx from data.drees) in its published "
                "layout"
            )
        if year is None:
            y = max(sheets)
        else:
            try:
                y = int(str(year).strip())
            except ValueError:
                y = -1
            if y not in sheets:
                raise UnknownYearError(
                    f"{p.name}: no sheet for APL year {year!r}; years available: "
                    f"{', '.join(map(str, sorted(sheets)))} (pass year= one of them, or "
                    "download the current workbook from data.drees for other years)"
                )
        chosen["year"] = y
        chosen["sheet"] = sheets[y]
        return [sheets[y]]

    _, raw_sheets = read_sheets(p, pick, what="the DREES APL workbook")
    sheet = str(chosen["sheet"])
    y = int(str(chosen["year"]))
    raw = raw_sheets[sheet]
    where = f"{p.name} (sheet {sheet!r})"
    return _parse_year_sheet(raw, where=where, source=p.name, sheet=sheet, year=y)


def _parse_year_sheet(
    raw: pd.DataFrame, *, where: str, source: str, sheet: str, year: int
) -> pd.DataFrame:
    h = find_row(raw, _is_header)
    if h is None:
        raise MissingColumnError(
            f"{where}: no header row with 'Code commune INSEE' and 'APL aux médecins "
            "généralistes' in the first rows; give the DREES workbook in its published layout "
            "(title rows, a header row, a units row, then one row per commune)"
        )
    header = [norm_text(x) for x in raw.iloc[h].tolist()]
    cols: dict[str, int] = {}
    labels: dict[str, str] = {}
    for j, cell in enumerate(header):
        kind = _header_kind(cell) if cell else None
        if kind is not None and kind not in cols:
            cols[kind] = j
            labels[kind] = str(raw.iat[h, j]).strip()
    present = [str(x) for x in raw.iloc[h].tolist() if x is not None]
    for needed, label in (
        ("nom", "Commune"),
        ("pop_std", "Population standardisée <année> pour la médecine générale"),
        ("pop_total", "Population totale <année>"),
    ):
        if needed not in cols:
            raise MissingColumnError(
                f"{where}: missing column {label!r} in the header row {h + 1} (columns "
                f"present: {', '.join(present)}); use the DREES workbook in its published layout"
            )
    pop_years = {int(n) for n in re.findall(r"\b((?:19|20)\d{2})\b", labels["pop_total"])}
    pop_year = pop_years.pop() if len(pop_years) == 1 else None

    # Units row: right after the header, no commune code, text such as "En nombre de ...".
    start = h + 1
    units: dict[str, str] = {}
    if start < len(raw):
        row = raw.iloc[start]
        code0 = cell_code(row.iloc[cols["insee"]])
        texts = {k: row.iloc[j] for k, j in cols.items()}
        if code0 is None and any(isinstance(t, str) and t.strip() for t in texts.values()):
            units = {k: str(t).strip() for k, t in texts.items() if isinstance(t, str)}
            start += 1

    body = raw.iloc[start:]
    frame = pd.DataFrame({k: body.iloc[:, j].to_numpy() for k, j in cols.items()})
    frame["insee"] = frame["insee"].map(cell_code)
    value_cols = [c for c in ("apl", "apl_under65", "pop_std", "pop_total") if c in frame]
    blank = frame["insee"].isna() & frame[value_cols].isna().all(axis=1)
    # Note rows below the table ("Source : ...") have text in the first column and no value.
    note = (
        frame["insee"].notna()
        & ~frame["insee"].astype("string").str.fullmatch(COMMUNE_CODE_PATTERN).fillna(False)
        & frame[value_cols].isna().all(axis=1)
    )
    frame = frame[~(blank | note)].reset_index(drop=True)
    v.require_not_empty(frame, where=where)
    v.require_code_format(
        frame["insee"],
        pattern=COMMUNE_CODE_PATTERN,
        where=where,
        column=labels["insee"],
        description="an INSEE commune code (5 characters)",
    )
    v.require_unique(frame, "insee", where=where)
    out = pd.DataFrame({"insee": frame["insee"].astype("str"), "nom": frame["nom"].astype("str")})
    for c in value_cols:
        num = _numeric(frame, c, label=labels[c], where=where, allow_missing=c.startswith("apl"))
        out[c] = num.to_numpy()
    out["year"] = np.int64(year)
    out["pop_year"] = pd.array([pop_year] * len(out), dtype="Int64")
    n_missing = int(out["apl"].isna().sum())
    if n_missing:
        logger.warning("%s: %d communes have no APL value (kept as missing)", where, n_missing)
    out.attrs.update(
        {
            "source": source,
            "sheet": sheet,
            "year": year,
            "pop_year": pop_year,
            "header_row": h + 1,
            "units": units,
            "n_missing_apl": n_missing,
        }
    )
    return out


def _numeric(
    frame: pd.DataFrame, column: str, *, label: str, where: str, allow_missing: bool
) -> pd.Series:
    # Spreadsheets saved with a French locale may hold "3,083" as text.
    s = frame[column].map(lambda x: x.replace(",", ".").strip() if isinstance(x, str) else x)
    renamed = pd.DataFrame({label: s})
    return v.to_numeric(renamed, label, where=where, allow_missing=allow_missing)


# --------------------------------------------------------------------------------------------
# COG 2026
# --------------------------------------------------------------------------------------------


def to_cog(
    df: pd.DataFrame,
    mapping: pd.Series | None = None,
    *,
    data_dir: str | Path | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """Map a workbook table (:func:`read_apl_workbook`) to the COG 2026 communes.

    Communes merged since the workbook's year are aggregated as the workbook's notes say:
    APL averaged with the standardised population as weight, populations summed. Paris, Lyon
    and Marseille municipal arrondissements become their commune (75056, 69123, 13055) the
    same way.

    Parameters
    ----------
    df : DataFrame
        ``insee, apl, pop_std, pop_total`` (``nom``, ``apl_under65``, ``year``, ``pop_year``
        kept when present).
    mapping : Series, optional
        ``code -> code_cog2026`` (:func:`accessmap.loaders.bpe.load_commune_code_map`, from
        ``commune_codes_to_cog2026_france.csv.gz``, ``SOURCES.md`` section 11); loaded from
        ``data_dir`` when not given.
    data_dir : str or Path, optional
        Data directory for the default ``mapping``.
    strict : bool, default False
        Raise UnknownCodeError instead of warning when codes do not map.

    Returns
    -------
    DataFrame
        One row per COG 2026 commune: ``insee``, ``nom`` (the name of the member whose code is
        the 2026 code, else the city of municipal arrondissements, else the most populated
        member), ``apl`` (and ``apl_under65``)
        weighted by ``pop_std`` over the members with a value (plain mean when their
        standardised population is 0), ``pop_std`` and ``pop_total`` summed, ``n_source``
        (workbook communes merged), ``codes_source`` (their codes, ``;``-separated), then
        ``year``/``pop_year``. ``attrs``: those of ``df`` plus ``unmatched`` (list of the codes
        left out) and ``n_unmatched``.

    Warns
    -----
    UnmatchedCodeWarning
        Codes that do not map to COG 2026, counted, with their population; those rows are
        left out (never silently).

    Examples
    --------
    >>> df = pd.DataFrame({"insee": ["a1", "a2"], "nom": ["A", "B"], "apl": [2.0, 5.0],
    ...                    "pop_std": [100.0, 300.0], "pop_total": [90.0, 310.0]})
    >>> to_cog(df, pd.Series({"a1": "a1", "a2": "a1"}))[["insee", "apl", "pop_total"]]
      insee   apl  pop_total
    0    a1  4.25      400.0
    """
    where = str(df.attrs.get("source", "APL table"))
    v.require_columns(df, ["insee", "apl", "pop_std", "pop_total"], where=where)
    m = load_commune_code_map(data_dir) if mapping is None else mapping
    target = map_commune_codes(df["insee"], m)
    codes = df["insee"].astype("str")
    bad = target.isna().to_numpy()
    unmatched = codes[bad].tolist()
    if unmatched:
        pop = float(df.loc[bad, "pop_total"].sum())
        msg = (
            f"{where}: {len(unmatched)} commune code(s) do not map to COG 2026 "
            f"({pop:,.0f} inhabitants), e.g. {unmatched[0]!r}; they are left out. Update "
            "commune_codes_to_cog2026_france.csv.gz (or fetch decoupage_administratif) to map "
            "them"
        )
        if strict:
            raise UnknownCodeError(msg)
        logger.debug(msg)
        warnings.warn(msg, UnmatchedCodeWarning, stacklevel=2)
    work = df.loc[~bad].copy()
    # pandas deep-copies attrs into every group below: keep them off the working frame
    work.attrs = {}
    work["_target"] = target[~bad].astype("str").to_numpy()
    work["_code"] = codes[~bad].to_numpy()
    out = _aggregate(work)
    out.attrs.update(df.attrs)
    out.attrs["unmatched"] = unmatched
    out.attrs["n_unmatched"] = len(unmatched)
    return out


def _aggregate(work: pd.DataFrame) -> pd.DataFrame:
    """Merge rows of the same ``_target``: pop_std-weighted APL, summed populations."""
    g = work.groupby("_target", sort=True)
    out = pd.DataFrame(index=pd.Index(sorted(work["_target"].unique()), name="insee"))
    w = work["pop_std"].astype("float64")
    for c in ("apl", "apl_under65"):
        if c not in work.columns:
            continue
        x = work[c].astype("float64")
        has = x.notna()
        num = (x.where(has, 0.0) * w.where(has, 0.0)).groupby(work["_target"]).sum()
        den = w.where(has, 0.0).groupby(work["_target"]).sum()
        plain = x.groupby(work["_target"]).mean()  # when every member has pop_std 0
        weighted = num / den.where(den > 0)
        out[c] = weighted.where(den > 0, plain).reindex(out.index)
    if "nom" in work.columns:
        out["nom"] = merged_names(work, size="pop_total")
    out["pop_std"] = g["pop_std"].sum()
    out["pop_total"] = g["pop_total"].sum()
    out["n_source"] = g.size().astype("int64")
    out["codes_source"] = source_codes(work).reindex(out.index).to_numpy()
    for c in ("year", "pop_year"):
        if c in work.columns:
            out[c] = g[c].first()
    out = out.reset_index()
    first = [c for c in ("insee", "nom", "apl", "apl_under65", "pop_std", "pop_total") if c in out]
    rest = [c for c in out.columns if c not in first]
    return out[first + rest]


# --------------------------------------------------------------------------------------------
# the Paramètres sheet
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityRule:
    """How a GP's yearly activity is counted (``Paramètres``, "Comptabilisation de l'activité").

    Attributes
    ----------
    label : str
        The band as written (e.g. ``"Entre 251 et 3 600"``).
    low, high : float
        Bounds of the yearly consultations/visits (``high`` is ``inf`` for the last band).
    counted : float or None
        Consultations counted in the indicator; None means the actual count of the year.
    """

    label: str
    low: float
    high: float
    counted: float | None


@dataclass(frozen=True)
class DistanceBand:
    """A band of the distance decay (``Paramètres``, "Décroissance de l'accessibilité").

    ``lower_min``/``upper_min`` in minutes of car travel between communes (``upper_min`` is
    ``inf`` for the last band); ``weight`` the accessibility factor.
    """

    label: str
    lower_min: float
    upper_min: float
    weight: float


@dataclass(frozen=True)
class AplParameters:
    """The method of the DREES APL as published in the workbook's ``Paramètres`` sheet.

    Attributes
    ----------
    scope : str or None
        "Champ de l'indicateur": which GPs count.
    activity_rules : tuple of ActivityRule
        0 below 250 consultations, 3,600 for 251-3,600, actual for 3,601-6,000, 6,000 above.
    activity_exceptions : str or None
        The exceptions text (new GPs, centres de santé).
    new_gp_consultations : float or None
        Consultations imputed to GPs without activity the year before (5,400), parsed from the
        exceptions text.
    distance_bands : tuple of DistanceBand
        Car-time bands and weights (1, 2/3, 1/3, 0).
    age_weights : DataFrame
        ``age_band, age_min, age_max, year, weight``: mean GP consumption of the age band
        over the national mean, per APL year (``age_max`` missing for the open last band).
    notes : tuple of str
        Source, scope and method notes below the tables.
    source : str
        File name.
    """

    scope: str | None
    activity_rules: tuple[ActivityRule, ...]
    activity_exceptions: str | None
    new_gp_consultations: float | None
    distance_bands: tuple[DistanceBand, ...]
    age_weights: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()
    source: str = ""

    def bands(self) -> tuple[tuple[float, float], ...]:
        """Distance bands as ``(upper_bound_min, weight)`` pairs of nonzero weight.

        The format of :func:`accessmap.measures.apl`'s ``bands`` (the workbook gives
        ``((10, 1), (15, 2/3), (20, 1/3))``, i.e. ``APL_BANDS_DREES``).
        """
        return tuple(
            (b.upper_min, b.weight)
            for b in self.distance_bands
            if b.weight > 0 and math.isfinite(b.upper_min)
        )

    def age_weights_for(self, year: int) -> pd.Series:
        """Age weights of one APL year, indexed by age band label.

        Raises
        ------
        UnknownYearError
            The sheet has no weights for that year (the message lists those present).
        """
        years = sorted(int(y) for y in self.age_weights["year"].unique())
        if int(year) not in years:
            raise UnknownYearError(
                f"{self.source}: no age weights for {year!r} in sheet 'Paramètres'; years "
                f"available: {', '.join(map(str, years))}"
            )
        sub = self.age_weights[self.age_weights["year"] == int(year)]
        return pd.Series(sub["weight"].to_numpy(), index=pd.Index(sub["age_band"]), name="weight")


def read_apl_parameters(
    path: str | Path | None = None, *, data_dir: str | Path | None = None
) -> AplParameters:
    """Read the ``Paramètres`` sheet of a DREES APL workbook into :class:`AplParameters`.

    Sections are found by their titles ("Champ de l'indicateur", "Comptabilisation de
    l'activité", "Décroissance de l'accessibilité avec la distance", "Pondération de la
    population selon l'âge"); a section that is absent is left empty (logged), a table cell
    that should be a number and is not raises BadValueError.

    Raises
    ------
    UnreadableFileError
        No ``Paramètres`` sheet.
    BadValueError
        A weight or band that cannot be read as a number.

    Examples
    --------
    >>> prm = read_apl_parameters()  # doctest: +SKIP
    >>> prm.bands()  # doctest: +SKIP
    ((10.0, 1.0), (15.0, 0.6666666666666666), (20.0, 0.3333333333333333))
    """
    p = _path(path, data_dir)

    def pick(names: list[str]) -> list[str]:
        hit = [n for n in names if norm_text(n) == _PARAM_SHEET]
        if not hit:
            raise UnreadableFileError(
                f"{p.name}: no sheet 'Paramètres' (sheets: {', '.join(names)}); give the DREES "
                "APL workbook in its published layout"
            )
        return hit[:1]

    _, raw_sheets = read_sheets(p, pick, what="the DREES APL workbook")
    ((sheet, raw),) = raw_sheets.items()
    return _parse_parameters(raw, where=f"{p.name} (sheet {sheet!r})", source=p.name)


def _section(raw: pd.DataFrame, prefix: str) -> list[list[object]] | None:
    """Rows after the title row starting with ``prefix``, up to the next blank row."""
    col0 = [norm_text(x) for x in raw.iloc[:, 0].tolist()]
    try:
        i = next(k for k, t in enumerate(col0) if t.startswith(prefix))
    except StopIteration:
        return None
    rows: list[list[object]] = []
    for k in range(i + 1, len(raw)):
        if not col0[k]:
            break
        rows.append(raw.iloc[k].tolist())
    return rows


def _bounds(label: str, *, ages: bool = False) -> tuple[float, float]:
    t = norm_text(label)
    nums = numbers(t)
    if t.startswith("moins") and nums:
        return 0.0, (nums[0] - 1 if ages else nums[0])
    if t.startswith("plus") and nums:
        return nums[0], math.inf
    if len(nums) >= 2:
        return nums[0], nums[1]
    raise BadValueError(f"cannot read the bounds of band {label!r}")


def _num(value: object, *, where: str, what: str) -> float:
    try:
        out = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadValueError(
            f"{where}: {what} holds {value!r}, not a number; restore the published workbook"
        ) from None
    return out


def _parse_parameters(raw: pd.DataFrame, *, where: str, source: str) -> AplParameters:
    def rows_of(prefix: str) -> list[list[object]]:
        rows = _section(raw, prefix)
        if rows is None:
            logger.info("%s: no section %r", where, prefix)
            return []
        return rows

    scope_rows = rows_of("champ de l'indicateur")
    scope = str(scope_rows[0][0]).strip() if scope_rows else None

    rules: list[ActivityRule] = []
    exceptions: str | None = None
    new_gp: float | None = None
    for row in rows_of("comptabilisation de l'activite")[1:]:  # first row: column titles
        label = str(row[0]).strip()
        if norm_text(label).startswith("exception"):
            exceptions = label
            m = re.search(r"(\d[\d \u00a0\u202f]*\d)\s+consultations", label)
            new_gp = float(re.sub(r"\D", "", m.group(1))) if m else None
            continue
        try:
            low, high = _bounds(label)
        except BadValueError as exc:
            raise BadValueError(f"{where}: {exc}; restore the published workbook") from None
        counted_cell = row[1] if len(row) > 1 else None
        counted = (
            None
            if isinstance(counted_cell, str)
            else _num(counted_cell, where=where, what=f"the activity counted for {label!r}")
        )
        rules.append(ActivityRule(label=label, low=low, high=high, counted=counted))

    bands: list[DistanceBand] = []
    for row in rows_of("decroissance de l'accessibilite")[1:]:
        label = str(row[0]).strip()
        try:
            lo, hi = _bounds(label)
        except BadValueError as exc:
            raise BadValueError(f"{where}: {exc}; restore the published workbook") from None
        weight = _num(row[1], where=where, what=f"the accessibility of {label!r}")
        bands.append(DistanceBand(label=label, lower_min=lo, upper_min=hi, weight=weight))

    age_rows = rows_of("ponderation de la population")
    records: list[dict[str, object]] = []
    notes: list[str] = []
    if age_rows:
        head = [norm_text(x) for x in age_rows[0]]
        year_cols = {
            j: int(m.group(1))
            for j, h in enumerate(head)
            if (m := re.search(r"((?:19|20)\d{2})", h)) and j > 0
        }
        for row in age_rows[1:]:
            label = str(row[0]).strip()
            t = norm_text(label)
            if t.startswith(("source", "champ", "note", "lecture")):
                notes.append(label)
                continue
            try:
                lo, hi = _bounds(label, ages=True)
            except BadValueError as exc:
                raise BadValueError(f"{where}: {exc}; restore the published workbook") from None
            for j, yr in year_cols.items():
                records.append(
                    {
                        "age_band": label,
                        "age_min": lo,
                        "age_max": hi if math.isfinite(hi) else np.nan,
                        "year": yr,
                        "weight": _num(row[j], where=where, what=f"the {yr} weight of {label!r}"),
                    }
                )
    ages = pd.DataFrame.from_records(
        records, columns=["age_band", "age_min", "age_max", "year", "weight"]
    )
    ages = ages.astype({"age_min": "float64", "age_max": "float64", "weight": "float64"})
    ages["year"] = ages["year"].astype("int64")
    return AplParameters(
        scope=scope,
        activity_rules=tuple(rules),
        activity_exceptions=exceptions,
        new_gp_consultations=new_gp,
        distance_bands=tuple(bands),
        age_weights=ages,
        notes=tuple(notes),
        source=source,
    )
