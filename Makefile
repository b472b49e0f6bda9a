# Two commands do all the set-up on a fresh machine:
#   make run    run the main job: the default policy comparison and its report
#   make test   run the test suite
# Both create .venv with Python >= 3.12 when it is missing (pyenv picks 3.12
# from .python-version on these machines) and install the project into it.
# `make` alone (or `make help`) lists every target and variable.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS_STAMP := $(VENV)/.notebooks

.DEFAULT_GOAL := help
.PHONY: help run test bench check notebooks clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { \
	  $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || \
	    { echo "error: $(PYTHON) is $$($(PYTHON) --version 2>&1); channel-sim needs Python >= 3.12 (set PYTHON=python3.12)"; exit 1; }; \
	  $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,app]'
	@touch $(STAMP)

$(NOTEBOOKS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[notebooks]'
	@touch $(NOTEBOOKS_STAMP)

# Every shipped scenario (the baseline and one file per policy), each under
# DRAWS parameter sets drawn from the calibration's posterior
# (sim/data/posterior.csv) with REPLICATIONS seeds a draw, the same draws and
# seeds in every scenario, a year a run, into OUT, then the report. Runs
# already in the folder are not run again.
SCENARIOS := scenarios/baseline.yaml $(filter-out scenarios/baseline.yaml scenarios/baseline_2024.yaml,$(sort $(wildcard scenarios/*.yaml)))
DRAWS ?= 10
REPLICATIONS ?= 10
SHIPPED_POSTERIOR := sim/data/posterior.csv
POSTERIOR ?= $(SHIPPED_POSTERIOR)
WORKERS ?=
# A results folder holds one batch definition, so each choice of the variables
# gets a folder of its own: results/policy-comparison for the defaults,
# results/policy-comparison-d<DRAWS>-n<REPLICATIONS> for other draws or
# replications, and the posterior's name after it for another posterior
# (results/calibrate-2025/posterior.csv: -calibrate-2025).
POSTERIOR_NAME = $(if $(filter posterior,$(notdir $(basename $(POSTERIOR)))),$(notdir $(patsubst %/,%,$(dir $(POSTERIOR)))),$(notdir $(basename $(POSTERIOR))))
OUT ?= results/policy-comparison$(if $(filter-out 10 10,$(DRAWS) $(REPLICATIONS)),-d$(DRAWS)-n$(REPLICATIONS))$(if $(filter-out $(SHIPPED_POSTERIOR),$(POSTERIOR)),$(if $(filter-out 10 10,$(DRAWS) $(REPLICATIONS)),,-d$(DRAWS)-n$(REPLICATIONS))-$(POSTERIOR_NAME))

help:
	@echo "make targets (each creates .venv and installs the project into it when needed):"
	@echo "  make run        every shipped scenario under DRAWS parameter draws from POSTERIOR x REPLICATIONS"
	@echo "                  seeds, a year a run, into OUT, then its report (OUT/report.html)"
	@echo "  make test       the test suite"
	@echo "  make check      check every shipped scenario file (unknown keys, wrong types) without running it"
	@echo "  make bench      the speed benchmark"
	@echo "  make notebooks  install Jupyter (the notebooks extra) into .venv and open Jupyter Lab on notebooks/"
	@echo "  make clean      remove .venv and the build's leftovers (results/ is kept)"
	@echo "  make help       this list"
	@echo ""
	@echo "variables of make run (now):"
	@echo "  DRAWS=$(DRAWS)  REPLICATIONS=$(REPLICATIONS)  POSTERIOR=$(POSTERIOR)  WORKERS=$(if $(WORKERS),$(WORKERS),(all cores))"
	@echo "  OUT=$(OUT)"
	@echo "  OUT follows the others: results/policy-comparison for the defaults, results/policy-comparison-d<DRAWS>-n<REPLICATIONS>"
	@echo "  otherwise (and the posterior's name after it for another POSTERIOR), since a folder holds one batch;"
	@echo "  a run again with the same variables finds its runs there and only rewrites the report."
	@echo "  PYTHON=$(PYTHON) is the Python that creates .venv (>= 3.12)."
	@echo ""
	@echo "examples:"
	@echo "  make run                                 # 10 draws x 10 seeds -> results/policy-comparison"
	@echo "  make run REPLICATIONS=40                 # -> results/policy-comparison-d10-n40"
	@echo "  make run DRAWS=20 WORKERS=2 OUT=results/mine"
	@echo "  make run POSTERIOR=results/calibrate-2025/posterior.csv   # -> results/policy-comparison-d10-n10-calibrate-2025"

run: $(STAMP)
	$(BIN)/channel-sim batch $(SCENARIOS) --posterior $(POSTERIOR) --draws $(DRAWS) --replications $(REPLICATIONS) $(if $(WORKERS),--workers $(WORKERS) )--out $(OUT) --report

# The browser tests (the report, channel-sim app) drive Debian's Chromium through Playwright (never a browser of Playwright's own):
# installed here when it is missing and this is root with apt-get, else that test is skipped and says why.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	    echo "warning: apt-get could not install chromium; the browser test will be skipped"; \
	else echo "warning: no $(CHROMIUM) (apt-get install chromium as root); the browser test will be skipped"; fi

test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

check: $(STAMP)
	$(BIN)/channel-sim check $(SCENARIOS)

# Jupyter Lab on the notebooks (as root, as on these machines, with --allow-root); Ctrl-C stops it.
notebooks: $(NOTEBOOKS_STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
