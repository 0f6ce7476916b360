# Two commands on a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_DIRS := $(wildcard src api tests bench hatch_build.py)
export TSUNAGARI_SOURCE ?= $(abspath ../shared/data/saitama)
export TSUNAGARI_STORE ?= data/build/tsunagari.gpkg

.PHONY: venv vendor dist store demo test lint typecheck pytest lock clean messages

$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Leaflet and its plugins, pinned in the lock file, copied with their licences into the folder
# the app serves (git-ignored): the pages never load anything from a CDN.
VENDORED := src/tsunagari_geo/maps/static/vendor/manifest.json

venv: $(BIN)/.installed $(VENDORED)

$(VENDORED): src/tsunagari_geo/maps/vendor/package-lock.json | $(BIN)/.installed
	$(BIN)/tsunagari-geo site vendor

vendor: $(VENDORED)

# The sdist and the wheel built from it, for `pip install dist/tsunagari_geo-*.whl`: they carry
# the package's data files and the vendored front-end (hatch_build.py refuses to build without it).
dist: venv
	rm -rf dist
	$(BIN)/python -m build --outdir dist

# All Japan's towns as well, so addresses outside the region read to their town.
JAPAN ?= ../shared/data/japan
store: venv
	$(BIN)/tsunagari-geo data import $(if $(wildcard $(JAPAN)/towns/api/ja.json),--japan $(JAPAN))

# The whole pipeline on the fictional sample data, then the service in the foreground.
# The demo runs offline: a plain background instead of 地理院タイル unless TSUNAGARI_BASEMAP=gsi.
PORT ?= 8000
demo: export TSUNAGARI_BASEMAP ?= blank
demo: store
	$(BIN)/tsunagari-geo data info
	$(BIN)/tsunagari-geo build
	$(BIN)/tsunagari-geo tiles build
	$(BIN)/tsunagari-geo site build --out site
	@echo ""
	@echo "  地図 (map):               http://127.0.0.1:$(PORT)/map"
	@echo "  ダッシュボード (dashboard): http://127.0.0.1:$(PORT)/dashboard"
	@echo "  OGC API – Features:       http://127.0.0.1:$(PORT)/collections"
	@echo "  静的サイト (static site):  site/  (python3 -m http.server -d site)"
	@echo "  計画担当者用 API は TSUNAGARI_TOKEN を設定して起動したときだけ使えます。Ctrl-C で終了。"
	@echo ""
	$(BIN)/tsunagari-geo serve --port $(PORT)

lint: venv
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

typecheck: venv
	$(BIN)/mypy

# Two workers, a test file at a time on each (its module fixtures built once); PYTEST_WORKERS=0
# runs everything in this one process.
PYTEST_WORKERS ?= 2
pytest: venv
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=25

test: lint typecheck pytest

# Re-resolve the locked versions after changing pyproject.toml's dependencies.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet --upgrade pip
	.lockenv/bin/pip install --quiet hatchling editables -e '.[dev,dask]'
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^tsunagari' > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) data/build dist .pytest_cache .mypy_cache .ruff_cache

# The pages' message catalogue: extract every _() of templates, scripts and label tables into
# messages.pot, then merge it into the en and easy .po files (fill the new msgstr by hand).
LOCALE := src/tsunagari_geo/maps/locale
messages: venv
	PYTHONPATH=src $(BIN)/pybabel extract -F babel.cfg --no-wrap --sort-by-file --omit-header -o $(LOCALE)/messages.pot .
	$(BIN)/pybabel update --no-wrap --no-fuzzy-matching -i $(LOCALE)/messages.pot -l en -o $(LOCALE)/en/LC_MESSAGES/messages.po
	# やさしい日本語 is no locale Babel knows: its plural rules are Japanese ones.
	$(BIN)/pybabel update --no-wrap --no-fuzzy-matching -i $(LOCALE)/messages.pot -l ja -o $(LOCALE)/easy/LC_MESSAGES/messages.po
