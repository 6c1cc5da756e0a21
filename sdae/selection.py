"""Supervised fine-tuning's choice of epoch (Vincent et al. 2010, section 5: hyperparameters and the stopping
epoch chosen on validation examples): error rates, the epoch kept, and its weights."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from sdae.data import Examples
from sdae.device import autocast
from sdae.model import StackedDenoisingAutoencoder, evaluating
from sdae.options import StageName
from sdae.records import EpochRecord


@torch.no_grad()
def classification_scores(
    model: StackedDenoisingAutoencoder, inputs: Examples, labels: torch.Tensor, batch_size: int = 4096
) -> tuple[float, float]:
    """(error rate as a fraction, mean cross-entropy per example) of the model on these examples; `labels`: (n,)."""
    wrong, loss = 0, 0.0
    with evaluating(model):
        for start, x in zip(range(0, len(inputs), batch_size), inputs.batches(batch_size)):
            truth = labels[start : start + batch_size]
            with autocast(inputs.device):
                logits = model.classify(x).float()
            wrong += int((logits.argmax(1) != truth).sum())
            loss += float(F.cross_entropy(logits, truth, reduction="sum"))
    return wrong / len(inputs), loss / len(inputs)


def best_record(records: list[EpochRecord]) -> EpochRecord:
    """The supervised epoch whose weights are kept: lowest validation error, then lowest validation loss; the
    last epoch where no examples were held out (a run refit on all its training examples). Raises ValueError
    if `records` has no supervised epoch."""
    supervised = [r for r in records if r.stage == StageName.SUPERVISED]
    if not supervised:
        raise ValueError("no supervised epoch in these records")
    if supervised[-1].val_error is None:
        return supervised[-1]
    return min(supervised, key=lambda r: (r.val_error, r.val_loss))


@dataclass
class BestEpoch:
    """The best validation epoch so far and its weights (saved with the state, so a resume keeps it)."""

    epoch: int = 0
    error: float = float("inf")
    loss: float = float("inf")
    weights: dict | None = None

    def offer(self, epoch: int, error: float, loss: float, model: nn.Module) -> None:
        if (error, loss) < (self.error, self.loss):
            self.epoch, self.error, self.loss = epoch, error, loss
            self.weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
