"""The original notebook's recipe, run through sdae's API, beside sdae's own defaults.

The notebook this project started from trained the 784-...-784 ReLU/Sigmoid network without any
pretraining: plain SGD (lr 0.01, weight decay 1e-5), squared error, batches of 32, 120 epochs, on
MNIST digits of which half got Gaussian noise of mean -5.9 and standard deviation 5.9 on the 0-255
scale (-0.0231 and 0.0231 on sdae's [0, 1] scale) and half speckle noise x + x * n, n ~ N(0, 1),
each digit corrupted once before training. Here that is `sdae.finetune` on a network started as
PyTorch starts a Linear layer (not as sdae does), with `Criterion(fixed=True)` and the noise
`gaussian:0.0231:mean=-0.0231,speckle:1`.

Both networks are then scored on the same test digits, corrupted once from a fixed seed: by the
notebook's noise and by sdae's default noise. `--compare RUN` adds a run folder's network (e.g.
the README's main job) to the table.

    SDAE_DATA_DIR=../shared/data/mnist python examples/notebook_recipe.py --compare runs/mnist
    SDAE_DATA_DIR=../shared/data/mnist python examples/notebook_recipe.py --limit 2000 --epochs 2   # a quick look
    SDAE_DATA_DIR=../shared/data/mnist python examples/notebook_recipe.py --quick   # runs? --limit 1000 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import time

import torch

import sdae
from sdae.commands.rundata import prepare
from sdae.options import Criterion
from sdae.report.reconstruction import reconstruction_errors

NOTEBOOK_NOISE = "gaussian:0.0231:mean=-0.0231,speckle:1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=None, help="default 120 (--quick: 1)")
    parser.add_argument("--limit", type=int, default=None, help="use the first N training digits (--quick: 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare", default=None, help="a run folder whose network is scored beside it")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--quick", action="store_true", help="a check that it runs (seconds): --limit 1000 --epochs 1")
    args = parser.parse_args()
    if args.epochs is None:
        args.epochs = 1 if args.quick else 120
    if args.limit is None and args.quick:
        args.limit = 1000

    config = sdae.RunConfig(data=sdae.DataOptions("mnist", limit=args.limit), seed=args.seed, noise=[NOTEBOOK_NOISE])
    data = prepare(config, torch.device("cpu"))
    model = sdae.StackedDenoisingAutoencoder([784, *config.layers])
    torch.manual_seed(args.seed)  # the notebook's start: PyTorch's own Linear initialisation, not sdae's
    for unit in [*model.encoder, *model.decoder]:
        unit.linear.reset_parameters()
    options = sdae.TrainOptions(epochs=args.epochs, batch_size=32, optimizer="sgd", lr=0.01, momentum=0.0,
                                weight_decay=1e-5, loss="mse")
    started = time.perf_counter()
    records = sdae.finetune(model, data.train, data.val, sdae.parse_noise(NOTEBOOK_NOISE), options,
                            torch.Generator().manual_seed(args.seed), criterion=Criterion(fixed=True))
    seconds = time.perf_counter() - started
    print(f"notebook recipe: {args.epochs} epochs in {seconds:.0f} s, final validation loss (MSE) {records[-1].val_loss:.5f}")

    networks = {"notebook recipe (no pretraining, SGD, MSE)": model}
    if args.compare:
        networks[f"sdae run {args.compare}"] = sdae.load(args.compare)
    test = data.dataset.examples("test")
    noises = {"notebook noise": sdae.parse_noise(NOTEBOOK_NOISE), "sdae default noise": sdae.parse_noise(sdae.RunConfig().noise)}
    results = {}
    print(f"\ntest MSE on all {len(test)} test digits, each corrupted once from a fixed seed")
    print(f"{'network':<48} {'clean':>8} " + " ".join(f"{name:>18}" for name in noises))
    for name, net in networks.items():
        row = {"clean": reconstruction_errors(net, test)["mse"]}
        row.update({noise_name: reconstruction_errors(net, test, noise)["mse"] for noise_name, noise in noises.items()})
        results[name] = row
        print(f"{name:<48} {row['clean']:>8.5f} " + " ".join(f"{row[n]:>18.5f}" for n in noises))
    corrupted = {n: reconstruction_errors(model, test, noise)["input_mse"] for n, noise in noises.items()}
    print(f"{'(the corrupted input itself)':<48} {0:>8.5f} " + " ".join(f"{corrupted[n]:>18.5f}" for n in noises))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "seconds": seconds, "mse": results, "input_mse": corrupted}, f, indent=2)


if __name__ == "__main__":
    main()
