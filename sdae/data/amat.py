"""The 2007 benchmark problems' original files (Larochelle et al. 2007): zipped `.amat` text, read and checked.

An `.amat` file holds one example a line: the image's 784 pixel values in [0, 1], then the class
label, separated by spaces (two problems store their images transposed: `TRANSPOSED`). Each problem was published as
one zip holding a training file (training then validation examples) and a test file
(`ORIGINALS`). Where they are looked for, in order: `data_dir` if given, else `$SDAE_DATA_DIR`, and
the cache folder (`sdae.data.benchmark_store.cache_dir()/original`); the zip or the two `.amat`
files themselves are taken. A missing zip is downloaded into the cache folder when the machine is
online (`download`), and its SHA-256 recorded in `checksums.json` beside it, so a later, different
download or copy there is refused. Reading never executes anything from a file: numbers only.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import time
import urllib.request
import zipfile
import zlib
from pathlib import Path
from types import MappingProxyType

import numpy as np

from sdae.errors import DataError
from sdae.files import atomic_write_bytes, atomic_write_json, read_json

BASE_URL = "http://www.iro.umontreal.ca/~lisa/icml2007data/"
# problem -> (zip, training file, test file), as published
ORIGINALS = MappingProxyType(
    {
        "mnist-basic": ("mnist.zip", "mnist_train.amat", "mnist_test.amat"),
        "mnist-rot": (
            "mnist_rotation_new.zip",
            "mnist_all_rotation_normalized_float_train_valid.amat",
            "mnist_all_rotation_normalized_float_test.amat",
        ),
        "mnist-bg-rand": (
            "mnist_background_random.zip",
            "mnist_background_random_train.amat",
            "mnist_background_random_test.amat",
        ),
        "mnist-bg-img": (
            "mnist_background_images.zip",
            "mnist_background_images_train.amat",
            "mnist_background_images_test.amat",
        ),
        "mnist-rot-bg-img": (
            "mnist_rotation_back_image_new.zip",
            "mnist_all_background_images_rotation_normalized_train_valid.amat",
            "mnist_all_background_images_rotation_normalized_test.amat",
        ),
        "rectangles": ("rectangles.zip", "rectangles_train.amat", "rectangles_test.amat"),
        "rectangles-image": ("rectangles_images.zip", "rectangles_im_train.amat", "rectangles_im_test.amat"),
        "convex": ("convex.zip", "convex_train.amat", "convex_test.amat"),
    }
)
PIXELS = 784
# stored column by column ("saved sideways", as skdata's loader notes; gdikov/vae-playground agrees): read transposed
TRANSPOSED = frozenset({"mnist-bg-img", "mnist-bg-rand"})
RETRY_AFTER = 24 * 3600  # seconds before a failed download is tried again
TIMEOUT = 10  # seconds to wait for the server


def read_amat(text: bytes | str, where: str, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """An `.amat` file's contents as (examples, 784) float32 pixels and (examples,) int64 labels.

    Raises DataError naming `where` and the line for a line with another number of values, a value
    that is not a number, a pixel outside [0, 1] or a label that is not a class 0..classes-1."""
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    try:
        rows = np.loadtxt(io.StringIO(text), dtype=np.float64, ndmin=2)
    except ValueError as e:  # numpy says where: a wrong number of values, or a value that is not a number
        reason = (str(e).strip().splitlines() or ["values that are not numbers"])[-1].split(";")[0].rstrip(".")
        raise DataError(f"{where}: {reason}; the file is damaged or not a 2007 benchmark file") from None
    if rows.size == 0:
        raise DataError(f"{where}: holds no examples")
    if rows.shape[1] != PIXELS + 1:
        raise DataError(
            f"{where}: {rows.shape[1]} values a line, expected {PIXELS} pixels and a label; "
            "the file is damaged or not a 2007 benchmark file"
        )
    pixels, labels = rows[:, :PIXELS], rows[:, PIXELS]
    bad = ~np.isfinite(pixels) | (pixels < 0) | (pixels > 1)
    if bad.any():
        line = int(np.argwhere(bad)[0][0]) + 1
        raise DataError(f"{where}, line {line}: a pixel value outside [0, 1]")
    wrong = (labels != np.round(labels)) | (labels < 0) | (labels >= classes)
    if wrong.any():
        line = int(np.argmax(wrong)) + 1
        raise DataError(f"{where}, line {line}: label {labels[line - 1]:g} is not a class 0..{classes - 1}")
    return pixels.astype(np.float32), labels.astype(np.int64)


def folders(data_dir: str | os.PathLike | None, cache: Path) -> list[Path]:
    """Where the original files are looked for, in order."""
    given = data_dir if data_dir is not None else os.environ.get("SDAE_DATA_DIR")
    return ([Path(given).expanduser()] if given else []) + [cache]


def _members(folder: Path, name: str) -> tuple[bytes, bytes, str] | None:
    zip_name, train_name, test_name = ORIGINALS[name]
    if (folder / train_name).is_file() and (folder / test_name).is_file():
        return (folder / train_name).read_bytes(), (folder / test_name).read_bytes(), str(folder)
    path = folder / zip_name
    if not path.is_file():
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            by_name = {Path(info.filename).name: info for info in archive.infolist() if not info.is_dir()}
            missing = [n for n in (train_name, test_name) if n not in by_name]
            if missing:
                raise DataError(f"{path}: holds no {missing[0]}; is it the problem's published zip?")
            return archive.read(by_name[train_name]), archive.read(by_name[test_name]), str(path)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read the zip ({e}); delete it and supply a fresh copy") from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_recorded(path: Path, data: bytes, record: bool = False) -> None:
    """Refuse a zip whose SHA-256 differs from the one recorded in `checksums.json` beside it when sdae downloaded
    it; `record`: a fresh download's, written there if none is."""
    manifest = path.parent / "checksums.json"
    recorded = read_json(manifest) if manifest.exists() else {}
    digest = _sha256(data)
    if recorded.get(path.name) not in (None, digest):
        raise DataError(
            f"{path}: SHA-256 {digest[:12]}... differs from the {recorded[path.name][:12]}... recorded in {manifest} "
            f"when sdae downloaded it; to accept this copy, delete the {path.name} entry from {manifest.name}"
        )
    if record and path.name not in recorded:
        atomic_write_json(manifest, {**recorded, path.name: digest})


