"""What training leaves behind and what a run records: a record per epoch, the state that continues a
stage exactly, the run's status, and the facts of its data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from sdae.options import Status


@dataclass
class EpochRecord:
    """One line of metrics: what trained (stage, pair 1..depth or None), its epoch (1-based), its losses.

    `loss_function` names the loss (bce, mse or cross-entropy) whose values `train_loss` and `val_loss`
    are (means per element, or per example for cross-entropy). `val_error` (a fraction, 0..1) is set by
    supervised fine-tuning; `dead_units` is, per encoder layer trained so far, the fraction of units
    dead on the validation examples (see `StackedDenoisingAutoencoder.inactive_fractions`); `seconds`
    the epoch's wall time; `lr` the learning rate at its end.
    """

    stage: str  # an `sdae.options.StageName`
    pair: int | None
    epoch: int
    train_loss: float
    val_loss: float | None
    loss_function: str
    seconds: float
    val_error: float | None = None
    dead_units: list[float] | None = None
    lr: float | None = None

    def to_dict(self) -> dict:
        return {k: (str(v) if k == "stage" else v) for k, v in asdict(self).items()
                if v is not None or k not in ("val_error", "dead_units", "lr")}


@dataclass
class TrainingState:
    """Everything needed to continue a stage exactly: copied, on the CPU, at the end of an epoch."""

    stage: str  # an `sdae.options.StageName`
    pair: int | None  # the pair being pretrained (1..depth), None when fine-tuning
    epoch: int  # epochs completed in this pair or stage
    model: dict
    optimizer: dict
    generator: torch.Tensor
    extra: dict = field(default_factory=dict)  # what a stage needs beyond these (e.g. the best weights so far)

    @classmethod
    def capture(cls, stage: str, pair: int | None, epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                generator: torch.Generator, extra: dict | None = None) -> TrainingState:
        return cls(str(stage), pair, epoch, _to_cpu(model.state_dict()), _to_cpu(optimizer.state_dict()),
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


@dataclass
class RunStatus:
    """Where a run stands: pretraining running or complete; fine-tuning not started (None), running, complete or
    diverged; and which fine-tuning (`denoising` or `supervised`) ran or runs."""

    pretrain: Status = Status.RUNNING
    finetune: Status | None = None
    finetune_kind: str | None = None

    @property
    def pretrained(self) -> bool:
        return self.pretrain == Status.COMPLETE

    @property
    def supervised(self) -> bool:
        return self.finetune_kind == "supervised"

    def to_dict(self) -> dict:
        return {k: None if v is None else str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> RunStatus:
        """Raises ValueError naming a field that is wrong."""
        if d.get("pretrain") not in (Status.RUNNING, Status.COMPLETE):
            raise ValueError(f"field 'pretrain' must be running or complete, got {d.get('pretrain')!r}")
        if d.get("finetune") not in (None, *Status):
            raise ValueError(f"field 'finetune' is {d.get('finetune')!r}")
        if d.get("finetune_kind") not in (None, "denoising", "supervised"):
            raise ValueError(f"field 'finetune_kind' is {d.get('finetune_kind')!r}")
        finetune = d.get("finetune")
        return cls(Status(d["pretrain"]), None if finetune is None else Status(finetune), d.get("finetune_kind"))


@dataclass(frozen=True)
class DataFacts:
    """What a run records about its data, to use it again and to recognise it: features per example, the image
    shape (or None), the scaling to [0, 1] (x01 = (x - offset) * scale), where it came from, the split sizes, and
    a fingerprint of the training examples."""

    input_dim: int
    image_shape: tuple[int, int] | None
    offset: float
    scale: float
    source: str | None
    n_train: int
    n_val: int
    fingerprint: str | None = None

    def to_dict(self) -> dict:
        return {"input_dim": self.input_dim, "image_shape": None if self.image_shape is None else list(self.image_shape),
                "scaling": {"offset": self.offset, "scale": self.scale}, "source": self.source,
                "n_train": self.n_train, "n_val": self.n_val, "fingerprint": self.fingerprint}

    @classmethod
    def from_dict(cls, d: dict) -> DataFacts:
        """Raises ValueError naming a field that is wrong."""
        for name in ("input_dim", "n_train", "n_val"):
            v = d.get(name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name != "n_val" else 0):
                raise ValueError(f"field {name!r} must be a whole number, got {v!r}")
        scaling = d.get("scaling")
        if not isinstance(scaling, dict) or not all(isinstance(scaling.get(k), (int, float)) and
                                                    not isinstance(scaling.get(k), bool) for k in ("offset", "scale")):
            raise ValueError("field 'scaling' must hold numbers 'offset' and 'scale'")
        shape = d.get("image_shape")
        if shape is not None and not (isinstance(shape, list) and len(shape) == 2
                                      and all(isinstance(s, int) and not isinstance(s, bool) for s in shape)):
            raise ValueError("field 'image_shape' must be two whole numbers or null")
        for name in ("source", "fingerprint"):
            if d.get(name) is not None and not isinstance(d[name], str):
                raise ValueError(f"field {name!r} must be a string or null, got {d[name]!r}")
        return cls(d["input_dim"], None if shape is None else tuple(shape), float(scaling["offset"]),
                   float(scaling["scale"]), d.get("source"), d["n_train"], d["n_val"], d.get("fingerprint"))


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value
