"""Datasets: MNIST's IDX files, scikit-learn's digits, natural image patches, and the user's .npy/.npz arrays.

Every dataset becomes a `Dataset`: training (and, where there is one, test) examples as one
(N, D) tensor, uint8 where the data is bytes, with labels beside them, and the affine `Scaling`
that maps the stored values to [0, 1]. Conversion to float happens per batch (`Examples.batch`),
so the whole dataset can live on the device at a quarter of the float32 size.

Where MNIST is looked for: `data_dir` if given, else `$SDAE_DATA_DIR`, else `~/.cache/sdae/mnist`
(`$XDG_CACHE_HOME/sdae/mnist`). Only the cache folder is ever written to: a missing copy there is
downloaded with torchvision, which checks the published MD5 sums. Files may be gzipped or not,
and may sit in the folder itself or in torchvision's `MNIST/raw/` layout below it.

User arrays (`.npz`): `x_train` (or `x`), optionally `y_train` (or `y`), `x_test`, `y_test`.
A `.npy` file holds training examples only. Examples are (N, D) or (N, H, W) images; uint8 data
is scaled by 1/255, data already in [0, 1] is kept, anything else is min-max scaled with the
training data's minimum and maximum (recorded in the run). Pickled (object) arrays are refused.
"""

from __future__ import annotations

import hashlib
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sdae import idx
from sdae.errors import DataError, UsageError

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# The MD5 sums torchvision checks on download (LeCun's published files, gzipped).
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


@dataclass(frozen=True)
class Scaling:
    """x01 = (stored - offset) * scale maps stored values to [0, 1]."""

    offset: float = 0.0
    scale: float = 1.0

    def apply(self, values: torch.Tensor) -> torch.Tensor:
        x = values.float()
        if self.offset:
            x = x - self.offset
        return x * self.scale if self.scale != 1.0 else x


@dataclass
class Dataset:
    """Training (and optional test) examples, flattened to (N, D), as stored (uint8 or float32)."""

    name: str
    train: torch.Tensor
    train_labels: torch.Tensor | None
    test: torch.Tensor | None
    test_labels: torch.Tensor | None
    scaling: Scaling
    image_shape: tuple[int, int] | None
    source: str | None = None  # the folder or file it was read from

    @property
    def input_dim(self) -> int:
        return int(self.train.shape[1])

    def examples(self, split: str = "train", device: torch.device | str = "cpu") -> Examples:
        values = self.train if split == "train" else self.test
        if values is None:
            raise DataError(f"dataset {self.name!r} has no {split} split")
        return Examples(values.to(device), self.scaling)


class Examples:
    """A dataset split resident on a device; `batch(index)` gives float32 rows scaled to [0, 1]."""

    def __init__(self, values: torch.Tensor, scaling: Scaling = Scaling()):
        self.values = values
        self.scaling = scaling

    def __len__(self) -> int:
        return self.values.shape[0]

    @property
    def device(self) -> torch.device:
        return self.values.device

    def batch(self, index: torch.Tensor | slice) -> torch.Tensor:
        return self.scaling.apply(self.values[index])

    def subset(self, index: torch.Tensor) -> Examples:
        return Examples(self.values[index], self.scaling)


# ----------------------------------------------------------------------------------------- MNIST


def default_mnist_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "sdae" / "mnist"


def _find_mnist_file(folder: Path, name: str) -> Path | None:
    for base in (folder, folder / "MNIST" / "raw"):
        for candidate in (base / f"{name}.gz", base / name):
            if candidate.is_file():
                return candidate
    return None


