"""How options are checked and read: each field of an options dataclass carries its check in its metadata
(`option(default, check)`); `check_fields` runs them, `from_dict` reads a dictionary back (refusing unknown
names), `to_dict` writes plain JSON values, and `sections_of` says where each name lives.

A check is a function `(field name, value) -> the value as stored` that raises UsageError naming the field,
the rule and the value. This module imports nothing of torch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, field, fields, is_dataclass
from enum import StrEnum
from numbers import Integral
from typing import Any

from sdae.errors import UsageError

Check = Callable[[str, Any], Any]  # (field name, value) -> the value as stored; raises UsageError


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def whole(low: int, high: int | None = None, optional: bool = False) -> Check:
    """A whole number >= low (and <= high)."""

    def check(name: str, value):
        if value is None and optional:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, Integral)
            or value < low
            or (high is not None and int(value) > high)
        ):
            bound = f">= {low}" if high is None else f"from {low} to {high}"
            raise UsageError(f"`{name}` must be a whole number {bound}, got {value!r}")
        return int(value)

    return check


def whole_or(word: str, low: int) -> Check:
    """A whole number >= low, or the word `word` (e.g. "auto")."""
    numeric = whole(low)

    def check(name: str, value):
        if value == word:
            return word
        try:
            return numeric(name, value)
        except UsageError:
            raise UsageError(f"`{name}` must be {word} or a whole number >= {low}, got {value!r}") from None

    return check


def number(
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    what: str | None = None,
) -> Check:
    """A finite number within the interval, its ends open or closed; `what` says it in words instead."""
    if what is None:
        if low is not None and high is not None:
            what = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        else:
            what = f"a number {'>' if low_open else '>='} {low:g}"

    def check(name: str, value):
        ok = (
            _is_number(value)
            and (low is None or (value > low if low_open else value >= low))
            and (high is None or (value < high if high_open else value <= high))
        )
        if not ok:
            raise UsageError(f"`{name}` must be {what}, got {value!r}")
        return float(value)

    return check


def one_of(kind: type[StrEnum], many: bool = False, optional: bool = False) -> Check:
    """A member's value of the StrEnum `kind` (or, with `many`, a list of them; with `optional`, or None)."""
    names = ", ".join(k.value for k in kind)

    def check(name: str, value):
        if value is None and optional:
            return None
        values = value if many else [value]
        if (many and not isinstance(value, list)) or any(v not in {k.value for k in kind} for v in values):
            raise UsageError(f"`{name}` must be {'some' if many else 'one'} of {names}, got {value!r}")
        chosen = [kind(v) for v in values]
        return chosen if many else chosen[0]

    return check


def flag(name: str, value):
    if not isinstance(value, bool):
        raise UsageError(f"`{name}` must be true or false, got {value!r}")
    return value


def text(optional: bool = False, what: str = "a name or a path") -> Check:
    def check(name: str, value):
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise UsageError(f"`{name}` must be {what}, got {value!r}")
        return value

    return check


def sizes(name: str, value) -> list[int]:
    """Hidden layer sizes: at least one, each a whole number >= 1 (a single number is one layer)."""
    if isinstance(value, str):  # "256,128,64", as the command line writes them
        try:
            value = [int(part) for part in value.split(",") if part.strip()]
        except ValueError:
            pass
    found = (
        [value]
        if isinstance(value, Integral)
        else list(value)
        if isinstance(value, Iterable) and not isinstance(value, (str, bytes))
        else None
    )
    if not found or any(isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in found):
        raise UsageError(f"`{name}` must be one or more positive whole numbers, e.g. 256,128,64; got {value!r}")
    return [int(s) for s in found]


def each(check: Check, what: str) -> Check:
    """A non-empty list or tuple whose every element passes `check`; stored as a tuple."""

    def check_all(name: str, value):
        try:
            if not isinstance(value, (list, tuple)) or not value:
                raise UsageError("empty")
            return tuple(check(name, v) for v in value)
        except UsageError:
            raise UsageError(f"`{name}` must be {what}, got {value!r}") from None

    return check_all


