"""Maps people use: a print-ready PNG choropleth and an interactive HTML map.

Both read the layers of a score run (``ScoreResult`` or the GeoPackage written by
``accessmap score``, see :func:`accessmap.outputs.geopackage.read_geopackage`) and use the
classes and colours of :mod:`accessmap.outputs.styles`, so that the PNG, the report and QGIS agree.

The PNG is drawn with matplotlib's object-oriented API (no pyplot global state) at A4 size
(297 x 210 mm, orientation chosen from the mapped extent) and 300 dpi by default: the print
resolution usually asked for A4 output. It carries département outlines, a legend with units
(and the share of people or zones in each class), a scale bar computed in Lambert-93 metres,
a north arrow (Lambert-93 grid north is within about 3 degrees of true north over Occitanie,
so "up" is north), the data attribution and the proposed sites.

The HTML map uses folium (Leaflet). Leaflet's JavaScript and the background tiles are loaded
by the browser from their CDNs; everything else (layers, popups, legend) is in the file.
"""

from __future__ import annotations

import html
import logging
import math
import os
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from accessmap.config import WORKING_CRS
from accessmap.errors import ConfigError, MissingColumnError, UnknownCodeError
from accessmap.outputs.atomic import atomic_file
from accessmap.outputs.atomic import check_target as _check_target
from accessmap.outputs.styles import INDICATORS, OUTLINE_COLOUR, SITE_COLOUR, ColourClass, classify

logger = logging.getLogger(__name__)

__all__ = [
    "attribution_text",
    "departement_outlines",
    "interactive_map",
    "plot_map",
    "save_map_png",
    "select_area",
]

#: A4 in inches (ISO 216: 210 x 297 mm).
A4_INCHES = (297 / 25.4, 210 / 25.4)
NO_DATA_COLOUR = "#d0d0d0"

#: Default attribution when the run metadata lists no sources (the default data bundle:
#: ``shared/data/SOURCES.md``).
DEFAULT_SOURCES = (
    "Source : INSEE, populations légales 2023, BPE 2019; IGN ADMIN EXPRESS "
    "(Licence Ouverte / Etalab 2.0)"
)
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


def _layer(layers: Mapping[str, pd.DataFrame], name: str, columns: tuple[str, ...]) -> Any:
    if name not in layers:
        raise MissingColumnError(
            f"layer {name!r} not in the results (have: {', '.join(sorted(layers))}): "
            "give the GeoPackage written by `accessmap score`"
        )
    df = layers[name]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnError(
            f"layer {name!r} has no column {missing[0]!r}: rerun `accessmap score` with this "
            "version of accessmap"
        )
    if not isinstance(df, gpd.GeoDataFrame):
        raise ConfigError(f"layer {name!r} has no geometries: cannot map it")
    return df.to_crs(WORKING_CRS) if df.crs is not None and df.crs != WORKING_CRS else df


def uses_road_network(layers: Mapping[str, pd.DataFrame], metadata: Mapping[str, Any]) -> bool:
    """True when any travel time came from a road network (OpenStreetMap attribution due)."""
    if metadata.get("road_network") or "OpenStreetMap" in str(metadata.get("attribution", "")):
        return True
    engines = metadata.get("engines") or metadata.get("engine") or []
    if isinstance(engines, str):
        engines = [engines]
    if any("road" in str(e) for e in engines):
        return True
    com = layers.get("communes")
    return bool(
        com is not None
        and "engine" in com.columns
        and com["engine"].astype(str).eq("road-network").any()
    )


def attribution_text(layers: Mapping[str, pd.DataFrame], metadata: Mapping[str, Any]) -> str:
    """Attribution line: data sources from the run metadata, plus OpenStreetMap when a road
    network was used (ODbL requires "© OpenStreetMap contributors").

    Each source's ``attribution`` (else publisher, else name) is listed once, without its
    own "Source :" prefix, after a single "Sources :".
    """
    parts: list[str] = []
    for src in metadata.get("sources") or []:
        if isinstance(src, Mapping):
            text = str(src.get("attribution") or src.get("publisher") or src.get("name") or "")
            for prefix in ("Sources :", "Source :", "Sources:", "Source:"):
                if text.startswith(prefix):
                    text = text[len(prefix) :].strip()
            if text and "OpenStreetMap" not in text and text not in parts:
                parts.append(text)
    text = "Sources : " + "; ".join(parts) if parts else DEFAULT_SOURCES
    if uses_road_network(layers, metadata):
        text += f"; roads {OSM_ATTRIBUTION}"
    return text