def _find_mnist(folder: Path) -> dict[str, Path] | None:
    found = {key: _find_mnist_file(folder, name) for key, name in MNIST_FILES.items()}
    if all(found.values()):
        return found  # type: ignore[return-value]
    return None


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_mnist(folder: Path) -> dict[str, Path]:
    """Download MNIST into the cache folder with torchvision and check the published MD5 sums."""
    how = (
        "put the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in a folder and pass --data-dir "
        "or set SDAE_DATA_DIR"
    )
    try:
        from torchvision.datasets import MNIST

        folder.mkdir(parents=True, exist_ok=True)
        MNIST(str(folder), train=True, download=True)
        MNIST(str(folder), train=False, download=True)
    except Exception as e:  # torchvision raises several kinds when offline
        reason = (str(e).strip().splitlines() or [""])[0].rstrip(":")
        raise DataError(f"MNIST is not in {folder} and downloading it failed ({type(e).__name__}: {reason}); {how}") from None
    found = _find_mnist(folder)
    if found is None:
        raise DataError(f"MNIST download into {folder} left files missing; {how}")
    for path in found.values():
        if path.name in MNIST_MD5 and _md5(path) != MNIST_MD5[path.name]:
            raise DataError(f"{path}: MD5 does not match the published checksum; delete it and try again")
    return found


def mnist_files(data_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """The paths of the four MNIST files, following the lookup order in this module's docstring."""
    if data_dir is not None or os.environ.get("SDAE_DATA_DIR"):
        folder = Path(data_dir if data_dir is not None else os.environ["SDAE_DATA_DIR"]).expanduser()
        origin = "--data-dir" if data_dir is not None else "SDAE_DATA_DIR"
        if not folder.is_dir():
            raise DataError(f"MNIST folder {folder} (from {origin}) does not exist")
        found = _find_mnist(folder)
        if found is None:
            missing = [name for name in MNIST_FILES.values() if _find_mnist_file(folder, name) is None]
            raise DataError(f"MNIST folder {folder} (from {origin}) lacks {', '.join(missing)} (looked for .gz and uncompressed)")
        return found
    folder = default_mnist_dir()
    return _find_mnist(folder) or _download_mnist(folder)


def load_mnist(data_dir: str | os.PathLike | None = None, limit: int | None = None) -> Dataset:
    files = mnist_files(data_dir)
    train, train_labels = idx.read_pair(files["train_images"], files["train_labels"])
    test, test_labels = idx.read_pair(files["test_images"], files["test_labels"])
    if limit is not None:
        train, train_labels = train[:limit], train_labels[:limit]
    return Dataset(
        name="mnist",
        train=torch.from_numpy(train.reshape(len(train), -1).copy()),
        train_labels=torch.from_numpy(train_labels.astype(np.int64)),
        test=torch.from_numpy(test.reshape(len(test), -1).copy()),
        test_labels=torch.from_numpy(test_labels.astype(np.int64)),
        scaling=Scaling(0.0, 1.0 / 255.0),
        image_shape=(28, 28),
        source=str(files["train_images"].parent.resolve()),
    )


# ---------------------------------------------------------------------------------------- digits


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
    )


# ----------------------------------------------------------------------------------- user arrays


def _check_examples(x: np.ndarray, where: str) -> np.ndarray:
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DataError(f"{where}: dtype {x.dtype} is not numeric")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{where}: complex values are not supported")
    if x.ndim not in (2, 3):
        raise DataError(f"{where}: expected (examples, features) or (examples, height, width), got shape {x.shape}")
    if x.shape[0] == 0 or x[0].size == 0:
        raise DataError(f"{where}: no examples (shape {x.shape})")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise DataError(f"{where}: {bad} values are NaN or infinite")
    return x


def _check_labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{where}: expected {n} labels (one per example), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise DataError(f"{where}: labels must be integers, got dtype {y.dtype}")
    return y.astype(np.int64)


def scaling_for(x: np.ndarray) -> Scaling:
    """uint8 data is scaled by 1/255; data already in [0, 1] is kept; anything else is min-max scaled."""
    if x.dtype == np.uint8:
        return Scaling(0.0, 1.0 / 255.0)
    low, high = float(x.min()), float(x.max())
    if low >= 0.0 and high <= 1.0:
        return Scaling(0.0, 1.0)
    if high == low:
        raise DataError(f"all values are {low}: nothing to learn")
    return Scaling(low, 1.0 / (high - low))


