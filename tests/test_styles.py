"""accessmap.outputs.styles: class boundaries (hand-checked) and QML structure."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from accessmap.outputs.styles import (
    APL_CLASSES,
    NEED_RANK_CLASSES,
    TIME_CLASSES,
    classify,
    isochrone_style_qml,
    sites_style_qml,
    styles_for_layer,
    time_style_qml,
)


def _root(qml: str) -> ET.Element:
    assert qml.startswith("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>")
    return ET.fromstring(qml.split("\n", 1)[1])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, 0), (5.0, 0), (5.01, 1), (14.99, 2), (15.0, 2), (15.01, 3), (30.0, 4), (31.0, 5),
     (float("nan"), -1), (-1.0, -1)],
)  # fmt: skip
def test_time_classes_put_15_minutes_below_the_break(value, expected) -> None:
    assert classify(value, TIME_CLASSES) == expected


@pytest.mark.parametrize(("value", "expected"), [(0.0, 0), (2.49, 0), (2.5, 1), (3.99, 1),
                                                 (4.0, 2), (9.0, 2)])  # fmt: skip
def test_apl_classes_follow_drees_thresholds(value, expected) -> None:
    assert classify(value, APL_CLASSES) == expected


@pytest.mark.parametrize(("rank", "expected"), [(1, 0), (10, 0), (11, 1), (28, 1), (29, 2),
                                                (100, 3), (164, 4)])  # fmt: skip
def test_need_rank_classes(rank, expected) -> None:
    assert classify(float(rank), NEED_RANK_CLASSES) == expected


def test_time_qml_ranges_and_colours() -> None:
    root = _root(time_style_qml("polygon"))
    rend = root.find("renderer-v2")
    assert rend is not None
    assert (rend.get("type"), rend.get("attr")) == ("graduatedSymbol", "time_gp_min")
    ranges = list(rend.iter("range"))
    assert [float(r.get("lower")) for r in ranges] == [0, 5, 10, 15, 20, 30]
    assert float(ranges[-1].get("upper")) > 1e6  # open top class
    colours = [s.find("layer/prop[@k='color']").get("v") for s in rend.iter("symbol")]
    assert colours[0] == "69,117,180,255"  # #4575b4 (ColorBrewer RdYlBu, colour-blind safe)
    assert len(set(colours)) == len(TIME_CLASSES)


def test_cells_drawn_as_1km_squares() -> None:
    sym = _root(time_style_qml("point")).find("renderer-v2/symbols/symbol")
    props = {p.get("k"): p.get("v") for p in sym.iter("prop")}
    assert (props["name"], props["size"], props["size_unit"]) == ("square", "1000", "MapUnit")


def test_sites_labelled_with_rank_and_gain() -> None:
    root = _root(sites_style_qml())
    assert root.get("labelsEnabled") == "1"
    assert root.find("renderer-v2").get("type") == "singleSymbol"
    ts = root.find("labeling/settings/text-style")
    assert ts.get("isExpression") == "1"
    assert (
        ts.get("fieldName")
        == "'#' || \"rank\" || ' ' || '' || '\n+' || format_number(\"gain_pop\", 0)"
    )
    # with the sites' label column (commune and département) and the APL gain
    labelled = _root(sites_style_qml(["rank", "label", "gain_pop", "lifted_pop"]))
    expr = labelled.find("labeling/settings/text-style").get("fieldName")
    assert '"label"' in expr and '"lifted_pop"' in expr


def test_isochrones_drawn_widest_first() -> None:
    rend = _root(isochrone_style_qml()).find("renderer-v2")
    assert rend.get("enableorderby") == "1"
    clause = rend.find("orderby/orderByClause")
    assert clause.get("asc") == "0" and clause.text == '"threshold_min"'


def test_styles_for_layer_one_default_and_column_checks() -> None:
    st = styles_for_layer("communes", "polygon", ["time_gp_min", "apl"])
    assert [s.name for s in st] == ["time to nearest GP", "APL classes"]
    assert [s.default for s in st] == [True, False]
    assert styles_for_layer("communes", "polygon", ["apl"])[0].default is True
    assert styles_for_layer("communes", None, ["time_gp_min"]) == []
    assert styles_for_layer("sites", "point", ["rank"]) == []  # gain_pop missing
    assert styles_for_layer("something_else", "polygon", ["time_gp_min"]) == []
    assert not math.isnan(TIME_CLASSES[-1].lower)
