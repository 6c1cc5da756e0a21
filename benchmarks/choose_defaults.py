"""How the default optimizer settings were chosen: a small grid, measured, side by side.

For each (optimizer, learning rate, batch size) it pretrains the default 784-256-128-64 network
(default noise) and fine-tunes it, on a subset of the MNIST training digits, and reports the
validation denoising loss, the reconstruction MSE of clean validation digits, and the wall time.
Only the validation part of the training digits is used to compare: never the test set.

    SDAE_DATA_DIR=../shared/data/mnist python benchmarks/choose_defaults.py --limit 2000 --pretrain-epochs 1 --finetune-epochs 2
    SDAE_DATA_DIR=../shared/data/mnist python benchmarks/choose_defaults.py --limit 60000 --pretrain-epochs 2 --finetune-epochs 10 \\
        --adam-lrs 0.001,0.003,0.01 --sgd-lrs 0.1 --batch-sizes 128,256
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import torch

import sdae
from sdae.commands.rundata import prepare
from sdae.report.reconstruction import mean_image_mse, reconstruction_errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--pretrain-epochs", type=int, default=1)
    parser.add_argument("--finetune-epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adam-lrs", default="0.001,0.003,0.01")
    parser.add_argument("--sgd-lrs", default="0.1,0.3")
    parser.add_argument("--batch-sizes", default="32,64,128,256")
    parser.add_argument("--init", choices=("he", "torch"), default="he",
                        help="sdae's He initialisation, or PyTorch's default Linear initialisation, for comparison")
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    batches = [int(b) for b in args.batch_sizes.split(",")]
    grid = {name: [float(lr) for lr in lrs.split(",") if lr] for name, lrs in (("adam", args.adam_lrs), ("sgd", args.sgd_lrs))}

    config = sdae.RunConfig(data=sdae.DataOptions("mnist", limit=args.limit), seed=args.seed)
    device = torch.device("cpu")
    data = prepare(config, device)
    train, val = data.train, data.val
    noise = sdae.parse_noise(config.noise)
    baseline = mean_image_mse(train, val)
    print(f"{args.limit} digits, {args.init} initialisation, pretrain {args.pretrain_epochs} epochs/pair, "
          f"finetune {args.finetune_epochs} epochs; "
          f"mean-image validation MSE {baseline:.5f}")
    print(f"{'optimizer':<9} {'lr':>7} {'batch':>6} {'val loss':>9} {'val MSE':>9} {'seconds':>8}")
    rows = []
    for name, lrs in grid.items():
        for lr, batch in itertools.product(lrs, batches):
            setup = torch.Generator().manual_seed(args.seed)
            model = sdae.StackedDenoisingAutoencoder([784, *config.layers], generator=setup)
            if args.init == "torch":
                torch.manual_seed(args.seed)
                for module in model.modules():
                    if isinstance(module, torch.nn.Linear):
                        module.reset_parameters()
            generator = torch.Generator().manual_seed(args.seed)
            started = time.perf_counter()
            sdae.pretrain(model, train, val, noise, sdae.TrainOptions(args.pretrain_epochs, batch, name, lr), generator)
            records = sdae.finetune(model, train, val, noise, sdae.TrainOptions(args.finetune_epochs, batch, name, lr), generator)
            seconds = time.perf_counter() - started
            val_mse = reconstruction_errors(model, val)["mse"]
            row = {"optimizer": name, "lr": lr, "batch_size": batch, "val_loss": records[-1].val_loss,
                   "val_mse": val_mse, "seconds": seconds}
            rows.append(row)
            print(f"{name:<9} {lr:>7g} {batch:>6} {row['val_loss']:>9.5f} {val_mse:>9.5f} {seconds:>8.1f}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "mean_image_mse": baseline, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
