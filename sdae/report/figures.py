"""Pictures of a trained stack: filters, denoised digits, training curves, a map of the codes.

Every `plot_*` function builds one matplotlib `Figure` and returns it: a notebook shows it inline
(as a PNG, with or without `%matplotlib inline`), and `save(fig, path)` (or `fig.savefig(path)`)
writes it as a PNG file. Given a `path`, a `plot_*` function also writes it there. The figures are
made with no pyplot and no global backend (a PNG is drawn by matplotlib's Agg canvas, whatever
backend is selected), so they work with no display, change nothing for the caller, and are in no
pyplot registry: nothing to close, beyond `fig.clear()` to let go of a drawing at once.

Deeper units are shown in input space by the product of the weight
matrices below them (W_k ... W_1): the linear part of what excites the unit, ignoring the ReLUs
and biases, the same approximation as the paper's "filters" of higher layers.

    >>> from sdae.report import figures
    >>> fig = figures.plot_filters(figures.input_space_filters(model, 1), (28, 28))  # shown inline
    >>> figures.save(fig, "filters.png")
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import cast

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sdae.corruption import Corruption
from sdae.files import atomic_write_bytes
from sdae.model import StackedDenoisingAutoencoder
from sdae.records import EpochRecord

FIGURE_DPI = 100


class SDAEFigure(Figure):
    """A `Figure` that shows itself in a notebook as a PNG, at its own dpi, with no backend set up (a bare
    `Figure` shows only its text repr until pyplot's inline backend is loaded; once it is, IPython's own
    formatter is used instead)."""

    def _repr_png_(self) -> bytes | None:
        if not self.axes:
            return None
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def save(fig: Figure, path: str | os.PathLike, dpi: float = FIGURE_DPI) -> Path:
    """Write `fig` to `path` as a PNG (at `dpi`, trimmed to its contents), atomically; returns the path."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def _save(fig: Figure, path: str | os.PathLike | None) -> Figure:
    """`fig`, written to `path` first where one is given (the `plot_*` functions' `path`)."""
    if path is not None:
        save(fig, path)
    return fig


def input_space_filters(model: StackedDenoisingAutoencoder, layer: int) -> torch.Tensor:
    """(units of `layer`, input dim): W_layer @ ... @ W_1, the linear map from the input to each unit."""
    with torch.no_grad():
        product = model.encoder_layer(1).linear.weight.detach().float().cpu()
        for k in range(2, layer + 1):
            product = model.encoder_layer(k).linear.weight.detach().float().cpu() @ product
    return product


def tile_grid(
    weights: torch.Tensor, image_shape: tuple[int, int] | None, max_tiles: int = 256, pad: int = 1
) -> np.ndarray:
    """One image holding each row of `weights` as a tile, each tile scaled to [0, 1] on its own."""
    rows = weights[:max_tiles].numpy()
    if image_shape is None:
        image_shape = (1, rows.shape[1])
    h, w = image_shape
    n = len(rows)
    cols = math.ceil(math.sqrt(n)) if h > 1 else 1
    grid_rows = math.ceil(n / cols)
    canvas = np.ones((grid_rows * (h + pad) + pad, cols * (w + pad) + pad))
    for i, row in enumerate(rows):
        low, high = row.min(), row.max()
        tile = (row - low) / (high - low) if high > low else np.zeros_like(row)
        r, c = divmod(i, cols)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = (
            tile.reshape(h, w)
        )
    return canvas


def plot_filters(
    weights: torch.Tensor,
    image_shape,
    path: str | os.PathLike | None = None,
    title: str = "Filters: each unit's incoming weights",
    max_tiles: int = 256,
) -> Figure:
    """Each row of `weights` (e.g. `input_space_filters(model, layer)`) as a tile of `image_shape` (None: a strip)."""
    canvas = tile_grid(weights, image_shape, max_tiles)
    fig = SDAEFigure(figsize=(8, 8 if image_shape else 4))
    ax = fig.subplots()
    ax.imshow(canvas, cmap="gray", interpolation="nearest", aspect="auto" if image_shape is None else "equal")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    shown = min(len(weights), max_tiles)
    ax.set_xlabel(f"{shown} of {len(weights)} units; each tile is scaled to its own range (black low, white high)")
    _save(fig, path)
    return fig


def noise_levels(process: Corruption) -> list[Corruption]:
    """The run's process at half its level, its own level, and one and a half times it (fractions
    capped at 1), each kept once, lowest first: `process.scaled`, so options such as `clip` and
    `mean` are kept. A process with no level (none) is returned alone."""
    levels: list[Corruption] = []
    for factor in (0.5, 1.0, 1.5):
        level = process if factor == 1.0 else process.scaled(factor)
        if level not in levels:
            levels.append(level)
    return levels


