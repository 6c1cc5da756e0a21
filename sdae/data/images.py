"""Natural image patches from the two photographs scikit-learn ships (china.jpg, flower.jpg).

The paper's qualitative experiment (section 6.1 of Vincent et al. 2010) trains one denoising pair
on 12x12 patches of whitened natural images. Our preprocessing, chosen to be close to that and to
the usual practice for learning edge filters (Olshausen & Field; the UFLDL exercises):

1. the photographs in grey levels, scaled to [0, 1];
2. 12x12 patches at random positions (seed 0; training and test positions are drawn apart);
3. each patch minus its own mean (the DC component carries no edge information);
4. ZCA whitening, W = U diag(1 / sqrt(lambda + eps)) U^T from the training patches' covariance,
   eps = the mean eigenvalue (so the highest frequencies, mostly noise, are not amplified; with
   eps = 0.1 x mean eigenvalue the learned filters were gratings and pixel noise, not edges);
5. values beyond 3 standard deviations clipped, then mapped linearly to [0.1, 0.9] so that the
   Sigmoid output can reach them (the scaling is recorded like any other).
"""

from __future__ import annotations

import numpy as np
import torch

from sdae.data.dataset import Dataset, Scaling

PATCH = 12
TRAIN_PATCHES = 50000
TEST_PATCHES = 5000


def grey_images() -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    return [image.astype(np.float64).mean(axis=2) / 255.0 for image in load_sample_images().images]


def random_patches(images: list[np.ndarray], count: int, rng: np.random.Generator, size: int = PATCH) -> np.ndarray:
    per_image = np.array_split(np.arange(count), len(images))
    out = []
    for image, index in zip(images, per_image):
        rows = rng.integers(0, image.shape[0] - size + 1, len(index))
        cols = rng.integers(0, image.shape[1] - size + 1, len(index))
        out.append(np.stack([image[r : r + size, c : c + size].ravel() for r, c in zip(rows, cols)]))
    return np.concatenate(out)


def zca_matrix(patches: np.ndarray, eps_fraction: float = 1.0) -> np.ndarray:
    cov = np.cov(patches, rowvar=False)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    eps = eps_fraction * eigenvalues.mean()
    return eigenvectors @ np.diag(1.0 / np.sqrt(np.maximum(eigenvalues, 0.0) + eps)) @ eigenvectors.T


def load_patches(limit: int | None = None, seed: int = 0) -> Dataset:
    """The patch dataset (see the module docstring), as an sdae Dataset of float32 in [0.1, 0.9]."""
    rng = np.random.default_rng(seed)
    images = grey_images()
    train = random_patches(images, TRAIN_PATCHES, rng)
    test = random_patches(images, TEST_PATCHES, rng)
    train -= train.mean(axis=1, keepdims=True)
    test -= test.mean(axis=1, keepdims=True)
    zca = zca_matrix(train)
    train, test = train @ zca, test @ zca
    bound = 3.0 * train.std()

    def to_unit(x: np.ndarray) -> np.ndarray:
        return (0.1 + 0.8 * (np.clip(x, -bound, bound) + bound) / (2 * bound)).astype(np.float32)

    train, test = to_unit(train), to_unit(test)
    if limit is not None:
        train = train[:limit]
    return Dataset(
        name="patches",
        train=torch.from_numpy(train),
        train_labels=None,
        test=torch.from_numpy(test),
        test_labels=None,
        scaling=Scaling(0.0, 1.0),
        image_shape=(PATCH, PATCH),
        source="sklearn.datasets.load_sample_images (china.jpg, flower.jpg)",
    )
