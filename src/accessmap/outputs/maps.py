"""Maps people use: a print-ready PNG choropleth and an offline interactive HTML map.

Both read the layers of a score run (``ScoreResult`` or the GeoPackage written by
``accessmap score``, see :func:`accessmap.outputs.geopackage.read_geopackage`) and use the
classes and colours of :mod:`accessmap.outputs.styles` (ColorBrewer schemes marked colour-blind
safe), so that the PNG, the report and QGIS agree. Texts come from the language catalogue
(:mod:`accessmap.outputs.i18n`; French by default).

The PNG is drawn with matplotlib's object-oriented API (no pyplot global state) at A4 size
(297 x 210 mm, orientation chosen from the mapped extent) and 300 dpi by default: the print
resolution usually asked for A4 output. It carries département outlines and names, the main
towns, a legend with units (and the share of people or zones in each class), a scale bar
computed in Lambert-93 metres, a north arrow (Lambert-93 grid north is within about 3
degrees of true north over Occitanie, so "up" is north), the data attribution and the
proposed sites. Labels (sites, EPCI ranks, départements, towns) are placed greedily in that
order of priority around their anchor, each kept only where it overlaps no label already
placed (a leader line joins a label moved off its anchor); the title is wrapped to the page
width.

The HTML map is one file that works offline: Leaflet 1.9 (BSD-2, the JS and CSS shipped by
the PyPI package ``django-js-lib-leaflet``) and the layers are inlined, no tiles are loaded.
Each layer has its legend (shown with the layer), a metric scale, and a search box finds a
commune by name; ``#commune=<INSEE>`` in the address opens that commune's popup.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import os
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.transforms import Bbox

from accessmap.config import WORKING_CRS
from accessmap.errors import ConfigError, DataNotFoundError, MissingColumnError, UnknownCodeError
from accessmap.outputs.atomic import atomic_file
from accessmap.outputs.atomic import check_target as _check_target
from accessmap.outputs.i18n import DEFAULT_LANG, Catalogue, catalogue
from accessmap.outputs.styles import INDICATORS, OUTLINE_COLOUR, SITE_COLOUR, ColourClass, classify

logger = logging.getLogger(__name__)

__all__ = [
    "MapFigure",
    "WebMap",
    "attribution_text",
    "departement_outlines",
    "interactive_map",
    "main_towns",
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

#: Main towns drawn region-wide: the most populous commune of each département and every
#: commune above this population (a presentation choice: 40,000 gives 14 towns in Occitanie).
TOWN_MIN_POP = 40_000
#: Main towns drawn when zoomed on a département or an EPCI.
TOWNS_ZOOMED = 8

_HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]


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
    everything = np.ones(len(com), dtype=bool)
    deps = sorted(com["dep"].astype(str).unique())
    if len(deps) == 1 and "dep_nom" in com.columns:  # a one-département run: name it
        return f"{com['dep_nom'].iloc[0]} ({deps[0]})", everything
    return "Occitanie" if len(com) > 4000 else "study area", everything


def _class_colours(values: pd.Series, classes: tuple[ColourClass, ...]) -> list[str]:
    out = []
    for v in values.to_numpy(dtype=float):
        k = classify(float(v), classes)
        out.append(classes[k].colour if k >= 0 else NO_DATA_COLOUR)
    return out


def _class_label(c: Catalogue, indicator: str, k: int, cls: ColourClass) -> str:
    key = f"map.class.{indicator}.{k}"
    if c.has(key):
        return c.t(key)
    if indicator == "need":  # "rank 1–10" -> "rang 1–10"
        return cls.label.replace("rank", c.t("col.rank").lower())
    return cls.label


def main_towns(communes: pd.DataFrame, mask: Any = None, *, zoomed: bool = False) -> pd.DataFrame:
    """The towns to name on a map: ``insee, nom, pop, x, y`` (representative points).

    Region-wide: the most populous commune of each département and every commune above
    :data:`TOWN_MIN_POP`; zoomed in: the :data:`TOWNS_ZOOMED` most populous communes.
    Population is the ``pop`` column (population municipale 2023).
    """
    com = communes if mask is None else communes[np.asarray(mask, dtype=bool)]
    if zoomed:
        sel = com.nlargest(TOWNS_ZOOMED, "pop")
    else:
        first = com.sort_values("pop", ascending=False).drop_duplicates("dep")
        sel = com[com["insee"].isin(first["insee"]) | (com["pop"] >= TOWN_MIN_POP)]
    pts = sel.geometry.representative_point()
    return pd.DataFrame(
        {
            "insee": sel["insee"].to_numpy(),
            "nom": sel["nom"].to_numpy(),
            "pop": sel["pop"].to_numpy(),
            "x": pts.x.to_numpy(),
            "y": pts.y.to_numpy(),
        }
    ).sort_values("pop", ascending=False)


# --------------------------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------------------------


def departement_outlines(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Département polygons (index ``dep``, column ``dep_nom`` when known) dissolved from the
    communes."""
    cols = ["dep", "geometry"] + (["dep_nom"] if "dep_nom" in communes.columns else [])
    return communes[cols].dissolve(by="dep", aggfunc="first")