def select_area(
    layers: Mapping[str, pd.DataFrame], *, dep: str | None = None, epci: str | None = None
) -> tuple[str, Any]:
    """Name and selection mask of communes for the region, one département or one EPCI.

    Returns
    -------
    name : str
        Place name for titles (``"Lot (46)"``).
    mask : ndarray of bool
        Communes inside the selection.

    Raises
    ------
    ConfigError
        Both ``dep`` and ``epci`` given.
    UnknownCodeError
        The code is not in the results.
    """
    com = _layer(layers, "communes", ("insee", "dep", "epci_siren"))
    if dep is not None and epci is not None:
        raise ConfigError("give --dep or --epci, not both")
    if dep is not None:
        code = str(dep).zfill(2) if str(dep).isdigit() else str(dep)
        mask = com["dep"].astype(str).eq(code).to_numpy()
        if not mask.any():
            known = ", ".join(sorted(com["dep"].astype(str).unique()))
            raise UnknownCodeError(
                f"département {dep!r} is not in the results (have: {known}): check --dep"
            )
        nom = com.loc[mask, "dep_nom"].iloc[0] if "dep_nom" in com.columns else ""
        return f"{nom} ({code})".strip(), mask
    if epci is not None:
        mask = com["epci_siren"].astype(str).eq(str(epci)).to_numpy()
        if not mask.any():
            raise UnknownCodeError(
                f"EPCI {epci!r} is not in the results: give a 9-digit SIREN, e.g. "
                f"{com['epci_siren'].iloc[0]!r} (column epci_siren of epci_scores)"
            )
        nom = com.loc[mask, "epci_nom"].iloc[0] if "epci_nom" in com.columns else str(epci)
        return f"{nom}", mask
    return "Occitanie" if len(com) > 4000 else "study area", np.ones(len(com), dtype=bool)


def _class_colours(values: pd.Series, classes: tuple[ColourClass, ...]) -> list[str]:
    out = []
    for v in values.to_numpy(dtype=float):
        k = classify(float(v), classes)
        out.append(classes[k].colour if k >= 0 else NO_DATA_COLOUR)
    return out


# --------------------------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------------------------


