"""Which start keeps the units alive? Dead units per layer for initial weight scales and warmups, side by side.

All of MNIST (54,000 training and 6,000 validation digits, the run's split), the default network
and noise; each variant pretrains (10 epochs per pair) and fine-tunes (20 epochs), then reports,
per layer, the fraction of units never active on the validation digits, the validation loss, and
the reconstruction MSE on validation digits corrupted once (from the fixed validation seed) by
each of the run's noises. Only validation digits are used: this chooses a default.

    SDAE_DATA_DIR=../shared/data/mnist python benchmarks/dead_units.py --out benchmarks/results/dead-units.json
"""

from __future__ import annotations

import argparse
import json
import time

import torch

import sdae
from sdae.commands.rundata import prepare
from sdae.report.reconstruction import reconstruction_errors
from sdae.stages import dead_units

VARIANTS = {  # name: (initial weights' gain on He's bound sqrt(6 / fan_in), warmup epochs)
    "He": (1.0, 0),
    "He + warmup 5": (1.0, 5),
    "0.41 He (PyTorch's bound)": (0.41, 0),
    "0.41 He + warmup 1": (0.41, 1),
    "0.41 He + warmup 5": (0.41, 5),
    "0.2 He": (0.2, 0),
    "0.2 He + warmup 1": (0.2, 1),
    "0.2 He + warmup 5": (0.2, 5),
    "0.1 He + warmup 5": (0.1, 5),
}


def run(name: str, gain: float, warmup: float, data, args) -> dict:
    config = sdae.RunConfig(seed=args.seed)
    noise = sdae.parse_noise(config.noise)
    model = sdae.StackedDenoisingAutoencoder([784, *config.layers], generator=torch.Generator().manual_seed(args.seed),
                                             init_gain=gain)
    generator = torch.Generator().manual_seed(args.seed)
    started = time.perf_counter()
    sdae.pretrain(model, data.train, data.val, noise, sdae.TrainOptions(epochs=args.pretrain_epochs, warmup=warmup),
                  generator)
    after_pretraining = dead_units(model, data.val)
    records = sdae.finetune(model, data.train, data.val, noise, sdae.TrainOptions(epochs=args.finetune_epochs, warmup=warmup),
                            generator)
    row = {"variant": name, "init_gain": gain, "warmup": warmup, "dead_after_pretraining": after_pretraining,
           "dead_after_finetuning": dead_units(model, data.val), "val_loss": records[-1].val_loss,
           "val_mse": {part.spec: reconstruction_errors(model, data.val, part)["mse"] for part in noise.parts},
           "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--finetune-epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=";".join(VARIANTS), help="names from VARIANTS, separated by ;")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    data = prepare(sdae.RunConfig(seed=args.seed), torch.device("cpu"))
    rows = [run(name, *VARIANTS[name], data, args) for name in args.variants.split(";")]
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
