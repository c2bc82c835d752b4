"""Map classes, colours and QGIS styles (QML) for the accessmap layers.

One place defines how each indicator is classed and coloured; the static maps
(:mod:`accessmap.outputs.maps`), the HTML report and the QGIS styles stored in the GeoPackage
(:mod:`accessmap.outputs.geopackage`) all use it, so a planner sees the same legend everywhere.

Classes and their sources:

* time to the nearest GP: 0-5, 5-10, 10-15 | 15-20, 20-30, > 30 minutes. The break at 15
  minutes is the Région Occitanie "Ma Santé, Ma Région" goal (a GP within a quarter of an
  hour, ``docs/methods.md``); greens below it, oranges and reds above it so that the break
  is visible. 5-minute steps below 15 and 20/30 above follow the reporting bands of
  :class:`accessmap.config.Thresholds`.
* APL: below 2.5, 2.5-4, 4 and above (consultations per year per standardised inhabitant).
  2.5 is the DREES under-served threshold and 2.5-4 the ZIP/ZAC pool (``docs/methods.md``).
* EPCI need rank: 1-10, 11-28, 29-50, 51-100, > 100. 28 is the number of ARS Occitanie
  priority EPCI of the 2025 "Pacte de lutte contre les déserts médicaux" (``methods.md``);
  the other breaks are a presentation choice (assumption).
* isochrone bands: 5, 10, 15, 20, 30 minutes (``Thresholds.isochrone_min``).
* our APL minus the official DREES APL (``apl_difference`` layer of ``score --official-apl``):
  7 classes centred on 0 with breaks at 0.25, 1 and 2 (a presentation choice), ColorBrewer
  PuOr (diverging, colour-blind safe): oranges where ours is lower, purples where higher.

Colours are ColorBrewer schemes (Brewer, Harrower 2003; colorbrewer2.org) that ColorBrewer
marks "colorblind safe": RdYlBu (6 classes, reversed: blues below the 15-minute goal, yellow
to red above it) for times, isochrones and APL, YlOrRd for the need rank. Red-green schemes
(RdYlGn) are avoided: the common deuteranopia and protanopia confuse their two ends.
Proposed sites are purple stars, existing Ma Santé centres and other facilities have their
own marker shapes, so no meaning rests on hue alone.

The QML follows the format QGIS 3.22 writes (``<renderer-v2>`` with ``<prop k v>`` symbol
layer properties, read by every QGIS 3.x); it is checked by opening the GeoPackage with
PyQGIS in ``tests/test_qgis.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from accessmap.outputs.schema import describe
from accessmap.supply import SUPPLY_KINDS

#: Upper bound used for the open top class ("> 30 min", "> 100") in QGIS ranges.
_OPEN_TOP = 1.0e9


@dataclass(frozen=True)
class ColourClass:
    """One legend class: ``lower < value <= upper`` (the first class includes ``lower``).

    Attributes
    ----------
    lower, upper : float
        Class bounds in the indicator's unit (``math.inf`` for an open top class).
    colour : str
        Fill colour as ``#rrggbb``.
    label : str
        Legend label with units.
    """

    lower: float
    upper: float
    colour: str
    label: str


#: Time to the nearest GP (minutes); the 15-minute Région goal is the break between greens and
#: oranges.
TIME_CLASSES: tuple[ColourClass, ...] = (
    ColourClass(0.0, 5.0, "#4575b4", "0–5 min"),
    ColourClass(5.0, 10.0, "#91bfdb", "5–10 min"),
    ColourClass(10.0, 15.0, "#e0f3f8", "10–15 min"),
    ColourClass(15.0, 20.0, "#fee090", "15–20 min"),
    ColourClass(20.0, 30.0, "#fc8d59", "20–30 min"),
    ColourClass(30.0, math.inf, "#d73027", "> 30 min"),
)

#: APL classes (consultations per year per standardised inhabitant); DREES thresholds.
#: The first upper bound is just below 2.5 so that 2.5 itself falls in "2.5–4" as in DREES.
APL_CLASSES: tuple[ColourClass, ...] = (
    ColourClass(0.0, 2.5 - 1e-9, "#d73027", "below 2.5 (under-served)"),
    ColourClass(2.5 - 1e-9, 4.0 - 1e-9, "#fee090", "2.5–4 (fragile)"),
    ColourClass(4.0 - 1e-9, math.inf, "#4575b4", "4 and above"),
)

#: EPCI need rank (1 = most in need). 28 = number of ARS Occitanie priority EPCI (2025).
NEED_RANK_CLASSES: tuple[ColourClass, ...] = (
    ColourClass(1.0, 10.0, "#bd0026", "rank 1–10"),
    ColourClass(10.0, 28.0, "#f03b20", "rank 11–28"),
    ColourClass(28.0, 50.0, "#fd8d3c", "rank 29–50"),
    ColourClass(50.0, 100.0, "#fecc5c", "rank 51–100"),
    ColourClass(100.0, math.inf, "#ffffb2", "rank > 100"),
)

#: Isochrone bands (minutes of driving from a GP).
ISOCHRONE_CLASSES: tuple[ColourClass, ...] = (
    ColourClass(0.0, 5.0, "#4575b4", "≤ 5 min"),
    ColourClass(5.0, 10.0, "#91bfdb", "5–10 min"),
    ColourClass(10.0, 15.0, "#e0f3f8", "10–15 min"),
    ColourClass(15.0, 20.0, "#fee090", "15–20 min"),
    ColourClass(20.0, 30.0, "#fc8d59", "20–30 min"),
    ColourClass(30.0, math.inf, "#d73027", "> 30 min"),
)

#: Our APL minus the official DREES APL (consultations per year per standardised inhabitant),
#: 7 classes centred on 0. ColorBrewer PuOr (7 classes, marked colour-blind safe): oranges
#: where ours is below the official APL (we under-estimate access), purples where it is
#: above. The breaks (0.25, 1, 2) are a presentation choice (assumption): 0.25 is 10 % of
#: the 2.5 under-served threshold, 1 and 2 a class width of the DREES scale.
APL_DIFF_CLASSES: tuple[ColourClass, ...] = (
    ColourClass(-math.inf, -2.0, "#b35806", "below −2 (ours much lower)"),
    ColourClass(-2.0, -1.0, "#f1a340", "−2 to −1"),
    ColourClass(-1.0, -0.25, "#fee0b6", "−1 to −0.25"),
    ColourClass(-0.25, 0.25, "#f7f7f7", "−0.25 to +0.25 (agree)"),
    ColourClass(0.25, 1.0, "#d8daeb", "+0.25 to +1"),
    ColourClass(1.0, 2.0, "#998ec3", "+1 to +2"),
    ColourClass(2.0, math.inf, "#542788", "above +2 (ours much higher)"),
)

#: Colour of proposed new health-centre sites (markers) and of département outlines.
SITE_COLOUR = "#7b00b4"
OUTLINE_COLOUR = "#303030"

#: Indicator name -> (column, classes, legend title). Used by maps and report.
INDICATORS: dict[str, tuple[str, tuple[ColourClass, ...], str]] = {
    "time": ("time_gp_min", TIME_CLASSES, "Car time to the nearest GP (minutes)"),
    "apl": ("apl", APL_CLASSES, "APL (GP consultations / year / standardised inhabitant)"),
    "need": ("need_rank", NEED_RANK_CLASSES, "EPCI need rank (1 = most in need)"),
    "apl_diff": ("diff", APL_DIFF_CLASSES, "Our APL minus the official DREES APL"),
}

GeometryKind = Literal["polygon", "point", "line"]

#: Readable field names shown by QGIS (attribute table, identify panel) instead of the
#: column names; units in brackets.
FIELD_ALIASES: dict[str, str] = {
    "insee": "INSEE code",
    "nom": "Commune",
    "dep": "Département code",
    "dep_nom": "Département",
    "epci_siren": "EPCI SIREN",
    "epci_nom": "EPCI",
    "pop": "Population (2023)",
    "pop_65p": "Aged 65+",
    "share_65p": "Share aged 65+",
    "gp_count": "GPs (BPE 2019)",
    "nearest_gp_id": "Nearest GP site",
    "time_gp_min": "Car time to nearest GP (min)",
    "within_10": "GP within 10 min",
    "within_15": "GP within 15 min",
    "within_20": "GP within 20 min",
    "within_30": "GP within 30 min",
    "e2sfca": "E2SFCA (GPs per inhabitant)",
    "apl": "APL (consultations / year / std. inhabitant)",
    "apl_class": "APL class",
    "time_emergency_min": "Car time to emergency care (min)",
    "time_hospital_min": "Car time to hospital (min)",
    "engine": "Travel-time engine",
    "pop_beyond_15": "People beyond 15 min",
    "share_beyond_15": "Share beyond 15 min",
    "mean_time_min": "Mean time to GP (min)",
    "worst_time_min": "Worst time to GP (min)",
    "share_apl_below_2_5": "Share with APL below 2.5",
    "gp_per_10k": "GPs per 10,000",
    "need_score": "Need score",
    "need_rank": "Need rank (1 = most in need)",
    "official_priority": "Official priority EPCI",
    "rank": "Rank",
    "gain_pop": "People newly within 15 min",
    "cumulative_pop": "Cumulative people newly covered",
    "cumulative_share": "Cumulative share",
    "threshold_min": "Drive time (min)",
    "facility_id": "From",
    "kind": "Kind",
    "cell_id": "Cell",
    "apl_ours": "APL, accessmap",
    "apl_official": "APL, official (DREES)",
    "diff": "APL difference (accessmap − DREES)",
    "rel_diff": "Relative APL difference",
    "class_ours": "APL class, accessmap",
    "class_official": "APL class, DREES",
    "status": "Match status",
}


@dataclass(frozen=True)
class LayerStyle:
    """One QGIS style for one layer, as stored in the GeoPackage ``layer_styles`` table.

    Attributes
    ----------
    layer : str
        Table (layer) name in the GeoPackage.
    name : str
        ``styleName`` shown in QGIS' style manager.
    qml : str
        The QML document.
    description : str
        ``description`` column.
    default : bool
        ``useAsDefault``: QGIS applies this style when the layer is opened.
    renderer : str
        Renderer type (``graduatedSymbol``, ``singleSymbol``, ...), for checks.
    """

    layer: str
    name: str
    qml: str
    description: str
    default: bool
    renderer: str


def classify(value: float, classes: Sequence[ColourClass]) -> int:
    """Index of the class of ``value`` (-1 when NaN or below the first class).

    Uses the QGIS graduated rule: the first class is ``lower <= v <= upper``, the next ones
    ``lower < v <= upper``.

    Examples
    --------
    >>> classify(15.0, TIME_CLASSES), classify(15.1, TIME_CLASSES)
    (2, 3)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return -1
    for i, c in enumerate(classes):
        if (value >= c.lower if i == 0 else value > c.lower) and value <= c.upper:
            return i
    return -1


