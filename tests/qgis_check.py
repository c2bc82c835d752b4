"""Open an accessmap GeoPackage with the real QGIS client and report what QGIS sees.

Run with Debian's system interpreter (python3-qgis), headless:

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_check.py OUT.gpkg OUTDIR

For every spatial layer it records: validity, feature count, CRS, the renderer QGIS applied
from the default style in ``layer_styles`` (type, attribute, range bounds/colours or
categories), labelling, the styles listed in the database, and renders the layer alone to
``OUTDIR/<layer>.png``, counting the pixels of each class colour. It then renders all layers
together to ``OUTDIR/all.png``. The report is printed as JSON on stdout; tests/test_qgis.py
asserts on it. Exit code 0 when the report was produced, 2 on usage errors.

This file is not imported by pytest (it needs ``qgis``, which the project venv lacks).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsProviderRegistry,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor, QImage
from qgis.PyQt.QtXml import QDomDocument


def _renderer_info(layer: QgsVectorLayer) -> dict:
    r = layer.renderer()
    info: dict = {"type": r.type() if r else None}
    if r is None:
        return info
    if r.type() == "graduatedSymbol":
        info["attr"] = r.classAttribute()
        info["ranges"] = [
            {
                "lower": rg.lowerValue(),
                "upper": rg.upperValue(),
                "label": rg.label(),
                "colour": rg.symbol().color().name(),
            }
            for rg in r.ranges()
        ]
    elif r.type() == "categorizedSymbol":
        info["attr"] = r.classAttribute()
        info["categories"] = [
            {"value": str(c.value()), "label": c.label(), "colour": c.symbol().color().name()}
            for c in r.categories()
        ]
    elif r.type() == "RuleRenderer":
        info["rules"] = [
            {"filter": rule.filterExpression(), "label": rule.label(),
             "colour": rule.symbol().color().name() if rule.symbol() else None,
             "outline_style": (rule.symbol().symbolLayer(0).strokeStyle()
                               if rule.symbol() and hasattr(rule.symbol().symbolLayer(0),
                                                            "strokeStyle") else None)}
            for rule in r.rootRule().children()
        ]  # fmt: skip
    elif r.type() == "singleSymbol":
        sym = r.symbol()
        info["colour"] = sym.color().name()
        info["symbol_type"] = sym.type()
        info["marker"] = (
            sym.symbolLayer(0).shape() if hasattr(sym.symbolLayer(0), "shape") else None
        )
    return info


def _render(layers: list[QgsVectorLayer], extent: QgsRectangle, path: str) -> dict:
    ms = QgsMapSettings()
    ms.setLayers(layers)
    ms.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:2154"))
    ms.setOutputSize(QSize(900, 700))
    ms.setBackgroundColor(QColor(255, 255, 255))
    ms.setExtent(extent)
    job = QgsMapRendererParallelJob(ms)
    job.start()
    job.waitForFinished()
    img: QImage = job.renderedImage()
    img.save(path, "PNG")
    counts: Counter[str] = Counter()
    w, h = img.width(), img.height()
    for y in range(0, h, 2):  # every other row/column: plenty for colour statistics
        for x in range(0, w, 2):
            counts[QColor(img.pixel(x, y)).name()] += 1
    total = sum(counts.values())
    return {
        "path": path,
        "width": w,
        "height": h,
        "non_white_share": 1 - counts.get("#ffffff", 0) / total,
        "distinct_colours": len(counts),
        "colour_counts": dict(counts.most_common(60)),
        "errors": [f"{e.layerID}: {e.message}" for e in job.errors()],
    }


def _project(gpkg: str, outdir: str) -> dict:
    """Open the project stored in the GeoPackage as QGIS does and export one atlas page."""
    from qgis.core import QgsLayoutExporter, QgsProject

    project = QgsProject.instance()
    ok = project.read(f"geopackage:{gpkg}?projectName=accessmap")
    info: dict = {"read": bool(ok), "layers": [
        {"name": node.name(), "valid": bool(node.layer() and node.layer().isValid()),
         "source": node.layer().source() if node.layer() else "",
         "visible": node.isVisible(),
         "rules": ([r.filterExpression() for r in node.layer().renderer().rootRule().children()]
                   if node.layer() and node.layer().renderer().type() == "RuleRenderer"
                   else []),
         "renderer": node.layer().renderer().type() if node.layer() else None}
        for node in project.layerTreeRoot().findLayers()]}  # fmt: skip
    layouts = project.layoutManager().layouts()
    info["layouts"] = [lay.name() for lay in layouts]
    if layouts:
        layout = layouts[0]
        atlas = layout.atlas()
        info["atlas_enabled"] = atlas.enabled()
        info["atlas_coverage"] = atlas.coverageLayer().source() if atlas.coverageLayer() else ""
        atlas.beginRender()
        info["atlas_pages"] = atlas.count()
        atlas.first()
        # the page furniture: scale bar (units, segment length), legend (its rows once the
        # atlas filter applies), and what each item is
        from qgis.core import QgsLayoutItemLegend, QgsLayoutItemScaleBar

        items = []
        for item in layout.items():
            if isinstance(item, QgsLayoutItemScaleBar):
                items.append({"kind": "scalebar", "units": item.unitLabel().strip(),
                              "segments": item.numberOfSegments(),
                              "units_per_segment": item.unitsPerSegment(),
                              "linked": item.linkedMap() is not None})  # fmt: skip
            elif isinstance(item, QgsLayoutItemLegend):
                item.updateFilterByMap()
                model = item.model()
                rows = []
                for r in range(model.rowCount()):
                    idx = model.index(r, 0)
                    rows.append(str(model.data(idx, 0)))
                    for k in range(model.rowCount(idx)):
                        rows.append("  " + str(model.data(model.index(k, 0, idx), 0)))
                items.append({"kind": "legend", "title": item.title(), "rows": rows,
                              "filter_by_map": item.legendFilterByMapEnabled(),
                              "linked": item.linkedMap() is not None})  # fmt: skip
        info["layout_items"] = items
        info["atlas_first_page"] = atlas.nameForPage(0)
        path = os.path.join(outdir, "atlas_page1.png")
        res = QgsLayoutExporter(layout).exportToImage(path, QgsLayoutExporter.ImageExportSettings())
        atlas.endRender()
        info["export_result"] = int(res)
        img = QImage(path)
        counts: Counter[str] = Counter()
        for y in range(0, img.height(), 4):
            for x in range(0, img.width(), 4):
                counts[QColor(img.pixel(x, y)).name()] += 1
        total = max(sum(counts.values()), 1)
        info["atlas_image"] = {"path": path, "width": img.width(), "height": img.height(),
                               "non_white_share": 1 - counts.get("#ffffff", 0) / total,
                               "colour_counts": dict(counts.most_common(40))}  # fmt: skip
    return info


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: qgis_check.py OUT.gpkg OUTDIR", file=sys.stderr)
        return 2
    gpkg, outdir = argv[1], argv[2]
    os.makedirs(outdir, exist_ok=True)
    app = QgsApplication([], False)
    app.initQgis()
    from qgis.core import Qgis

    report: dict = {"qgis_version": Qgis.QGIS_VERSION, "layers": {}}
    sublayers = QgsProviderRegistry.instance().providerMetadata("ogr").querySublayers(gpkg)
    report["sublayers"] = [s.name() for s in sublayers]
    spatial: list[QgsVectorLayer] = []
    for s in sublayers:
        name = s.name()
        layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
        info: dict = {
            "valid": layer.isValid(),
            "features": layer.featureCount(),
            "spatial": layer.isSpatial(),
        }
        if layer.isValid() and layer.isSpatial():
            info["crs"] = layer.crs().authid()
            info["renderer"] = _renderer_info(layer)
            info["labels_enabled"] = layer.labelsEnabled()
            info["aliases"] = {
                f.name(): layer.attributeAlias(i)
                for i, f in enumerate(layer.fields())
                if layer.attributeAlias(i)
            }
            if layer.labelsEnabled() and layer.labeling() is not None:
                settings = layer.labeling().settings()
                info["label_expression"] = settings.fieldName
            # styles related to this layer come first in QGIS' list (n of them)
            n, ids, names, _descs, _err = layer.listStylesInDatabase()
            info["db_styles"] = list(names[:n])
            # every stored style must load, the non-default ones included
            alt = {}
            for sid, sname in zip(ids[:n], names[:n], strict=True):
                qml = layer.getStyleFromDatabase(sid)[0]
                probe = QgsVectorLayer(f"{gpkg}|layername={name}", f"{name}-probe", "ogr")
                doc = QDomDocument()
                doc.setContent(qml)
                ok = probe.importNamedStyle(doc)[0]
                alt[sname] = {"loaded": ok, "renderer": _renderer_info(probe)}
            info["other_styles"] = alt
            info["image"] = _render([layer], layer.extent(), os.path.join(outdir, f"{name}.png"))
            spatial.append(layer)
        report["layers"][name] = info
    if spatial:
        order = ["sites", "epci_scores", "isochrones", "communes", "cells"]
        spatial.sort(key=lambda lyr: order.index(lyr.name()) if lyr.name() in order else 0)
        extent = QgsRectangle()
        for lyr in spatial:
            extent.combineExtentWith(lyr.extent())
        # the region view: sites on top of EPCI need on top of communes
        top = [lyr for lyr in spatial if lyr.name() in ("sites", "communes")]
        report["all"] = _render(top, extent, os.path.join(outdir, "all.png"))
    report["project"] = _project(gpkg, outdir)
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    # QgsApplication.exitQgis() segfaults at interpreter exit on Debian's 3.22 headless build;
    # the report is out, so leave without running Qt's global destructors.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
