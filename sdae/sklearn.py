"""scikit-learn estimators around the stacked denoising autoencoder.

`SDAETransformer` (codes as features) and `SDAEClassifier` (pretraining, then supervised
fine-tuning) follow scikit-learn's conventions the way `sklearn.neural_network.BernoulliRBM` does,
so they work in `Pipeline`, `GridSearchCV` and `clone`.
"""

from __future__ import annotations

import copy
import math
import sys
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from sdae.corruption import parse_noise
from sdae.data import Examples, Scaling, split_indices
from sdae.data.arrays import scaling_for
from sdae.model import StackedDenoisingAutoencoder, check_fits, hidden_sizes
from sdae.stages import best_record, clean_codes, finetune, pretrain, supervised_finetune
from sdae.progress import ProgressBars
from sdae.train import OPTIMIZERS, Hooks, TrainOptions, resolve_device

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
    hidden = hidden_sizes(estimator.hidden_layer_sizes, "hidden_layer_sizes")
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
    for name, choices in (("optimizer", OPTIMIZERS), ("device", DEVICES)):
        if getattr(estimator, name) not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, got {getattr(estimator, name)!r}")
    if not isinstance(estimator.noise, (str, list, tuple)):
        raise ValueError(f"noise must be a spec or a list of specs, got {estimator.noise!r}")
    parse_noise(estimator.noise)
    return hidden


class SDAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Stacked denoising autoencoder features (Vincent et al., JMLR 2010).

    `fit` greedily pretrains one denoising pair per hidden layer (and, if `finetune_epochs > 0`,
    fine-tunes the whole network end to end on the denoising criterion); `transform` returns the
    codes of one encoder layer.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 128, 64)
        Widths of the hidden layers, input side first.
    noise : str or tuple of str, default=("gaussian:0.5", "speckle:0.5")
        Noise processes (`gaussian:SIGMA`, `speckle:SIGMA`, `masking:NU`, `saltpepper:NU`, `none`);
        several make a per-example mixture.
    layer : int or None, default=None
        The encoder layer whose codes `transform` returns (1 = next to the input); None for the top.
    pretrain_epochs : int or "auto", default="auto"
        Epochs of greedy pretraining per pair; "auto" gives each pair at least 2,500 optimizer steps
        and 10 epochs (10 epochs on MNIST's 60,000 digits, about 200 on scikit-learn's 1,797).
    finetune_epochs : int, default=0
        Epochs of end-to-end denoising fine-tuning after pretraining.
    batch_size : int, default=128
    learning_rate : float, default=2e-3
    optimizer : {"adam", "sgd"}, default="adam"
    tied : bool, default=False
        Tie each decoder weight to its encoder weight, transposed.
    device : str, default="cpu"
        "cpu", "cuda" or "auto".
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling and the noise.
    verbose : bool, default=False
        Progress bars and one line per epoch on standard error.

    Attributes
    ----------
    model_ : StackedDenoisingAutoencoder
        The trained network, on the CPU.
    components_ : ndarray of shape (hidden_layer_sizes[0], n_features_in_)
        The first layer's weights (its filters).
    scaling_ : tuple of (offset, scale)
        Inputs are mapped to [0, 1] as (X - offset) * scale before the network sees them.
    loss_curve_ : list of float
        Mean training loss of each epoch, pretraining pairs first, then fine-tuning.
    n_features_in_ : int
        Number of features seen during `fit`.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sdae.sklearn import SDAETransformer
    >>> X = load_digits().data
    >>> codes = SDAETransformer(hidden_layer_sizes=(32,), pretrain_epochs=2, random_state=0).fit_transform(X)
    >>> codes.shape
    (1797, 32)
    """


    def __init__(
        self,
        hidden_layer_sizes=(256, 128, 64),
        *,
        noise=("gaussian:0.5", "speckle:0.5"),
        layer=None,
        pretrain_epochs="auto",
        finetune_epochs=0,
        batch_size=128,
        learning_rate=2e-3,
        optimizer="adam",
        tied=False,
        device="cpu",
        random_state=None,
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.noise = noise
        self.layer = layer
        self.pretrain_epochs = pretrain_epochs
        self.finetune_epochs = finetune_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.tied = tied
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y=None):
        """Pretrain (and fine-tune) on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; scaled to [0, 1] as described under `scaling_`.
        y : None
            Ignored.

        Returns
        -------
        self : SDAETransformer
            The fitted transformer.
        """
        hidden = check_params(self)
        if self.layer is not None and (isinstance(self.layer, bool) or not isinstance(self.layer, Integral)
                                       or not 1 <= self.layer <= len(hidden)):
            raise ValueError(f"layer must be None or a hidden layer 1..{len(hidden)}, got {self.layer!r}")
        X = validate_data(self, X, dtype=(np.float32, np.float64))
        noise = parse_noise(self.noise)
        device = resolve_device(self.device)
        check_fits([X.shape[1], *hidden], device)
        seed = seed_from(self.random_state)
        scaling = scaling_for(X)
        examples = Examples(as_float_tensor(X).to(device), scaling)
        model = StackedDenoisingAutoencoder([X.shape[1], *hidden], tied=self.tied, generator=torch.Generator().manual_seed(seed))
        model.to(device)
        generator = torch.Generator(device=device).manual_seed(seed)
        options = dict(batch_size=self.batch_size, optimizer=self.optimizer, lr=self.learning_rate)
        epochs = epochs_for(self.pretrain_epochs, len(X), self.batch_size, floor=10)
        hooks = progress(self.verbose)
        records = pretrain(model, examples, None, noise, TrainOptions(epochs=epochs, **options), generator, hooks=hooks)
        if self.finetune_epochs:
            records += finetune(model, examples, None, noise, TrainOptions(epochs=self.finetune_epochs, **options), generator,
                                hooks=hooks)
        self.model_ = model.cpu().eval().set_scaling(scaling.offset, scaling.scale)
        self.scaling_ = (scaling.offset, scaling.scale)
        self.components_ = model.encoder_unit(1).linear.weight.detach().numpy().copy()
        self.loss_curve_ = [r.train_loss for r in records]
        self._n_features_out = hidden[-1] if self.layer is None else hidden[self.layer - 1]
        return self

    def transform(self, X):
        """The codes of the chosen layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        codes : ndarray of shape (n_samples, layer width), of X's dtype (float32 or float64)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float32, np.float64), reset=False)
        layer = self.model_.depth if self.layer is None else self.layer
        if X.dtype == np.float64:  # computed in float64, so that a row's code does not depend on its batch
            encoder = copy.deepcopy(self.model_.encoder[:layer]).double()
            offset, scale = self.scaling_
            with torch.no_grad():
                return encoder((torch.tensor(X) - offset) * scale).numpy()
        examples = Examples(as_float_tensor(X), Scaling(*self.scaling_))
        return clean_codes(self.model_, layer, examples).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class SDAEClassifier(ClassifierMixin, BaseEstimator):
    """A stacked denoising autoencoder classifier: greedy denoising pretraining, then supervised fine-tuning.

    `fit` pretrains one denoising pair per hidden layer, puts a softmax layer on the top code and
    trains every layer on the labels; a validation part of the training data (`validation_fraction`)
    chooses the epoch whose weights are kept (early stopping).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 128, 64)
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
    batch_size : int, default=128
    learning_rate : float, default=1e-3
        For pretraining; fine-tuning uses half of it with a cosine decay.
    optimizer : {"adam", "sgd"}, default="adam"
    device : str, default="cpu"
    random_state : int, RandomState instance or None, default=None
    verbose : bool, default=False
        Progress bars and one line per epoch on standard error.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    model_ : StackedDenoisingAutoencoder
        The trained network with its classifier head, on the CPU.
    best_epoch_ : int
        The fine-tuning epoch whose weights were kept.
    validation_scores_ : list of float
        Validation accuracy after each fine-tuning epoch.
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
        self.device = device
        self.random_state = random_state

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
        if isinstance(fraction, bool) or not isinstance(fraction, Real) or not 0 < fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {fraction!r}")
        if self.patience is not None and (isinstance(self.patience, bool) or not isinstance(self.patience, Integral)
                                          or self.patience < 1):
            raise ValueError(f"patience must be None or a whole number >= 1, got {self.patience!r}")
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
        if len(val_index) == 0:
            raise ValueError(f"validation_fraction={fraction} of {len(X)} sample(s) leaves no validation examples; "
                             "give more data or a larger fraction")
        scaling = scaling_for(X[train_index.numpy()])
        values = as_float_tensor(X).to(device)
        labels = torch.from_numpy(encoded.astype(np.int64)).to(device)
        train = Examples(values[train_index.to(device)], scaling)
        val = Examples(values[val_index.to(device)], scaling)
        model = StackedDenoisingAutoencoder([X.shape[1], *hidden], generator=setup).to(device)
        generator = torch.Generator(device=device).manual_seed(seed)
        options = dict(batch_size=self.batch_size, optimizer=self.optimizer)
        hooks = progress(self.verbose)
        pretrain(model, train, val, noise, TrainOptions(epochs=epochs_for(self.pretrain_epochs, len(train), self.batch_size, 10),
                                                        lr=self.learning_rate, **options), generator, hooks=hooks)
        model.add_head(len(self.classes_), generator=setup)
        records = supervised_finetune(
            model, train, labels[train_index.to(device)], val, labels[val_index.to(device)],
            TrainOptions(epochs=epochs_for(self.epochs, len(train), self.batch_size, 30), lr=self.learning_rate / 2,
                         schedule="cosine", **options), generator, self.patience, hooks=hooks)
        self.model_ = model.cpu().eval().set_scaling(scaling.offset, scaling.scale)
        self.scaling_ = (scaling.offset, scaling.scale)
        self.validation_scores_ = [1.0 - r.val_error for r in records]
        self.best_epoch_ = best_record(records).epoch
        return self

    def _logits(self, X) -> torch.Tensor:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float32, np.float64), reset=False)
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