# --------------------------------------------------------------------------------------------
# QML building blocks
# --------------------------------------------------------------------------------------------


def _rgba(colour: str, alpha: float = 1.0) -> str:
    """``#rrggbb`` -> ``r,g,b,a`` as QGIS writes colours."""
    c = colour.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _props(props: dict[str, str]) -> str:
    return "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())


def _symbol(
    kind: GeometryKind,
    name: str,
    colour: str,
    *,
    alpha: float = 1.0,
    outline: str = "#808080",
    outline_width_mm: float = 0.1,
    marker: str = "circle",
    size: float = 2.0,
    size_unit: str = "MM",
    no_fill: bool = False,
) -> str:
    """One ``<symbol>`` element (fill, marker or line) with one simple symbol layer."""
    if kind == "polygon":
        cls, stype = "SimpleFill", "fill"
        props = {
            "color": _rgba(colour, alpha),
            "style": "no" if no_fill else "solid",
            "outline_color": _rgba(outline),
            "outline_style": "solid",
            "outline_width": f"{outline_width_mm:g}",
            "outline_width_unit": "MM",
            "joinstyle": "bevel",
        }
    elif kind == "point":
        cls, stype = "SimpleMarker", "marker"
        props = {
            "name": marker,
            "color": _rgba(colour, alpha),
            "outline_color": _rgba(outline),
            "outline_style": "solid" if outline_width_mm > 0 else "no",
            "outline_width": f"{outline_width_mm:g}",
            "outline_width_unit": "MM",
            "size": f"{size:g}",
            "size_unit": size_unit,
            "scale_method": "diameter",
            "angle": "0",
        }
    else:
        cls, stype = "SimpleLine", "line"
        props = {
            "line_color": _rgba(colour, alpha),
            "line_style": "solid",
            "line_width": f"{outline_width_mm:g}",
            "line_width_unit": "MM",
        }
    return (
        f'<symbol type="{stype}" name={quoteattr(name)} alpha="1" clip_to_extent="1" '
        f'force_rhr="0"><layer class="{cls}" pass="0" locked="0" enabled="1">'
        f"{_props(props)}</layer></symbol>"
    )