def _nice_length(width_m: float) -> float:
    target = width_m / 5
    for km in (1, 2, 5, 10, 20, 25, 50, 100, 200):
        if km * 1000 >= target:
            return km * 1000.0
    return 200_000.0


def _scale_bar(ax: Any, xmin: float, xmax: float, ymin: float, ymax: float, unit: str) -> Any:
    length = _nice_length(xmax - xmin)
    x0 = xmin + 0.04 * (xmax - xmin)
    y0 = ymin + 0.05 * (ymax - ymin)
    h = 0.012 * (ymax - ymin)
    half = length / 2
    box = Rectangle(
        (x0 - 0.015 * (xmax - xmin), y0 - 1.2 * h),
        length * 1.12 + 0.05 * (xmax - xmin),
        5.2 * h,
        facecolor="white",
        alpha=0.85,
        edgecolor="none",
        zorder=19,
    )
    ax.add_patch(box)
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(
            Rectangle(
                (x0 + i * half, y0), half, h, facecolor=colour, edgecolor="black", lw=0.8, zorder=20
            )
        )
    for frac in (0, 0.5, 1):
        ax.text(
            x0 + length * frac,
            y0 + 1.6 * h,
            f"{length * frac / 1000:g}",
            ha="center",
            va="bottom",
            fontsize=7,
            zorder=20,
        )
    ax.text(
        x0 + length + 0.01 * (xmax - xmin), y0 + h / 2, unit, va="center", fontsize=7, zorder=20
    )
    return box


