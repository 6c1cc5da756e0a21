"""Did the speed work change what fine-tuning learns? The default setup with and without it.

"before": Adam without the fused kernel, and the Gaussian/speckle mixture drawing one noise tensor
per process (the generic mixture path); "after": what sdae does now. Same data, same seeds;
validation denoising loss after pretraining (2 epochs per pair) and 10 fine-tuning epochs.

    SDAE_DATA_DIR=../shared/data/mnist python benchmarks/before_after.py --seeds 0,1
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import torch

import sdae
from sdae import corruption, train
from sdae.commands.rundata import prepare


def slow_optimizer(params, options):
    return torch.optim.Adam(list(params), lr=options.lr, weight_decay=options.weight_decay)


def generic_mixture(self, x, generator, value_range):
    choice = torch.randint(len(self.processes), (x.shape[0], 1), generator=generator, device=x.device)
    out = self.processes[0](x, generator, value_range)
    for i, part in enumerate(self.processes[1:], start=1):
        out = torch.where(choice == i, part(x, generator, value_range), out)
    return out


def run(seed: int, data) -> tuple[float, float]:
    config = sdae.RunConfig(seed=seed)
    noise = sdae.parse_noise(config.noise)
    model = sdae.StackedDenoisingAutoencoder([784, *config.layers], generator=torch.Generator().manual_seed(seed))
    generator = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    sdae.pretrain(model, data.train, data.val, noise, sdae.TrainOptions(epochs=2), generator)
    records = sdae.finetune(model, data.train, data.val, noise, sdae.TrainOptions(epochs=10), generator)
    return records[-1].val_loss, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args()
    data = prepare(sdae.RunConfig(), torch.device("cpu"))
    print(f"{'version':<8} {'seed':>4} {'val loss':>9} {'seconds':>8}")
    for seed in [int(s) for s in args.seeds.split(",")]:
        with mock.patch.object(train, "make_optimizer", slow_optimizer), \
                mock.patch.object(corruption.Mixture, "corrupt", generic_mixture):
            loss, seconds = run(seed, data)
        print(f"{'before':<8} {seed:>4} {loss:>9.5f} {seconds:>8.1f}", flush=True)
        loss, seconds = run(seed, data)
        print(f"{'after':<8} {seed:>4} {loss:>9.5f} {seconds:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
