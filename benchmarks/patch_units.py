"""Why the patch filters of `sdae paper patches` look like noise: does the network learn, how far do its weights
move, and do its units leave their linear range? One over-complete denoising autoencoder (200 sigmoid units, tied
weights, Gaussian noise 0.5, affine output) on whitened 12x12 patches, as the experiment trains it.

    python benchmarks/patch_units.py --patches 30000 --epochs 10 --out benchmarks/results/patch-units.json
"""

from __future__ import annotations

import argparse

import torch

from sdae.bench_options import BenchOptions
from sdae.corruption import Gaussian
from sdae.files import atomic_write_json
from sdae.model import StackedDenoisingAutoencoder
from sdae.paper.measures import filter_shape_statistics, orientation_concentration
from sdae.paper.pictures import PATCH, _one_layer, natural_patches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=30000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    x = torch.from_numpy(natural_patches(args.patches, 0))
    options = BenchOptions(pretrain_epochs=args.epochs)
    start = StackedDenoisingAutoencoder([PATCH * PATCH, 200], generator=torch.Generator().manual_seed(options.seed),
                                        activation="sigmoid", output="affine", tied=True)
    w0 = start.encoder[0].linear.weight.detach().clone()
    model = _one_layer(x, 200, Gaussian(0.5), options, None, output="affine", tied=True)
    w = model.encoder[0].linear.weight.detach()
    held = x[-2000:]
    with torch.no_grad():
        reconstruction_mse = float(((model(held) - held) ** 2).mean())
        h = model.encode(held)
    found = {
        "patches": args.patches,
        "epochs": args.epochs,
        "held_out_variance": float(held.var()),
        "reconstruction_mse": reconstruction_mse,
        "weights_moved": float((w - w0).norm() / w0.norm()),
        "orientation_concentration_of_the_change": orientation_concentration(w - w0, (PATCH, PATCH)),
        "change_shape": filter_shape_statistics(w - w0, (PATCH, PATCH)),
        "mean_activation": float(h.mean()),
        "saturated": float(((h < 0.02) | (h > 0.98)).float().mean()),
    }
    print(found)
    if args.out:
        atomic_write_json(args.out, found)


if __name__ == "__main__":
    main()
