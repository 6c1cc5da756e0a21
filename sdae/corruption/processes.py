"""The noise processes: one small frozen class each, a batch in, a corrupted batch out (see the package).

The paper is Vincent et al. (2010), "Stacked Denoising Autoencoders", JMLR 11; its section 4.2
("Types of corruption considered") defines additive isotropic Gaussian noise, masking noise and
salt-and-pepper noise, and its section 4.3 the emphasized denoising that the marks of
`corrupt_marked` serve.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

import torch

from sdae.errors import UsageError

ValueRange = tuple  # (low, high) or (low, high, scale): floats, or tensors with one value per component


def _unpack(value_range: ValueRange):
    """(low, high, scale), scale = high - low unless given."""
    low, high, *scale = value_range
    return low, high, (scale[0] if scale else high - low)


def _check_factor(factor: float) -> float:
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not (0 <= factor < math.inf):
        raise UsageError(f"a noise level's scaling factor must be a number >= 0 and finite, got {factor!r}")
    return float(factor)


class Corruption(ABC):
    """A noise process: a clean batch in, a corrupted copy out.

    Arguments of every method: `x`, the clean batch, a float tensor of shape (batch, features)
    (any shape whose last dimension holds the features works); `generator`, a `torch.Generator` on
    x's device, the only source of randomness; `value_range`, the clean data's range (see the
    package): `(low, high)` or `(low, high, scale)`, floats or tensors of shape (features,),
    (0, 1) for pixels. The result has x's shape, dtype and device; `x` itself is never modified.

    Raises: RuntimeError (from torch) when `generator` is not on x's device, or when tensors in
    `value_range` do not broadcast against x.

    Subclasses implement `corrupt` and `spec`. A process that corrupts only some components also
    overrides `corrupt_marked` to say which (and then usually defines `corrupt` from it). A
    subclass that implements neither `corrupt` nor `spec` cannot be instantiated (TypeError).
    """

    def __call__(
        self, x: torch.Tensor, generator: torch.Generator, value_range: ValueRange = (0.0, 1.0)
    ) -> torch.Tensor:
        """`corrupt(x, generator, value_range)`."""
        return self.corrupt(x, generator, value_range)

    @abstractmethod
    def corrupt(
        self, x: torch.Tensor, generator: torch.Generator, value_range: ValueRange = (0.0, 1.0)
    ) -> torch.Tensor:
        """The corrupted batch: a new tensor of x's shape (batch, features), dtype and device."""

    def corrupt_marked(
        self, x: torch.Tensor, generator: torch.Generator, value_range: ValueRange = (0.0, 1.0)
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The corrupted batch and a boolean mask of x's shape marking the corrupted components
        (None: all of them), for the paper's emphasized denoising (section 4.3).

        Draws exactly the random numbers `corrupt` draws, so both give the same corrupted batch from the
        same generator state. This default marks every component (None).
        """
        return self.corrupt(x, generator, value_range), None

    @property
    @abstractmethod
    def spec(self) -> str:
        """The process as the `noise` parameter writes it, e.g. `gaussian:0.3:clip`; `parse_noise` reads it back."""

    @property
    def parts(self) -> list[Corruption]:
        """The single processes this corruption is made of (itself, unless a mixture)."""
        return [self]

    def scaled(self, factor: float) -> Corruption:
        """A copy whose noise level is `factor` times this one's (options such as `clip` and `mean` kept).

        Raises UsageError if `factor` is negative or not finite, NotImplementedError for a process
        with no notion of level (a subclass outside sdae that does not define it).
        """
        raise NotImplementedError(f"{type(self).__name__} has no noise level to scale")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


@dataclass(frozen=True, repr=False)
class NoNoise(Corruption):
    """The identity: an ordinary (not denoising) autoencoder.

    `corrupt` returns a copy of x (batch, features); `corrupt_marked` marks no component. It has no
    level: `scaled` returns the process itself.
    """

    def corrupt(self, x, generator, value_range=(0.0, 1.0)):
        return x.clone()

    def corrupt_marked(self, x, generator, value_range=(0.0, 1.0)):
        return x.clone(), torch.zeros(x.shape, dtype=torch.bool, device=x.device)

    @property
    def spec(self) -> str:
        return "none"

    def scaled(self, factor: float) -> NoNoise:
        _check_factor(factor)
        return self


def _options(clip: bool, mean: float = 0.0) -> str:
    return (f":mean={mean:g}" if mean else "") + (":clip" if clip else "")


@dataclass(frozen=True, repr=False)
class Gaussian(Corruption):
    """Additive isotropic Gaussian noise (Vincent et al. 2010, section 4.2, "GS"): x + scale * (mean + sigma * n).

    n ~ N(0, 1) independently for every component of x (batch, features); `scale` comes from
    `value_range` (high - low unless given), one value or one per feature. `sigma` (>= 0) and
    `mean` are in units of that scale: pixel units on pixels, each unit's standard deviation on the
    codes of deeper pairs. The result is not clipped unless `clip`, which clips it to [low, high].
    Every component is corrupted (`corrupt_marked` marks None). `spec`: `gaussian:SIGMA[:mean=M][:clip]`.
    """

    sigma: float
    mean: float = 0.0
    clip: bool = False

    def corrupt(self, x, generator, value_range=(0.0, 1.0)):
        low, high, scale = _unpack(value_range)
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype).mul_(self.sigma)
        if self.mean:
            noise.add_(self.mean)
        out = x + noise * scale if _is_tensor(scale) or scale != 1 else x + noise
        return out.clamp_(low, high) if self.clip else out

    @property
    def spec(self) -> str:
        return f"gaussian:{self.sigma:g}" + _options(self.clip, self.mean)

    def scaled(self, factor: float) -> Gaussian:
        """A copy with sigma times `factor`; `mean` and `clip` unchanged."""
        return replace(self, sigma=self.sigma * _check_factor(factor))


@dataclass(frozen=True, repr=False)
class Speckle(Corruption):
    """Multiplicative (speckle) noise: x + x * sigma * n, n ~ N(0, 1) for every component of x (batch, features).

    `sigma` (>= 0) is relative to each value, so it has no units; zero inputs (the MNIST
    background) stay zero and bright strokes get noisier. Not one of the paper's processes. The
    result is not clipped unless `clip`, which clips it to `value_range`'s [low, high]. Every
    component is corrupted (`corrupt_marked` marks None). `spec`: `speckle:SIGMA[:clip]`.
    """

    sigma: float
    clip: bool = False

    def corrupt(self, x, generator, value_range=(0.0, 1.0)):
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        out = x.addcmul(x, noise, value=self.sigma)
        low, high, _ = _unpack(value_range)
        return out.clamp_(low, high) if self.clip else out

    @property
    def spec(self) -> str:
        return f"speckle:{self.sigma:g}" + _options(self.clip)

    def scaled(self, factor: float) -> Speckle:
        """A copy with sigma times `factor`; `clip` unchanged."""
        return replace(self, sigma=self.sigma * _check_factor(factor))


def _is_tensor(*values) -> bool:
    return any(isinstance(v, torch.Tensor) for v in values)


def choose_exact_fraction(x: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """A boolean mask of x's shape (batch, features) choosing exactly round(fraction * features)
    components of each row, uniformly at random, independently for each row.

    `fraction` is in [0, 1]. Draws one uniform number per component from `generator` (none when
    the count is 0 or all the features).
    """
    d = x.shape[-1]
    k = round(fraction * d)
    if k == 0:
        return torch.zeros(x.shape, dtype=torch.bool, device=x.device)
    if k >= d:
        return torch.ones(x.shape, dtype=torch.bool, device=x.device)
    u = torch.rand(x.shape, generator=generator, device=x.device)
    threshold = u.kthvalue(k, dim=-1, keepdim=True).values
    return u <= threshold


def _fraction(nu: float, factor: float) -> float:
    return min(1.0, nu * _check_factor(factor))


@dataclass(frozen=True, repr=False)
class Masking(Corruption):
    """Masking noise (Vincent et al. 2010, section 4.2, "MN"): a fraction `nu` of each example's
    components, chosen at random, set to 0.

    `nu` is a fraction of the features, in [0, 1]: exactly round(nu * features) components of each
    row of x (batch, features) are masked, as in the paper, and the survivors are not rescaled.
    `corrupt_marked` marks the masked components. `spec`: `masking:NU`.
    """

    nu: float

    def corrupt(self, x, generator, value_range=(0.0, 1.0)):
        return self.corrupt_marked(x, generator, value_range)[0]

    def corrupt_marked(self, x, generator, value_range=(0.0, 1.0)):
        chosen = choose_exact_fraction(x, self.nu, generator)
        return x.masked_fill(chosen, 0.0), chosen

    @property
    def spec(self) -> str:
        return f"masking:{self.nu:g}"

    def scaled(self, factor: float) -> Masking:
        """A copy with nu times `factor`, capped at 1 (every component)."""
        return replace(self, nu=_fraction(self.nu, factor))


def _on(value, x: torch.Tensor) -> torch.Tensor:
    """`value` (a float or a tensor) as a tensor of x's dtype on x's device; a float is filled in on
    the device, not copied from the host."""
    if isinstance(value, torch.Tensor):
        return value.to(device=x.device, dtype=x.dtype)
    return torch.full((), value, dtype=x.dtype, device=x.device)


@dataclass(frozen=True, repr=False)
class SaltPepper(Corruption):
    """Salt-and-pepper noise (Vincent et al. 2010, section 4.2, "SP"): a fraction `nu` of each
    example's components, chosen at random, set to the data's minimum or maximum, a fair coin each.

    `nu` is a fraction of the features, in [0, 1]: exactly round(nu * features) components of each
    row of x (batch, features). The minimum and maximum are `value_range`'s low and high (0 and 1
    for pixels; each unit's own for codes). `corrupt_marked` marks the changed components.
    `spec`: `saltpepper:NU`.
    """

    nu: float

    def corrupt(self, x, generator, value_range=(0.0, 1.0)):
        return self.corrupt_marked(x, generator, value_range)[0]

    def corrupt_marked(self, x, generator, value_range=(0.0, 1.0)):
        chosen = choose_exact_fraction(x, self.nu, generator)
        low, high = (_on(v, x) for v in _unpack(value_range)[:2])
        salt = torch.rand(x.shape, generator=generator, device=x.device) < 0.5
        return torch.where(chosen, torch.where(salt, high, low), x), chosen

    @property
    def spec(self) -> str:
        return f"saltpepper:{self.nu:g}"

    def scaled(self, factor: float) -> SaltPepper:
        """A copy with nu times `factor`, capped at 1 (every component)."""
        return replace(self, nu=_fraction(self.nu, factor))
