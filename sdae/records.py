"""What training leaves behind and what a run records: a record per epoch, the state that continues a
stage exactly, the run's status, and the facts of its data."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field, replace

import torch
from torch import nn

from sdae.distributed import fresh_seed, generator_fits
from sdae.errors import SDAEWarning
from sdae.options import Status


@dataclass
class EpochRecord:
    """One line of metrics: what trained (stage, pair 1..depth or None), its epoch (1-based), its losses.

    `loss_function` names the loss (bce, mse or cross-entropy) whose values `train_loss` and `val_loss`
    are (means per element, or per example for cross-entropy). `val_error` (a fraction, 0..1) is set by
    supervised fine-tuning; `dead_units` is, per encoder layer trained so far, the fraction of units
    dead on the validation examples, or on the training examples where none are held out (see
    `StackedDenoisingAutoencoder.inactive_fractions`); `seconds`
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
        return {
            k: (str(v) if k == "stage" else v)
            for k, v in asdict(self).items()
            if v is not None or k not in ("val_error", "dead_units", "lr")
        }


@dataclass
class TrainingState:
    """Everything needed to continue a stage exactly: copied, on the CPU, at the end of an epoch.

    It restores on any device: the weights and the optimizer state load onto the parameters' device. The
    random-generator states (`generator`, and every process's in `extra["rank_generators"]`) cannot move to
    another kind of device (a CPU generator's state is 5056 bytes, a CUDA one's 16); `portable` replaces those
    with fresh streams, from the run's seed and the epoch, before a state is restored elsewhere.
    """

    stage: str  # an `sdae.options.StageName`
    pair: int | None  # the pair being pretrained (1..depth), None when fine-tuning
    epoch: int  # epochs completed in this pair or stage
    model: dict
    optimizer: dict
    generator: torch.Tensor
    extra: dict = field(default_factory=dict)  # what a stage needs beyond these (e.g. the best weights so far)

    @classmethod
    def capture(
        cls,
        stage: str,
        pair: int | None,
        epoch: int,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
        extra: dict | None = None,
    ) -> TrainingState:
        return cls(
            str(stage),
            pair,
            epoch,
            _to_cpu(model.state_dict()),
            _to_cpu(optimizer.state_dict()),
            generator.get_state().clone(),
            _to_cpu(extra or {}),
        )

    def to_dict(self) -> dict:
        return asdict(self)

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer | None, generator: torch.Generator) -> int:
        """Put the saved weights, optimizer and generator state back, onto the device of `model`'s parameters and of
        `generator`; returns the epochs already done. A generator state saved on another kind of device (see
        `portable`) is left out, with an SDAEWarning: `generator` then goes on from its own state."""
        model.load_state_dict(self.model)
        if optimizer is not None:
            optimizer.load_state_dict(_implemented_as(optimizer, self.optimizer))
        if generator_fits(generator, self.generator):
            generator.set_state(self.generator)
        else:
            warnings.warn(
                SDAEWarning(
                    f"the saved random-generator state is not one a {generator.device.type} "
                    "generator takes (it was saved on another kind of device); the generator goes "
                    "on from its own state, so this continuation is not bit-identical"
                ),
                stacklevel=2,
            )
        return self.epoch

    def portable(self, device: torch.device, seed: int, where: str = "the training state") -> TrainingState:
        """This state, ready to restore on `device`: each generator state that a generator there cannot take (saved
        on another kind of device) becomes a fresh stream from the run's `seed`, the process's rank and the epoch,
        so the continuation is reproducible but not bit-identical; one SDAEWarning (naming `where`) says so."""
        device = torch.device(device)
        probe = torch.Generator(device=device)
        ranks = self.extra.get("rank_generators")
        ranks = list(ranks) if isinstance(ranks, (list, tuple)) else None
        unfit = [s for s in (self.generator, *(ranks or ())) if not generator_fits(probe, s)]
        if not unfit:
            return self

        def fitting(rank: int, state) -> torch.Tensor:
            if generator_fits(probe, state):
                return state
            return torch.Generator(device=device).manual_seed(fresh_seed(seed, rank, self.epoch)).get_state()

        extra = (
            self.extra
            if ranks is None
            else {**self.extra, "rank_generators": [fitting(r, s) for r, s in enumerate(ranks)]}
        )
        size = unfit[0].numel() if isinstance(unfit[0], torch.Tensor) else "?"
        warnings.warn(
            SDAEWarning(
                f"{where}: its random-generator state was saved on another kind of device ({size} bytes; a "
                f"{device.type} generator's is {probe.get_state().numel()}) and cannot move to {device.type}; the "
                f"weights and optimizer state carry over, and the noise goes on from a fresh stream from the run's seed "
                f"and epoch {self.epoch}: reproducible, but not bit-identical to a continuation on the original device"
            ),
            stacklevel=2,
        )
        return replace(self, generator=fitting(0, self.generator), extra=extra)


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
    a fingerprint of the training examples, and the names of its classes where the data names them."""

    input_dim: int
    image_shape: tuple[int, int] | None
    offset: float | tuple[float, ...]  # one number for every feature, or one per feature
    scale: float | tuple[float, ...]
    source: str | None
    n_train: int
    n_val: int
    fingerprint: str | None = None
    rule: str = "given"  # how the scaling was chosen (see `sdae.data.dataset.fit_scaling`)
    classes: tuple[str, ...] | None = None  # the names of labels 0..K-1 where the data names them (image folders)

    def to_dict(self) -> dict:
        def plain(v):
            return list(v) if isinstance(v, tuple) else v

        return {
            "input_dim": self.input_dim,
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "scaling": {"offset": plain(self.offset), "scale": plain(self.scale), "rule": self.rule},
            "source": self.source,
            "n_train": self.n_train,
            "n_val": self.n_val,
            "fingerprint": self.fingerprint,
            **({} if self.classes is None else {"classes": list(self.classes)}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> DataFacts:
        """Raises ValueError naming a field that is wrong."""
        for name in ("input_dim", "n_train", "n_val"):
            v = d.get(name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name != "n_val" else 0):
                raise ValueError(f"field {name!r} must be a whole number, got {v!r}")
        scaling = d.get("scaling")

        def number(v) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        def numbers(v) -> bool:  # one number, or one per feature
            return number(v) or (isinstance(v, list) and len(v) == d["input_dim"] and all(map(number, v)))

        if not isinstance(scaling, dict) or not all(numbers(scaling.get(k)) for k in ("offset", "scale")):
            raise ValueError("field 'scaling' must hold numbers 'offset' and 'scale' (one, or one per feature)")
        shape = d.get("image_shape")
        if shape is not None and not (
            isinstance(shape, list)
            and len(shape) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) for s in shape)
        ):
            raise ValueError("field 'image_shape' must be two whole numbers or null")
        for name in ("source", "fingerprint"):
            if d.get(name) is not None and not isinstance(d[name], str):
                raise ValueError(f"field {name!r} must be a string or null, got {d[name]!r}")
        classes = d.get("classes")  # absent from runs before image folders, and for data without class names
        if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
            raise ValueError("field 'classes' must be a list of names or null")

        def read(v):
            return tuple(float(x) for x in v) if isinstance(v, list) else float(v)

        return cls(
            d["input_dim"],
            None if shape is None else tuple(shape),
            read(scaling["offset"]),
            read(scaling["scale"]),
            d.get("source"),
            d["n_train"],
            d["n_val"],
            d.get("fingerprint"),
            str(scaling.get("rule", "given")),
            None if classes is None else tuple(classes),
        )


_IMPLEMENTATION = ("fused", "foreach", "capturable")  # an optimizer's kernels: chosen per device, not state


def _implemented_as(optimizer: torch.optim.Optimizer, saved: dict) -> dict:
    """The saved optimizer state with `optimizer`'s own choice of kernels (a fused GPU optimizer's state may go on
    in an optimizer on the CPU that is not fused, and the other way round); torch then moves its tensors onto the
    parameters' device, the step counts where the kernels want them."""
    groups = saved.get("param_groups") if isinstance(saved, dict) else None
    if not isinstance(groups, list) or len(groups) != len(optimizer.param_groups):
        return saved  # load_state_dict says what is wrong
    return {
        **saved,
        "param_groups": [
            {**g, **{k: mine[k] for k in _IMPLEMENTATION if k in mine}}
            for g, mine in zip(groups, optimizer.param_groups)
        ],
    }


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value
