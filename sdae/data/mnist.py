"""MNIST: finding, downloading and reading its four IDX files, checking all a damaged copy could get wrong.

Where MNIST is looked for: `data_dir` if given, else `$SDAE_DATA_DIR`, else `~/.cache/sdae/mnist`
(`$XDG_CACHE_HOME/sdae/mnist`). Only the cache folder is ever written to: a missing copy there is
downloaded with torchvision, which checks the published MD5 sums. Files may be gzipped or not,
and may sit in the folder itself or in torchvision's `MNIST/raw/` layout below it.

An IDX file is read header first: only as many bytes as the header declares are decompressed
(at most `MAX_IDX_BYTES`), and a file holding more than that is refused without reading the rest.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import zlib
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch

from sdae.data.dataset import Dataset, Scaling
from sdae.errors import DataError

FILES = MappingProxyType(
    {
        "train_images": "train-images-idx3-ubyte",
        "train_labels": "train-labels-idx1-ubyte",
        "test_images": "t10k-images-idx3-ubyte",
        "test_labels": "t10k-labels-idx1-ubyte",
    }
)
# The MD5 sums torchvision checks on download (LeCun's published files, gzipped).
MD5 = MappingProxyType(
    {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
)
IMAGES_MAGIC = 2051  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # unsigned bytes, 1 dimension
MAX_IDX_BYTES = 1 << 32  # 4 GiB: far beyond MNIST (47 MB), short of what would exhaust memory here
HOW_TO_SUPPLY = (
    "put the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in a folder and pass it as `data_dir` "
    "or set SDAE_DATA_DIR"
)


# ------------------------------------------------------------------------------------ IDX files


def read_idx(path: Path, magic: int) -> np.ndarray:
    """An IDX file of unsigned bytes (gzipped or not) as an array of the shape its header declares."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4:
                raise DataError(f"{path}: too short to be an IDX file ({len(head)} bytes)")
            found = int.from_bytes(head, "big")
            if found != magic:
                raise DataError(f"{path}: wrong IDX magic number {found} (expected {magic}); is this the right file?")
            dims = f.read(4 * head[3])
            if len(dims) < 4 * head[3]:
                raise DataError(f"{path}: truncated IDX header")
            shape = tuple(int.from_bytes(dims[i : i + 4], "big") for i in range(0, len(dims), 4))
            size = math.prod(shape)
            if size > MAX_IDX_BYTES:
                raise DataError(
                    f"{path}: IDX header declares shape {shape}, {size / 2**30:.3g} GiB, more than sdae "
                    f"reads ({MAX_IDX_BYTES / 2**30:g} GiB)"
                )
            data = f.read(size)
            extra = f.read(1)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: not a complete gzip file ({e}); delete it and supply a fresh copy") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not an IDX file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) != size or extra:
        held = f"only {len(data)}" if len(data) != size else "more than that"
        raise DataError(f"{path}: IDX header declares shape {shape} ({size} bytes of data) but the file holds {held}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def read_images(path: Path) -> np.ndarray:
    images = read_idx(path, IMAGES_MAGIC)
    if images.shape[1:] != (28, 28):
        raise DataError(f"{path}: images are {images.shape[1]}x{images.shape[2]}, MNIST's are 28x28")
    if len(images) == 0:
        raise DataError(f"{path}: holds no images")
    return images


def read_labels(path: Path) -> np.ndarray:
    labels = read_idx(path, LABELS_MAGIC)
    if labels.size and labels.max() > 9:
        raise DataError(f"{path}: label {int(labels.max())} is not a digit 0-9")
    return labels


def read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_images(images_path), read_labels(labels_path)
    if len(images) != len(labels):
        raise DataError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    return images, labels


# ----------------------------------------------------------------------------- finding the files


def default_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "sdae" / "mnist"


def _find_file(folder: Path, name: str) -> Path | None:
    for base in (folder, folder / "MNIST" / "raw"):
        for candidate in (base / f"{name}.gz", base / name):
            if candidate.is_file():
                return candidate
    return None


def _find(folder: Path) -> dict[str, Path] | None:
    found = {key: _find_file(folder, name) for key, name in FILES.items()}
    return found if all(found.values()) else None  # type: ignore[return-value]


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(folder: Path) -> dict[str, Path]:
    """Download MNIST into the cache folder with torchvision and check the published MD5 sums."""
    try:
        from torchvision.datasets import MNIST

        folder.mkdir(parents=True, exist_ok=True)
        MNIST(str(folder), train=True, download=True)
        MNIST(str(folder), train=False, download=True)
    except Exception as e:  # torchvision raises several kinds when offline
        reason = (str(e).strip().splitlines() or [""])[0].rstrip(":")
        raise DataError(
            f"MNIST is not in {folder} and downloading it failed ({type(e).__name__}: {reason}); {HOW_TO_SUPPLY}"
        ) from None
    found = _find(folder)
    if found is None:
        raise DataError(f"MNIST download into {folder} left files missing; {HOW_TO_SUPPLY}")
    for path in found.values():
        if path.name in MD5 and _md5(path) != MD5[path.name]:
            raise DataError(f"{path}: MD5 does not match the published checksum; delete it and try again")
    return found


def files(data_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """The paths of the four MNIST files, following the lookup order in this module's docstring."""
    if data_dir is not None or os.environ.get("SDAE_DATA_DIR"):
        folder = Path(data_dir if data_dir is not None else os.environ["SDAE_DATA_DIR"]).expanduser()
        origin = "`data_dir`" if data_dir is not None else "SDAE_DATA_DIR"
        if not folder.exists():
            raise DataError(f"MNIST folder {folder} (from {origin}) does not exist")
        if not folder.is_dir():
            raise DataError(f"MNIST folder {folder} (from {origin}) is a file, not a folder")
        found = _find(folder)
        if found is None:
            missing = [name for name in FILES.values() if _find_file(folder, name) is None]
            raise DataError(
                f"MNIST folder {folder} (from {origin}) lacks {', '.join(missing)} (looked for .gz and uncompressed)"
            )
        return found
    folder = default_dir()
    return _find(folder) or _download(folder)


def load(data_dir: str | os.PathLike | None = None, limit: int | None = None) -> Dataset:
    found = files(data_dir)
    train, train_labels = read_pair(found["train_images"], found["train_labels"])
    test, test_labels = read_pair(found["test_images"], found["test_labels"])
    if limit is not None:
        train, train_labels = train[:limit], train_labels[:limit]
    return Dataset(
        name="mnist",
        train=torch.from_numpy(train.reshape(len(train), -1).copy()),
        train_labels=torch.from_numpy(train_labels.astype(np.int64)),
        test=torch.from_numpy(test.reshape(len(test), -1).copy()),
        test_labels=torch.from_numpy(test_labels.astype(np.int64)),
        scaling=Scaling(0.0, 1.0 / 255.0, "bytes"),
        image_shape=(28, 28),
        source=str(found["train_images"].parent.resolve()),
    )
