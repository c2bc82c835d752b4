"""Population grids (GeoTIFF, e.g. INSEE 1 km grids in EPSG:3035) as cell-centre points.

Cells are named INSPIRE-style, ``CRS3035RES1000mN{y}E{x}`` with (x, y) the lower-left corner
in the grid's CRS, as in INSEE's "données carroyées" files (identifier ``IdINSPIRE``), so ids
are stable across runs and joinable to INSEE tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from accessmap.config import WORKING_CRS
from accessmap.data import validate as v
from accessmap.data.registry import dataset_path, get_dataset
from accessmap.errors import (
    BadValueError,
    CRSError,
    MissingColumnError,
    MissingCRSError,
    UnreadableFileError,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["load_population_grid"]

#: Default grid: INSEE 1 km 2010 grid of the whole of Occitanie (SOURCES-roads.md, file 3).
DEFAULT_GRID = "popgrid_occitanie_2010"


def load_population_grid(
    path: str | Path | None = None,
    *,
    data_dir: str | Path | None = None,
    band: int = 1,
) -> gpd.GeoDataFrame:
    """Populated cells of a population raster as points (cell centres) in EPSG:2154.

    Parameters
    ----------
    path : str or Path, optional
        A GeoTIFF (one band = inhabitants per cell); or an INSEE grid table (CSV, gz or zip)
        with an INSPIRE cell id column (``Idcar_1km``, ``Id_carr1km``, ``IdINSPIRE``,
        ``Idcar_200m``, ``cell_id``, any case) and a population column (``Ind`` or ``pop``),
        as in the Filosofi "données carroyées" files; or a registry dataset name
        (``"popgrid_occitanie_2010"``, ``"popgrid_lot_2015"``). Default: the 2010 INSEE 1 km
        grid of Occitanie (5,349,557.5 inhabitants; note it is older and a little smaller than
        the 2023 legal population, 6,124,653).
    data_dir : str or Path, optional
        Data directory, used when ``path`` is None or a dataset name.
    band : int, default 1
        Raster band holding the population.

    Returns
    -------
    GeoDataFrame
        ``cell_id`` (INSPIRE-style, lower-left corner in the raster CRS), ``pop`` (float64, > 0;
        INSEE grids hold fractional values), ``geometry`` (cell centre, EPSG:2154). Cells with
        0, negative-free nodata or NaN are dropped.

    Raises
    ------
    MissingCRSError
        The raster has no CRS.
    CRSError
        The raster CRS is not projected in metres, or the grid is rotated.
    UnreadableFileError, BadValueError (negative population)

    Examples
    --------
    >>> cells = load_population_grid("popgrid_lot_2015")  # doctest: +SKIP
    >>> round(cells["pop"].sum())  # doctest: +SKIP
    1809692
    """
    import geopandas as gpd
    import rasterio
    from pyproj import Transformer
    from rasterio.errors import RasterioError

    if path is None:
        p = dataset_path(DEFAULT_GRID, data_dir)
    elif not Path(path).exists() and isinstance(path, str) and "/" not in path:
        get_dataset(path)  # ConfigError for unknown names
        p = dataset_path(path, data_dir)
    else:
        p = v.require_file(path)
    if p.name.lower().endswith((".csv", ".csv.gz", ".zip")):
        return _grid_from_table(p)
    try:
        with rasterio.open(p) as src:
            crs, transform, nodata = src.crs, src.transform, src.nodata
            if band < 1 or band > src.count:
                raise BadValueError(
                    f"{p.name}: band {band} does not exist (the raster has {src.count}); "
                    "pass band=1..count"
                )
            data = src.read(band, masked=True).astype("float64")
    except RasterioError as exc:
        raise UnreadableFileError(
            f"{p.name}: cannot be read as a raster ({exc}); the file is truncated or not a "
            "GeoTIFF: fetch it again"
        ) from exc
    if crs is None:
        raise MissingCRSError(
            f"{p.name}: raster has no CRS; accessmap never guesses one. Set it, e.g. "
            "`gdal_edit.py -a_srs EPSG:3035 file.tif`"
        )
    if not crs.is_projected or (crs.linear_units or "").lower() not in ("metre", "meter", "m"):
        raise CRSError(
            f"{p.name}: raster CRS {crs.to_string()!r} is not projected in metres; population "
            "cells need a metric grid (e.g. EPSG:3035): reproject the raster"
        )
    if transform.b != 0 or transform.d != 0 or transform.e >= 0:
        raise CRSError(
            f"{p.name}: the grid is rotated or not north-up (transform {tuple(transform)[:6]}); "
            "warp it to a north-up grid"
        )
    values = np.ma.filled(data, np.nan)
    if nodata is not None and not np.isnan(nodata):
        values[values == nodata] = np.nan
    neg = values < 0
    if neg.any():
        r, c = np.argwhere(neg)[0]
        raise BadValueError(
            f"{p.name}: negative population {float(values[r, c])!r} at row {r}, column {c}; "
            "set the raster's nodata value or fix the cells"
        )
    rows, cols = np.nonzero(np.nan_to_num(values, nan=0.0) > 0)
    res_x, res_y = transform.a, -transform.e
    x_ll = transform.c + cols * res_x
    y_ll = transform.f - (rows + 1) * res_y
    epsg = crs.to_epsg()
    res_txt = f"{res_x:g}m" if res_x == res_y else f"{res_x:g}x{res_y:g}m"
    prefix = f"CRS{epsg}RES{res_txt}" if epsg else f"RES{res_txt}"
    xi = np.rint(x_ll).astype(np.int64)
    yi = np.rint(y_ll).astype(np.int64)
    cell_id = [f"{prefix}N{y}E{x}" for x, y in zip(xi.tolist(), yi.tolist(), strict=True)]
    tr = Transformer.from_crs(crs.to_wkt(), WORKING_CRS, always_xy=True)
    cx, cy = tr.transform(x_ll + res_x / 2, y_ll + res_y / 2)
    return gpd.GeoDataFrame(
        {"cell_id": cell_id, "pop": values[rows, cols]},
        geometry=gpd.points_from_xy(cx, cy),
        crs=WORKING_CRS,
    )


#: Cell id columns of INSEE grid tables (Filosofi 2015: Id_carr1km / IdINSPIRE; 2017, 2019:
#: Idcar_1km / Idcar_200m) and population columns (Filosofi: Ind = individuals).
_ID_COLUMNS = ("idcar_1km", "id_carr1km", "idinspire", "idcar_200m", "cell_id")
_POP_COLUMNS = ("ind", "pop")
_INSPIRE_ID = r"CRS(?P<epsg>\d+)RES(?P<res>\d+)mN(?P<n>\d+)E(?P<e>\d+)"


def _grid_from_table(p: Path) -> gpd.GeoDataFrame:
    """Cells of an INSEE grid table, located by their INSPIRE ids (lower-left corner)."""
    import geopandas as gpd
    import pandas as pd
    from pyproj import Transformer

    header = v.read_header(p, encoding="latin-1")
    lower = {c.lower(): c for c in header}
    id_col = next((lower[c] for c in _ID_COLUMNS if c in lower), None)
    pop_col = next((lower[c] for c in _POP_COLUMNS if c in lower), None)
    if id_col is None or pop_col is None:
        raise MissingColumnError(
            f"{p.name}: missing column {'Idcar_1km' if id_col is None else 'Ind'!r} (an INSPIRE "
            f"cell id and a population column are needed; columns present: "
            f"{', '.join(header[:12])}); use an INSEE grid table or a GeoTIFF"
        )
    df = v.read_csv(p, columns=[id_col, pop_col], sep=None, encoding=None, dtype={id_col: "str"})
    pop = v.to_numeric(df, pop_col, where=p.name)
    parts = df[id_col].astype("str").str.extract(_INSPIRE_ID)
    bad = parts["n"].isna()
    if bad.any():
        raise BadValueError(
            f"{p.name}: column {id_col!r} holds {df.loc[bad, id_col].iloc[0]!r}, not an INSPIRE "
            "cell id like 'CRS3035RES1000mN2029000E4252000'; use the grid's INSPIRE id column"
        )
    epsgs = parts["epsg"].unique()
    if len(epsgs) != 1:
        raise CRSError(f"{p.name}: cell ids mix CRSs {sorted(epsgs)[:3]}; split the table by CRS")
    res = parts["res"].astype("float64").to_numpy()
    x_ll = parts["e"].astype("float64").to_numpy()
    y_ll = parts["n"].astype("float64").to_numpy()
    table = pd.DataFrame(
        {
            "cell_id": df[id_col].to_numpy(),
            "pop": pop.to_numpy(),
            "x": x_ll + res / 2,
            "y": y_ll + res / 2,
        }
    )
    table = table.groupby("cell_id", as_index=False, sort=False).agg(
        pop=("pop", "sum"), x=("x", "first"), y=("y", "first")
    )
    table = table[table["pop"] > 0]
    tr = Transformer.from_crs(f"EPSG:{epsgs[0]}", WORKING_CRS, always_xy=True)
    cx, cy = tr.transform(table["x"].to_numpy(), table["y"].to_numpy())
    return gpd.GeoDataFrame(
        {"cell_id": table["cell_id"].to_numpy(), "pop": table["pop"].to_numpy()},
        geometry=gpd.points_from_xy(cx, cy),
        crs=WORKING_CRS,
    )
