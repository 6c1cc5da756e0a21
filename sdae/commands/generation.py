"""`sdae sample RUN`: samples generated from a run's stack of sigmoid units (`sdae.generation`), as a picture."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from sdae.commands.inspection import WEIGHT_CHOICES, _open, _test_or_validation, check_output
from sdae.errors import UsageError
from sdae.files import atomic_write_bytes
from sdae.generation import generate
from sdae.loading import load_model


def sample_run(
    run: str | os.PathLike,
    out: str | os.PathLike,
    examples: int = 10,
    samples: int = 8,
    weights: str = "pretrained",
    layer: int | None = None,
    seed: int = 0,
    overwrite: bool = False,
    data_dir: str | None = None,
    dataset: str | None = None,
) -> dict:
    """Generate `samples` samples from each of the first `examples` test examples (validation where there is no
    test split) and write the picture to `out` (PNG) and the samples beside it (`out` with .npz: `examples`
    (n, features), `samples` (n, samples, features), in [0, 1]). Returns what was written.

    Raises UsageError for a run that is not all sigmoid units, images of unknown shape, or bad counts."""
    from sdae.report import figures
    from sdae.report.samples import plot_samples

    if Path(out).suffix.lower() != ".png":
        raise UsageError(f"`out` {out} is the picture: give a name ending in .png (the samples go beside it, .npz)")
    path = check_output(out, overwrite)
    arrays = check_output(Path(path).with_suffix(".npz"), overwrite)
    if examples < 1 or samples < 1:
        raise UsageError(f"`examples` and `samples` must be 1 or more, got {examples} and {samples}")
    if weights not in WEIGHT_CHOICES:
        raise UsageError(f"`weights` must be one of {', '.join(WEIGHT_CHOICES)}, got {weights!r}")
    folder, data, _ = _open(run, data_dir, "cpu", dataset)
    shape = folder.facts.image_shape
    if shape is None:
        raise UsageError(f"{folder.path}: its examples are not images (no image shape recorded); nothing to draw")
    with folder.locked("sampling"):
        model = load_model(folder, weights)
        source, _, split = _test_or_validation(data, "cpu")
        x = source.batch(torch.arange(min(examples, len(source))))
        drawn = generate(model, x, samples, torch.Generator().manual_seed(seed), layer)
    figure = plot_samples(
        x, drawn, shape, title=f"{folder.path.name}: samples from the top code of {split} examples ({weights} weights)"
    )
    try:
        figures.save(figure, path)
    finally:
        figure.clear()
    import io

    buffer = io.BytesIO()
    np.savez(buffer, examples=x.numpy(), samples=drawn.numpy())
    atomic_write_bytes(arrays, buffer.getvalue())
    return {"figure": str(path), "arrays": str(arrays), "split": split, "examples": len(x), "samples": samples}
