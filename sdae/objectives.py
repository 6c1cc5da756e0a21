"""The training criteria, as modules whose forward takes a batch of example indices and returns the loss.

- `DenoisingObjective`: the local denoising criterion (Vincent et al. 2010, section 3.3): corrupt the
  input, reconstruct the clean input; binary cross-entropy behind a Sigmoid, squared error otherwise
  (section 3.3's choices for inputs in [0, 1] and real-valued inputs), optionally emphasized (4.3).
- `ClassificationObjective`: cross-entropy of the network's class logits (supervised fine-tuning).

Each holds the network it trains as `network`, the module that `sdae.device.wrapped` may have put in
DistributedDataParallel or `torch.compile`; the objective itself is never patched. A new layer-wise
criterion is one more class here with the same forward.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from sdae.corruption import Corruption, ValueRange
from sdae.data import Examples
from sdae.errors import UsageError
from sdae.loop import mean_loss
from sdae.model import DenoisingPair, StackedDenoisingAutoencoder
from sdae.options import Criterion, Loss

VALIDATION_SEED = 2010  # held-out noise is drawn afresh from this seed at every evaluation


def validation_generator(device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(VALIDATION_SEED)


def resolve_loss(kind: str, sigmoid_output: bool) -> str:
    """`auto` (and `bce` where it cannot apply) becomes bce behind a Sigmoid, mse otherwise.

    Targets behind a Sigmoid are in [0, 1] (pixels, or sigmoid codes); ReLU codes are not
    probabilities, so pairs that reconstruct them always use squared error.
    """
    return Loss.BCE.value if sigmoid_output and kind != Loss.MSE else Loss.MSE.value


def reconstruction_loss(
    pre_activation: torch.Tensor,
    target: torch.Tensor,
    kind: str,
    activation: nn.Module,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over all elements (each weighted, if `weights`); bce is computed from the logits, for stability.

    `pre_activation`, `target` and `weights`: (batch, features). Returns a scalar.
    """
    if kind == Loss.BCE:
        return F.binary_cross_entropy_with_logits(pre_activation, target, weight=weights)
    if weights is None:
        return F.mse_loss(activation(pre_activation).float(), target)
    return ((activation(pre_activation).float() - target) ** 2 * weights).mean()


class Logits(nn.Module):
    """An autoencoder's reconstruction before its output activation (its `pre_activation`), as a forward pass."""

    def __init__(self, autoencoder: DenoisingPair | StackedDenoisingAutoencoder):
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.pre_activation(x)


class ClassLogits(nn.Module):
    """A network's class logits (its `classify`), as a forward pass; in training mode, with dropout.

    `dropout` = (input, hidden): the fraction of input components and of every hidden layer's units
    zeroed in each training example, the others scaled by 1 / (1 - fraction) (inverted dropout,
    Srivastava et al. 2014); masks are drawn from `generator`, so a seeded run is repeatable and
    resumes exactly. `input_noise` corrupts the inputs in training (noise as data augmentation: the
    paper's control experiment of section 6.4, "training with noisy inputs"). (0, 0) and no noise, or
    evaluation mode, is `classify` itself.
    """

    def __init__(
        self,
        model: StackedDenoisingAutoencoder,
        dropout: tuple[float, float] = (0.0, 0.0),
        generator: torch.Generator | None = None,
        input_noise: Corruption | None = None,
    ):
        super().__init__()
        self.model, self.dropout, self.generator, self.input_noise = model, dropout, generator, input_noise
        if (any(dropout) or input_noise is not None) and generator is None:
            raise UsageError("dropout and input noise draw from a generator: pass one")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.model.training:
            return self.model.classify(x)
        if self.input_noise is not None:
            assert self.generator is not None  # checked in __init__
            x = self.input_noise.corrupt(x, self.generator)
        if not any(self.dropout):
            return self.model.classify(x)
        head = self.model.head
        if head is None:
            raise UsageError("this network has no classifier head; fine-tune it with `supervised=True` first")
        keep_input, keep_hidden = (1.0 - p for p in self.dropout)
        h = self._dropped(x, keep_input)
        for layer in self.model.encoder:
            h = self._dropped(layer(h), keep_hidden)
        return head(h)

    def _dropped(self, h: torch.Tensor, keep: float) -> torch.Tensor:
        if keep == 1.0:
            return h
        mask = torch.empty_like(h).bernoulli_(keep, generator=self.generator)
        return h * mask / keep