def _north_arrow(ax: Any) -> Any:
    return ax.annotate(
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


class MapFigure(Figure):
    """The A4 map: a matplotlib :class:`~matplotlib.figure.Figure` that Jupyter shows inline
    (PNG at 100 dpi) without pyplot's global state."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, facecolor="white")
        return buf.getvalue()


@dataclass
class _Label:
    x: float
    y: float
    text: str
    kw: dict[str, Any]
    required: bool = False  # kept (at its anchor) even when it collides


#: Candidate offsets (points) around an anchor, tried in this order.
_OFFSETS: tuple[tuple[float, float], ...] = (
    (0, 0),
    (0, 9),
    (0, -9),
    (11, 0),
    (-11, 0),
    (9, 8),
    (-9, 8),
    (9, -8),
    (-9, -8),
    (0, 17),
    (0, -17),
    (20, 0),
    (-20, 0),
    (16, 14),
    (-16, 14),
    (16, -14),
    (-16, -14),
    (0, 26),
    (0, -26),
    (28, 0),
    (-28, 0),
)


def _extent(t: Any, renderer: Any) -> Any:
    """Display box of a text, its round/circle box included."""
    bb = t.get_window_extent(renderer)
    if t.get_bbox_patch() is not None:
        # the round/circle box around the text (drawn only at draw time): a square of the
        # text's largest side times sqrt(2), plus the box padding (0.15 em each side)
        pad = 0.3 * t.get_fontsize() * t.figure.dpi / 72
        side = max(bb.width, bb.height) * 1.42 + pad
        cx, cy = (bb.x0 + bb.x1) / 2, (bb.y0 + bb.y1) / 2
        bb = Bbox.from_extents(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    return bb


def _place_labels(
    fig: Figure,
    ax: Any,
    labels: Sequence[_Label],
    obstacles: Sequence[Any] = (),
    points: Sequence[tuple[float, float, float]] = (),
) -> list[Any]:
    """Greedy label placement: each label at the first offset where its box overlaps no box
    already placed, no obstacle artist and no marker (``points``: x, y in data units and a
    radius in points); skipped when none fits, unless ``required``.

    Returns the placed matplotlib texts (``fig._accessmap_labels`` keeps them for tests).
    """
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [o.get_window_extent(renderer).expanded(1.02, 1.05) for o in obstacles]
    for x, y, r_pt in points:
        px, py = ax.transData.transform((x, y))
        r = r_pt * fig.dpi / 72
        boxes.append(Bbox.from_extents(px - r, py - r, px + r, py + r))
    axbox = ax.get_window_extent(renderer)
    placed: list[Any] = []
    for lab in labels:
        chosen = None
        for dx, dy in _OFFSETS[1:] if lab.kw.get("color") == SITE_COLOUR else _OFFSETS:
            t = ax.annotate(
                lab.text,
                (lab.x, lab.y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha="center",
                va="center",
                **lab.kw,
            )
            bb = _extent(t, renderer).expanded(1.06, 1.12)
            inside = (
                bb.x0 >= axbox.x0 and bb.x1 <= axbox.x1 and bb.y0 >= axbox.y0 and bb.y1 <= axbox.y1
            )
            if inside and not any(bb.overlaps(b) for b in boxes):
                chosen = (t, bb, dx, dy)
                break
            t.remove()
        if chosen is None and lab.required:
            t = ax.annotate(lab.text, (lab.x, lab.y), ha="center", va="center", **lab.kw)
            chosen = (t, _extent(t, renderer), 0, 0)
        if chosen is None:
            continue
        t, bb, dx, dy = chosen
        if (dx, dy) != (0, 0):  # leader line from the anchor to the moved label
            t.remove()
            t = ax.annotate(
                lab.text,
                (lab.x, lab.y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha="center",
                va="center",
                arrowprops={
                    "arrowstyle": "-",
                    "lw": 0.5,
                    "color": "#404040",
                    "shrinkA": 0,
                    "shrinkB": 3,
                },
                **lab.kw,
            )
        boxes.append(bb)
        placed.append(t)
    fig._accessmap_labels = placed  # type: ignore[attr-defined]
    return placed


def _fit_title(fig: Figure, text: str, width_frac: float, size: float) -> Any:
    """The title, wrapped (then shrunk) until it fits ``width_frac`` of the page width."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    limit = width_frac * fig.bbox.width
    for fontsize in (size, size - 2, size - 4):
        for width in (200, 60, 45, 38, 32):
            wrapped = textwrap.fill(text, width)
            t = fig.text(0.02, 0.962, wrapped, fontsize=fontsize, fontweight="bold", va="top")
            if t.get_window_extent(renderer).width <= limit:
                return t
            t.remove()
    return fig.text(
        0.02, 0.962, textwrap.fill(text, 30), fontsize=size - 4, fontweight="bold", va="top"
    )


def _zone_geometries(zones: gpd.GeoDataFrame, com: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """EPCI drawn from the (hole-filled) communes, so the need map has no white holes."""
    if "epci_siren" not in com.columns:
        return zones
    geom = com[["epci_siren", "geometry"]].dissolve(by="epci_siren").geometry
    new = zones["epci_siren"].astype(str).map(geom)
    out = zones.copy()
    out["geometry"] = gpd.GeoSeries(
        np.where(new.isna(), zones.geometry, new), crs=zones.crs, index=zones.index
    )
    return out


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
    lang: str = DEFAULT_LANG,
) -> Figure:
    """Draw an A4 choropleth of one indicator for the region, a département or an EPCI.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        Needs ``communes`` (``time``/``apl``) or ``epci_scores`` (``need``); ``sites`` drawn
        when present.
    indicator : {"time", "apl", "need", "apl_diff"}
        Car time to the nearest GP, APL, EPCI need rank, or our APL minus the official DREES
        APL (layer ``apl_difference`` written by ``accessmap score --official-apl``; a
        diverging colour-blind-safe palette centred on 0) (classes:
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
    lang : {"fr", "en"}, default "fr"
        Language of the texts.

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot; a notebook shows it as is, ``fig.savefig`` or
        :func:`save_map_png` write it.
    """
    if indicator not in INDICATORS:
        raise ConfigError(
            f"unknown map indicator {indicator!r}: use one of {', '.join(INDICATORS)}"
        )
    c = catalogue(lang)
    metadata = metadata or {}
    column, classes, _ = INDICATORS[indicator]
    legend_title = c.t(f"map.legend.{indicator}")
    place, mask = select_area(layers, dep=dep, epci=epci)
    zoomed = dep is not None or epci is not None
    com = _layer(layers, "communes", ("insee", "dep", "pop"))
    if indicator == "need":
        zones = _zone_geometries(_layer(layers, "epci_scores", ("epci_siren", column, "pop")), com)
        sel_ids = set(com.loc[mask, "epci_siren"].astype(str))
        zmask = zones["epci_siren"].astype(str).isin(sel_ids).to_numpy()
        units, weights = zones, None
    elif indicator == "apl_diff":
        if not isinstance(layers.get("apl_difference"), pd.DataFrame):
            raise DataNotFoundError(
                "layer 'apl_difference' not in the results: run `accessmap score "
                "--official-apl WORKBOOK` (the DREES APL workbook, apl_generalistes.xlsx) to "
                "write it, then map that GeoPackage"
            )
        diff = pd.DataFrame(_layer(layers, "apl_difference", ("insee", column)))
        # commune polygons of the run; communes absent from the workbook stay "no data"
        units = gpd.GeoDataFrame(
            com[["insee", "pop", "geometry"]].merge(
                diff[["insee", column]].drop_duplicates("insee"), on="insee", how="left"
            ),
            geometry="geometry",
            crs=com.crs,
        )
        zmask, weights = mask, units["pop"]
    else:
        com = _layer(layers, "communes", ("insee", "dep", "pop", column))
        units, zmask, weights = com, mask, com["pop"]

    sel = units[zmask]
    xmin, ymin, xmax, ymax = com[mask].total_bounds
    pad = 0.04 * max(xmax - xmin, ymax - ymin)
    xmin, xmax, ymin, ymax = xmin - pad, xmax + pad, ymin - pad, ymax + pad
    landscape = (xmax - xmin) >= (ymax - ymin)
    fig = MapFigure(figsize=A4_INCHES if landscape else A4_INCHES[::-1])
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.05, 0.72, 0.84) if landscape else (0.03, 0.20, 0.94, 0.68))
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)

    colours = np.asarray(_class_colours(units[column], classes))
    if (~zmask).any():
        units[~zmask].plot(ax=ax, color=colours[~zmask].tolist(), alpha=0.3, linewidth=0)
    # edges in the fill colour: no hairline gaps between communes, no white "holes"
    sel.plot(
        ax=ax,
        color=colours[zmask].tolist(),
        edgecolor=colours[zmask].tolist() if indicator != "need" else "#606060",
        linewidth=0.15 if indicator != "need" else 0.3,
    )
    deps = departement_outlines(com) if outlines is None else outlines.to_crs(WORKING_CRS)
    deps.boundary.plot(ax=ax, color=OUTLINE_COLOUR, linewidth=0.9)
    if zoomed:
        gpd.GeoSeries([com[mask].union_all()], crs=com.crs).boundary.plot(
            ax=ax, color="black", linewidth=1.6
        )

    # --- labels: sites, ranks, départements, towns (in that priority) -----------------------
    labels: list[_Label] = []
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
        for _, r in inside.sort_values("rank").iterrows():
            labels.append(
                _Label(
                    r.geometry.x,
                    r.geometry.y,
                    f"{int(r['rank'])}",
                    {
                        "fontsize": 8,
                        "fontweight": "bold",
                        "color": SITE_COLOUR,
                        "zorder": 16,
                        "path_effects": _HALO,
                    },
                    required=True,
                )
            )
    if indicator == "need":
        ranks = sel[column].astype(float)
        show = (ranks <= 28 if not zoomed else ranks.notna()).to_numpy()
        for geom, rank in sorted(
            zip(sel.geometry[show], ranks[show], strict=True), key=lambda gr: gr[1]
        ):
            pt = geom.representative_point()
            labels.append(
                _Label(
                    pt.x,
                    pt.y,
                    f"{rank:.0f}",
                    {
                        "fontsize": 7,
                        "fontweight": "bold",
                        "color": "#202020",
                        "zorder": 13,
                        "bbox": {
                            "boxstyle": "circle,pad=0.15",
                            "fc": "white",
                            "ec": "#606060",
                            "lw": 0.4,
                            "alpha": 0.85,
                        },
                    },
                    required=True,
                )
            )
    if not zoomed:
        for code, row in deps.iterrows():
            pt = row.geometry.representative_point()
            name = str(row.get("dep_nom", "") or code)
            labels.append(
                _Label(
                    pt.x,
                    pt.y,
                    f"{name} ({code})".upper() if name != str(code) else str(code),
                    {
                        "fontsize": 7.5,
                        "color": "#303030",
                        "zorder": 12,
                        "fontstyle": "italic",
                        "path_effects": _HALO,
                    },
                )
            )
    towns = main_towns(com, mask, zoomed=zoomed)
    ax.scatter(
        towns["x"], towns["y"], s=9, c="black", edgecolors="white", linewidths=0.6, zorder=14
    )
    for _, r in towns.iterrows():
        labels.append(
            _Label(
                r["x"],
                r["y"],
                str(r["nom"]),
                {"fontsize": 7, "color": "black", "zorder": 14, "path_effects": _HALO},
            )
        )
    obstacles = [_scale_bar(ax, xmin, xmax, ymin, ymax, c.t("map.scale_km")), _north_arrow(ax)]
    markers = [(lab.x, lab.y, 6.5) for lab in labels if lab.kw.get("color") == SITE_COLOUR]
    _place_labels(fig, ax, labels, obstacles, markers)

    # --- legend with the share of people (or number of zones) in each class -------------
    vals = sel[column].to_numpy(dtype=float)
    idx = np.array([classify(float(v), classes) for v in vals])
    handles: list[Any] = []
    for k, cls in enumerate(classes):
        lab = _class_label(c, indicator, k, cls)
        if weights is not None:
            w = weights[zmask].to_numpy(dtype=float)
            share = w[idx == k].sum() / max(w.sum(), 1.0)
            label = f"{lab}  ({c.t('map.share_pop', share=c.pct(share))})"
        else:
            label = f"{lab}  ({c.t('map.n_zones', n=int((idx == k).sum()))})"
        handles.append(Patch(facecolor=cls.colour, edgecolor="#606060", lw=0.3, label=label))
    if (idx < 0).any():
        nd = f"map.no_data.{indicator}"
        handles.append(
            Patch(facecolor=NO_DATA_COLOUR, label=c.t(nd if c.has(nd) else "map.no_data"))
        )
    if n_sites:
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                ls="",
                markersize=13,
                color=SITE_COLOUR,
                markeredgecolor="white",
                label=c.t("map.site"),
            )
        )
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markersize=4,
            color="black",
            markeredgecolor="white",
            label=c.t("map.town"),
        )
    )
    handles.append(
        Patch(facecolor="none", edgecolor=OUTLINE_COLOUR, lw=1.0, label=c.t("map.dep_boundary"))
    )
    leg_ax = fig.add_axes((0.74, 0.25, 0.25, 0.6) if landscape else (0.05, 0.07, 0.9, 0.12))
    leg_ax.set_axis_off()
    leg_ax.legend(
        handles=handles,
        title=textwrap.fill(legend_title, 34 if landscape else 80),
        loc="upper left",
        fontsize=8.5,
        title_fontsize=9,
        frameon=False,
        ncol=1 if landscape else 2,
        alignment="left",
    )

    if title is None:
        if not zoomed and metadata.get("area"):  # the run's own area name when written
            place = str(metadata["area"])
        title = f"{c.t(f'map.title.{indicator}')} — {place}"
    tt = _fit_title(fig, title, 0.96, 16)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    bottom = fig.transFigure.inverted().transform((0, tt.get_window_extent(renderer).y0))[1]
    subtitle = (
        _diff_subtitle(c, layers, units[zmask])
        if indicator == "apl_diff"
        else _subtitle(c, com[mask], indicator, metadata)
    )
    if subtitle:
        fig.text(
            0.02,
            bottom - 0.008,
            textwrap.fill(subtitle, 150 if landscape else 105),
            fontsize=9.5,
            va="top",
            color="#333333",
        )
    version = metadata.get("version") or metadata.get("accessmap_version") or ""
    credit = c.t("map.credit", attribution=attribution_text(layers, metadata), version=version)
    width = 200 if landscape else 140  # characters per line at 6.5 pt on A4
    fig.text(
        0.02,
        0.012,
        textwrap.fill(credit.rstrip(), width),
        fontsize=6.5,
        color="#444444",
        va="bottom",
    )
    return fig


