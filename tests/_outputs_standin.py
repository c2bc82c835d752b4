"""Stand-in for ``accessmap.pipeline.run_score`` used by the outputs tests.

TEMPORARY: builds the layers listed in docs/ARCHITECTURE.md (``accessmap.pipeline``) from the
REAL shared data with the same columns, using a crude crow-fly time (straight line x 1.3 at
50 km/h) so that export, maps and report can be tested before the pipeline lands. Delete once
``run_score`` exists and the tests use it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from scipy.spatial import cKDTree

CRS = "EPSG:2154"
DETOUR = 1.3
SPEED_KMH = 50.0


def _minutes(dist_m: np.ndarray) -> np.ndarray:
    return dist_m * DETOUR / 1000.0 / SPEED_KMH * 60.0


@functools.lru_cache(maxsize=1)
def build_layers(data_dir: Path) -> dict[str, Any]:
    """Return ``{layer name: (Geo)DataFrame, ..., "metadata": dict}`` like ``ScoreResult``."""
    admin = data_dir / "occitanie_admin.gpkg"
    com = gpd.read_file(admin, layer="communes").to_crs(CRS)
    ori = gpd.read_file(admin, layer="commune_origins").to_crs(CRS).set_index("insee")
    sup = pd.read_csv(data_dir / "supply_gp_counts_commune_bpe2019.csv", dtype={"insee": str})
    hosp = pd.read_csv(data_dir / "occitanie_hospitals_finess_2020.csv", dtype={"insee": str})
    hosp_g = gpd.GeoSeries(gpd.points_from_xy(hosp.lon, hosp.lat), crs="EPSG:4326").to_crs(CRS)

    com = com.rename(columns={"pop_mun_2023": "pop", "rp2021_pop_65p": "pop_65p"})
    com["share_65p"] = com["share_65p_2021"]
    com = com.merge(sup[["insee", "gp_2019"]].rename(columns={"gp_2019": "gp_count"}), on="insee")
    xy = np.column_stack([ori.loc[com.insee].geometry.x, ori.loc[com.insee].geometry.y])
    gp_mask = com.gp_count.to_numpy() > 0
    gp_xy = xy[gp_mask]
    gp_ids = com.insee.to_numpy()[gp_mask]
    tree = cKDTree(gp_xy)
    d, j = tree.query(xy)
    com["nearest_gp_id"] = gp_ids[j]
    com["time_gp_min"] = _minutes(d)
    for t in (10, 15, 20, 30):
        com[f"within_{t}"] = com.time_gp_min <= t
    # quick 2SFCA within 20 min (crow-fly), supply in GPs per 1,000 standardised people
    pairs = tree.query_ball_point(xy, r=20.0 * SPEED_KMH * 1000 / 60 / DETOUR)
    pop = com["pop"].to_numpy(float)
    demand = np.zeros(len(gp_xy))
    for i, js in enumerate(pairs):
        demand[js] += pop[i]
    ratio = np.where(demand > 0, com.gp_count.to_numpy()[gp_mask] / np.maximum(demand, 1), 0)
    acc = np.array([ratio[js].sum() for js in pairs])
    com["e2sfca"] = acc * 1000
    com["apl"] = acc * 5400  # consultations per inhabitant per year (5,400 per GP)
    com["apl_class"] = pd.cut(
        com.apl, [-np.inf, 2.5, 4.0, np.inf], right=False, labels=["<2.5", "2.5-4", ">=4"]
    ).astype(str)
    dh, _ = cKDTree(np.column_stack([hosp_g.x, hosp_g.y])).query(xy)
    com["time_hospital_min"] = _minutes(dh)
    com["time_emergency_min"] = _minutes(dh) * 1.2
    com["engine"] = "crow-fly"
    communes = com[
        [
            "insee", "nom", "dep", "dep_nom", "epci_siren", "epci_nom", "pop", "pop_65p",
            "share_65p", "gp_count", "nearest_gp_id", "time_gp_min", "within_10", "within_15",
            "within_20", "within_30", "e2sfca", "apl", "apl_class", "time_emergency_min",
            "time_hospital_min", "engine", "geometry",
        ]
    ]  # fmt: skip
    communes = gpd.GeoDataFrame(communes, geometry="geometry", crs=CRS)

    # population cells (1 km grid), assigned to communes
    with rasterio.open(data_dir / "popgrid_occitanie_insee2010_1km_epsg3035.tif") as src:
        band = src.read(1)
        rows, cols = np.nonzero(band > 0)
        xs, ys = rasterio.transform.xy(src.transform, rows, cols)
        cells = gpd.GeoDataFrame(
            {"cell_id": [f"r{r}c{c}" for r, c in zip(rows, cols, strict=True)],
             "pop": band[rows, cols].astype(float)},
            geometry=gpd.points_from_xy(xs, ys), crs=src.crs,
        ).to_crs(CRS)  # fmt: skip
    cells = gpd.sjoin(cells, communes[["insee", "geometry"]], how="inner", predicate="within")
    dc, _ = tree.query(np.column_stack([cells.geometry.x, cells.geometry.y]))
    cells["time_gp_min"] = _minutes(dc)
    cells["within_15"] = cells.time_gp_min <= 15
    cells["engine"] = "crow-fly"
    cells = cells[["cell_id", "pop", "insee", "time_gp_min", "within_15", "engine", "geometry"]]
    cells = cells.reset_index(drop=True)

    # EPCI scores
    c = communes.assign(
        beyond=np.where(communes.time_gp_min > 15, communes["pop"], 0),
        pt=communes.time_gp_min * communes["pop"],
        ap=communes.apl * communes["pop"],
        low=np.where(communes.apl < 2.5, communes["pop"], 0),
        te=communes.time_emergency_min * communes["pop"],
        th=communes.time_hospital_min * communes["pop"],
    )
    g = c.dissolve(
        by=["epci_siren", "epci_nom"],
        aggfunc={"pop": "sum", "pop_65p": "sum", "beyond": "sum", "pt": "sum", "ap": "sum",
                 "low": "sum", "te": "sum", "th": "sum", "gp_count": "sum",
                 "time_gp_min": "max"},
    ).reset_index()  # fmt: skip
    ep = gpd.GeoDataFrame(
        {
            "epci_siren": g.epci_siren,
            "epci_nom": g.epci_nom,
            "pop": g["pop"],
            "pop_beyond_15": g.beyond,
            "share_beyond_15": g.beyond / g["pop"],
            "mean_time_min": g.pt / g["pop"],
            "worst_time_min": g.time_gp_min,
            "apl": g.ap / g["pop"],
            "share_apl_below_2_5": g.low / g["pop"],
            "share_65p": g.pop_65p / g["pop"],
            "time_emergency_min": g.te / g["pop"],
            "time_hospital_min": g.th / g["pop"],
            "gp_per_10k": g.gp_count / g["pop"] * 1e4,
        },
        geometry=g.geometry,
        crs=CRS,
    )
    z = (
        ep.share_beyond_15.rank(pct=True)
        + (-ep.apl).rank(pct=True)
        + ep.share_65p.rank(pct=True)
        + ep.time_emergency_min.rank(pct=True)
    ) / 4
    ep["need_score"] = z
    ep["need_rank"] = z.rank(ascending=False, method="first").astype(int)
    ep["official_priority"] = ep.need_rank <= 28
    ep = ep.sort_values("need_rank").reset_index(drop=True)

    # greedy siting among communes without a GP, covering people beyond 15 min
    unc = communes.time_gp_min.to_numpy() > 15
    w = np.where(unc, pop, 0.0)
    cand = np.nonzero(~gp_mask)[0]
    r15 = 15.0 * SPEED_KMH * 1000 / 60 / DETOUR
    otree = cKDTree(xy)
    cover = [np.array(otree.query_ball_point(xy[k], r=r15)) for k in cand]
    rows_ = []
    total_unc = w.sum()
    cum = 0.0
    for rank in range(1, 11):
        gains = np.array([w[cv].sum() for cv in cover])
        b = int(np.argmax(gains))
        cum += gains[b]
        k = cand[b]
        rows_.append(
            {"rank": rank, "insee": communes.insee.iat[k], "nom": communes.nom.iat[k],
             "epci_siren": communes.epci_siren.iat[k], "gain_pop": float(gains[b]),
             "cumulative_pop": cum, "cumulative_share": cum / total_unc,
             "geometry": ori.geometry.loc[communes.insee.iat[k]]}
        )  # fmt: skip
        w[cover[b]] = 0.0
    sites = gpd.GeoDataFrame(rows_, geometry="geometry", crs=CRS)
    curve = pd.DataFrame(sites[["rank", "gain_pop", "cumulative_pop", "cumulative_share"]])
    curve = curve.rename(columns={"rank": "n_centres"})

    # isochrone bands (crow-fly discs dissolved per threshold)
    gp_pts = gpd.GeoSeries(gpd.points_from_xy(gp_xy[:, 0], gp_xy[:, 1]), crs=CRS)
    iso_rows = []
    for t in (5, 10, 15, 20, 30):
        geom = gp_pts.buffer(t * SPEED_KMH * 1000 / 60 / DETOUR, quad_segs=8).union_all()
        iso_rows.append({"facility_id": "all", "threshold_min": float(t), "geometry": geom})
    iso = gpd.GeoDataFrame(iso_rows, geometry="geometry", crs=CRS)

    dep = (
        c.groupby(["dep", "dep_nom"], as_index=False)
        .agg(pop=("pop", "sum"), pop_beyond_15=("beyond", "sum"), pt=("pt", "sum"))
        .assign(share_beyond_15=lambda d: d.pop_beyond_15 / d["pop"],
                mean_time_min=lambda d: d.pt / d["pop"])
        .drop(columns="pt")
    )  # fmt: skip
    region = pd.DataFrame(
        {
            "pop": [dep["pop"].sum()],
            "pop_beyond_15": [dep.pop_beyond_15.sum()],
            "share_beyond_15": [dep.pop_beyond_15.sum() / dep["pop"].sum()],
        }
    )
    top = set(ep.epci_siren[ep.need_rank <= 28])
    off = set(ep.epci_siren[ep.official_priority])
    agreement = pd.DataFrame(
        {"metric": ["top_n", "overlap", "precision"],
         "value": [28.0, float(len(top & off)), len(top & off) / 28]}
    )  # fmt: skip
    metadata = {
        "accessmap_version": "0.1.0",
        "engine": "crow-fly",
        "params": {"speed_kmh": SPEED_KMH, "detour_factor": DETOUR, "target_min": 15.0},
        "sources": [
            {
                "name": "communes",
                "publisher": "IGN / INSEE",
                "licence": "Licence Ouverte 2.0",
                "attribution": "IGN ADMIN EXPRESS; INSEE populations légales 2023",
            },
            {
                "name": "gp_supply",
                "publisher": "INSEE",
                "licence": "Licence Ouverte 2.0",
                "attribution": "Source : INSEE, BPE 2019",
            },
        ],
        "created": "2026-11-22T08:00:00+00:00",
    }
    return {
        "communes": communes,
        "cells": cells,
        "epci_scores": ep,
        "sites": sites,
        "isochrones": iso,
        "departements": dep,
        "region": region,
        "siting_curve": curve,
        "agreement": agreement,
        "metadata": metadata,
    }
