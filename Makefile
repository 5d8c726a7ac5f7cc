# The Quick start: `make repro` runs the pipeline, `make test` the tests. Each first sets up
# .venv from the pins (requirements.txt) when it is missing or older than the pins.
# Offline: MAKEMORE_DATA=/path/to/names.txt names a local copy of the names list.
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
ifdef MAKEMORE_DATA
# absolute, because `dvc exp run --queue` and `--temp` run stages from a copy elsewhere
export MAKEMORE_DATA := $(abspath $(MAKEMORE_DATA))
endif

.PHONY: setup repro test figures

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -e .
	touch $@

repro: setup
	dvc repro

test: setup
	python -m pytest -q -n auto --dist loadfile  # a test file a worker, one worker a core

figures: setup
	python tools/figures.py
