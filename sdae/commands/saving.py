"""Training into a run folder: nothing until an epoch has completed, then metrics every epoch, a checkpoint every
`save_every` epochs, the last unsaved state when a stage stops early (Ctrl-C, a diverging loss, any error), the
final weights once it completes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sdae.errors import DivergenceError, Interrupted, UsageError, WriteError
from sdae.files import FolderLock
from sdae.loop import Hooks
from sdae.model import StackedDenoisingAutoencoder
from sdae.options import Log, RunConfig, StageName, Status
from sdae.records import DataFacts, EpochRecord, RunStatus, TrainingState
from sdae.runfolder import EVALUATION, FIGURES, PRETRAINED, SVM, WEIGHTS, RunFolder, check_out

if TYPE_CHECKING:
    from sdae.tensorboard import TensorBoardLog  # imported where a log starts: tensorboard is optional


class Saver:
    """Hooks that write metrics every epoch and the training state every `save_every` epochs (and when stopping).

    Nothing is written before an epoch of this command has completed: then `begin()` makes the run folder
    ready for its records (creates it, or records the new status) and returns it, and the TensorBoard log
    (`config.log`) starts. So a command that fails before leaves the run folder as it was.
    """

    def __init__(
        self,
        config: RunConfig,
        begin: Callable[[], RunFolder],
        records: list[EpochRecord],
        last_epoch: int,
        user: Hooks,
    ):
        self.config, self.begin, self.records, self.last_epoch, self.user = config, begin, records, last_epoch, user
        self.save_every = config.save_every
        self.folder: RunFolder | None = None
        self.log: TensorBoardLog | None = None  # the TensorBoard log, once begun
        self.stage: tuple | None = None  # the last `on_stage` report, for a log that starts later
        self.pending: tuple[TrainingState, list[EpochRecord]] | None = None

    def started(self) -> RunFolder:
        """The run folder, made ready for this command's records the first time (see the class)."""
        if self.folder is None:
            folder = self.begin()
            if folder.writes and Log.TENSORBOARD in self.config.log:
                from sdae.tensorboard import TensorBoardLog

                self.log = TensorBoardLog(folder.path, self.config.to_dict())
                if self.stage is not None:
                    self.log.on_stage(*self.stage)
            self.folder = folder
        return self.folder

    def on_stage(self, label: str, epochs: int, done: int) -> None:
        self.stage = (label, epochs, done)
        if self.log is not None:
            self.log.on_stage(label, epochs, done)
        if self.user.on_stage:
            self.user.on_stage(label, epochs, done)

    def on_epoch(self, record: EpochRecord) -> None:
        self.started()  # the epoch has completed (and passed the checks): from here on the command records
        self.records.append(record)
        if self.log is not None:
            self.log.on_epoch(record)
        if self.user.on_epoch:
            self.user.on_epoch(record)

    def on_state(self, state: TrainingState) -> None:
        self.pending = (state, list(self.records))
        if state.epoch % self.save_every == 0 or state.epoch == self.last_epoch:
            self.flush()  # the checkpoint, then the metrics that go with it
        else:
            self.started().write_metrics(self.records)
        if self.user.on_state:
            self.user.on_state(state)

    def flush(self) -> None:
        if self.pending is not None:
            folder = self.started()
            folder.save_checkpoint(*self.pending)
            folder.write_metrics(self.pending[1])
            self.pending = None

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

    def hooks(self) -> Hooks:
        return Hooks(
            on_batch=self.user.on_batch,
            on_epoch=self.on_epoch,
            on_state=self.on_state,
            on_stage=self.on_stage,
            check=self.user.check,
        )


def train_into(
    begin: Callable[[], RunFolder],
    config: RunConfig,
    stage: StageName,
    train: Callable[[Hooks], object],
    model: StackedDenoisingAutoencoder,
    records: list[EpochRecord],
    epochs: int,
    hooks: Hooks | None,
) -> RunFolder:
    """Run a training stage into the run folder that `begin()` gives once an epoch has completed (nothing is
    written before), then save its weights and mark it complete; returns the folder. Ctrl-C before an epoch
    has completed stops with KeyboardInterrupt, the folder as it was; after, with Interrupted, its state saved."""
    if Log.TENSORBOARD in config.log:
        _check_tensorboard()  # before training, not when the first epoch is recorded
    saver = Saver(config, begin, records, epochs, hooks or Hooks())
    pretraining = stage == StageName.PRETRAIN
    try:
        train(saver.hooks())
    except KeyboardInterrupt:
        saver.flush()
        if saver.folder is None:
            raise  # stopped before an epoch of this command completed: it saved nothing, the folder is as it was
        how = "`resume_pretraining`" if pretraining else "`resume=True`"
        raise Interrupted(
            f"stopped; the last completed epoch is saved; continue with {how}",
            "pretrain" if pretraining else "finetune",
            str(saver.folder.path),
        ) from None
    except DivergenceError:
        saver.flush()
        if not pretraining:  # the fine-tuning ran and diverged: that is recorded, so that it is not resumed
            folder = saver.started()
            folder.status.finetune = Status.DIVERGED
            folder.write_meta()
        raise
    except BaseException:
        saver.flush()
        raise
    finally:
        saver.close()
    folder = saver.started()  # a stage resumed after its last epoch has none to run, and completes here
    if pretraining:
        folder.save_weights(model, PRETRAINED)
    folder.save_weights(model, WEIGHTS)
    folder.write_metrics(saver.records)
    if pretraining:
        folder.status.pretrain = Status.COMPLETE
    else:
        folder.status.finetune = Status.COMPLETE
    folder.write_meta()
    if pretraining:
        folder.remove_checkpoint()  # fine-tuning's last state stays: `extend_to` continues from it
    return folder


def claim_out(out: str | os.PathLike, overwrite: bool) -> FolderLock | None:
    """Refuse before training what `RunFolder.create` would refuse when the first epoch has completed, writing
    nothing; an existing run that `overwrite` replaces stays locked (the lock returned) until then."""
    path = Path(out)
    return FolderLock(path, "pretraining").acquire() if check_out(path, overwrite) else None


def planned(out: str | os.PathLike, config: RunConfig, facts: DataFacts) -> RunFolder:
    """The run folder rank 0 creates, as the other processes of a data-parallel run see it: read only."""
    meta = {"config": config.to_dict(), "data_facts": facts.to_dict(), "status": RunStatus().to_dict()}
    return RunFolder(out, {}, meta, writes=False)


def _check_tensorboard() -> None:
    """What `sdae.tensorboard.writer` would refuse when the log starts, refused before training instead."""
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        raise UsageError("`log` tensorboard needs the tensorboard package: pip install 'sdae[tensorboard]'") from None


def remove_outputs(folder: RunFolder) -> list[str]:
    """Delete what evaluate, svm and visualize wrote about the previous weights (links are not followed)."""
    removed: list[str] = []
    if not folder.writes:
        return removed
    for name in (EVALUATION, SVM, FIGURES):
        path = folder.path / name
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            else:
                continue
        except OSError as e:
            raise WriteError(f"cannot remove {path}, which describes the previous weights: {e.strerror or e}") from None
        removed.append(name)
    return removed
