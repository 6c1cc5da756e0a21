"""Options and names: what a run, a stage and a benchmark are asked to do, as dataclasses and StrEnums.

This module imports no torch (only `sdae.checks` and `sdae.errors`), so the command line can show its
defaults without loading torch. Every field that can be wrong says how it is checked in its metadata
(`option(default, check)`, see `sdae.checks`); `validate()` runs those checks, and `from_dict` reads a
saved or hand-written dictionary back, refusing unknown names. Adding an option is adding a field
here (and its flag in `cli/`, and its line in the docs).

One name per setting: the field's name is the Python parameter, the key in config.json and TOML
files, and (with dashes) the command line's flag.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import cast

from sdae.checks import (
    check_fields,
    emphasis,
    flag,
    from_dict,
    noise_specs,
    number,
    one_of,
    option,
    sections_of,
    sizes,
    text,
    to_dict,
    whole,
    whole_or,
)
from sdae.choices import Activation, Log, Loss, Optimizer, Output, Pretraining, ScalingRule, Schedule, StageName, Status
from sdae.errors import UsageError

MAX_SEED = 2**63 - 1


def auto_batch_size(n: int) -> int:
    """128 examples a batch, or fewer for small data so that an epoch still has about 100 optimizer steps (at
    least 16 examples a batch): a short run on a few thousand examples learns instead of fitting the mean image
    (the manual, docs/results-mnist.md, "Short runs")."""
    return min(128, max(16, n // 100))


SCALE = number(0, 1, low_open=True, what="a fraction of the published sizes in (0, 1]")


# ---------------------------------------------------------------------------------- the options
@dataclass
class TrainOptions:
    """How one stage trains. Defaults were chosen by the measurements in the manual (docs/results-mnist.md)."""

    epochs: int = option(10, whole(0))
    batch_size: int | str = option("auto", whole_or("auto", 1))  # auto: `auto_batch_size` of the stage's examples
    optimizer: Optimizer = option(Optimizer.ADAM, one_of(Optimizer))
    lr: float = option(2e-3, number(0, low_open=True, what="a positive number"))
    momentum: float = option(0.9, number(0, 1, high_open=True))  # SGD only
    weight_decay: float = option(0.0, number(0))
    loss: Loss = option(Loss.AUTO, one_of(Loss))
    schedule: Schedule = option(Schedule.CONSTANT, one_of(Schedule))  # cosine: decays to 0 over the stage's epochs
    warmup: float = option(
        5.0, number(0, what="a number of epochs >= 0")
    )  # lr rises over these (at most half the stage)
    compile: bool = option(False, flag)  # torch.compile the network's forward pass (CUDA graphs on a GPU)
    tol: float = option(0.0, number(0))  # with n_iter_no_change: the fall in training loss that counts
    n_iter_no_change: int | None = option(None, whole(1, optional=True))  # stop after this many epochs without it

    def validate(self) -> TrainOptions:
        """Check every field; raises UsageError naming the first that is wrong."""
        return check_fields(self)

    def for_examples(self, n: int) -> TrainOptions:
        """These options with an "auto" batch size made a number for a stage over n examples (`auto_batch_size`)."""
        return self if self.batch_size != "auto" else replace(self, batch_size=auto_batch_size(n))

    def to_dict(self) -> dict:
        return to_dict(self)


@dataclass
class DataOptions:
    """Which data a run trains on, and how it is split."""

    dataset: str = option("mnist", text())
    data_dir: str | None = option(None, text(optional=True, what="a path"))
    limit: int | None = option(None, whole(1, optional=True))
    val_fraction: float = option(0.1, number(0, 1, high_open=True))  # the 2007 benchmarks use their published split
    scale: float = option(1.0, SCALE)  # the 2007 benchmarks: fraction of the published split sizes
    scaling: ScalingRule = option(ScalingRule.GLOBAL, one_of(ScalingRule))  # how stored values map to [0, 1]

    def validate(self) -> DataOptions:
        return check_fields(self)

    @property
    def builtin(self) -> bool:
        """A dataset sdae knows by name (not the user's file or folder)."""
        return self.dataset in ("mnist", "digits", "patches", *BENCHMARK_PROBLEMS)

    def absolute(self) -> DataOptions:
        """These options with the user's file and `data_dir` as absolute paths, so that a run records where its
        data is in a way that reads the same from any folder."""
        return replace(
            self,
            dataset=self.dataset if self.builtin else _absolute(self.dataset),
            data_dir=None if self.data_dir is None else _absolute(self.data_dir),
        )

    def relocated(self, dataset: str | None = None, data_dir: str | None = None) -> DataOptions:
        """These options with the data somewhere new: `dataset` for a run trained on the user's own file or folder,
        `data_dir` for MNIST's files (mnist and the mnist-* problems). An option that does not apply to this run's
        data raises UsageError saying which does. The data found there is checked against the run's fingerprint
        when it is loaded (`sdae.commands.rundata.prepare`)."""
        moved = self
        if data_dir is not None:
            if not (self.dataset == "mnist" or self.dataset.startswith("mnist-")):
                hint = "; to point the run at its moved file, give `dataset`" if not self.builtin else ""
                raise UsageError(
                    f"`data_dir` is where MNIST's files are, and this run's dataset {self.dataset} does "
                    f"not read them{hint}"
                )
            moved = replace(moved, data_dir=_absolute(data_dir))
        if dataset is not None:
            if self.builtin:
                raise UsageError(
                    f"`dataset` gives the new place of a run's own file, and this run trained on the "
                    f"built-in {self.dataset}"
                    + (
                        " (its MNIST files: `data_dir`)"
                        if self.dataset == "mnist" or self.dataset.startswith("mnist-")
                        else ""
                    )
                )
            moved = replace(moved, dataset=_absolute(dataset))
        return moved


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


@dataclass(frozen=True)
class Criterion:
    """How the denoising loss is formed, beyond the noise itself.

    `emphasis=(alpha, beta)`: the paper's emphasized denoising (Vincent et al. 2010, section 4.3),
    the loss on each component weighted by alpha where the noise corrupted it and beta elsewhere
    (masking and salt-and-pepper; additive noise corrupts every component). `fixed=True`: each
    training example is corrupted once, before training, and sees that same corruption every epoch
    (as the original notebook did); by default the noise is drawn afresh for every batch.
    """

    emphasis: tuple[float, float] | None = None
    fixed: bool = False
    kind: str = "dae"  # the layer-wise criterion of pretraining: dae, ae (no corruption) or rbm (CD-k)
    cd_steps: int = 1  # rbm: Gibbs steps of contrastive divergence


@dataclass
class RunConfig:
    """Everything `sdae pretrain` was asked to do; `finetune` is filled in by `sdae finetune`.

    `layers` are the hidden sizes, input side first (config files written before this name used
    `hidden`, still read).
    """

    data: DataOptions = option(DataOptions, section=DataOptions)
    layers: list[int] = option([256, 128, 64], sizes, aliases=("hidden",))
    tied: bool = option(False, flag)
    noise: list[str] = option(["gaussian:0.5", "speckle:0.5"], noise_specs)
    seed: int = option(0, whole(0, MAX_SEED))
    device: str = option("auto", text(what="auto, cpu or cuda"))
    save_every: int = option(1, whole(1))
    pretrain: TrainOptions = option(TrainOptions, section=TrainOptions)
    finetune: TrainOptions | None = option(None, section=TrainOptions)
    supervised: bool = option(False, flag)  # fine-tuning on the labels (a softmax layer on the top code)
    patience: int | None = option(None, whole(1, optional=True))  # supervised: epochs without a better validation error
    dropout: float = option(0.0, number(0, 1, high_open=True))  # supervised: fraction of hidden units dropped
    input_dropout: float = option(0.0, number(0, 1, high_open=True))  # supervised: fraction of inputs dropped
    activation: Activation = option(Activation.RELU, one_of(Activation))  # the hidden units
    output: Output = option(Output.AUTO, one_of(Output))  # the reconstruction's last layer (auto: from the data)
    emphasis: list[float] | None = option(None, emphasis)  # [alpha, beta]: emphasized denoising
    fixed_noise: bool = option(False, flag)  # corrupt each training example once, before training
    pretraining: Pretraining = option(Pretraining.DAE, one_of(Pretraining))  # each pair's layer-wise criterion
    cd_steps: int = option(1, whole(1))  # pretraining rbm: Gibbs steps of contrastive divergence (CD-k)
    log: list[Log] = option([], one_of(Log, many=True))  # where else epochs are logged

    def validate(self) -> RunConfig:
        """Check every field; raises UsageError naming the first that is wrong."""
        check_fields(self)
        if self.pretraining == Pretraining.RBM and self.activation != Activation.SIGMOID:
            raise UsageError("`pretraining` rbm trains Bernoulli units: use `activation`='sigmoid'")
        return self

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d) -> RunConfig:
        """A saved configuration, every field checked; raises ValueError naming the field that is wrong."""
        return from_dict(cls, d).validate()

    def criterion(self) -> Criterion:
        """The denoising criterion's options, for `sdae.stages`."""
        emphasis = None if self.emphasis is None else cast("tuple[float, float]", tuple(self.emphasis))  # checked: 2
        return Criterion(emphasis, self.fixed_noise, str(self.pretraining), self.cd_steps)


