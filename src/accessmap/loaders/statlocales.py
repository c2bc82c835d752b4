"""INSEE "Statistiques locales" exports: indicator counts per commune (e.g. BPE equipment).

statistiques-locales.insee.fr exports a selection of indicators for a list of territories as
a workbook: banner rows (title, source), a header row ``Code``, ``Libellé``, then one column
per indicator whose label carries the indicator, its unit and its year, e.g.
``"Médecin généraliste (en nombre) 2021"``, then one row per territory (``SOURCES.md``
section 14: the bundle's ``bpe2021_equipements_communes_france_statistiques-locales.xlsx``,
BPE 2021, 34,945 communes of the COG 2023 list, banner rows removed). The header row is found
by its content, so an export with or without its banner rows reads the same way.

Indicator labels are parsed into :class:`Indicator` (label, unit, year); labels of the BPE
equipment types of the health and education domains get their BPE code. BPE codes were
renumbered in BPE 2021 (INSEE): general practitioners D201 "médecin omnipraticien" until BPE
2020, D265 "médecin généraliste" from BPE 2021 (``accessmap.loaders.bpe``); dentists D221 then
D277; pharmacies D301 then D307; emergency services D106 throughout; nurses D232 before 2021
(``SOURCES.md`` section 10). Codes not checked against INSEE's nomenclature for that vintage
are left empty (``None``): select those indicators by label. Both vintages' codes select the
indicator (:func:`select`), as :data:`accessmap.loaders.bpe.BPE_GP` accepts both GP codes.

Counts follow the geography of the export's year (COG 2023 for this file): :func:`to_cog`
maps them to COG 2026, summing the counts of merged communes.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from accessmap.data import validate as v
from accessmap.data.registry import dataset_path
from accessmap.errors import (
    MissingColumnError,
    UnknownCodeError,
    UnreadableFileError,
)
from accessmap.loaders._xlsx import (
    cell_code,
    find_row,
    merged_names,
    norm_text,
    read_sheets,
    source_codes,
)
from accessmap.loaders.bpe import UnmatchedCodeWarning, load_commune_code_map, map_commune_codes
from accessmap.loaders.common import COMMUNE_CODE_PATTERN

__all__ = [
    "KNOWN_INDICATORS",
    "Indicator",
    "indicator_table",
    "parse_indicator_label",
    "read_statlocales",
    "select",
    "to_cog",
    "to_long",
]

logger = logging.getLogger(__name__)

#: Registry name of the bundle's export (``sources.toml``).
DATASET = "bpe2021_statlocales"


@dataclass(frozen=True)
class KnownIndicator:
    """A Statistiques locales label with a short key and its BPE codes (see module notes)."""

    key: str
    code: str | None  # BPE 2021+ nomenclature
    former_code: str | None  # BPE up to 2020


#: Normalised label (lower case, no accents) -> key and BPE codes. Codes: D265/D201 from
#: ``accessmap.loaders.bpe`` and INSEE's BPE notes; D221, D232, D106 from ``SOURCES.md``
#: section 10 (BPE 2019); D277, D307 from the BPE 2021+ nomenclature as used in BPE 2024
#: files; None where the code of that vintage was not checked (select by label).
KNOWN_INDICATORS: dict[str, KnownIndicator] = {
    "medecin generaliste": KnownIndicator("gp", "D265", "D201"),
    "medecin omnipraticien": KnownIndicator("gp", "D265", "D201"),
    "chirurgien dentiste": KnownIndicator("dentist", "D277", "D221"),
    "infirmier": KnownIndicator("nurse", None, "D232"),
    "masseur kinesitherapeute": KnownIndicator("physio", None, None),
    "pharmacie": KnownIndicator("pharmacy", "D307", "D301"),
    "service d'urgences": KnownIndicator("emergency", "D106", "D106"),
    "urgences": KnownIndicator("emergency", "D106", "D106"),
    "ecole maternelle": KnownIndicator("school_maternelle", None, None),
    "ecole elementaire": KnownIndicator("school_elementaire", None, None),
    "college": KnownIndicator("college", None, None),
    "lycee": KnownIndicator("lycee", None, None),
    "creche": KnownIndicator("creche", None, None),
}

#: First BPE vintage of the renumbered nomenclature (D265 for GPs).
NEW_NOMENCLATURE_YEAR = 2021

#: Markers of a value INSEE does not publish ("N/A - résultat non disponible", secret "s",
#: "nd"): read as missing, counted in ``attrs["n_missing"]``.
_MISSING_MARKERS = re.compile(r"^(n/?a\b.*|s|nd|n\.d\.|-|\.|secret.*)$", re.IGNORECASE)

_LABEL_WITH_UNIT = re.compile(
    r"^(?P<label>.+?)\s*\((?P<unit>[^()]*)\)\s*(?P<year>(?:19|20)\d{2})?$"
)
_LABEL_YEAR = re.compile(r"^(?P<label>.+?)\s+(?P<year>(?:19|20)\d{2})$")


@dataclass(frozen=True)
class Indicator:
    """One indicator column of a Statistiques locales export.

    Attributes
    ----------
    column : str
        Column name in the table returned by :func:`read_statlocales` (``<key>_<year>``,
        e.g. ``gp_2021``).
    source_label : str
        The header as written (``"Médecin généraliste (en nombre) 2021"``).
    label : str
        The indicator (``"Médecin généraliste"``).
    unit : str or None
        The unit in brackets (``"en nombre"``).
    year : int or None
        The year at the end of the label.
    key : str
        Short name (``gp``, ``pharmacy``...; a slug of the label when not known).
    code : str or None
        BPE code in the nomenclature of ``year`` when known (``D265`` for GPs from 2021).
    aliases : tuple of str
        Other codes that select it (the code of the other BPE nomenclature).
    """

    column: str
    source_label: str
    label: str
    unit: str | None
    year: int | None
    key: str
    code: str | None
    aliases: tuple[str, ...] = ()


def _slug(text: str) -> str:
    t = unicodedata.normalize("NFKD", text)
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", t).strip("_") or "indicator"


def parse_indicator_label(source_label: str) -> Indicator:
    """Parse a Statistiques locales column label into an :class:`Indicator`.

    Formats: ``"<label> (<unit>) <year>"`` (the export's), ``"<label> <year>"`` or
    ``"<label> (<unit>)"``; otherwise the whole text is the label.

    Examples
    --------
    >>> ind = parse_indicator_label("Médecin généraliste (en nombre) 2021")
    >>> ind.label, ind.unit, ind.year, ind.key, ind.code, ind.column
    ('Médecin généraliste', 'en nombre', 2021, 'gp', 'D265', 'gp_2021')
    >>> parse_indicator_label("Pharmacie (en nombre) 2019").code
    'D301'
    """
    text = re.sub(r"[\s\u00a0\u202f]+", " ", str(source_label)).strip()
    unit: str | None = None
    year: int | None = None
    m = _LABEL_WITH_UNIT.match(text)
    if m:
        label, unit = m.group("label").strip(), m.group("unit").strip() or None
        year = int(m.group("year")) if m.group("year") else None
    elif (m := _LABEL_YEAR.match(text)) is not None:
        label, year = m.group("label").strip(), int(m.group("year"))
    else:
        label = text
    known = KNOWN_INDICATORS.get(norm_text(label).replace("-", " "))
    code: str | None = None
    aliases: tuple[str, ...] = ()
    if known is not None:
        key = known.key
        new = year is None or year >= NEW_NOMENCLATURE_YEAR
        code = known.code if new else known.former_code
        other = known.former_code if new else known.code
        aliases = (other,) if other and other != code else ()
    else:
        key = _slug(label)
    column = f"{key}_{year}" if year is not None else key
    return Indicator(
        column=column,
        source_label=str(source_label),
        label=label,
        unit=unit,
        year=year,
        key=key,
        code=code,
        aliases=aliases,
    )


def _is_header(cells: list[str]) -> bool:
    for j in range(len(cells) - 1):
        if cells[j] in ("code", "codgeo", "code geographique") and cells[j + 1].startswith(
            ("libelle", "nom")
        ):
            return True
    return False


def _path(path: str | Path | None, data_dir: str | Path | None) -> Path:
    if path is None:
        return dataset_path(DATASET, data_dir)
    return v.require_file(
        path,
        fix="export the indicators at commune level from statistiques-locales.insee.fr "
        "(xlsx), or use the bundle's bpe2021_equipements_communes_france_statistiques-locales"
        ".xlsx",
    )


def read_statlocales(
    path: str | Path | None = None,
    *,
    sheet: str | None = None,
    data_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Read a Statistiques locales export at commune level as a wide table.

    Parameters
    ----------
    path : str or Path, optional
        The ``.xlsx`` export; default the bundle's BPE 2021 export (registry dataset
        ``bpe2021_statlocales``).
    sheet : str, optional
        Sheet name; default the first sheet that has a ``Code``/``Libellé`` header row.
    data_dir : str or Path, optional
        Data directory, when ``path`` is not given.

    Returns
    -------
    DataFrame
        ``insee`` (str, 5 characters, the export's geography), ``nom``, then one column per
        indicator named ``<key>_<year>`` (``gp_2021``, ``pharmacy_2021``...; see
        :class:`Indicator`), ``Int64`` when every value is a whole number, else ``float64``;
        values INSEE does not publish (``N/A``, secret ``s``) are missing. ``attrs``:
        ``source``, ``sheet``, ``header_row`` (1-based), ``indicators`` (tuple of
        :class:`Indicator`), ``n_missing`` (dict column -> missing values).

    Raises
    ------
    DataNotFoundError
        The file is absent.
    UnreadableFileError
        Not an Excel workbook, or no sheet with a ``Code``/``Libellé`` header row.
    MissingColumnError
        The header row has no indicator column.
    BadValueError
        A non-numeric or negative count, or a code that is not a commune code (an export at
        another level: département, EPCI...).
    DuplicateIdError
        A commune appears twice.

    Examples
    --------
    >>> bpe = read_statlocales()  # doctest: +SKIP
    >>> int(bpe["gp_2021"].sum())  # doctest: +SKIP
    60112
    """
    p = _path(path, data_dir)
    st = p.stat()
    out = _read_cached(str(p.resolve()), st.st_mtime_ns, st.st_size, sheet)
    copy = out.copy()
    copy.attrs = dict(out.attrs)
    return copy


@functools.lru_cache(maxsize=4)
def _read_cached(path: str, mtime_ns: int, size: int, sheet: str | None) -> pd.DataFrame:
    """Parse an export once per process and file version (the workbook read takes seconds;
    a run reads it for the GPs, the pharmacies and the validation). Keyed by path, mtime and
    size, so an edited file is read again."""
    p = Path(path)
    found: dict[str, int] = {}

    def pick(names: list[str]) -> list[str]:
        if sheet is not None:
            if sheet not in names:
                raise UnreadableFileError(
                    f"{p.name}: no sheet {sheet!r} (sheets: {', '.join(names)}); pass one of them"
                )
            return [sheet]
        return names

    _, raw_sheets = read_sheets(p, pick, what="a Statistiques locales export")
    for name, raw in raw_sheets.items():
        h = find_row(raw, _is_header)
        if h is not None:
            found[name] = h
            break
    if not found:
        raise UnreadableFileError(
            f"{p.name}: no header row with 'Code' and 'Libellé' in the first rows of sheet(s) "
            f"{', '.join(raw_sheets)}; give a Statistiques locales export (statistiques-locales"
            ".insee.fr, 'Exporter', xlsx) at commune level"
        )
    ((name, h),) = found.items()
    return _parse(
        raw_sheets[name], h, where=f"{p.name} (sheet {name!r})", source=p.name, sheet=name
    )


def _parse(raw: pd.DataFrame, h: int, *, where: str, source: str, sheet: str) -> pd.DataFrame:
    cells = [norm_text(x) for x in raw.iloc[h].tolist()]
    jcode = next(j for j in range(len(cells) - 1) if _is_header(cells[j : j + 2]))
    jname = jcode + 1
    indicators: list[Indicator] = []
    jcols: list[int] = []
    for j in range(len(cells)):
        if j in (jcode, jname) or not cells[j]:
            continue
        indicators.append(parse_indicator_label(str(raw.iat[h, j])))
        jcols.append(j)
    if not indicators:
        raise MissingColumnError(
            f"{where}: the header row {h + 1} has 'Code' and 'Libellé' but no indicator column; "
            "export at least one indicator"
        )
    seen: dict[str, int] = {}
    for k, ind in enumerate(indicators):  # same indicator twice: suffix the repeats
        n = seen.get(ind.column, 0)
        seen[ind.column] = n + 1
        if n:
            indicators[k] = Indicator(**{**ind.__dict__, "column": f"{ind.column}_{n + 1}"})

    body = raw.iloc[h + 1 :]
    codes = body.iloc[:, jcode].map(cell_code)
    values = body.iloc[:, jcols]
    no_value = values.isna().all(axis=1).to_numpy()
    is_commune = codes.astype("string").str.fullmatch(COMMUNE_CODE_PATTERN).fillna(False)
    keep = ~((codes.isna().to_numpy() | ~is_commune.to_numpy()) & no_value)  # blank/note rows
    body, codes, values = body[keep], codes[keep], values[keep]
    v.require_not_empty(body, where=where)
    v.require_code_format(
        codes,
        pattern=COMMUNE_CODE_PATTERN,
        where=where,
        column=str(raw.iat[h, jcode]),
        description="a commune code (export the indicators at commune level)",
    )
    out = pd.DataFrame(
        {
            "insee": codes.astype("str").to_numpy(),
            "nom": body.iloc[:, jname].astype("str").to_numpy(),
        }
    )
    v.require_unique(out, "insee", where=where)
    n_missing: dict[str, int] = {}
    for k, ind in enumerate(indicators):
        col = values.iloc[:, k]
        marker = col.map(lambda x: isinstance(x, str) and bool(_MISSING_MARKERS.match(x.strip())))
        cleaned = col.where(~marker, None).map(
            lambda x: (
                x.replace(",", ".").replace("\u00a0", "").replace(" ", "")
                if isinstance(x, str)
                else x
            )
        )
        frame = pd.DataFrame({ind.source_label: cleaned.to_numpy()})
        num = v.to_numeric(frame, ind.source_label, where=where, allow_missing=True)
        n_missing[ind.column] = int(num.isna().sum())
        whole = bool(((num.dropna() % 1) == 0).all())
        out[ind.column] = num.round().astype("Int64") if whole else num
    if any(n_missing.values()):
        logger.info("%s: values not published (missing): %s", where, n_missing)
    out.attrs.update(
        {
            "source": source,
            "sheet": sheet,
            "header_row": h + 1,
            "indicators": tuple(indicators),
            "n_missing": n_missing,
        }
    )
    return out


def _indicators(df: pd.DataFrame) -> tuple[Indicator, ...]:
    inds = df.attrs.get("indicators")
    if inds:
        return tuple(i for i in inds if i.column in df.columns)
    # attrs lost (e.g. after a concat): rebuild from the column names.
    return tuple(
        Indicator(column=c, source_label=c, label=c, unit=None, year=None, key=c, code=None)
        for c in df.columns
        if c not in ("insee", "nom", "n_source", "codes_source")
    )


def _names_of(i: Indicator) -> set[str]:
    """Every text that selects indicator ``i`` (normalised)."""
    names = {i.column, i.key, i.label, i.source_label, i.code or "", *i.aliases}
    return {norm_text(n) for n in names if n}


def indicator_table(df: pd.DataFrame) -> pd.DataFrame:
    """The indicators of a table of :func:`read_statlocales`: column, label, unit, year, code."""
    rows = [
        {
            "column": i.column,
            "key": i.key,
            "code": i.code,
            "aliases": ";".join(i.aliases),
            "label": i.label,
            "unit": i.unit,
            "year": i.year,
            "source_label": i.source_label,
        }
        for i in _indicators(df)
    ]
    return pd.DataFrame(
        rows, columns=["column", "key", "code", "aliases", "label", "unit", "year", "source_label"]
    )


def select(df: pd.DataFrame, *indicators: str, year: int | None = None) -> pd.DataFrame:
    """Columns ``insee, nom`` and the indicators asked for, by code, key, label or column.

    Parameters
    ----------
    df : DataFrame
        From :func:`read_statlocales` (or :func:`to_cog`).
    *indicators : str
        Each a BPE code of either nomenclature (``"D265"``, ``"D201"``, ``"D307"``,
        ``"D301"``), a key (``"gp"``, ``"pharmacy"``), a label (``"Médecin généraliste"``,
        case and accents ignored), the source label or a column name (``"gp_2021"``).
    year : int, optional
        Keep only indicators of that year (when the export has several).

    Raises
    ------
    UnknownCodeError
        An indicator matches no column (the message lists those present).

    Examples
    --------
    >>> bpe = read_statlocales()  # doctest: +SKIP
    >>> select(bpe, "D265", "pharmacie").columns.tolist()  # doctest: +SKIP
    ['insee', 'nom', 'gp_2021', 'pharmacy_2021']
    """
    if not indicators:
        raise UnknownCodeError("select: give at least one indicator (code, key or label)")
    inds = _indicators(df)
    chosen: list[str] = []
    for want in indicators:
        w = norm_text(want)
        known = KNOWN_INDICATORS.get(w.replace("-", " "))
        w_key = known.key if known is not None else None
        hits = [
            i.column
            for i in inds
            if (w in _names_of(i) or (w_key is not None and i.key == w_key))
            and (year is None or i.year == int(year))
        ]
        if not hits:
            listing = ", ".join(f"{i.column} ({i.code or i.label})" for i in inds)
            raise UnknownCodeError(
                f"{df.attrs.get('source', 'table')}: no indicator {want!r}"
                + (f" for {year}" if year is not None else "")
                + f"; indicators present: {listing}. Select by one of these codes, keys or "
                "labels, or export that indicator from statistiques-locales.insee.fr"
            )
        chosen += [c for c in hits if c not in chosen]
    cols = [c for c in ("insee", "nom") if c in df.columns] + chosen
    out = df[cols].copy()
    out.attrs = dict(df.attrs)
    out.attrs["indicators"] = tuple(i for i in inds if i.column in chosen)
    return out


def to_long(df: pd.DataFrame) -> pd.DataFrame:
    """One row per commune and indicator: ``insee, nom, column, key, code, label, unit, year,
    value`` (float; missing where not published)."""
    inds = _indicators(df)
    parts = []
    for i in inds:
        parts.append(
            pd.DataFrame(
                {
                    "insee": df["insee"].to_numpy(),
                    "nom": df["nom"].to_numpy() if "nom" in df else None,
                    "column": i.column,
                    "key": i.key,
                    "code": i.code,
                    "label": i.label,
                    "unit": i.unit,
                    "year": pd.array([i.year] * len(df), dtype="Int64"),
                    "value": df[i.column].astype("float64").to_numpy(),
                }
            )
        )
    if not parts:
        raise MissingColumnError("to_long: the table has no indicator column")
    return pd.concat(parts, ignore_index=True)


def to_cog(
    df: pd.DataFrame,
    mapping: pd.Series | None = None,
    *,
    data_dir: str | Path | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """Map a table of :func:`read_statlocales` to COG 2026 communes, summing merged communes.

    Parameters
    ----------
    df : DataFrame
        ``insee``, ``nom`` and indicator columns (counts).
    mapping : Series, optional
        ``code -> code_cog2026`` (:func:`accessmap.loaders.bpe.load_commune_code_map`,
        ``commune_codes_to_cog2026_france.csv.gz``); loaded from ``data_dir`` when not given.
    strict : bool, default False
        Raise UnknownCodeError instead of warning when codes do not map.

    Returns
    -------
    DataFrame
        One row per COG 2026 commune: ``insee``, ``nom`` (of the member with the 2026 code,
        else the city of municipal arrondissements, else the first code), the indicators
        summed (missing only when every member is missing), ``n_source`` and
        ``codes_source``. ``attrs``: those of ``df`` plus ``unmatched`` (codes left out) and
        ``n_unmatched``. Sums are meaningful for counts (``en nombre``); other units (rates,
        shares) are summed too, so select counts first.

    Warns
    -----
    UnmatchedCodeWarning
        Codes that do not map to COG 2026 (counted, left out).
    """
    where = str(df.attrs.get("source", "Statistiques locales table"))
    v.require_columns(df, ["insee"], where=where)
    inds = _indicators(df)
    cols = [i.column for i in inds]
    non_counts = [i.column for i in inds if i.unit and "nombre" not in norm_text(i.unit)]
    if non_counts:
        logger.warning("%s: summing indicators that are not counts: %s", where, non_counts)
    m = load_commune_code_map(data_dir) if mapping is None else mapping
    target = map_commune_codes(df["insee"], m)
    bad = target.isna().to_numpy()
    codes = df["insee"].astype("str")
    unmatched = codes[bad].tolist()
    if unmatched:
        msg = (
            f"{where}: {len(unmatched)} commune code(s) do not map to COG 2026, e.g. "
            f"{unmatched[0]!r}; their counts are left out. Update "
            "commune_codes_to_cog2026_france.csv.gz (or fetch decoupage_administratif)"
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
    g = work.groupby("_target", sort=True)
    out = g[cols].sum(min_count=1)
    out.index.name = "insee"
    for c in cols:
        if str(df[c].dtype) == "Int64":
            out[c] = out[c].astype("Int64")
    if "nom" in work.columns:
        out.insert(0, "nom", merged_names(work))
    out["n_source"] = g.size().astype("int64")
    out["codes_source"] = source_codes(work).reindex(out.index).to_numpy()
    out = out.reset_index()
    out.attrs.update(df.attrs)
    out.attrs["unmatched"] = unmatched
    out.attrs["n_unmatched"] = len(unmatched)
    return out
