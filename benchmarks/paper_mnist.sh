#!/usr/bin/env bash
# The paper's MNIST comparison (Vincent et al. 2010, Table 3), at one budget for all three:
#   SdA-3: denoising pretraining (masking noise 25%), then supervised fine-tuning;
#   SAA-3: the same with no noise (ordinary autoencoder pretraining);
#   no pretraining: the same network, randomly initialised (--epochs 0), supervised only.
# Network 784-1000-1000-1000-10. The validation split (10% of the training digits) chooses the
# fine-tuning epoch; `sdae evaluate` then touches the test set once.
#   SDAE_DATA_DIR=../shared/data/mnist bash benchmarks/paper_mnist.sh [OUT_ROOT] [PRETRAIN_EPOCHS] [SUPERVISED_EPOCHS]
set -euo pipefail
root=${1:-runs/paper}
pretrain_epochs=${2:-15}
supervised_epochs=${3:-50}
sdae=${SDAE:-sdae}
common=(--layers 1000,1000,1000 --lr 0.001 --seed 0 --quiet)
finetune=(--supervised --epochs "$supervised_epochs" --lr 0.0005 --schedule cosine --quiet)
for variant in sda3:masking:0.25 saa3:none nopretrain:none; do
  name=${variant%%:*}; noise=${variant#*:}
  epochs=$pretrain_epochs; [[ $name == nopretrain ]] && epochs=0
  start=$(date +%s)
  $sdae pretrain --out "$root/$name" --noise "$noise" --epochs "$epochs" "${common[@]}" --overwrite
  $sdae finetune "$root/$name" "${finetune[@]}" --overwrite
  echo "$name: $(( $(date +%s) - start )) s"
  $sdae evaluate "$root/$name" | tail -1
done
