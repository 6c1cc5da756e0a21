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
from collections.abc import Iterable, Sequence
from typing import cast

import torch
from torch import nn

from sdae import inputs
from sdae.device import evaluating  # noqa: F401 (it lived here: `sdae.model.evaluating` still imports)
from sdae.errors import UsageError
from sdae.layers import DenoisingPair, Layer, TiedLinear
from sdae.options import Activation
from sdae.options import sizes as checked_sizes

MAX_CLASSES = 10_000
SATURATED = 0.01  # a sigmoid unit whose output stays within this of 0 or of 1 on every example is stuck
INIT_GAIN = 0.2  # ReLU weights start U(-g a, g a), a = sqrt(6 / fan_in) (He's bound); g chosen in the manual, docs/results-mnist.md, "Dead units"


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
        second layer's units died during pretraining; the manual's "Dead units"); for sigmoid units
        Glorot uniform, U(-sqrt(6/(fan_in+fan_out)), ...). Biases start at zero. Without a
        generator, torch's global generator is used.
    n_classes:
        Add a classifier head for this many classes (see `add_head`).
    activation:
        The hidden units: "relu" (default) or "sigmoid" (the paper's; codes in [0, 1]).
    output:
        The reconstruction's last layer: "sigmoid" (default: inputs in [0, 1], cross-entropy) or "affine"
        (no activation, squared error: real-valued inputs; Vincent et al. 2010, section 3.3).
    init_gain:
        ReLU networks: the He bound is multiplied by this (`INIT_GAIN` by default).
    """

    def __init__(
        self,
        sizes: list[int] | tuple[int, ...],
        tied: bool = False,
        generator: torch.Generator | None = None,
        n_classes: int | None = None,
        activation: str = "relu",
        init_gain: float | None = None,
        output: str = "sigmoid",
    ):
        super().__init__()
        self.init_gain = INIT_GAIN if init_gain is None else float(init_gain)
        if activation not in set(Activation):
            raise UsageError(f"`activation` must be one of {', '.join(Activation)}, got {activation!r}")
        if output not in ("sigmoid", "affine"):
            raise UsageError(f"`output` must be sigmoid or affine, got {output!r}")
        self.activation, self.output = str(activation), str(output)
        hidden = nn.ReLU if activation == "relu" else nn.Sigmoid
        if len(sizes) < 2 or int(sizes[0]) < 1:
            raise UsageError(f"`sizes` must be an input size and at least one hidden size, all >= 1; got {sizes!r}")
        sizes = [int(sizes[0]), *checked_sizes("sizes", list(sizes[1:]))]
        self.sizes = sizes
        self.tied = tied
        linears = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]
        self.encoder = nn.Sequential(*(Layer(linear, hidden()) for linear in linears))
        decoder = []
        for layer in range(self.depth, 0, -1):
            source = linears[layer - 1]
            linear = TiedLinear(source) if tied else nn.Linear(sizes[layer], sizes[layer - 1])
            last = nn.Sigmoid() if self.output == "sigmoid" else nn.Identity()
            decoder.append(Layer(linear, last if layer == 1 else hidden()))
        self.decoder = nn.Sequential(*decoder)
        self.head: nn.Linear | None = None
        # How raw inputs map to the [0, 1] the network works in (`prepare`); saved with the weights.
        self.input_offset: torch.Tensor  # the buffers' types, for type checkers (as in `Layer`)
        self.input_scale: torch.Tensor
        self.register_buffer("input_offset", torch.zeros(()))
        self.register_buffer("input_scale", torch.ones(()))
        self.reset_parameters(generator)
        if n_classes is not None:
            self.add_head(n_classes, generator)

    def set_scaling(
        self, offset: float | Sequence[float], scale: float | Sequence[float]
    ) -> StackedDenoisingAutoencoder:
        """Record how raw inputs are mapped to [0, 1]: x01 = (x - offset) * scale, with one offset and scale for
        every feature (floats) or one per feature (sequences of `sizes[0]` floats). Saved with the weights."""
        for name, value in (("input_offset", offset), ("input_scale", scale)):
            buffer = getattr(self, name)
            if isinstance(value, Sequence):
                if len(value) != self.sizes[0]:
                    raise UsageError(f"a per-feature scaling needs {self.sizes[0]} values, got {len(value)}")
                setattr(self, name, torch.tensor(value, dtype=buffer.dtype, device=buffer.device))
            else:
                if buffer.dim():
                    setattr(self, name, torch.zeros((), dtype=buffer.dtype, device=buffer.device))
                getattr(self, name).fill_(value)
        return self

    def to_raw(self, x01: torch.Tensor) -> torch.Tensor:
        """Values in the network's units ((batch, features), e.g. a reconstruction) back in the data's own units:
        the inverse of `prepare`, x = x01 / scale + offset (float32)."""
        return x01.to(self.input_scale.dtype) / self.input_scale + self.input_offset

    # Set by `sdae.load` when the decoder was not trained with this encoder (the latest weights of a run fine-tuned
    # on the labels); `model(x)` and `pre_activation` then warn with it (SDAEWarning).
    decoder_note: str | None = None

    def prepare(self, raw) -> torch.Tensor:
        """Raw inputs (as the dataset stores them: bytes 0..255, digits 0..16, your units) scaled as in training.

        `model(model.prepare(raw))` reconstructs raw examples; `model.encode(model.prepare(raw))` codes them.
        `raw`: a NumPy array or tensor of any real dtype, (examples, D), (examples, H, W) or one example (see
        `sdae.inputs`). Returns a float32 (examples, D) tensor on the weights' device (float64 comes back as float32).
        """
        raw = inputs.batch(self, raw, "raw")
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
        device = self.encoder_layer(1).linear.weight.device
        head = nn.Linear(self.sizes[-1], n_classes)
        with torch.no_grad():
            bound = math.sqrt(6.0 / (self.sizes[-1] + n_classes))  # Glorot: the head feeds a softmax, not a ReLU
            head.weight.uniform_(-bound, bound, generator=generator)
            head.bias.zero_()
        self.head = head.to(device)
        return self.head

    def classify(self, x) -> torch.Tensor:
        """Class logits (examples, classes) from the top code (needs a head); `x` as `encode` takes it."""
        if self.head is None:
            raise UsageError("this network has no classifier head; fine-tune it with `supervised=True` first")
        return self.head(self.encoder(inputs.network_input(self, x)))

    def encoder_layer(self, layer: int) -> Layer:
        return cast(Layer, self.encoder[self._check_layer(layer, low=1) - 1])

    def decoder_layer(self, layer: int) -> Layer:
        """The decoder layer that mirrors encoder layer `layer`."""
        return cast(Layer, self.decoder[self.depth - self._check_layer(layer, low=1)])

    def pair(self, layer: int) -> DenoisingPair:
        """Denoising pair `layer` (1 = the one next to the input), sharing this network's units."""
        return DenoisingPair(self.encoder_layer(layer), self.decoder_layer(layer))

    def encode(self, x, layer: int | None = None) -> torch.Tensor:
        """The code (an (examples, width) tensor) after `layer` encoder units (default: the top code; 0: the input).

        `x`: prepared inputs (`prepare(raw)`), floats in the shapes `prepare` takes, cast to the weights' dtype.
        """
        layer = self.depth if layer is None else self._check_layer(layer, low=0)
        return self.encoder[:layer](inputs.network_input(self, x))

    def decode(self, code: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """The reconstruction (batch, sizes[0]), in the network's units, from codes (batch, sizes[layer]) after `layer`
        encoder layers (default: the top): the decoder layers that mirror layers `layer`..1. Raises UsageError for
        a layer the network does not have."""
        layer = self.depth if layer is None else self._check_layer(layer, low=1)
        return self.decoder[self.depth - layer :](code)

    def _check_layer(self, layer: int, low: int) -> int:
        if not low <= layer <= self.depth:
            raise UsageError(f"layer {layer} does not exist; this network has layers {low}..{self.depth}")
        return layer

    @property
    def output_activation(self) -> nn.Module:
        return self.decoder_layer(1).activation

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

    def pre_activation(self, x) -> torch.Tensor:
        """The reconstruction before the final Sigmoid (the logits); `x` as `forward` takes it."""
        return self.decoder_layer(1).linear(self.decoder[:-1](self.encoder(inputs.reconstruction_input(self, x, 2))))

    def forward(self, x) -> torch.Tensor:
        """The reconstruction (examples, D) of prepared inputs `x`, taken as `encode` takes them."""
        return self.decoder(self.encoder(inputs.reconstruction_input(self, x, 4)))  # 4: through nn.Module.__call__
