#!/usr/bin/env bash
# Every GPU check in one go, meant to finish in under 10 minutes on one modern GPU, writing one JSON:
#   1. benchmarks/speed.py on the GPU, with the eager / torch.compile(mode="reduce-overhead") comparison,
#      and benchmarks/peers.py (sdae against the notebook's loop, pt-sdae's loop and a bare loop, interleaved);
#   2. the full default MNIST pipeline, timed: sdae pretrain, sdae finetune (120 epochs) eager, then
#      the same fine-tuning again with --compile (CUDA graphs), sdae evaluate;
#   3. the paper's SdA-3 on MNIST (benchmarks/paper_mnist.sh: 784-1000-1000-1000, masking 25%,
#      15 pretraining epochs per pair, 50 supervised);
#   4. where there are two GPUs or more: torchrun --nproc-per-node 2 (NCCL) pretraining and fine-tuning.
# `bash benchmarks/gpu.sh table3` instead runs the whole of Table 3 at full scale in one go (every column, every
# problem, and the paper's protocol beside sdae's defaults: benchmarks/table3.sh with SCALE=1 UNITS=1000
# PRETRAIN_EPOCHS=15 EPOCHS=50 PATIENCE=10; hours, not minutes; results in benchmarks/results/table3-scale1*.json),
# and `... gpu.sh paper` the paper's other experiments at full scale (benchmarks/paper_experiments.sh).
# Installs nothing: run it from the repository root with sdae installed in .venv (or set PYTHON), MNIST
# in $SDAE_DATA_DIR. DEVICE=cpu QUICK=1 runs the same steps, tiny, to check the script itself.
#   SDAE_DATA_DIR=../shared/data/mnist bash benchmarks/gpu.sh            # results in benchmarks/results/gpu.json
#   SDAE_DATA_DIR=../shared/data/mnist bash benchmarks/gpu.sh table3     # Table 3, full scale
set -euo pipefail
what=${1:-checks}
[[ $what == checks || $what == table3 || $what == paper ]] || { echo "gpu.sh: unknown mode '$what'; give table3, paper or nothing" >&2; exit 2; }
python=${PYTHON:-.venv/bin/python}
out=${OUT:-benchmarks/results}
device=${DEVICE:-cuda}
quick=${QUICK:-0}
work=$(mktemp -d)
mkdir -p "$out"
sdae() { "$python" -m sdae "$@"; }
now() { date +%s.%N; }
since() { "$python" -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 3))" "$1" "$2"; }  # no bc needed
log() { echo "== $* ($(date +%T))" >&2; }

if [[ $device == cuda ]]; then
  "$python" -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.cuda.get_device_name())"
  gpus=$("$python" -c "import torch; print(torch.cuda.device_count())")
else
  gpus=0
fi
if [[ $quick == 1 ]]; then
  limit=(--limit 3000); pre=1; fine=2; paper=(1 2); speed=(--examples 2000 --batch-sizes 128 --memory-epochs 1)
else
  limit=(); pre=10; fine=120; paper=(15 50); speed=(--memory-epochs 3)
fi

if [[ $what == table3 || $what == paper ]]; then
  script=benchmarks/table3.sh; [[ $what == paper ]] && script=benchmarks/paper_experiments.sh
  if [[ $quick == 1 ]]; then  # the script's steps on a few examples: a check of the script, not a result
    settings=(SCALE=0.02 UNITS=16 PRETRAIN_EPOCHS=1 EPOCHS=2 PATIENCE=1 PROBLEMS=mnist-basic,rectangles
      EMPHASIS_PROBLEMS=mnist-basic FILTERS_SCALE=0.02 FILTERS_EPOCHS=1 OUT="$work")
  elif [[ $what == table3 ]]; then
    settings=(SCALE=1 UNITS=1000 PRETRAIN_EPOCHS=15 EPOCHS=50 PATIENCE=10 OUT="$out")
  else
    settings=(SCALE=1 UNITS=1000 PRETRAIN_EPOCHS=15 EPOCHS=50 PATIENCE=10 LRS=0.001,0.002,0.004 LEVELS=0.1,0.25,0.4
      EMPHASIS_PROBLEMS=mnist-basic,mnist-rot,mnist-bg-rand,rectangles OUT="$out/paper-scale1")
  fi
  log "$what at ${settings[0]#SCALE=} of the data ($script)"
  env "${settings[@]}" DEVICE="$device" PYTHON="$python" bash "$script"
  exit 0
