"""The restricted Boltzmann machine as a layer-wise criterion: a deep belief network's pretraining.

A pair's encoder Linear (weights W, hidden biases b) and its decoder's bias (the visible biases c) make a
Bernoulli-Bernoulli RBM, trained by contrastive divergence (CD-k; Hinton 2002, and the DBN columns of
Vincent et al. 2010, Table 3). The forward pass returns a loss whose gradient is the CD-k update,
the difference of free energies F(v0) - F(vk) with the chain's end vk held fixed, where
F(v) = -v.c - sum_j softplus((v W^T + b)_j); its value is the mean squared one-step reconstruction
error, which is what a record shows (a free-energy gap has no fixed sign, so it cannot be watched
for divergence). After the pair has trained, an untied decoder takes W^T, as a DBN is unrolled into an
autoencoder. The units must be sigmoid units (`activation="sigmoid"`): they are the RBM's probabilities.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from sdae.data import Examples
from sdae.errors import UsageError
from sdae.layers import DenoisingPair
from sdae.loop import mean_loss


def free_energy(v: torch.Tensor, weight: torch.Tensor, hidden_bias: torch.Tensor, visible_bias: torch.Tensor):
    """F(v) of each row of v (batch, visible) for weights (hidden, visible): a (batch,) tensor."""
    return -(v @ visible_bias) - F.softplus(F.linear(v, weight, hidden_bias)).sum(1)


class RBMObjective(nn.Module):
    """Batch indices in, a loss out whose gradient is the CD-`k` update of pair's RBM (see the module).

    `inputs` are in [0, 1] (pixels, or the sigmoid codes of the pairs below). The Gibbs chain draws
    from `generator`: hidden units sampled, the chain's last visible units their probabilities.
    Raises UsageError for hidden units that are not sigmoid units, or k < 1.
    """

    def __init__(self, pair: DenoisingPair, inputs: Examples, generator: torch.Generator, k: int = 1):
        super().__init__()
        if not isinstance(pair.encoder.activation, nn.Sigmoid):
            raise UsageError("`pretraining` rbm trains Bernoulli units: use `activation`='sigmoid'")
        if k < 1:
            raise UsageError(f"`cd_steps` must be a whole number >= 1, got {k!r}")
        self.pair, self.inputs, self.generator, self.k = pair, inputs, generator, k

    @property
    def parts(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        encoder = self.pair.encoder.linear
        return encoder.weight, encoder.bias, self.pair.decoder.linear.bias

    def chain_end(self, v0: torch.Tensor) -> torch.Tensor:
        """The visible probabilities after k steps of block Gibbs sampling from v0 (no gradient)."""
        weight, hidden_bias, visible_bias = self.parts
        with torch.no_grad():
            v = v0
            for _ in range(self.k):
                h = torch.bernoulli(torch.sigmoid(F.linear(v, weight, hidden_bias)), generator=self.generator)
                v = torch.sigmoid(h @ weight + visible_bias)
        return v

    def reconstruction_error(self, v0: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the one-step mean-field reconstruction sigmoid(sigmoid(v W^T + b) W + c)."""
        weight, hidden_bias, visible_bias = self.parts
        h = torch.sigmoid(F.linear(v0, weight, hidden_bias))
        return F.mse_loss(torch.sigmoid(h @ weight + visible_bias), v0)

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        v0 = self.inputs.batch(index)
        vk = self.chain_end(v0)
        weight, hidden_bias, visible_bias = self.parts
        gap = (
            free_energy(v0, weight, hidden_bias, visible_bias) - free_energy(vk, weight, hidden_bias, visible_bias)
        ).mean()
        with torch.no_grad():
            shown = self.reconstruction_error(v0)
        return gap + (shown - gap).detach()  # the value shown; the gradient of the gap

    def held_out_loss(self, held_out: Examples, batch_size: int) -> float:
        """The mean one-step reconstruction error on held-out examples (no sampling)."""

        class Error(nn.Module):
            def forward(inner, index: torch.Tensor) -> torch.Tensor:  # noqa: N805 (inner: the small module)
                return self.reconstruction_error(held_out.batch(index))

        return mean_loss(Error(), len(held_out), batch_size, held_out.device)

    @torch.no_grad()
    def unroll(self) -> None:
        """After training: an untied decoder takes the RBM's weights, transposed (a tied one has them already)."""
        decoder = self.pair.decoder.linear
        if isinstance(decoder, nn.Linear):
            decoder.weight.copy_(self.pair.encoder.linear.weight.t())
