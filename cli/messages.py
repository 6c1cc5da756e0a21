"""The library's messages in this command line's words.

The library names Python parameters in backticks (`lr`, `overwrite=True`); each becomes the
flag or command a user of `sdae` types.
"""

from __future__ import annotations

import logging
import re

import click

RUN = ["RUN"]  # the run folder of the command being run, for hints that name a command

FLAGS = {
    "lr": "--lr", "epochs": "--epochs", "batch_size": "--batch-size", "optimizer": "--optimizer",
    "momentum": "--momentum", "weight_decay": "--weight-decay", "loss": "--loss", "schedule": "--schedule",
    "device": "--device", "noise": "--noise", "hidden": "--layers", "seed": "--seed", "save_every": "--save-every",
    "patience": "--patience", "limit": "--limit", "val_fraction": "--val-fraction", "dataset": "--dataset",
    "scale": "--scale", "noise_levels": "--noise-levels", "lrs": "--lrs", "units": "--units", "pretrain_epochs": "--pretrain-epochs",
    "data_dir": "--data-dir", "out": "--out", "layer": "--layer", "split": "--split", "train_size": "--train-size",
    "test_size": "--test-size", "val_size": "the validation size", "tied": "--tied", "overwrite=True": "--overwrite",
    "resume=True": "--resume", "supervised=True": "--supervised", "sizes": "--layers",
    "activation": "--activation", "warmup": "--warmup", "fixed_noise": "--fixed-noise", "compile": "--compile", "extend": "--extend",
    "config": "--config", "log": "--log", "extend_to": "--epochs", "emphasis": "--emphasis", "weights": "--weights",
    "resume_pretraining": "sdae pretrain --out {run} --resume", "run_pretraining": "sdae pretrain --out {run}",
}


def translate(message: str) -> str:
    """A library message in this command line's words: `lr` -> --lr, `resume_pretraining` -> the command."""
    def word(match: re.Match) -> str:
        name = match.group(1)
        return FLAGS.get(name, name).format(run=RUN[0])

    return re.sub(r"`([^`]+)`", word, message)


class WarningLine(logging.Handler):
    """The library's warnings, one line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"sdae: warning: {translate(record.getMessage())}", err=True)
