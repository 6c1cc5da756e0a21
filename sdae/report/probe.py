"""SVMs on learned codes: the paper's test of how useful each layer's representation is.

Linear and RBF SVMs (scikit-learn's LinearSVC and SVC) are trained on the same training subset
in each representation (raw pixels, then the codes of each encoder layer) and tested on the test
set. Each representation is divided by one number, the standard deviation of its training
features, so that C and gamma mean the same for all of them. The hyperparameters (C; for RBF also
gamma, as multiples of scikit-learn's "scale", 1 / (features x variance)) are chosen from a small
grid by the error on held-out validation examples, never the test set; the chosen SVM is then
refit on the training and validation examples together, as the paper's protocol does, and only
that SVM is scored on the test set.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch

KERNELS = ("linear", "rbf")
C_GRID = MappingProxyType({"linear": (0.001, 0.01, 0.1, 1.0), "rbf": (1.0, 10.0, 100.0)})
GAMMA_FACTORS = MappingProxyType(
    {"linear": (None,), "rbf": (0.3, 1.0, 3.0)}
)  # times 1 / (n_features * variance), scikit-learn's "scale"


@dataclass
class SVMResult:
    representation: str
    kernel: str
    width: int
    test_error: float  # a fraction (0..1), of the chosen SVM refit on training + validation
    C: float
    gamma: float | None  # RBF only
    val_error: float  # a fraction, of the chosen hyperparameters trained on the training examples alone
    seconds: float

    def to_dict(self) -> dict:
        return {
            "representation": self.representation,
            "kernel": self.kernel,
            "width": self.width,
            "test_error": self.test_error,
            "C": self.C,
            "gamma": self.gamma,
            "val_error": self.val_error,
            "seconds": round(self.seconds, 2),
        }


def make_svm(kernel: str, C: float, seed: int, gamma: float | None = None):
    from sklearn.svm import SVC, LinearSVC

    if kernel == "linear":
        return LinearSVC(C=C, dual="auto", max_iter=10000, random_state=seed)
    return SVC(kernel="rbf", C=C, gamma=gamma)


def _error(model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(x) != y))


def svm_errors(
    representations: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    y_train: np.ndarray,
    y_val: np.ndarray,
    y_test: np.ndarray,
    kernels: tuple[str, ...] = KERNELS,
    seed: int = 0,
    on_result: Callable[[SVMResult], None] | None = None,
) -> list[SVMResult]:
    """For each representation's (train, validation, test) features and each kernel: choose the
    hyperparameters on validation, refit on training + validation, report the test error (a fraction)."""
    results = []
    y_both = np.concatenate([y_train, y_val])
    for name, (train, val, test) in representations.items():
        scale = float(train.std()) or 1.0
        train, val, test = train / scale, val / scale, test / scale
        unit_gamma = 1.0 / (train.shape[1] * float(train.var()) or 1.0)
        for kernel in kernels:
            started = time.perf_counter()
            grid = [
                (C, None if f is None else f * unit_gamma)
                for C, f in itertools.product(C_GRID[kernel], GAMMA_FACTORS[kernel])
            ]
            scored = [
                (_error(make_svm(kernel, C, seed, gamma).fit(train, y_train), val, y_val), C, gamma)
                for C, gamma in grid
            ]
            val_error, C, gamma = min(scored, key=lambda t: (t[0], t[1], t[2] or 0))
            final = make_svm(kernel, C, seed, gamma).fit(np.concatenate([train, val]), y_both)
            result = SVMResult(
                name,
                kernel,
                train.shape[1],
                _error(final, test, y_test),
                C,
                gamma,
                val_error,
                time.perf_counter() - started,
            )
            results.append(result)
            if on_result:
                on_result(result)
    return results


@torch.no_grad()
def layer_representations(model, *splits: torch.Tensor) -> dict[str, tuple[np.ndarray, ...]]:
    """Raw pixels and the codes of every encoder layer for each split, as float32 numpy arrays."""
    was_training = model.training
    model.eval()
    reps = {"pixels": tuple(x.numpy() for x in splits)}
    try:
        for layer in range(1, model.depth + 1):
            reps[f"layer {layer}"] = tuple(model.encode(x, layer).numpy() for x in splits)
    finally:
        model.train(was_training)
    return reps
