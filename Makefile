# gcsim: every target creates its own virtual environment from the project's files.
# Two install levels, each with its own stamp: the runtime (gcsim and its dependencies:
# what demo, report, figures and bench need) and the dev tool chain (tests, MPI,
# notebooks, ruff, mypy: what test and lint need, several hundred MB more).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev
DATA_STAMP    := $(VENV)/.installed-data

.PHONY: demo test test-fast lint bench report figures clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(DATA_STAMP): pyproject.toml $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -e ".[data]"
	touch $(DATA_STAMP)

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(DEV_STAMP) $(RUNTIME_STAMP) $(DATA_STAMP)

## demo: the main job: the quickstart sweep (all schemes, tables and figures)
demo: $(RUNTIME_STAMP)
	$(VENV)/bin/gcsim sweep scenarios/quickstart.toml --out results/quickstart --restart

## report: decodability-and-stability table of every scheme at default sizes
report: $(RUNTIME_STAMP)
	$(VENV)/bin/gcsim report --out results/report.md

## figures: regenerate every committed figure in figures/ from the shipped scenarios
## (time-to-accuracy trains on a data set that ships inside scikit-learn: the data extra)
figures: $(DATA_STAMP)
	$(PY) figures/regenerate.py

## test: the whole test suite
test: $(DEV_STAMP)
	$(PY) -m pytest -q

## test-fast: the quick loop: every test not marked slow (> ~3 s) or live (MPI jobs)
test-fast: $(DEV_STAMP)
	$(PY) -m pytest -q -m "not slow and not live"

## lint: ruff (lint + format check) and mypy on gcsim/
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check gcsim tests benchmarks
	$(VENV)/bin/ruff format --check gcsim tests benchmarks
	$(VENV)/bin/mypy

## bench: kernel benchmarks (writes benchmarks/results/*.json and *.md)
bench: $(RUNTIME_STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis .mypy_cache .ruff_cache
