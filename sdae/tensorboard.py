"""TensorBoard logs of a run, in RUN/tensorboard/ (point TensorBoard's logdir at the runs folder to browse them all).

Each epoch adds its training and validation losses, the learning rate and each layer's fraction of
dead units, under the stage's name (`pretrain/pair1/...`, `finetune/...`, `supervised/...`); the
configuration is written as text when a stage starts, and `visualize` adds its figures as images.
TensorBoard is an optional extra (`pip install 'sdae[tensorboard]'`).
"""

from __future__ import annotations

import json
from pathlib import Path

from sdae.errors import UsageError
from sdae.loop import Hooks
from sdae.records import EpochRecord
from sdae.runfolder import TENSORBOARD as FOLDER


def writer(run_path: str | Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UsageError("`log` tensorboard needs the tensorboard package: pip install 'sdae[tensorboard]'") from None
    return SummaryWriter(log_dir=str(Path(run_path) / FOLDER))


class TensorBoardLog:
    """Hooks that add each epoch to the run's TensorBoard log."""

    def __init__(self, run_path: str | Path, config: dict):
        self.writer = writer(run_path)
        self.config = config

    def on_stage(self, label: str, epochs: int, done: int) -> None:
        self.writer.add_text("config", "```\n" + json.dumps(self.config, indent=2) + "\n```")

    def on_epoch(self, record: EpochRecord) -> None:
        tag = record.stage if record.pair is None else f"{record.stage}/pair{record.pair}"
        scalars = {
            "train_loss": record.train_loss,
            "val_loss": record.val_loss,
            "val_error": record.val_error,
            "lr": record.lr,
        }
        for name, value in scalars.items():
            if value is not None:
                self.writer.add_scalar(f"{tag}/{name}", value, record.epoch)
        for layer, fraction in enumerate(record.dead_units or [], start=1):
            self.writer.add_scalar(f"{tag}/dead_units/layer{layer}", fraction, record.epoch)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    def hooks(self, user: Hooks | None = None) -> Hooks:
        """This log's hooks, passing every report on to `user`'s hooks too."""
        return Hooks(on_epoch=self.on_epoch, on_stage=self.on_stage).also(user)


def add_figures(run_path: str | Path, paths: list[Path]) -> None:
    """Add PNG figures to the run's log as images."""
    from matplotlib.image import imread

    log = writer(run_path)
    for path in paths:
        image = imread(path)[..., :3]
        log.add_image(f"figures/{Path(path).stem}", image, dataformats="HWC")
    log.close()
