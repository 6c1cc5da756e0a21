"""Progress on the terminal or in a notebook, for those who ask for it (`verbose=True`, the CLI).

`ProgressBars().hooks()` shows, with tqdm (`tqdm.auto`: a widget in Jupyter), a bar over each
stage's epochs and one over each epoch's batches, with rate, elapsed time and ETA, and keeps one
line per epoch ("pretrain pair 2/3 epoch 4/10: train ... val ..."). Bars are drawn only on a
terminal or in a notebook; the kept lines go to `lines` (standard output) whenever shown. This is
the one module of the library that writes to the terminal, and only when asked to.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm.auto import tqdm

from sdae.loop import Hooks
from sdae.records import EpochRecord


class ProgressBars:
    def __init__(self, lines: TextIO | None = None, bars: TextIO | None = None, keep_lines: bool = True):
        self.lines, self.bars, self.keep_lines = lines or sys.stdout, bars or sys.stderr, keep_lines
        self.stage_bar: tqdm | None = None
        self.batch_bar: tqdm | None = None
        self.label, self.epochs = "", 0

    def on_stage(self, label: str, epochs: int, done: int) -> None:
        self.close()
        self.label, self.epochs = label, epochs
        self.stage_bar = tqdm(
            total=epochs,
            initial=done,
            desc=label,
            unit="epoch",
            leave=False,
            file=self.bars,
            disable=None,
            dynamic_ncols=True,
        )

    def on_batch(self, label: str, done: int, total: int, loss: float) -> None:
        if self.batch_bar is None:
            self.batch_bar = tqdm(
                total=total, desc=label, unit="batch", leave=False, file=self.bars, disable=None, dynamic_ncols=True
            )
        self.batch_bar.update(done - self.batch_bar.n)
        self.batch_bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def on_epoch(self, record: EpochRecord) -> None:
        if self.batch_bar is not None:
            self.batch_bar.close()
            self.batch_bar = None
        if self.stage_bar is not None:
            self.stage_bar.update(1)
        if self.keep_lines:
            tqdm.write(self.line(record), file=self.lines)

    def line(self, record: EpochRecord) -> str:
        val = "" if record.val_loss is None else f"  val {record.val_loss:.5f}"
        if record.val_error is not None:
            val += f"  val error {100 * record.val_error:.2f}%"
        dead = "" if not record.dead_units else "  dead " + "/".join(f"{100 * f:.0f}%" for f in record.dead_units)
        of = f"/{self.epochs}" if self.epochs else ""
        return (
            f"{self.label} epoch {record.epoch}{of}: train {record.train_loss:.5f}{val}  "
            f"({record.loss_function}, {record.seconds:.1f} s){dead}"
        )

    def close(self) -> None:
        for bar in (self.batch_bar, self.stage_bar):
            if bar is not None:
                bar.close()
        self.stage_bar = self.batch_bar = None

    def hooks(self, user: Hooks | None = None) -> Hooks:
        """These bars' hooks, passing every report on to `user`'s hooks too."""
        return Hooks(on_batch=self.on_batch, on_epoch=self.on_epoch, on_stage=self.on_stage).also(user)