def _diff_subtitle(c: Catalogue, layers: Mapping[str, pd.DataFrame], sel: pd.DataFrame) -> str:
    """Spearman and levels as written in ``apl_agreement_summary`` (nothing recomputed), with
    the number of communes of the map that the workbook has."""
    n = int(sel["diff"].notna().sum())
    summ = layers.get("apl_agreement_summary")
    if not isinstance(summ, pd.DataFrame) or not {"statistic", "value"} <= set(summ.columns):
        return c.t("map.subtitle.apl_diff_n", n=c.num(n), total=c.num(len(sel)))
    v = dict(zip(summ["statistic"].astype(str), summ["value"].astype(float), strict=False))
    return c.t(
        "map.subtitle.apl_diff",
        n=c.num(n),
        total=c.num(len(sel)),
        spearman=c.num(v.get("spearman"), 2),
        ours=c.num(v.get("level_ours"), 2),
        official=c.num(v.get("level_official"), 2),
    )


def _subtitle(c: Catalogue, com: pd.DataFrame, indicator: str, metadata: Mapping[str, Any]) -> str:
    pop = com["pop"].astype(float)
    names = metadata.get("engines") or [str(metadata.get("engine", ""))]
    engine = ", ".join(c.t(f"engine.{e}") if c.has(f"engine.{e}") else str(e)
                       for e in names if e)  # fmt: skip
    eng = c.t("map.subtitle.engine", engine=engine) if engine else ""
    if "time_gp_min" in com.columns and indicator in ("time", "need"):
        beyond = pop[com["time_gp_min"].astype(float) > 15.0].sum()
        return c.t(
            "map.subtitle.time",
            share=c.pct(beyond / max(pop.sum(), 1)),
            pop=c.num(pop.sum()),
            thr="15",
            beyond=c.num(beyond),
            engine=eng,
        )
    if "apl" in com.columns:
        low = pop[com["apl"].astype(float) < 2.5].sum()
        return c.t(
            "map.subtitle.apl",
            share=c.pct(low / max(pop.sum(), 1)),
            pop=c.num(pop.sum()),
            engine=eng,
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
    lang: str = DEFAULT_LANG,
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
    fig = plot_map(layers, indicator=indicator, dep=dep, epci=epci, metadata=metadata, lang=lang)
    with atomic_file(path, overwrite=overwrite, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, facecolor="white")
    return path


# --------------------------------------------------------------------------------------------
# HTML (Leaflet, inlined)
# --------------------------------------------------------------------------------------------

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("accessmap.outputs", "templates"),
    autoescape=False,  # the template inlines scripts and JSON; values are escaped below
    undefined=jinja2.StrictUndefined,
)


