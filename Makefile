# Two commands do all the set-up on a fresh machine:
#   make run    run the main job: the default policy comparison and its report
#   make test   run the test suite
# Both create .venv with Python >= 3.12 when it is missing (pyenv picks 3.12
# from .python-version on these machines) and install the project into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench check clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { \
	  $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || \
	    { echo "error: $(PYTHON) is $$($(PYTHON) --version 2>&1); channel-sim needs Python >= 3.12 (set PYTHON=python3.12)"; exit 1; }; \
	  $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Every shipped scenario (the baseline and one file per policy), each under
# DRAWS parameter sets drawn from the calibration's posterior
# (sim/data/posterior.csv) with REPLICATIONS seeds a draw, the same draws and
# seeds in every scenario, a year a run, into results/policy-comparison, then
# the report. Runs already in the folder are not run again.
SCENARIOS := scenarios/baseline.yaml $(filter-out scenarios/baseline.yaml scenarios/baseline_2024.yaml,$(sort $(wildcard scenarios/*.yaml)))
DRAWS ?= 10
REPLICATIONS ?= 10
POSTERIOR ?= sim/data/posterior.csv
OUT ?= results/policy-comparison

run: $(STAMP)
	$(BIN)/channel-sim batch $(SCENARIOS) --posterior $(POSTERIOR) --draws $(DRAWS) --replications $(REPLICATIONS) --out $(OUT) --report

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

check: $(STAMP)
	$(BIN)/channel-sim check $(SCENARIOS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
