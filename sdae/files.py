"""Files that are safe to write and to read: atomic writes, loads that never run code, a folder lock.

- Every write goes to a temporary file in the same folder, is flushed to disk, then renamed over
  the old file: a reader sees the old file or the new one, never half of one. A write that fails
  (full disk, no permission, a name too long) raises `WriteError`, and the old file is intact.
- Weights load with `torch.load(weights_only=True)`: a pickled payload is refused, never run.
- JSON is read with a size bound and refused when nested absurdly deep.
- `FolderLock`: an exclusive `flock` on a file in a folder, held by whichever process writes into
  it. The kernel releases it when the holder dies, so a lock left by a dead process is taken
  over, and the holder it names is reported. Where `fcntl` does not exist (Windows) there is no lock.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import torch

from sdae.errors import RunFolderError, RunLockedError, SDAEWarning, WriteError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]  # the module or None, the usual optional import (mypy types the module)

MAX_JSON_BYTES = 64 << 20


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def _reason(e: OSError) -> str:
    return e.strerror or str(e) or type(e).__name__


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file in the same folder, flush it to disk, then rename it over `path`."""
    path = Path(path)
    existed = path.exists()
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
        os.fchmod(fd, _FILE_MODE)  # mkstemp makes 0600; give the file the permissions a plain open() would
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        kept = f"the previous {path.name} is intact" if existed else "nothing was written"
        raise WriteError(f"cannot write {path}: {_reason(e)}; {kept}") from None
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, value) -> None:
    atomic_write_text(path, json.dumps(value, indent=2) + "\n")


def atomic_torch_save(obj, path: str | os.PathLike) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def safe_torch_load(path: str | os.PathLike):
    """Load tensors and plain containers only (`weights_only=True`): a pickled payload is refused, never run."""
    path = Path(path)
    if not path.is_file():
        raise RunFolderError(f"{path} is missing")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "unsupported content"
        raise RunFolderError(f"{path}: refused to load, it holds more than plain tensors ({first})") from None
    except PermissionError as e:
        raise RunFolderError(f"{path}: cannot read ({_reason(e)})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, RecursionError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RunFolderError(f"{path}: corrupt or truncated ({first})") from None


def load_safetensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors file (a format that holds tensors and nothing that could run)."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    if not path.is_file():
        raise RunFolderError(f"{path} is missing")
    try:
        return load(path.read_bytes())
    except OSError as e:
        raise RunFolderError(f"{path}: cannot read ({_reason(e)})") from None
    except (SafetensorError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RunFolderError(f"{path}: corrupt or truncated ({first})") from None


def read_text(path: str | os.PathLike, max_bytes: int = MAX_JSON_BYTES) -> str:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise RunFolderError(f"{path} is missing") from None
    except OSError as e:
        raise RunFolderError(f"{path}: cannot read ({_reason(e)})") from None
    if len(data) > max_bytes:
        raise RunFolderError(f"{path}: larger than {max_bytes >> 20} MiB, far more than sdae writes; not read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RunFolderError(f"{path}: not UTF-8 text ({e.reason})") from None


def parse_json(text: str, where: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise RunFolderError(f"{where}: not valid JSON ({e})") from None
    except RecursionError:
        raise RunFolderError(f"{where}: nested too deeply to be anything sdae wrote") from None


def read_json(path: str | os.PathLike) -> dict:
    value = parse_json(read_text(path), str(path))
    if not isinstance(value, dict):
        raise RunFolderError(f"{path}: expected a JSON object")
    return value


class FolderLock:
    """An exclusive lock on a folder (see the module docstring); a context manager."""

    NAME = ".sdae.lock"

    def __init__(self, folder: str | os.PathLike, purpose: str):
        self.path = Path(folder) / self.NAME
        self.purpose = purpose
        self.fd: int | None = None

    def acquire(self) -> FolderLock:
        if fcntl is None or self.fd is not None:
            return self
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, _FILE_MODE)
        except OSError as e:
            raise WriteError(f"cannot lock {self.path.parent}: {_reason(e)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise RunLockedError(
                f"{self.path.parent} is in use by {holder}; wait until it finishes, or stop it"
            ) from None
        try:
            previous = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            if previous:  # released locks are emptied: this one's holder died without releasing it
                warnings.warn(
                    SDAEWarning(
                        f"{self.path.parent}: took over the lock left by {previous}, which is no longer running"
                    ),
                    stacklevel=2,
                )
                for stale in self.path.parent.glob(".*.tmp"):  # its half-written files (atomic writes' temporaries)
                    stale.unlink(missing_ok=True)
            stamp = f"process {os.getpid()} ({self.purpose}, since {time.strftime('%Y-%m-%d %H:%M:%S')})"
            os.ftruncate(fd, 0)
            os.pwrite(fd, stamp.encode(), 0)
        except OSError:
            pass  # the stamp only names the holder for others' messages; the flock is what locks
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)
        except OSError:
            pass  # a read-only or full disk: the lock itself still goes with the descriptor
        os.close(self.fd)  # closing the descriptor releases the flock
        self.fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