def departement_outlines(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Département polygons (index ``dep``) dissolved from the communes."""
    return communes[["dep", "geometry"]].dissolve(by="dep")


def _nice_length(width_m: float) -> float:
    target = width_m / 5
    for km in (1, 2, 5, 10, 20, 25, 50, 100, 200):
        if km * 1000 >= target:
            return km * 1000.0
    return 200_000.0


def _scale_bar(ax: Any, xmin: float, xmax: float, ymin: float, ymax: float) -> None:
    length = _nice_length(xmax - xmin)
    x0 = xmin + 0.04 * (xmax - xmin)
    y0 = ymin + 0.05 * (ymax - ymin)
    h = 0.012 * (ymax - ymin)
    half = length / 2
    ax.add_patch(
        Rectangle(
            (x0 - 0.015 * (xmax - xmin), y0 - 1.2 * h),
            length * 1.12 + 0.05 * (xmax - xmin),
            5.2 * h,
            facecolor="white",
            alpha=0.85,
            edgecolor="none",
            zorder=19,
        )
    )
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(
            Rectangle(
                (x0 + i * half, y0), half, h, facecolor=colour, edgecolor="black", lw=0.8, zorder=20
            )
        )
    for frac in (0, 0.5, 1):
        km = length * frac / 1000
        ax.text(
            x0 + length * frac,
            y0 + 1.6 * h,
            f"{km:g}",
            ha="center",
            va="bottom",
            fontsize=7,
            zorder=20,
        )
    ax.text(
        x0 + length + 0.01 * (xmax - xmin), y0 + h / 2, "km", va="center", fontsize=7, zorder=20
    )


def _north_arrow(ax: Any) -> None:
    ax.annotate(
        "N",
        xy=(0.965, 0.95),
        xytext=(0.965, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=11,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 10, "headlength": 10},
        zorder=20,
    )


def plot_map(
    layers: Mapping[str, pd.DataFrame],
    *,
    indicator: str = "time",
    dep: str | None = None,
    epci: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    show_sites: bool = True,
    title: str | None = None,
    outlines: gpd.GeoDataFrame | None = None,
) -> Figure:
    """Draw an A4 choropleth of one indicator for the region, a département or an EPCI.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        Needs ``communes`` (``time``/``apl``) or ``epci_scores`` (``need``); ``sites`` drawn
        when present.
    indicator : {"time", "apl", "need"}
        Car time to the nearest GP, APL, or EPCI need rank (classes:
        :mod:`accessmap.outputs.styles`).
    dep, epci : str, optional
        Zoom on one département (``"46"``) or one EPCI (SIREN); the rest is drawn faded.
    metadata : mapping, optional
        Run metadata (sources, engine) for the attribution line and the subtitle.
    show_sites : bool, default True
        Draw the proposed new centres (stars with their rank).
    title : str, optional
        Overrides the automatic title.
    outlines : GeoDataFrame, optional
        Département polygons indexed by ``dep`` (:func:`departement_outlines`); computed
        from the communes when omitted (about a second: pass them when drawing several maps).

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot; save it with ``fig.savefig`` or :func:`save_map_png`.
    """
    if indicator not in INDICATORS:
        raise ConfigError(
            f"unknown map indicator {indicator!r}: use one of {', '.join(INDICATORS)}"
        )
    metadata = metadata or {}
    column, classes, legend_title = INDICATORS[indicator]
    place, mask = select_area(layers, dep=dep, epci=epci)
    com = _layer(layers, "communes", ("insee", "dep", "pop"))
    if indicator == "need":
        zones = _layer(layers, "epci_scores", ("epci_siren", column, "pop"))
        sel_ids = set(com.loc[mask, "epci_siren"].astype(str))
        zmask = zones["epci_siren"].astype(str).isin(sel_ids).to_numpy()
        units, weights, unit_word = zones, None, "EPCI"
    else:
        com = _layer(layers, "communes", ("insee", "dep", "pop", column))
        units, zmask, weights, unit_word = com, mask, com["pop"], "pop."

    sel = units[zmask]
    xmin, ymin, xmax, ymax = com[mask].total_bounds
    pad = 0.04 * max(xmax - xmin, ymax - ymin)
    xmin, xmax, ymin, ymax = xmin - pad, xmax + pad, ymin - pad, ymax + pad
    landscape = (xmax - xmin) >= (ymax - ymin)
    fig = Figure(figsize=A4_INCHES if landscape else A4_INCHES[::-1])
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.05, 0.72, 0.85) if landscape else (0.03, 0.20, 0.94, 0.70))
    ax.set_axis_off()
    ax.set_aspect("equal")

    colours = _class_colours(units[column], classes)
    if (~zmask).any():
        units[~zmask].plot(
            ax=ax, color=np.asarray(colours)[~zmask].tolist(), alpha=0.3, linewidth=0
        )
    sel.plot(
        ax=ax,
        color=np.asarray(colours)[zmask].tolist(),
        edgecolor="#ffffff" if indicator != "need" else "#606060",
        linewidth=0.08 if indicator != "need" else 0.3,
    )
    deps = departement_outlines(com) if outlines is None else outlines.to_crs(WORKING_CRS)
    deps.boundary.plot(ax=ax, color=OUTLINE_COLOUR, linewidth=0.9)
    if dep is not None or epci is not None:
        gpd.GeoSeries([com[mask].union_all()], crs=com.crs).boundary.plot(
            ax=ax, color="black", linewidth=1.6
        )
    if len(deps) <= 13 and dep is None and epci is None:
        for code, row in deps.iterrows():
            pt = row.geometry.representative_point()
            ax.text(
                pt.x,
                pt.y,
                str(code),
                fontsize=8,
                color="#202020",
                ha="center",
                va="center",
                alpha=0.8,
                zorder=12,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.6},
            )

    if indicator == "need":
        # rank labels: the 28 most in need region-wide, every zone when zoomed in
        ranks = sel[column].astype(float)
        show = ranks <= 28 if (dep is None and epci is None) else ranks.notna()
        for geom, rank in zip(sel.geometry[show], ranks[show], strict=True):
            pt = geom.representative_point()
            ax.text(pt.x, pt.y, f"{rank:.0f}", fontsize=7, ha="center", va="center",
                    fontweight="bold", color="#202020", zorder=13,
                    bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.7})  # fmt: skip
    sites = layers.get("sites")
    n_sites = 0
    if show_sites and isinstance(sites, gpd.GeoDataFrame) and len(sites):
        s = sites.to_crs(WORKING_CRS)
        inside = s[(s.geometry.x.between(xmin, xmax)) & (s.geometry.y.between(ymin, ymax))]
        n_sites = len(inside)
        ax.scatter(
            inside.geometry.x,
            inside.geometry.y,
            marker="*",
            s=170,
            c=SITE_COLOUR,
            edgecolors="white",
            linewidths=0.8,
            zorder=15,
        )
        for _, r in inside.iterrows():
            ax.annotate(
                f"{int(r['rank'])}",
                (r.geometry.x, r.geometry.y),
                xytext=(5, 4),
                textcoords="offset points",
                fontsize=8,
                fontweight="bold",
                color=SITE_COLOUR,
                zorder=16,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
            )
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    _scale_bar(ax, xmin, xmax, ymin, ymax)
    _north_arrow(ax)

    # legend with the share of people (or number of zones) in each class
    vals = sel[column].to_numpy(dtype=float)
    idx = np.array([classify(float(v), classes) for v in vals])
    handles: list[Any] = []
    for k, c in enumerate(classes):
        if weights is not None:
            w = weights[zmask].to_numpy(dtype=float)
            share = w[idx == k].sum() / max(w.sum(), 1.0)
            label = f"{c.label}  ({100 * share:.1f} % of {unit_word})"
        else:
            label = f"{c.label}  ({int((idx == k).sum())} {unit_word})"
        handles.append(Patch(facecolor=c.colour, edgecolor="#606060", lw=0.3, label=label))
    if (idx < 0).any():
        handles.append(Patch(facecolor=NO_DATA_COLOUR, label="no data / unreachable"))
    if n_sites:
        from matplotlib.lines import Line2D

        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                ls="",
                markersize=13,
                color=SITE_COLOUR,
                markeredgecolor="white",
                label="proposed new centre (rank)",
            )
        )
    handles.append(
        Patch(facecolor="none", edgecolor=OUTLINE_COLOUR, lw=1.0, label="département boundary")
    )
    leg_ax = fig.add_axes((0.74, 0.25, 0.25, 0.6) if landscape else (0.05, 0.08, 0.9, 0.11))
    leg_ax.set_axis_off()
    leg_ax.legend(
        handles=handles,
        title=textwrap.fill(legend_title, 34),
        loc="upper left",
        fontsize=8.5,
        title_fontsize=9,
        frameon=False,
        ncol=1 if landscape else 2,
        alignment="left",
    )

    if title is None:
        names = {
            "time": "Car time to the nearest GP",
            "apl": "Access to GPs (APL)",
            "need": "Intercommunalités ranked by need",
        }
        title = f"{names[indicator]} — {place}"
    fig.text(0.02, 0.955, title, fontsize=16, fontweight="bold", va="center")
    subtitle = _subtitle(com[mask], indicator, metadata)
    if subtitle:
        fig.text(0.02, 0.918, subtitle, fontsize=9.5, va="center", color="#333333")
    version = metadata.get("version") or metadata.get("accessmap_version") or ""
    credit = f"{attribution_text(layers, metadata)}. Map: accessmap {version}".rstrip()
    width = 200 if landscape else 140  # characters per line at 6.5 pt on A4
    fig.text(0.02, 0.012, textwrap.fill(credit, width), fontsize=6.5, color="#444444",
             va="bottom")  # fmt: skip
    return fig


def _subtitle(com: pd.DataFrame, indicator: str, metadata: Mapping[str, Any]) -> str:
    pop = com["pop"].astype(float)
    engine = ", ".join(metadata.get("engines") or [str(metadata.get("engine", ""))]).strip(", ")
    eng = f" Travel times: {engine}." if engine else ""
    if "time_gp_min" in com.columns and indicator in ("time", "need"):
        beyond = pop[com["time_gp_min"].astype(float) > 15.0].sum()
        return (
            f"{100 * beyond / max(pop.sum(), 1):.1f} % of the {pop.sum():,.0f} inhabitants "
            f"live more than 15 minutes by car from a GP ({beyond:,.0f} people).{eng}"
        )
    if "apl" in com.columns:
        low = pop[com["apl"].astype(float) < 2.5].sum()
        return (
            f"{100 * low / max(pop.sum(), 1):.1f} % of the {pop.sum():,.0f} inhabitants "
            f"have an APL below 2.5 (under-served, DREES threshold).{eng}"
        )
    return eng.strip()


def save_map_png(
    layers: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    indicator: str = "time",
    dep: str | None = None,
    epci: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    dpi: int = 300,
    overwrite: bool = False,
) -> Path:
    """Write :func:`plot_map` as a PNG (A4, ``dpi`` dots per inch), atomically.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    if dpi < 50 or dpi > 1200:
        raise ConfigError(f"dpi must be between 50 and 1200, got {dpi}")
    _check_target(path, overwrite, suffix=".png")
    fig = plot_map(layers, indicator=indicator, dep=dep, epci=epci, metadata=metadata)
    with atomic_file(path, overwrite=overwrite, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, facecolor="white")
    return path


# --------------------------------------------------------------------------------------------
# HTML (folium)
# --------------------------------------------------------------------------------------------


def _fmt(v: Any, fmt: str = "{:.1f}") -> str:
    try:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "–"
        return fmt.format(v)
    except (TypeError, ValueError):
        return html.escape(str(v))


def _legend_html(title: str, classes: tuple[ColourClass, ...], attribution: str) -> str:
    rows = "".join(
        f'<div><span style="background:{c.colour};width:14px;height:14px;display:inline-block;'
        f'margin-right:6px;border:1px solid #777"></span>{html.escape(c.label)}</div>'
        for c in classes
    )
    return (
        '<div style="position:fixed;bottom:24px;left:12px;z-index:9999;background:white;'
        "padding:8px 10px;border-radius:4px;box-shadow:0 0 4px #888;font:12px sans-serif;"
        'max-width:340px">'
        f"<b>{html.escape(title)}</b>{rows}"
        f'<div><span style="color:{SITE_COLOUR};font-size:16px">★</span> proposed new centre'
        '</div><div style="margin-top:6px;font-size:9.5px;color:#444">'
        f"{html.escape(attribution)}</div></div>"
    )


def interactive_map(
    layers: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    simplify_m: float = 250.0,
) -> Path:
    """Write an interactive HTML map (folium/Leaflet) with popups for communes and EPCI.

    Layers: communes coloured by time to the nearest GP (popup: population, GPs, time, APL,
    EPCI), communes by APL class, EPCI by need rank (popup: the ranking figures), proposed
    sites (popup: rank, people newly covered), département outlines. Geometries are
    simplified by ``simplify_m`` metres (Douglas-Peucker, topology not kept: display only).

    Returns
    -------
    Path
    """
    import folium

    path = Path(path)
    _check_target(path, overwrite, suffix=".html")
    metadata = metadata or {}
    com = _layer(layers, "communes", ("insee", "nom", "dep", "pop", "time_gp_min"))
    wgs = "EPSG:4326"

    def geo(df: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        # simplify in metres, then round lon/lat to 1e-4 degree (about 10 m): a third of the
        # file size, invisible at the zooms this map is for
        out = df.copy()
        out["geometry"] = out.geometry.simplify(simplify_m)
        out = out.to_crs(wgs)
        out["geometry"] = shapely.transform(out.geometry.to_numpy(), lambda xy: np.round(xy, 4))
        return out

    time_cls = INDICATORS["time"][1]
    apl_cls = INDICATORS["apl"][1]
    need_cls = INDICATORS["need"][1]
    c = com.copy()
    c["_time_colour"] = _class_colours(c["time_gp_min"], time_cls)
    if "apl" in c.columns:
        c["_apl_colour"] = _class_colours(c["apl"], apl_cls)
    c["_popup"] = [
        f"<b>{html.escape(str(r['nom']))}</b> ({r['insee']})<br>"
        f"EPCI: {html.escape(str(r.get('epci_nom', '')))}<br>"
        f"Population: {_fmt(r['pop'], '{:,.0f}')}<br>"
        f"GPs in the commune: {_fmt(r.get('gp_count'), '{:.0f}')}<br>"
        f"Car time to nearest GP: <b>{_fmt(r['time_gp_min'])} min</b><br>"
        f"APL: {_fmt(r.get('apl'), '{:.2f}')} ({html.escape(str(r.get('apl_class', '–')))})<br>"
        f"Time to emergency care: {_fmt(r.get('time_emergency_min'))} min"
        for _, r in c.iterrows()
    ]
    cg = geo(c[[k for k in c.columns if k.startswith("_") or k in ("nom", "geometry")]])
    bounds = cg.total_bounds
    m = folium.Map(tiles="OpenStreetMap", control_scale=True, prefer_canvas=True)
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])

    def add(gdf: gpd.GeoDataFrame, name: str, colour_col: str, show: bool, weight: float) -> None:
        folium.GeoJson(
            gdf[[colour_col, "_popup", "geometry"]].to_json(),
            name=name,
            show=show,
            style_function=lambda f: {
                "fillColor": f["properties"][colour_col],
                "color": "#ffffff",
                "weight": weight,
                "fillOpacity": 0.8,
            },
            highlight_function=lambda f: {"weight": 2, "color": "#000000"},
            popup=folium.GeoJsonPopup(fields=["_popup"], labels=False),
            tooltip=None,
        ).add_to(m)

    add(cg, "Communes: car time to nearest GP", "_time_colour", True, 0.3)
    if "_apl_colour" in cg.columns:
        # short popups on the second commune layer keep the file small
        short = [
            f"<b>{html.escape(str(n))}</b><br>APL {_fmt(a, '{:.2f}')}"
            for n, a in zip(c["nom"], c["apl"], strict=True)
        ]
        add(cg.assign(_popup=short), "Communes: APL class", "_apl_colour", False, 0.3)
    ep = layers.get("epci_scores")
    if isinstance(ep, gpd.GeoDataFrame) and "need_rank" in ep.columns:
        e = ep.copy()
        e["_need_colour"] = _class_colours(e["need_rank"], need_cls)
        e["_popup"] = [
            f"<b>{html.escape(str(r.get('epci_nom', r['epci_siren'])))}</b> "
            f"({r['epci_siren']})<br>Need rank: <b>{_fmt(r['need_rank'], '{:.0f}')}</b>"
            f" of {len(e)}<br>Population: {_fmt(r.get('pop'), '{:,.0f}')}<br>"
            f"Beyond 15 min: {_fmt(100 * float(r.get('share_beyond_15', np.nan)))} %<br>"
            f"Mean time to GP: {_fmt(r.get('mean_time_min'))} min<br>"
            f"APL: {_fmt(r.get('apl'), '{:.2f}')}<br>"
            f"Official priority: {'yes' if bool(r.get('official_priority', False)) else 'no'}"
            for _, r in e.iterrows()
        ]
        add(
            geo(e[["_need_colour", "_popup", "geometry"]]),
            "EPCI: need rank",
            "_need_colour",
            False,
            1.0,
        )
    deps = geo(com.dissolve(by="dep")[["geometry"]].reset_index())
    folium.GeoJson(
        deps.to_json(),
        name="Départements",
        style_function=lambda f: {"fill": False, "color": OUTLINE_COLOUR, "weight": 2},
        interactive=False,
    ).add_to(m)
    sites = layers.get("sites")
    if isinstance(sites, gpd.GeoDataFrame) and len(sites):
        fg = folium.FeatureGroup(name="Proposed new centres")
        for _, r in sites.to_crs(wgs).iterrows():
            folium.Marker(
                [r.geometry.y, r.geometry.x],
                icon=folium.DivIcon(
                    html=f'<div style="color:{SITE_COLOUR};font:bold 13px sans-serif;'
                    f'text-shadow:0 0 3px #fff">★{int(r["rank"])}</div>'
                ),
                popup=folium.Popup(
                    f"<b>Proposed centre #{int(r['rank'])}</b><br>"
                    f"{html.escape(str(r.get('nom', '')))} ({r.get('insee', '')})<br>"
                    f"People newly within 15 min: <b>{_fmt(r['gain_pop'], '{:,.0f}')}</b><br>"
                    f"Cumulative: {_fmt(r.get('cumulative_pop'), '{:,.0f}')}",
                    max_width=300,
                ),
            ).add_to(fg)
        fg.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    root: Any = m.get_root()
    att = attribution_text(layers, metadata)
    root.html.add_child(folium.Element(_legend_html(INDICATORS["time"][2], time_cls, att)))
    title = "accessmap — car time to the nearest GP"
    root.header.add_child(folium.Element(f"<title>{html.escape(title)}</title>"))
    with atomic_file(path, overwrite=overwrite, suffix=".html") as tmp:
        m.save(str(tmp))
    return path
