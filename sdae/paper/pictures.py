"""The paper's qualitative experiments, each a picture and the numbers that say what the picture shows:

- `patches` (section 5.1, Figures 5-7): filters learnt on whitened 12x12 natural image patches by ordinary
  autoencoders (under-complete, over-complete, over-complete with weight decay) and by over-complete
  denoising autoencoders (Gaussian, salt-and-pepper, masking noise);
- `mnist_filters` (Figure 8): one layer on MNIST digits, masking 0%, 25%, 50%, from the same initial weights;
- `samples` (section 7): samples generated from SAA, SdA and DBN stacks of sigmoid units (`sdae.generation`).

Each network is pretrained by `sdae.stages.pretrain` with sdae's optimizer defaults (Adam) for
`options.pretrain_epochs` epochs; sigmoid units, as the paper's.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import torch

from sdae.bench_options import BenchOptions
from sdae.corruption import Corruption, Gaussian, Masking, NoNoise, SaltPepper
from sdae.data import Examples, load_dataset
from sdae.loop import Hooks
from sdae.model import StackedDenoisingAutoencoder
from sdae.options import Criterion, TrainOptions
from sdae.paper.common import Experiment, grid_shape
from sdae.paper.measures import filter_shape_statistics, orientation_concentration
from sdae.report.figures import SDAEFigure, input_space_filters, tile_grid
from sdae.stages import pretrain

PATCH = 12
PATCH_MODELS = MappingProxyType(
    {
        "AE, 50 units (under-complete)": (50, NoNoise(), 0.0),
        "AE, 200 units (over-complete)": (200, NoNoise(), 0.0),
        "AE, 200 units, weight decay": (200, NoNoise(), 1e-3),
        "DAE, 200 units, Gaussian 0.5": (200, Gaussian(0.5), 0.0),
        "DAE, 200 units, salt-and-pepper 25%": (200, SaltPepper(0.25), 0.0),
        "DAE, 200 units, masking 50%": (200, Masking(0.5), 0.0),
    }
)


def natural_patches(count: int, seed: int, eps: float = 0.1) -> np.ndarray:
    """(count, 144) ZCA-whitened 12x12 grey patches of scikit-learn's two sample photographs (china, flower):
    each patch's mean removed, every pixel scaled to unit variance, then whitened (eigenvalues + `eps`)."""
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    images = [image.astype(np.float64).mean(axis=2) / 255 for image in load_sample_images().images]
    parts = []
    for i, image in enumerate(images):
        n = count // len(images) + (i < count % len(images))
        rows = rng.integers(0, image.shape[0] - PATCH, n)
        cols = rng.integers(0, image.shape[1] - PATCH, n)
        parts.append(np.stack([image[r : r + PATCH, c : c + PATCH].ravel() for r, c in zip(rows, cols, strict=True)]))
    x = np.concatenate(parts)
    x -= x.mean(axis=1, keepdims=True)
    x /= x.std() or 1.0
    values, vectors = np.linalg.eigh(np.cov(x, rowvar=False))
    whitening = vectors @ np.diag(1.0 / np.sqrt(np.clip(values, 0, None) + eps)) @ vectors.T
    return (x @ whitening).astype(np.float32)[rng.permutation(len(x))]


def _one_layer(
    x: torch.Tensor, units: int, noise: Corruption, options: BenchOptions, hooks, output: str, weight_decay: float = 0.0,
    tied: bool = False, kind: str = "dae", depth: int = 1,
) -> StackedDenoisingAutoencoder:  # fmt: skip
    setup = torch.Generator().manual_seed(options.seed)
    model = StackedDenoisingAutoencoder([x.shape[1]] + [units] * depth, generator=setup, activation="sigmoid",
                                        output=output, tied=tied)  # fmt: skip
    cut = len(x) - len(x) // 10
    train = TrainOptions(epochs=options.pretrain_epochs, lr=options.pretrain_lr, weight_decay=weight_decay)
    pretrain(model, Examples(x[:cut]), Examples(x[cut:]), noise, train, torch.Generator().manual_seed(options.seed),
             hooks=hooks, criterion=Criterion(kind=kind))  # fmt: skip
    return model


