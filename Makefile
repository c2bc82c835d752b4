# The README's commands. Everything runs in a local virtual environment built from
# pyproject.toml; the data directory defaults to ../shared/data on the project's machines.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ACCESSMAP_DATA_DIR ?= $(abspath ../shared/data)
export ACCESSMAP_DATA_DIR
OUT    ?= out

.PHONY: install run test lint typecheck bench qgis-test notebook clean

$(BIN)/accessmap: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/accessmap

## Install, then run the main job on the default Occitanie data.
run: install
	$(BIN)/accessmap score --out $(OUT)/occitanie.gpkg --overwrite

## Install, then run the test suite (what CI runs).
test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
