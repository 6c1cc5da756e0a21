"""The training loop, shared by greedy pretraining, denoising fine-tuning and supervised fine-tuning.

Nothing here is specific to autoencoders. A `Stage` says what trains (a module's parameters), on
what (an objective: an `nn.Module` whose forward takes a batch of example indices and returns the
scalar loss, over n examples), how it is evaluated on held-out data and when it may stop early;
`run_stage` trains it for the epochs of its `TrainOptions`, makes one `EpochRecord` per epoch, and
hands a `TrainingState` (everything needed to continue exactly) to the `Hooks`. The data stays
where the objective keeps it (on the device); a batch is an index slice of one permutation per
epoch, so there is no per-example Python and no DataLoader. Checks and warnings (divergence, dead
units), checkpoints and progress bars are hooks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from functools import partial

import torch
from torch import nn

from sdae import distributed
from sdae.device import autocast
from sdae.distributed import World
from sdae.options import TrainOptions
from sdae.records import EpochRecord, TrainingState
from sdae.schedule import Plateau, learning_rate, make_optimizer, warm_rate, warmup_steps_for

BatchCallback = Callable[
    [str, int, int, float], None
]  # (what is training, batches done, batches in all, running mean loss)


@dataclass
class Hooks:
    """What a stage reports as it goes, each optional.

    - `on_stage(label, epochs, done)`: a stage starts (epochs in all, epochs already done when resumed);
    - `on_batch(label, batches_done, batches, running_mean_loss)`: progress within an epoch;
    - `check(record, first_batch_loss)`: an epoch ended, before it is reported; raising stops the stage
      (the divergence guard, `sdae.guards`);
    - `on_epoch(record)`: an epoch's `EpochRecord`;
    - `on_state(state)`: its `TrainingState` (made only if someone listens, as it copies the weights).
    """

    on_batch: BatchCallback | None = None
    on_epoch: Callable[[EpochRecord], None] | None = None
    on_state: Callable[[TrainingState], None] | None = None
    on_stage: Callable[[str, int, int], None] | None = None
    check: Callable[[EpochRecord, float], None] | None = None

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

    `evaluate(epoch)` gives the held-out loss and, for classifiers, the held-out error; `units()` the
    fraction of dead units per layer; `extra()` what the stage adds to its saved state;
    `stop(record)` ends the stage early when true. `mark_steps`: the objective runs through CUDA
    graphs, so each step must be marked as new.
    """

    name: str  # an `sdae.options.StageName`
    trained: nn.Module  # whose parameters the optimizer gets
    objective: nn.Module  # forward(index: (batch,) int64) -> scalar loss
    n: int  # examples per epoch
    loss: str
    pair: int | None = None
    evaluate: Callable[[int], tuple[float, float | None]] | None = None
    units: Callable[[], list[float]] | None = None
    extra: Callable[[], dict] | None = None
    stop: Callable[[EpochRecord], bool] | None = None
    mark_steps: bool = False


def batches(n: int, batch_size: int) -> Iterator[slice]:
    """Consecutive slices of `batch_size` (the last one shorter) covering 0..n-1."""
    return (slice(start, min(start + batch_size, n)) for start in range(0, n, batch_size))


def numeric_batch_size(options: TrainOptions) -> int:
    """`options.batch_size` once `TrainOptions.for_examples` has made an "auto" one a number."""
    batch_size = options.batch_size
    assert isinstance(batch_size, int), f"batch_size {batch_size!r} is not a number yet (see for_examples)"
    return batch_size


