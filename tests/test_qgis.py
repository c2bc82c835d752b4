"""Open the accessmap GeoPackage with the real QGIS client (PyQGIS, headless).

Runs ``tests/qgis_check.py`` with Debian's system ``python3`` (package ``python3-qgis``,
installed by ``scripts/install-qgis.sh``) and ``QT_QPA_PLATFORM=offscreen``. Locally the test
is skipped when PyQGIS is missing; in CI (``ACCESSMAP_REQUIRE_QGIS=1``) it fails instead.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from accessmap.outputs.geopackage import layers_of, to_geopackage
from accessmap.outputs.styles import (
    APL_CLASSES,
    ISOCHRONE_CLASSES,
    NEED_RANK_CLASSES,
    SITE_COLOUR,
    TIME_CLASSES,
)

pytestmark = pytest.mark.qgis

QGIS_PYTHON = os.environ.get("ACCESSMAP_QGIS_PYTHON", "/usr/bin/python3")
CHECK = Path(__file__).with_name("qgis_check.py")


def _have_pyqgis() -> bool:
    if not Path(QGIS_PYTHON).exists():
        return False
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True,
                           check=False, timeout=120)  # fmt: skip
    return probe.returncode == 0


@pytest.fixture(scope="module")
def qgis_report(score_result, tmp_path_factory):  # type: ignore[no-untyped-def]
    if not _have_pyqgis():
        msg = (f"PyQGIS not importable by {QGIS_PYTHON}: run scripts/install-qgis.sh "
               "(Debian python3-qgis)")  # fmt: skip
        if os.environ.get("ACCESSMAP_REQUIRE_QGIS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    layers, meta = layers_of(score_result)
    work = tmp_path_factory.mktemp("qgis")
    gpkg = to_geopackage(layers, work / "occitanie.gpkg", metadata=meta)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(work)}
    env.pop("PYTHONPATH", None)  # the venv's packages must not shadow Debian's
    proc = subprocess.run([QGIS_PYTHON, str(CHECK), str(gpkg), str(work / "png")],
                          capture_output=True, text=True, env=env, check=False,
                          timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["_layers"] = layers
    report["_gpkg"] = str(gpkg)
    return report


EXPECTED = {
    # layer: (renderer type, class attribute, classes)
    "communes": ("graduatedSymbol", "time_gp_min", TIME_CLASSES),
    "cells": ("graduatedSymbol", "time_gp_min", TIME_CLASSES),
    "epci_scores": ("graduatedSymbol", "need_rank", NEED_RANK_CLASSES),
    "isochrones": ("RuleRenderer", None, None),
    "sites": ("singleSymbol", None, None),
    "gp_sites": ("singleSymbol", None, None),
    "emergency_sites": ("singleSymbol", None, None),
    "hospital_sites": ("singleSymbol", None, None),
    "health_centres": ("singleSymbol", None, None),
}


def test_every_layer_valid_with_its_features(qgis_report) -> None:
    layers = qgis_report["_layers"]
    seen = qgis_report["layers"]
    for name, df in layers.items():
        if len(df.columns) == 0:
            continue
        assert seen[name]["valid"], name
        assert seen[name]["features"] == len(df), name
    for name in EXPECTED:
        assert seen[name]["spatial"] and seen[name]["crs"] == "EPSG:2154"
    # accessmap's own tables are readable by QGIS too
    assert seen["run_metadata"]["valid"] and seen["run_metadata"]["features"] > 0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_default_style_applied_by_qgis(qgis_report, name) -> None:
    rtype, attr, classes = EXPECTED[name]
    info = qgis_report["layers"][name]
    rend = info["renderer"]
    assert rend["type"] == rtype
    if classes is not None:
        assert rend["attr"] == attr
        assert [r["colour"] for r in rend["ranges"]] == [c.colour for c in classes]
        assert [r["label"] for r in rend["ranges"]] == [c.label for c in classes]
    assert info["db_styles"][0] in {"time to nearest GP", "need rank", "isochrone bands",
                                    "proposed sites", "facilities"}  # fmt: skip


def test_facility_layers_styled_apart(qgis_report) -> None:
    """GPs, emergency services, hospitals and existing centres: one marker shape each."""
    names = ("gp_sites", "emergency_sites", "hospital_sites", "health_centres")
    markers = {n: qgis_report["layers"][n]["renderer"]["marker"] for n in names}
    assert len(set(markers.values())) == 4, markers
    colours = {qgis_report["layers"][n]["renderer"]["colour"] for n in markers}
    assert len(colours) == 4 and SITE_COLOUR not in colours


def test_cells_are_1km_squares(qgis_report) -> None:
    cells = qgis_report["_layers"]["cells"]
    assert set(cells.geom_type) == {"Polygon"}
    area = cells.geometry.area
    # the INSPIRE 1 km cells of EPSG:3035 reprojected to Lambert-93: 1 km2 to within 0.5 %
    assert area.min() > 0.995e6 and area.max() < 1.005e6


def test_isochrones_existing_and_proposed_apart(qgis_report) -> None:
    rules = qgis_report["layers"]["isochrones"]["renderer"]["rules"]
    existing = [r for r in rules if "'existing'" in r["filter"]]
    proposed = [r for r in rules if "'proposed'" in r["filter"]]
    assert [r["colour"] for r in existing] == [c.colour for c in ISOCHRONE_CLASSES]
    assert len(proposed) == 1 and proposed[0]["colour"] == SITE_COLOUR
    iso = qgis_report["_layers"]["isochrones"]
    assert {"existing", "proposed"} <= set(iso["kind"])


def test_project_opens_in_order_with_an_atlas(qgis_report) -> None:
    proj = qgis_report["project"]
    assert proj["read"]
    names = [lyr["name"] for lyr in proj["layers"]]
    assert all(lyr["valid"] for lyr in proj["layers"]), proj["layers"]
    # sources are relative to the GeoPackage, points above polygons, communes shown
    assert all(Path(qgis_report["_gpkg"]).name in lyr["source"] for lyr in proj["layers"])
    assert names[0] == "Nouveaux centres proposés" and names[-1].startswith("Carreaux")
    assert names.index("Communes : temps jusqu'au médecin") > names.index("Hôpitaux")
    assert proj["layouts"] == ["Atlas EPCI"] and proj["atlas_enabled"]
    ranked = qgis_report["_layers"]["epci_scores"]["need_rank"].notna().sum()
    assert proj["atlas_pages"] == ranked
    first = qgis_report["_layers"]["epci_scores"].sort_values("need_rank").iloc[0]
    assert proj["atlas_first_page"] == first["epci_nom"]
    assert proj["export_result"] == 0
    img = proj["atlas_image"]
    assert abs(img["width"] - 1754) <= 1 and abs(img["height"] - 1240) <= 1  # A4 landscape, 150 dpi
    assert img["non_white_share"] > 0.2
    assert any(img["colour_counts"].get(c.colour, 0) > 50 for c in TIME_CLASSES)


def test_time_style_shows_the_15_minute_break(qgis_report) -> None:
    ranges = qgis_report["layers"]["communes"]["renderer"]["ranges"]
    assert [r["upper"] for r in ranges][:4] == [5.0, 10.0, 15.0, 20.0]


def test_sites_marked_and_labelled(qgis_report) -> None:
    info = qgis_report["layers"]["sites"]
    assert info["renderer"]["colour"] == SITE_COLOUR
    assert info["labels_enabled"]
    assert '"rank"' in info["label_expression"] and '"label"' in info["label_expression"]


def test_need_rank_labels_top_28(qgis_report) -> None:
    info = qgis_report["layers"]["epci_scores"]
    assert info["labels_enabled"] and "28" in info["label_expression"]


def test_apl_style_stored_and_loads(qgis_report) -> None:
    info = qgis_report["layers"]["communes"]
    assert info["db_styles"][0] == "time to nearest GP" and "APL classes" in info["db_styles"]
    apl = info["other_styles"]["APL classes"]
    assert apl["loaded"]
    assert apl["renderer"]["attr"] == "apl"
    assert [r["colour"] for r in apl["renderer"]["ranges"]] == [c.colour for c in APL_CLASSES]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rendered_images_not_blank_and_use_class_colours(qgis_report, name) -> None:
    img = qgis_report["layers"][name]["image"]
    assert Path(img["path"]).stat().st_size > 5000
    assert not img["errors"]
    assert img["non_white_share"] > (0.2 if EXPECTED[name][0] != "singleSymbol" else 0.0005)
    counts = img["colour_counts"]
    if name == "communes":
        # interiors are drawn in exactly the class colours: green below 15 minutes, and the
        # classes present in the data show up
        layer = qgis_report["_layers"]["communes"]
        assert counts.get(TIME_CLASSES[0].colour, 0) > 1000
        if (layer["time_gp_min"] > 15).sum() > 20:
            assert counts.get(TIME_CLASSES[3].colour, 0) > 0
    if name == "epci_scores":
        assert counts.get(NEED_RANK_CLASSES[0].colour, 0) > 100
    if name == "sites":
        assert counts.get(SITE_COLOUR, 0) > 10


def test_region_view_renders(qgis_report) -> None:
    allimg = qgis_report["all"]
    assert allimg["non_white_share"] > 0.2 and allimg["distinct_colours"] > 10


def test_field_aliases_applied(qgis_report) -> None:
    aliases = qgis_report["layers"]["communes"]["aliases"]
    assert aliases["time_gp_min"] == "Car time to nearest GP (min)"
    assert aliases["apl"].startswith("APL")
    assert qgis_report["layers"]["sites"]["aliases"]["gain_pop"] == "People newly within 15 min"


def test_qgis_leaves_no_side_car_files(qgis_report) -> None:
    gpkg = Path(qgis_report["_gpkg"])
    assert sorted(p.name for p in gpkg.parent.iterdir() if p.is_file()) == [gpkg.name]


def test_atlas_page_written(qgis_report) -> None:
    """The atlas page exported by QGIS is an image of the first EPCI (looked at by hand:
    the map zoomed on the EPCI, its name and key figures)."""
    path = Path(qgis_report["project"]["atlas_image"]["path"])
    assert path.stat().st_size > 20_000


def test_atlas_page_has_scale_bar_legend_and_outline(qgis_report) -> None:
    """The atlas page carries a scale bar in km linked to the map, a legend filtered to the
    page's map, and the page's EPCI outlined (``$id = @atlas_featureid``) above the communes
    (the exported page was looked at by hand)."""
    proj = qgis_report["project"]
    items = {i["kind"]: i for i in proj["layout_items"]}
    bar = items["scalebar"]
    assert bar["linked"] and bar["units"] == "km" and bar["segments"] >= 2
    assert bar["units_per_segment"] > 0
    legend = items["legend"]
    assert legend["linked"] and legend["filter_by_map"] and legend["title"] == "Légende"
    assert any("temps jusqu'au médecin" in r for r in legend["rows"])
    outline = [lyr for lyr in proj["layers"] if lyr["name"] == "Contour de l'EPCI de la page"]
    assert len(outline) == 1 and outline[0]["visible"]
    assert outline[0]["source"].endswith("layername=epci_scores")
    assert any("@atlas_featureid" in f for f in outline[0]["rules"])
    names = [lyr["name"] for lyr in proj["layers"]]
    assert names.index(outline[0]["name"]) < names.index("Communes : temps jusqu'au médecin")
    # the outline is drawn in black on the exported page
    assert qgis_report["project"]["atlas_image"]["colour_counts"].get("#000000", 0) > 200
