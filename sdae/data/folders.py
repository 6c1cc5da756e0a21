"""Folders of greyscale images as a dataset: `--dataset FOLDER`, and the inputs of `sdae encode` and `denoise`.

Two layouts: the images themselves in the folder (no labels), or one subfolder per class holding
that class's images (labels 0..K-1 are the subfolders' names, sorted; the names are recorded with a
run as `classes`). Files are read with Pillow, in name order; hidden files are ignored, and other
files that are not images are skipped with one SDAEWarning. Every image must have the size of the
first one (refused naming the first that differs). Colour images are converted to greyscale with
Pillow's "L" conversion (L = 0.299 R + 0.587 G + 0.114 B), with one SDAEWarning saying how many;
colour files whose three channels are equal are greyscale already and convert without a word. 16-bit
and floating-point images are refused: the images are stored as uint8 (N, H*W) bytes, scaled by 1/255.

A folder holding `.npy` files is a folder of array shards (`sdae.data.mapped`), not of images; a
folder holding both is refused. Such a dataset has no test split.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sdae.data.dataset import Dataset, Scaling
from sdae.errors import DataError, SDAEWarning

# Common raster formats, kept to those this Pillow can open (`read_image`).
SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".bmp",
    ".dib",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".pgm",
    ".pbm",
    ".ppm",
    ".pnm",
    ".tga",
)
GREY_MODES = ("L", "1")
DEEP_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # more than 8 bits a pixel
ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")


def image_suffixes() -> tuple[str, ...]:
    from PIL import Image

    openable = {ext for ext, kind in Image.registered_extensions().items() if kind in Image.OPEN}
    return tuple(s for s in SUFFIXES if s in openable)


def _visible(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if not p.name.startswith("."))
    except OSError as e:
        raise DataError(f"folder {path}: cannot read ({e.strerror or e})") from None


@dataclass(frozen=True)
class ImageFolder:
    """The images of a folder, found by `scan`: their paths relative to `root` (posix, sorted), and for the
    class layout each one's label (an index into `classes`, the subfolders' sorted names)."""

    root: Path
    files: tuple[str, ...]
    labels: tuple[int, ...] | None = None
    classes: tuple[str, ...] | None = None


def holds_images(path: str | os.PathLike) -> bool:
    """Whether a folder is read as images (True) or as `.npy` shards (False: it holds .npy files). A folder
    with neither is taken as images (and `scan` says it holds none); one with both raises DataError."""
    path = Path(path)
    entries = _visible(path)
    shards = [p for p in entries if p.suffix == ".npy" and p.is_file()]
    if not shards:
        return True
    suffixes = image_suffixes()
    images = [p for p in entries if p.suffix.lower() in suffixes and p.is_file()]
    images += [f for d in entries if d.is_dir() for f in _visible(d) if f.suffix.lower() in suffixes and f.is_file()]
    if images:
        raise DataError(
            f"dataset folder {path} holds both .npy shards ({shards[0].name}) and images "
            f"({images[0].relative_to(path).as_posix()}); a folder is one or the other: move one kind out"
        )
    return False


def scan(path: str | os.PathLike) -> ImageFolder:
    """The images of `path`: flat, or one subfolder per class. Raises DataError for a folder with no images, or
    with images both beside and inside subfolders."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist" if not root.exists() else f"{root} is not a folder")
    suffixes = image_suffixes()
    entries = _visible(root)
    flat = [p for p in entries if p.is_file() and p.suffix.lower() in suffixes]
    skipped = [p for p in entries if p.is_file() and p.suffix.lower() not in suffixes]
    classes: list[str] = []
    files, labels, empty = [], [], []
    for folder in (p for p in entries if p.is_dir()):
        inside = _visible(folder)
        images = [p for p in inside if p.is_file() and p.suffix.lower() in suffixes]
        if not images:
            empty.append(folder.name)
            continue
        skipped += [p for p in inside if p not in images]
        files += [p.relative_to(root).as_posix() for p in images]
        labels += [len(classes)] * len(images)
        classes.append(folder.name)
    if flat and classes:
        raise DataError(
            f"image folder {root} holds images ({flat[0].name}) beside class subfolders "
            f"({classes[0]}/); put every image into its class's subfolder, or none into subfolders"
        )
    if not flat and not classes:
        found = (
            f" ({len(skipped)} other files, e.g. {skipped[0].name})"
            if skipped
            else f" ({len(empty)} subfolders, none holding images)"
            if empty
            else " (it is empty)"
        )
        raise DataError(
            f"folder {root} holds no images{found}: give a folder of images ({', '.join(SUFFIXES[:4])}, "
            "...), one subfolder of images per class, or .npy shards"
        )
    if skipped:
        warnings.warn(
            f"{root}: skipped {len(skipped)} entries that are not images ({', '.join(suffixes)}), e.g. "
            f"{skipped[0].relative_to(root).as_posix()}",
            SDAEWarning,
            stacklevel=2,
        )
    if classes and empty:
        warnings.warn(
            f"{root}: skipped {len(empty)} subfolders with no images ({', '.join(empty[:3])}); they are not classes",
            SDAEWarning,
            stacklevel=2,
        )
    if classes:
        return ImageFolder(root, tuple(files), tuple(labels), tuple(classes))
    return ImageFolder(root, tuple(p.name for p in flat))


