#!/usr/bin/env bash
# The paper's other experiments (`sdae paper NAME`), all eight in one go, figures and JSON into OUT.
#   SDAE_DATA_DIR=../shared/data/mnist bash benchmarks/paper_experiments.sh       # CPU: SCALE=0.1, UNITS=500
#   SCALE=1 UNITS=1000 PRETRAIN_EPOCHS=15 EPOCHS=50 LRS=0.001,0.002,0.004 DEVICE=cuda bash benchmarks/paper_experiments.sh
# Budgets as benchmarks/table3.sh's (60 pretraining epochs, up to 100 fine-tuning epochs, patience 20, at a tenth of
# the data).
# Environment: SCALE, UNITS, PRETRAIN_EPOCHS, EPOCHS, PATIENCE, DEVICE (auto), LRS (the fine-tuning rates of the grids that are largest on CPU:
# noise-emphasis, depth-width; default 0.002 alone), EXPERIMENTS (all eight), OUT (docs/figures/paper),
# PYTHON (.venv/bin/python).
set -euo pipefail
python=${PYTHON:-.venv/bin/python}
scale=${SCALE:-0.1}
units=${UNITS:-500}
device=${DEVICE:-auto}
out=${OUT:-docs/figures/paper}
lrs=${LRS:-0.002}
common=(--out "$out" --scale "$scale" --units "$units" --device "$device" --pretrain-epochs "${PRETRAIN_EPOCHS:-60}"
  --epochs "${EPOCHS:-100}" --patience "${PATIENCE:-20}" --quiet)
for name in ${EXPERIMENTS:-mnist-filters patches samples noise-level noisy-inputs svm-codes noise-emphasis depth-width}; do
  extra=()
  case $name in noise-emphasis|depth-width) extra=(--lrs "$lrs") ;; esac
  start=$(date +%s)
  "$python" -m sdae paper "$name" "${common[@]}" "${extra[@]}"
  echo "$name: $(( $(date +%s) - start )) s"
done
