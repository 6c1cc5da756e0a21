"""Noise specs, as the `noise` parameter writes them: `NAME:LEVEL[:OPTION...]`, several separated by commas."""

from __future__ import annotations

from types import MappingProxyType

from sdae.corruption.mixture import Mixture
from sdae.corruption.processes import Corruption, Gaussian, Masking, NoNoise, SaltPepper, Speckle
from sdae.errors import UsageError

_Leveled = Gaussian | Speckle | Masking | SaltPepper  # the processes that take a level

# name -> (class, the level's name, largest allowed level)
_PROCESSES: MappingProxyType[str, tuple[type[_Leveled], str, float]] = MappingProxyType(
    {
        "gaussian": (Gaussian, "sigma", float("inf")),
        "speckle": (Speckle, "sigma", float("inf")),
        "masking": (Masking, "nu", 1.0),
        "saltpepper": (SaltPepper, "nu", 1.0),
    }
)


def parse_one(spec: str) -> Corruption:
    """Parse one `NAME:LEVEL[:OPTION...]` spec (or `none`) into a noise process.

    Options: `clip` (Gaussian, speckle), `mean=M` (Gaussian).
    """
    text = spec.strip().lower()
    if text == "none":
        return NoNoise()
    name, _, rest = text.partition(":")
    if name == "none":
        raise UsageError(f"`noise` {spec!r}: none takes no level; write none")
    if name not in _PROCESSES:
        known = ", ".join([*_PROCESSES, "none"])
        raise UsageError(f"unknown noise {name!r} in `noise` {spec!r}; known: {known}")
    cls, level_name, largest = _PROCESSES[name]
    level_text, *options = rest.split(":") if rest else [""]
    if not level_text:
        raise UsageError(f"`noise` {spec!r} needs a level, e.g. {name}:0.3")
    level = _number(level_text, spec, "level")
    if not (0.0 <= level <= largest) or level != level:
        bound = "[0, 1]" if largest == 1.0 else ">= 0 and finite"
        raise UsageError(f"`noise` {spec!r}: {level_name} must be {bound}, got {level_text}")
    if level == float("inf"):
        raise UsageError(f"`noise` {spec!r}: {level_name} must be finite")
    kwargs: dict = {}
    for option in options:
        key, has_value, value = option.partition("=")
        if key == "clip" and not has_value and cls in (Gaussian, Speckle):
            kwargs["clip"] = True
        elif key == "mean" and has_value and cls is Gaussian:
            kwargs["mean"] = _number(value, spec, "mean")
            if abs(kwargs["mean"]) == float("inf"):
                raise UsageError(f"`noise` {spec!r}: the mean must be finite")
        else:
            allowed = {Gaussian: "clip, mean=M", Speckle: "clip"}.get(cls, "none")
            raise UsageError(f"`noise` {spec!r}: unknown option {option!r} for {name} (options: {allowed})")
    return cls(level, **kwargs)


def _number(text: str, spec: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"`noise` {spec!r}: {what} {text!r} is not a number") from None
    if value != value:
        raise UsageError(f"`noise` {spec!r}: {what} {text!r} is not a number")
    return value


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
    return parts[0] if len(parts) == 1 else Mixture(tuple(parts))