def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS (images as ``data:`` URIs), from the installed package.

    Raises
    ------
    DataNotFoundError
        ``django-js-lib-leaflet`` is not installed.
    """
    try:
        base = resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
        js = (base / "leaflet.js").read_text(encoding="utf-8")
        css = (base / "leaflet.css").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise DataNotFoundError(
            f"Leaflet not found ({exc}): pip install django-js-lib-leaflet (a dependency of "
            "accessmap that ships Leaflet's JS and CSS for the offline map)"
        ) from exc

    def inline(m: re.Match[str]) -> str:
        data = (base / "images" / m.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(data).decode("ascii") + ")"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", inline, css)
    js = js.replace("//# sourceMappingURL=leaflet.js.map", "")
    return js, css


@dataclass
class WebMap:
    """An interactive map as one self-contained HTML document.

    Attributes
    ----------
    html : str
        The document (Leaflet, data, legends and search inlined).
    path : Path or None
        Where it was written, when it was.
    """

    html: str
    path: Path | None = None

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the document to ``path`` (``.html``), atomically."""
        path = Path(path)
        _check_target(path, overwrite, suffix=".html")
        with atomic_file(path, overwrite=overwrite, suffix=".html") as tmp:
            tmp.write_text(self.html, encoding="utf-8")
        self.path = path
        return path

    def _repr_html_(self) -> str:
        """Shown inline by Jupyter (an iframe: the map's scripts stay in their document)."""
        doc = escape(self.html, quote=True)
        return (
            f'<iframe srcdoc="{doc}" style="width:100%;height:560px;border:1px solid #ccc">'
            "</iframe>"
        )


