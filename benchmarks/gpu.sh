#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: the speed benchmark and the whole MNIST pipeline (pretrain,
# 120-epoch fine-tune, visualize, evaluate), timed. Installs nothing: run it from the repository
# root with sdae already installed in .venv (or set PYTHON), and MNIST in $SDAE_DATA_DIR.
#   SDAE_DATA_DIR=../shared/data/mnist bash benchmarks/gpu.sh
set -euo pipefail
python=${PYTHON:-.venv/bin/python}
out=${OUT:-benchmarks/results}
mkdir -p "$out"
"$python" -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.cuda.get_device_name())"
timeout 300 "$python" benchmarks/speed.py --device cuda --memory-epochs 3 --out "$out/speed-gpu.json"
run=$(mktemp -d)/mnist
sdae() { "$python" -m sdae "$@"; }
start=$(date +%s.%N)
sdae pretrain --out "$run" --device cuda --quiet
mid=$(date +%s.%N)
sdae finetune "$run" --device cuda --quiet
end=$(date +%s.%N)
sdae visualize "$run" >/dev/null
sdae evaluate "$run" --device cuda
cp -r "$run/figures" "$out/gpu-figures"
cp "$run/metrics.jsonl" "$out/gpu-metrics.jsonl"
echo "pretrain (10 epochs x 3 pairs): $(echo "$mid - $start" | bc) s; finetune (120 epochs, end to end through sdae finetune): $(echo "$end - $mid" | bc) s"
