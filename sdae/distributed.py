"""Data-parallel training with torch.distributed, for runs started by `torchrun ... -m sdae ...`.

torchrun starts one process per device and tells each its place in the environment (RANK,
LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT); `start` reads it and joins the process group:
NCCL when the processes train on CUDA GPUs (rank r on its local GPU, LOCAL_RANK), gloo on CPUs.
Without torchrun (WORLD_SIZE unset or 1) everything here is a no-op and training is the
single-process code path, bit for bit.

The process's place is a `World`, returned by `start` and passed explicitly to whatever needs it.

What changes with N processes (see the manual, docs/distributed.md):
- the module being trained is wrapped in DistributedDataParallel, which averages the gradients;
- each epoch's order is one seeded permutation shared by all ranks (`shuffle_generator`); each
  global batch of `batch_size` examples is split between the ranks (rank r takes every N-th);
- each rank draws its noise from its own generator, seeded by (seed, rank) (`rank_seed`);
- training and validation losses are averaged over the ranks, weighted by their examples, so every
  rank sees the same numbers and takes the same decisions (early stopping, divergence);
- rank 0 alone writes the run folder; checkpoints hold every rank's generator state.
Collectives give up after `SDAE_DIST_TIMEOUT` seconds (default 300) instead of waiting forever.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import torch
from torch import distributed as dist

from sdae.device import resolve_device
from sdae.errors import SDAEError, SDAEWarning, UsageError

T = TypeVar("T")
DEFAULT_TIMEOUT_S = 300


class DistributedError(SDAEError):
    """Another process of a data-parallel run failed, or could not be reached."""


@dataclass(frozen=True)
class World:
    """This process's place among the processes of a run (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    seed: int = 0  # the run's seed: the shared shuffling and every rank's noise derive from it

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def leader(self) -> bool:
        return self.rank == 0


def launched() -> bool:
    """Started by torchrun (or anything that sets its environment) with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank_seed(seed: int, rank: int) -> int:
    """Rank 0 keeps the run's seed; rank r draws from its own stream."""
    return (seed + rank * 0x9E37_79B9) % 2**63


def shuffle_generator(world: World, device: torch.device, stage: str, pair: int | None, epoch: int) -> torch.Generator:
    """The same generator on every rank for this epoch of this stage: it draws the epoch's order."""
    tag = sum(ord(c) * 31**i for i, c in enumerate(stage)) + 1009 * (pair or 0) + 7919 * epoch
    return torch.Generator(device=device).manual_seed((world.seed * 1_000_003 + tag) % 2**63)


