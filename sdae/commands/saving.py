"""Training into a run folder: metrics every epoch, a checkpoint every `save_every` epochs, the last unsaved
state when a stage stops early (Ctrl-C, a diverging loss, any error), the final weights once it completes."""

from __future__ import annotations

from collections.abc import Callable

from sdae.errors import DivergenceError, Interrupted
from sdae.loop import Hooks
from sdae.model import StackedDenoisingAutoencoder
from sdae.options import StageName, Status
from sdae.records import EpochRecord, TrainingState
from sdae.runfolder import PRETRAINED, WEIGHTS, RunFolder


class Saver:
    """Hooks that write metrics every epoch and the training state every `save_every` epochs (and when stopping)."""

    def __init__(self, folder: RunFolder, records: list[EpochRecord], last_epoch: int, user: Hooks):
        self.folder, self.records, self.last_epoch, self.user = folder, records, last_epoch, user
        self.save_every = folder.config.save_every
        self.pending: tuple[TrainingState, list[EpochRecord]] | None = None

    def on_epoch(self, record: EpochRecord) -> None:
        self.records.append(record)
        if self.user.on_epoch:
            self.user.on_epoch(record)

    def on_state(self, state: TrainingState) -> None:
        self.pending = (state, list(self.records))
        if state.epoch % self.save_every == 0 or state.epoch == self.last_epoch:
            self.flush()  # the checkpoint, then the metrics that go with it
        else:
            self.folder.write_metrics(self.records)
        if self.user.on_state:
            self.user.on_state(state)

    def flush(self) -> None:
        if self.pending is not None:
            self.folder.save_checkpoint(*self.pending)
            self.folder.write_metrics(self.pending[1])
            self.pending = None

    def hooks(self) -> Hooks:
        return Hooks(on_batch=self.user.on_batch, on_epoch=self.on_epoch, on_state=self.on_state,
                     on_stage=self.user.on_stage, check=self.user.check)


def train_into(folder: RunFolder, stage: StageName, train: Callable[[Hooks], object],
               model: StackedDenoisingAutoencoder, records: list[EpochRecord], epochs: int, hooks: Hooks | None) -> None:
    """Run a training stage into the run folder, then save its weights and mark it complete."""
    log = None
    if folder.writes and "tensorboard" in folder.config.log:
        from sdae.tensorboard import TensorBoardLog

        log = TensorBoardLog(folder.path, folder.config.to_dict())
    saver = Saver(folder, records, epochs, log.hooks(hooks) if log else hooks or Hooks())
    pretraining = stage == StageName.PRETRAIN
    try:
        train(saver.hooks())
    except KeyboardInterrupt:
        saver.flush()
        how = "`resume_pretraining`" if pretraining else "`resume=True`"
        raise Interrupted(f"stopped; the last completed epoch is saved; continue with {how}",
                          "pretrain" if pretraining else "finetune", str(folder.path)) from None
    except DivergenceError:
        saver.flush()
        if not pretraining:
            folder.status.finetune = Status.DIVERGED
            folder.write_meta()
        raise
    except BaseException:
        saver.flush()
        raise
    finally:
        if log is not None:
            log.close()
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
