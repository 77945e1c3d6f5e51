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

# torch first, from TORCH_INDEX when set: PyPI's Linux wheel of the pinned torch is the CUDA 13
# build (NVIDIA driver >= 580, several GB of CUDA libraries). On a machine without nvidia-smi
# TORCH_INDEX is PyTorch's CPU index, so a CPU-only machine gets the CPU build; where that index
# cannot be reached pip says so within seconds (--retries 0) and takes the pinned wheel of the
# default index (the CUDA build from PyPI). A GPU machine needs a driver >= 580, or
# `make env TORCH_INDEX=https://download.pytorch.org/whl/cu126` for older drivers (>= 525).
TORCH_VERSION := $(shell sed -n 's/^torch==//p' requirements.lock)
TORCH_INDEX ?= $(if $(shell command -v nvidia-smi),,https://download.pytorch.org/whl/cpu)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps --retries 0 --timeout 15 \
	    $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

clean-results:
	rm -rf results/data results/models results/eval results/gradcam results/augment results/relevance \
	       results/figures results/tables results/benchmarks results/checkpoints logs .snakemake
