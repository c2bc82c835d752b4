"""notebooks/walkthrough.ipynb runs top to bottom on the data directory (nbclient).

The notebook is stored without outputs; it is executed with the ``python3`` kernel of the
environment running the tests (jupyter_client swaps ``python`` for ``sys.executable``), with its
outputs and graph cache in a temporary directory.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pyogrio
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"


def test_stored_without_outputs() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 8
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    text = "".join("".join(c["source"]) for c in nb["cells"])
    # no absolute machine paths (a path rooted at a home or work directory)
    assert not re.search(r"['\"]/(?:work|home|root|Users)/", text)
    for step in ("load_communes", "load_network", "NetworkEngine", "run_score", "apl",
                 "epci_scores", "siting_curve", "site_gains", "what_if", "plot_map",
                 "interactive_map", "to_geopackage", "write_report_pdf"):  # fmt: skip
        assert step in text, step
    # no workaround cells: whatever the notebook hacked around is a library function now
    for hack in ("warnings", "setLevel", "catch_warnings", "in_graph_box", "net.x.min"):
        assert hack not in text, hack


def test_walkthrough_runs_top_to_bottom(data_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ACCESSMAP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ACCESSMAP_NOTEBOOK_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("ACCESSMAP_CACHE_DIR", str(tmp_path / "cache"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]  # fmt: skip
    assert not errors
    out = tmp_path / "out"
    gpkg = out / "walkthrough.gpkg"
    layers = {str(n) for n, _ in pyogrio.list_layers(gpkg)}
    assert {"communes", "epci_scores", "sites", "layer_styles", "run_metadata"} <= layers
    assert (out / "lot_time.png").stat().st_size > 10_000
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    # the maps are shown inline: static figures as PNG, the interactive map as HTML
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) >= 3  # Lot time map, need map, siting curve
    htmls = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("<iframe" in h and "leaflet" in h.lower() for h in htmls)
    assert any("ScoreResult(Occitanie" in o.get("data", {}).get("text/plain", "")
               for o in outputs)  # the short repr  # fmt: skip
    texts = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                    for o in c.outputs)  # fmt: skip
    assert "6,124,653" in texts  # the region's population was loaded
    assert "population-weighted mean time: road" in texts
