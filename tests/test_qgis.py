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
    "isochrones": ("graduatedSymbol", "threshold_min", ISOCHRONE_CLASSES),
    "sites": ("singleSymbol", None, None),
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
                                    "proposed sites"}  # fmt: skip


def test_time_style_shows_the_15_minute_break(qgis_report) -> None:
    ranges = qgis_report["layers"]["communes"]["renderer"]["ranges"]
    assert [r["upper"] for r in ranges][:4] == [5.0, 10.0, 15.0, 20.0]


def test_sites_marked_and_labelled(qgis_report) -> None:
    info = qgis_report["layers"]["sites"]
    assert info["renderer"]["colour"] == SITE_COLOUR
    assert info["labels_enabled"]
    assert '"rank"' in info["label_expression"] and '"gain_pop"' in info["label_expression"]


def test_need_rank_labels_top_28(qgis_report) -> None:
    info = qgis_report["layers"]["epci_scores"]
    assert info["labels_enabled"] and "28" in info["label_expression"]


def test_apl_style_stored_and_loads(qgis_report) -> None:
    info = qgis_report["layers"]["communes"]
    assert info["db_styles"] == ["time to nearest GP", "APL classes"]
    apl = info["other_styles"]["APL classes"]
    assert apl["loaded"]
    assert apl["renderer"]["attr"] == "apl"
    assert [r["colour"] for r in apl["renderer"]["ranges"]] == [c.colour for c in APL_CLASSES]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rendered_images_not_blank_and_use_class_colours(qgis_report, name) -> None:
    img = qgis_report["layers"][name]["image"]
    assert Path(img["path"]).stat().st_size > 5000
    assert not img["errors"]
    assert img["non_white_share"] > (0.001 if name == "sites" else 0.2)
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
