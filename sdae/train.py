"""The training loop, shared by greedy pretraining, denoising fine-tuning and supervised fine-tuning.

Nothing here is specific to autoencoders. A `Stage` says what trains (a module's parameters), on
what (an objective: batch indices in, a scalar loss out, over n examples), how it is validated
and when it may stop early; `run_stage` trains it for the epochs of its `TrainOptions`, writes one
`EpochRecord` per epoch, and hands a `TrainingState` (everything needed to continue exactly) to
the `Hooks`. The data stays where the objective keeps it (on the device); a batch is an index
slice of one permutation per epoch, so there is no per-example Python and no DataLoader.
"""

from __future__ import annotations

import logging
import math
import time
from functools import partial
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from sdae import distributed
from sdae.errors import DivergenceError, UsageError
from sdae.records import EpochRecord, TrainingState

Objective = Callable[[torch.Tensor], torch.Tensor]
BatchCallback = Callable[[str, int, int, float], None]  # (what is training, batches done, batches in all, running mean loss)

OPTIMIZERS = ("adam", "sgd")
LOSSES = ("auto", "bce", "mse")
SCHEDULES = ("constant", "cosine")
STAGES = ("pretrain", "finetune", "supervised")
EXPLOSION = 100.0  # an epoch whose mean loss is this many times the stage's first batch loss has diverged
DEAD_WARNING = 0.10  # a layer with more dead units than this is reported once per stage
log = logging.getLogger("sdae")


def _whole(value, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UsageError(f"`{name}` must be a whole number >= {low}, got {value!r}")


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"`{name}` must be a finite number, got {value!r}")
    return float(value)


