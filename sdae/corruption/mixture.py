"""The per-example mixture of noise processes: each example gets one of them, chosen at random (how the
project's default, `gaussian:0.5` and `speckle:0.5`, corrupts)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from sdae.corruption.processes import Corruption, Gaussian, Speckle, _is_tensor, _unpack
from sdae.errors import UsageError


@dataclass(frozen=True, repr=False)
class Mixture(Corruption):
    """Each example (row of x, (batch, features)) gets one of several processes, chosen uniformly at random.

    `processes`: two or more processes (a list or tuple; kept as a tuple); `parts` lists them.
    Equal mixtures (the same processes in the same order) compare and hash equal. The levels are
    each process's own; `corrupt_marked` marks, in each row, what that row's process marks.
    `spec`: the processes' specs joined by commas. Not one of the paper's processes.

    Raises UsageError when given fewer than two processes, TypeError when one is not a `Corruption`.
    After the first batch on a device (which copies the per-process coefficients there), a batch
    never waits for the device: no value is read back to the host, nothing is copied over from it.
    """

    processes: tuple[Corruption, ...]
    # (device, dtype) -> per-process coefficients of the Gaussian/speckle path, built once per device
    _coefficients: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        processes = tuple(self.processes)
        if len(processes) < 2:
            raise UsageError("a noise mixture needs at least two processes")
        for p in processes:
            if not isinstance(p, Corruption):
                raise TypeError(f"a noise mixture's processes must be Corruption instances, got {p!r}")
        object.__setattr__(self, "processes", processes)

    @property
    def parts(self) -> list[Corruption]:
        return list(self.processes)

    def _additive(self) -> bool:
        return all(isinstance(p, (Gaussian, Speckle)) for p in self.processes)

    def _choice(self, x, generator):
        return torch.randint(
            len(self.processes), (x.shape[0],) + (1,) * (x.dim() - 1), generator=generator, device=x.device
        )

    def corrupt(self, x, generator, value_range=(0.0, 1.0)):
        if self._additive():
            return self._additive_normal(x, self._choice(x, generator), generator, value_range)
        return self.corrupt_marked(x, generator, value_range)[0]

    def corrupt_marked(self, x, generator, value_range=(0.0, 1.0)):
        choice = self._choice(x, generator)
        if self._additive():
            return self._additive_normal(x, choice, generator, value_range), None
        out, marked = None, None
        for i, part in enumerate(self.processes):
            corrupted, chosen = part.corrupt_marked(x, generator, value_range)
            chosen = torch.ones(x.shape, dtype=torch.bool, device=x.device) if chosen is None else chosen
            mine = choice == i
            out = corrupted if out is None else torch.where(mine, corrupted, out)
            marked = chosen if marked is None else torch.where(mine, chosen, marked)
        return out, marked

    def _coefficients_for(self, x):
        """Per-process (a, b, mean, clip) columns on x's device and whether any mean or clip is set.

        Built on the host once per (device, dtype), so a batch neither copies them to the device nor
        asks the device whether any process has a mean or clips.
        """
        key = (x.device, x.dtype)
        cached = self._coefficients.get(key)
        if cached is None:

            def column(value):
                return torch.tensor([value(p) for p in self.processes], dtype=x.dtype)

            a = column(lambda p: p.sigma if isinstance(p, Gaussian) else 0.0)
            b = column(lambda p: p.sigma if isinstance(p, Speckle) else 0.0)
            mean = column(lambda p: p.mean if isinstance(p, Gaussian) else 0.0)
            clip = torch.tensor([p.clip for p in self.processes])
            cached = (*(t.to(x.device) for t in (a, b, mean, clip)), bool(mean.any()), bool(clip.any()))
            self._coefficients[key] = cached
        return cached

    def _additive_normal(self, x, choice, generator, value_range):
        """Gaussian and speckle are both x + scale * (mean + sigma * n) + x * sigma' * n with one n ~ N(0, 1).

        So a mixture of them needs one draw of n and per-example coefficients, not one draw per process.
        """
        a, b, mean, clip, shifted, clipped = self._coefficients_for(x)
        low, high, scale = _unpack(value_range)
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        additive = noise * a[choice]
        if shifted:
            additive = additive + mean[choice]
        out = additive.mul_(scale) if _is_tensor(scale) or scale != 1 else additive
        out = out.addcmul_(noise.mul_(b[choice]), x).add_(x)
        if clipped:
            out = torch.where(clip[choice], out.clamp(low, high), out)
        return out

    @property
    def spec(self) -> str:
        return ",".join(p.spec for p in self.processes)

    def scaled(self, factor: float) -> Mixture:
        """A mixture of each process scaled by `factor` (see each process's `scaled`)."""
        return replace(self, processes=tuple(p.scaled(factor) for p in self.processes))