def plot_denoising(
    model: StackedDenoisingAutoencoder,
    clean: torch.Tensor,
    processes: list[Corruption],
    image_shape,
    path: str | os.PathLike | None = None,
    seed: int = 0,
    title: str = ("Test examples: clean, corrupted, and the network's reconstruction of the corrupted input"),
) -> Figure:
    """For each process (e.g. `parse_noise(spec).parts`): the clean examples (in [0, 1]), then for each
    level (see `noise_levels`) a corrupted row and its reconstruction.

    Each row is labelled with its mean squared error against the clean examples.
    """
    generator = torch.Generator().manual_seed(seed)
    h, w = image_shape or (1, clean.shape[1])
    rows: list[tuple[str, torch.Tensor]] = []
    with torch.no_grad():
        for process in processes:
            rows.append(("clean", clean))
            for level in noise_levels(process):
                corrupted = level(clean, generator, (0.0, 1.0))
                denoised = model(corrupted)
                rows += [
                    (f"{level.spec}\nMSE {_mse(corrupted, clean):.4f}", corrupted),
                    (f"denoised\nMSE {_mse(denoised, clean):.4f}", denoised),
                ]
    n = len(clean)
    fig = SDAEFigure(figsize=(n * 0.9, len(rows) * 0.95))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(images[c].reshape(h, w).numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    _save(fig, path)
    return fig


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean())


def plot_curves(records: list[EpochRecord], path: str | os.PathLike | None = None) -> Figure:
    """Pretraining loss per pair (train and validation); then the fine-tuning loss, denoising or supervised."""
    pretrain = [r for r in records if r.stage == "pretrain"]
    later = [r for r in records if r.stage != "pretrain"]
    fig = SDAEFigure(figsize=(12, 4.5))
    axes = fig.subplots(1, 2)
    for pair in sorted({r.pair for r in pretrain if r.pair is not None}):  # every pretraining epoch names its pair
        rows = [r for r in pretrain if r.pair == pair]
        (line,) = axes[0].plot(
            [r.epoch for r in rows],
            [r.train_loss for r in rows],
            "o-",
            markersize=3,
            label=f"pair {pair} train ({rows[0].loss_function})",
        )
        if rows[0].val_loss is not None:
            axes[0].plot(
                [r.epoch for r in rows],
                [r.val_loss for r in rows],
                "s--",
                markersize=3,
                color=line.get_color(),
                label=f"pair {pair} validation",
            )
    axes[0].set_title("Greedy pretraining, one pair at a time")
    axes[0].set_ylabel("denoising loss (mean per element)")
    axes[0].set_yscale("log")
    if later:
        marker = "o" if len(later) <= 30 else None
        axes[1].plot(
            [r.epoch for r in later], [r.train_loss for r in later], marker=marker, markersize=3, label="train"
        )
        if later[0].val_loss is not None:
            axes[1].plot(
                [r.epoch for r in later],
                [r.val_loss for r in later],
                "--",
                marker=marker,
                markersize=3,
                label="validation",
            )
        supervised = later[0].stage == "supervised"
        axes[1].set_title(
            f"{'Supervised fine-tuning, on the labels' if supervised else 'Fine-tuning, end to end'} "
            f"({later[0].loss_function})"
        )
        axes[1].set_ylabel(
            f"{'classification' if supervised else 'denoising'} loss (mean per {'example' if supervised else 'element'})"
        )
        if supervised and later[-1].val_error is not None:  # none where no validation examples were held out
            errors = axes[1].twinx()
            errors.plot(
                [r.epoch for r in later],
                [100 * cast(float, r.val_error) for r in later],
                ":",
                color="black",
                label="validation error (%)",
            )
            errors.set_ylabel("validation error (%)")
            errors.legend(fontsize=8, loc="center right")
    else:
        axes[1].set_title("Fine-tuning: not run yet")
    for ax in axes:
        ax.set_xlabel("epoch")
        last = int(max((max(line.get_xdata(), default=1) for line in ax.lines), default=1))
        ax.set_xlim(0.5, last + 0.5)
        if last <= 20:  # epochs are whole
            ax.set_xticks(range(1, last + 1))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.lines:
            ax.legend(fontsize=8)
    _save(fig, path)
    return fig


def plot_codes(
    codes: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray | None = None,
    path: str | os.PathLike | None = None,
    title: str = "Codes, PCA",
) -> Figure:
    """A 2-D PCA map of codes (a tensor or an array, one row per example), coloured by label."""
    from sklearn.decomposition import PCA

    points = PCA(n_components=2, random_state=0).fit_transform(np.asarray(codes))
    labels = None if labels is None else torch.as_tensor(np.asarray(labels))  # NumPy labels work too
    fig = SDAEFigure(figsize=(7.5, 6.5))
    ax = fig.subplots()
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.6)
    else:
        classes = sorted(int(c) for c in labels.unique())
        colours = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
        for i, c in enumerate(classes):
            mine = (labels == c).numpy()
            ax.scatter(points[mine, 0], points[mine, 1], s=4, alpha=0.7, color=colours(i % colours.N), label=str(c))
        ax.legend(title="class", markerscale=3, fontsize=8, loc="best", ncols=2 if len(classes) > 10 else 1)
    ax.set_title(title)
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    _save(fig, path)
    return fig