def _as_stored(x: np.ndarray) -> torch.Tensor:
    flat = x.reshape(len(x), -1)
    flat = flat if flat.dtype == np.uint8 else flat.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(flat))


def load_arrays(path: str | os.PathLike, limit: int | None = None) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"dataset file {path} does not exist")
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise DataError(f"{path}: cannot read as {path.suffix} without unpickling ({e}); save plain numeric arrays") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: not a readable {path.suffix} file ({e})") from None
    if path.suffix == ".npy":
        arrays = {"x_train": loaded}
    else:
        with loaded:
            try:
                arrays = {name: loaded[name] for name in loaded.files}
            except ValueError as e:
                raise DataError(f"{path}: an array needs unpickling ({e}); save plain numeric arrays") from None
            except Exception as e:  # zipfile and zlib errors of a damaged archive
                raise DataError(f"{path}: damaged .npz archive ({e})") from None
        if "x" in arrays and "x_train" not in arrays:
            arrays["x_train"], arrays["y_train"] = arrays.pop("x"), arrays.pop("y", None)
        if "x_train" not in arrays:
            raise DataError(f"{path}: no array named x_train (or x); found {', '.join(arrays) or 'none'}")
    x_train = _check_examples(arrays["x_train"], f"{path}[x_train]")
    y_train = arrays.get("y_train")
    y_train = None if y_train is None else _check_labels(y_train, len(x_train), f"{path}[y_train]")
    x_test, y_test = arrays.get("x_test"), arrays.get("y_test")
    if x_test is not None:
        x_test = _check_examples(x_test, f"{path}[x_test]")
        if x_test[0].size != x_train[0].size:
            raise DataError(f"{path}: x_test examples have {x_test[0].size} features, x_train's have {x_train[0].size}")
        y_test = None if y_test is None else _check_labels(y_test, len(x_test), f"{path}[y_test]")
    if limit is not None:
        x_train = x_train[:limit]
        y_train = None if y_train is None else y_train[:limit]
    try:
        scaling = scaling_for(x_train)
    except DataError as e:
        raise DataError(f"{path}[x_train]: {e}") from None
    if x_test is not None and (x_test.dtype == np.uint8) != (x_train.dtype == np.uint8):
        # one scaling serves both: bytes and other numbers would need different ones
        raise DataError(f"{path}: x_train is {x_train.dtype} but x_test is {x_test.dtype}; save both as uint8 or neither")
    image_shape = tuple(x_train.shape[1:]) if x_train.ndim == 3 else _square(x_train.shape[1])
    return Dataset(
        name=str(path),
        train=_as_stored(x_train),
        train_labels=None if y_train is None else torch.from_numpy(y_train),
        test=None if x_test is None else _as_stored(x_test),
        test_labels=None if y_test is None else torch.from_numpy(y_test),
        scaling=scaling,
        image_shape=image_shape,  # type: ignore[arg-type]
        source=str(path.resolve()),
    )


def _square(d: int) -> tuple[int, int] | None:
    side = math.isqrt(d)
    return (side, side) if side * side == d else None


# ----------------------------------------------------------------------------------------- entry


def load_dataset(spec: str, data_dir: str | os.PathLike | None = None, limit: int | None = None) -> Dataset:
    """Load a dataset by name (`mnist`, `digits`, `patches`) or from a `.npz`/`.npy` path."""
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be a positive number of examples, got {limit}")
    if spec == "mnist":
        return load_mnist(data_dir, limit)
    if spec == "digits":
        return load_digits(limit)
    if spec == "patches":
        from sdae.patches import load_patches

        return load_patches(limit)
    if spec.endswith((".npz", ".npy")):
        return load_arrays(spec, limit)
    raise UsageError(f"unknown dataset {spec!r}; use mnist, digits, patches, or a path ending in .npz or .npy")
