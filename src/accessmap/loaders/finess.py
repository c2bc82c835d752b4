"""FINESS establishments from the official etalab extract (registry ``finess_etalab``).

The Ministry of Health publishes the FINESS register of health and social establishments on
data.gouv.fr as ``etalab-cs1100507-stock-YYYYMMDD-HHMM.csv``: Latin-1, ``;``-separated, a
first line ``finess;etalab;...``, then ``structureet`` lines (32 fields: FINESS number, name,
address, commune, département, category, ...) and ``geolocalisation`` lines (FINESS number,
x, y in Lambert-93 for metropolitan France, source, date). Field order: data.gouv.fr
documentation of the extract, as read by public consumers of the file.

This gives current positions of hospitals and of primary-care structures that the BPE counts
only per commune: ``categetab`` 603 "Maison de santé (L.6223-3)" (MSP) and 124 "Centre de
santé" (check the FINESS nomenclature of categories before publishing a label).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from accessmap.config import WORKING_CRS
from accessmap.data import validate as v
from accessmap.errors import EmptyLayerError
from accessmap.loaders.bpe import UnmatchedCodeWarning
from accessmap.loaders.common import filter_deps

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["FINESS_HEALTH_CENTRE", "FINESS_MSP", "load_finess"]

logger = logging.getLogger(__name__)

#: FINESS category (categetab) of multi-professional health houses (MSP).
FINESS_MSP: tuple[str, ...] = ("603",)
#: FINESS category (categetab) of health centres ("centre de santé").
FINESS_HEALTH_CENTRE: tuple[str, ...] = ("124",)

_STRUCTURE_FIELDS = [
    "type_ligne",
    "nofinesset",
    "nofinessej",
    "rs",
    "rslongue",
    "complrs",
    "compldistrib",
    "numvoie",
    "typvoie",
    "voie",
    "compvoie",
    "lieuditbp",
    "commune",
    "departement",
    "libdepartement",
    "ligneacheminement",
    "telephone",
    "telecopie",
    "categetab",
    "libcategetab",
    "categagretab",
    "libcategagretab",
    "siret",
    "codeape",
    "codemft",
    "libmft",
    "codesph",
    "libsph",
    "dateouv",
    "dateautor",
    "datemaj",
    "numuai",
]


def _insee_code(dep: pd.Series, commune: pd.Series) -> pd.Series:
    """INSEE commune code from FINESS département + 3-digit commune.

    Overseas départements are coded ``9A``..``9F`` in FINESS; their INSEE codes are
    ``97`` + the 3-digit commune (e.g. ``9A`` + ``101`` -> ``97101``).
    """
    d = dep.astype("str").str.strip().str.zfill(2)
    c = commune.astype("str").str.strip().str.zfill(3)
    overseas = d.str.fullmatch(r"9[A-F]")
    return ("97" + c).where(overseas, d + c)


def load_finess(
    path: str | Path,
    *,
    categetab: Sequence[str] | None = None,
    categagretab: Sequence[str] | None = None,
    deps: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Establishments of a FINESS etalab extract as points in EPSG:2154.

    Parameters
    ----------
    path : str or Path
        ``etalab-cs1100507-stock-*.csv`` (plain or compressed).
    categetab, categagretab : sequence of str, optional
        Keep these categories / aggregated categories (e.g. ``FINESS_MSP``).
    deps : sequence of str, optional
        Départements (default Occitanie). Overseas coordinates are not in Lambert-93 and
        raise CRSMismatchError.

    Returns
    -------
    GeoDataFrame
        ``finess_et, name, categetab, libcategetab, categagretab, libcategagretab, insee, dep,
        geometry``. Establishments without a ``geolocalisation`` line are excluded and
        reported (:class:`UnmatchedCodeWarning`, ``attrs["no_coordinates"]``).

    Raises
    ------
    DataNotFoundError, UnreadableFileError, MissingColumnError (no ``structureet`` line),
    DuplicateIdError, EmptyLayerError, CRSMismatchError
    """
    import geopandas as gpd

    p = v.require_file(path)
    raw = v.read_csv(
        p,
        columns=["type_ligne", "nofinesset"],
        optional=_STRUCTURE_FIELDS[2:],
        sep=";",
        encoding="latin-1",
        header=None,
        names=_STRUCTURE_FIELDS,
        skiprows=1,
        usecols=None,  # ragged lines: structureet has 32 fields, geolocalisation 6
        dtype=dict.fromkeys(_STRUCTURE_FIELDS, "str"),
    )
    kind = raw["type_ligne"].str.strip()
    est = raw[kind == "structureet"]
    if est.empty:
        raise EmptyLayerError(
            f"{p.name}: no 'structureet' line (first field holds e.g. "
            f"{kind.iloc[0] if len(kind) else ''!r}); use the FINESS etalab extract "
            "etalab-cs1100507-stock-*.csv"
        )
    geo = raw.loc[kind == "geolocalisation", ["nofinesset", "nofinessej", "rs"]]
    geo = geo.rename(columns={"nofinessej": "x", "rs": "y"}).drop_duplicates("nofinesset")
    v.require_unique(est, "nofinesset", where=p.name)
    est = est.assign(
        insee=_insee_code(est["departement"], est["commune"]),
        dep=est["departement"].astype("str").str.strip().str.zfill(2),
    )
    est = filter_deps(est, deps, column="dep", where=p.name)
    if categetab is not None:
        est = est[est["categetab"].str.strip().isin(list(categetab))]
    if categagretab is not None:
        est = est[est["categagretab"].str.strip().isin(list(categagretab))]
    v.require_not_empty(est, where=f"{p.name} (selected categories)")
    est = est.merge(geo, on="nofinesset", how="left")
    xs = pd.to_numeric(est["x"], errors="coerce")
    ys = pd.to_numeric(est["y"], errors="coerce")
    located = (xs.notna() & ys.notna()).to_numpy()
    missing = est.loc[~located, ["nofinesset", "rs", "insee"]].reset_index(drop=True)
    if len(missing):
        msg = (
            f"{p.name}: {len(missing)} establishment(s) have no coordinates, e.g. "
            f"{missing['nofinesset'].iloc[0]!r}; they are excluded"
        )
        logger.debug(msg)  # reported once, as a Python warning (filterable, testable)
        warnings.warn(msg, UnmatchedCodeWarning, stacklevel=2)
    est, xs, ys = est[located], xs[located], ys[located]
    v.require_not_empty(est, where=f"{p.name} (located establishments)")
    v.check_coordinates(xs, ys, crs="EPSG:2154", where=p.name, columns=("coordxet", "coordyet"))
    out = gpd.GeoDataFrame(
        {
            "finess_et": est["nofinesset"].str.strip().to_numpy(),
            "name": est["rs"].to_numpy(),
            "categetab": est["categetab"].to_numpy(),
            "libcategetab": est["libcategetab"].to_numpy(),
            "categagretab": est["categagretab"].to_numpy(),
            "libcategagretab": est["libcategagretab"].to_numpy(),
            "insee": est["insee"].to_numpy(),
            "dep": est["dep"].to_numpy(),
        },
        geometry=gpd.points_from_xy(xs.to_numpy(), ys.to_numpy()),
        crs=WORKING_CRS,
    )
    out.attrs["no_coordinates"] = missing
    return out