def read_image(path: Path) -> tuple[np.ndarray, str]:
    """One image as (H, W) uint8 greyscale, upright as its EXIF orientation says, and what converting it took:
    "colour" (Pillow's "L" conversion), "alpha" (transparency dropped), both joined, or "". Raises DataError."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            mode, notes = image.mode, []
            if mode in DEEP_MODES:
                raise DataError(
                    f"{path}: a {mode} image (more than 8 bits a pixel); sdae reads 8-bit greyscale "
                    "images: save it as 8-bit"
                )
            if mode in ALPHA_MODES or (mode == "P" and "transparency" in image.info):
                notes.append("alpha")
            if mode not in GREY_MODES:
                rgb = np.asarray(image.convert("RGB"))
                if not ((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()):
                    notes.append("colour")
                image = Image.fromarray(rgb).convert("L")
            elif mode == "1":
                image = image.convert("L")
            return np.array(image, dtype=np.uint8), "+".join(notes)
    except DataError:
        raise
    except Image.DecompressionBombError as e:
        raise DataError(f"{path}: refused by Pillow as too large ({e})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise DataError(f"{path}: not an image Pillow can read ({e})") from None


def read(
    folder: ImageFolder, limit: int | None = None, on_image: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """The folder's first `limit` (default all) images, as one (N, H, W) uint8 array, in `folder.files` order.
    `on_image(done, total)` is called after each image. Raises DataError for an image whose size differs from
    the first's (naming it and both sizes); warns once (SDAEWarning) when colour images were made greyscale."""
    names = folder.files[:limit] if limit is not None else folder.files
    images: list[np.ndarray] = []
    colour = alpha = 0
    for done, name in enumerate(names, start=1):
        image, notes = read_image(folder.root / name)
        if images and image.shape != images[0].shape:
            (h0, w0), (h, w) = images[0].shape, image.shape
            raise DataError(
                f"{folder.root / name}: {w}x{h} pixels (width x height), but the first image, {names[0]}, "
                f"is {w0}x{h0}; every image needs the same size: resize them alike"
            )
        images.append(image)
        colour += "colour" in notes
        alpha += "alpha" in notes
        if on_image is not None:
            on_image(done, len(names))
    where = folder.root if len(names) > 1 else folder.root / names[0]
    if colour:
        warnings.warn(
            f'{where}: converted {colour} of {len(names)} colour images to greyscale (Pillow\'s "L": '
            "0.299 R + 0.587 G + 0.114 B)",
            SDAEWarning,
            stacklevel=2,
        )
    if alpha:
        warnings.warn(
            f"{where}: {alpha} images have transparency (an alpha channel), dropped: their pixels are taken as stored",
            SDAEWarning,
            stacklevel=2,
        )
    return np.stack(images)


def load(path: str | os.PathLike, limit: int | None = None) -> Dataset:
    """An image folder as a Dataset: uint8 (N, H*W) training examples (no test split), scaled bytes / 255, with
    labels and `classes` for the class layout."""
    folder = scan(path)
    images = read(folder, limit)
    n = len(images)
    labels = None if folder.labels is None else torch.tensor(folder.labels[:n], dtype=torch.int64)
    return Dataset(
        name=str(path),
        train=torch.from_numpy(np.ascontiguousarray(images.reshape(n, -1))),
        train_labels=labels,
        test=None,
        test_labels=None,
        scaling=Scaling(0.0, 1.0 / 255.0, "bytes"),
        image_shape=(int(images.shape[1]), int(images.shape[2])),
        source=str(Path(path).resolve()),
        classes=folder.classes,
    )
