"""Checks and warnings that watch a stage as hooks: a diverging loss stops it, dead units are reported
(an SDAEWarning: `warnings.filterwarnings("ignore", category=SDAEWarning)` silences it).

`guards(options)` gives the hooks every sdae stage runs with; the loop (`sdae.loop`) knows nothing of them.
"""

from __future__ import annotations

import math
import warnings

from sdae.errors import DivergenceError, SDAEWarning
from sdae.loop import Hooks
from sdae.options import TrainOptions
from sdae.records import EpochRecord

EXPLOSION = 100.0  # an epoch whose mean loss is this many times the stage's first batch loss has diverged
DEAD_WARNING = 0.10  # a layer with more dead units than this is reported once per stage


class DivergenceGuard:
    """Raises DivergenceError (with `.epoch` and `.loss`) as soon as an epoch's training or held-out loss is not
    finite, or its training loss is `EXPLOSION` times the stage's first batch loss. It is raised before the epoch
    is reported, so whatever was saved last is the last good state."""

    def __init__(self, options: TrainOptions):
        self.options, self.done = options, 0

    def on_stage(self, label: str, epochs: int, done: int) -> None:
        self.done = done

    def check(self, record: EpochRecord, reference: float) -> None:
        bad = next((v for v in (record.train_loss, record.val_loss) if v is not None and not math.isfinite(v)), None)
        if bad is not None:
            what, loss = f"the loss became {bad}", bad
        elif math.isfinite(reference) and record.train_loss > EXPLOSION * max(reference, 1e-12):
            what, loss = (
                (
                    f"the loss exploded to {record.train_loss:.3g}, {EXPLOSION:g} times more than at the start "
                    f"({reference:.3g})"
                ),
                record.train_loss,
            )
        else:
            self.done += 1
            return
        kept = (
            "the last good epoch's state is kept"
            if self.done > 0
            else "no epoch of this stage completed, so nothing of it was saved"
        )
        raise DivergenceError(
            f"{what} in epoch {record.epoch}; training stopped and {kept}; start this stage again "
            f"with a lower learning rate (`lr`, now {self.options.lr:g}) or less noise, with "
            "`overwrite=True`",
            record.epoch,
            loss,
        )


class DeadUnitWarning:
    """One warning (SDAEWarning) the first time a layer the stage trains (a pair trains its own layer only) has
    more than `DEAD_WARNING` of its units dead on the examples they are counted on (`counted_on`: "validation",
    or "training" when the stage holds none out)."""

    def __init__(self, counted_on: str = "validation"):
        self.label, self.counted_on = "", counted_on
        self.warned: set[int] = set()

    def on_stage(self, label: str, epochs: int, done: int) -> None:
        self.label, self.warned = label, set()

    def on_epoch(self, record: EpochRecord) -> None:
        for layer, fraction in enumerate(record.dead_units or [], start=1):
            if record.pair is not None and layer != record.pair:
                continue
            if fraction > DEAD_WARNING and layer not in self.warned:
                self.warned.add(layer)
                warnings.warn(
                    SDAEWarning(
                        f"{self.label}, epoch {record.epoch}: {100 * fraction:.0f}% of layer "
                        f"{layer}'s units are dead on the {self.counted_on} examples"
                    ),
                    stacklevel=2,
                )


def guards(options: TrainOptions, counted_on: str = "validation") -> Hooks:
    """The hooks every sdae stage runs with, before the caller's: the divergence guard and the dead-unit warning
    (`counted_on`: the examples the stage counts dead units on, "validation" or "training")."""
    divergence, dead = DivergenceGuard(options), DeadUnitWarning(counted_on)

    def on_stage(label: str, epochs: int, done: int) -> None:
        divergence.on_stage(label, epochs, done)
        dead.on_stage(label, epochs, done)

    return Hooks(check=divergence.check, on_epoch=dead.on_epoch, on_stage=on_stage)
