"""The supply-kind registry: built-in kinds, a new kind in one entry, pharmacies end to end."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from accessmap import supply
from accessmap.cli import main
from accessmap.errors import ConfigError
from accessmap.outputs.styles import field_alias, styles_for_layer


def test_builtin_kinds_and_columns() -> None:
    assert list(supply.SUPPLY_KINDS)[:4] == ["gp", "emergency", "hospital", "pharmacy"]
    assert supply.get_kind("hospital").time_column == "time_hospital_min"
    assert supply.get_kind("hospital").id_col == "finess_et"
    assert supply.resolve_kinds(None) == ("gp", "emergency", "hospital")
    assert supply.resolve_kinds("pharmacy,gp") == ("gp", "emergency", "hospital", "pharmacy")


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="pharmacy"):
        supply.resolve_kinds("gp,dentists")
    with pytest.raises(ConfigError, match="lower-case identifier"):
        supply.register(supply.SupplyKind("Bad Name", "x", lambda ctx: supply.empty_points()))


def test_a_new_kind_is_one_entry(occitanie_area) -> None:
    """Registering a kind makes its column styled and aliased with nothing else touched."""
    gp = occitanie_area.gp_supply

    def nurses(ctx: supply.SupplyContext) -> gpd.GeoDataFrame:
        return gp.iloc[:5].reset_index(drop=True)

    supply.register(supply.SupplyKind("nurse", "Nurses (test)", nurses))
    try:
        assert field_alias("time_nurse_min") == "Car time to nearest: Nurses (test) (min)"
        styles = styles_for_layer("communes", "polygon", ["insee", "time_gp_min",
                                                          "time_nurse_min"])  # fmt: skip
        assert [s.name for s in styles] == ["time to nearest GP", "time to nurse"]
        assert sum(s.default for s in styles) == 1
    finally:
        supply.SUPPLY_KINDS.pop("nurse")


def test_pharmacy_source_real_data(occitanie_area, data_dir: Path) -> None:
    ctx = supply.SupplyContext(deps=occitanie_area.deps, data_dir=data_dir,
                               origins=occitanie_area.origins, occitanie=True)  # fmt: skip
    ph = supply.get_kind("pharmacy").load(ctx)
    assert ph["supply_id"].is_unique and ph["supply_id"].str.startswith("bpe2021-D307-").all()
    assert set(ph["insee"]) <= set(occitanie_area.origins.index)
    # about 1,900 pharmacies in Occitanie (INSEE BPE 2021); counts are whole numbers > 0
    assert 1500 < ph["count"].sum() < 2500 and (ph["count"] > 0).all()
    assert (
        ph.geometry.x == occitanie_area.origins.geometry.x.reindex(ph["insee"]).to_numpy()
    ).all()


def test_score_supply_kinds_pharmacy_cli(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "ph.gpkg"
    code = main(["score", "--data-dir", str(data_dir), "--supply-kinds", "gp,pharmacy",
                 "--engine", "crow-fly", "--no-grid",
                 "-k", "1", "--no-exact", "--out", str(out)])  # fmt: skip
    assert code == 0
    com = pd.read_csv(tmp_path / "ph" / "communes.csv", dtype={"insee": str})
    assert {"time_pharmacy_min", "time_emergency_min", "time_hospital_min"} <= set(com.columns)
    t = com["time_pharmacy_min"]
    assert t.notna().all() and (t >= 0).all() and t.median() < com["time_hospital_min"].median()
    with sqlite3.connect(out) as db:
        names = [r[0] for r in db.execute(
            "SELECT styleName FROM layer_styles WHERE f_table_name = 'communes'")]  # fmt: skip
    assert "time to pharmacy" in names
