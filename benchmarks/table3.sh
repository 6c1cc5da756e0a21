#!/usr/bin/env bash
# Table 3 of Vincent et al. (2010), every column, on the 2007 problems, with sdae's defaults and with the paper's
# own protocol (--preset vincent2010), each written as JSON and merged into one table (benchmarks/bench_table.py).
#   SDAE_DATA_DIR=../shared/data/mnist bash benchmarks/table3.sh      # CPU: SCALE=0.1, UNITS=500, budgets 60/100/20
#   SCALE=1 UNITS=1000 PRETRAIN_EPOCHS=15 EPOCHS=50 PATIENCE=10 DEVICE=cuda bash benchmarks/table3.sh   # full, a GPU
# Budgets are epochs of the digit problems' 10,000 x SCALE training examples (`sdae bench`): at a tenth of the data
# the CPU defaults give 60 pretraining epochs a pair (480 updates) and up to 100 fine-tuning epochs (800 updates),
# patience 20, where the full scale's 15 and 50 would leave a tenth of the full scale's updates.
# Environment: SCALE, UNITS, PRETRAIN_EPOCHS, EPOCHS, PATIENCE, DEVICE (auto), PROBLEMS (all eight), MODELS (all six),
# PRESET_PROBLEMS (mnist-basic,rectangles: where the paper's protocol runs beside the defaults; "" for none),
# OUT (benchmarks/results), PYTHON (.venv/bin/python).
set -euo pipefail
python=${PYTHON:-.venv/bin/python}
scale=${SCALE:-0.1}
units=${UNITS:-500}
device=${DEVICE:-auto}
out=${OUT:-benchmarks/results}
problems=${PROBLEMS:-mnist-basic,mnist-rot,mnist-bg-rand,mnist-bg-img,mnist-rot-bg-img,rectangles,rectangles-image,convex}
models=${MODELS:-svm,mlp,saa3,dbn1,dbn3,sda3}
preset_problems=${PRESET_PROBLEMS-mnist-basic,rectangles}
mkdir -p "$out"
common=(--scale "$scale" --units "$units" --device "$device" --pretrain-epochs "${PRETRAIN_EPOCHS:-60}"
  --epochs "${EPOCHS:-100}" --patience "${PATIENCE:-20}" --quiet)
start=$(date +%s)
"$python" -m sdae bench --problems "$problems" --models "$models" "${common[@]}" --out "$out/table3-scale$scale.json"
echo "defaults: $(( $(date +%s) - start )) s"
if [[ -n $preset_problems ]]; then
  start=$(date +%s)
  "$python" -m sdae bench --problems "$preset_problems" --models "${PRESET_MODELS:-saa3,sda3}" --preset vincent2010 \
    "${common[@]}" --out "$out/table3-vincent2010-scale$scale.json"
  echo "vincent2010: $(( $(date +%s) - start )) s"
fi
"$python" benchmarks/bench_table.py "$out/table3-scale$scale.json"
