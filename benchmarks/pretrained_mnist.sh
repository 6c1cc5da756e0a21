#!/usr/bin/env bash
# Trains the network sdae ships as sdae.pretrained("mnist") -- README's main job: greedy denoising
# pretraining of 784-256-128-64 on MNIST, 120 epochs of fine-tuning, the test evaluation -- and writes it
# with its model card (sdae/weights/mnist.safetensors, .json, .md) through sdae.shipped.package.
#   SDAE_DATA_DIR=../shared/data/mnist bash benchmarks/pretrained_mnist.sh [OUT_DIR]     # OUT_DIR: sdae/weights
set -euo pipefail
python=${PYTHON:-.venv/bin/python}
out=${1:-sdae/weights}
run=${RUN:-runs/mnist}
steps=("sdae pretrain --out $run --overwrite --quiet" "sdae finetune $run --overwrite --quiet" "sdae evaluate $run")
for step in "${steps[@]}"; do
  echo "== $step ($(date +%T))" >&2
  # shellcheck disable=SC2086
  "$python" -m $step
done
"$python" -c "import sys; from sdae.shipped import package; print(*package(sys.argv[1], sys.argv[2], 'mnist', sys.argv[3:]), sep='\n')" \
  "$run" "$out" "${steps[@]}"
