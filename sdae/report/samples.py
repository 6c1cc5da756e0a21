"""The picture of generated samples: each row an example, then the samples generated from its top code."""

from __future__ import annotations

import os

import numpy as np
import torch
from matplotlib.figure import Figure

from sdae.report.figures import SDAEFigure, _save


def plot_samples(
    examples: torch.Tensor,
    samples: torch.Tensor,
    image_shape: tuple[int, int],
    path: str | os.PathLike | None = None,
    title: str = "Samples generated from each example's top code",
    columns: dict[str, torch.Tensor] | None = None,
) -> Figure:
    """`examples` (n, features) in [0, 1] and `samples` (n, k, features) as an n x (1 + k) grid of images;
    `columns`, if given, draws several models' samples side by side ({name: (n, k, features)}) instead."""
    groups = columns if columns is not None else {"samples": samples}
    n = len(examples)
    k = sum(s.shape[1] for s in groups.values())
    h, w = image_shape
    fig = SDAEFigure(figsize=(1 + 0.8 * (1 + k), 0.8 * n + 0.6))
    axes = np.asarray(fig.subplots(n, 1 + k, squeeze=False))
    for i in range(n):
        images = [examples[i]] + [s[i, j] for s in groups.values() for j in range(s.shape[1])]
        for j, image in enumerate(images):
            ax = axes[i, j]
            ax.imshow(image.reshape(h, w).numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_title("example", fontsize=8)
    start = 1
    for name, s in groups.items():
        axes[0, start].set_title(name, fontsize=8, loc="left")
        start += s.shape[1]
    fig.suptitle(title, fontsize=10)
    _save(fig, path)
    return fig
