"""Noise processes for the denoising criterion.

Each process is a small class with one job: a batch in, a corrupted batch out. Randomness comes
only from the `torch.Generator` passed in, which must live on the batch's device, so the same
generator state gives the same corruption. Every process returns a new tensor; the clean batch is
never modified.

`value_range` is the range of the clean data, `(low, high)`: pixels scaled to [0, 1] for the
first pair, the observed range of the clean codes for deeper pairs. Additive processes (Gaussian,
speckle) clip their output to that range, so a corrupted image is still a valid image and
binary cross-entropy still sees inputs in [0, 1]. Salt-and-pepper sets pixels to its two ends.

Specs (the `noise` parameter) read `NAME:LEVEL`: `gaussian:SIGMA`, `speckle:SIGMA`, `masking:NU`,
`saltpepper:NU`, or `none`. Several specs make a `Mixture`: each example gets one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sdae.errors import UsageError

ValueRange = tuple[float, float]


class Corruption:
    """A noise process. Subclasses implement `corrupt` and `spec`."""

    def __call__(self, x: torch.Tensor, generator: torch.Generator, value_range: ValueRange = (0.0, 1.0)) -> torch.Tensor:
        return self.corrupt(x, generator, value_range)

    def corrupt(self, x: torch.Tensor, generator: torch.Generator, value_range: ValueRange) -> torch.Tensor:
        raise NotImplementedError

    @property
    def spec(self) -> str:
        raise NotImplementedError

    @property
    def parts(self) -> list[Corruption]:
        """The single processes this corruption is made of (itself, unless a mixture)."""
        return [self]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


@dataclass(frozen=True, repr=False)
class NoNoise(Corruption):
    """The identity: an ordinary (not denoising) autoencoder."""

    def corrupt(self, x, generator, value_range):
        return x.clone()

    @property
    def spec(self) -> str:
        return "none"


@dataclass(frozen=True, repr=False)
class Gaussian(Corruption):
    """Additive isotropic Gaussian noise: x + sigma * n, n ~ N(0, 1), clipped to the data's range."""

    sigma: float

    def corrupt(self, x, generator, value_range):
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (x + self.sigma * noise).clamp_(*value_range)

    @property
    def spec(self) -> str:
        return f"gaussian:{self.sigma:g}"


@dataclass(frozen=True, repr=False)
class Speckle(Corruption):
    """Multiplicative noise: x + x * n, n ~ N(0, sigma^2), clipped to the data's range.

    Zero inputs (the MNIST background) stay zero; bright strokes get noisier.
    """

    sigma: float

    def corrupt(self, x, generator, value_range):
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x.addcmul(x, noise, value=self.sigma).clamp_(*value_range)

    @property
    def spec(self) -> str:
        return f"speckle:{self.sigma:g}"


