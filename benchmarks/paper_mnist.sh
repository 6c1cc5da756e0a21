#!/usr/bin/env bash
# The paper's MNIST comparison (Vincent et al. 2010, Table 3), at one budget for all:
#   sda3: denoising pretraining (masking noise 25%), then supervised fine-tuning;
#   saa3: the same with no noise (ordinary autoencoder pretraining);
#   nopretrain: the same network, randomly initialised (--epochs 0), supervised only;
#   dbn3, dbn1: restricted Boltzmann machines (CD-1) pretrained pair by pair, sigmoid units (ACTIVATION is ignored).
# Network 784-1000-1000-1000-10. The validation split (10% of the training digits) chooses the
# fine-tuning epoch; `sdae evaluate` then touches the test set once.
#   SDAE_DATA_DIR=../shared/data/mnist bash benchmarks/paper_mnist.sh [OUT_ROOT] [PRETRAIN_EPOCHS] [SUPERVISED_EPOCHS]
# Environment: SEED (0), ACTIVATION (relu or sigmoid), VARIANTS ("sda3 saa3 nopretrain"),
# PRETRAIN_ONLY=1 to stop after pretraining (e.g. for `sdae svm`), SDAE (the command),
# DROPOUT and INPUT_DROPOUT (0: none) for the supervised fine-tuning, FINETUNE_LR (0.0005),
# VAL_FRACTION (0.1; 0: train on all 60,000 digits and keep the last epoch's weights, runs named -all).
set -euo pipefail
root=${1:-runs/paper}
pretrain_epochs=${2:-15}
supervised_epochs=${3:-50}
sdae=${SDAE:-sdae}
seed=${SEED:-0}
activation=${ACTIVATION:-relu}
val_fraction=${VAL_FRACTION:-0.1}
common=(--layers 1000,1000,1000 --lr 0.001 --seed "$seed" --activation "$activation" --val-fraction "$val_fraction" --quiet)
dropout=${DROPOUT:-0}
input_dropout=${INPUT_DROPOUT:-0}
finetune=(--supervised --epochs "$supervised_epochs" --lr "${FINETUNE_LR:-0.0005}" --schedule cosine --quiet
  --dropout "$dropout" --input-dropout "$input_dropout")
suffix=""; [[ $dropout != 0 || $input_dropout != 0 ]] && suffix="-dropout$dropout-$input_dropout"
[[ $(awk -v f="$val_fraction" 'BEGIN { print (f + 0 == 0) }') == 1 ]] && suffix="$suffix-all"  # 0, 0.0, ...
declare -A noise=([sda3]=masking:0.25 [saa3]=none [nopretrain]=none [dbn3]=none [dbn1]=none)
for name in ${VARIANTS:-sda3 saa3 nopretrain}; do
  epochs=$pretrain_epochs; [[ $name == nopretrain ]] && epochs=0
  network=("${common[@]}")
  case $name in
    dbn3) network=("${common[@]}" --pretraining rbm --activation sigmoid) ;;
    dbn1) network=("${common[@]}" --pretraining rbm --activation sigmoid --layers 1000) ;;
  esac
  run="$root/$name-$activation-seed$seed$suffix"
  [[ $name == dbn* ]] && run="$root/$name-seed$seed$suffix"
  start=$(date +%s)
  $sdae pretrain --out "$run" --noise "${noise[$name]}" --epochs "$epochs" "${network[@]}" --overwrite
  [[ ${PRETRAIN_ONLY:-0} == 1 ]] && { echo "$run: pretrained in $(( $(date +%s) - start )) s"; continue; }
  $sdae finetune "$run" "${finetune[@]}" --overwrite
  echo "$run: $(( $(date +%s) - start )) s"
  $sdae evaluate "$run" | tail -1
done
