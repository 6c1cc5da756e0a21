"""Test-set reconstruction error of a trained network, on clean and on corrupted inputs."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from sdae.corruption import Corruption
from sdae.data import Examples
from sdae.model import StackedDenoisingAutoencoder
from sdae.objectives import validation_generator


@torch.no_grad()
def reconstruction_errors(
    model: StackedDenoisingAutoencoder,
    test: Examples,
    noise: Corruption | None = None,
    batch_size: int = 2048,
    value_range=(0.0, 1.0),
) -> dict[str, float]:
    """Mean per-pixel squared error and binary cross-entropy of model(noise(x)) against x (the cross-entropy
    only behind a Sigmoid output: None for an affine one).

    Also the squared error of the corrupted input itself (`input_mse`), which says how much the
    network removed. The noise is drawn from a fixed seed, so repeated evaluations agree.
    """
    sigmoid = getattr(model, "output", "sigmoid") == "sigmoid"
    was_training = model.training
    model.eval()
    generator = validation_generator(test.device)
    sums = torch.zeros(3, dtype=torch.float64, device=test.device)
    try:
        for start in range(0, len(test), batch_size):
            clean = test.batch(slice(start, start + batch_size))
            seen = clean if noise is None else noise(clean, generator, value_range)
            logits = model.pre_activation(seen)
            sums += torch.stack(
                [
                    F.mse_loss(torch.sigmoid(logits) if sigmoid else logits, clean, reduction="sum"),
                    F.binary_cross_entropy_with_logits(logits, clean, reduction="sum")
                    if sigmoid
                    else logits.new_zeros(()),
                    F.mse_loss(seen, clean, reduction="sum"),
                ]
            ).double()
    finally:
        model.train(was_training)
    mse, bce, input_mse = (sums / (len(test) * test.features)).tolist()
    return {"mse": mse, "bce": bce if sigmoid else None, "input_mse": input_mse}


@torch.no_grad()
def mean_image_mse(train: Examples, test: Examples, batch_size: int = 8192) -> float:
    """The per-pixel squared error of predicting every test example by the mean training example."""
    mean = sum(train.batch(slice(i, i + batch_size)).sum(0) for i in range(0, len(train), batch_size)) / len(train)
    total = sum(((test.batch(slice(i, i + batch_size)) - mean) ** 2).sum() for i in range(0, len(test), batch_size))
    return float(total) / (len(test) * test.features)


def evaluate_reconstruction(
    model: StackedDenoisingAutoencoder, train: Examples, test: Examples, noise: Corruption
) -> dict:
    """Errors on clean test inputs and under each of the run's noise processes, beside the mean-image baseline."""
    from sdae.stages import input_range

    value_range = input_range(model, train)
    results: dict[str, dict[str, float] | float] = {"clean": reconstruction_errors(model, test)}
    for part in noise.parts:
        results[part.spec] = reconstruction_errors(model, test, part, value_range=value_range)
    results["mean_image_mse"] = mean_image_mse(train, test)
    return results
