"""The pieces of the network: a layer of units, a decoder Linear tied to its encoder's weight, and a denoising
pair (an encoder layer and its mirror decoder layer, one denoising autoencoder)."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F


class TiedLinear(nn.Module):
    """A Linear layer whose weight is the transpose of another Linear's weight."""

    def __init__(self, source: nn.Linear):
        super().__init__()
        # Held outside the module tree: the weight belongs to (and is saved with) the encoder.
        self.source: nn.Linear  # its type, for type checkers (as in `Layer`)
        object.__setattr__(self, "source", source)
        self.bias = nn.Parameter(torch.zeros(source.in_features, device=source.weight.device))
        self.in_features = source.out_features
        self.out_features = source.in_features

    @property
    def weight(self) -> torch.Tensor:
        return self.source.weight.t()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, tied=True"


class Layer(nn.Sequential):
    """One layer of units: a Linear map (`.linear`) followed by its activation (`.activation`)."""

    def __init__(self, linear: nn.Linear | TiedLinear, activation: nn.Module):
        super().__init__(OrderedDict(linear=linear, activation=activation))
        # The submodules' types, for type checkers (nn.Module's __getattr__ says `Tensor | Module`); declared here,
        # without a value, rather than in the class body, whose annotations TorchScript would read.
        self.linear: nn.Linear | TiedLinear
        self.activation: nn.Module


class DenoisingPair(nn.Module):
    """Encoder layer k and its mirror decoder layer, as one denoising autoencoder.

    `forward(x)` is the reconstruction; `pre_activation(x)` stops before the decoder's activation
    (the logits, where it is a Sigmoid), which the loss uses for numerical stability.
    """

    def __init__(self, encoder: Layer, decoder: Layer):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    @property
    def output_activation(self) -> nn.Module:
        return self.decoder.activation

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder.linear(self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
