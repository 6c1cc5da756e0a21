"""The 2007 benchmark problems as datasets: generated once from a seed into the data cache, checked on reuse.

`load(name, scale)` gives a `Dataset` whose training part is the published training and validation
examples (validation last, as in the original files: `Dataset.val_count` says how many) and whose
test part is the published test set. Images are stored as uint8 (value x 255, rounded), like MNIST.

The first use generates the problem (`sdae.data.variants`, seed 0; a few seconds to four minutes)
and writes `<name>-scale<scale>-seed<seed>-recipe<RECIPE>.npz` with a JSON manifest holding the
SHA-256 of its arrays into `$SDAE_CACHE_DIR`, else `$XDG_CACHE_HOME/sdae/benchmarks`, else
`~/.cache/sdae/benchmarks`. Later uses read the file and refuse it if its checksum differs.

The original files (`sdae.data.amat`) take the generator's place wherever they are found or can be
downloaded (`$SDAE_OFFLINE=1`: never tried); the dataset's `source` ends with ORIGINAL or GENERATED.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from sdae.data import amat, mnist, variants
from sdae.data.dataset import Dataset, Scaling
from sdae.errors import DataError, SDAEWarning, UsageError
from sdae.files import atomic_write_bytes, atomic_write_json, read_json
from sdae.options import SCALE

SEED = 0


def cache_dir() -> Path:
    if os.environ.get("SDAE_CACHE_DIR"):
        return Path(os.environ["SDAE_CACHE_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "sdae" / "benchmarks"


def check_scale(scale) -> float:
    """`scale` as a float; raises UsageError unless it is a fraction of the published sizes in (0, 1]."""
    return SCALE("scale", scale)


def all_mnist(data_dir: str | os.PathLike | None) -> tuple[np.ndarray, np.ndarray]:
    """All 70,000 MNIST digits (training file, then test file) and their labels."""
    found = mnist.files(data_dir)
    train, train_labels = mnist.read_pair(found["train_images"], found["train_labels"])
    test, test_labels = mnist.read_pair(found["test_images"], found["test_labels"])
    return np.concatenate([train, test]), np.concatenate([train_labels, test_labels])


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key])
        digest.update(f"{key} {value.shape} {value.dtype}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _generate(name: str, scale: float, data_dir) -> dict[str, np.ndarray]:
    problem = variants.generate(
        name, seed=SEED, scale=scale, mnist=all_mnist(data_dir) if name.startswith("mnist") else None
    )
    to_bytes = lambda x: np.rint(x * 255).astype(np.uint8)  # noqa: E731
    return {
        "x_train": to_bytes(np.concatenate([problem.x["train"], problem.x["valid"]])),
        "y_train": np.concatenate([problem.y["train"], problem.y["valid"]]).astype(np.int64),
        "x_test": to_bytes(problem.x["test"]),
        "y_test": problem.y["test"].astype(np.int64),
        "val_count": np.array(len(problem.y["valid"]), dtype=np.int64),
    }


def _read(path: Path, manifest_path: Path) -> dict[str, np.ndarray]:
    manifest = read_json(manifest_path)
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(
            f"{path}: cannot read the cached benchmark ({e}); delete it and it will be generated again"
        ) from None
    if _digest(arrays) != manifest.get("sha256"):
        raise DataError(
            f"{path}: its arrays do not match the checksum in {manifest_path.name}; "
            "delete both and it will be generated again"
        )
    return arrays


def cached_arrays(name: str, scale: float = 1.0, data_dir=None) -> tuple[dict[str, np.ndarray], Path]:
    """The problem's arrays from the cache, generated and written there first if missing."""
    if name not in variants.NAMES:
        raise UsageError(f"unknown benchmark {name!r}; choose from {', '.join(variants.NAMES)}")
    scale = check_scale(scale)
    folder = cache_dir()
    stem = f"{name}-scale{scale:g}-seed{SEED}-recipe{variants.RECIPE}"
    path, manifest_path = folder / f"{stem}.npz", folder / f"{stem}.json"
    if path.exists() and manifest_path.exists():
        return _read(path, manifest_path), path
    arrays = _generate(name, scale, data_dir)
    buffer = io.BytesIO()
    np.savez(buffer, **cast("dict[str, Any]", arrays))  # Any: numpy's stub would match **arrays with allow_pickle
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    atomic_write_json(
        manifest_path,
        {"name": name, "scale": scale, "seed": SEED, "recipe": variants.RECIPE, "sha256": _digest(arrays)},
    )
    return arrays, path


