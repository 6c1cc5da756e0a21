"""Replacing a run folder's own files as one step that cannot leave it half-deleted.

`set_aside` moves the files into a hidden folder inside the run (one rename each, all put back if
any fails); `restore` puts them back; `discard` deletes them once the new run is in place.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from pathlib import Path

from sdae.errors import SDAEWarning, WriteError


def set_aside(path: Path, names: tuple[str, ...]) -> Path:
    """Move the run's own files into a hidden folder inside it, all or none (each move is a rename)."""
    aside = path / f".sdae-replaced-{uuid.uuid4().hex[:8]}"
    moved: list[str] = []
    try:
        aside.mkdir()
        for name in names:
            if (path / name).exists() or (path / name).is_symlink():
                os.rename(path / name, aside / name)
                moved.append(name)
    except OSError as e:
        if aside.is_dir():
            restore(path, aside, moved)
        raise WriteError(f"cannot replace the run in {path}: {e.strerror or e}; the previous run is intact") from None
    return aside


def restore(path: Path, aside: Path, names: list[str] | None = None) -> None:
    for name in reversed(names if names is not None else [p.name for p in aside.iterdir()]):
        os.replace(aside / name, path / name)
    aside.rmdir()


def discard(aside: Path) -> None:
    """Delete the previous run's files (links are removed, never followed)."""
    try:
        for entry in aside.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        aside.rmdir()
    except OSError as e:
        warnings.warn(
            SDAEWarning(
                f"could not delete the replaced run's files in {aside} ({e.strerror or e}); delete that folder by hand"
            ),
            stacklevel=2,
        )