def _panels(title: str, panels: dict[str, torch.Tensor], shape: tuple[int, int], tiles: int = 100) -> SDAEFigure:
    rows, columns = (1, len(panels)) if len(panels) <= 4 else grid_shape(len(panels))
    fig = SDAEFigure(figsize=(3.2 * columns, 3.4 * rows))
    axes = np.asarray(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax, (name, weights) in zip(axes, panels.items(), strict=False):
        ax.imshow(tile_grid(weights, shape, tiles), cmap="gray", interpolation="nearest")
        ax.set_title(name, fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    return fig


def patches(options: BenchOptions, hooks: Hooks | None = None, count: int | None = None) -> Experiment:
    count = count or max(2000, round(500_000 * options.scale))
    x = torch.from_numpy(natural_patches(count, options.seed))
    panels, numbers = {}, {}
    for name, (units, noise, decay) in PATCH_MODELS.items():
        model = _one_layer(x, units, noise, options, hooks, output="affine", weight_decay=decay)
        weights = input_space_filters(model, 1)
        panels[name] = weights
        numbers[name] = {
            "units": units,
            "orientation_concentration": orientation_concentration(weights, (PATCH, PATCH)),
            **filter_shape_statistics(weights, (PATCH, PATCH)),
        }
    figure = _panels("Filters on whitened 12x12 natural image patches (section 5.1)", panels, (PATCH, PATCH))
    return Experiment({"patches": count, "models": numbers}, figure)


def mnist_filters(
    options: BenchOptions, hooks: Hooks | None = None, levels: tuple[float, ...] = (0.0, 0.25, 0.5)
) -> Experiment:
    digits = load_dataset("mnist", options.data_dir, limit=max(1000, round(60_000 * options.scale)))
    x = digits.examples("train").batch(slice(None))
    panels, numbers = {}, {}
    for level in levels:
        noise = Masking(level) if level else NoNoise()
        model = _one_layer(x, options.units, noise, options, hooks, output="sigmoid", tied=True)
        weights = input_space_filters(model, 1)
        panels[f"masking {100 * level:.0f}%"] = weights
        numbers[f"{level:g}"] = filter_shape_statistics(weights, (28, 28))
    figure = _panels("One layer on MNIST, the same initial weights, masking noise growing (Figure 8)", panels, (28, 28))
    return Experiment({"digits": len(x), "units": options.units, "levels": numbers}, figure)


def samples(options: BenchOptions, hooks: Hooks | None = None, examples: int = 8, each: int = 3) -> Experiment:
    from sklearn.linear_model import LogisticRegression

    from sdae.generation import generate
    from sdae.report.samples import plot_samples

    digits = load_dataset("mnist", options.data_dir, limit=max(1000, round(60_000 * options.scale)))
    x = digits.examples("train").batch(slice(None))
    assert digits.train_labels is not None and digits.test_labels is not None
    test = digits.examples("test").batch(slice(0, examples))
    stacks = {"SAA-3": ("dae", NoNoise()), "SdA-3": ("dae", Masking(0.25)), "DBN-3": ("rbm", NoNoise())}
    judge = LogisticRegression(max_iter=300).fit(x.numpy(), digits.train_labels.numpy())  # a pixel classifier
    drawn, numbers = {}, {}
    for name, (kind, noise) in stacks.items():
        model = _one_layer(x, options.units, noise, options, hooks, output="sigmoid", kind=kind, depth=3)
        drawn[name] = generate(model, test, each, torch.Generator().manual_seed(options.seed))
        guessed = judge.predict(drawn[name].reshape(-1, x.shape[1]).numpy()).reshape(len(test), each)
        wanted = digits.test_labels[:examples].numpy()[:, None]
        numbers[name] = {"same_class": float((guessed == wanted).mean()), "units": options.units}
    figure = plot_samples(test, drawn[next(iter(drawn))], (28, 28), columns=drawn,
                          title="Samples from the top code of test digits (section 7): SAA, SdA, DBN")  # fmt: skip
    return Experiment({"digits": len(x), "samples_per_example": each, "examples": examples, "stacks": numbers}, figure)
