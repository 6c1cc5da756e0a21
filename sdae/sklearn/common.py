"""What the two estimators share: parameter checks, budgets, seeds, progress."""

from __future__ import annotations

import functools
import math
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from sdae.corruption import parse_noise
from sdae.errors import SDAEWarning, UsageError
from sdae.loop import Hooks
from sdae.model import StackedDenoisingAutoencoder
from sdae.options import Activation, Optimizer, Output, ScalingRule, TrainOptions, sizes
from sdae.progress import ProgressBars
from sdae.stages import output_for

DEVICES = ("cpu", "cuda", "auto")
MIN_STEPS = 2500  # "auto" budgets: at least this many optimizer steps per stage (the manual, docs/sklearn.md)


def epochs_for(value, n: int, batch_size: int, floor: int) -> int:
    """`value` epochs, or for "auto" enough to give each stage MIN_STEPS optimizer steps (and at least `floor`)."""
    if value != "auto":
        return int(value)
    return max(floor, math.ceil(MIN_STEPS / math.ceil(n / batch_size)))


def progress(verbose) -> Hooks | None:
    return ProgressBars(lines=sys.stderr).hooks() if verbose else None


def quiet_unless_verbose(fit):
    """`fit` with sdae's notices (SDAEWarning: dead units and the like) silenced unless the estimator is `verbose`;
    when it is, Python's warning filters decide, as for any warning."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        if self.verbose:
            return fit(self, *args, **kwargs)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=SDAEWarning)
            return fit(self, *args, **kwargs)

    return wrapper


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
            raise ValueError(
                f"{name} must be a whole number >= {low}"
                + (' or "auto"' if name in ("pretrain_epochs", "epochs") else "")
                + f", got {value!r}"
            )
    if (
        isinstance(estimator.learning_rate, bool)
        or not isinstance(estimator.learning_rate, Real)
        or not float(estimator.learning_rate) > 0
    ):
        raise ValueError(f"learning_rate must be a positive number, got {estimator.learning_rate!r}")
    for name, choices in (("optimizer", tuple(Optimizer)), ("device", DEVICES), ("scaling", tuple(ScalingRule))):
        if getattr(estimator, name) not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, got {getattr(estimator, name)!r}")
    if not isinstance(estimator.noise, (str, list, tuple)):
        raise ValueError(f"noise must be a spec or a list of specs, got {estimator.noise!r}")
    parse_noise(estimator.noise)
    return hidden


PARAMETER_DOCS = """momentum : float, default=0.9
        SGD's momentum (`--momentum`, `TrainOptions.momentum`).
    weight_decay : float, default=0.0
        (`--weight-decay`, `TrainOptions.weight_decay`)
    warmup : float, default=5.0
        Epochs over which each stage's learning rate rises to its full value, at most half the stage
        (`--warmup`, `TrainOptions.warmup`).
    activation : {"relu", "sigmoid"}, default="relu"
        The hidden units (`--activation`, `RunConfig.activation`); sigmoid is the paper's.
    output : {"auto", "sigmoid", "affine"}, default="auto"
        The reconstruction's last layer (`--output`, `RunConfig.output`): a Sigmoid and cross-entropy
        for inputs in [0, 1], or affine and squared error for real-valued inputs (`scaling="none"`).
    tol : float, default=1e-4
        With `n_iter_no_change`: the fall in a stage's training loss that counts as progress (`--tol`).
    n_iter_no_change : int or None, default=20
        Stop a stage after this many epochs without that progress, as `MLPClassifier` does
        (`--n-iter-no-change`); None trains every epoch of the budget."""


def train_options(estimator, epochs: int, lr: float, **extra) -> TrainOptions:
    """The estimator's training parameters as a stage's `TrainOptions`; raises ValueError naming a bad one."""
    try:
        return TrainOptions(
            epochs=epochs,
            batch_size=estimator.batch_size,
            optimizer=estimator.optimizer,
            lr=lr,
            momentum=estimator.momentum,
            weight_decay=estimator.weight_decay,
            warmup=estimator.warmup,
            tol=estimator.tol,
            n_iter_no_change=estimator.n_iter_no_change,
            **extra,
        ).validate()
    except UsageError as e:
        raise ValueError(str(e).replace("`lr`", "learning_rate").replace("`", "")) from None


def network(
    estimator, n_features: int, hidden: list[int], generator: torch.Generator, train
) -> StackedDenoisingAutoencoder:
    """The estimator's network, its output chosen from the (scaled) training examples where `output="auto"`."""
    if estimator.activation not in tuple(Activation):
        raise ValueError(f"activation must be one of {', '.join(Activation)}, got {estimator.activation!r}")
    if estimator.output not in tuple(Output):
        raise ValueError(f"output must be one of {', '.join(Output)}, got {estimator.output!r}")
    output = output_for(estimator.output, train, estimator.scaling)
    return StackedDenoisingAutoencoder(
        [n_features, *hidden],
        generator=generator,
        activation=estimator.activation,
        output=output,
        **({"tied": estimator.tied} if hasattr(estimator, "tied") else {}),
    )
