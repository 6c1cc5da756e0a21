"""Greedy layer-wise denoising pretraining (Vincent et al. 2010, section 3.5).

Pair k is trained alone, the pairs below it frozen: its input is the clean code of pairs
0..k-1 (computed once, without gradients), that input is corrupted, and the pair reconstructs
the uncorrupted input. Only pair k's parameters are given to the optimizer.
"""

from __future__ import annotations

import torch

from sdae.corruption import Corruption
from sdae.data import Examples
from sdae.model import StackedDenoisingAutoencoder
from sdae.objective import DenoisingObjective, resolve_loss, validation_generator
from sdae.train import EpochResult, Hooks, TrainingState, TrainOptions, evaluate, fit, make_optimizer


@torch.no_grad()
def clean_codes(model: StackedDenoisingAutoencoder, layer: int, examples: Examples, batch_size: int = 4096) -> torch.Tensor:
    """The uncorrupted codes after `layer` encoder layers, as one float32 tensor on the examples' device."""
    was_training = model.training
    model.eval()
    codes = torch.cat([model.encode(examples.batch(slice(i, i + batch_size)), layer) for i in range(0, len(examples), batch_size)])
    model.train(was_training)
    return codes


def pair_inputs(model: StackedDenoisingAutoencoder, k: int, train: Examples,
                val: Examples | None) -> tuple[Examples, Examples | None, tuple[float, float]]:
    """Pair k's clean training and validation inputs, and the value range its noise respects."""
    if k == 0:
        return train, val, (0.0, 1.0)
    codes = Examples(clean_codes(model, k, train))
    val_codes = None if val is None else Examples(clean_codes(model, k, val))
    return codes, val_codes, (float(codes.values.min()), float(codes.values.max()))


def record(stage: str, pair: int | None, result: EpochResult, loss: str) -> dict:
    """One line of metrics.jsonl; pairs count from 1 (the pair next to the input)."""
    return {
        "stage": stage,
        "pair": None if pair is None else pair + 1,
        "epoch": result.epoch,
        "train_loss": result.train_loss,
        "val_loss": result.val_loss,
        "loss": loss,
        "seconds": round(result.seconds, 4),
    }


def pretrain(
    model: StackedDenoisingAutoencoder,
    train: Examples,
    val: Examples | None,
    noise: Corruption,
    options: TrainOptions,
    generator: torch.Generator,
    resume: TrainingState | None = None,
    hooks: Hooks | None = None,
) -> list[dict]:
    """Greedily pretrain every pair of `model` (on `train.device`) for `options.epochs` epochs each.

    `resume` continues from a state captured by `hooks.on_state`. Returns the metrics records.
    """
    options.validate()
    hooks = hooks or Hooks()
    first_pair = 0
    if resume is not None:
        resume.restore(model, None, generator)  # the optimizer is pair k's, restored below
        first_pair = resume.pair
    records = []
    for k in range(first_pair, model.depth):
        inputs, val_inputs, value_range = pair_inputs(model, k, train, val)
        pair = model.pair(k)
        loss = resolve_loss(options.loss, sigmoid_output=k == 0)
        optimizer = make_optimizer(pair.parameters(), options)
        start = 0
        if resume is not None and k == resume.pair:
            optimizer.load_state_dict(resume.optimizer)
            start = resume.epoch
        objective = DenoisingObjective(pair, inputs, noise, generator, loss, value_range)

        def validate(pair=pair, val_inputs=val_inputs, loss=loss, value_range=value_range) -> float:
            held_out = DenoisingObjective(pair, val_inputs, noise, validation_generator(train.device), loss, value_range)
            return evaluate(held_out, len(val_inputs), options.batch_size, train.device)

        def on_epoch(result: EpochResult, k=k, optimizer=optimizer, loss=loss) -> None:
            records.append(record("pretrain", k, result, loss))
            hooks.epoch_done(records[-1], lambda: TrainingState.capture("pretrain", k, result.epoch, model, optimizer, generator))

        model.train()
        fit(objective, optimizer, len(inputs), options, generator,
            validate if val_inputs is not None and len(val_inputs) else None, start, hooks.on_batch, on_epoch,
            label=f"pretrain pair {k + 1}/{model.depth}")
    return records
