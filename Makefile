# fink-tui — every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install demo run test test-snapshot-update lint bench screenshots clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "fink-tui needs Python 3.11 or newer")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[demo,test,dev]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install fink-tui with its demo, test and dev extras

demo: $(STAMP) ## start the app on an embedded broker with a live stream of alerts
	$(VENV)/bin/fink-tui demo

run: $(STAMP) ## start the app on your fink-client credentials (~/.finkclient)
	$(VENV)/bin/fink-tui

test: $(STAMP) ## run the whole test suite (starts its own broker)
	$(PY) -m pytest

test-snapshot-update: $(STAMP) ## rewrite the SVG snapshots after a deliberate UI change
	$(PY) -m pytest tests/test_snapshots.py --snapshot-update

lint: $(STAMP) ## ruff, mypy --strict and the import-layer contract (tests/test_layers.py)
	$(VENV)/bin/ruff check fink_tui tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -p no:cacheprovider tests/test_layers.py tests/test_textual_compat.py

bench: $(STAMP) ## decode, lag and app (keys, ingest, CPU, memory) benchmarks against their anchors
	$(PY) bench/bench.py
	$(PY) bench/key_paint.py
	$(PY) bench/table_render.py
	$(PY) bench/app_bench.py

screenshots: $(STAMP) ## regenerate the README screenshots (docs/*.svg) from the app itself
	$(PY) -m fink_tui.demo.screenshots docs

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