def _graduated(
    kind: GeometryKind,
    attr: str,
    classes: Sequence[ColourClass],
    *,
    alpha: float = 1.0,
    order_by_desc: str | None = None,
    **symbol_kw: object,
) -> str:
    ranges = []
    symbols = []
    for i, c in enumerate(classes):
        upper = _OPEN_TOP if math.isinf(c.upper) else c.upper
        lower = -_OPEN_TOP if math.isinf(c.lower) else c.lower
        ranges.append(
            f'<range render="true" symbol="{i}" lower="{lower:.15f}" upper="{upper:.15f}" '
            f"label={quoteattr(c.label)}/>"
        )
        symbols.append(_symbol(kind, str(i), c.colour, alpha=alpha, **symbol_kw))  # type: ignore[arg-type]
    order = ""
    orderby = "0"
    if order_by_desc:
        orderby = "1"
        order = (
            '<orderby><orderByClause asc="0" nullsFirst="0">'
            f"{escape(_quote_field(order_by_desc))}</orderByClause></orderby>"
        )
    return (
        f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(attr)} '
        f'graduatedMethod="GraduatedColor" symbollevels="0" forceraster="0" '
        f'enableorderby="{orderby}" referencescale="-1"><ranges>{"".join(ranges)}</ranges>'
        f"<symbols>{''.join(symbols)}</symbols>"
        f'<classificationMethod id="Custom"><symmetricMode enabled="0" astride="0" '
        f'symmetrypoint="0"/><labelFormat format="%1 - %2" trimtrailingzeroes="1" '
        f'labelprecision="4"/><parameters/><extraInformation/></classificationMethod>'
        f"{order}<rotation/><sizescale/></renderer-v2>"
    )


