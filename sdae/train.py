"""The training loop, shared by greedy pretraining, fine-tuning and supervised training.

Nothing here is specific to autoencoders: the loop knows an objective (batch indices in, a scalar
loss out), an optimizer, how many examples there are, and a generator that shuffles them. The
data stays where the objective keeps it (on the device); a batch is an index slice of one
permutation per epoch, so there is no per-example Python and no DataLoader.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import torch

from sdae.errors import DivergenceError, UsageError

Objective = Callable[[torch.Tensor], torch.Tensor]
BatchCallback = Callable[[str, int, int, float], None]  # (what is training, batches done, batches in all, running mean loss)

OPTIMIZERS = ("adam", "sgd")
LOSSES = ("auto", "bce", "mse")
SCHEDULES = ("constant", "cosine")


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

    def validate(self) -> TrainOptions:
        if not isinstance(self.epochs, int) or self.epochs < 0:
            raise UsageError(f"--epochs must be a whole number >= 0, got {self.epochs}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise UsageError(f"--batch-size must be a whole number >= 1, got {self.batch_size}")
        if self.optimizer not in OPTIMIZERS:
            raise UsageError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UsageError(f"--lr must be a positive number, got {self.lr}")
        if not (math.isfinite(self.momentum) and 0 <= self.momentum < 1):
            raise UsageError(f"--momentum must be in [0, 1), got {self.momentum}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise UsageError(f"--weight-decay must be >= 0, got {self.weight_decay}")
        if self.loss not in LOSSES:
            raise UsageError(f"--loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.schedule not in SCHEDULES:
            raise UsageError(f"--schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class EpochResult:
    epoch: int  # 1-based
    train_loss: float
    val_loss: float | None
    seconds: float


def make_optimizer(params: Iterable[torch.nn.Parameter], options: TrainOptions) -> torch.optim.Optimizer:
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


def set_learning_rate(optimizer: torch.optim.Optimizer, options: TrainOptions, epoch: int) -> None:
    """The rate for a 1-based epoch: constant, or cosine decay from lr (epoch 1) towards 0 (after the last)."""
    lr = options.lr
    if options.schedule == "cosine":
        lr = options.lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / options.epochs))
    for group in optimizer.param_groups:
        group["lr"] = lr


def autocast(device: torch.device):
    """bf16 autocast on CUDA; a no-op elsewhere."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def train_epoch(
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    n: int,
    batch_size: int,
    generator: torch.Generator,
    on_batch: BatchCallback | None = None,
    label: str = "",
) -> float:
    """One pass over n examples in a random order; returns the mean loss per batch."""
    device = generator.device
    order = torch.randperm(n, generator=generator, device=device)
    batches = math.ceil(n / batch_size)
    total = torch.zeros((), device=device)
    report_every = max(1, batches // 50)
    for b in range(batches):
        index = order[b * batch_size : (b + 1) * batch_size]
        with autocast(device):
            loss = objective(index)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach().float()
        if on_batch is not None and ((b + 1) % report_every == 0 or b + 1 == batches):
            on_batch(label, b + 1, batches, total.item() / (b + 1))
    return total.item() / batches


@torch.no_grad()
def evaluate(objective: Objective, n: int, batch_size: int, device: torch.device) -> float:
    """The mean loss over n examples, in order, without gradients (weighted by batch size)."""
    total = torch.zeros((), device=device, dtype=torch.float64)
    for start in range(0, n, batch_size):
        index = torch.arange(start, min(start + batch_size, n), device=device)
        with autocast(device):
            total += objective(index).double() * len(index)
    return total.item() / n


def fit(
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    n: int,
    options: TrainOptions,
    generator: torch.Generator,
    validate: Callable[[], float] | None = None,
    start_epoch: int = 0,
    on_batch: BatchCallback | None = None,
    on_epoch: Callable[[EpochResult], None] | None = None,
    label: str = "",
) -> list[EpochResult]:
    """Train for epochs start_epoch+1 .. options.epochs; call on_epoch after each.

    Raises DivergenceError, before on_epoch, as soon as an epoch's loss is not finite: whatever
    on_epoch saved last is the last good state.
    """
    results = []
    for epoch in range(start_epoch + 1, options.epochs + 1):
        set_learning_rate(optimizer, options, epoch)
        started = time.perf_counter()
        epoch_label = f"{label} epoch {epoch}/{options.epochs}".strip()
        train_loss = train_epoch(objective, optimizer, n, options.batch_size, generator, on_batch, epoch_label)
        val_loss = validate() if validate is not None else None
        if not math.isfinite(train_loss) or (val_loss is not None and not math.isfinite(val_loss)):
            raise DivergenceError(
                f"the loss became {train_loss if not math.isfinite(train_loss) else val_loss} in epoch {epoch}; "
                f"training stopped and the last good epoch's checkpoint is kept; start this stage again with a "
                f"lower learning rate (--lr, now {options.lr:g}) or less noise, using --overwrite"
            )
        result = EpochResult(epoch, train_loss, val_loss, time.perf_counter() - started)
        results.append(result)
        if on_epoch is not None:
            on_epoch(result)
    return results


@dataclass
class TrainingState:
    """Everything needed to continue a stage exactly: copied, on the CPU, at the end of an epoch."""

    stage: str  # "pretrain" or "finetune"
    pair: int | None  # the pair being pretrained (0-based), None when fine-tuning
    epoch: int  # epochs completed in this pair or stage
    model: dict
    optimizer: dict
    generator: torch.Tensor
    extra: dict = field(default_factory=dict)  # what a stage needs beyond these (e.g. the best weights so far)

    @classmethod
    def capture(cls, stage: str, pair: int | None, epoch: int, model: torch.nn.Module,
                optimizer: torch.optim.Optimizer, generator: torch.Generator, extra: dict | None = None) -> TrainingState:
        return cls(stage, pair, epoch, _to_cpu(model.state_dict()), _to_cpu(optimizer.state_dict()),
                   generator.get_state().clone(), _to_cpu(extra or {}))

    def to_dict(self) -> dict:
        return asdict(self)

    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None, generator: torch.Generator) -> int:
        """Put the saved weights, optimizer and generator state back; returns the epochs already done."""
        model.load_state_dict(self.model)
        if optimizer is not None:
            optimizer.load_state_dict(self.optimizer)
        generator.set_state(self.generator)
        return self.epoch


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


@dataclass
class Hooks:
    """What a stage reports as it goes: progress, a metrics record per epoch, its state per epoch."""

    on_batch: BatchCallback | None = None
    on_epoch: Callable[[dict], None] | None = None
    on_state: Callable[[TrainingState], None] | None = None

    def epoch_done(self, record: dict, state: Callable[[], TrainingState]) -> None:
        """Report an epoch's record, then its state (captured only if someone listens: it copies weights)."""
        if self.on_epoch:
            self.on_epoch(record)
        if self.on_state:
            self.on_state(state())


def resolve_device(name: str | torch.device) -> torch.device:
    """`auto` takes the GPU where there is one; `cuda` without one is an error."""
    name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: no CUDA GPU is available here; use --device cpu or auto")
    if name != "cpu" and not name.startswith("cuda"):
        raise UsageError(f"--device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)
