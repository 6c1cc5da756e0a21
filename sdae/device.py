"""Where tensors live and how a network is run there: the device, mixed precision, and the wrappers
(`torch.compile`, DistributedDataParallel) put around a network before it trains."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import torch
from torch import nn

from sdae.errors import UsageError


def resolve_device(name: str | torch.device) -> torch.device:
    """`auto` takes the GPU where there is one; `cuda` without one is an error (UsageError)."""
    name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise UsageError(f"`device` must be auto, cpu or cuda, got {name!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"`device` {name}: no CUDA GPU is available here; use cpu or auto")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UsageError(f"`device` {name!r} is not a device name; use auto, cpu, cuda or cuda:N") from None


def autocast(device: torch.device):
    """bf16 autocast on CUDA; a no-op elsewhere."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


@contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """`module` in eval mode for the block, then back in the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def wrapped(
    network: nn.Module,
    device: torch.device,
    distributed: bool = False,
    compiled: bool = False,
    unused_parameters: bool = False,
) -> nn.Module:
    """`network` as it trains: in DistributedDataParallel when several processes train it (which first copies
    rank 0's weights to every rank and averages the gradients), then through `torch.compile` (mode
    "reduce-overhead": CUDA graphs on a GPU, where a network this small spends most of a step launching
    kernels; the CPU gains little). Unchanged when neither applies."""
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        # The buffers (the input scaling) never change: copied once at the start, not before every step.
        accepted = inspect.signature(DistributedDataParallel).parameters
        buffers: dict[str, Any] = (
            {"forward_sync_buffers": False} if "forward_sync_buffers" in accepted else {"broadcast_buffers": False}
        )
        network = DistributedDataParallel(
            network,
            device_ids=[device] if device.type == "cuda" else None,
            find_unused_parameters=unused_parameters,
            **buffers,
        )
    if compiled:
        # torch's stubs type the result as the callable given; given a module, it is a module (OptimizedModule)
        network = cast(nn.Module, torch.compile(network, mode="reduce-overhead"))
    return network


def training_bytes(sizes: list[int]) -> int:
    """About the memory training takes for the weights: encoder and decoder, each with its gradient
    and two Adam moments (4 float32 copies)."""
    weights = sum((a + 1) * b + (b + 1) * a for a, b in zip(sizes, sizes[1:]))
    return 4 * 4 * weights


def available_bytes(device: torch.device | str = "cpu") -> int | None:
    """Memory free for tensors on the device (the machine's physical memory for the CPU), or None if unknown."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[1]
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(sizes: list[int], device: torch.device | str = "cpu") -> None:
    """Refuse a network whose weights (with gradients and optimizer state) cannot fit in memory."""
    need, have = training_bytes(sizes), available_bytes(device)
    if have is not None and need > have:
        raise UsageError(
            f"a {'-'.join(map(str, sizes))} network needs about {need / 2**30:.3g} GiB for its weights, "
            f"gradients and optimizer state, more than the {have / 2**30:.3g} GiB of memory here; "
            "choose smaller `hidden` sizes"
        )