def _single(kind: GeometryKind, colour: str, **symbol_kw: object) -> str:
    return (
        '<renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" enableorderby="0" '
        f'referencescale="-1"><symbols>{_symbol(kind, "0", colour, **symbol_kw)}</symbols>'  # type: ignore[arg-type]
        "<rotation/><sizescale/></renderer-v2>"
    )


def _quote_field(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _labeling(expression: str, *, size_pt: float = 9.0, bold: bool = True, point: bool) -> str:
    """Simple labelling with a white buffer; ``placement`` 6 = cartographic around points,
    1 = over the centroid of polygons (QgsPalLayerSettings::Placement)."""
    weight = "75" if bold else "50"
    placement = "6" if point else "1"
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName={quoteattr(expression)} isExpression="1" '
        f'fontSize="{size_pt:g}" fontSizeUnit="Point" fontWeight="{weight}" '
        'fontFamily="DejaVu Sans" textColor="20,20,20,255" textOpacity="1" '
        'multilineHeight="1" namedStyle="" fontItalic="0" blendMode="0">'
        '<text-buffer bufferDraw="1" bufferSize="1" bufferSizeUnits="MM" '
        'bufferColor="255,255,255,255" bufferOpacity="0.85" bufferNoFill="1" '
        'bufferJoinStyle="128" bufferBlendMode="0"/></text-style>'
        '<text-format multilineAlign="3" wrapChar="" formatNumbers="0" plussign="0"/>'
        f'<placement placement="{placement}" dist="1.5" distUnits="MM" offsetType="0" '
        'quadOffset="4" priority="8" predefinedPositionOrder="TR,TL,BR,BL,R,L,TSR,BSR" '
        'placementFlags="10" centroidInside="1" centroidWhole="0"/>'
        '<rendering drawLabels="1" displayAll="1" obstacle="1" obstacleFactor="1" '
        'obstacleType="1" limitNumLabels="0" maxNumLabels="2000" scaleVisibility="0" '
        'upsidedownLabels="0" labelPerPart="0" mergeLines="0" zIndex="0"/>'
        "</settings></labeling>"
    )