def train_epoch(
    objective: nn.Module,
    optimizer: torch.optim.Optimizer,
    n: int,
    batch_size: int,
    generator: torch.Generator,
    on_batch: BatchCallback | None = None,
    label: str = "",
    rate: Callable[[int], float] | None = None,
    order_generator: torch.Generator | None = None,
    world: World = World(),
    mark_steps: bool = False,
) -> tuple[float, float]:
    """One pass over n examples in a random order; returns (mean loss per batch, the first batch's loss).

    `rate(b)`, if given, is the learning rate for the epoch's batch b (0-based). The order is drawn
    from `order_generator` if given, else from `generator` (which the objective's noise also draws
    from). With several processes (`world`), each takes its share of every global batch.
    """
    device = generator.device
    order = torch.randperm(n, generator=order_generator or generator, device=device)
    count = math.ceil(n / batch_size)
    if world.distributed and n - (count - 1) * batch_size < world.size:
        count -= 1  # a last batch too small to give every process an example is left out, by all
    total = torch.zeros((), device=device)
    first = torch.zeros((), device=device)
    report_every = max(1, count // 50)
    for b in range(count):
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
        if on_batch is not None and ((b + 1) % report_every == 0 or b + 1 == count):
            on_batch(label, b + 1, count, total.item() / (b + 1))
    return total.item() / count, first.item()


@torch.no_grad()
def mean_loss(objective: nn.Module, n: int, batch_size: int, device: torch.device) -> float:
    """The mean loss over n examples, in order, without gradients (weighted by batch size)."""
    total = torch.zeros((), device=device, dtype=torch.float64)
    for part in batches(n, batch_size):
        index = torch.arange(part.start, part.stop, device=device)
        with autocast(device):
            total += objective(index).double() * len(index)
    return total.item() / n


def run_stage(
    stage: Stage,
    model: nn.Module,
    options: TrainOptions,
    generator: torch.Generator,
    hooks: Hooks | None = None,
    resume: TrainingState | None = None,
    world: World = World(),
    label: str | None = None,
) -> list[EpochRecord]:
    """Train `stage` for epochs (resumed epoch + 1) .. options.epochs; `model` is what a saved state holds.

    After each epoch its `EpochRecord` goes to `hooks.check` (which may raise to stop the stage before
    the epoch is reported), then to `hooks.on_epoch`, then its `TrainingState` to `hooks.on_state`.
    """
    options = options.validate().for_examples(stage.n)
    hooks = hooks or Hooks()
    optimizer = make_optimizer(stage.trained.parameters(), options)
    start, reference = 0, None
    if resume is not None:
        start = resume.restore(model, optimizer, generator)
        reference = resume.extra.get("first_batch_loss")
        distributed.restore_generator(generator, resume.extra.get("rank_generators"), start, world)
    label = label or stage.name
    records: list[EpochRecord] = []
    if hooks.on_stage:
        hooks.on_stage(label, options.epochs, start)
    model.train()
    batch_size = numeric_batch_size(options)
    steps_per_epoch = math.ceil(stage.n / batch_size)
    saved = resume.extra if resume is not None else {}
    warmup_steps = saved.get("warmup_steps", warmup_steps_for(options, steps_per_epoch))  # kept when extended
    plateau = Plateau(options.tol, options.n_iter_no_change, *saved.get("plateau", ()))
    for epoch in range(start + 1, options.epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(options, epoch)
        first_step = (epoch - 1) * steps_per_epoch
        rate = None if first_step >= warmup_steps else partial(warm_rate, options, epoch, first_step, warmup_steps)
        started = time.perf_counter()
        order = (
            distributed.shuffle_generator(world, generator.device, stage.name, stage.pair, epoch)
            if world.distributed
            else None
        )
        try:
            train_loss, first = train_epoch(
                stage.objective,
                optimizer,
                stage.n,
                batch_size,
                generator,
                hooks.on_batch,
                f"{label} epoch {epoch}/{options.epochs}",
                rate,
                order,
                world,
                stage.mark_steps,
            )
        except RuntimeError as e:
            if world.distributed:
                raise distributed.lost_contact(e, world) from None
            raise
        train_loss = distributed.mean_over_ranks(train_loss, 1, world)
        first = distributed.mean_over_ranks(first, 1, world)
        reference = first if reference is None else reference
        val_loss, val_error = stage.evaluate(epoch) if stage.evaluate is not None else (None, None)
        dead = [round(f, 4) for f in stage.units()] if stage.units is not None else None
        record = EpochRecord(
            stage.name,
            stage.pair,
            epoch,
            train_loss,
            val_loss,
            stage.loss,
            round(time.perf_counter() - started, 4),
            val_error,
            dead,
            optimizer.param_groups[0]["lr"],
        )
        if hooks.check:
            hooks.check(record, reference)
        records.append(record)
        if hooks.on_epoch:
            hooks.on_epoch(record)
        generators = distributed.gather_generator_states(generator, world) if world.distributed else None
        if hooks.on_state:
            extra = {
                "first_batch_loss": reference,
                "warmup_steps": warmup_steps,
                "plateau": plateau.state(),
                **(stage.extra() if stage.extra else {}),
            }
            if generators is not None:
                extra["rank_generators"] = generators
            hooks.on_state(TrainingState.capture(stage.name, stage.pair, epoch, model, optimizer, generator, extra))
        if plateau.stalled(train_loss) or (stage.stop is not None and stage.stop(record)):
            break
    return records
