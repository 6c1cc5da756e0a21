"""SDAETransformer: stacked denoising autoencoder codes as features."""

from __future__ import annotations

import copy
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from sdae.codes import clean_codes
from sdae.corruption import parse_noise
from sdae.data import Examples, Scaling
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
from sdae.stages import finetune, pretrain


class SDAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Stacked denoising autoencoder features (Vincent et al., JMLR 2010).

    `fit` greedily pretrains one denoising pair per hidden layer (and, if `finetune_epochs > 0`,
    fine-tunes the whole network end to end on the denoising criterion); `transform` returns the
    codes of one encoder layer.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 128, 64)
        Widths of the hidden layers, input side first (scikit-learn's name for `sdae pretrain --layers`,
        `RunConfig.layers`).
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
        (`--batch-size`, `TrainOptions.batch_size`)
    learning_rate : float, default=2e-3
        (`--lr`, `TrainOptions.lr`)
    optimizer : {"adam", "sgd"}, default="adam"
        (`--optimizer`, `TrainOptions.optimizer`)
    {PARAMETER_DOCS}
    scaling : {"global", "feature", "none"}, default="global"
        How X maps to [0, 1], by the same rule as `sdae pretrain --scaling` (`DataOptions.scaling`):
        "global" divides uint8 arrays by 255, keeps values already in [0, 1], and otherwise uses one
        minimum and maximum for all features (with a warning when that squeezes most features into a
        sliver of [0, 1]); "feature" scales each feature by its own minimum and maximum (tables);
        "none" keeps the values (real-valued data; `output="auto"` then chooses an affine output).
    tied : bool, default=False
        Tie each decoder weight to its encoder weight, transposed.
    device : str, default="cpu"
        "cpu", "cuda" or "auto".
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling and the noise.
    verbose : bool, default=False
        Progress bars and one line per epoch on standard error, and sdae's notices from `fit` (an
        `sdae.errors.SDAEWarning`, e.g. dead units), as Python's warning filters let them through;
        False: `fit` is quiet, its notices silenced.

    Attributes
    ----------
    model_ : StackedDenoisingAutoencoder
        The trained network, on the CPU.
    components_ : ndarray of shape (hidden_layer_sizes[0], n_features_in_)
        The first layer's weights (its filters).
    scaling_ : tuple of (offset, scale)
        x01 = (x - offset) * scale; floats, or tuples of one per feature with `scaling="feature"`.
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
        momentum=0.9,
        weight_decay=0.0,
        warmup=5.0,
        activation="relu",
        output="auto",
        tol=1e-4,
        n_iter_no_change=20,
        scaling="global",
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
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.activation = activation
        self.output = output
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.scaling = scaling
        self.tied = tied
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @quiet_unless_verbose
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
        if self.layer is not None and (
            isinstance(self.layer, bool) or not isinstance(self.layer, Integral) or not 1 <= self.layer <= len(hidden)
        ):
            raise ValueError(f"layer must be None or a hidden layer 1..{len(hidden)}, got {self.layer!r}")
        is_bytes = getattr(X, "dtype", None) == np.uint8  # before validation makes it float
        X = validate_data(self, X, dtype=(np.float32, np.float64))
        noise = parse_noise(self.noise)
        device = resolve_device(self.device)
        check_fits([X.shape[1], *hidden], device)
        seed = seed_from(self.random_state)
        scaling = scaling_for(X, self.scaling, "X", is_bytes)
        examples = Examples(as_float_tensor(X).to(device), scaling)
        model = network(self, X.shape[1], hidden, torch.Generator().manual_seed(seed), examples).to(device)
        generator = torch.Generator(device=device).manual_seed(seed)
        epochs = epochs_for(self.pretrain_epochs, len(X), self.batch_size, floor=10)
        hooks = progress(self.verbose)
        records = pretrain(
            model, examples, None, noise, train_options(self, epochs, self.learning_rate), generator, hooks=hooks
        )
        if self.finetune_epochs:
            records += finetune(
                model,
                examples,
                None,
                noise,
                train_options(self, self.finetune_epochs, self.learning_rate),
                generator,
                hooks=hooks,
            )
        self.model_ = model.cpu().eval().set_scaling(scaling.offset, scaling.scale)
        self.scaling_ = (scaling.offset, scaling.scale)
        self.components_ = model.encoder_layer(1).linear.weight.detach().numpy().copy()
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
        check_against(
            X, Scaling(self.scaling_[0], self.scaling_[1], self.scaling), "X", "the data `fit` saw", warn=False
        )
        if X.dtype == np.float64:  # computed in float64, so that a row's code does not depend on its batch
            encoder = copy.deepcopy(self.model_.encoder[:layer]).double()
            offset, scale = (torch.as_tensor(v, dtype=torch.float64) for v in self.scaling_)
            with torch.no_grad():
                return encoder((torch.tensor(X) - offset) * scale).numpy()
        examples = Examples(as_float_tensor(X), Scaling(*self.scaling_))
        return clean_codes(self.model_, layer, examples).numpy()

    def inverse_transform(self, X):
        """The network's reconstruction from codes of the chosen layer, in the input's own units.

        Parameters
        ----------
        X : array-like of shape (n_samples, layer width)
            Codes, as `transform` gives them.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_), of X's dtype (float32 or float64)
            `model_.to_raw(model_.decode(codes))`: the decoders' output mapped back through `scaling_`.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=(np.float32, np.float64))
        layer = self.model_.depth if self.layer is None else self.layer
        if X.shape[1] != self.model_.sizes[layer]:
            raise ValueError(f"X has {X.shape[1]} features, but layer {layer}'s codes have {self.model_.sizes[layer]}")
        with torch.no_grad():
            x01 = self.model_.decode(torch.as_tensor(X, dtype=torch.float32), layer)
            return self.model_.to_raw(x01).numpy().astype(X.dtype)

    def score_samples(self, X):
        """The negative reconstruction error of each example: higher is more like the training data (for novelty
        detection, as scikit-learn's novelty detectors score).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus the mean squared difference, over features and in the network's units ([0, 1] after
            `scaling_`), between each clean example and the whole network's reconstruction of it.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float32, np.float64), reset=False)
        model, dtype = self.model_, torch.float32
        if X.dtype == np.float64:  # in float64, so that an example's score does not depend on its batch (as transform)
            model, dtype = copy.deepcopy(self.model_).double(), torch.float64
        offset, scale = (torch.as_tensor(v, dtype=dtype) for v in self.scaling_)
        x01 = (torch.as_tensor(X, dtype=dtype) - offset) * scale
        with torch.no_grad():
            error = ((model.decoder(model.encoder(x01)) - x01) ** 2).mean(1)
        return (-error).numpy().astype(X.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


if SDAETransformer.__doc__ is not None:  # None under `python -OO`, which strips docstrings
    SDAETransformer.__doc__ = SDAETransformer.__doc__.replace("{PARAMETER_DOCS}", PARAMETER_DOCS)
