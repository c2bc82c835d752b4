"""The output catalogue: the README table is generated from it, and a real run writes nothing
it does not describe."""

from __future__ import annotations

from pathlib import Path

import pytest

from accessmap.outputs import schema
from accessmap.pipeline import ScoreParams, run_score

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert schema.readme_table() in text, (
        "README's GeoPackage table differs from accessmap.outputs.schema: paste "
        "schema.readme_table() into README.md"
    )


def test_placeholders_match_families() -> None:
    assert schema.match_column("communes", "within_15") == "within_{X}"
    assert schema.match_column("communes", "time_pharmacy_min") == "time_{kind}_min"
    assert schema.match_column("epci_scores", "score_apl") == "score_{criterion}"
    assert schema.match_column("communes", "no_such_column") is None
    assert schema.describe("apl_agreement_by_dep", "anything") == "see docs/validation.md"
    assert schema.describe("nowhere", "x") is None


@pytest.fixture(scope="module")
def lot_run(data_dir: Path):  # type: ignore[no-untyped-def]
    params = ScoreParams(region="46", engine="crow-fly", k=2, exact=False,
                         what_if=("46102",), supply_kinds=("pharmacy",))  # fmt: skip
    return run_score(params, data_dir=data_dir)


def test_every_written_column_is_catalogued(lot_run) -> None:  # type: ignore[no-untyped-def]
    written = {**lot_run.layers, **lot_run.tables}
    missing: list[str] = []
    for name, frame in written.items():
        if not len(frame.columns):
            continue
        if schema._layer(name) is None:
            missing.append(f"layer {name}")
            continue
        for col in frame.columns:
            if col != "geometry" and schema.match_column(name, str(col)) is None:
                missing.append(f"{name}.{col}")
    assert not missing, "not in accessmap.outputs.schema: " + ", ".join(missing)
