"""The user's own arrays, from `.npz` or `.npy` files.

`.npz`: `x_train` (or `x`), optionally `y_train` (or `y`), `x_test`, `y_test`, read into memory.
A `.npy` file, or a folder of `.npy` shards, holds training examples only; it is memory-mapped and
never read whole (see `sdae.data.mapped`): use it for data larger than memory. Examples are (N, D) or (N, H, W) images; uint8 data is scaled by
1/255, data already in [0, 1] is kept, anything else is min-max scaled with the training data's
minimum and maximum (recorded in the run). Files are read with `allow_pickle=False`: a pickled
(object) array is refused and never unpickled.
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch

from sdae.data.dataset import Dataset, Scaling
from sdae.data.mapped import MappedRows, open_rows
from sdae.errors import DataError

MAGIC = MappingProxyType({".npy": b"\x93NUMPY", ".npz": b"PK"})
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_dtype(dtype: np.dtype, where: str) -> None:
    if dtype == object or not (np.issubdtype(dtype, np.number) or dtype == bool):
        raise DataError(f"{where}: dtype {dtype} is not numeric")
    if np.issubdtype(dtype, np.complexfloating):
        raise DataError(f"{where}: complex values are not supported")


def check_examples(x: np.ndarray, where: str) -> np.ndarray:
    _check_dtype(x.dtype, where)
    if x.ndim not in (2, 3):
        raise DataError(f"{where}: expected (examples, features) or (examples, height, width), got shape {x.shape}")
    if x.shape[0] == 0 or x[0].size == 0:
        raise DataError(f"{where}: no examples (shape {x.shape})")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise DataError(f"{where}: {int((~np.isfinite(x)).sum())} values are NaN or infinite")
    if x.dtype != np.uint8 and float(np.abs(x).max()) > FLOAT32_MAX:
        raise DataError(f"{where}: values reach {float(np.abs(x).max()):.3g}, beyond float32's range "
                        f"({FLOAT32_MAX:.3g}), which sdae trains in; rescale the data")
    return x


def check_labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{where}: expected {n} labels (one per example), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise DataError(f"{where}: labels must be integers, got dtype {y.dtype}")
        if len(y) and float(np.abs(y).max()) > 2**62:
            raise DataError(f"{where}: labels must be integers of a sensible size, got {float(np.abs(y).max()):.3g}")
    return y.astype(np.int64)


def scaling_for(x: np.ndarray) -> Scaling:
    """uint8 data is scaled by 1/255; data already in [0, 1] is kept; anything else is min-max scaled."""
    if x.dtype == np.uint8:
        return Scaling(0.0, 1.0 / 255.0)
    return _scaling_between(float(x.min()), float(x.max()))


def _scaling_between(low: float, high: float) -> Scaling:
    if low >= 0.0 and high <= 1.0:
        return Scaling(0.0, 1.0)
    if high == low:
        raise DataError(f"all values are {low}: nothing to learn")
    return Scaling(low, 1.0 / (high - low))


def _as_stored(x: np.ndarray) -> torch.Tensor:
    flat = x.reshape(len(x), -1)
    flat = flat if flat.dtype == np.uint8 else flat.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(flat))


def _read(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a .npz file, checked for what the file really is."""
    if not path.exists():
        raise DataError(f"dataset file {path} does not exist")
    if not path.is_file():
        raise DataError(f"dataset file {path} is a folder, not a {path.suffix} file")
    _read_magic(path)
    try:
        with np.load(path, allow_pickle=False) as loaded:
            return {name: loaded[name] for name in loaded.files}
    except ValueError as e:
        if "pickled" in str(e):
            raise DataError(f"{path}: holds pickled (object) data, which sdae never loads; save plain numeric arrays") from None
        raise DataError(f"{path}: damaged or truncated {path.suffix} file ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as e:
        raise DataError(f"{path}: damaged or truncated {path.suffix} file ({e})") from None
    except Exception as e:  # zlib errors of a damaged archive
        raise DataError(f"{path}: damaged {path.suffix} file ({type(e).__name__}: {e})") from None


def _check_mapped(rows: MappedRows, where: str) -> Scaling:
    """The checks of `check_examples` and `scaling_for`, a chunk at a time; returns the scaling."""
    _check_dtype(rows.dtype, where)
    if rows.shape[1] == 0:
        raise DataError(f"{where}: no features (shape {rows.shape})")
    if rows.dtype == np.uint8:
        return Scaling(0.0, 1.0 / 255.0)
    low, high = math.inf, -math.inf
    for chunk in rows.chunks():
        if np.issubdtype(chunk.dtype, np.floating) and not np.isfinite(chunk).all():
            raise DataError(f"{where}: some values are NaN or infinite")
        low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
    if max(abs(low), abs(high)) > FLOAT32_MAX:
        raise DataError(f"{where}: values reach {max(abs(low), abs(high)):.3g}, beyond float32's range; rescale the data")
    try:
        return _scaling_between(low, high)
    except DataError as e:
        raise DataError(f"{where}: {e}") from None


def load_mapped(path: str | os.PathLike, limit: int | None = None) -> Dataset:
    """A .npy file or a folder of .npy shards, memory-mapped (training examples, no labels)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"dataset {path} does not exist")
    if path.is_file():
        _read_magic(path)
    rows = open_rows(path)
    scaling = _check_mapped(rows, str(path))
    if limit is not None and limit < len(rows):
        rows = MappedRows(_first_rows(rows, limit))
    shape = rows.parts[0].shape[1:]
    return Dataset(
        name=str(path),
        train=rows,
        train_labels=None,
        test=None,
        test_labels=None,
        scaling=scaling,
        image_shape=tuple(shape) if len(shape) == 2 else _square(rows.shape[1]),  # type: ignore[arg-type]
        source=str(path.resolve()),
    )


def _first_rows(rows: MappedRows, limit: int) -> list[np.ndarray]:
    kept, left = [], limit
    for part in rows.parts:
        if left <= 0:
            break
        kept.append(part[:left])
        left -= len(kept[-1])
    return kept


def _read_magic(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(len(MAGIC[path.suffix]))
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if head != MAGIC[path.suffix]:
        raise DataError(f"{path}: not a {path.suffix} file (it does not begin as NumPy writes one)")


def load(path: str | os.PathLike, limit: int | None = None) -> Dataset:
    path = Path(path)
    if path.suffix == ".npy" or path.is_dir():
        return load_mapped(path, limit)
    arrays = _read(path)
    if "x" in arrays and "x_train" not in arrays:
        arrays["x_train"], arrays["y_train"] = arrays.pop("x"), arrays.pop("y", None)
    if "x_train" not in arrays:
        raise DataError(f"{path}: no array named x_train (or x); found {', '.join(arrays) or 'none'}")
    x_train = check_examples(arrays["x_train"], f"{path}[x_train]")
    y_train = arrays.get("y_train")
    y_train = None if y_train is None else check_labels(y_train, len(x_train), f"{path}[y_train]")
    x_test, y_test = arrays.get("x_test"), arrays.get("y_test")
    if x_test is not None:
        x_test = check_examples(x_test, f"{path}[x_test]")
        if x_test[0].size != x_train[0].size:
            raise DataError(f"{path}: x_test examples have {x_test[0].size} features, x_train's have {x_train[0].size}")
        y_test = None if y_test is None else check_labels(y_test, len(x_test), f"{path}[y_test]")
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
    return Dataset(
        name=str(path),
        train=_as_stored(x_train),
        train_labels=None if y_train is None else torch.from_numpy(y_train),
        test=None if x_test is None else _as_stored(x_test),
        test_labels=None if y_test is None else torch.from_numpy(y_test),
        scaling=scaling,
        image_shape=tuple(x_train.shape[1:]) if x_train.ndim == 3 else _square(x_train.shape[1]),  # type: ignore[arg-type]
        source=str(path.resolve()),
    )


def _square(d: int) -> tuple[int, int] | None:
    side = math.isqrt(d)
    return (side, side) if side * side == d else None
