"""`sdae bench`'s options: what it runs on each 2007 problem (a leaf of `sdae.options`: no torch)."""

from __future__ import annotations

from dataclasses import dataclass

from sdae.checks import check_fields, each, flag, number, one_of, option, text, whole
from sdae.choices import Activation, BenchModel, Optimizer, Preset, Schedule
from sdae.errors import UsageError
from sdae.options import MAX_SEED, SCALE


@dataclass
class BenchOptions:
    """What `sdae bench` runs on each 2007 problem: each of `models` (Table 3's columns), its hyperparameters
    chosen on the published validation split (`sdae.commands.bench_search`). `optimizer` sgd is plain SGD
    (no momentum), as the paper's. `BenchOptions.from_preset(name, **changes)`: a named protocol's options.

    Raises UsageError (`validate`) naming the first option that is wrong."""

    scale: float = option(1.0, SCALE)
    units: int = option(1000, whole(1))  # per hidden layer
    activation: Activation = option(Activation.RELU, one_of(Activation))
    noise_levels: tuple[float, ...] = option(
        (0.10, 0.25, 0.40), each(number(0, 1, high_open=True), "masking fractions in [0, 1)")
    )
    pretrain_epochs: int = option(15, whole(0))  # per pair
    epochs: int = option(50, whole(1))  # supervised fine-tuning, at most
    patience: int | None = option(10, whole(1, optional=True))
    pretrain_lr: float = option(1e-3, number(0, low_open=True, what="a positive number"))
    lrs: tuple[float, ...] = option((1e-3, 2e-3, 4e-3), each(number(0, low_open=True), "positive learning rates"))
    extend: bool = option(True, flag)  # where validation's choice lies on the grid's edge, try beyond it
    seed: int = option(0, whole(0, MAX_SEED))
    device: str = option("auto", text(what="auto, cpu or cuda"))
    data_dir: str | None = option(None, text(optional=True, what="a path"))
    svm: bool = option(True, flag)  # False: the networks alone (the SVM columns stay empty)
    models: tuple[str, ...] = option(tuple(BenchModel), each(one_of(BenchModel), "model names"))
    optimizer: Optimizer = option(Optimizer.ADAM, one_of(Optimizer))  # pretraining and fine-tuning
    schedule: Schedule = option(Schedule.COSINE, one_of(Schedule))  # fine-tuning's learning rate over its epochs
    warmup: float = option(5.0, number(0))  # epochs over which each stage's learning rate rises (scaled as budgets)
    batch_size: int = option(128, whole(1))  # examples a batch, every problem and stage (budgets count updates)

    def validate(self) -> BenchOptions:
        check_fields(self)
        if not self.models or (not self.svm and tuple(self.models) == ("svm",)):
            raise UsageError("nothing to run: `models` names only svm and `svm` is off; name a model to run")
        return self

    @classmethod
    def from_preset(cls, name: str, **changes) -> BenchOptions:
        """The options of the protocol `name` (`Preset`; see `sdae.commands.paper_table.PRESETS`), `changes` laid
        over them. Raises UsageError for an unknown name."""
        from sdae.commands.paper_table import PRESETS

        if name not in PRESETS:
            raise UsageError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **changes}).validate()


__all__ = ["BenchModel", "BenchOptions", "Preset"]
