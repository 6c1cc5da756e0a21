"""The benchmark problems of Larochelle et al. (ICML 2007), generated reproducibly from a seed.

The original files cannot be downloaded here, so each problem is regenerated from its published
description (the paper, section 5 and the benchmark's pages: "MnistVariations", "RectanglesData",
"ConvexNonConvex" on the LISA lab's public wiki). Images are 28x28 in [0, 1]. Split sizes are the
published ones: train/valid/test 10000/2000/50000, rectangles 1000/200/50000, convex 6000/2000/50000
(the page gives 8000 training examples, "the last 2000 ... as validation sets").

Beside each generator: what the description says, and where it is silent, what we chose. Digits
are drawn from all 70,000 MNIST images (training and test files together, as the originals were),
without replacement, so the 62,000 examples of a digit problem are all different digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch
from torch.nn import functional as F

from sdae.errors import UsageError
from sdae.options import BENCHMARK_PROBLEMS

SIZE = 28
SPLITS = MappingProxyType(
    {"default": (10000, 2000, 50000), "rectangles": (1000, 200, 50000), "convex": (6000, 2000, 50000)}
)
NAMES = BENCHMARK_PROBLEMS
RECIPE = 2  # bumped whenever a generator changes what it makes for a given seed (cached copies are remade)
MIN_PATCH_STD = 10 / 255  # background patches flatter than this are skipped ("low pixel variance")


@dataclass
class Variant:
    name: str
    x: dict[str, np.ndarray]  # split -> (n, 784) float32 in [0, 1]
    y: dict[str, np.ndarray]  # split -> (n,) int64


def split_sizes(name: str, scale: float = 1.0) -> tuple[int, int, int]:
    sizes = SPLITS.get(name, SPLITS["default"])
    return tuple(max(10, round(s * scale)) for s in sizes)  # type: ignore[return-value]


# ------------------------------------------------------------------------------------ digits


def rotate(images: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate (n, 28, 28) images about their centre by angles (radians), bilinear, zeros outside."""
    cos, sin = torch.cos(angles), torch.sin(angles)
    zeros = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zeros], 1), torch.stack([sin, cos, zeros], 1)], 1)
    grid = F.affine_grid(theta, [len(images), 1, SIZE, SIZE], align_corners=False)
    return F.grid_sample(images[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]


def image_patches(count: int, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """Grey-level size x size patches at random places of scikit-learn's two photographs, in [0, 1],
    skipping flat ones (standard deviation below `MIN_PATCH_STD`, 49% of 100,000 random places: sky, walls)."""
    from sdae.data.images import grey_images, random_patches

    images, kept, found = grey_images(), [], 0
    while found < count:
        patches = random_patches(images, 2 * (count - found) + 16, rng, size)
        patches = patches[patches.std(axis=1) >= MIN_PATCH_STD]
        patches = patches[rng.permutation(len(patches))[: count - found]]
        kept.append(patches)
        found += len(patches)
    return np.concatenate(kept).reshape(count, size, size)


def put_on_background(digits: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Each pixel is the brighter of the digit's and the background's: the stroke (white) stays
    whole, its anti-aliased edge blends into the background instead of cutting a dark ring into it."""
    return np.maximum(digits, background)


def digit_variant(name: str, images: np.ndarray, labels: np.ndarray, sizes, seed: int) -> Variant:
    """mnist-basic, -rot, -bg-rand, -bg-img, -rot-bg-img from MNIST images (n, 28, 28) uint8.

    Published recipes:
    - basic: a subset of MNIST, 10000/2000/50000.
    - rot: "the digits were rotated by an angle generated uniformly between 0 and 2 pi radians".
      Our choice: bilinear interpolation about the image centre (the interpolation is not given).
    - bg-rand: "a random background was inserted in the digit image. Each pixel value of the
      background was generated uniformly between 0 and 255."
    - bg-img: "a patch from a black and white image was used as the background for the digit
      image. The patches were extracted randomly from a set of 20 images downloaded from the
      internet. Patches which had low pixel variance (i.e. contained little texture) were ignored."
      Our choices: the two photographs scikit-learn ships (china.jpg, flower.jpg) in grey levels
      (the 20 originals are not available), patches with a standard deviation under 10/255 skipped.
    - rot-bg-img: rotation first, then the image background.
    How digit and background combine is not written down; ours: the per-pixel maximum
    (`put_on_background`).
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
        x = put_on_background(x, rng.integers(0, 256, x.shape).astype(np.float32) / 255.0)
    elif name.endswith("bg-img"):
        x = put_on_background(x, image_patches(n, rng).astype(np.float32))
    return _split(name, x.reshape(n, -1), y, sizes)


# -------------------------------------------------------------------------------- rectangles


def rectangle_shapes(
    n: int, rng: np.random.Generator, min_side: int = 1, min_area: int = 0, max_area: int = SIZE * SIZE
) -> tuple[np.ndarray, ...]:
    """Top, left, height, width of n rectangles inside the image, and the label 1 for tall
    (height > width), 0 for wide, classes exactly balanced. Height and width are drawn uniformly
    from [min_side, 28] and redrawn when they differ by less than 3 pixels or the area is outside
    [min_area, max_area]; the top-left corner is uniform among the places where it fits."""
    labels = rng.permutation(np.arange(n) % 2)
    tops, lefts, heights, widths = (np.empty(n, dtype=np.int64) for _ in range(4))
    for i, tall in enumerate(labels):
        while True:
            h, w = (int(v) for v in rng.integers(min_side, SIZE + 1, 2))
            if abs(h - w) >= 3 and (h > w) == bool(tall) and min_area <= h * w <= max_area:
                break
        tops[i], lefts[i] = rng.integers(0, SIZE - h + 1), rng.integers(0, SIZE - w + 1)
        heights[i], widths[i] = h, w
    return tops, lefts, heights, widths, labels.astype(np.int64)


def rectangle_masks(tops, lefts, heights, widths, outline: bool) -> np.ndarray:
    rows, cols = np.arange(SIZE)[None, :, None], np.arange(SIZE)[None, None, :]
    t, left = tops[:, None, None], lefts[:, None, None]
    b, r = t + heights[:, None, None] - 1, left + widths[:, None, None] - 1
    inside = (rows >= t) & (rows <= b) & (cols >= left) & (cols <= r)
    if not outline:
        return inside
    return inside & ((rows == t) | (rows == b) | (cols == left) | (cols == r))


def rectangles(sizes, seed: int) -> Variant:
    """White rectangle outlines on black; tall (1) or wide (0).

    Published: "the height and width of the rectangles were sampled uniformly, but when their
    difference was smaller than 3 pixels the sample was rejected. The top left corner of the
    rectangles was also sampled uniformly, with the constraint that the whole rectangle fits in the
    image." Our choices: sides from 3 pixels (a thinner outline is not a rectangle's), classes
    exactly balanced.
    """
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    tops, lefts, heights, widths, labels = rectangle_shapes(n, rng, min_side=3)
    x = rectangle_masks(tops, lefts, heights, widths, outline=True).astype(np.float32)
    return _split("rectangles", x.reshape(n, -1), labels, sizes)


def rectangles_image(sizes, seed: int) -> Variant:
    """A rectangle filled with one image patch, on a background that is another image patch.

    Published: "the border and inside of the rectangles corresponds to an image patch and a
    background patch is also sampled", tall vs wide as in rectangles, with the rectangles
    constrained so that the class is not read off trivially. The exact constraints are not given;
    ours: each side at least 7 pixels, sides differing by at least 3, and the area between a
    quarter and three quarters of the image (196 to 588 pixels), so that neither texture fills
    nearly all of it; patches as for mnist-bg-img, inside and background independent draws.
    """
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    tops, lefts, heights, widths, labels = rectangle_shapes(
        n, rng, min_side=7, min_area=SIZE * SIZE // 4, max_area=3 * SIZE * SIZE // 4
    )
    inside = rectangle_masks(tops, lefts, heights, widths, outline=False)
    x = np.where(inside, image_patches(n, rng), image_patches(n, rng)).astype(np.float32)
    return _split("rectangles-image", x.reshape(n, -1), labels, sizes)


# ------------------------------------------------------------------------------------ convex

_CENTRES = np.stack(list(np.mgrid[0:SIZE, 0:SIZE]), -1).reshape(-1, 2) + 0.5  # pixel centres (row, col)
_CENTRES.flags.writeable = False
CONVEX_HALF_PLANES_P = 0.195  # geometric parameter of the number of half-planes, convex candidates
UNION_HALF_PLANES_P = 0.07  # the same for each set of a non-convex union
AREA_BIN = 8  # white-pixel counts are matched between the classes in bins of this width


def convex_region(rng: np.random.Generator, p: float, min_pixels: int) -> np.ndarray:
    """The intersection of a geometric(p) number of half-planes, each bounded by a line through a
    uniform point of the image at a uniform orientation; redrawn until it has min_pixels pixels."""
    while True:
        count = int(rng.geometric(p))
        points = rng.uniform(0, SIZE, (count, 2))
        angles = rng.uniform(0, 2 * math.pi, count)
        normals = np.stack([np.cos(angles), np.sin(angles)], 1)
        region = (((_CENTRES[:, None, :] - points[None]) * normals[None]).sum(-1) >= 0).all(1)
        if region.sum() >= min_pixels:
            return region.reshape(SIZE, SIZE)


def is_convex(region: np.ndarray) -> bool:
    """The published test checks "a convexity condition for every pair of pixels in the set" (the
    segment between them stays in the set). On a pixel grid that is digital convexity, which we
    test exactly: every pixel whose centre lies in the convex hull of the set's pixel centres
    belongs to the set. Every rasterised convex region passes (the hull of its centres lies inside
    the region); a union that leaves any pixel of its hull empty fails."""
    from scipy.spatial import ConvexHull, QhullError

    centres = np.argwhere(region).astype(np.float64)
    if len(centres) < 3 or np.linalg.matrix_rank(centres - centres[0]) < 2:
        return True  # a point or a straight run of pixels
    try:
        hull = ConvexHull(centres)
    except QhullError:
        return True
    grid = np.argwhere(np.ones_like(region)).astype(np.float64)
    inside = (grid @ hull.equations[:, :2].T + hull.equations[:, 2] <= 1e-9).all(axis=1)
    return bool(region.reshape(-1)[inside].all())


def non_convex_region(rng: np.random.Generator) -> np.ndarray:
    """The union of 2 to 4 (uniform) convex regions of geometric(0.07) half-planes and at least 10
    pixels, redrawn until it fails the convexity test."""
    while True:
        region = np.zeros((SIZE, SIZE), dtype=bool)
        for _ in range(int(rng.integers(2, 5))):
            region |= convex_region(rng, UNION_HALF_PLANES_P, 10)
        if not is_convex(region):
            return region


def convex(sizes, seed: int) -> Variant:
    """White regions on black: convex (1) or not (0).

    Published: a convex image is the intersection of a geometric(0.195) number of half-planes
    "whose location and orientation were chosen uniformly at random", with at least 19 pixels; a
    non-convex one is the union of 2 to 4 such sets (geometric(0.07) half-planes, at least 10 pixels
    each) that fails a convexity test on every pair of its pixels; "the parameters ... were balanced
    to ensure that the mean number of pixels of value 255 is the same". Our choice for that last
    step: candidates of both classes are drawn and kept so that their white-pixel counts have the
    same histogram (bins of 8 pixels), which equalises more than the mean: the count alone tells
    the classes apart no better than chance.
    """
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    half = [n - n // 2, n // 2]  # non-convex (0), convex (1)
    pools: list[dict[int, list[np.ndarray]]] = [{}, {}]

    def matched() -> int:
        return sum(min(len(pools[0].get(k, ())), len(pools[1].get(k, ()))) for k in set(pools[0]) | set(pools[1]))

    while matched() < half[0]:
        for label, make in (
            (0, lambda: non_convex_region(rng)),
            (1, lambda: convex_region(rng, CONVEX_HALF_PLANES_P, 19)),
        ):
            region = make()
            pools[label].setdefault(int(region.sum()) // AREA_BIN, []).append(region)
    chosen: list[list[np.ndarray]] = [[], []]
    for k in sorted(set(pools[0]) & set(pools[1])):
        take = min(len(pools[0][k]), len(pools[1][k]))
        chosen[0] += pools[0][k][:take]
        chosen[1] += pools[1][k][:take]
    images = np.concatenate([np.stack(chosen[0][: half[0]]), np.stack(chosen[1][: half[1]])])
    labels = np.repeat(np.array([0, 1], dtype=np.int64), half)
    order = rng.permutation(n)
    return _split("convex", images[order].reshape(n, -1).astype(np.float32), labels[order], sizes)


# ------------------------------------------------------------------------------------- entry


def _split(name: str, x: np.ndarray, y: np.ndarray, sizes) -> Variant:
    n_train, n_valid, _ = sizes
    bounds = {"train": (0, n_train), "valid": (n_train, n_train + n_valid), "test": (n_train + n_valid, len(x))}
    return Variant(name, {k: x[a:b] for k, (a, b) in bounds.items()}, {k: y[a:b] for k, (a, b) in bounds.items()})


def generate(
    name: str, seed: int = 0, scale: float = 1.0, mnist: tuple[np.ndarray, np.ndarray] | None = None
) -> Variant:
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
