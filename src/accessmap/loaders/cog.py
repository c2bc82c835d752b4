"""Commune code map from the official COG package, for users without the data bundle.

The bundle's ``commune_codes_to_cog2026_france.csv.gz`` was built from ``data/communes.json``
of the npm package ``@etalab/decoupage-administratif`` 6.0.0 (INSEE COG 2026, Licence
Ouverte; ``SOURCES.md`` section 11). :func:`build_commune_code_map` applies the same rules to
that package (registry dataset ``decoupage_administratif``: the npm tarball, or the extracted
``communes.json``), so ``accessmap data fetch decoupage_administratif`` is enough to map BPE
codes on a machine without the bundle.

Rules: a current commune (``type`` ``commune-actuelle``) maps to itself (``current``); each of
its ``anciensCodes`` maps to it (``former``); a delegated or associated commune
(``commune-deleguee`` / ``commune-associee``) maps to its ``chefLieu``; a municipal
arrondissement (``arrondissement-municipal``) maps to its ``commune`` (Paris 75056,
Marseille 13055, Lyon 69123 when that field is absent).
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pandas as pd

from accessmap.data import validate as v
from accessmap.errors import BadValueError, UnreadableFileError

__all__ = ["build_commune_code_map", "read_decoupage_communes"]

#: Member of the npm tarball holding the communes (npm packs files under ``package/``).
TARBALL_MEMBER = "package/data/communes.json"

#: Parent commune of the municipal arrondissements (INSEE COG): Paris, Marseille, Lyon.
_MLP_PARENT = {"751": "75056", "132": "13055", "693": "69123"}

RELATION_RANK = {
    "current": 0,
    "commune-deleguee": 1,
    "commune-associee": 2,
    "arrondissement-municipal": 3,
    "former": 4,
}


def read_decoupage_communes(path: str | Path) -> list[dict[str, Any]]:
    """Read ``communes.json`` from the decoupage-administratif npm tarball or a JSON file.

    Raises
    ------
    DataNotFoundError, UnreadableFileError
        Missing file, not a tarball/JSON, member absent, JSON not a list of objects.
    """
    p = v.require_file(path)
    try:
        if p.name.endswith((".tgz", ".tar.gz")):
            with tarfile.open(p) as tf:
                try:
                    member = tf.extractfile(TARBALL_MEMBER)
                except KeyError as exc:
                    raise UnreadableFileError(
                        f"{p.name}: no {TARBALL_MEMBER} in the archive; use the npm tarball of "
                        "@etalab/decoupage-administratif (`accessmap data fetch "
                        "decoupage_administratif`)"
                    ) from exc
                if member is None:  # pragma: no cover - a directory entry
                    raise UnreadableFileError(f"{p.name}: {TARBALL_MEMBER} is not a file")
                data = json.load(member)
        else:
            with open(p, encoding="utf-8") as fh:
                data = json.load(fh)
    except (tarfile.TarError, EOFError, OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UnreadableFileError(
            f"{p.name}: cannot be read ({type(exc).__name__}: {exc}); the download is truncated "
            "or corrupt: fetch it again"
        ) from exc
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise UnreadableFileError(
            f"{p.name}: communes.json is not a list of objects; use decoupage-administratif >= 2"
        )
    return data


def build_commune_code_map(path: str | Path) -> pd.DataFrame:
    """Build the ``code -> code_cog2026`` table from decoupage-administratif.

    Parameters
    ----------
    path : str or Path
        The npm tarball (``decoupage-administratif-6.0.0.tgz``) or ``communes.json``.

    Returns
    -------
    DataFrame
        ``code, code_cog2026, relation`` as in ``commune_codes_to_cog2026_france.csv.gz``; a
        (code, target) pair appears once, with its most present-day relation (current >
        delegated/associated > arrondissement > former).

    Raises
    ------
    BadValueError
        An entry without ``code``/``type``, or a delegated commune without ``chefLieu``.
    """
    p = Path(path)
    rows: list[tuple[str, str, str]] = []
    for entry in read_decoupage_communes(p):
        code, kind = entry.get("code"), entry.get("type")
        if not code or not kind:
            raise BadValueError(
                f"{p.name}: a commune entry lacks 'code' or 'type' (e.g. {entry!r:.80}); use "
                "an unmodified decoupage-administratif package"
            )
        code = str(code)
        if kind == "commune-actuelle":
            rows.append((code, code, "current"))
            rows += [(str(old), code, "former") for old in entry.get("anciensCodes") or []]
        elif kind in ("commune-deleguee", "commune-associee"):
            parent = entry.get("chefLieu")
            if not parent:
                raise BadValueError(
                    f"{p.name}: {kind} {code!r} has no 'chefLieu'; use an unmodified package"
                )
            rows.append((code, str(parent), kind))
        elif kind == "arrondissement-municipal":
            parent = entry.get("commune") or _MLP_PARENT.get(code[:3])
            if parent:
                rows.append((code, str(parent), kind))
        # Other types (e.g. collectivités d'outre-mer entries) have no COG commune target.

    df = pd.DataFrame(rows, columns=["code", "code_cog2026", "relation"])
    df["_rank"] = df["relation"].map(RELATION_RANK)
    df = df.sort_values(["code", "_rank"], kind="stable")
    df = df.drop_duplicates(["code", "code_cog2026"], keep="first")
    return df.drop(columns="_rank").reset_index(drop=True)
