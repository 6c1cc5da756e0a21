"""End-to-end fine-tuning of the assembled network on the denoising criterion.

All layers train together: the network's input is corrupted and it reconstructs the clean input.
"""

from __future__ import annotations

import torch

from sdae.corruption import Corruption
from sdae.data import Examples
from sdae.model import StackedDenoisingAutoencoder
from sdae.objective import DenoisingObjective, resolve_loss, validation_generator
from sdae.pretrain import record
from sdae.train import EpochResult, Hooks, TrainingState, TrainOptions, evaluate, fit, make_optimizer


def finetune(
    model: StackedDenoisingAutoencoder,
    train: Examples,
    val: Examples | None,
    noise: Corruption,
    options: TrainOptions,
    generator: torch.Generator,
    resume: TrainingState | None = None,
    hooks: Hooks | None = None,
) -> list[dict]:
    """Train every layer of `model` (on `train.device`) end to end; returns the metrics records."""
    options.validate()
    hooks = hooks or Hooks()
    loss = resolve_loss(options.loss, sigmoid_output=True)
    optimizer = make_optimizer(model.parameters(), options)
    start = resume.restore(model, optimizer, generator) if resume is not None else 0
    objective = DenoisingObjective(model, train, noise, generator, loss)
    records = []

    def validate() -> float:
        held_out = DenoisingObjective(model, val, noise, validation_generator(train.device), loss)
        return evaluate(held_out, len(val), options.batch_size, train.device)

    def on_epoch(result: EpochResult) -> None:
        records.append(record("finetune", None, result, loss))
        hooks.epoch_done(records[-1], lambda: TrainingState.capture("finetune", None, result.epoch, model, optimizer, generator))

    model.train()
    fit(objective, optimizer, len(train), options, generator,
        validate if val is not None and len(val) else None, start, hooks.on_batch, on_epoch, label="finetune")
    return records
