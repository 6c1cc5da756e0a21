"""Examples larger than memory: `.npy` files memory-mapped, and folders of `.npy` shards read as one.

A `MappedRows` never reads its files whole: NumPy maps them (`mmap_mode="r"`), and `take(rows)`
gathers the rows one batch needs, in their stored type (uint8 stays uint8 until the batch is
scaled). The operating system keeps what fits in its page cache, which is not the process's own
(anonymous) memory, and drops it under pressure. Every scan sdae makes of such data (the
fingerprint a run records, the checks of float data) goes through it in `CHUNK_ROWS` pieces.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from sdae.errors import DataError

CHUNK_ROWS = 16384


class MappedRows:
    """Rows of one or more memory-mapped (n_i, D) arrays of one dtype, addressed as one (sum n_i, D) array."""

    def __init__(self, parts: list[np.ndarray]):
        self.parts = parts
        self.ends = np.cumsum([len(p) for p in parts])
        self.starts = self.ends - [len(p) for p in parts]
        self.shape = (int(self.ends[-1]), int(np.prod(parts[0].shape[1:])))
        self.dtype = parts[0].dtype

    def __len__(self) -> int:
        return self.shape[0]

    def take(self, rows: np.ndarray) -> np.ndarray:
        """These rows (int64 positions), gathered into one (len(rows), D) array."""
        if len(self.parts) == 1:
            return np.asarray(self.parts[0][rows]).reshape(len(rows), -1)
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        part = np.searchsorted(self.ends, rows, side="right")
        for k in np.unique(part):
            mine = part == k
            out[mine] = self.parts[k][rows[mine] - self.starts[k]].reshape(int(mine.sum()), -1)
        return out

    def chunks(self, rows: int = CHUNK_ROWS) -> Iterator[np.ndarray]:
        for part in self.parts:
            for start in range(0, len(part), rows):
                yield np.asarray(part[start : start + rows]).reshape(-1, self.shape[1])

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] * self.dtype.itemsize

    @property
    def torch_dtype(self) -> torch.dtype:
        return torch.from_numpy(np.empty(0, self.dtype)).dtype


def map_npy(path: Path) -> np.ndarray:
    """A .npy file mapped read-only; pickled (object) arrays are refused, never unpickled."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e).lower() or "object" in str(e).lower():
            raise DataError(
                f"{path}: holds pickled (object) data, which sdae never loads; save plain numeric arrays"
            ) from None
        raise DataError(f"{path}: damaged or truncated .npy file ({e})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot map ({e.strerror or e})") from None
    return array


def open_rows(path: str | os.PathLike) -> MappedRows:
    """A .npy file, or a folder of .npy shards (in name order) with the same dtype and features per example."""
    path = Path(path)
    files = sorted(path.glob("*.npy")) if path.is_dir() else [path]
    if not files:
        raise DataError(f"dataset folder {path} holds no .npy shards")
    parts = [map_npy(f) for f in files]
    first = parts[0]
    for f, part in zip(files, parts):
        if part.ndim not in (2, 3) or len(part) == 0:
            raise DataError(f"{f}: expected (examples, features) or (examples, height, width), got shape {part.shape}")
        if part.dtype != first.dtype or part.shape[1:] != first.shape[1:]:
            raise DataError(
                f"{f}: shape {part.shape} {part.dtype} does not match the first shard {files[0].name}'s "
                f"{first.shape} {first.dtype}; every shard needs the same dtype and example shape"
            )
    return MappedRows(parts)


def gather(
    rows: MappedRows, index: torch.Tensor | slice, order: torch.Tensor | None, device: torch.device
) -> torch.Tensor:
    """The stored rows at `index` (positions in `order`, if given), as a tensor on `device`: gathered on the
    CPU, then, for CUDA, copied from pinned memory without blocking the host."""
    if isinstance(index, slice):
        n = len(order) if order is not None else len(rows)
        positions = torch.arange(n)[index]
    else:
        positions = index.cpu()
    if order is not None:
        positions = order[positions]
    batch = torch.from_numpy(rows.take(positions.numpy()))
    if device.type == "cuda":
        return batch.pin_memory().to(device, non_blocking=True)
    return batch