def start(device_name: str, seed: int) -> tuple[World, torch.device]:
    """Join the process group if torchrun started us; returns this process's place and device."""
    if not launched():
        return World(seed=seed), resolve_device(device_name)
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    _die_with_launcher()
    device = resolve_device(device_name)
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise UsageError(
                f"process {rank} has local rank {local_rank}, but this machine has "
                f"{torch.cuda.device_count()} GPU(s); start at most that many per machine"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        timeout = timedelta(seconds=float(os.environ.get("SDAE_DIST_TIMEOUT", DEFAULT_TIMEOUT_S)))
        dist.init_process_group(
            "nccl" if device.type == "cuda" else "gloo",
            timeout=timeout,
            device_id=device if device.type == "cuda" else None,
        )
        atexit.register(stop, together=False)
    if rank != 0:
        logging.getLogger("sdae").setLevel(logging.ERROR)  # one set of warnings, from rank 0
        warnings.filterwarnings("ignore", category=SDAEWarning)
    return World(rank, size, local_rank, seed), device


def _die_with_launcher() -> None:
    """Ask Linux to kill this process when its parent (torchrun's agent) dies: a launcher killed outright
    cannot stop its workers, which would otherwise train on, orphaned, holding the run folder's lock."""
    if not sys.platform.startswith("linux") or "TORCHELASTIC_RUN_ID" not in os.environ:
        return
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the launcher was gone before the request took effect
        os.kill(os.getpid(), signal.SIGKILL)


def stop(together: bool = True) -> None:
    """Leave the process group: at the end of a command, `together` (after a barrier: a group torn down
    while a peer still uses it can abort the process); at exit after an error, at once."""
    if dist.is_available() and dist.is_initialized():
        if together:
            _collective(dist.barrier)
        dist.destroy_process_group()


def shard(index: torch.Tensor, world: World) -> torch.Tensor:
    """This rank's part of a global batch (every size-th example, from its rank)."""
    return index[world.rank :: world.size] if world.distributed else index


def mean_over_ranks(value: float, count: int, world: World) -> float:
    """The mean of per-rank means `value`, each weighted by its `count` examples."""
    if not world.distributed:
        return value
    both = torch.tensor([value * count, float(count)], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        both = both.cuda()
    _collective(dist.all_reduce, both)
    return float(both[0] / both[1]) if both[1] > 0 else float("nan")


def gather_generator_states(generator: torch.Generator, world: World) -> list[torch.Tensor]:
    """Every rank's generator state, in rank order (a collective: every rank must call it)."""
    states: list = [None] * world.size
    _collective(dist.all_gather_object, states, generator.get_state())
    return states


def fresh_seed(seed: int, rank: int, epoch: int) -> int:
    """The seed of the stream a rank draws from after a resume that cannot continue its saved stream exactly."""
    return (rank_seed(seed, rank) + 104_729 * epoch) % 2**63


def generator_fits(generator: torch.Generator, state) -> bool:
    """Whether `generator` can take a saved generator `state`. A state has one size per kind of device (a CPU
    generator's is 5056 bytes, its Mersenne Twister; a CUDA one's 16: seed and offset) and cannot move to another."""
    return (
        isinstance(state, torch.Tensor)
        and state.dtype == torch.uint8
        and state.dim() == 1
        and state.numel() == generator.get_state().numel()
    )


def restore_generator(generator: torch.Generator, saved: list | None, epoch: int, world: World) -> bool:
    """After a resume: this rank's own saved state when the world size is the one saved and the state is one
    this rank's generator takes (the noise then continues exactly); otherwise a fresh stream from (seed, rank,
    epoch), with an SDAEWarning when the state was saved on another kind of device. True when exact."""
    if not world.distributed and not saved:
        return True
    if saved and len(saved) == world.size:
        if generator_fits(generator, saved[world.rank]):
            generator.set_state(saved[world.rank])
            return True
        warnings.warn(
            SDAEWarning(
                f"process {world.rank}'s saved random-generator state is not one a "
                f"{generator.device.type} generator takes (saved on another kind of device); it "
                f"draws from a fresh stream from the run's seed and epoch {epoch}, so this "
                "continuation is not bit-identical"
            ),
            stacklevel=2,
        )
    generator.manual_seed(fresh_seed(world.seed, world.rank, epoch))
    return False


def from_leader(make: Callable[[], tuple[T, object]], world: World) -> tuple[T | None, object]:
    """Rank 0 runs `make`, which returns (what rank 0 keeps, what every rank gets); the other ranks get
    (None, the second). If `make` fails there, every rank fails with its message instead of waiting
    for it forever. Single process: just `make()`."""
    if not world.distributed:
        return make()
    box: list = [None]
    kept = None
    if world.leader:
        try:
            kept, shared = make()
            box[0] = ("ok", shared)
        except BaseException as e:
            box[0] = ("error", f"{type(e).__name__}: {e}")
            _collective(dist.broadcast_object_list, box, src=0)
            raise
    _collective(dist.broadcast_object_list, box, src=0)
    status, value = box[0]
    if status == "error":
        raise DistributedError(f"process 0 stopped: {value}")
    return kept, value


def lost_contact(error: BaseException, world: World | None = None) -> DistributedError:
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    who = f"process {world.rank} of {world.size}" if world is not None else "this process"
    return DistributedError(
        f"{who} lost the others ({first[:300]}); the run folder keeps the last checkpoint process 0 wrote"
    )


def _collective(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except RuntimeError as e:  # torch.distributed's own errors derive from it
        raise lost_contact(e) from None
