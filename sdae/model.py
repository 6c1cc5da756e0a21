"""The stacked denoising autoencoder and its denoising pairs.

For input size d and hidden sizes h1..hn the network is a stack of named units, each a Linear map
and its activation:

    encoder: Layer(d -> h1, ReLU)   Layer(h1 -> h2, ReLU)  ...  Layer(h(n-1) -> hn, ReLU)
    decoder: Layer(hn -> h(n-1), ReLU)  ...  Layer(h2 -> h1, ReLU)  Layer(h1 -> d, Sigmoid)

with ReLU hidden units by default, or the paper's sigmoid units (`activation="sigmoid"`).

Layers and pairs are numbered from 1, next to the input, as `encode(x, layer)` counts them.
Encoder layer k and its mirror decoder layer form denoising pair k. A pair is a view over the
network's own units, so training a pair trains the network. Pair 1's decoder ends in the network's
Sigmoid; deeper pairs' decoders end in the ReLU that follows them in the assembled decoder, and
reconstruct the (non-negative) codes below.

With `tied=True` each decoder Linear uses the transpose of its pair's encoder weight and has a
bias of its own.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

from sdae.errors import UsageError
from sdae.options import Activation
from sdae.options import sizes as checked_sizes

MAX_CLASSES = 10_000
SATURATED = 0.01  # a sigmoid unit whose output stays within this of 0 or of 1 on every example is stuck
INIT_GAIN = 0.2  # ReLU weights start U(-g a, g a), a = sqrt(6 / fan_in) (He's bound); g chosen in README, "Dead units"


@contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """`module` in eval mode for the block, then back in the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def training_bytes(sizes: list[int]) -> int:
    """About the memory training takes for the weights: encoder and decoder, each with its gradient
    and two Adam moments (4 float32 copies)."""
    weights = sum((a + 1) * b + (b + 1) * a for a, b in zip(sizes, sizes[1:]))
    return 4 * 4 * weights


def available_bytes(device: torch.device | str = "cpu") -> int | None:
    """Memory free for tensors on the device (the machine's physical memory for the CPU), or None if unknown."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[1]
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(sizes: list[int], device: torch.device | str = "cpu") -> None:
    """Refuse a network whose weights (with gradients and optimizer state) cannot fit in memory."""
    need, have = training_bytes(sizes), available_bytes(device)
    if have is not None and need > have:
        raise UsageError(f"a {'-'.join(map(str, sizes))} network needs about {need / 2**30:.3g} GiB for its weights, "
                         f"gradients and optimizer state, more than the {have / 2**30:.3g} GiB of memory here; "
                         "choose smaller `hidden` sizes")


class TiedLinear(nn.Module):
    """A Linear layer whose weight is the transpose of another Linear's weight."""

    def __init__(self, source: nn.Linear):
        super().__init__()
        # Held outside the module tree: the weight belongs to (and is saved with) the encoder.
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

    def __init__(self, linear: nn.Module, activation: nn.Module):
        super().__init__(OrderedDict(linear=linear, activation=activation))


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