def field_alias(column: str, layer: str | None = None) -> str | None:
    """The readable name of a column: :data:`FIELD_ALIASES`, the supply kind's label for a
    ``time_<kind>_min`` column of a registered kind, else the output catalogue's description
    (:func:`accessmap.outputs.schema.describe`) when ``layer`` is given."""
    if column in FIELD_ALIASES:
        return FIELD_ALIASES[column]
    for sk in SUPPLY_KINDS.values():
        if sk.time_column == column:
            return f"Car time to nearest: {sk.label} (min)"
    if layer is not None and column not in ("geometry", "x", "y", "crs"):
        text = describe(layer, column)
        if text and not text.startswith("see "):
            return text[:1].upper() + text[1:]
    return None


def _aliases(columns: Sequence[str], layer: str | None = None) -> str:
    items = "".join(
        f"<alias field={quoteattr(c)} index={quoteattr(str(i + 1))} name={quoteattr(alias)}/>"
        for i, c in enumerate(columns)
        if (alias := field_alias(c, layer)) is not None
    )
    return f"<aliases>{items}</aliases>" if items else ""


def _qml(renderer: str, *, labeling: str = "", opacity: float = 1.0) -> str:
    labels_enabled = "1" if labeling else "0"
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="3.22.0" styleCategories="AllStyleCategories" '
        f'labelsEnabled="{labels_enabled}" hasScaleBasedVisibilityFlag="0" '
        f'minScale="100000000" maxScale="0">'
        f"{renderer}{labeling}<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>"
        f"<layerOpacity>{opacity:g}</layerOpacity></qgis>\n"
    )


# --------------------------------------------------------------------------------------------
# Styles per layer
# --------------------------------------------------------------------------------------------


def time_style_qml(kind: GeometryKind = "polygon", *, column: str = "time_gp_min") -> str:
    """QML: graduated colours for the time to the nearest GP, 15-minute break visible.

    Point layers (population cells, 1 km) are drawn as 1,000 m squares in map units so that
    they read as a grid.
    """
    if kind == "point":
        rend = _graduated(
            "point", column, TIME_CLASSES, marker="square", size=1000.0, size_unit="MapUnit",
            outline_width_mm=0.0,
        )  # fmt: skip
    else:
        rend = _graduated(kind, column, TIME_CLASSES, outline="#9a9a9a", outline_width_mm=0.05)
    return _qml(rend)


def apl_style_qml(*, column: str = "apl") -> str:
    """QML: APL in three DREES classes (below 2.5, 2.5-4, 4 and above)."""
    return _qml(
        _graduated("polygon", column, APL_CLASSES, outline="#9a9a9a", outline_width_mm=0.05)
    )


def apl_diff_style_qml(*, column: str = "diff") -> str:
    """QML: our APL minus the official DREES APL, diverging PuOr classes centred on 0
    (:data:`APL_DIFF_CLASSES`); communes absent from the workbook are not in the layer."""
    return _qml(
        _graduated("polygon", column, APL_DIFF_CLASSES, outline="#9a9a9a", outline_width_mm=0.05)
    )


def need_rank_style_qml(*, column: str = "need_rank", label_top: int = 28) -> str:
    """QML: EPCI need rank, the ``label_top`` most in need labelled with their rank."""
    label = f"if({_quote_field(column)} <= {label_top}, {_quote_field(column)}, NULL)"
    return _qml(
        _graduated("polygon", column, NEED_RANK_CLASSES, outline="#505050", outline_width_mm=0.2),
        labeling=_labeling(label, size_pt=8, point=False),
    )


def sites_style_qml(columns: Sequence[str] = ()) -> str:
    """QML: proposed sites as purple stars labelled ``#rank Commune (dep)`` and, on a second
    line, the gain (people lifted above APL 2.5 when the run wrote it, else people newly
    within the target)."""
    cols = set(columns)
    name = '"label"' if "label" in cols else ('"nom"' if "nom" in cols else "''")
    gain = "lifted_pop" if "lifted_pop" in cols else "gain_pop"
    label = (f"'#' || \"rank\" || ' ' || {name} || '\n+' || "
             f"format_number(\"{gain}\", 0)")  # fmt: skip
    return _qml(
        _single("point", SITE_COLOUR, marker="star", size=6.0, outline="#ffffff",
                outline_width_mm=0.3),
        labeling=_labeling(label, size_pt=9, point=True),
    )  # fmt: skip


