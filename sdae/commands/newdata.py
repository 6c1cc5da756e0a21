"""New data for a trained network, as the user has it: the network (a run's, or one shipped with sdae), and the
examples, read and checked against what the network was trained on (for `sdae.commands.apply`).

The network is a run folder's, or one shipped with sdae (`sdae.shipped.NAMES`, e.g. "mnist") named in its
place where no path of that name exists. The inputs are:

- an `.npz` file: its `x`, else `x_test`, else `x_train` (the first found), with the labels beside it (`y`,
  `y_test`, `y_train`) where there are some;
- a `.npy` file, or a folder of `.npy` shards: memory-mapped, read a batch at a time;
- a folder of images, flat or one subfolder per class (`sdae.data.folders`), or one image file.

They are checked against what the network was trained on: the number of features (and, for images, their size
where the network records one), and the values under the training data's scaling (`check_against`: far outside
[0, 1] refused, a little outside warned about).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import numpy as np

from sdae.commands.inspection import _reconstructing_weights
from sdae.data import folders
from sdae.data.arrays import FLOAT32_MAX, _check_dtype, _read, _read_magic, check_against, check_labels
from sdae.data.dataset import Scaling
from sdae.data.mapped import MappedRows, map_npy, open_rows
from sdae.device import resolve_device
from sdae.errors import DataError, RunFolderError, SDAEWarning, UsageError
from sdae.loading import load_model
from sdae.model import StackedDenoisingAutoencoder
from sdae.runfolder import PRETRAINED, WEIGHTS, RunFolder

Progress = Callable[[str, int, int], None]
ARRAY_KEYS = (("x", "y"), ("x_test", "y_test"), ("x_train", "y_train"))  # an .npz file's examples, first found


@dataclass
class Network:
    """A trained network ready for new data: its latest weights (codes), the scaling of its training data, the
    image shape it knows (or None), how messages name it and its data, its run folder (None: a shipped network)."""

    model: StackedDenoisingAutoencoder
    scaling: Scaling
    image_shape: tuple[int, int] | None
    name: str
    folder: RunFolder | None
    data: str = "the run's training data"  # how messages name its training data

    def reconstructing(self) -> tuple[StackedDenoisingAutoencoder, str, str | None]:
        """The network whose reconstructions mean something, its weights' file and why, if not the latest: after
        supervised fine-tuning the decoder was not trained with the encoder, so a run reconstructs with its
        pretrained weights (as `sdae evaluate` does). A shipped network is fine-tuned end to end (denoising)."""
        if self.folder is None:
            return self.model, WEIGHTS, None
        which = _reconstructing_weights(self.folder)
        if which == WEIGHTS:
            return self.model, WEIGHTS, None
        device = self.model.input_scale.device
        return (
            load_model(self.folder, PRETRAINED).to(device),
            PRETRAINED,
            "reconstructions by the pretrained weights: supervised fine-tuning trained the encoder and the "
            "classifier, not the decoder",
        )


def shipped(run: str | os.PathLike) -> bool:
    """Whether `run` names a network shipped with sdae (and no path of that name exists)."""
    return not os.path.exists(run) and str(run) in import_module("sdae.shipped").NAMES


def open_network(run: str | os.PathLike, device: str | None = None) -> Network:
    """A run folder's network (its latest weights), or a shipped one named in its place (when no path `run`
    exists), on `device` (default: the run's own; "auto" for a shipped one)."""
    if not os.path.exists(run):
        module = import_module("sdae.shipped")
        if str(run) not in module.NAMES:
            raise RunFolderError(
                f"run folder {run} does not exist, nor is it a network shipped with sdae ({', '.join(module.NAMES)})"
            )
        card = module.card(str(run))
        model = module.pretrained(str(run)).to(resolve_device(device or "auto"))
        s = card["network"]["scaling"]
        shape = card.get("data", {}).get("image_shape") or _square(model.sizes[0])  # cards record no shape yet
        return Network(
            model,
            Scaling(_numbers(s["offset"]), _numbers(s["scale"]), s.get("rule", "given")),
            None if shape is None else tuple(shape),
            f"the shipped network {str(run)!r}",
            None,
            f"{run}'s training data",
        )
    folder = RunFolder.open(run, writes=False)
    facts = folder.facts
    model = load_model(folder).to(resolve_device(device or folder.config.device))
    return Network(
        model, Scaling(facts.offset, facts.scale, facts.rule), facts.image_shape, f"the run {folder.path}", folder
    )


def _numbers(v):
    return tuple(float(x) for x in v) if isinstance(v, list) else float(v)


def _square(d: int) -> tuple[int, int] | None:
    side = int(round(d**0.5))
    return (side, side) if side * side == d else None


@dataclass
class Inputs:
    """New examples as the user has them: `rows` (an (N, D) or (N, H, W) array, in memory or mapped, or shards),
    where they came from, and for images their files (relative names), labels and class names."""

    rows: np.ndarray | MappedRows
    where: str
    files: tuple[str, ...] | None = None
    labels: np.ndarray | None = None
    classes: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def example_shape(self) -> tuple[int, ...]:
        return self.rows.shape[1:] if isinstance(self.rows, np.ndarray) else (self.rows.shape[1],)

    def chunks(self, size: int) -> Iterator[np.ndarray]:
        """The examples in order, `size` at a time, each (n, D)."""
        if isinstance(self.rows, MappedRows):
            yield from self.rows.chunks(size)
            return
        for start in range(0, len(self.rows), size):
            chunk = np.asarray(self.rows[start : start + size])
            yield chunk.reshape(len(chunk), -1)


def image_folder(path: str | os.PathLike) -> folders.ImageFolder | None:
    """The images `path` names (a folder of images, or one image file), or None for arrays."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"`input` {path} does not exist")
    if path.is_dir():
        return folders.scan(path) if not path.name.endswith(".npy") and folders.holds_images(path) else None
    if path.suffix.lower() in folders.image_suffixes():
        return folders.ImageFolder(path.parent, (path.name,))
    return None


def read_inputs(
    path: str | os.PathLike, on_progress: Progress | None = None, images: folders.ImageFolder | None = None
) -> Inputs:
    """The examples at `path` (see the module); `images`: `image_folder(path)`, if already found."""
    path = Path(path)
    images = images or image_folder(path)
    if images is not None:
        tell = None if on_progress is None else (lambda done, total: on_progress("reading", done, total))
        rows = folders.read(images, on_image=tell)
        labels = None if images.labels is None else np.asarray(images.labels, dtype=np.int64)
        return Inputs(rows, str(path), images.files, labels, images.classes)
    if path.is_dir():
        return Inputs(open_rows(path), str(path))
    if path.suffix == ".npy":
        _read_magic(path)
        return Inputs(map_npy(path), str(path))
    if path.suffix != ".npz":
        raise UsageError(
            f"`input` {path}: give an .npz or .npy file, a folder of .npy shards, or images (a folder, "
            f"or a file: {', '.join(folders.SUFFIXES[:4])}, ...)"
        )
    arrays = _read(path)
    found = next(((x, y) for x, y in ARRAY_KEYS if x in arrays), None)
    if found is None:
        raise DataError(f"{path}: no array named x, x_test or x_train; found {', '.join(arrays) or 'none'}")
    key, label = found
    x, y = arrays[key], arrays.get(label)
    if x.ndim in (2, 3) and len(x) and y is not None:
        y = check_labels(y, len(x), f"{path}[{label}]")
    return Inputs(x, f"{path}[{key}]", labels=y)


def check_inputs(inputs: Inputs, network: Network, batch_size: int = 4096) -> tuple[np.ndarray, ...]:
    """Refuse inputs the network cannot take (DataError): not numbers, not (N, D) or (N, H, W), another number of
    features, images of another size, NaN, or values far outside its training data's scaling; warn about values a
    little outside. Returns each feature's minimum, maximum and standard deviation (in the inputs' own units)."""
    where, rows = inputs.where, inputs.rows
    _check_dtype(rows.dtype, where)
    if isinstance(rows, np.ndarray) and (rows.ndim not in (2, 3) or len(rows) == 0):
        raise DataError(
            f"{where}: expected (examples, features) or (examples, height, width) with at least one "
            f"example, got shape {rows.shape}"
        )
    d, shape = network.model.sizes[0], inputs.example_shape
    known = network.image_shape
    if int(np.prod(shape)) != d:
        size = f" ({known[1]}x{known[0]} images)" if known else ""
        raise DataError(
            f"{where}: {int(np.prod(shape))} features per example (shape {tuple(shape)}); {network.name} "
            f"takes {d}{size}: these are not data of the kind it was trained on"
        )
    if inputs.files is not None and known is not None and tuple(shape) != tuple(known):
        raise DataError(
            f"{where}: images of {shape[1]}x{shape[0]} pixels (width x height); {network.name} was "
            f"trained on {known[1]}x{known[0]}"
        )
    low: np.ndarray | None = None
    high: np.ndarray  # set with `low`, by the first chunk
    total = squares = 0.0
    for chunk in inputs.chunks(batch_size):
        if np.issubdtype(chunk.dtype, np.floating) and not np.isfinite(chunk).all():
            raise DataError(f"{where}: some values are NaN or infinite")
        chunk_low, chunk_high = chunk.min(axis=0), chunk.max(axis=0)
        if low is None:
            low, high = chunk_low, chunk_high
        else:
            low, high = np.minimum(low, chunk_low), np.maximum(high, chunk_high)
        total = total + chunk.sum(axis=0, dtype=np.float64)
        squares = squares + np.square(chunk, dtype=np.float64).sum(axis=0)
    assert low is not None, "no examples"  # the readers refuse inputs without
    largest = max(abs(float(low.min())), abs(float(high.max())))
    if largest > FLOAT32_MAX:
        raise DataError(f"{where}: values reach {largest:.3g}, beyond float32's range; rescale the data")
    scaling = network.scaling
    if scaling.rule != "none":  # "none": the values as they were, no range to hold them to
        check_against(np.stack([low, high]), scaling, where, network.data)
    if scaling.rule == "bytes" and rows.dtype != np.uint8 and 0.0 < float(high.max()) <= 1.0:
        warnings.warn(
            f"{where}: values from {float(low.min()):g} to {float(high.max()):g}, but {network.name} was "
            "trained on bytes 0..255 (divided by 255): if these were scaled to [0, 1], multiply them by 255",
            SDAEWarning,
            stacklevel=2,
        )
    mean = total / len(inputs)
    std = np.sqrt(np.maximum(squares / len(inputs) - mean * mean, 0.0))
    return low, high, std