def noise_specs(name: str, value) -> list[str]:
    """Noise specs, each parsed (sdae.corruption.parse_noise): a bad one is refused by name."""
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise UsageError(f"`{name}` must be a list of noise specs, got {value!r}")
    from sdae.corruption import parse_noise  # torch: only when a configuration is checked, not to show defaults

    parse_noise(value)
    return value


def emphasis(name: str, value) -> list[float] | None:
    if value is None:
        return None
    if not (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(_is_number(w) and w >= 0 for w in value)
        and any(value)
    ):
        raise UsageError(f"`{name}` must be two weights alpha,beta >= 0, not both 0, got {value!r}")
    return [float(w) for w in value]


def option(default, check: Check | None = None, section: type | None = None, aliases: tuple[str, ...] = ()):
    """A dataclass field with its check (and, for a nested dataclass, its `section` type)."""
    meta = {"check": check, "section": section, "aliases": aliases}
    if isinstance(default, (list, dict)):

        def fresh(d=default):  # a new copy for every instance
            return type(d)(d)

        return field(default_factory=fresh, metadata=meta)
    if callable(default):  # a dataclass, or a function making the default
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


def check_fields(options):
    """Check (and normalise) every field of the dataclass `options`, nested sections included; returns it."""
    for f in fields(options):
        value = getattr(options, f.name)
        if f.metadata.get("section") is not None and value is not None:
            check_fields(value)
        elif f.metadata.get("check") is not None:
            setattr(options, f.name, f.metadata["check"](f.name, value))
    return options


def from_dict(kind: type, d, where: str = ""):
    """A `kind` dataclass from a dictionary; each missing field takes its default. Raises ValueError naming
    a field that is unknown or wrong (its path inside `d`)."""
    if not isinstance(d, dict):
        raise ValueError(
            f"{'field ' + repr(where.rstrip('.')) if where else 'the configuration'} must be an object, "
            f"got {type(d).__name__}"
        )
    known = {f.name: f for f in fields(kind)}
    aliases = {alias: f.name for f in known.values() for alias in f.metadata.get("aliases", ())}
    values: dict = {}
    for key, value in d.items():
        name = aliases.get(key, key)
        if name not in known:
            raise ValueError(f"field {where + key!r} is unknown; known: {', '.join(known)}")
        section = known[name].metadata.get("section")
        values[name] = (
            from_dict(section, value, f"{where}{name}.") if section is not None and value is not None else value
        )
    try:
        return check_fields(kind(**values))
    except UsageError as e:
        raise ValueError(str(e)) from None  # the option's own name: unique but for pretrain and finetune's


def to_dict(options) -> dict:
    """The dataclass as plain JSON values (enum members as their strings, tuples as lists)."""

    def plain(value):
        if isinstance(value, StrEnum):
            return value.value
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(asdict(options))


def default_of(kind: type, name: str):
    """The default value of field `name` of the dataclass `kind`."""
    f = next(f for f in fields(kind) if f.name == name)
    if f.default is not dataclasses.MISSING:
        return f.default
    assert callable(f.default_factory), f"{kind.__name__}.{name} has no default"
    return f.default_factory()


def sections_of(kind: type) -> dict[str, tuple[str, ...]]:
    """Where each option name lives in a `kind` dataclass: `{"lr": ("pretrain", "lr"), "layers": ("layers",), ...}`;
    a top-level field wins over a section's field of the same name, the first section over later ones, and a
    section used twice (pretrain, finetune) is listed under the first."""
    places: dict[str, tuple[str, ...]] = {}
    nested = []
    for f in fields(kind):
        section = f.metadata.get("section")
        if section is not None and is_dataclass(section):
            nested.append((f.name, section))
        places[f.name] = (f.name,)
    for outer, section in nested:
        for inner in fields(section):
            places.setdefault(inner.name, (outer, inner.name))
    return places


def placed(settings: dict, places: dict[str, tuple[str, ...]], values: dict) -> dict:
    """A copy of `settings` (a configuration as a dict) with each of `values` at its place (`sections_of`), its
    section made where missing; tuples become lists, as JSON and TOML write them."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in settings.items()}
    for name, value in values.items():
        *sections, key = places[name]
        target = out
        for section in sections:
            target = target.setdefault(section, {})
        target[key] = list(value) if isinstance(value, tuple) else value
    return out
