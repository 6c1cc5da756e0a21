"""Generating samples from a stack of sigmoid units (Vincent et al. 2010, section 7, "generating samples").

A stack of denoising autoencoders (or RBMs, or ordinary autoencoders) has no prior over its top
code, so generation starts from an example: a bottom-up pass takes it to the top code (each layer's
mean activations), the top layer's units are sampled as Bernoulli variables with those means, and
a top-down pass through the decoders generates each layer below, sampling each hidden layer's units
as Bernoulli variables; the input layer's means (pixel intensities) are the sample shown. Each
decoder is its pair's: the layer-wise weights of pretraining are the model the paper samples.
"""

from __future__ import annotations

import torch

from sdae.errors import UsageError
from sdae.model import StackedDenoisingAutoencoder


def check_bernoulli(model: StackedDenoisingAutoencoder) -> None:
    """Raises UsageError unless every unit is a sigmoid (a Bernoulli mean) and so is the reconstruction."""
    if model.activation != "sigmoid" or model.output != "sigmoid":
        raise UsageError(
            "sampling treats every unit as a Bernoulli variable: the run needs sigmoid hidden units and a sigmoid "
            f"output (it has {model.activation} units and a{'n' if model.output == 'affine' else ''} {model.output} "
            "output); pretrain one with --activation sigmoid"
        )


@torch.no_grad()
def generate(
    model: StackedDenoisingAutoencoder,
    x: torch.Tensor,
    samples: int,
    generator: torch.Generator,
    layer: int | None = None,
) -> torch.Tensor:
    """`samples` samples for each example of `x` ((examples, features), prepared to [0, 1]), generated from
    `layer`'s code (default the top): (examples, samples, features), each the input layer's means.

    Raises UsageError for a stack that is not all sigmoid units, or a layer out of range."""
    check_bernoulli(model)
    top = model.depth if layer is None else layer
    if not 1 <= top <= model.depth:
        raise UsageError(f"`layer` {layer} is not a layer of this {model.depth}-layer stack")
    code = model.encode(x, top).float()  # the bottom-up pass: each layer's means
    code = code.unsqueeze(1).expand(-1, samples, -1).reshape(-1, code.shape[1])
    h = torch.bernoulli(code, generator=generator)
    for k in range(top, 0, -1):
        means = model.decoder_layer(k)(h.to(model.decoder_layer(k).linear.weight.dtype)).float()
        h = means if k == 1 else torch.bernoulli(means, generator=generator)
    return h.reshape(len(x), samples, -1)
