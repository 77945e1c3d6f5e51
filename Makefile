# The two commands of the README. Both build the pinned environment in .venv the first time.
#   make figures   every figure at the quick scale (a 2-core laptop, minutes)
#   make test      the test suite (runs the whole workflow on the tiny preset too)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= all
PRESET ?= quick

.PHONY: figures test env clean-results dryrun report

figures: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES) --configfile presets/$(PRESET).yaml

test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

report: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --configfile presets/$(PRESET).yaml --report report.html

dryrun: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake -n --configfile presets/$(PRESET).yaml

env: $(STAMP)

# torch is pinned: unpinned, pip would pull several GB of CUDA packages on a CPU machine.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

clean-results:
	rm -rf results/data results/models results/eval results/gradcam results/augment results/relevance \
	       results/figures results/tables results/benchmarks results/checkpoints logs .snakemake