def isochrone_style_qml(*, column: str = "threshold_min", kinds: bool = False) -> str:
    """QML: isochrone bands, semi-transparent, drawn from the widest to the narrowest.

    With ``kinds`` (a ``kind`` column: ``existing``/``proposed``) a rule-based renderer
    styles them apart: existing bands filled by threshold class, the target band of each
    proposed site as a dashed purple outline over them.
    """
    if not kinds:
        return _qml(
            _graduated("polygon", column, ISOCHRONE_CLASSES, alpha=0.55, outline="#ffffff",
                       outline_width_mm=0.0, order_by_desc=column),
        )  # fmt: skip
    rules, symbols = [], []
    q = _quote_field(column)
    for i, c in enumerate(ISOCHRONE_CLASSES):
        cond = f"{q} > {c.lower:g}" if i else f"{q} >= {c.lower:g}"
        if not math.isinf(c.upper):
            cond += f" AND {q} <= {c.upper:g}"
        flt = quoteattr(f"\"kind\" = 'existing' AND {cond}")
        lab = quoteattr("existing " + c.label)
        rules.append(f'<rule key="e{i}" symbol="{i}" label={lab} filter={flt}/>')
        symbols.append(_symbol("polygon", str(i), c.colour, alpha=0.55, outline="#ffffff",
                               outline_width_mm=0.0))  # fmt: skip
    n = len(ISOCHRONE_CLASSES)
    flt = quoteattr("\"kind\" = 'proposed'")
    rules.append(f'<rule key="p" symbol="{n}" label="proposed site: target band" filter={flt}/>')
    symbols.append(_symbol("polygon", str(n), SITE_COLOUR, no_fill=True, outline=SITE_COLOUR,
                           outline_width_mm=0.6).replace(
        '<prop k="outline_style" v="solid"/>', '<prop k="outline_style" v="dash"/>'))  # fmt: skip
    rend = ('<renderer-v2 type="RuleRenderer" symbollevels="0" forceraster="0" '
            'enableorderby="1" referencescale="-1"><rules key="root">' + "".join(rules)
            + "</rules><symbols>" + "".join(symbols) + "</symbols>"
            '<orderby><orderByClause asc="0" nullsFirst="0">'
            f"{escape(q)}</orderByClause></orderby></renderer-v2>")  # fmt: skip
    return _qml(rend)


#: Point layers of facilities: (layer, marker, colour, size mm, description). Okabe & Ito
#: (2008) colour-blind-safe colours; shapes differ too, so no meaning rests on hue alone.
FACILITY_STYLES: tuple[tuple[str, str, str, float, str], ...] = (
    ("gp_sites", "circle", "#0072b2", 1.8, "GP sites (commune points with GPs, BPE)"),
    ("emergency_sites", "triangle", "#d55e00", 3.2, "Emergency services (BPE D106)"),
    ("hospital_sites", "square", "#000000", 2.4, "Hospitals (FINESS)"),
    ("health_centres", "diamond", "#009e73", 4.0, "Existing Ma Santé, Ma Région centres"),
)


def facility_style_qml(layer: str) -> str:
    """QML: one facility point layer (:data:`FACILITY_STYLES`)."""
    for name, marker, colour, size, _ in FACILITY_STYLES:
        if name == layer:
            return _qml(_single("point", colour, marker=marker, size=size, outline="#ffffff",
                                outline_width_mm=0.2))  # fmt: skip
    raise KeyError(layer)


