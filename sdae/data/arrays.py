"""The user's own arrays, from `.npz` or `.npy` files.

`.npz`: `x_train` (or `x`), optionally `y_train` (or `y`), `x_test`, `y_test`, read into memory.
A `.npy` file, or a folder of `.npy` shards, holds training examples only; it is memory-mapped and
never read whole (see `sdae.data.mapped`): use it for data larger than memory. Examples are (N, D) or
(N, H, W) images, scaled by the rule of `sdae.data.dataset.fit_scaling` (recorded in the run). Files are read with `allow_pickle=False`: a pickled
(object) array is refused and never unpickled.
"""

from __future__ import annotations

import math
import os
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch

from sdae.data.dataset import SQUEEZED, Dataset, Scaling, column_range, fit_scaling, squeezed_features
from sdae.data.mapped import MappedRows, open_rows
from sdae.errors import DataError, SDAEWarning

MAGIC = MappingProxyType({".npy": b"\x93NUMPY", ".npz": b"PK"})
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_dtype(dtype: np.dtype, where: str) -> None:
    if dtype.kind == "O" or not (np.issubdtype(dtype, np.number) or dtype.kind == "b"):
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
        raise DataError(
            f"{where}: values reach {float(np.abs(x).max()):.3g}, beyond float32's range "
            f"({FLOAT32_MAX:.3g}), which sdae trains in; rescale the data"
        )
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


def scaling_for(x: np.ndarray, rule: str = "global", where: str = "", is_bytes: bool | None = None) -> Scaling:
    """The scaling of training examples `x` ((N, D) or (N, H, W)) under `rule` (see `fit_scaling`); `is_bytes`
    says the values were uint8 before a conversion (default: x's own dtype). Warns (SDAEWarning) when the global
    min-max rule squeezes most features into a sliver of [0, 1]. Raises DataError when all values are equal."""
    low, high = column_range([x.reshape(len(x), -1)])
    scaling = fit_scaling(low, high, x.dtype == np.uint8 if is_bytes is None else is_bytes, rule, where)
    warn_if_squeezed(low, high, scaling, where)
    return scaling


def warn_if_squeezed(low: np.ndarray, high: np.ndarray, scaling: Scaling, where: str = "") -> None:
    squeezed = squeezed_features(low, high, scaling)
    if not scaling.per_feature and scaling.rule != "none":
        span = (float(np.max(high)) - float(np.min(low))) * float(scaling.scale)  # type: ignore[arg-type]
        if span < 0.1:
            warnings.warn(
                f"{where or 'the data'}: its values span only {span:.3g} of [0, 1] after scaling "
                f"({scaling.rule}); the network learns little from so little contrast: rescale them, e.g. "
                "`scaling`='feature'",
                SDAEWarning,
                stacklevel=3,
            )
            return
    if scaling.rule == "min-max" and len(low) > 1 and squeezed > len(low) / 2:
        warnings.warn(
            f"{where or 'the data'}: one minimum and maximum for all features leaves {squeezed} of "
            f"{len(low)} features within {SQUEEZED:.0%} of [0, 1]; scale each feature on its own with "
            "`scaling`='feature'",
            SDAEWarning,
            stacklevel=3,
        )


