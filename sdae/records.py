"""What training leaves behind: a record per epoch, and the state that continues a stage exactly."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn


@dataclass
class EpochRecord:
    """One line of metrics: what trained (stage, pair 1..depth or None), its epoch (1-based), its losses.

    `val_error` (a fraction, 0..1) is set by supervised fine-tuning; `dead_units` is, per encoder
    layer trained so far, the fraction of units dead on the validation examples (see
    `StackedDenoisingAutoencoder.inactive_fractions`).
    """

    stage: str
    pair: int | None
    epoch: int
    train_loss: float
    val_loss: float | None
    loss: str  # the loss function: bce, mse or cross-entropy
    seconds: float
    val_error: float | None = None
    dead_units: list[float] | None = None
    lr: float | None = None  # the learning rate at the epoch's end

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None or k not in ("val_error", "dead_units", "lr")}


@dataclass
class TrainingState:
    """Everything needed to continue a stage exactly: copied, on the CPU, at the end of an epoch."""

    stage: str  # one of STAGES
    pair: int | None  # the pair being pretrained (1..depth), None when fine-tuning
    epoch: int  # epochs completed in this pair or stage
    model: dict
    optimizer: dict
    generator: torch.Tensor
    extra: dict = field(default_factory=dict)  # what a stage needs beyond these (e.g. the best weights so far)

    @classmethod
    def capture(cls, stage: str, pair: int | None, epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                generator: torch.Generator, extra: dict | None = None) -> TrainingState:
        return cls(stage, pair, epoch, _to_cpu(model.state_dict()), _to_cpu(optimizer.state_dict()),
                   generator.get_state().clone(), _to_cpu(extra or {}))

    def to_dict(self) -> dict:
        return asdict(self)

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer | None, generator: torch.Generator) -> int:
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
