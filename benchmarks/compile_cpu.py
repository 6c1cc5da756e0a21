"""Does torch.compile speed up fine-tuning on the CPU? The forward pass and loss, compiled or not.

    SDAE_DATA_DIR=../shared/data/mnist python benchmarks/compile_cpu.py
"""

import time

import torch

import sdae
from sdae.commands.rundata import prepare
from sdae.loop import train_epoch
from sdae.schedule import make_optimizer
from sdae.objectives import reconstruction_loss
from sdae.options import TrainOptions


def main() -> None:
    config = sdae.RunConfig(data=sdae.DataOptions("mnist", limit=20000))
    train = prepare(config, torch.device("cpu")).train
    noise = sdae.parse_noise(config.noise)
    for compiled in (False, True):
        model = sdae.StackedDenoisingAutoencoder([784, *config.layers], generator=torch.Generator().manual_seed(0))
        generator = torch.Generator().manual_seed(0)

        def loss_of(corrupted, clean):
            return reconstruction_loss(model.pre_activation(corrupted), clean, "bce", model.output_activation)

        loss_fn = torch.compile(loss_of) if compiled else loss_of

        def objective(index):
            clean = train.batch(index)
            return loss_fn(noise(clean, generator, (0.0, 1.0)), clean)

        optimizer = make_optimizer(model.parameters(), TrainOptions())
        started = time.perf_counter()
        train_epoch(objective, optimizer, len(train), TrainOptions().for_examples(len(train)).batch_size, generator)
        first = time.perf_counter() - started
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            train_epoch(objective, optimizer, len(train), TrainOptions().for_examples(len(train)).batch_size, generator)
            best = min(best, time.perf_counter() - started)
        print(f"{'compiled' if compiled else 'eager':<9} first epoch {first:.1f} s, then {len(train) / best:.0f} examples/s")


if __name__ == "__main__":
    main()