def download(name: str, cache: Path) -> bool:
    """Download the problem's zip into `cache` (True), or give up quietly offline (False; not tried again for a
    day, `RETRY_AFTER`, so an offline machine does not wait at every use). A download whose checksum differs from
    an earlier download's is refused (DataError)."""
    zip_name = ORIGINALS[name][0]
    failed = cache / f"{zip_name}.unreachable"
    if failed.exists() and time.time() - failed.stat().st_mtime < RETRY_AFTER:
        return False
    try:
        with urllib.request.urlopen(BASE_URL + zip_name, timeout=TIMEOUT) as response:  # noqa: S310 (a fixed http URL)
            data = response.read()
        if zipfile.ZipFile(io.BytesIO(data)).testzip() is not None:
            raise zipfile.BadZipFile("a member fails its CRC check")
    except (OSError, http.client.HTTPException, zipfile.BadZipFile, zlib.error, ValueError):
        cache.mkdir(parents=True, exist_ok=True)
        failed.touch()
        return False
    cache.mkdir(parents=True, exist_ok=True)
    check_recorded(cache / zip_name, data, record=True)
    atomic_write_bytes(cache / zip_name, data)
    failed.unlink(missing_ok=True)
    return True


def find(name: str, data_dir, cache: Path, online: bool = True) -> tuple[bytes, bytes, str] | None:
    """The problem's training and test files' contents and where they came from, or None where they are nowhere
    and cannot be downloaded (`online=False`: not tried)."""
    downloaded = cache / ORIGINALS[name][0]
    for folder in folders(data_dir, cache):
        found = _members(folder, name)
        if found is not None:
            if found[2] == str(downloaded):
                check_recorded(downloaded, downloaded.read_bytes())
            return found
    if online and download(name, cache):
        return _members(cache, name)
    return None
