"""Codes: what the encoder makes of examples, and each unit's statistics over them (what deeper pairs'
noise is relative to, see `sdae.corruption`)."""

from __future__ import annotations

import torch

from sdae.corruption import ValueRange
from sdae.data import Examples
from sdae.model import StackedDenoisingAutoencoder, evaluating


@torch.no_grad()
def clean_codes(
    model: StackedDenoisingAutoencoder, layer: int, examples: Examples, batch_size: int = 4096
) -> torch.Tensor:
    """The uncorrupted codes after `layer` encoder units: (len(examples), sizes[layer]) float32, on the examples'
    device, computed in eval mode. Raises UsageError for a layer the network does not have."""
    with evaluating(model):
        return torch.cat([model.encode(x, layer) for x in examples.batches(batch_size)])


def unit_range(codes: torch.Tensor) -> ValueRange:
    """Each unit's own (minimum, maximum, standard deviation) over these clean codes (n, units): three (units,)
    tensors."""
    return codes.min(0).values, codes.max(0).values, codes.std(0, correction=0)


def streamed_unit_range(codes: Examples, batch_size: int = 4096) -> ValueRange:
    """`unit_range` of codes too large to hold, accumulated over batches (sums in float64). Its standard
    deviation can differ from `unit_range`'s in the last bits, so each path keeps its own arithmetic."""
    low: torch.Tensor | None = None
    high: torch.Tensor  # these three are set with `low`, by the first batch
    total: torch.Tensor
    squares: torch.Tensor
    for x in codes.batches(batch_size):
        x = x.double()
        if low is None:
            low, high, total, squares = x.min(0).values, x.max(0).values, x.sum(0), (x * x).sum(0)
        else:
            low, high = torch.minimum(low, x.min(0).values), torch.maximum(high, x.max(0).values)
            total, squares = total + x.sum(0), squares + (x * x).sum(0)
    assert low is not None, "no codes"
    mean = total / len(codes)
    std = (squares / len(codes) - mean * mean).clamp_min(0).sqrt()
    return low.float(), high.float(), std.float()


class EncodedExamples(Examples):
    """The clean codes after `layer` encoder units of streamed examples, computed batch by batch
    (the codes of data larger than memory would not fit in it either)."""

    def __init__(self, model: StackedDenoisingAutoencoder, layer: int, source: Examples):
        self.model, self.layer, self.source = model, layer, source

    streamed = True

    def __len__(self) -> int:
        return len(self.source)

    @property
    def features(self) -> int:
        return self.model.sizes[self.layer]

    @property
    def device(self) -> torch.device:
        return self.source.device

    @torch.no_grad()
    def batch(self, index: torch.Tensor | slice) -> torch.Tensor:
        return self.model.encode(self.source.batch(index), self.layer).float()

    def subset(self, index: torch.Tensor) -> EncodedExamples:
        return EncodedExamples(self.model, self.layer, self.source.subset(index))