@dataclass
class TrainOptions:
    """How one stage trains. Defaults were chosen by the measurement described in README."""

    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 2e-3
    momentum: float = 0.9  # SGD only
    weight_decay: float = 0.0
    loss: str = "auto"  # auto: binary cross-entropy for [0, 1] targets behind a Sigmoid, else squared error
    schedule: str = "constant"  # or "cosine": the learning rate decays to 0 over the stage's epochs
    warmup: float = 5.0  # epochs over which the learning rate rises linearly from (almost) 0 to lr; see README "Dead units"
    compile: bool = False  # torch.compile the forward (and so backward) pass, mode "reduce-overhead": CUDA graphs on a GPU

    def validate(self) -> TrainOptions:
        _whole(self.epochs, "epochs", 0)
        if not _number(self.warmup, "warmup") >= 0:
            raise UsageError(f"`warmup` must be a number of epochs >= 0, got {self.warmup}")
        _whole(self.batch_size, "batch_size", 1)
        if not isinstance(self.compile, bool):
            raise UsageError(f"`compile` must be true or false, got {self.compile!r}")
        for name, choices in (("optimizer", OPTIMIZERS), ("loss", LOSSES), ("schedule", SCHEDULES)):
            if getattr(self, name) not in choices:
                raise UsageError(f"`{name}` must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        if not _number(self.lr, "lr") > 0:
            raise UsageError(f"`lr` must be a positive number, got {self.lr}")
        if not 0 <= _number(self.momentum, "momentum") < 1:
            raise UsageError(f"`momentum` must be in [0, 1), got {self.momentum}")
        if not _number(self.weight_decay, "weight_decay") >= 0:
            raise UsageError(f"`weight_decay` must be >= 0, got {self.weight_decay}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Hooks:
    """What a stage reports as it goes: its start (label, epochs in all, epochs already done), progress
    within an epoch, a record per epoch, its state per epoch."""

    on_batch: BatchCallback | None = None
    on_epoch: Callable[[EpochRecord], None] | None = None
    on_state: Callable[[TrainingState], None] | None = None
    on_stage: Callable[[str, int, int], None] | None = None

    def also(self, other: Hooks | None) -> Hooks:
        """These hooks, then `other`'s, for every report."""
        if other is None:
            return self

        def chain(first, then):
            if first is None or then is None:
                return first or then
            return lambda *args: (first(*args), then(*args))

        return Hooks(*(chain(getattr(self, f.name), getattr(other, f.name)) for f in fields(Hooks)))


@dataclass
class Stage:
    """One stage of training, as `run_stage` needs it.

    `validate(epoch)` gives the validation loss and, for classifiers, the validation error; `units()`
    the fraction of dead units per layer; `extra()` what the stage adds to its saved state;
    `stop(record)` ends the stage early when true.
    """

    name: str  # one of STAGES
    trained: nn.Module  # whose parameters the optimizer gets
    objective: Objective
    n: int  # examples per epoch
    loss: str
    pair: int | None = None
    validate: Callable[[int], tuple[float, float | None]] | None = None
    units: Callable[[], list[float]] | None = None
    extra: Callable[[], dict] | None = None
    stop: Callable[[EpochRecord], bool] | None = None


def make_optimizer(params: Iterable[nn.Parameter], options: TrainOptions) -> torch.optim.Optimizer:
    """Adam or SGD, fused (one kernel for all parameters: 2.5x faster Adam steps here) where torch has it."""
    params = list(params)
    if options.optimizer == "adam":
        cls, kwargs = torch.optim.Adam, {"lr": options.lr, "weight_decay": options.weight_decay}
    else:
        cls, kwargs = torch.optim.SGD, {"lr": options.lr, "momentum": options.momentum, "weight_decay": options.weight_decay}
    try:
        return cls(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # older torch, or a device without fused kernels
        return cls(params, **kwargs)


def learning_rate(options: TrainOptions, epoch: int, step: int | None = None, warmup_steps: int = 0) -> float:
    """The rate for a 1-based epoch: constant, or cosine decay from lr (epoch 1) towards 0 (after the last);
    during the first `warmup_steps` optimizer steps of a stage (0-based `step`), that rate times
    (step + 1) / warmup_steps."""
    lr = options.lr
    if options.schedule == "cosine":
        lr = options.lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / options.epochs))
    if step is not None and step < warmup_steps:
        lr *= (step + 1) / warmup_steps
    return lr


def autocast(device: torch.device):
    """bf16 autocast on CUDA; a no-op elsewhere."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def train_epoch(objective: Objective, optimizer: torch.optim.Optimizer, n: int, batch_size: int,
                generator: torch.Generator, on_batch: BatchCallback | None = None, label: str = "",
                rate: Callable[[int], float] | None = None, order_generator: torch.Generator | None = None,
                world: distributed.World = distributed.World()) -> tuple[float, float]:
    """One pass over n examples in a random order; returns (mean loss per batch, the first batch's loss).

    `rate(b)`, if given, is the learning rate for the epoch's batch b (0-based). The order is drawn
    from `order_generator` if given, else from `generator` (which the objective's noise also draws
    from). With several processes (`world`), each takes its share of every global batch.
    """
    device = generator.device
    order = torch.randperm(n, generator=order_generator or generator, device=device)
    batches = math.ceil(n / batch_size)
    if world.distributed and n - (batches - 1) * batch_size < world.size:
        batches -= 1  # a last batch too small to give every process an example is left out, by all
    total = torch.zeros((), device=device)
    first = torch.zeros((), device=device)
    report_every = max(1, batches // 50)
    mark_steps = getattr(objective, "mark_steps", False) and device.type == "cuda"
    for b in range(batches):
        index = distributed.shard(order[b * batch_size : (b + 1) * batch_size], world)
        if mark_steps:  # a new training step: CUDA graphs may reuse the previous step's outputs
            torch.compiler.cudagraph_mark_step_begin()
        with autocast(device):
            loss = objective(index)
        if rate is not None:
            for group in optimizer.param_groups:
                group["lr"] = rate(b)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach().float()
        if b == 0:
            first = loss.detach().float()
        if on_batch is not None and ((b + 1) % report_every == 0 or b + 1 == batches):
            on_batch(label, b + 1, batches, total.item() / (b + 1))
    return total.item() / batches, first.item()


@torch.no_grad()
def mean_loss(objective: Objective, n: int, batch_size: int, device: torch.device) -> float:
    """The mean loss over n examples, in order, without gradients (weighted by batch size)."""
    total = torch.zeros((), device=device, dtype=torch.float64)
    for start in range(0, n, batch_size):
        index = torch.arange(start, min(start + batch_size, n), device=device)
        with autocast(device):
            total += objective(index).double() * len(index)
    return total.item() / n


def run_stage(stage: Stage, model: nn.Module, options: TrainOptions, generator: torch.Generator,
              hooks: Hooks | None = None, resume: TrainingState | None = None) -> list[EpochRecord]:
    """Train `stage` for epochs (resumed epoch + 1) .. options.epochs; `model` is what a saved state holds.

    After each epoch: its `EpochRecord` goes to `hooks.on_epoch`, then (only if someone listens, as
    it copies the weights) its `TrainingState` to `hooks.on_state`. Raises DivergenceError, before
    reporting the epoch, as soon as its loss is not finite or is `EXPLOSION` times the stage's
    first batch loss: whatever `on_state` saved last is the last good state.
    """
    options.validate()
    hooks = hooks or Hooks()
    world = distributed.current()
    optimizer = make_optimizer(stage.trained.parameters(), options)
    start, reference = 0, None
    if resume is not None:
        start = resume.restore(model, optimizer, generator)
        reference = resume.extra.get("first_batch_loss")
        distributed.restore_generator(generator, resume.extra.get("rank_generators"), start, world)
    if world.distributed:
        _distribute(stage, generator.device)
    if options.compile:
        _compile(stage)
    label = stage.name if stage.pair is None else f"{stage.name} pair {stage.pair}/{getattr(model, 'depth', '?')}"
    records: list[EpochRecord] = []
    warned: set[int] = set()
    if hooks.on_stage:
        hooks.on_stage(label, options.epochs, start)
    model.train()
    batches = math.ceil(stage.n / options.batch_size)
    warmup_steps = round(options.warmup * batches)
    for epoch in range(start + 1, options.epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(options, epoch)
        first_step = (epoch - 1) * batches
        rate = None if first_step >= warmup_steps else partial(_warm_rate, options, epoch, first_step, warmup_steps)
        started = time.perf_counter()
        order = distributed.shuffle_generator(world, generator.device, stage.name, stage.pair, epoch) \
            if world.distributed else None
        try:
            train_loss, first = train_epoch(stage.objective, optimizer, stage.n, options.batch_size, generator,
                                            hooks.on_batch, f"{label} epoch {epoch}/{options.epochs}", rate, order, world)
        except RuntimeError as e:
            if world.distributed:
                raise distributed.lost_contact(e) from None
            raise
        train_loss = distributed.mean_over_ranks(train_loss, 1, world)
        first = distributed.mean_over_ranks(first, 1, world)
        reference = first if reference is None else reference
        val_loss, val_error = stage.validate(epoch) if stage.validate is not None else (None, None)
        _check_divergence(train_loss, val_loss, reference, epoch, options, saved=start + len(records) > 0)
        dead = [round(f, 4) for f in stage.units()] if stage.units is not None else None
        record = EpochRecord(stage.name, stage.pair, epoch, train_loss, val_loss, stage.loss,
                             round(time.perf_counter() - started, 4), val_error, dead, optimizer.param_groups[0]["lr"])
        records.append(record)
        _warn_dead(label, record, warned)
        if hooks.on_epoch:
            hooks.on_epoch(record)
        generators = distributed.gather_generator_states(generator, world) if world.distributed else None
        if hooks.on_state:
            extra = {"first_batch_loss": reference, **(stage.extra() if stage.extra else {})}
            if generators is not None:
                extra["rank_generators"] = generators
            hooks.on_state(TrainingState.capture(stage.name, stage.pair, epoch, model, optimizer, generator, extra))
        if stage.stop is not None and stage.stop(record):
            break
    return records


def _distribute(stage: Stage, device: torch.device) -> None:
    """Route the objective's forward pass through DistributedDataParallel, which averages the gradients."""
    objective = stage.objective
    method = getattr(objective, "method", None)
    if method is None:
        raise UsageError("data-parallel training needs an objective with a method name and a forward attribute, "
                         "as the sdae stages have")
    objective.forward = distributed.wrap(stage.trained, method, device, unused_parameters=stage.name == "supervised")


def _compile(stage: Stage) -> None:
    """The objective's forward pass through torch.compile. "reduce-overhead" captures it (and its backward)
    in CUDA graphs on a GPU, where a network this small spends most of a step launching kernels; the
    CPU gains little (see README, "Speed")."""
    objective = stage.objective
    if getattr(objective, "forward", None) is None:
        raise UsageError("`compile` needs an objective with a forward attribute, as the sdae stages have")
    objective.forward = torch.compile(objective.forward, mode="reduce-overhead")
    objective.mark_steps = True


def _warm_rate(options: TrainOptions, epoch: int, first_step: int, warmup_steps: int, batch: int) -> float:
    return learning_rate(options, epoch, first_step + batch, warmup_steps)


def _warn_dead(label: str, record: EpochRecord, warned: set[int]) -> None:
    """One line the first time a layer this stage trains passes DEAD_WARNING (a pair trains its own layer only)."""
    for layer, fraction in enumerate(record.dead_units or [], start=1):
        if record.pair is not None and layer != record.pair:
            continue
        if fraction > DEAD_WARNING and layer not in warned:
            warned.add(layer)
            log.warning("%s, epoch %d: %.0f%% of layer %d's units are dead on the validation examples",
                        label, record.epoch, 100 * fraction, layer)


def _check_divergence(train_loss: float, val_loss: float | None, reference: float, epoch: int,
                      options: TrainOptions, saved: bool) -> None:
    bad = next((v for v in (train_loss, val_loss) if v is not None and not math.isfinite(v)), None)
    if bad is not None:
        what = f"the loss became {bad}"
    elif math.isfinite(reference) and train_loss > EXPLOSION * max(reference, 1e-12):
        what = f"the loss exploded to {train_loss:.3g}, {EXPLOSION:g} times more than at the start ({reference:.3g})"
    else:
        return
    kept = ("the last good epoch's state is kept" if saved else
            "no epoch of this stage completed, so nothing of it was saved")
    raise DivergenceError(f"{what} in epoch {epoch}; training stopped and {kept}; start this stage again with a "
                          f"lower learning rate (`lr`, now {options.lr:g}) or less noise, with `overwrite=True`")


def resolve_device(name: str | torch.device) -> torch.device:
    """`auto` takes the GPU where there is one; `cuda` without one is an error."""
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
