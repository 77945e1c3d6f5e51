#!/usr/bin/env bash
# The GPU check in one command (what it does: benchmarks/gpu_check.py). On a fresh machine with one NVIDIA
# GPU: builds the pinned environment (make env; PyPI's torch wheel brings its CUDA libraries and needs an NVIDIA
# driver >= 580; for older drivers see TORCH_INDEX in the Makefile), then simulates, runs the tiny DAG on the
# card, kills and resumes a training, trains the paper's network and runs the CUDA tests, within 9 minutes
# counted from here, so the environment build is part of the budget.
#   benchmarks/gpu_check.sh              # the full check
#   benchmarks/gpu_check.sh --tiny       # toy sizes on a CPU
#   benchmarks/gpu_check.sh --minutes 15 --batch-size 1024   # other options: gpu_check.py --help
set -euo pipefail
started=$(date +%s)
cd "$(dirname "$0")/.."
make env
exec .venv/bin/python benchmarks/gpu_check.py --started-at "$started" "$@"
