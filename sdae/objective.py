"""The denoising criterion: corrupt the input, reconstruct the clean input."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from sdae.corruption import Corruption, ValueRange

VALIDATION_SEED = 2010  # validation noise is drawn afresh from this seed at every evaluation


def resolve_loss(kind: str, sigmoid_output: bool) -> str:
    """`auto` (and `bce` where it cannot apply) becomes bce behind a Sigmoid, mse otherwise.

    Targets behind a Sigmoid are pixels scaled to [0, 1]; deeper pairs reconstruct ReLU codes,
    which are not probabilities, so they always use squared error.
    """
    if kind == "mse" or not sigmoid_output:
        return "mse"
    return "bce"


def reconstruction_loss(pre_activation: torch.Tensor, target: torch.Tensor, kind: str, activation: nn.Module) -> torch.Tensor:
    """Mean over all elements; bce is computed from the logits, for numerical stability."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(pre_activation, target)
    return F.mse_loss(activation(pre_activation).float(), target)


class DenoisingObjective:
    """Batch indices in, the denoising loss of `module` on those examples out.

    `module` has `pre_activation(x)` and `output_activation` (a DenoisingPair or the whole
    network); `inputs` has `batch(index)` (an `Examples`); the corruption draws from `generator`.
    """

    def __init__(self, module: nn.Module, inputs, noise: Corruption, generator: torch.Generator,
                 loss: str, value_range: ValueRange = (0.0, 1.0)):
        self.module = module
        self.inputs = inputs
        self.noise = noise
        self.generator = generator
        self.loss = loss
        self.value_range = value_range

    def __call__(self, index: torch.Tensor) -> torch.Tensor:
        clean = self.inputs.batch(index)
        corrupted = self.noise(clean, self.generator, self.value_range)
        return reconstruction_loss(self.module.pre_activation(corrupted), clean, self.loss, self.module.output_activation)


def validation_generator(device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(VALIDATION_SEED)