class DenoisingObjective(nn.Module):
    """Batch indices in, the denoising loss of `autoencoder` on those examples out.

    `autoencoder` has `pre_activation(x)` and `output_activation` (a DenoisingPair or the whole
    network); `inputs` has `batch(index)` (an `Examples`); the corruption draws from `generator`.
    `network` is what computes the logits in training (default `Logits(autoencoder)`, or that module
    wrapped); held-out losses use `autoencoder` itself. Raises UsageError for `criterion.fixed` in a
    data-parallel run (`distributed=True`).
    """

    def __init__(
        self,
        autoencoder: DenoisingPair | StackedDenoisingAutoencoder,
        inputs: Examples,
        noise: Corruption,
        generator: torch.Generator,
        loss: str,
        value_range: ValueRange = (0.0, 1.0),
        criterion: Criterion = Criterion(),
        network: nn.Module | None = None,
        distributed: bool = False,
    ):
        super().__init__()
        self.autoencoder = autoencoder
        self.network = network if network is not None else Logits(autoencoder)
        self.inputs, self.noise, self.generator = inputs, noise, generator
        self.loss, self.value_range, self.criterion = loss, value_range, criterion
        self.fixed: tuple[torch.Tensor, torch.Tensor | None] | None = None
        if criterion.fixed and distributed:
            raise UsageError(
                "`fixed_noise` corrupts each example once, in one process; it cannot be split between "
                "processes: train it in one"
            )
        if criterion.fixed:
            self.fixed = self._corrupt_all()

    def _corrupt_all(self, batch_size: int = 8192) -> tuple[torch.Tensor, torch.Tensor | None]:
        parts = [
            self.noise.corrupt_marked(clean, self.generator, self.value_range)
            for clean in self.inputs.batches(batch_size)
        ]
        marks = None if any(m is None for _, m in parts) else torch.cat([m for _, m in parts if m is not None])
        return torch.cat([c for c, _ in parts]), marks

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        clean = self.inputs.batch(index)
        if self.fixed is not None:
            corrupted, marked = self.fixed[0][index], None if self.fixed[1] is None else self.fixed[1][index]
        else:
            corrupted, marked = self.noise.corrupt_marked(clean, self.generator, self.value_range)
        weights = None
        if self.criterion.emphasis is not None:
            alpha, beta = self.criterion.emphasis
            weights = (
                torch.full_like(clean, alpha)
                if marked is None
                else torch.where(
                    marked,
                    torch.tensor(alpha, dtype=clean.dtype, device=clean.device),
                    torch.tensor(beta, dtype=clean.dtype, device=clean.device),
                )
            )
        return reconstruction_loss(
            self.network(corrupted), clean, self.loss, self.autoencoder.output_activation, weights
        )

    def held_out_loss(self, held_out: Examples, batch_size: int) -> float:
        """The same loss on held-out examples, with noise drawn afresh from the fixed validation seed."""
        device = held_out.device
        objective = DenoisingObjective(
            self.autoencoder,
            held_out,
            self.noise,
            validation_generator(device),
            self.loss,
            self.value_range,
            Criterion(self.criterion.emphasis),
        )
        return mean_loss(objective, len(held_out), batch_size, device)


class ClassificationObjective(nn.Module):
    """Batch indices in, the cross-entropy of the network's class logits out (`labels`: (n,) int64)."""

    def __init__(
        self,
        model: StackedDenoisingAutoencoder,
        inputs: Examples,
        labels: torch.Tensor,
        network: nn.Module | None = None,
    ):
        super().__init__()
        self.model, self.inputs, self.labels = model, inputs, labels
        self.network = network if network is not None else ClassLogits(model)

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.network(self.inputs.batch(index)).float(), self.labels[index])