def check_against(x: np.ndarray, scaling: Scaling, where: str, reference: str, warn: bool = True) -> None:
    """Refuse examples `x` that the training data's scaling maps far outside [0, 1] (below -1 or above 2: e.g.
    test bytes 0..255 beside training values divided by 255); warn when they land a little outside
    (below -0.1 or above 1.1). Raises DataError naming both arrays and their ranges. Values kept as they are
    (rule "none": real-valued data, an affine output) have no range to be checked against."""
    if scaling.rule == "none":
        return
    flat = torch.from_numpy(np.ascontiguousarray(x.reshape(len(x), -1)))
    scaled = scaling.apply(flat)
    low, high = float(scaled.min()), float(scaled.max())
    if -0.1 <= low and high <= 1.1 or (not warn and -1.0 <= low and high <= 2.0):
        return
    raw = f"values from {float(x.min()):g} to {float(x.max()):g}"
    mapped = (
        f"{reference}'s scaling ({scaling.rule}) puts them at {low:.3g} to {high:.3g}, where the network knows [0, 1]"
    )
    if low < -1.0 or high > 2.0:
        raise DataError(
            f"{where}: {raw}; {mapped}: it was not scaled as {reference} was; scale both alike "
            "(e.g. both divided by 255, or neither)"
        )
    warnings.warn(f"{where}: {raw}; {mapped}", SDAEWarning, stacklevel=2)


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
            raise DataError(
                f"{path}: holds pickled (object) data, which sdae never loads; save plain numeric arrays"
            ) from None
        raise DataError(f"{path}: damaged or truncated {path.suffix} file ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as e:
        raise DataError(f"{path}: damaged or truncated {path.suffix} file ({e})") from None
    except Exception as e:  # zlib errors of a damaged archive
        raise DataError(f"{path}: damaged {path.suffix} file ({type(e).__name__}: {e})") from None


def _finite(rows: MappedRows, where: str) -> Iterator[np.ndarray]:
    """The rows' chunks, each checked for NaN and infinity."""
    for chunk in rows.chunks():
        if np.issubdtype(chunk.dtype, np.floating) and not np.isfinite(chunk).all():
            raise DataError(f"{where}: some values are NaN or infinite")
        yield chunk


def _check_mapped(rows: MappedRows, where: str, rule: str = "global") -> Scaling:
    """The checks of `check_examples` and `scaling_for`, a chunk at a time; returns the scaling."""
    _check_dtype(rows.dtype, where)
    if rows.shape[1] == 0:
        raise DataError(f"{where}: no features (shape {rows.shape})")
    if rows.dtype == np.uint8 and rule == "global":
        return Scaling(0.0, 1.0 / 255.0, "bytes")  # bytes need no pass over the data
    low, high = column_range(_finite(rows, where))
    largest = max(abs(float(low.min())), abs(float(high.max())))
    if largest > FLOAT32_MAX:
        raise DataError(f"{where}: values reach {largest:.3g}, beyond float32's range; rescale the data")
    scaling = fit_scaling(low, high, rows.dtype == np.uint8, rule, where)
    warn_if_squeezed(low, high, scaling, where)
    return scaling


def load_mapped(path: str | os.PathLike, limit: int | None = None, rule: str = "global") -> Dataset:
    """A .npy file or a folder of .npy shards, memory-mapped (training examples, no labels)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"dataset {path} does not exist")
    if path.is_file():
        _read_magic(path)
    rows = open_rows(path)
    scaling = _check_mapped(rows, str(path), rule)
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


def load(path: str | os.PathLike, limit: int | None = None, rule: str = "global") -> Dataset:
    """A `.npz` file (read whole) or a `.npy` file or folder of shards (memory-mapped), scaled by `rule`
    (`fit_scaling`); an `.npz` file's `x_test` is checked against `x_train`'s scaling (`check_against`)."""
    path = Path(path)
    if path.suffix == ".npy" or path.is_dir():
        return load_mapped(path, limit, rule)
    arrays = _read(path)
    if "x" in arrays and "x_train" not in arrays:
        x, y = arrays.pop("x"), arrays.pop("y", None)
        arrays["x_train"] = x
        if y is not None:
            arrays["y_train"] = y
        else:  # x's labels are y (or none), never a y_train beside it
            arrays.pop("y_train", None)
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
    scaling = scaling_for(x_train, rule, f"{path}[x_train]")
    if x_test is not None and (x_test.dtype == np.uint8) != (x_train.dtype == np.uint8):
        # one scaling serves both: bytes and other numbers would need different ones
        raise DataError(
            f"{path}: x_train is {x_train.dtype} but x_test is {x_test.dtype}; save both as uint8 or neither"
        )
    if x_test is not None:
        check_against(x_test, scaling, f"{path}[x_test]", "x_train")
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
