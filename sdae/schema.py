"""What each file of a run folder must hold: every field's type and range, checked on load.

A file from disk is data, not a promise: these functions raise ValueError (or RunFolderError)
naming the field that is wrong, so that a damaged or hand-edited file is refused in one line
instead of failing somewhere later.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import cast

import torch

from sdae.errors import RunFolderError
from sdae.model import MAX_CLASSES
from sdae.options import RunConfig, StageName
from sdae.records import DataFacts, EpochRecord, RunStatus, TrainingState

STAGES = tuple(StageName)


def epoch_record(d) -> EpochRecord:
    """A metrics line as an EpochRecord, every field checked."""
    if not isinstance(d, dict):
        raise ValueError(f"expected a JSON object, got {type(d).__name__}")
    if "loss_function" not in d and "loss" in d:  # written before the field was renamed
        d = {("loss_function" if k == "loss" else k): v for k, v in d.items()}
    values = {f.name: d.get(f.name) for f in fields(EpochRecord)}
    if d.get("stage") not in STAGES:
        raise ValueError(f"field 'stage' must be one of {', '.join(STAGES)}, got {d.get('stage')!r}")
    for name, optional in (("pair", True), ("epoch", False)):
        v = values[name]
        if not (v is None and optional) and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"field {name!r} must be a whole number >= 1, got {v!r}")
    for name, optional in (
        ("train_loss", False),
        ("val_loss", True),
        ("seconds", False),
        ("val_error", True),
        ("lr", True),
    ):
        v = values[name]
        if not (v is None and optional) and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise ValueError(f"field {name!r} must be a number, got {v!r}")
    dead = values["dead_units"]
    if dead is not None and not (
        isinstance(dead, list)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in dead)
    ):
        raise ValueError(f"field 'dead_units' must be a list of fractions, got {dead!r}")
    if not isinstance(values["loss_function"], str):
        raise ValueError(f"field 'loss_function' must be a string, got {values['loss_function']!r}")
    return EpochRecord(**{**values, "stage": StageName(values["stage"])})


def check_meta(meta: dict, where: Path) -> None:
    """config.json: its sections, the configuration, the data's facts, the status."""
    for key in ("config", "data_facts", "status"):
        if not isinstance(meta.get(key), dict):
            raise RunFolderError(f"{where}: the {key!r} section is missing or malformed")
    try:
        RunConfig.from_dict(meta["config"])
    except ValueError as e:
        raise RunFolderError(f"{where}: config: {e}") from None
    for key, kind in (("data_facts", DataFacts), ("status", RunStatus)):
        try:
            kind.from_dict(meta[key])
        except ValueError as e:
            raise RunFolderError(f"{where}: {key}: {e}") from None
    classes = meta.get("classes")
    if meta["status"].get("finetune_kind") == "supervised" and (
        isinstance(classes, bool) or not isinstance(classes, int) or not 2 <= classes <= MAX_CLASSES
    ):
        raise RunFolderError(
            f"{where}: field 'classes' must be a whole number from 2 to {MAX_CLASSES}, got {classes!r}"
        )


def checked_state(raw, depth: int) -> TrainingState:
    """A checkpoint's training state for a network of `depth` pairs (its weights are checked by loading them)."""
    if not isinstance(raw, dict):
        raise ValueError(f"it holds a {type(raw).__name__}, not a dictionary")
    stage, pair, epoch = raw.get("stage"), raw.get("pair"), raw.get("epoch")
    if stage not in STAGES:
        raise ValueError(f"field 'stage' is {stage!r}")
    if stage == "pretrain" and (isinstance(pair, bool) or not isinstance(pair, int) or not 1 <= pair <= depth):
        raise ValueError(f"field 'pair' is {pair!r}; this run has pairs 1..{depth}")
    if stage != "pretrain" and pair is not None:
        raise ValueError(f"field 'pair' is {pair!r} for stage {stage}")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise ValueError(f"field 'epoch' is {epoch!r}")
    optimizer = raw.get("optimizer")
    if (
        not isinstance(optimizer, dict)
        or not isinstance(optimizer.get("param_groups"), list)
        or not optimizer["param_groups"]
        or not isinstance(optimizer.get("state"), dict)
    ):
        raise ValueError("field 'optimizer' holds no optimizer state")
    generator = raw.get("generator")
    if not isinstance(generator, torch.Tensor) or generator.dtype != torch.uint8:
        raise ValueError("field 'generator' holds no generator state")
    extra = raw.get("extra", {})
    if not isinstance(extra, dict) or (stage == "supervised" and not isinstance(extra.get("best"), dict)):
        raise ValueError("field 'extra' is malformed")
    weights = cast(dict, raw.get("model"))  # checked where they are loaded (`RunFolder.load_state_into`)
    return TrainingState(StageName(stage), pair, epoch, weights, optimizer, generator, extra)


def json_list(text) -> list:
    if not isinstance(text, str):
        raise ValueError("field 'metrics' is missing")
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("field 'metrics' is nested too deeply") from None
    if not isinstance(value, list):
        raise ValueError("field 'metrics' is not a list")
    return value
