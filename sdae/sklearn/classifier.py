"""SDAEClassifier: greedy denoising pretraining, then supervised fine-tuning, as a scikit-learn classifier."""

from __future__ import annotations

from numbers import Integral, Real
from typing import cast

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from sdae.corruption import parse_noise
from sdae.data import Examples, Scaling, split_indices
from sdae.data.arrays import check_against, scaling_for
from sdae.device import check_fits, resolve_device
from sdae.sklearn.common import (
    PARAMETER_DOCS,
    as_float_tensor,
    check_params,
    epochs_for,
    network,
    progress,
    quiet_unless_verbose,
    seed_from,
    train_options,
)
from sdae.stages import best_record, pretrain, supervised_finetune


class SDAEClassifier(ClassifierMixin, BaseEstimator):
    """A stacked denoising autoencoder classifier: greedy denoising pretraining, then supervised fine-tuning.

    `fit` pretrains one denoising pair per hidden layer, puts a softmax layer on the top code and
    trains every layer on the labels; a validation part of the training data (`validation_fraction`)
    chooses the epoch whose weights are kept (early stopping), or with `validation_fraction=0` every
    example is trained on and the last epoch's weights are kept (a refit).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 128, 64)
        Widths of the hidden layers, input side first (scikit-learn's name for `sdae pretrain --layers`,
        `RunConfig.layers`).
    noise : str or tuple of str, default="masking:0.25"
        Noise processes for pretraining (see `SDAETransformer`); "none" gives an ordinary
        autoencoder, and `pretrain_epochs=0` no pretraining at all.
    pretrain_epochs : int or "auto", default="auto"
        Epochs of greedy pretraining per pair; "auto" as in `SDAETransformer`.
    epochs : int or "auto", default="auto"
        Supervised fine-tuning epochs (at most; see `patience`); "auto" gives at least 2,500
        optimizer steps and 30 epochs.
    patience : int or None, default=None
        Stop after this many epochs without a better validation error.
    validation_fraction : float, default=0.1
        (`--val-fraction`, `DataOptions.val_fraction`) In [0, 1); 0: no validation part, the last
        epoch kept, no `patience`.
    batch_size : int, default=128
        (`--batch-size`, `TrainOptions.batch_size`)
    learning_rate : float, default=1e-3
        (`--lr`, `TrainOptions.lr`)
        For pretraining; fine-tuning uses half of it with a cosine decay.
    optimizer : {"adam", "sgd"}, default="adam"
        (`--optimizer`, `TrainOptions.optimizer`)
    {PARAMETER_DOCS}
    scaling : {"global", "feature", "none"}, default="global"
        How X maps to [0, 1], by the same rule as `sdae pretrain --scaling` (`DataOptions.scaling`):
        "global" divides uint8 arrays by 255, keeps values already in [0, 1], and otherwise uses one
        minimum and maximum for all features (with a warning when that squeezes most features into a
        sliver of [0, 1]); "feature" scales each feature by its own minimum and maximum (tables);
        "none" keeps the values (real-valued data; `output="auto"` then chooses an affine output).
    device : str, default="cpu"
    random_state : int, RandomState instance or None, default=None
    verbose : bool, default=False
        Progress bars and one line per epoch on standard error, and sdae's notices from `fit` (an
        `sdae.errors.SDAEWarning`, e.g. dead units), as Python's warning filters let them through;
        False: `fit` is quiet, its notices silenced.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    model_ : StackedDenoisingAutoencoder
        The trained network with its classifier head, on the CPU.
    best_epoch_ : int
        The fine-tuning epoch whose weights were kept.
    validation_scores_ : list of float or None
        Validation accuracy after each fine-tuning epoch; None with `validation_fraction=0`.
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sdae.sklearn import SDAEClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SDAEClassifier(hidden_layer_sizes=(64,), pretrain_epochs=2, epochs=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        hidden_layer_sizes=(256, 128, 64),
        *,
        noise="masking:0.25",
        pretrain_epochs="auto",
        epochs="auto",
        patience=None,
        validation_fraction=0.1,
        batch_size=128,
        learning_rate=1e-3,
        optimizer="adam",
        momentum=0.9,
        weight_decay=0.0,
        warmup=5.0,
        activation="relu",
        output="auto",
        tol=1e-4,
        n_iter_no_change=20,
        scaling="global",
        device="cpu",
        random_state=None,
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.noise = noise
        self.pretrain_epochs = pretrain_epochs
        self.epochs = epochs
        self.verbose = verbose
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.activation = activation
        self.output = output
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.scaling = scaling
        self.device = device
        self.random_state = random_state

    @quiet_unless_verbose
    def fit(self, X, y):
        """Pretrain on X, then fine-tune on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : SDAEClassifier
        """
        hidden = check_params(self)
        fraction = self.validation_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, Real) or not 0 <= fraction < 1:
            raise ValueError(f"validation_fraction must be in [0, 1), got {fraction!r}")
        if fraction == 0 and self.patience is not None:
            raise ValueError("patience stops on the validation error; it needs validation_fraction > 0")
        if self.patience is not None and (
            isinstance(self.patience, bool) or not isinstance(self.patience, Integral) or self.patience < 1
        ):
            raise ValueError(f"patience must be None or a whole number >= 1, got {self.patience!r}")
        is_bytes = getattr(X, "dtype", None) == np.uint8  # before validation makes it float
        X, y = validate_data(self, X, y, dtype=(np.float32, np.float64))
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"SDAEClassifier needs at least 2 classes in y, got {len(self.classes_)} class")
        noise = parse_noise(self.noise)
        device = resolve_device(self.device)
        check_fits([X.shape[1], *hidden], device)
        seed = seed_from(self.random_state)
        setup = torch.Generator().manual_seed(seed)
        train_index, val_index = split_indices(len(X), self.validation_fraction, setup)
        if len(val_index) == 0 and fraction > 0:
            raise ValueError(
                f"validation_fraction={fraction} of {len(X)} sample(s) leaves no validation examples; "
                "give more data or a larger fraction"
            )
        scaling = scaling_for(X[train_index.numpy()], self.scaling, "X", is_bytes)
        values = as_float_tensor(X).to(device)
        labels = torch.from_numpy(encoded.astype(np.int64)).to(device)
        train = Examples(values[train_index.to(device)], scaling)
        val = Examples(values[val_index.to(device)], scaling) if len(val_index) else None
        model = network(self, X.shape[1], hidden, setup, train).to(device)
        generator = torch.Generator(device=device).manual_seed(seed)
        hooks = progress(self.verbose)
        pretrain(
            model,
            train,
            val,
            noise,
            train_options(self, epochs_for(self.pretrain_epochs, len(train), self.batch_size, 10), self.learning_rate),
            generator,
            hooks=hooks,
        )
        model.add_head(len(self.classes_), generator=setup)
        records = supervised_finetune(
            model,
            train,
            labels[train_index.to(device)],
            val,
            None if val is None else labels[val_index.to(device)],
            train_options(
                self,
                epochs_for(self.epochs, len(train), self.batch_size, 30),
                self.learning_rate / 2,
                schedule="cosine",
            ),
            generator,
            self.patience,
            hooks=hooks,
        )
        self.model_ = model.cpu().eval().set_scaling(scaling.offset, scaling.scale)
        self.scaling_ = (scaling.offset, scaling.scale)
        self.validation_scores_ = None if val is None else [1.0 - cast(float, r.val_error) for r in records]
        self.best_epoch_ = best_record(records).epoch
        return self

    def _logits(self, X) -> torch.Tensor:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float32, np.float64), reset=False)
        check_against(
            X, Scaling(self.scaling_[0], self.scaling_[1], self.scaling), "X", "the data `fit` saw", warn=False
        )
        x = Scaling(*self.scaling_).apply(as_float_tensor(X))
        with torch.no_grad():
            return self.model_.classify(x)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of `classes_`."""
        return torch.softmax(self._logits(X), dim=1).numpy()

    def predict(self, X):
        """The most probable class of each example."""
        best = self._logits(X).argmax(1).numpy()  # checks fitted-ness first
        return self.classes_[best]


if SDAEClassifier.__doc__ is not None:  # None under `python -OO`, which strips docstrings
    SDAEClassifier.__doc__ = SDAEClassifier.__doc__.replace("{PARAMETER_DOCS}", PARAMETER_DOCS)
