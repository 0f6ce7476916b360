# Two commands on a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_DIRS := $(wildcard src api tests bench)
export TSUNAGARI_SOURCE ?= $(abspath ../shared/data/saitama)
export TSUNAGARI_STORE ?= data/build/tsunagari.gpkg

.PHONY: venv store demo test lint typecheck pytest lock clean

$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(BIN)/.installed

store: venv
	$(BIN)/tsunagari-geo data import

demo: store
	$(BIN)/tsunagari-geo data info

lint: venv
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest

test: lint typecheck pytest

# Re-resolve the locked versions after changing pyproject.toml's dependencies.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet --upgrade pip
	.lockenv/bin/pip install --quiet hatchling editables -e '.[dev]'
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^tsunagari' > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) data/build .pytest_cache .mypy_cache .ruff_cache
