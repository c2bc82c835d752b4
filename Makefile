# The README's commands. Everything runs in a local virtual environment built from
# pyproject.toml; the data directory defaults to ../shared/data on the project's machines.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ACCESSMAP_DATA_DIR ?= $(abspath ../shared/data)
export ACCESSMAP_DATA_DIR
OUT    ?= out

.PHONY: install run maps test qgis-test notebook lint bench clean

$(BIN)/accessmap: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/accessmap

## Install, then run the main job on the default Occitanie data.
run: install
	$(BIN)/accessmap score --out $(OUT)/accessmap.gpkg --overwrite

## After `make run`: the A4 maps, the offline interactive map and the report (HTML + A4 PDF).
maps: install
	$(BIN)/accessmap map $(OUT)/accessmap.gpkg --indicator time --out $(OUT)/map_time.png --html $(OUT)/map.html --overwrite
	$(BIN)/accessmap map $(OUT)/accessmap.gpkg --indicator apl --out $(OUT)/map_apl.png --overwrite
	$(BIN)/accessmap map $(OUT)/accessmap.gpkg --indicator need --out $(OUT)/map_need.png --overwrite
	$(BIN)/accessmap report $(OUT)/accessmap.gpkg --out $(OUT)/report.html --pdf $(OUT)/report.pdf --overwrite

## Install, then run the test suite (what CI runs).
test: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

## The PyQGIS check alone (needs Debian python3-qgis: `sudo bash scripts/install-qgis.sh`).
qgis-test: install
	ACCESSMAP_REQUIRE_QGIS=1 $(BIN)/python -m pytest -q -m qgis

## Execute the walkthrough notebook top to bottom (as the test suite does).
notebook: install
	$(BIN)/python -m pytest -q tests/test_notebook.py

lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