fi

log "1. speed benchmark"
timeout 240 "$python" benchmarks/speed.py --device "$device" --compile "${speed[@]}" --out "$work/speed.json" >&2

log "1b. sdae against its peers, interleaved (benchmarks/peers.py)"
if [[ $quick == 1 ]]; then peers=(--examples 2000 --epochs 1 --rounds 1); else peers=(--rounds 3); fi
timeout 300 "$python" benchmarks/peers.py --device "$device" "${peers[@]}" --out "$work/peers.json" >&2

log "2. default MNIST pipeline"
run=$work/mnist
t0=$(now); sdae pretrain --out "$run" --device "$device" --epochs "$pre" "${limit[@]}" --quiet >&2
t1=$(now); sdae finetune "$run" --device "$device" --epochs "$fine" --quiet >&2
t2=$(now); sdae evaluate "$run" --device "$device" --json > "$work/evaluate.json"
cp "$run/metrics.jsonl" "$work/eager-metrics.jsonl"
t3=$(now); sdae finetune "$run" --device "$device" --epochs "$fine" --compile --overwrite --quiet >&2
t4=$(now); sdae evaluate "$run" --device "$device" --json > "$work/evaluate-compiled.json"
cp "$run/metrics.jsonl" "$work/compiled-metrics.jsonl"
echo "{\"pretrain_s\": $(since "$t0" "$t1"), \"finetune_eager_s\": $(since "$t1" "$t2"), \"finetune_compiled_s\": $(since "$t3" "$t4")}" > "$work/pipeline.json"

log "3. the paper's SdA-3 on MNIST"
t0=$(now)
SEED=0 VARIANTS=sda3 SDAE="$python -m sdae" bash benchmarks/paper_mnist.sh "$work/paper" "${paper[@]}" \
  > "$work/paper.txt" 2>&1 || true
echo "{\"seconds\": $(since "$t0" "$(now)")}" > "$work/paper-time.json"

if (( gpus >= 2 )); then
  log "4. torchrun, 2 GPUs (NCCL)"
  t0=$(now)
  "$python" -m torch.distributed.run --standalone --nproc-per-node 2 -m sdae pretrain --out "$work/ddp" \
    --device cuda --epochs "$pre" "${limit[@]}" --quiet >&2
  t1=$(now)
  "$python" -m torch.distributed.run --standalone --nproc-per-node 2 -m sdae finetune "$work/ddp" --device cuda \
    --epochs "$fine" --quiet >&2
  t2=$(now)
  cp "$work/ddp/metrics.jsonl" "$work/ddp-metrics.jsonl"
  echo "{\"pretrain_s\": $(since "$t0" "$t1"), \"finetune_s\": $(since "$t1" "$t2")}" > "$work/ddp.json"
fi

log "results"
"$python" - "$work" "$out/gpu.json" "$gpus" <<'EOF'
import json, os, sys
work, target, gpus = sys.argv[1], sys.argv[2], int(sys.argv[3])
def read(name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None
def training_seconds(name, stage):
    path = os.path.join(work, name)
    if not os.path.exists(path):
        return None
    rows = [json.loads(line) for line in open(path) if line.strip()]
    return round(sum(r["seconds"] for r in rows if r["stage"] == stage), 2)
paper = open(os.path.join(work, "paper.txt")).read() if os.path.exists(os.path.join(work, "paper.txt")) else ""
result = {
    "gpus": gpus,
    "speed": read("speed.json"),
    "peers": (read("peers.json") or {}).get("summary"),
    "pipeline": read("pipeline.json"),
    "finetune_training_seconds": {"eager": training_seconds("eager-metrics.jsonl", "finetune"),
                                  "compiled": training_seconds("compiled-metrics.jsonl", "finetune")},
    "evaluate": {"eager": read("evaluate.json"), "compiled": read("evaluate-compiled.json")},
    "paper_sda3": {"output": paper.strip().splitlines()[-6:], **(read("paper-time.json") or {})},
    "torchrun_2gpu": read("ddp.json"),
    "torchrun_2gpu_finetune_training_seconds": training_seconds("ddp-metrics.jsonl", "finetune"),
}
json.dump(result, open(target, "w"), indent=2)
print(json.dumps({k: result[k] for k in ("pipeline", "finetune_training_seconds", "torchrun_2gpu")}, indent=2))
EOF