class StackedDenoisingAutoencoder(nn.Module):
    """The assembled network: `.encoder`, `.decoder`, `.encode(x)`, and `model(x)` the reconstruction.

    Parameters
    ----------
    sizes:
        Layer widths from the input to the top code, e.g. `[784, 256, 128, 64]`.
    tied:
        Tie each decoder weight to the transpose of its encoder weight.
    generator:
        CPU generator for the initial weights: for ReLU units U(-g a, g a) with a = sqrt(6/fan_in),
        He's bound, and g = `init_gain` (0.2 by default: with He's own bound, g = 1, 62% of the
        second layer's units died during pretraining; README, "Dead units"); for sigmoid units
        Glorot uniform, U(-sqrt(6/(fan_in+fan_out)), ...). Biases start at zero. Without a
        generator, torch's global generator is used.
    n_classes:
        Add a classifier head for this many classes (see `add_head`).
    activation:
        The hidden units: "relu" (default) or "sigmoid" (the paper's; codes in [0, 1]).
    init_gain:
        ReLU networks: the He bound is multiplied by this (`INIT_GAIN` by default).
    """

    def __init__(self, sizes: list[int] | tuple[int, ...], tied: bool = False, generator: torch.Generator | None = None,
                 n_classes: int | None = None, activation: str = "relu", init_gain: float | None = None):
        super().__init__()
        self.init_gain = INIT_GAIN if init_gain is None else float(init_gain)
        if activation not in set(Activation):
            raise UsageError(f"`activation` must be one of {', '.join(Activation)}, got {activation!r}")
        self.activation = str(activation)
        hidden = nn.ReLU if activation == "relu" else nn.Sigmoid
        if len(sizes) < 2 or int(sizes[0]) < 1:
            raise UsageError(f"`sizes` must be an input size and at least one hidden size, all >= 1; got {sizes!r}")
        sizes = [int(sizes[0]), *checked_sizes("sizes", list(sizes[1:]))]
        self.sizes = sizes
        self.tied = tied
        self.encoder = nn.Sequential(*(Layer(nn.Linear(a, b), hidden()) for a, b in zip(sizes, sizes[1:])))
        decoder = []
        for layer in range(self.depth, 0, -1):
            source = self.encoder[layer - 1].linear
            linear = TiedLinear(source) if tied else nn.Linear(sizes[layer], sizes[layer - 1])
            decoder.append(Layer(linear, nn.Sigmoid() if layer == 1 else hidden()))
        self.decoder = nn.Sequential(*decoder)
        self.head: nn.Linear | None = None
        # How raw inputs map to the [0, 1] the network works in (`prepare`); saved with the weights.
        self.register_buffer("input_offset", torch.zeros(()))
        self.register_buffer("input_scale", torch.ones(()))
        self.reset_parameters(generator)
        if n_classes is not None:
            self.add_head(n_classes, generator)

    def set_scaling(self, offset: float, scale: float) -> StackedDenoisingAutoencoder:
        """Record how raw inputs are mapped to [0, 1]: x01 = (x - offset) * scale."""
        self.input_offset.fill_(offset)
        self.input_scale.fill_(scale)
        return self

    def prepare(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw inputs (as the dataset stores them: bytes 0..255, digits 0..16, your units) scaled as in training.

        `model(model.prepare(raw))` reconstructs raw examples; `model.encode(model.prepare(raw))` codes them.
        """
        return (raw.to(self.input_scale.dtype) - self.input_offset) * self.input_scale

    @property
    def depth(self) -> int:
        """The number of denoising pairs (hidden layers)."""
        return len(self.sizes) - 1

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            for layer in [*self.encoder, *self.decoder]:
                if isinstance(layer.linear, nn.Linear):
                    fan_in, fan_out = layer.linear.in_features, layer.linear.out_features
                    if self.activation == "relu":
                        bound = self.init_gain * math.sqrt(6.0 / fan_in)
                    else:
                        bound = math.sqrt(6.0 / (fan_in + fan_out))
                    layer.linear.weight.uniform_(-bound, bound, generator=generator)
                layer.linear.bias.zero_()

    def add_head(self, n_classes: int, generator: torch.Generator | None = None) -> nn.Linear:
        """A softmax classifier (a Linear layer giving logits) on the top code, for supervised fine-tuning.

        It is made on the device of the network's weights.
        """
        if not 2 <= n_classes <= MAX_CLASSES:
            raise UsageError(f"a classifier needs between 2 and {MAX_CLASSES} classes, got {n_classes}")
        device = self.encoder[0].linear.weight.device
        head = nn.Linear(self.sizes[-1], n_classes)
        with torch.no_grad():
            bound = math.sqrt(6.0 / (self.sizes[-1] + n_classes))  # Glorot: the head feeds a softmax, not a ReLU
            head.weight.uniform_(-bound, bound, generator=generator)
            head.bias.zero_()
        self.head = head.to(device)
        return self.head

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits from the top code (needs a head)."""
        if self.head is None:
            raise UsageError("this network has no classifier head; fine-tune it with `supervised=True` first")
        return self.head(self.encoder(x))

    def encoder_layer(self, layer: int) -> Layer:
        return self.encoder[self._check_layer(layer, low=1) - 1]

    def decoder_layer(self, layer: int) -> Layer:
        """The decoder layer that mirrors encoder layer `layer`."""
        return self.decoder[self.depth - self._check_layer(layer, low=1)]

    def pair(self, layer: int) -> DenoisingPair:
        """Denoising pair `layer` (1 = the one next to the input), sharing this network's units."""
        return DenoisingPair(self.encoder_layer(layer), self.decoder_layer(layer))

    def encode(self, x: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """The code after `layer` encoder units (default: the top code; 0: the input itself)."""
        layer = self.depth if layer is None else self._check_layer(layer, low=0)
        return self.encoder[:layer](x)

    def _check_layer(self, layer: int, low: int) -> int:
        if not low <= layer <= self.depth:
            raise UsageError(f"layer {layer} does not exist; this network has layers {low}..{self.depth}")
        return layer

    @property
    def output_activation(self) -> nn.Module:
        return self.decoder[-1].activation

    @torch.no_grad()
    def inactive_fractions(self, batches: Iterable[torch.Tensor], layers: int | None = None) -> list[float]:
        """Per encoder layer (1..layers), the fraction of units that are dead on all these inputs:
        a ReLU never active (output 0 on every example), a sigmoid stuck saturated (within
        `SATURATED` of 0 on every example, or of 1 on every example)."""
        layers = self.depth if layers is None else layers
        seen: list[list[torch.Tensor]] = [[] for _ in range(layers)]  # per layer: ever active / ever below / ever above
        for x in batches:
            for k in range(layers):
                x = self.encoder[k](x)
                if self.activation == "relu":
                    found = [(x > 0).any(0)]
                else:
                    found = [(x > SATURATED).any(0), (x < 1 - SATURATED).any(0)]
                seen[k] = found if not seen[k] else [a | b for a, b in zip(seen[k], found)]
        if self.activation == "relu":
            return [float((~s[0]).float().mean()) if s else 0.0 for s in seen]
        return [float(((~s[0]) | (~s[1])).float().mean()) if s else 0.0 for s in seen]

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction before the final Sigmoid (the logits)."""
        return self.decoder[-1].linear(self.decoder[:-1](self.encoder(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
