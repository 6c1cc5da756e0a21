"""What the two estimators share: parameter checks, budgets, seeds, progress."""

from __future__ import annotations

import math
import sys
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from sdae.corruption import parse_noise
from sdae.loop import Hooks
from sdae.options import Optimizer, sizes
from sdae.progress import ProgressBars

DEVICES = ("cpu", "cuda", "auto")
MIN_STEPS = 2500  # "auto" budgets: at least this many optimizer steps per stage (README, scikit-learn table)


def epochs_for(value, n: int, batch_size: int, floor: int) -> int:
    """`value` epochs, or for "auto" enough to give each stage MIN_STEPS optimizer steps (and at least `floor`)."""
    if value != "auto":
        return int(value)
    return max(floor, math.ceil(MIN_STEPS / math.ceil(n / batch_size)))


def progress(verbose) -> Hooks | None:
    return ProgressBars(lines=sys.stderr).hooks() if verbose else None


def as_float_tensor(X: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))


def seed_from(random_state) -> int:
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def check_params(estimator: BaseEstimator) -> list[int]:
    """Validate the parameters an estimator shares (at `fit`, as scikit-learn does); returns the hidden sizes."""
    hidden = sizes("hidden_layer_sizes", estimator.hidden_layer_sizes)
    whole = {"pretrain_epochs": 0, "finetune_epochs": 0, "epochs": 1, "batch_size": 1}
    for name, low in whole.items():
        value = getattr(estimator, name, low)
        if value == "auto" and name in ("pretrain_epochs", "epochs"):
            continue
        if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
            raise ValueError(f"{name} must be a whole number >= {low}" + (' or "auto"' if name in ("pretrain_epochs", "epochs")
                                                                           else "") + f", got {value!r}")
    if isinstance(estimator.learning_rate, bool) or not isinstance(estimator.learning_rate, Real) \
            or not estimator.learning_rate > 0:
        raise ValueError(f"learning_rate must be a positive number, got {estimator.learning_rate!r}")
    for name, choices in (("optimizer", tuple(Optimizer)), ("device", DEVICES)):
        if getattr(estimator, name) not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, got {getattr(estimator, name)!r}")
    if not isinstance(estimator.noise, (str, list, tuple)):
        raise ValueError(f"noise must be a spec or a list of specs, got {estimator.noise!r}")
    parse_noise(estimator.noise)
    return hidden
