"""Progress on the terminal: a bar over each epoch's batches (on a terminal) and one line per epoch."""

from __future__ import annotations

import sys
import time

import click

from sdae.train import EpochRecord, Hooks


class Reporter:
    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.bar_shown = False
        self.tty = sys.stderr.isatty()
        self.last_draw = 0.0

    def on_batch(self, label: str, done: int, total: int, loss: float) -> None:
        now = time.monotonic()
        if not self.tty or (done < total and now - self.last_draw < 0.1):
            return
        self.last_draw = now
        width = 30
        filled = int(width * done / total)
        line = f"\r{label} [{'#' * filled}{'-' * (width - filled)}] {done}/{total} loss {loss:.4f}"
        click.echo(line, nl=False, err=True)
        self.bar_shown = True

    def on_epoch(self, record: EpochRecord) -> None:
        if self.bar_shown:
            click.echo("\r\033[K", nl=False, err=True)
            self.bar_shown = False
        where = record.stage if record.pair is None else f"{record.stage} pair {record.pair}"
        val = "" if record.val_loss is None else f"  val {record.val_loss:.5f}"
        if record.val_error is not None:
            val += f"  val error {100 * record.val_error:.2f}%"
        click.echo(f"{where} epoch {record.epoch}: train {record.train_loss:.5f}{val}  ({record.loss}, {record.seconds:.1f} s)")

    def hooks(self) -> Hooks:
        if self.quiet:
            return Hooks()
        return Hooks(on_batch=self.on_batch, on_epoch=self.on_epoch)