ORIGINAL = " (the original files)"
GENERATED = " (sdae's generated stand-in: the original files were not found)"


def origin(source: str | None) -> str:
    """ "original" (read from the published files) or "generated" (sdae's stand-in), from a problem's `source` as a
    dataset gives it and a run records it (runs recorded before the original files were read: generated)."""
    return "original" if (source or "").endswith(ORIGINAL) else "generated"


def original_arrays(name: str, scale: float, data_dir) -> tuple[dict[str, np.ndarray], str] | None:
    """The problem from its original files, the first `scale` of each published split, or None where there are none."""
    offline = os.environ.get("SDAE_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")
    found = amat.find(name, data_dir, cache_dir() / "original", online=not offline)
    if found is None:
        return None
    train_text, test_text, where = found
    classes = 2 if name.startswith(("rectangles", "convex")) else 10
    x, y = amat.read_amat(train_text, f"{where}: {amat.ORIGINALS[name][1]}", classes)
    x_test, y_test = amat.read_amat(test_text, f"{where}: {amat.ORIGINALS[name][2]}", classes)
    if name in amat.TRANSPOSED:
        x, x_test = (v.reshape(-1, 28, 28).transpose(0, 2, 1).reshape(len(v), -1) for v in (x, x_test))
    n_train, n_valid, n_test = variants.SPLITS.get(name, variants.SPLITS["default"])
    if (len(x), len(x_test)) != (n_train + n_valid, n_test):
        warnings.warn(
            SDAEWarning(
                f"{where}: {len(x)} training and {len(x_test)} test examples, where the published files hold "
                f"{n_train + n_valid} and {n_test}; using them as they are, the last {n_valid / (n_train + n_valid):.0%} "
                "of the training file for validation"
            ),
            stacklevel=4,
        )
    val_count = max(1, round(len(x) * n_valid / (n_train + n_valid)))  # the published split's share, last
    keep_train, keep_val, keep_test = (max(1, round(n * scale)) for n in (len(x) - val_count, val_count, len(x_test)))
    cut = len(x) - val_count
    rows = np.r_[np.arange(keep_train), np.arange(cut, cut + keep_val)]
    arrays = {
        "x_train": x[rows],
        "y_train": y[rows],
        "x_test": x_test[:keep_test],
        "y_test": y_test[:keep_test],
        "val_count": np.array(keep_val, dtype=np.int64),
    }
    return arrays, where + ORIGINAL


def load(name: str, scale: float = 1.0, data_dir=None, limit: int | None = None, origin: str = "auto") -> Dataset:
    """The benchmark problem as a Dataset; `limit` keeps the first examples of the training part
    (the published validation examples are always kept whole). `origin`: "auto" (the original files where they
    are found or can be downloaded, else the generated stand-in), "original" or "generated" (that one only: a
    run reopens the data it was trained on). Raises DataError for a damaged original file, or for "original"
    where there are none."""
    scale = check_scale(scale)
    if origin not in ("auto", "original", "generated"):
        raise UsageError(f"origin must be auto, original or generated, got {origin!r}")
    original = original_arrays(name, scale, data_dir) if origin != "generated" else None
    if original is None and origin == "original":
        raise DataError(
            f"{name} was used from its original files ({amat.ORIGINALS[name][0]}), which are not found now; put the "
            f"zip in `data_dir` (or SDAE_DATA_DIR, or {cache_dir() / 'original'})"
        )
    if original is not None:
        arrays, source = original
    else:
        arrays, path = cached_arrays(name, scale, data_dir)
        source = f"{path}{GENERATED}"
    val_count = int(arrays["val_count"])
    x, y = arrays["x_train"], arrays["y_train"]
    if limit is not None and limit < len(x) - val_count:
        keep = np.r_[np.arange(limit), np.arange(len(x) - val_count, len(x))]
        x, y = x[keep], y[keep]
    return Dataset(
        name=name,
        train=torch.from_numpy(np.ascontiguousarray(x)),
        train_labels=torch.from_numpy(y),
        test=torch.from_numpy(arrays["x_test"]),
        test_labels=torch.from_numpy(arrays["y_test"]),
        scaling=Scaling(0.0, 1.0 / 255.0, "bytes") if original is None else Scaling(0.0, 1.0, "unit"),
        image_shape=(variants.SIZE, variants.SIZE),
        source=source,
        val_count=val_count,
    )