@dataclass
class FinetuneOptions:
    """What `run_finetuning` is asked to do; None keeps the run's own setting."""

    train: TrainOptions = option(lambda: TrainOptions(epochs=120), section=TrainOptions)
    supervised: bool = option(False, flag)
    patience: int | None = option(None, whole(1, optional=True))
    dropout: float = option(0.0, number(0, 1, high_open=True))  # supervised: hidden units, in training
    input_dropout: float = option(0.0, number(0, 1, high_open=True))  # supervised: input components, in training
    noise: list[str] | None = None
    save_every: int | None = option(None, whole(1, optional=True))

    def validate(self) -> FinetuneOptions:
        return check_fields(self)


BENCHMARK_PROBLEMS = (
    "mnist-basic",
    "mnist-rot",
    "mnist-bg-rand",
    "mnist-bg-img",
    "mnist-rot-bg-img",
    "rectangles",
    "rectangles-image",
    "convex",
)  # the 2007 problems (Larochelle et al. 2007), as `sdae.data.variants`


__all__ = [
    "Activation",
    "BENCHMARK_PROBLEMS",
    "Criterion",
    "DataOptions",
    "FinetuneOptions",
    "Log",
    "Loss",
    "MAX_SEED",
    "Optimizer",
    "Output",
    "Pretraining",
    "RunConfig",
    "SCALE",
    "ScalingRule",
    "Schedule",
    "StageName",
    "Status",
    "TrainOptions",
    "check_fields",
    "from_dict",
    "sections_of",
    "sizes",
    "to_dict",
]
