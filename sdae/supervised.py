"""Supervised fine-tuning: a softmax layer on the top code, every layer trained on the labels.

As in the paper, the pretrained encoder initialises a classifier, which is then trained end to end
with cross-entropy on clean inputs. The validation examples choose the epoch: the weights of the
epoch with the lowest validation error (ties: lowest validation loss) are the result, and
training stops early after `patience` epochs without improvement. The test set is not used here.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from sdae.data import Examples
from sdae.model import StackedDenoisingAutoencoder
from sdae.pretrain import record
from sdae.train import EpochResult, Hooks, TrainingState, TrainOptions, autocast, fit, make_optimizer


class ClassificationObjective:
    """Batch indices in, the cross-entropy of the network's class logits out."""

    def __init__(self, model: StackedDenoisingAutoencoder, inputs: Examples, labels: torch.Tensor):
        self.model, self.inputs, self.labels = model, inputs, labels

    def __call__(self, index: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.model.classify(self.inputs.batch(index)).float(), self.labels[index])


@torch.no_grad()
def classification_scores(model: StackedDenoisingAutoencoder, inputs: Examples, labels: torch.Tensor,
                          batch_size: int = 4096) -> tuple[float, float]:
    """(error rate, mean cross-entropy) of the model on these examples."""
    was_training = model.training
    model.eval()
    wrong, loss = 0, 0.0
    for start in range(0, len(inputs), batch_size):
        index = slice(start, start + batch_size)
        with autocast(inputs.device):
            logits = model.classify(inputs.batch(index)).float()
        wrong += int((logits.argmax(1) != labels[index]).sum())
        loss += float(F.cross_entropy(logits, labels[index], reduction="sum"))
    model.train(was_training)
    return wrong / len(inputs), loss / len(inputs)


def best_record(records: list[dict]) -> dict:
    """The supervised epoch whose weights are kept: lowest validation error, then lowest validation loss."""
    return min((r for r in records if r["stage"] == "supervised"), key=lambda r: (r["val_error"], r["val_loss"]))


class EarlyStopping(Exception):
    """Raised inside the epoch loop when validation stopped improving (caught by `supervised_finetune`)."""


def supervised_finetune(
    model: StackedDenoisingAutoencoder,
    train: Examples,
    train_labels: torch.Tensor,
    val: Examples,
    val_labels: torch.Tensor,
    options: TrainOptions,
    generator: torch.Generator,
    patience: int | None = None,
    resume: TrainingState | None = None,
    hooks: Hooks | None = None,
) -> list[dict]:
    """Train `model` (which must have a head) on the labels; leaves it with the best validation epoch's weights."""
    options.validate()
    hooks = hooks or Hooks()
    optimizer = make_optimizer(model.parameters(), options)
    best = {"epoch": 0, "error": float("inf"), "loss": float("inf"), "model": None}
    start = 0
    if resume is not None:
        start = resume.restore(model, optimizer, generator)
        best = dict(resume.extra["best"])
    records: list[dict] = []

    def on_epoch(result: EpochResult) -> None:
        error, loss = classification_scores(model, val, val_labels)
        if (error, loss) < (best["error"], best["loss"]):
            best.update(epoch=result.epoch, error=error, loss=loss,
                        model={k: v.detach().clone() for k, v in model.state_dict().items()})
        records.append({**record("supervised", None, result, "cross-entropy"), "val_loss": loss, "val_error": error})
        hooks.epoch_done(records[-1], lambda: TrainingState.capture("supervised", None, result.epoch, model, optimizer,
                                                                   generator, {"best": best}))
        if patience is not None and result.epoch - best["epoch"] >= patience:
            raise EarlyStopping

    model.train()
    objective = ClassificationObjective(model, train, train_labels)
    try:
        fit(objective, optimizer, len(train), options, generator, None, start, hooks.on_batch, on_epoch, label="supervised")
    except EarlyStopping:
        pass
    if best["model"] is not None:
        model.load_state_dict(best["model"])
    return records