def _geojson(df: gpd.GeoDataFrame, props: dict[str, Any], simplify_m: float) -> dict[str, Any]:
    g = df.geometry
    if simplify_m > 0:
        try:  # topology kept (shapely >= 2.1: shared edges simplified once, no slivers)
            g = gpd.GeoSeries(shapely.coverage_simplify(g.to_numpy(), simplify_m), crs=df.crs)
        except (AttributeError, shapely.errors.GEOSException):
            g = g.simplify(simplify_m)
    g = gpd.GeoSeries(g, crs=df.crs).to_crs("EPSG:4326")
    g = shapely.transform(g.to_numpy(), lambda xy: np.round(xy, 4))  # ~10 m: display only
    feats = []
    keys = list(props)
    cols = [list(v) for v in props.values()]
    for i, geom in enumerate(g):
        if geom is None or geom.is_empty:
            continue
        feats.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {k: col[i] for k, col in zip(keys, cols, strict=True)},
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def _clean(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _legend(title: str, items: list[tuple[str, str]]) -> dict[str, Any]:
    return {"title": title, "items": [{"colour": col, "label": lab} for col, lab in items]}


def interactive_map(
    layers: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str] | None = None,
    *,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    simplify_m: float = 250.0,
    lang: str = DEFAULT_LANG,
) -> WebMap:
    """An offline interactive map (Leaflet inlined) with popups, legends, scale and search.

    Layers: communes coloured by time to the nearest GP (popup: population, GPs, time, APL,
    EPCI), communes by APL class, communes by our APL minus the official DREES APL (when the
    run has the ``apl_difference`` layer of ``score --official-apl``), EPCI by need rank
    (popup: the ranking figures and whether the EPCI is on the official list: "no list
    given" when the run had none), proposed sites
    (popup: rank, people newly covered), département outlines. Geometries are simplified by
    ``simplify_m`` metres (coverage simplification, shared edges kept: no slivers between
    communes; display only).

    Parameters
    ----------
    path : path-like, optional
        Write the map there (``.html``); the returned :class:`WebMap` keeps it in ``path``.

    Returns
    -------
    WebMap
        Shown inline in a notebook; ``.save(path)`` writes it.
    """
    c = catalogue(lang)
    metadata = metadata or {}
    com = _layer(layers, "communes", ("insee", "nom", "dep", "pop", "time_gp_min"))
    time_cls, apl_cls, need_cls = (INDICATORS[k][1] for k in ("time", "apl", "need"))

    def col(df: pd.DataFrame, name: str) -> list[Any]:
        return [_clean(v) for v in df[name]] if name in df.columns else [None] * len(df)

    props: dict[str, Any] = {
        "insee": col(com, "insee"),
        "nom": col(com, "nom"),
        "epci": col(com, "epci_nom"),
        "pop": col(com, "pop"),
        "gps": col(com, "gp_count"),
        "t": col(com, "time_gp_min"),
        "apl": col(com, "apl"),
        "aplc": col(com, "apl_class"),
        "te": col(com, "time_emergency_min"),
        "ct": _class_colours(com["time_gp_min"], time_cls),
    }
    if "apl" in com.columns:
        props["ca"] = _class_colours(com["apl"], apl_cls)
    diff = layers.get("apl_difference")  # score --official-apl: ours minus the DREES APL
    has_diff = isinstance(diff, pd.DataFrame) and {"insee", "diff"} <= set(diff.columns)
    if has_diff:
        d = pd.DataFrame(diff).drop_duplicates("insee")
        d.index = pd.Index(d["insee"].astype(str))
        codes = com["insee"].astype(str)
        dvals = d["diff"].reindex(codes).astype(float)
        props["apo"] = [
            _clean(v)
            for v in (
                d["apl_official"].reindex(codes)
                if "apl_official" in d.columns
                else [None] * len(com)
            )
        ]
        props["cd"] = _class_colours(dvals.reset_index(drop=True), INDICATORS["apl_diff"][1])
    data: dict[str, Any] = {"communes": _geojson(com, props, simplify_m)}
    legends = {"time": _legend(c.t("map.legend.time"), [(k.colour, k.label) for k in time_cls])}
    if "apl" in com.columns:
        legends["apl"] = _legend(
            c.t("map.legend.apl"),
            [(k.colour, _class_label(c, "apl", i, k)) for i, k in enumerate(apl_cls)],
        )
    if has_diff:
        dcls = INDICATORS["apl_diff"][1]
        legends["apl_diff"] = _legend(
            c.t("map.legend.apl_diff"),
            [(k.colour, _class_label(c, "apl_diff", i, k)) for i, k in enumerate(dcls)]
            + [(NO_DATA_COLOUR, c.t("map.no_data.apl_diff"))],
        )
    ep = layers.get("epci_scores")
    has_list = False
    if isinstance(ep, gpd.GeoDataFrame) and "need_rank" in ep.columns:
        e = _zone_geometries(ep.to_crs(WORKING_CRS), com)
        params = metadata.get("parameters") or {}
        has_list = bool(params.get("priority")) or (
            "official_priority" in e.columns and bool(e["official_priority"].astype(bool).any())
        )
        official = [
            None if not has_list else bool(v)
            for v in (
                e["official_priority"] if "official_priority" in e.columns else [False] * len(e)
            )
        ]
        eprops = {
            "id": col(e, "epci_siren"),
            "nom": col(e, "epci_nom"),
            "rank": col(e, "need_rank"),
            "pop": col(e, "pop"),
            "sb": col(e, "share_beyond_15"),
            "mt": col(e, "mean_time_min"),
            "apl": col(e, "apl"),
            "off": official,
            "cn": _class_colours(e["need_rank"], need_cls),
        }
        data["epci"] = _geojson(e, eprops, simplify_m)
        legends["need"] = _legend(
            c.t("map.legend.need"),
            [(k.colour, _class_label(c, "need", i, k)) for i, k in enumerate(need_cls)],
        )
    deps = departement_outlines(com).reset_index()
    data["deps"] = _geojson(
        deps, {"dep": col(deps, "dep"), "nom": col(deps, "dep_nom")}, simplify_m
    )
    sites = layers.get("sites")
    if isinstance(sites, gpd.GeoDataFrame) and len(sites):
        s = sites.to_crs("EPSG:4326")
        data["sites"] = [
            {
                "rank": int(r["rank"]),
                "nom": str(r.get("nom", "")),
                "insee": str(r.get("insee", "")),
                "gain": _clean(r["gain_pop"]),
                "cum": _clean(r.get("cumulative_pop")),
                "lat": round(r.geometry.y, 5),
                "lon": round(r.geometry.x, 5),
            }
            for _, r in s.iterrows()
        ]
        legends["sites"] = _legend(c.t("web.layer.sites"), [(SITE_COLOUR, "★ " + c.t("map.site"))])
    js, css = leaflet_assets()
    words = {k.removeprefix("web."): v for k, v in c.messages.items() if k.startswith("web.")}
    words["yes"], words["no"], words["no_list"] = (
        c.t("value.yes"),
        c.t("value.no"),
        c.t("value.none_list"),
    )
    html = _ENV.get_template("webmap.html.j2").render(
        lang=lang,
        title=escape(c.t("web.title")),
        leaflet_js=js,
        leaflet_css=css,
        data=json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/"),
        legends=json.dumps(legends, ensure_ascii=False).replace("</", "<\\/"),
        words=json.dumps(words, ensure_ascii=False).replace("</", "<\\/"),
        decimal="," if lang == "fr" else ".",
        group="\u202f" if lang == "fr" else ",",
        attribution=escape(attribution_text(layers, metadata)),
    )
    wm = WebMap(html)
    if path is not None:
        wm.save(path, overwrite=overwrite)
    return wm
