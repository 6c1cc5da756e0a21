"""What every dataset becomes: stored examples, their labels, and the scaling that maps them to [0, 1].

A `Dataset` holds training (and, where there is one, test) examples as one (N, D) tensor, uint8
where the data is bytes, with labels beside them, and the affine `Scaling` that maps the stored
values to [0, 1]. Conversion to float happens per batch (`Examples.batch`), so the whole dataset
can live on the device at a quarter of the float32 size.

Data larger than memory (`.npy` files and folders of shards) stays in its files: the examples are
`MappedRows` (see `sdae.data.mapped`) and every batch is gathered from the map. On a CUDA device
such data is copied to the device once when it fits in half the device's free memory, and
streamed batch by batch (through pinned memory) when it does not; on the CPU it is always read
through the map.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import cast, overload

import numpy as np
import torch

from sdae.data.mapped import MappedRows, gather
from sdae.errors import DataError

DEVICE_SHARE = 0.5  # mapped data is copied to a CUDA device when it needs at most this share of its free memory


@dataclass(frozen=True)
class Scaling:
    """x01 = (stored - offset) * scale maps stored values to [0, 1]; `invert` maps back.

    `offset` and `scale` are floats (one rule for every feature) or tuples of floats, one per feature
    (`per_feature`). `rule` says how they were chosen (see `fit_scaling`): "bytes" (uint8 data, / 255),
    "unit" (values already in [0, 1], kept), "min-max" (the training values' minimum and maximum),
    "feature" (each feature's own minimum and maximum), or "given" (set by a loader or the user).
    """

    offset: float | tuple[float, ...] = 0.0
    scale: float | tuple[float, ...] = 1.0
    rule: str = "given"
    _tensors: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @property
    def per_feature(self) -> bool:
        return isinstance(self.offset, tuple)

    def _on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if device not in self._tensors:  # copied to a device once, not per batch
            self._tensors[device] = (
                torch.tensor(self.offset, dtype=torch.float32, device=device),
                torch.tensor(self.scale, dtype=torch.float32, device=device),
            )
        return self._tensors[device]

    def apply(self, values: torch.Tensor) -> torch.Tensor:
        """Stored values (..., features) as float32 in the network's units."""
        x = values.float()
        if self.per_feature:
            offset, scale = self._on(x.device)
            return (x - offset) * scale
        shift, factor = cast(float, self.offset), cast(float, self.scale)  # one rule for every feature: floats
        if shift:
            x = x - shift
        return x * factor if factor != 1.0 else x

    def invert(self, x01: torch.Tensor) -> torch.Tensor:
        """Values in the network's units (..., features) back in the data's own units (float32)."""
        x = x01.float()
        if self.per_feature:
            offset, scale = self._on(x.device)
            return x / scale + offset
        return x / cast(float, self.scale) + cast(float, self.offset)  # one rule for every feature: floats


def fit_scaling(low: np.ndarray, high: np.ndarray, is_bytes: bool, rule: str = "global", where: str = "") -> Scaling:
    """The scaling of training data whose features range from `low` to `high` ((features,) arrays).

    `rule="global"`: uint8 data is divided by 255 ("bytes"), data already within [0, 1] is kept ("unit"),
    anything else is min-max scaled with the minimum and maximum over all its values ("min-max").
    `rule="feature"`: each feature min-max scaled with its own minimum and maximum ("feature"; a constant
    feature maps to 0). `rule="none"`: the values as they are ("none"; for real-valued data and an affine
    output). The same rule serves the command line, `load_dataset` and the estimators.
    Raises DataError when every value is the same (nothing to learn).
    """
    lo, hi = float(np.min(low)), float(np.max(high))
    if rule == "none":
        return Scaling(0.0, 1.0, "none")
    if is_bytes and rule != "feature":
        return Scaling(0.0, 1.0 / 255.0, "bytes")
    if hi == lo:
        raise DataError(f"{where + ': ' if where else ''}all values are {lo}: nothing to learn")
    if rule == "feature":
        span = np.asarray(high, dtype=np.float64) - np.asarray(low, dtype=np.float64)
        scale = np.where(span > 0, 1.0 / np.where(span > 0, span, 1.0), 1.0)
        return Scaling(tuple(float(v) for v in low), tuple(float(v) for v in scale), "feature")
    if lo >= 0.0 and hi <= 1.0:
        return Scaling(0.0, 1.0, "unit")
    return Scaling(lo, 1.0 / (hi - lo), "min-max")


def column_range(chunks: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's minimum and maximum over row chunks ((rows, features) arrays): two (features,) arrays."""
    low: np.ndarray | None = None
    high: np.ndarray  # set with `low`, by the first chunk
    for chunk in chunks:
        chunk_low, chunk_high = chunk.min(axis=0), chunk.max(axis=0)
        if low is None:
            low, high = chunk_low, chunk_high
        else:
            low, high = np.minimum(low, chunk_low), np.maximum(high, chunk_high)
    assert low is not None, "no rows"  # every loader refuses data without examples
    return low, high


SQUEEZED = 0.01  # a feature whose values span less than this share of [0, 1] after scaling is squeezed


def squeezed_features(low: np.ndarray, high: np.ndarray, scaling: Scaling) -> int:
    """How many features end within `SQUEEZED` of [0, 1] under `scaling` (their own range scaled)."""
    if scaling.per_feature:
        return 0
    span = (np.asarray(high, dtype=np.float64) - np.asarray(low, dtype=np.float64)) * scaling.scale
    return int((span < SQUEEZED).sum())


@dataclass
class Dataset:
    """Training (and optional test) examples, flattened to (N, D), as stored (uint8 or float32)."""

    name: str
    train: torch.Tensor | MappedRows
    train_labels: torch.Tensor | None
    test: torch.Tensor | MappedRows | None
    test_labels: torch.Tensor | None
    scaling: Scaling
    image_shape: tuple[int, int] | None
    source: str | None = None  # the folder or file it was read from
    val_count: int | None = None  # the last val_count training examples are a published validation split
    classes: tuple[str, ...] | None = None  # the names of labels 0..K-1, where the data names them (image folders)

    @property
    def input_dim(self) -> int:
        return int(self.train.shape[1])

    def examples(self, split: str = "train", device: torch.device | str = "cpu") -> Examples:
        values = self.train if split == "train" else self.test
        if values is None:
            raise DataError(f"dataset {self.name!r} has no {split} split")
        device = torch.device(device)
        if isinstance(values, MappedRows):
            if device.type == "cuda" and values.nbytes <= DEVICE_SHARE * torch.cuda.mem_get_info(device)[0]:
                return Examples(_to_device(values, device), self.scaling)
            return Examples(values, self.scaling, device=device)
        return Examples(values.to(device), self.scaling)

    def fingerprint(self) -> str:
        """A digest of the training examples as stored (shape, type and every value): a run records it,
        and later commands refuse data that no longer matches. Mapped data is read in chunks."""
        train = self.train
        if not isinstance(train, MappedRows):
            digest = hashlib.sha256(f"{tuple(train.shape)} {train.dtype}".encode())
            digest.update(train.contiguous().numpy().tobytes())
            return digest.hexdigest()[:32]
        stored = np.uint8 if train.dtype == np.uint8 else np.float32  # what an in-memory copy would hold
        digest = hashlib.sha256(f"{train.shape} {torch.from_numpy(np.empty(0, stored)).dtype}".encode())
        for chunk in train.chunks():
            digest.update(np.ascontiguousarray(chunk, dtype=stored).tobytes())
        return digest.hexdigest()[:32]


def _to_device(rows: MappedRows, device: torch.device) -> torch.Tensor:
    """Mapped rows copied onto a device a chunk at a time (never whole in host memory)."""
    out = torch.empty(rows.shape, dtype=rows.torch_dtype, device=device)
    start = 0
    for chunk in rows.chunks():
        out[start : start + len(chunk)] = torch.from_numpy(np.ascontiguousarray(chunk)).to(device)
        start += len(chunk)
    return out


class Examples:
    """A dataset split on a device; `batch(index)` gives float32 rows scaled to [0, 1].

    `values` is a tensor resident on the device, or `MappedRows` read per batch (`streamed`), of
    which these examples are the rows at `order` (all of them if None), delivered to `device`.
    """

    def __init__(
        self,
        values: torch.Tensor | MappedRows,
        scaling: Scaling = Scaling(),
        order: torch.Tensor | None = None,
        device: torch.device | str = "cpu",
    ):
        self.values = values
        self.scaling = scaling
        self.order = order
        self._device = torch.device(device)

    @property
    def streamed(self) -> bool:
        return isinstance(self.values, MappedRows)

    def __len__(self) -> int:
        return len(self.order) if self.order is not None else len(self.values)

    @property
    def features(self) -> int:
        return int(self.values.shape[1])

    @property
    def device(self) -> torch.device:
        values = self.values
        return self._device if isinstance(values, MappedRows) else values.device  # isinstance: as `streamed`

    def batch(self, index: torch.Tensor | slice) -> torch.Tensor:
        values = self.values
        if isinstance(values, MappedRows):  # `streamed`
            return self.scaling.apply(gather(values, index, self.order, self._device))
        return self.scaling.apply(values[index] if self.order is None else values[self.order[index]])

    def batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        """The examples in order, `batch_size` at a time (the last batch shorter), each as `batch` gives it."""
        return (self.batch(slice(start, start + batch_size)) for start in range(0, len(self), batch_size))

    def subset(self, index: torch.Tensor) -> Examples:
        values = self.values
        if isinstance(values, MappedRows):  # `streamed`
            index = index.cpu()
            return Examples(values, self.scaling, index if self.order is None else self.order[index], self._device)
        # rows of the same tensor, gathered per batch: a split holds no copy of the data
        return Examples(values, self.scaling, index if self.order is None else self.order[index])


@overload
def as_examples(data: None, name: str, unit_range: bool = False) -> None: ...
@overload
def as_examples(data: Examples | torch.Tensor | np.ndarray, name: str, unit_range: bool = False) -> Examples: ...
def as_examples(data, name: str, unit_range: bool = False) -> Examples | None:
    """`Examples` as they are, or a 2-D tensor or NumPy array of examples (float, used as given).

    `unit_range=True` (the data is reconstructed through a Sigmoid) refuses values outside [0, 1] with
    DataError, naming two remedies that work: scale the data into [0, 1], or train a network with an affine output.
    """
    import numpy as np

    if data is None or isinstance(data, Examples):
        return data
    if isinstance(data, np.ndarray):
        if not np.issubdtype(data.dtype, np.number) or np.issubdtype(data.dtype, np.complexfloating):
            raise DataError(f"`{name}`: dtype {data.dtype} is not a real number type")
        data = torch.from_numpy(np.ascontiguousarray(data))
    if not isinstance(data, torch.Tensor):
        raise DataError(f"`{name}` must be Examples, a tensor or a NumPy array, got {type(data).__name__}")
    if data.dim() != 2 or data.shape[0] == 0:
        raise DataError(
            f"`{name}` must be (examples, features) with at least one example, got shape {tuple(data.shape)}"
        )
    values = data.float()
    if not torch.isfinite(values).all():
        raise DataError(f"`{name}` holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if unit_range and (low < 0 or high > 1):
        raise DataError(
            f"`{name}` has values from {low:g} to {high:g}, but a Sigmoid output reconstructs values in "
            "[0, 1]; scale them into [0, 1] (x - min) / (max - min), or build the network with "
            "`output`='affine' (squared error, for real-valued data)"
        )
    return Examples(values)


def split_indices(n: int, val_fraction: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A random train/validation split of n examples; the validation part has round(n * fraction) of them."""
    n_val = min(n - 1, round(n * val_fraction)) if val_fraction > 0 else 0
    order = torch.randperm(n, generator=generator)
    return order[n_val:].sort().values, order[:n_val].sort().values
