"""How a training command joins the other processes of a data-parallel run (if torchrun started several) and
holds its run folder: rank 0 opens it for writing, the others read it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

from sdae import distributed
from sdae.distributed import World
from sdae.loop import Hooks
from sdae.progress import ProgressBars
from sdae.runfolder import RunFolder


def start(device: str, seed: int, hooks: Hooks | None, verbose: bool) -> tuple[World, torch.device, Hooks | None]:
    """Join the other processes, if torchrun started several; the caller's hooks (and progress bars if `verbose`)
    on rank 0, none on the other ranks."""
    world, device_ = distributed.start(device, seed)
    if not world.leader:
        return world, device_, None
    return world, device_, ProgressBars().hooks(hooks) if verbose else hooks


@contextmanager
def session(path: str | os.PathLike, world: World, lead: Callable[[], tuple[RunFolder, object]]) -> Iterator[tuple]:
    """Rank 0 runs `lead` (which opens or creates the run folder, locked, and returns it with what every process
    needs); the others open the folder to read only. Yields (folder, what `lead` shared); lets the lock go after."""
    folder, shared = distributed.from_leader(lead, world)
    folder = folder or RunFolder.open(path, writes=False)
    try:
        yield folder, shared
    finally:
        folder.release()


def as_written(folder: RunFolder, path: str | os.PathLike) -> RunFolder:
    """The run folder once rank 0 has written it. Leaving the process group together (a barrier) is what makes
    the other ranks wait for rank 0's last writes."""
    distributed.stop()
    return folder if folder.writes else RunFolder.open(path)
