"""The stacked denoising autoencoder and its denoising pairs.

For input size d and hidden sizes h1..hn the network is

    encoder: Linear(d, h1) ReLU  Linear(h1, h2) ReLU ... Linear(h(n-1), hn) ReLU
    decoder: Linear(hn, h(n-1)) ReLU ... Linear(h2, h1) ReLU  Linear(h1, d) Sigmoid

Encoder Linear k and its mirror, decoder Linear (n - 1 - k), form denoising pair k (counting
from 0). A pair is a view over the network's own layers, so training a pair trains the network.
Pair 0's decoder ends in the network's Sigmoid; deeper pairs' decoders end in the ReLU that
follows them in the assembled decoder, and reconstruct the (non-negative) codes below.

With `tied=True` each decoder Linear uses the transpose of its pair's encoder weight and has a
bias of its own.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from sdae.errors import UsageError


class TiedLinear(nn.Module):
    """A Linear layer whose weight is the transpose of another Linear's weight."""

    def __init__(self, source: nn.Linear):
        super().__init__()
        # Held outside the module tree: the weight belongs to (and is saved with) the encoder.
        object.__setattr__(self, "source", source)
        self.bias = nn.Parameter(torch.zeros(source.in_features))
        self.in_features = source.out_features
        self.out_features = source.in_features

    @property
    def weight(self) -> torch.Tensor:
        return self.source.weight.t()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, tied=True"


class DenoisingPair(nn.Module):
    """Encoder Linear k (+ ReLU) and its mirror decoder Linear (+ its activation in the network).

    `forward(x)` is the reconstruction; `pre_activation(x)` stops before the final activation
    (the logits, where the activation is a Sigmoid), which the loss uses for numerical stability.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, activation: nn.Module):
        super().__init__()
        self.encoder_linear = encoder
        self.decoder_linear = decoder
        self.output_activation = activation

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.encoder_linear(x))

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder_linear(self.encode(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_activation(self.pre_activation(x))


class StackedDenoisingAutoencoder(nn.Module):
    """The assembled network: `.encoder`, `.decoder`, `.encode(x)`, and `model(x)` the reconstruction.

    Parameters
    ----------
    sizes:
        Layer widths from the input to the top code, e.g. `[784, 256, 128, 64]`.
    tied:
        Tie each decoder weight to the transpose of its encoder weight.
    generator:
        CPU generator for the initial weights: He (Kaiming) uniform, U(-sqrt(6/fan_in), sqrt(6/fan_in)),
        the scale that keeps activations steady through ReLUs, with zero biases. It learned
        faster than PyTorch's default Linear initialisation in our measurements (README).
        Without a generator, torch's global generator is used.
    """

    def __init__(self, sizes: list[int] | tuple[int, ...], tied: bool = False, generator: torch.Generator | None = None,
                 n_classes: int | None = None):
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or any(s < 1 for s in sizes):
            raise UsageError(f"layer sizes must be at least an input and one hidden size, all positive; got {sizes}")
        self.sizes = sizes
        self.tied = tied
        n = len(sizes) - 1
        encoder: list[nn.Module] = []
        for k in range(n):
            encoder += [nn.Linear(sizes[k], sizes[k + 1]), nn.ReLU()]
        self.encoder = nn.Sequential(*encoder)
        decoder: list[nn.Module] = []
        for k in reversed(range(n)):
            source = self.encoder[2 * k]
            decoder.append(TiedLinear(source) if tied else nn.Linear(sizes[k + 1], sizes[k]))
            decoder.append(nn.Sigmoid() if k == 0 else nn.ReLU())
        self.decoder = nn.Sequential(*decoder)
        self.head: nn.Linear | None = None
        self.reset_parameters(generator)
        if n_classes is not None:
            self.add_head(n_classes, generator)

    def add_head(self, n_classes: int, generator: torch.Generator | None = None) -> nn.Linear:
        """A softmax classifier (a Linear layer giving logits) on the top code, for supervised fine-tuning."""
        if n_classes < 2:
            raise UsageError(f"a classifier needs at least 2 classes, got {n_classes}")
        self.head = nn.Linear(self.sizes[-1], n_classes)
        with torch.no_grad():
            bound = math.sqrt(6.0 / (self.sizes[-1] + n_classes))  # Glorot: the head feeds a softmax, not a ReLU
            self.head.weight.uniform_(-bound, bound, generator=generator)
            self.head.bias.zero_()
        return self.head

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits from the top code (needs a head)."""
        if self.head is None:
            raise UsageError("this network has no classifier head; fine-tune it with --supervised first")
        return self.head(self.encoder(x))

    @property
    def depth(self) -> int:
        """The number of denoising pairs (hidden layers)."""
        return len(self.sizes) - 1

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            for module in [*self.encoder, *self.decoder]:
                if isinstance(module, nn.Linear):
                    bound = math.sqrt(6.0 / module.in_features)
                    module.weight.uniform_(-bound, bound, generator=generator)
                if isinstance(module, (nn.Linear, TiedLinear)):
                    module.bias.zero_()

    def encoder_linear(self, k: int) -> nn.Module:
        return self.encoder[2 * k]

    def decoder_linear(self, k: int) -> nn.Module:
        """The decoder Linear that mirrors encoder Linear k."""
        return self.decoder[2 * (self.depth - 1 - k)]

    def pair(self, k: int) -> DenoisingPair:
        """Denoising pair k (0 = the one next to the input), sharing this network's layers."""
        if not 0 <= k < self.depth:
            raise UsageError(f"pair {k} does not exist; this network has pairs 0..{self.depth - 1}")
        activation = self.decoder[2 * (self.depth - 1 - k) + 1]
        return DenoisingPair(self.encoder_linear(k), self.decoder_linear(k), activation)

    def encode(self, x: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """The code after `layer` encoder Linear+ReLU steps (default: the top code)."""
        layer = self.depth if layer is None else layer
        if not 0 <= layer <= self.depth:
            raise UsageError(f"layer {layer} does not exist; choose 0..{self.depth}")
        return self.encoder[: 2 * layer](x)

    @property
    def output_activation(self) -> nn.Module:
        return self.decoder[-1]

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction before the final Sigmoid (the logits)."""
        return self.decoder[:-1](self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