def _choose_exact_fraction(x: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """A boolean mask choosing exactly round(fraction * d) of the d components of each row."""
    d = x.shape[-1]
    k = round(fraction * d)
    if k == 0:
        return torch.zeros(x.shape, dtype=torch.bool, device=x.device)
    if k >= d:
        return torch.ones(x.shape, dtype=torch.bool, device=x.device)
    u = torch.rand(x.shape, generator=generator, device=x.device)
    threshold = u.kthvalue(k, dim=-1, keepdim=True).values
    return u <= threshold


@dataclass(frozen=True, repr=False)
class Masking(Corruption):
    """Masking noise: a fraction nu of each example's components, chosen at random, set to 0.

    As in the paper, exactly round(nu * d) components of each example are masked, and the
    survivors are not rescaled.
    """

    nu: float

    def corrupt(self, x, generator, value_range):
        return x.masked_fill(_choose_exact_fraction(x, self.nu, generator), 0.0)

    @property
    def spec(self) -> str:
        return f"masking:{self.nu:g}"


@dataclass(frozen=True, repr=False)
class SaltPepper(Corruption):
    """Salt-and-pepper noise: a fraction nu of each example's components, chosen at random,
    set to the data's minimum or maximum with equal probability."""

    nu: float

    def corrupt(self, x, generator, value_range):
        chosen = _choose_exact_fraction(x, self.nu, generator)
        low, high = value_range
        salt = torch.rand(x.shape, generator=generator, device=x.device) < 0.5
        values = torch.where(salt, high, low).to(x.dtype)
        return torch.where(chosen, values, x)

    @property
    def spec(self) -> str:
        return f"saltpepper:{self.nu:g}"


class Mixture(Corruption):
    """Each example of a batch gets one of several processes, chosen uniformly at random."""

    def __init__(self, parts: list[Corruption]):
        if len(parts) < 2:
            raise UsageError("a noise mixture needs at least two processes")
        self._parts = list(parts)
        self._coefficients: dict = {}  # (device, dtype) -> per-process (a, b) of x + n * (a + b * x)

    @property
    def parts(self) -> list[Corruption]:
        return list(self._parts)

    def corrupt(self, x, generator, value_range):
        choice = torch.randint(len(self._parts), (x.shape[0],) + (1,) * (x.dim() - 1), generator=generator, device=x.device)
        if all(isinstance(p, (Gaussian, Speckle)) for p in self._parts):
            return self._additive_normal(x, choice, generator, value_range)
        out = self._parts[0](x, generator, value_range)
        for i, part in enumerate(self._parts[1:], start=1):
            out = torch.where(choice == i, part(x, generator, value_range), out)
        return out

    def _additive_normal(self, x, choice, generator, value_range):
        """Gaussian and speckle are both x + n * (a + b * x), n ~ N(0, 1): (a, b) = (sigma, 0) or (0, sigma).

        So a mixture of them needs one draw of n and per-example coefficients, not one draw per process.
        """
        key = (x.device, x.dtype)
        if key not in self._coefficients:  # built once per device: no host-to-device copy per batch
            self._coefficients[key] = tuple(
                torch.tensor([p.sigma if isinstance(p, kind) else 0.0 for p in self._parts], device=x.device, dtype=x.dtype)
                for kind in (Gaussian, Speckle))
        a, b = self._coefficients[key]
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return noise.mul_(torch.addcmul(a[choice], b[choice], x)).add_(x).clamp_(*value_range)

    @property
    def spec(self) -> str:
        return ",".join(p.spec for p in self._parts)

    def __eq__(self, other) -> bool:
        return isinstance(other, Mixture) and self._parts == other._parts

    def __hash__(self) -> int:
        return hash(tuple(self._parts))


# name -> (class, the level's name, largest allowed level)
_PROCESSES: dict[str, tuple[type[Corruption], str, float]] = {
    "gaussian": (Gaussian, "sigma", float("inf")),
    "speckle": (Speckle, "sigma", float("inf")),
    "masking": (Masking, "nu", 1.0),
    "saltpepper": (SaltPepper, "nu", 1.0),
}


def parse_one(spec: str) -> Corruption:
    """Parse one `NAME:LEVEL` spec (or `none`) into a noise process."""
    text = spec.strip().lower()
    if text == "none":
        return NoNoise()
    name, sep, level_text = text.partition(":")
    if name == "none":
        raise UsageError(f"`noise` {spec!r}: none takes no level; write none")
    if name not in _PROCESSES:
        known = ", ".join([*_PROCESSES, "none"])
        raise UsageError(f"unknown noise {name!r} in `noise` {spec!r}; known: {known}")
    cls, level_name, largest = _PROCESSES[name]
    if not sep or not level_text:
        raise UsageError(f"`noise` {spec!r} needs a level, e.g. {name}:0.3")
    try:
        level = float(level_text)
    except ValueError:
        raise UsageError(f"`noise` {spec!r}: level {level_text!r} is not a number") from None
    if not (0.0 <= level <= largest) or level != level:
        bound = "[0, 1]" if largest == 1.0 else ">= 0 and finite"
        raise UsageError(f"`noise` {spec!r}: {level_name} must be {bound}, got {level_text}")
    if level == float("inf"):
        raise UsageError(f"`noise` {spec!r}: {level_name} must be finite")
    return cls(level)


def parse_noise(specs: str | list[str] | tuple[str, ...]) -> Corruption:
    """Parse one spec, a comma-separated list of specs, or a list of them.

    One process is returned as itself; several become a `Mixture`.
    """
    if isinstance(specs, str):
        specs = [specs]
    pieces = [piece for spec in specs for piece in spec.split(",") if piece.strip()]
    if not pieces:
        raise UsageError("`noise` needs at least one process, e.g. gaussian:0.3 (or none)")
    parts = [parse_one(piece) for piece in pieces]
    return parts[0] if len(parts) == 1 else Mixture(parts)
