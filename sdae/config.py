"""Settings from files: a run's config.json, a JSON object of settings, or a TOML file of them.

The options themselves, and how each is checked, are in `sdae.options`.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path

from sdae.checks import placed
from sdae.errors import UsageError
from sdae.options import RunConfig, TrainOptions, sections_of


def merged(base: dict, changes: dict, where: str = "") -> dict:
    """`base` with `changes` laid over it, section by section; an unknown name is an error naming it."""
    out = dict(base)
    for key, value in changes.items():
        if key not in base:
            raise UsageError(f"unknown setting {where}{key!r}; known: {', '.join(base)}")
        if isinstance(base[key], dict) and isinstance(value, dict):
            out[key] = merged(base[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


def config_from_file(path: str | os.PathLike) -> RunConfig:
    """A RunConfig from a run's config.json, a JSON object of settings, or a TOML file of them.

    Settings left out keep their defaults; e.g. TOML: `layers = [512, 256]`, `noise = ["masking:0.25"]`,
    `[pretrain]` `epochs = 20`. Raises UsageError naming the file and the setting that is wrong.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"`config` {path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    try:
        if path.suffix == ".toml":
            import tomllib

            settings = tomllib.loads(text)
        else:
            settings = json.loads(text)
            if isinstance(settings, dict) and isinstance(settings.get("config"), dict):
                settings = settings["config"]  # a run folder's config.json
    except (ValueError, RecursionError) as e:
        raise UsageError(f"`config` {path}: not valid {'TOML' if path.suffix == '.toml' else 'JSON'} ({e})") from None
    if not isinstance(settings, dict):
        raise UsageError(f"`config` {path}: expected an object of settings")
    if "hidden" in settings and "layers" not in settings:  # the name before `layers`
        settings = {("layers" if k == "hidden" else k): v for k, v in settings.items()}
    settings = _nested(settings)
    base = RunConfig().to_dict()
    if settings.get("finetune") is not None:
        base["finetune"] = TrainOptions(epochs=120).to_dict()
    try:
        return RunConfig.from_dict(merged(base, settings))
    except (ValueError, UsageError) as e:
        raise UsageError(f"`config` {path}: {e}") from None


def _nested(settings: dict) -> dict:
    """Settings written flat (`dataset = "digits"`, `lr = 0.001`) moved into their sections ([data], [pretrain]),
    as the command line places its options (`placed`); a single noise spec written as a string taken as a list."""
    places, top = sections_of(RunConfig), {f.name for f in fields(RunConfig)}
    flat = {k: v for k, v in settings.items() if k not in top and len(places.get(k, ())) == 2}
    rest = {k: [v] if k == "noise" and isinstance(v, str) else v for k, v in settings.items() if k not in flat}
    return placed(rest, places, flat)
