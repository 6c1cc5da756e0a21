"""Noise processes for the denoising criterion.

Each process is a small frozen dataclass with one job: a batch in, a corrupted batch out (x of
shape (batch, features)). Processes are values: equal when their parameters are, hashable, never
changed; `process.scaled(factor)` is a copy at another level (options such as `clip` and `mean`
kept). Randomness comes only from the `torch.Generator` passed in, which must live on the batch's
device, so the same generator state gives the same corruption. Every process returns a new
tensor; the clean batch is never modified.

Masking, salt-and-pepper and additive isotropic Gaussian noise are the paper's (Vincent et al.
2010, section 4.2, "Types of corruption considered"); speckle noise and mixtures are not.

`value_range` describes the clean data, `(low, high)` or `(low, high, scale)`: floats, or tensors
with one value per component; `scale` is high - low unless given. For the first pair it is
(0, 1), the range of pixels. For deeper pairs it is each unit's own minimum, maximum and standard
deviation over the clean training codes, so that noise is relative to each unit's own scale (the
rule, for unit j):

- `gaussian:SIGMA[:mean=M]` adds scale_j * (M + SIGMA * n), n ~ N(0, 1): isotropic, zero-mean
  unless a mean is given, as in the paper; on pixels SIGMA is in pixel units, on codes in units of
  each unit's standard deviation;
- `speckle:SIGMA` is x + x * SIGMA * n, relative to each value already;
- `masking:NU` sets exactly round(NU * d) components of each example to 0 (the ReLU's rest value);
- `saltpepper:NU` sets exactly round(NU * d) components to low_j or high_j, a fair coin each.

Gaussian and speckle noise are not clipped: the loss's target is the clean input, so the
corrupted input need not be a valid image. `:clip` (e.g. `gaussian:0.5:clip`) clips the result to
[low_j, high_j]. Several specs make a `Mixture`: each example gets one of them.

`corrupt_marked` also returns which components were corrupted (masking, salt-and-pepper), for
the paper's emphasized denoising (section 4.3); additive noise corrupts every component. A new
process subclasses `Corruption` and implements `corrupt` and `spec` (and `corrupt_marked` if it
corrupts only some components).
"""

from sdae.corruption.mixture import Mixture
from sdae.corruption.processes import (
    Corruption,
    Gaussian,
    Masking,
    NoNoise,
    SaltPepper,
    Speckle,
    ValueRange,
    choose_exact_fraction,
)
from sdae.corruption.spec import parse_noise, parse_one

__all__ = [
    "Corruption",
    "Gaussian",
    "Masking",
    "Mixture",
    "NoNoise",
    "SaltPepper",
    "Speckle",
    "ValueRange",
    "choose_exact_fraction",
    "parse_noise",
    "parse_one",
]
