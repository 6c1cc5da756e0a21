"""What the training commands share: their options, and the parsing of list-valued ones."""

from __future__ import annotations

import click

from sdae.config import RunConfig
from sdae.errors import UsageError
from sdae.model import hidden_sizes
from sdae.train import LOSSES, OPTIMIZERS, SCHEDULES, TrainOptions

DEFAULTS = RunConfig()
DEFAULT_TRAIN = TrainOptions()


def parse_layers(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"`hidden` {text!r}: sizes must be whole numbers separated by commas, e.g. 256,128,64") from None
    return hidden_sizes(sizes)


def parse_emphasis(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        weights = [float(part) for part in text.split(",")]
    except ValueError:
        weights = []
    if len(weights) != 2:
        raise UsageError(f"`emphasis` {text!r}: give two weights ALPHA,BETA, e.g. 1,0.5")
    return weights


def training_options(f):
    """The optimizer options shared by pretrain and finetune."""
    options = [
        click.option("--batch-size", type=int, default=DEFAULT_TRAIN.batch_size, show_default=True, help="Examples per batch."),
        click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=DEFAULT_TRAIN.optimizer, show_default=True),
        click.option("--lr", type=float, default=DEFAULT_TRAIN.lr, show_default=True, help="Learning rate."),
        click.option("--momentum", type=float, default=DEFAULT_TRAIN.momentum, show_default=True, help="SGD momentum."),
        click.option("--weight-decay", type=float, default=DEFAULT_TRAIN.weight_decay, show_default=True),
        click.option("--loss", type=click.Choice(LOSSES), default=DEFAULT_TRAIN.loss, show_default=True,
                     help="auto: binary cross-entropy for pixels behind the Sigmoid, squared error for codes."),
        click.option("--schedule", type=click.Choice(SCHEDULES), default=DEFAULT_TRAIN.schedule, show_default=True,
                     help="Learning rate: constant, or cosine decay to 0 over each stage's epochs."),
        click.option("--warmup", type=float, default=DEFAULT_TRAIN.warmup, show_default=True,
                     help="Epochs over which each stage's learning rate rises linearly to --lr."),
        click.option("--compile", "compiled", is_flag=True,
                     help="torch.compile the forward and backward passes (mode reduce-overhead: CUDA graphs on a GPU)."),
        click.option("--device", default=None, help="auto (the GPU where there is one), cpu or cuda.  [default: auto, or the run's]"),
        click.option("--save-every", type=int, default=None, help="Write a checkpoint every N epochs.  [default: 1]"),
        click.option("--resume", is_flag=True, help="Continue from the run's last checkpoint."),
        click.option("--overwrite", is_flag=True, help="Replace what this command wrote before (only sdae's own files)."),
        click.option("--quiet", is_flag=True, help="No progress bar, no per-epoch lines."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def train_options(epochs, batch_size, optimizer, lr, momentum, weight_decay, loss, schedule, warmup,
                  compiled=False) -> TrainOptions:
    return TrainOptions(epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, momentum=momentum,
                        weight_decay=weight_decay, loss=loss, schedule=schedule, warmup=warmup,
                        compile=compiled).validate()
