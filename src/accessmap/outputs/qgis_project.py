"""A QGIS project stored inside the GeoPackage: layers in order, styled, and an EPCI atlas.

QGIS (3.8 and later) reads projects from a GeoPackage's ``qgis_projects`` table
(``name TEXT PRIMARY KEY, metadata BLOB, content BLOB``; ``content`` is the hex text of a
``.qgz`` archive holding one ``.qgs`` document; ``QgsGeoPackageProjectStorage`` in the QGIS
sources). The GIS officer opens it from the browser panel (GeoPackage > the file >
``accessmap``) or as ``geopackage:/path/file.gpkg?projectName=accessmap``.

The project written here (QGIS 3.22 project format, read by every later 3.x):

* layers in a reading order, top to bottom: proposed sites, existing Ma Santé centres, GP
  sites, emergency services, hospitals, isochrones, EPCI need rank, communes (time to the
  nearest GP), our APL minus the official DREES APL (``score --official-apl``, unchecked),
  population cells (unchecked); each with the default style of
  ``layer_styles`` (:mod:`accessmap.outputs.styles`) inlined;
* data sources relative to the GeoPackage (``./<file>.gpkg|layername=...``), so the file
  can be moved or mailed;
* a print layout "Atlas EPCI" (A4 landscape) with an atlas over ``epci_scores`` sorted by
  need rank: one page per EPCI with the map zoomed on it and the page's EPCI outlined (a
  second, rule-based view of ``epci_scores``: ``$id = @atlas_featureid`` in a thick black
  line, the others thin grey), a scale bar in km, a legend filtered to what the page's map
  shows, its name and key figures (rank, population, share beyond the target, mean time, APL,
  need score) and the attribution.

The project is checked by opening it with PyQGIS and exporting one atlas page in
``tests/test_qgis.py``.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from accessmap.outputs.i18n import DEFAULT_LANG, catalogue
from accessmap.outputs.styles import GeometryKind, atlas_outline_qml, styles_for_layer

__all__ = ["LAYER_ORDER", "PROJECT_NAME", "project_qgs", "write_qgis_project"]

#: Name of the stored project (``qgis_projects.name``).
PROJECT_NAME = "accessmap"

#: Layer order in the project, top to bottom, and whether each is shown when opened.
LAYER_ORDER: tuple[tuple[str, bool], ...] = (
    ("sites", True),
    ("health_centres", True),
    ("gp_sites", False),
    ("emergency_sites", True),
    ("hospital_sites", False),
    ("isochrones", False),
    ("epci_scores", False),
    ("zones", False),
    ("communes", True),
    ("apl_difference", False),
    ("cells", False),
)

_SRS = (
    "<spatialrefsys><wkt></wkt><proj4>+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 "
    "+x_0=700000 +y_0=6600000 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs</proj4>"
    "<srsid>145</srsid><srid>2154</srid><authid>EPSG:2154</authid>"
    "<description>RGF93 v1 / Lambert-93</description><projectionacronym>lcc</projectionacronym>"
    "<ellipsoidacronym>EPSG:7019</ellipsoidacronym><geographicflag>false</geographicflag>"
    "</spatialrefsys>"
)

_GEOM = {"polygon": "Polygon", "point": "Point", "line": "Line"}


def _style_body(qml: str) -> tuple[str, bool]:
    """The children of a QML ``<qgis>`` root (renderer, labelling, aliases) and whether it
    enables labels."""
    m = re.search(r"<qgis[^>]*>(.*)</qgis>", qml, flags=re.S)
    body = m.group(1) if m else ""
    return body, 'labelsEnabled="1"' in qml


def _label_item(uid: str, text: str, x: float, y: float, w: float, h: float, size: int,
                bold: bool = False) -> str:  # fmt: skip
    weight = 75 if bold else 50
    return (
        f'<LayoutItem type="65641" uuid="{{{uid}}}" id="" templateUuid="{{{uid}}}" '
        f'size="{w:g},{h:g},mm" position="{x:g},{y:g},mm" positionOnPage="{x:g},{y:g},mm" '
        'positionLock="false" itemRotation="0" zValue="3" visibility="1" frame="false" '
        'background="false" blendMode="0" opacity="1" excludeFromExports="0" '
        f'labelText={quoteattr(text)} htmlState="0" marginX="1" marginY="1" '
        'halign="1" valign="32" referencePoint="0">'
        f'<LabelFont description="DejaVu Sans,{size},-1,5,{weight},0,0,0,0,0" style=""/>'
        '<FontColor red="20" green="20" blue="20" alpha="255"/></LayoutItem>'
    )


def _scalebar_item(uid: str, map_uid: str, x: float, y: float, unit: str) -> str:
    """A scale bar in km linked to the atlas map: two segments whose length QGIS fits
    between 25 and 50 mm on each page (``segmentSizeMode="1"``), on a white box."""
    return (
        f'<LayoutItem type="65646" uuid="{{{uid}}}" id="scalebar" templateUuid="{{{uid}}}" '
        f'size="60,12,mm" position="{x:g},{y:g},mm" positionOnPage="{x:g},{y:g},mm" '
        'positionLock="false" itemRotation="0" zValue="4" visibility="1" frame="false" '
        'background="true" blendMode="0" opacity="1" excludeFromExports="0" '
        f'referencePoint="0" mapUuid="{{{map_uid}}}" style="Single Box" unitType="km" '
        f'unitLabel={quoteattr(" " + unit)} numMapUnitsPerScaleBarUnit="1" '
        'numSegments="2" numSegmentsLeft="0" numSubdivisions="1" numUnitsPerSegment="5" '
        'segmentSizeMode="1" minBarWidth="25" maxBarWidth="50" height="2.5" '
        'labelBarSpace="2" boxContentSpace="1.5" alignment="0" outlineWidth="0.3" '
        'lineJoinStyle="miter" lineCapStyle="square">'
        '<FillColor red="0" green="0" blue="0" alpha="255"/>'
        '<FillColor2 red="255" green="255" blue="255" alpha="255"/>'
        '<StrokeColor red="0" green="0" blue="0" alpha="255"/>'
        '<BackgroundColor red="255" green="255" blue="255" alpha="220"/>'
        '<text-style fontFamily="DejaVu Sans" fontSize="8" fontSizeUnit="Point" '
        'fontWeight="50" textColor="20,20,20,255" textOpacity="1"/></LayoutItem>'
    )


def _legend_item(uid: str, map_uid: str, title: str, x: float, y: float, w: float,
                 h: float) -> str:  # fmt: skip
    """A legend of the project's layers filtered to what the atlas page's map shows
    (``legendFilterByMap`` and ``legendFilterByAtlas``): only the classes drawn there."""
    return (
        f'<LayoutItem type="65642" uuid="{{{uid}}}" id="legend" templateUuid="{{{uid}}}" '
        f'size="{w:g},{h:g},mm" position="{x:g},{y:g},mm" positionOnPage="{x:g},{y:g},mm" '
        'positionLock="false" itemRotation="0" zValue="3" visibility="1" frame="false" '
        'background="false" blendMode="0" opacity="1" excludeFromExports="0" '
        f'referencePoint="0" title={quoteattr(title)} map_uuid="{{{map_uid}}}" '
        'resizeToContents="0" legendFilterByMap="1" legendFilterByAtlas="1" columnCount="1" '
        'splitLayer="0" equalColumnWidth="0" symbolWidth="6" symbolHeight="3.5" '
        'boxSpace="1" columnSpace="2" symbolAlignment="1" titleAlignment="1" '
        'wrapChar="" fontColor="#141414"/>'
    )


def project_qgs(
    layers: Mapping[str, tuple[GeometryKind | None, list[str]]],
    gpkg_name: str,
    *,
    title: str = "accessmap",
    attribution: str = "",
    threshold_min: float = 15.0,
    lang: str = DEFAULT_LANG,
) -> str:
    """The ``.qgs`` document of the project for the GeoPackage ``gpkg_name``.

    Parameters
    ----------
    layers : mapping of str to (geometry kind, columns)
        The spatial layers written to the GeoPackage (attribute tables are left out).
    gpkg_name : str
        File name of the GeoPackage (the data sources are ``./<gpkg_name>|layername=...``).
    title, attribution : str
        Project title; attribution line printed on each atlas page.
    threshold_min : float, default 15
        Access target named in the atlas figures.
    lang : {"fr", "en"}
        Language of the layer names and the atlas texts.
    """
    c = catalogue(lang)
    known = [n for n, _ in LAYER_ORDER if n in layers and layers[n][0] is not None]
    extra = [n for n, (k, _) in layers.items() if k is not None and n not in known]
    order = known + extra
    # the atlas outline: a second view of epci_scores drawn above the polygons
    outline = "epci_outline" if "epci_scores" in order else None
    if outline is not None:
        first_poly = next((i for i, n in enumerate(order) if layers[n][0] == "polygon"), len(order))
        order.insert(first_poly, outline)
    shown = dict(LAYER_ORDER)
    shown["epci_outline"] = True
    ids = {n: f"{n}_{uuid.uuid5(uuid.NAMESPACE_URL, gpkg_name + n).hex[:12]}" for n in order}
    tree, maplayers = [], []
    for name in order:
        table = "epci_scores" if name == outline else name
        kind, columns = layers[table]
        src = escape(f"./{gpkg_name}|layername={table}")
        label = c.t(f"qgis.layer.{name}") if c.has(f"qgis.layer.{name}") else name
        checked = "Qt::Checked" if shown.get(name, False) else "Qt::Unchecked"
        tree.append(f'<layer-tree-layer id="{ids[name]}" name={quoteattr(label)} '
                    f'source="{src}" providerKey="ogr" checked="{checked}" expanded="0">'
                    "<customproperties/></layer-tree-layer>")  # fmt: skip
        if name == outline:
            qml = atlas_outline_qml(c.t("qgis.atlas.current"), c.t("qgis.atlas.others"))
            body, labels = _style_body(qml)
        else:
            styles = styles_for_layer(name, kind, columns)
            body, labels = _style_body(styles[0].qml) if styles else ("", False)
        geom = _GEOM.get(str(kind), "Polygon")
        maplayers.append(
            f'<maplayer type="vector" geometry="{geom}" labelsEnabled="{int(labels)}" '
            'autoRefreshEnabled="0" refreshOnNotifyEnabled="0" hasScaleBasedVisibilityFlag="0" '
            f'minScale="100000000" maxScale="0" styleCategories="AllStyleCategories">'
            f"<id>{ids[name]}</id><datasource>{src}</datasource>"
            f"<layername>{escape(label)}</layername><srs>{_SRS}</srs>"
            '<provider encoding="UTF-8">ogr</provider>'
            f"{body}</maplayer>"
        )
    atlas = ""
    if "epci_scores" in ids:
        q = threshold_min
        figures = c.t("qgis.atlas.figures", thr=f"{q:g}")
        map_uid, t_uid, f_uid, a_uid, s_uid, l_uid = (
            str(uuid.uuid5(uuid.NAMESPACE_URL, gpkg_name + k))
            for k in ("map", "title", "figs", "att", "scale", "legend")
        )
        atlas = (
            '<Layouts><Layout units="mm" printResolution="150" name='
            f'{quoteattr(c.t("qgis.atlas.name"))} worldFileMap="">'
            '<Snapper tolerance="5" snapToItems="1" snapToGuides="1" snapToGrid="0"/>'
            "<PageCollection>"
            '<LayoutItem type="65638" size="297,210,mm" position="0,0,mm" '
            'positionOnPage="0,0,mm" zValue="0" visibility="1" frame="false" '
            'background="true" uuid="{' + str(uuid.uuid5(uuid.NAMESPACE_URL, "page")) + '}">'
            "</LayoutItem></PageCollection>"
            f'<LayoutItem type="65639" uuid="{{{map_uid}}}" id="map" '
            f'templateUuid="{{{map_uid}}}" size="190,185,mm" position="6,18,mm" '
            'positionOnPage="6,18,mm" positionLock="false" itemRotation="0" zValue="1" '
            'visibility="1" frame="true" background="true" blendMode="0" opacity="1" '
            'excludeFromExports="0" referencePoint="0" keepLayerSet="false" '
            'followPreset="false" followPresetName="" drawCanvasItems="true" mapRotation="0" '
            'labelMargin="0,mm" mapFlags="1">'
            '<Extent xmin="400000" ymin="6080000" xmax="850000" ymax="6518158"/>'
            f"<crs>{_SRS}</crs><LayerSet/>"
            '<AtlasMap atlasDriven="1" scalingMode="2" margin="0.15"/></LayoutItem>'
            + _label_item(t_uid, '[% "epci_nom" %]', 6, 4, 285, 12, 16, bold=True)
            + _label_item(f_uid, figures, 201, 18, 90, 52, 10)
            + _scalebar_item(s_uid, map_uid, 10, 187, c.t("map.scale_km"))
            + _legend_item(l_uid, map_uid, c.t("qgis.atlas.legend"), 201, 72, 90, 110)
            + _label_item(a_uid, attribution, 201, 185, 90, 20, 6)
            + '<Atlas enabled="1" hideCoverage="0" filterFeatures="1" '
            f'coverageLayer="{ids["epci_scores"]}" coverageLayerName="epci_scores" '
            f'coverageLayerSource="{escape(f"./{gpkg_name}|layername=epci_scores")}" '
            'coverageLayerProvider="ogr" pageNameExpression="&quot;epci_nom&quot;" '
            'featureFilter="&quot;need_rank&quot; IS NOT NULL" '
            'sortFeatures="1" sortKey="need_rank" sortAscending="1" '
            "filenamePattern=\"'epci_'||@atlas_featurenumber\"/></Layout></Layouts>"
        )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis projectname={quoteattr(title)} version="3.22.16-Białowieża" saveUser="accessmap" '
        f'saveDateTime="{now}">'
        '<homePath path=""/>'
        f"<title>{escape(title)}</title>"
        '<autotransaction active="0"/><evaluateDefaultValues active="0"/><trust active="0"/>'
        f"<projectCrs>{_SRS}</projectCrs>"
        "<layer-tree-group><customproperties/>" + "".join(tree) + "</layer-tree-group>"
        "<projectlayers>" + "".join(maplayers) + "</projectlayers>"
        '<properties><Paths><Absolute type="bool">false</Absolute></Paths>'
        '<Measurement><DistanceUnits type="QString">meters</DistanceUnits>'
        '<AreaUnits type="QString">km2</AreaUnits></Measurement></properties>'
        f"{atlas}</qgis>\n"
    )


def write_qgis_project(
    gpkg: str | Path,
    layers: Mapping[str, tuple[GeometryKind | None, Sequence[str]]],
    *,
    gpkg_name: str | None = None,
    title: str = "accessmap",
    attribution: str = "",
    threshold_min: float = 15.0,
    lang: str = DEFAULT_LANG,
) -> None:
    """Store :func:`project_qgs` in the ``qgis_projects`` table of ``gpkg`` (as QGIS does).

    Parameters
    ----------
    gpkg : path
        The GeoPackage to write into (may be a temporary file).
    gpkg_name : str, optional
        The file name the GeoPackage will have (data sources are relative to it); default
        ``gpkg``'s own name.
    """
    gpkg = Path(gpkg)
    qgs = project_qgs({k: (v[0], list(v[1])) for k, v in layers.items()},
                      gpkg_name or gpkg.name, title=title, attribution=attribution,
                      threshold_min=threshold_min, lang=lang)  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{PROJECT_NAME}.qgs", qgs)
    meta = json.dumps({"last_modified_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                       "last_modified_user": "accessmap"})  # fmt: skip
    con = sqlite3.connect(gpkg)
    try:
        with con:
            con.execute("CREATE TABLE IF NOT EXISTS qgis_projects(name TEXT PRIMARY KEY, "
                        "metadata BLOB, content BLOB)")  # fmt: skip
            con.execute("INSERT OR REPLACE INTO qgis_projects(name, metadata, content) "
                        "VALUES (?, ?, ?)", (PROJECT_NAME, meta, buf.getvalue().hex()))  # fmt: skip
    finally:
        con.close()
