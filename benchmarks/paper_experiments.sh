#!/usr/bin/env bash
# The paper's other experiments (`sdae paper NAME`), all eight in one go, figures and JSON into OUT.
#   SDAE_DATA_DIR=../shared/data/mnist bash benchmarks/paper_experiments.sh       # CPU: SCALE=0.1, UNITS=500
#   SCALE=1 UNITS=1000 PRETRAIN_EPOCHS=15 EPOCHS=50 LRS=0.001,0.002,0.004 LEVELS=0.1,0.25,0.4 \
#     EMPHASIS_PROBLEMS=mnist-basic,mnist-rot,mnist-bg-rand,rectangles DEVICE=cuda bash benchmarks/paper_experiments.sh
# Budgets as benchmarks/table3.sh's (60 pretraining epochs, up to 100 fine-tuning epochs, patience 20, at a tenth of
# the data).
# Environment: SCALE, UNITS, PRETRAIN_EPOCHS, EPOCHS, PATIENCE, DEVICE (auto); for the grids that are largest on CPU
# (noise-emphasis, depth-width): LRS (fine-tuning rates, default 0.002 alone), LEVELS (masking and salt-and-pepper
# levels, default 0.25 alone), EMPHASIS_PROBLEMS (mnist-basic,mnist-rot,rectangles); mnist-filters: FILTERS_SCALE
# (1: all 60,000 digits) and FILTERS_EPOCHS (15); EXPERIMENTS (all eight), OUT (docs/figures/paper), PYTHON.
set -euo pipefail
python=${PYTHON:-.venv/bin/python}
scale=${SCALE:-0.1}
units=${UNITS:-500}
device=${DEVICE:-auto}
out=${OUT:-docs/figures/paper}
lrs=${LRS:-0.002}
levels=${LEVELS:-0.25}
common=(--out "$out" --scale "$scale" --units "$units" --device "$device" --pretrain-epochs "${PRETRAIN_EPOCHS:-60}"
  --epochs "${EPOCHS:-100}" --patience "${PATIENCE:-20}" --quiet)
for name in ${EXPERIMENTS:-mnist-filters patches samples noise-level noisy-inputs svm-codes noise-emphasis depth-width}; do
  extra=()
  case $name in
    noise-emphasis) extra=(--lrs "$lrs" --noise-levels "$levels" --problems "${EMPHASIS_PROBLEMS:-mnist-basic,mnist-rot,rectangles}") ;;
    depth-width) extra=(--lrs "$lrs" --noise-levels "$levels") ;;
    mnist-filters) extra=(--scale "${FILTERS_SCALE:-1}" --pretrain-epochs "${FILTERS_EPOCHS:-15}") ;;  # all 60,000 digits
  esac
  start=$(date +%s)
  "$python" -m sdae paper "$name" "${common[@]}" "${extra[@]}"
  echo "$name: $(( $(date +%s) - start )) s"
done
