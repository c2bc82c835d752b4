"""Private helpers to read published Excel workbooks (DREES APL, INSEE Statistiques locales).

Published workbooks put title and note rows above the table, so the header row is found by
its content (:func:`find_row`), never by a fixed offset. Cell text is compared after
:func:`norm_text` (lower case, accents and non-breaking spaces removed), so that
``"Code commune INSEE"``, ``"code commune insee"`` and ``"Code commune\xa0INSEE"`` match.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from python_calamine import CalamineError

from accessmap.errors import AccessmapError, UnreadableFileError

__all__ = ["cell_code", "find_row", "norm_text", "numbers", "parse_number", "read_sheets"]

#: Rows scanned for a header row: published workbooks have fewer than 15 title rows.
HEADER_SCAN_ROWS = 60

_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def norm_text(value: Any) -> str:
    """Cell text for matching: accents stripped, lower case, one space between words.

    Examples
    --------
    >>> norm_text("  Population\xa0standardisée 2021 ")
    'population standardisee 2021'
    >>> norm_text(None)
    ''
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("\u2019", "'").replace("\u2013", "-")
    return _SPACES.sub(" ", text).strip().lower()


def parse_number(text: str) -> float | None:
    """First number of a French text (``"3 600"`` -> 3600.0, ``"2,5"`` -> 2.5), else None.

    Examples
    --------
    >>> parse_number("Entre 251 et 3 600")
    251.0
    >>> parse_number("une offre de 5 400 consultations") is None
    False
    """
    m = _NUMBER.search(text)
    if m is None:
        return None
    return float(_SPACES.sub("", m.group(0)).replace(",", "."))


#: A number written the French way: thousands separated by (non-breaking) spaces, decimal comma.
_NUMBER = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?")


def numbers(text: str) -> list[float]:
    """Every number of a French text, in order (see :func:`parse_number`)."""
    return [float(_SPACES.sub("", m).replace(",", ".")) for m in _NUMBER.findall(text)]


def cell_code(value: Any) -> str | None:
    """A commune code cell as text: ``1001`` or ``1001.0`` -> ``"01001"``; blank -> None.

    Spreadsheet programs turn codes into numbers and drop the leading zero; the INSEE code is
    5 characters (``SOURCES.md`` section 11), so a 4-digit number gets its zero back.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        return None
    return text.zfill(5) if text.isdigit() and len(text) == 4 else text


#: Excel reader: calamine (Rust, PyPI ``python-calamine``) reads the 35,000-row Statistiques
#: locales export in about 0.4 s where openpyxl takes 2-4 s, with the same cell values (checked
#: in ``tests/test_statlocales.py``); every ``accessmap score`` reads that file for the GP supply.
_ENGINE: Literal["calamine"] = "calamine"


def read_sheets(
    path: Path, wanted: Callable[[list[str]], list[str]], *, what: str
) -> tuple[list[str], dict[str, pd.DataFrame]]:
    """Read some sheets of a workbook as raw cells (no header, object dtype).

    Parameters
    ----------
    path : Path
        The ``.xlsx`` file (existing).
    wanted : callable
        Given the sheet names, returns the names to read (may raise a typed error).
    what : str
        What the file should be, for the error message (e.g. ``"the DREES APL workbook"``).

    Returns
    -------
    (list of str, dict of str to DataFrame)
        All sheet names, and the raw cells of the sheets read.

    Raises
    ------
    UnreadableFileError
        The file is not an Excel workbook or is truncated.
    """
    try:
        with pd.ExcelFile(path, engine=_ENGINE) as xl:
            names = [str(s) for s in xl.sheet_names]
            chosen = wanted(names)
            raw = {
                name: pd.read_excel(
                    xl, sheet_name=name, header=None, dtype=object, keep_default_na=False
                )
                for name in chosen
            }
    except AccessmapError:  # a typed error of ``wanted`` (unknown year, missing sheet)
        raise
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, EOFError,
            CalamineError) as exc:  # fmt: skip
        raise UnreadableFileError(
            f"{path.name}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc}); "
            f"give {what} as .xlsx (open and save it again in a spreadsheet program if it "
            "was saved in another format), or download it again"
        ) from exc
    # Keep real blanks as missing: empty strings of the sheet become None.
    for name, frame in raw.items():
        raw[name] = frame.map(lambda x: None if isinstance(x, str) and not x.strip() else x)
    return names, raw


def find_row(
    raw: pd.DataFrame, predicate: Callable[[list[str]], bool], *, start: int = 0
) -> int | None:
    """Position of the first row (from ``start``) whose normalised cells satisfy ``predicate``."""
    stop = min(len(raw), start + HEADER_SCAN_ROWS)
    for i in range(start, stop):
        cells = [norm_text(x) for x in raw.iloc[i].tolist()]
        if predicate(cells):
            return i
    return None


# --------------------------------------------------------------------------------------------
# merging communes into COG 2026 (shared by the DREES and Statistiques locales loaders)
# --------------------------------------------------------------------------------------------

_ARRONDISSEMENT = re.compile(r"^(.*?)\s+\d+(?:er|e|ème)?\s+arrondissement$", re.IGNORECASE)


def merged_names(work: pd.DataFrame, *, size: str | None = None) -> pd.Series:
    """Name of each COG 2026 commune (``_target``) from its members (``_code``, ``nom``).

    The member whose code is the 2026 code gives the name; else, when every member is a
    municipal arrondissement (``"Marseille 13e Arrondissement"``), the city (``"Marseille"``);
    else the largest member by ``size`` (or the first code).
    """
    keys = ["_target", "_self"] + ([size] if size else []) + ["_code"]
    asc = [True, False] + ([False] if size else []) + [True]
    order = work.assign(_self=work["_code"] == work["_target"]).sort_values(
        keys, ascending=asc, kind="stable"
    )
    first = order.drop_duplicates("_target").set_index("_target")
    names = first["nom"].astype("object")
    city = work["nom"].astype("str").str.extract(_ARRONDISSEMENT, expand=False)
    all_arr = city.notna().groupby(work["_target"]).all()
    one_city = city.groupby(work["_target"]).nunique() == 1
    city_name = city.groupby(work["_target"]).first()
    use = all_arr & one_city & ~first["_self"].reindex(all_arr.index).astype(bool)
    names.loc[use[use].index] = city_name[use].to_numpy()
    return names


def source_codes(work: pd.DataFrame) -> pd.Series:
    """``"code;code"`` of the members of each COG 2026 commune (``_target``), sorted.

    Vectorised: a commune that is its own only member (nearly all) keeps its code as is, and
    only the merged communes are joined group by group.
    """
    srt = work[["_target", "_code"]].sort_values(["_target", "_code"], kind="stable")
    dup = srt["_target"].duplicated(keep=False).to_numpy()
    single = pd.Series(srt["_code"].to_numpy()[~dup], index=srt["_target"].to_numpy()[~dup])
    merged = srt[dup].groupby("_target", sort=True)["_code"].agg(";".join)
    return pd.concat([single, merged]).sort_index()
