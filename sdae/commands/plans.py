"""What a training command may do with a run, decided before anything is written: the run opened and locked,
its checkpoint read and made ready for this device, and the fine-tuning asked for checked against the run's
status."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import torch

from sdae.errors import RunFolderError, SDAEWarning, UsageError
from sdae.options import BENCHMARK_PROBLEMS, FinetuneOptions, RunConfig, StageName, Status
from sdae.records import EpochRecord, TrainingState
from sdae.runfolder import CHECKPOINT, RunFolder


def locked(run: str | os.PathLike, purpose: str, read: Callable[[RunFolder], object]) -> tuple[RunFolder, object]:
    """Open the run, take its lock, and return it with what `read(folder)` gives; the lock is let go if that fails."""
    folder = RunFolder.open(run)
    folder.locked(purpose).acquire()
    try:
        return folder, read(folder)
    except BaseException:
        folder.release()
        raise


def portable(state: TrainingState | None, folder: RunFolder, device: torch.device) -> TrainingState | None:
    """A checkpoint's state, ready to restore on `device` (`TrainingState.portable`), checked before anything is
    written: its generator states, if saved on another kind of device, become fresh streams from the run's seed."""
    return None if state is None else state.portable(device, folder.config.seed, str(folder.path / CHECKPOINT))


def checkpoint_for(folder: RunFolder, stage: StageName) -> tuple[TrainingState, list[EpochRecord]] | None:
    found = folder.load_checkpoint()
    if found is not None and found[0].stage != stage:
        raise RunFolderError(f"{folder.path}: the checkpoint is from {found[0].stage}, not {stage}")
    return found


def finetune_config(
    folder: RunFolder, options: FinetuneOptions, resume: bool, overwrite: bool, extend_to: int | None = None
) -> RunConfig:
    """The run's configuration with the fine-tuning asked for, checked against the run's status."""
    status, path = folder.status, folder.path
    if not status.pretrained:
        raise UsageError(f"{path}: pretraining has not finished; continue it with `resume_pretraining` first")
    config = RunConfig.from_dict(folder.config.to_dict())  # a copy: nothing changes on disk until training starts
    if extend_to is not None and not resume:
        raise UsageError("`extend_to` continues a fine-tuning; it goes with `resume=True`")
    if resume:
        if extend_to is not None and config.finetune is not None:
            if isinstance(extend_to, bool) or not isinstance(extend_to, int) or extend_to <= config.finetune.epochs:
                raise UsageError(
                    f"{path}: `epochs` {extend_to!r} would not extend the fine-tuning's {config.finetune.epochs} epochs"
                )
            config.finetune.epochs = extend_to
        elif status.finetune == Status.COMPLETE:
            raise UsageError(
                f"{path}: fine-tuning is already complete; to train on, give more `epochs` in all with `resume=True`"
            )
        if status.finetune == Status.DIVERGED:
            raise UsageError(
                f"{path}: fine-tuning diverged, and resuming would diverge the same way; start it again "
                "with `overwrite=True` and a lower `lr`"
            )
        if config.finetune is None:
            raise UsageError(f"{path}: fine-tuning never started; start it without `resume=True`")
        return config
    state = status.finetune
    if state is not None and not overwrite:
        what = {
            Status.COMPLETE: "is already fine-tuned",
            Status.DIVERGED: "fine-tuning diverged",
            Status.RUNNING: "fine-tuning was interrupted or is unfinished",
        }[state]
        raise UsageError(
            f"{path}: {what}; pass `overwrite=True` to fine-tune again from the pretrained weights"
            + (", or `resume=True` to continue" if state == Status.RUNNING else "")
        )
    if options.train.epochs < 1:
        raise UsageError(
            f"{path}: `epochs` 0 would fine-tune nothing (and replace the run's fine-tuning); give 1 or more"
        )
    if options.patience is not None and not options.supervised:
        raise UsageError(
            "`patience` stops supervised fine-tuning on the validation error; it goes with `supervised=True`"
        )
    if options.patience is not None and folder.facts.n_val == 0:
        raise UsageError(
            f"{path}: `patience` stops on the validation error and this run held out no validation examples; "
            "drop `patience`, or pretrain a run that holds some out (`val_fraction` > 0)"
        )
    if (options.dropout or options.input_dropout) and not options.supervised:
        raise UsageError(
            "`dropout` and `input_dropout` regularize supervised fine-tuning; they go with `supervised=True`"
        )
    config.finetune = options.train
    config.supervised, config.patience = options.supervised, options.patience
    config.dropout, config.input_dropout = options.dropout, options.input_dropout
    if options.noise is not None:
        config.noise = list(options.noise)
    if options.save_every is not None:
        config.save_every = options.save_every
    return config.validate()


def check_applicable(config: RunConfig) -> None:
    """Refuse options that would do nothing for this run's data, rather than ignore them; warn about emphasis
    where no noise marks what it corrupted."""
    data = config.data
    if data.data_dir is not None and not (data.dataset == "mnist" or data.dataset in BENCHMARK_PROBLEMS):
        raise UsageError(
            f"`data_dir` is where MNIST's files (or the 2007 problems' original files) are, and dataset "
            f"{data.dataset} does not read them"
        )
    if data.scale != 1 and data.dataset not in BENCHMARK_PROBLEMS:
        raise UsageError(
            f"`scale` sizes the 2007 benchmark problems; dataset {data.dataset} is used whole (`limit` takes its first "
            "examples)"
        )
    if config.emphasis is not None and not any(
        spec.split(":")[0] in ("masking", "saltpepper") for spec in config.noise
    ):
        warnings.warn(
            SDAEWarning(
                "`emphasis` weights the components the noise corrupted, and Gaussian and speckle noise corrupt every "
                "one: the loss is only multiplied by alpha; use it with masking or salt-and-pepper noise"
            ),
            stacklevel=3,
        )
