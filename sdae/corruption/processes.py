"""The noise processes: one small frozen class each, a batch in, a corrupted batch out (see the package)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sdae.errors import UsageError

ValueRange = tuple  # (low, high) or (low, high, scale): floats, or tensors with one value per component


def _unpack(value_range: ValueRange):
    """(low, high, scale), scale = high - low unless given."""
    low, high, *scale = value_range
    return low, high, (scale[0] if scale else high - low)


class Corruption:
    """A noise process. Subclasses implement `corrupt` (or `corrupt_marked`) and `spec`."""

    def __call__(self, x: torch.Tensor, generator: torch.Generator, value_range: ValueRange = (0.0, 1.0)) -> torch.Tensor:
        return self.corrupt(x, generator, value_range)

    def corrupt(self, x: torch.Tensor, generator: torch.Generator, value_range: ValueRange) -> torch.Tensor:
        return self.corrupt_marked(x, generator, value_range)[0]

    def corrupt_marked(self, x: torch.Tensor, generator: torch.Generator,
                       value_range: ValueRange = (0.0, 1.0)) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The corrupted batch and a boolean mask of the corrupted components (None: all of them)."""
        return self.corrupt(x, generator, value_range), None

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

    def corrupt_marked(self, x, generator, value_range=(0.0, 1.0)):
        return x.clone(), torch.zeros(x.shape, dtype=torch.bool, device=x.device)

    @property
    def spec(self) -> str:
        return "none"


def _options(clip: bool, mean: float = 0.0) -> str:
    return (f":mean={mean:g}" if mean else "") + (":clip" if clip else "")


@dataclass(frozen=True, repr=False)
class Gaussian(Corruption):
    """Additive isotropic Gaussian noise: x + scale * (mean + sigma * n), n ~ N(0, 1) (see the module docstring)."""

    sigma: float
    mean: float = 0.0
    clip: bool = False

    def corrupt(self, x, generator, value_range):
        low, high, scale = _unpack(value_range)
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype).mul_(self.sigma)
        if self.mean:
            noise.add_(self.mean)
        out = x + noise * scale if _is_tensor(scale) or scale != 1 else x + noise
        return out.clamp_(low, high) if self.clip else out

    @property
    def spec(self) -> str:
        return f"gaussian:{self.sigma:g}" + _options(self.clip, self.mean)


@dataclass(frozen=True, repr=False)
class Speckle(Corruption):
    """Multiplicative noise: x + x * sigma * n, n ~ N(0, 1).

    Zero inputs (the MNIST background) stay zero; bright strokes get noisier.
    """

    sigma: float
    clip: bool = False

    def corrupt(self, x, generator, value_range):
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        out = x.addcmul(x, noise, value=self.sigma)
        low, high, _ = _unpack(value_range)
        return out.clamp_(low, high) if self.clip else out

    @property
    def spec(self) -> str:
        return f"speckle:{self.sigma:g}" + _options(self.clip)


def _is_tensor(*values) -> bool:
    return any(isinstance(v, torch.Tensor) for v in values)


def choose_exact_fraction(x: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
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

    def corrupt_marked(self, x, generator, value_range=(0.0, 1.0)):
        chosen = choose_exact_fraction(x, self.nu, generator)
        return x.masked_fill(chosen, 0.0), chosen

    @property
    def spec(self) -> str:
        return f"masking:{self.nu:g}"


@dataclass(frozen=True, repr=False)
class SaltPepper(Corruption):
    """Salt-and-pepper noise: a fraction nu of each example's components, chosen at random,
    set to the data's minimum or maximum with equal probability."""

    nu: float

    def corrupt_marked(self, x, generator, value_range=(0.0, 1.0)):
        chosen = choose_exact_fraction(x, self.nu, generator)
        low, high = (torch.as_tensor(v, dtype=x.dtype, device=x.device) for v in _unpack(value_range)[:2])
        salt = torch.rand(x.shape, generator=generator, device=x.device) < 0.5
        return torch.where(chosen, torch.where(salt, high, low), x), chosen

    @property
    def spec(self) -> str:
        return f"saltpepper:{self.nu:g}"


class Mixture(Corruption):
    """Each example of a batch gets one of several processes, chosen uniformly at random."""

    def __init__(self, parts: list[Corruption]):
        if len(parts) < 2:
            raise UsageError("a noise mixture needs at least two processes")
        self._parts = list(parts)
        self._coefficients: dict = {}  # (device, dtype) -> per-process (a, b, mean, clip) of x + s * (m + n * a) + n * b * x

    @property
    def parts(self) -> list[Corruption]:
        return list(self._parts)

    def _choice(self, x, generator):
        return torch.randint(len(self._parts), (x.shape[0],) + (1,) * (x.dim() - 1), generator=generator, device=x.device)

    def corrupt(self, x, generator, value_range):
        if all(isinstance(p, (Gaussian, Speckle)) for p in self._parts):
            return self._additive_normal(x, self._choice(x, generator), generator, value_range)
        return self.corrupt_marked(x, generator, value_range)[0]

    def corrupt_marked(self, x, generator, value_range=(0.0, 1.0)):
        choice = self._choice(x, generator)
        if all(isinstance(p, (Gaussian, Speckle)) for p in self._parts):
            return self._additive_normal(x, choice, generator, value_range), None
        out, marked = None, None
        for i, part in enumerate(self._parts):
            corrupted, chosen = part.corrupt_marked(x, generator, value_range)
            chosen = torch.ones(x.shape, dtype=torch.bool, device=x.device) if chosen is None else chosen
            mine = choice == i
            out = corrupted if out is None else torch.where(mine, corrupted, out)
            marked = chosen if marked is None else torch.where(mine, chosen, marked)
        return out, marked

    def _additive_normal(self, x, choice, generator, value_range):
        """Gaussian and speckle are both x + scale * (mean + sigma * n) + x * sigma' * n with one n ~ N(0, 1).

        So a mixture of them needs one draw of n and per-example coefficients, not one draw per process.
        """
        key = (x.device, x.dtype)
        if key not in self._coefficients:  # built once per device: no host-to-device copy per batch
            def column(value):
                return torch.tensor([value(p) for p in self._parts], device=x.device, dtype=x.dtype)

            self._coefficients[key] = (
                column(lambda p: p.sigma if isinstance(p, Gaussian) else 0.0),
                column(lambda p: p.sigma if isinstance(p, Speckle) else 0.0),
                column(lambda p: p.mean if isinstance(p, Gaussian) else 0.0),
                torch.tensor([p.clip for p in self._parts], device=x.device))
        a, b, mean, clip = self._coefficients[key]
        low, high, scale = _unpack(value_range)
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        additive = noise * a[choice]
        if bool(mean.any()):
            additive = additive + mean[choice]
        out = additive.mul_(scale) if _is_tensor(scale) or scale != 1 else additive
        out = out.addcmul_(noise.mul_(b[choice]), x).add_(x)
        if bool(clip.any()):
            out = torch.where(clip[choice], out.clamp(low, high), out)
        return out

    @property
    def spec(self) -> str:
        return ",".join(p.spec for p in self._parts)

    def __eq__(self, other) -> bool:
        return isinstance(other, Mixture) and self._parts == other._parts

    def __hash__(self) -> int:
        return hash(tuple(self._parts))
