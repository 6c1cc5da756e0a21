"""The benchmark variants of Larochelle et al. (ICML 2007), generated reproducibly from a seed.

The original files cannot be downloaded here, so each problem is regenerated from its published
recipe. Images are 28x28 in [0, 1]; splits follow the issue's sizes (train/valid/test
10000/2000/50000; rectangles 1000/200/50000). Beside each generator: what the original recipe
says, and where we had to choose.

Digits are drawn from all 70,000 MNIST images (training and test files together, as the originals
were), without replacement, so the 62,000 examples of a digit problem are all different digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from sdae.errors import UsageError

SIZE = 28
SPLITS = {"default": (10000, 2000, 50000), "rectangles": (1000, 200, 50000)}
NAMES = ("mnist-basic", "mnist-rot", "mnist-bg-rand", "mnist-bg-img", "mnist-rot-bg-img", "rectangles",
         "rectangles-image", "convex")


@dataclass
class Variant:
    name: str
    x: dict[str, np.ndarray]  # split -> (n, 784) float32 in [0, 1]
    y: dict[str, np.ndarray]  # split -> (n,) int64


def split_sizes(name: str, scale: float = 1.0) -> tuple[int, int, int]:
    sizes = SPLITS["rectangles" if name == "rectangles" else "default"]
    return tuple(max(10, round(s * scale)) for s in sizes)  # type: ignore[return-value]


# ------------------------------------------------------------------------------------ digits


def rotate(images: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate (n, 28, 28) images about their centre by angles (radians), bilinear, zeros outside."""
    cos, sin = torch.cos(angles), torch.sin(angles)
    zeros = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zeros], 1), torch.stack([sin, cos, zeros], 1)], 1)
    grid = F.affine_grid(theta, (len(images), 1, SIZE, SIZE), align_corners=False)
    return F.grid_sample(images[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]


def image_patches(count: int, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """Grey-level size x size patches at random places of scikit-learn's two photographs, in [0, 1]."""
    from sdae.data.images import grey_images, random_patches

    return random_patches(grey_images(), count, rng, size).reshape(count, size, size)


def put_on_background(digits: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Background pixels (exactly 0 in the digit image) take the background's value; digit pixels stay."""
    return np.where(digits > 0, digits, background)


def digit_variant(name: str, images: np.ndarray, labels: np.ndarray, sizes, seed: int) -> Variant:
    """mnist-basic, -rot, -bg-rand, -bg-img, -rot-bg-img from MNIST images (n, 28, 28) uint8.

    Original recipes (Larochelle et al. 2007, and the benchmark's web page):
    - basic: a subset of MNIST, 10000/2000/50000.
    - rot: each digit rotated by an angle uniform in [0, 2 pi). Our choice: bilinear interpolation
      about the image centre (the original does not say which interpolation).
    - bg-rand: "a random background was inserted in the digit image. Each pixel value of the
      background was generated uniformly between 0 and 255." Our choice: a pixel is background
      where the digit image is exactly 0.
    - bg-img: the background is a random patch from one of 20 black-and-white photographs.
      Our choice: the two photographs scikit-learn ships (china.jpg, flower.jpg) in grey levels,
      random 28x28 patches; the original's 20 images are not available here.
    - rot-bg-img: rotation first, then the image background.
    """
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    if n > len(images):
        raise UsageError(f"{name} needs {n} digits, only {len(images)} were given")
    order = rng.permutation(len(images))[:n]
    x = images[order].astype(np.float32) / 255.0
    y = labels[order].astype(np.int64)
    if "rot" in name:
        angles = torch.from_numpy(rng.uniform(0, 2 * math.pi, n).astype(np.float32))
        x = rotate(torch.from_numpy(x), angles).clamp_(0, 1).numpy()
    if name.endswith("bg-rand"):
        x = put_on_background(x, rng.uniform(0, 1, x.shape).astype(np.float32))
    elif name.endswith("bg-img"):
        x = put_on_background(x, image_patches(n, rng).astype(np.float32))
    return _split(name, x.reshape(n, -1), y, sizes)


# -------------------------------------------------------------------------------- rectangles


def rectangle_shapes(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Top, left, height, width of n rectangles inside the image, height != width by >= 3 pixels,
    and the label 1 for tall (height > width), 0 for wide, balanced."""
    labels = rng.permutation(np.arange(n) % 2)
    tops, lefts, heights, widths = (np.empty(n, dtype=np.int64) for _ in range(4))
    for i, tall in enumerate(labels):
        while True:
            h, w = rng.integers(3, SIZE - 1, 2)
            if abs(int(h) - int(w)) >= 3 and (h > w) == bool(tall):
                break
        tops[i], lefts[i] = rng.integers(0, SIZE - h + 1), rng.integers(0, SIZE - w + 1)
        heights[i], widths[i] = h, w
    return tops, lefts, heights, widths, labels.astype(np.int64)


def rectangle_masks(tops, lefts, heights, widths, outline: bool) -> np.ndarray:
    rows, cols = np.arange(SIZE)[None, :, None], np.arange(SIZE)[None, None, :]
    t, l = tops[:, None, None], lefts[:, None, None]
    b, r = t + heights[:, None, None] - 1, l + widths[:, None, None] - 1
    inside = (rows >= t) & (rows <= b) & (cols >= l) & (cols <= r)
    if not outline:
        return inside
    return inside & ((rows == t) | (rows == b) | (cols == l) | (cols == r))


def rectangles(sizes, seed: int) -> Variant:
    """White rectangle outlines on black; tall (1) or wide (0).

    Original: "the height and width of the rectangles were sampled uniformly, but when their
    difference was smaller than 3 pixels the sample was rejected"; the rectangle lies in the image.
    Our choices: sides from 3 to 26 pixels, classes exactly balanced.
    """
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    *box, labels = rectangle_shapes(n, rng)
    x = rectangle_masks(*box, outline=True).astype(np.float32)
    return _split("rectangles", x.reshape(n, -1), labels, sizes)


def rectangles_image(sizes, seed: int) -> Variant:
    """A rectangle filled with one image patch, on a background that is another image patch.

    Original: "the border and inside of the rectangles corresponds to an image patch and a
    background patch is also sampled", tall vs wide as in rectangles. Our choice: patches from
    scikit-learn's two photographs; inside and background patches are independent draws.
    """
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    *box, labels = rectangle_shapes(n, rng)
    inside = rectangle_masks(*box, outline=False)
    x = np.where(inside, image_patches(n, rng), image_patches(n, rng)).astype(np.float32)
    return _split("rectangles-image", x.reshape(n, -1), labels, sizes)


# ------------------------------------------------------------------------------------ convex


def _half_plane_region(rng: np.random.Generator, count: int) -> np.ndarray:
    """The intersection of `count` random half-planes that pass near the image, as a boolean image."""
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5
    cy, cx = rng.uniform(8, 20, 2)
    region = np.ones((SIZE, SIZE), dtype=bool)
    for angle in rng.uniform(0, 2 * math.pi, count):
        distance = rng.uniform(3, 11)
        region &= (xs - cx) * math.cos(angle) + (ys - cy) * math.sin(angle) <= distance
    return region


def convex(sizes, seed: int) -> Variant:
    """White regions on black: convex (1) or not (0).

    Original: convex images are "the intersection of a number of half-planes whose location and
    orientation were chosen uniformly at random"; non-convex ones are unions of such regions that
    are not convex. Our choices: 3 to 8 half-planes around a random centre; a non-convex example is
    the union of two such regions whose area is below 75% of its convex hull's (rasterised convex
    regions measure down to about 80%, so the two classes do not overlap by this measure); every region
    has at least 20 pixels; classes exactly balanced.
    """
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    labels = rng.permutation(np.arange(n) % 2).astype(np.int64)
    x = np.zeros((n, SIZE, SIZE), dtype=np.float32)
    for i, is_convex in enumerate(labels):
        while True:
            region = _half_plane_region(rng, int(rng.integers(3, 9)))
            if not is_convex:
                region = region | _half_plane_region(rng, int(rng.integers(3, 9)))
            area = int(region.sum())
            if area < 20:
                continue
            if is_convex or area < 0.75 * _hull_area(region):
                break
        x[i] = region
    return _split("convex", x.reshape(n, -1), labels, sizes)


def _hull_area(region: np.ndarray) -> float:
    """Area, in pixels, of the convex hull of the region's pixel squares (the hull of their corners)."""
    from scipy.spatial import ConvexHull

    centres = np.argwhere(region).astype(np.float64)
    corners = (centres[:, None, :] + np.array([[0, 0], [0, 1], [1, 0], [1, 1]])[None]).reshape(-1, 2)
    return float(ConvexHull(corners).volume)  # in 2-D, "volume" is the area


# ------------------------------------------------------------------------------------- entry


def _split(name: str, x: np.ndarray, y: np.ndarray, sizes) -> Variant:
    n_train, n_valid, _ = sizes
    bounds = {"train": (0, n_train), "valid": (n_train, n_train + n_valid), "test": (n_train + n_valid, len(x))}
    return Variant(name, {k: x[a:b] for k, (a, b) in bounds.items()}, {k: y[a:b] for k, (a, b) in bounds.items()})


def generate(name: str, seed: int = 0, scale: float = 1.0, mnist: tuple[np.ndarray, np.ndarray] | None = None) -> Variant:
    """One benchmark problem. `mnist` is (images (n, 28, 28) uint8, labels) for the digit problems;
    `scale` shrinks every split (1.0 is the published size)."""
    if name not in NAMES:
        raise UsageError(f"unknown benchmark {name!r}; choose from {', '.join(NAMES)}")
    sizes = split_sizes(name, scale)
    if name.startswith("mnist"):
        if mnist is None:
            raise UsageError(f"{name} is made from MNIST digits; pass them")
        return digit_variant(name, mnist[0], mnist[1], sizes, seed)
    return {"rectangles": rectangles, "rectangles-image": rectangles_image, "convex": convex}[name](sizes, seed)
