"""Reading MNIST's IDX files (gzipped or not), checking everything a damaged copy could get wrong."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from sdae.errors import DataError

IMAGES_MAGIC = 2051  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # unsigned bytes, 1 dimension


def read_bytes(path: Path) -> bytes:
    """The file's content, decompressed if it ends in .gz."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: not a complete gzip file ({e}); delete it and supply a fresh copy") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def parse_idx(data: bytes, path: Path, magic: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes into an array of the shape its header declares."""
    if len(data) < 4:
        raise DataError(f"{path}: too short to be an IDX file ({len(data)} bytes)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"{path}: wrong IDX magic number {found} (expected {magic}); is this the right file?")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise DataError(f"{path}: IDX header declares shape {shape} ({expected} bytes) but the file has {len(data)} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_images(path: Path) -> np.ndarray:
    images = parse_idx(read_bytes(path), path, IMAGES_MAGIC)
    if images.shape[1:] != (28, 28):
        raise DataError(f"{path}: images are {images.shape[1]}x{images.shape[2]}, MNIST's are 28x28")
    return images


def read_labels(path: Path) -> np.ndarray:
    labels = parse_idx(read_bytes(path), path, LABELS_MAGIC)
    if labels.size and labels.max() > 9:
        raise DataError(f"{path}: label {int(labels.max())} is not a digit 0-9")
    return labels


def read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_images(images_path), read_labels(labels_path)
    if len(images) != len(labels):
        raise DataError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    return images, labels
