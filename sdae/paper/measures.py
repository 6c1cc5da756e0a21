"""Numbers that say what a picture of filters shows (ours; the paper shows the pictures only).

- `filter_shape_statistics`: how spread out each filter is: the radius of gyration of its squared weights
  around their centre (pixels; a local blob is small, a long stroke or a noise-like filter large), and the
  share of its squared weights on its strongest 10% of pixels (high: concentrated; 0.1: spread evenly).
- `orientation_concentration`: how much of a filter's spatial-frequency power lies along one orientation,
  0 for isotropic filters (blobs, white noise) to 1 for a single orientation (edges, Gabor-like filters).
Medians over the units.
"""

from __future__ import annotations

import numpy as np
import torch


def filter_shape_statistics(weights: torch.Tensor, shape: tuple[int, int]) -> dict[str, float]:
    """Median radius of gyration (pixels) and median top-10% energy share of `weights` (units, pixels)."""
    w = weights.detach().double().numpy().reshape(-1, *shape) ** 2
    total = w.sum(axis=(1, 2), keepdims=True)
    p = w / np.where(total > 0, total, 1)
    rows, cols = np.indices(shape)
    r0 = (p * rows).sum(axis=(1, 2), keepdims=True)
    c0 = (p * cols).sum(axis=(1, 2), keepdims=True)
    radius = np.sqrt((p * ((rows - r0) ** 2 + (cols - c0) ** 2)).sum(axis=(1, 2)))
    flat = np.sort(p.reshape(len(p), -1), axis=1)[:, ::-1]
    top = flat[:, : max(1, flat.shape[1] // 10)].sum(axis=1)
    return {"radius_px": float(np.median(radius)), "top10_energy": float(np.median(top))}


def orientation_concentration(weights: torch.Tensor, shape: tuple[int, int]) -> float:
    """Median over units of |sum P(k) exp(2i theta_k)| / sum P(k), P the 2-D power spectrum without its mean."""
    w = weights.detach().double().numpy().reshape(-1, *shape)
    w = w - w.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(w)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(shape[0]), np.fft.fftfreq(shape[1]), indexing="ij")
    angle = np.exp(2j * np.arctan2(fy, fx))
    angle[0, 0] = 0
    total = power.sum(axis=(1, 2))
    concentration = np.abs((power * angle).sum(axis=(1, 2))) / np.where(total > 0, total, 1)
    return float(np.median(concentration))
