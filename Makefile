# gcsim: every target creates its own virtual environment from the project's files.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint bench report figures clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## demo: the main job: the quickstart sweep (all schemes, tables and figures)
demo: $(STAMP)
	$(VENV)/bin/gcsim sweep scenarios/quickstart.toml --out results/quickstart --restart

## report: decodability-and-stability table of every scheme at default sizes
report: $(STAMP)
	$(VENV)/bin/gcsim report --out results/report.md

## figures: regenerate every committed figure in figures/ from the shipped scenarios
figures: $(STAMP)
	$(PY) figures/regenerate.py

## test: the whole test suite
test: $(STAMP)
	$(PY) -m pytest -q

## test-fast: the quick loop: every test not marked slow (> ~3 s) or live (MPI jobs)
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not live"

## lint: ruff (lint + format check) and mypy on gcsim/
lint: $(STAMP)
	$(VENV)/bin/ruff check gcsim tests benchmarks
	$(VENV)/bin/ruff format --check gcsim tests benchmarks
	$(VENV)/bin/mypy

## bench: kernel benchmarks (writes benchmarks/results/*.json and *.md)
bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis .mypy_cache .ruff_cache