def atlas_outline_qml(current: str = "EPCI of the page", others: str = "other EPCI") -> str:
    """QML: EPCI outlines for the atlas, the page's EPCI (``$id = @atlas_featureid``) in a
    thick black line, the others thin grey; no fill, so the communes show through."""
    rules = (
        f'<rule key="cur" symbol="0" label={quoteattr(current)} '
        'filter="$id = @atlas_featureid"/>'
        f'<rule key="oth" symbol="1" label={quoteattr(others)} filter="ELSE"/>'
    )
    symbols = _symbol(
        "polygon", "0", "#ffffff", no_fill=True, outline="#000000", outline_width_mm=0.9
    ) + _symbol("polygon", "1", "#ffffff", no_fill=True, outline="#707070", outline_width_mm=0.2)
    return _qml(
        '<renderer-v2 type="RuleRenderer" symbollevels="0" forceraster="0" enableorderby="0" '
        f'referencescale="-1"><rules key="root">{rules}</rules><symbols>{symbols}</symbols>'
        "</renderer-v2>"
    )


def outline_style_qml() -> str:
    """QML: boundaries only (département outlines)."""
    return _qml(_single("polygon", "#ffffff", no_fill=True, outline=OUTLINE_COLOUR,
                        outline_width_mm=0.5))  # fmt: skip


def styles_for_layer(
    name: str, kind: GeometryKind | None, columns: Sequence[str]
) -> list[LayerStyle]:
    """Styles for a layer of the accessmap GeoPackage, from its name and columns.

    Parameters
    ----------
    name : str
        Layer name (``communes``, ``cells``, ``epci_scores``, ``sites``, ``isochrones``,
        ``departements``); other names get no style.
    kind : {"polygon", "point", "line"} or None
        Geometry kind; ``None`` for attribute-only tables (never styled).
    columns : sequence of str
        Column names; a style is only produced when its column is present.

    Returns
    -------
    list of LayerStyle
        At most one with ``default=True``.
    """
    if kind is None:
        return []
    cols = set(columns)
    out: list[LayerStyle] = []

    aliases = _aliases(list(columns), name)

    def add(sname: str, qml: str, desc: str, renderer: str) -> None:
        qml = qml.replace("</qgis>\n", f"{aliases}</qgis>\n") if aliases else qml
        out.append(LayerStyle(name, sname, qml, desc, not out, renderer))

    if name in ("communes", "cells") and "time_gp_min" in cols:
        add("time to nearest GP", time_style_qml(kind), "Car time to the nearest GP, minutes; "
            "15-minute Région goal = green/orange break", "graduatedSymbol")  # fmt: skip
    if name == "communes":
        # one time style per other supply kind of the registry (accessmap.supply)
        for kind_name, sk in SUPPLY_KINDS.items():
            if kind_name != "gp" and sk.time_column in cols:
                add(f"time to {kind_name}", time_style_qml(kind, column=sk.time_column),
                    f"Car time to the nearest facility: {sk.label}, minutes",
                    "graduatedSymbol")  # fmt: skip
    if name == "communes" and "apl" in cols:
        add("APL classes", apl_style_qml(), "APL: below 2.5 / 2.5-4 / 4 and above (DREES)",
            "graduatedSymbol")  # fmt: skip
    if name == "apl_difference" and "diff" in cols:
        add("APL difference", apl_diff_style_qml(), "Our APL minus the official DREES APL "
            "(diverging; oranges = ours lower)", "graduatedSymbol")  # fmt: skip
    if name == "epci_scores" and "need_rank" in cols:
        add("need rank", need_rank_style_qml(), "EPCI need rank (1 = most in need)",
            "graduatedSymbol")  # fmt: skip
    if name == "sites" and {"rank", "gain_pop"} <= cols:
        add("proposed sites", sites_style_qml(list(columns)), "Proposed new health centres: "
            "rank, commune (département) and gain", "singleSymbol")  # fmt: skip
    if name == "isochrones" and "threshold_min" in cols:
        if "kind" in cols:
            add("isochrone bands", isochrone_style_qml(kinds=True), "Drive-time bands from "
                "GPs (minutes); proposed sites' target band dashed", "RuleRenderer")  # fmt: skip
        else:
            add("isochrone bands", isochrone_style_qml(), "Drive-time bands from GPs "
                "(minutes)", "graduatedSymbol")  # fmt: skip
    for fname, _, _, _, fdesc in FACILITY_STYLES:
        if name == fname and kind == "point":
            add("facilities", facility_style_qml(fname), fdesc, "singleSymbol")
    if name == "departements" and kind == "polygon":
        add("outlines", outline_style_qml(), "Département boundaries", "singleSymbol")
    return out
