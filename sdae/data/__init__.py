"""Datasets: MNIST's IDX files, scikit-learn's digits, natural image patches, the user's .npy/.npz arrays
and image folders.

`load_dataset(spec)` gives a `Dataset` (examples as stored, labels, the `Scaling` to [0, 1]);
`Dataset.examples(split, device)` puts a split on a device as `Examples`, whose `batch(index)`
gives float32 rows in [0, 1]; `split_indices` draws a run's validation part.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import torch

from sdae.data import arrays, folders, mnist, variants
from sdae.data.dataset import Dataset, Examples, Scaling, column_range, fit_scaling, split_indices
from sdae.errors import UsageError

__all__ = ["Dataset", "Examples", "Scaling", "load_dataset", "load_digits", "split_indices"]


def load_digits(limit: int | None = None) -> Dataset:
    """scikit-learn's 8x8 digits (values 0..16), split 80/20 with random_state=0."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    x = bunch.data.astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(x, bunch.target, test_size=0.2, random_state=0)
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    return Dataset(
        name="digits",
        train=torch.from_numpy(np.ascontiguousarray(x_train)),
        train_labels=torch.from_numpy(y_train.astype(np.int64)),
        test=torch.from_numpy(np.ascontiguousarray(x_test)),
        test_labels=torch.from_numpy(y_test.astype(np.int64)),
        scaling=Scaling(0.0, 1.0 / 16.0),
        image_shape=(8, 8),
        source="sklearn.datasets.load_digits",
    )


def load_dataset(
    spec: str,
    data_dir: str | os.PathLike | None = None,
    limit: int | None = None,
    scale: float = 1.0,
    scaling: str = "global",
    origin: str = "auto",
) -> Dataset:
    """Load a dataset by name (`mnist`, `digits`, `patches`, one of the 2007 benchmark problems in
    `variants.NAMES`, made at `scale` times the published sizes) or from a `.npz`/`.npy` path, a folder of
    `.npy` shards or a folder of greyscale images (`sdae.data.folders`: flat, or one subfolder per class).

    `scaling`: "global" (each dataset's own rule: bytes / 255, digits / 16, a file's values by
    `fit_scaling`'s global rule), "feature" (every feature min-max scaled on its own, from the
    training examples) or "none" (the values as stored: real-valued data, for an affine output). `origin`, for
    the 2007 problems: "original" (the published files), "generated" (sdae's stand-in), or "auto" (the original
    files where found, see `sdae.data.benchmark_store`). Raises UsageError for an unknown name or option,
    DataError for unusable data.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UsageError(f"`limit` must be a positive number of examples, got {limit!r}")
    if scaling not in ("global", "feature", "none"):
        raise UsageError(f"`scaling` must be global, feature or none, got {scaling!r}")
    dataset = _load(spec, data_dir, limit, scale, scaling, origin)
    if scaling == "feature" and not dataset.scaling.per_feature:
        dataset = replace(dataset, scaling=_feature_scaling(dataset))
    if scaling == "none":
        dataset = replace(dataset, scaling=Scaling(0.0, 1.0, "none"))
    return dataset


def _feature_scaling(dataset: Dataset) -> Scaling:
    """Each feature's own minimum and maximum over the training examples (read in chunks where mapped)."""
    train = dataset.train
    low, high = column_range(train.chunks() if hasattr(train, "chunks") else (train.numpy(),))
    return fit_scaling(low, high, False, "feature", dataset.name)


def _load(spec: str, data_dir, limit: int | None, scale: float, scaling: str, origin: str) -> Dataset:
    if spec == "mnist":
        return mnist.load(data_dir, limit)
    if spec == "digits":
        return load_digits(limit)
    if spec == "patches":
        from sdae.data.images import load_patches

        return load_patches(limit)
    if spec in variants.NAMES:
        from sdae.data import benchmark_store

        return benchmark_store.load(spec, scale, data_dir, limit, origin)
    if os.path.isdir(spec) and not str(spec).endswith(".npy") and folders.holds_images(spec):
        return folders.load(spec, limit)
    if str(spec).endswith((".npz", ".npy")) or os.path.isdir(spec):
        return arrays.load(spec, limit, scaling)
    raise UsageError(
        f"unknown dataset {spec!r}; use mnist, digits, patches, "
        f"{', '.join(variants.NAMES)}, a path ending in .npz or .npy, a folder of images, or a folder "
        "of .npy shards"
    )
