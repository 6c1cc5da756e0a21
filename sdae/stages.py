"""The three stages of training a stacked denoising autoencoder, and their objectives.

- `pretrain`: greedy layer-wise denoising pretraining (Vincent et al. 2010, section 3.5). Pair k
  is trained alone, the pairs below it frozen: its input is the clean code of pairs 1..k-1
  (computed once, without gradients), that input is corrupted, and the pair reconstructs the
  uncorrupted input. Only pair k's parameters are given to the optimizer. The noise on codes is
  relative to each unit's own scale over the clean training codes (see `sdae.corruption`).
- `finetune`: every layer end to end on the denoising criterion: the network's input is corrupted
  and it reconstructs the clean input.
- `supervised_finetune`: a softmax layer on the top code, every layer trained with cross-entropy
  on the labels of clean inputs. The validation examples choose the epoch: the weights of the
  epoch with the lowest validation error (ties: lowest validation loss) are the result, and
  training stops early after `patience` epochs without improvement. The test set is not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from sdae import distributed
from sdae.corruption import Corruption, ValueRange
from sdae.data import Examples
from sdae.data.dataset import as_examples
from sdae.errors import UsageError
from sdae.model import StackedDenoisingAutoencoder
from sdae.train import EpochRecord, Hooks, Stage, TrainingState, TrainOptions, autocast, mean_loss, run_stage

VALIDATION_SEED = 2010  # validation noise is drawn afresh from this seed at every evaluation


def validation_generator(device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(VALIDATION_SEED)


@dataclass(frozen=True)
class Criterion:
    """How the denoising loss is formed, beyond the noise itself.

    `emphasis=(alpha, beta)`: the paper's emphasized denoising, the loss on each component weighted
    by alpha where the noise corrupted it and beta elsewhere (masking and salt-and-pepper; additive
    noise corrupts every component). `fixed=True`: each training example is corrupted once, before
    training, and sees that same corruption every epoch (as the original notebook did); by default
    the noise is drawn afresh for every batch.
    """

    emphasis: tuple[float, float] | None = None
    fixed: bool = False


def resolve_loss(kind: str, sigmoid_output: bool) -> str:
    """`auto` (and `bce` where it cannot apply) becomes bce behind a Sigmoid, mse otherwise.

    Targets behind a Sigmoid are in [0, 1] (pixels, or sigmoid codes); ReLU codes are not
    probabilities, so pairs that reconstruct them always use squared error.
    """
    return "bce" if sigmoid_output and kind != "mse" else "mse"


def reconstruction_loss(pre_activation: torch.Tensor, target: torch.Tensor, kind: str, activation: nn.Module,
                        weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over all elements (each weighted, if `weights`); bce is computed from the logits, for stability."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(pre_activation, target, weight=weights)
    if weights is None:
        return F.mse_loss(activation(pre_activation).float(), target)
    return ((activation(pre_activation).float() - target) ** 2 * weights).mean()


class DenoisingObjective:
    """Batch indices in, the denoising loss of `module` on those examples out.

    `module` has `pre_activation(x)` and `output_activation` (a DenoisingPair or the whole
    network); `inputs` has `batch(index)` (an `Examples`); the corruption draws from `generator`.
    """

    def __init__(self, module: nn.Module, inputs: Examples, noise: Corruption, generator: torch.Generator,
                 loss: str, value_range: ValueRange = (0.0, 1.0), criterion: Criterion = Criterion()):
        self.module, self.inputs, self.noise, self.generator = module, inputs, noise, generator
        self.method = "pre_activation"
        self.forward = module.pre_activation  # data-parallel training routes it through DDP
        self.loss, self.value_range, self.criterion = loss, value_range, criterion
        self.fixed: tuple[torch.Tensor, torch.Tensor | None] | None = None
        if criterion.fixed and distributed.current().distributed:
            raise UsageError("`fixed_noise` corrupts each example once, in one process; it cannot be split between "
                             "processes: train it in one")
        if criterion.fixed:
            self.fixed = self._corrupt_all()

    def _corrupt_all(self, batch_size: int = 8192) -> tuple[torch.Tensor, torch.Tensor | None]:
        parts = [self.noise.corrupt_marked(self.inputs.batch(slice(i, i + batch_size)), self.generator, self.value_range)
                 for i in range(0, len(self.inputs), batch_size)]
        marks = None if any(m is None for _, m in parts) else torch.cat([m for _, m in parts])
        return torch.cat([c for c, _ in parts]), marks

    def __call__(self, index: torch.Tensor) -> torch.Tensor:
        clean = self.inputs.batch(index)
        if self.fixed is not None:
            corrupted, marked = self.fixed[0][index], None if self.fixed[1] is None else self.fixed[1][index]
        else:
            corrupted, marked = self.noise.corrupt_marked(clean, self.generator, self.value_range)
        weights = None
        if self.criterion.emphasis is not None:
            alpha, beta = self.criterion.emphasis
            weights = torch.full_like(clean, alpha) if marked is None else \
                torch.where(marked, torch.tensor(alpha, dtype=clean.dtype, device=clean.device),
                            torch.tensor(beta, dtype=clean.dtype, device=clean.device))
        return reconstruction_loss(self.forward(corrupted), clean, self.loss, self.module.output_activation,
                                   weights)

    def validation_loss(self, held_out: Examples, batch_size: int) -> float:
        """The same loss on held-out examples, with noise drawn afresh from the fixed validation seed."""
        device = held_out.device
        objective = DenoisingObjective(self.module, held_out, self.noise, validation_generator(device), self.loss,
                                       self.value_range, Criterion(self.criterion.emphasis))
        return mean_loss(objective, len(held_out), batch_size, device)


def unit_range(codes: torch.Tensor) -> ValueRange:
    """Each unit's own (minimum, maximum, standard deviation) over these clean codes: what its noise is relative to."""
    return codes.min(0).values, codes.max(0).values, codes.std(0, correction=0)


class EncodedExamples(Examples):
    """The clean codes after `layer` encoder units of streamed examples, computed batch by batch
    (the codes of data larger than memory would not fit in it either)."""

    def __init__(self, model: StackedDenoisingAutoencoder, layer: int, source: Examples):
        self.model, self.layer, self.source = model, layer, source

    streamed = True

    def __len__(self) -> int:
        return len(self.source)

    @property
    def features(self) -> int:
        return self.model.sizes[self.layer]

    @property
    def device(self) -> torch.device:
        return self.source.device

    @torch.no_grad()
    def batch(self, index: torch.Tensor | slice) -> torch.Tensor:
        return self.model.encode(self.source.batch(index), self.layer).float()

    def subset(self, index: torch.Tensor) -> EncodedExamples:
        return EncodedExamples(self.model, self.layer, self.source.subset(index))


def streamed_unit_range(codes: Examples, batch_size: int = 4096) -> ValueRange:
    """`unit_range` accumulated over batches."""
    low = high = total = squares = None
    for start in range(0, len(codes), batch_size):
        x = codes.batch(slice(start, start + batch_size)).double()
        if low is None:
            low, high, total, squares = x.min(0).values, x.max(0).values, x.sum(0), (x * x).sum(0)
        else:
            low, high = torch.minimum(low, x.min(0).values), torch.maximum(high, x.max(0).values)
            total, squares = total + x.sum(0), squares + (x * x).sum(0)
    mean = total / len(codes)
    std = (squares / len(codes) - mean * mean).clamp_min(0).sqrt()
    return low.float(), high.float(), std.float()


class ClassificationObjective:
    """Batch indices in, the cross-entropy of the network's class logits out."""

    def __init__(self, model: StackedDenoisingAutoencoder, inputs: Examples, labels: torch.Tensor):
        self.model, self.inputs, self.labels = model, inputs, labels
        self.method, self.forward = "classify", model.classify  # data-parallel training routes it through DDP

    def __call__(self, index: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.forward(self.inputs.batch(index)).float(), self.labels[index])


@torch.no_grad()
def clean_codes(model: StackedDenoisingAutoencoder, layer: int, examples: Examples, batch_size: int = 4096) -> torch.Tensor:
    """The uncorrupted codes after `layer` encoder units, as one float32 tensor on the examples' device."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model.encode(examples.batch(slice(i, i + batch_size)), layer)
                          for i in range(0, len(examples), batch_size)])
    finally:
        model.train(was_training)


def _validation(objective: DenoisingObjective, val: Examples | None, batch_size: int):
    if val is None or len(val) == 0:
        return None

    def validate(epoch: int) -> tuple[float, None]:
        mine = _my_share(val)
        return distributed.mean_over_ranks(objective.validation_loss(mine, batch_size), len(mine)), None

    return validate


def _my_share(examples: Examples) -> Examples:
    """With several processes, each evaluates every N-th held-out example (the losses are then averaged)."""
    world = distributed.current()
    if not world.distributed:
        return examples
    return examples.subset(distributed.shard(torch.arange(len(examples), device=examples.device), world))


def dead_units(model: StackedDenoisingAutoencoder, examples: Examples, layers: int | None = None,
               batch_size: int = 4096) -> list[float]:
    """Per layer, the fraction of units dead on these examples (see `inactive_fractions`)."""
    return model.inactive_fractions((examples.batch(slice(i, i + batch_size)) for i in range(0, len(examples), batch_size)),
                                    layers)


def _monitor(model: StackedDenoisingAutoencoder, examples: Examples | None, layers: int | None = None):
    return None if examples is None or len(examples) == 0 else lambda: dead_units(model, examples, layers)


def pretrain(model: StackedDenoisingAutoencoder, train: Examples, val: Examples | None, noise: Corruption,
             options: TrainOptions, generator: torch.Generator, resume: TrainingState | None = None,
             hooks: Hooks | None = None, criterion: Criterion = Criterion()) -> list[EpochRecord]:
    """Greedily pretrain every pair of `model` (on `train.device`) for `options.epochs` epochs each.

    `train` and `val` are `Examples`, or 2-D tensors or NumPy arrays of examples scaled to [0, 1].
    `resume` continues from a state captured by `hooks.on_state`. Returns the epochs' records.
    """
    options.validate()
    needs_unit = resolve_loss(options.loss, True) == "bce"
    train, val = as_examples(train, "train", needs_unit), as_examples(val, "val", needs_unit)
    first = 1
    if resume is not None:
        resume.restore(model, None, generator)  # the lower pairs' weights, before their codes are computed
        first = resume.pair
    records = []
    for k in range(first, model.depth + 1):
        inputs, val_inputs, value_range = train, val, (0.0, 1.0)
        if k > 1 and train.streamed:  # codes of data larger than memory: computed per batch
            inputs = EncodedExamples(model, k - 1, train)
            val_inputs = None if val is None else EncodedExamples(model, k - 1, val)
            value_range = streamed_unit_range(inputs)
        elif k > 1:
            inputs = Examples(clean_codes(model, k - 1, train))
            val_inputs = None if val is None else Examples(clean_codes(model, k - 1, val))
            value_range = unit_range(inputs.values)
        pair = model.pair(k)
        resuming = resume is not None and k == resume.pair
        loss = resolve_loss(options.loss, sigmoid_output=k == 1 or model.activation == "sigmoid")
        objective = DenoisingObjective(pair, inputs, noise, generator, loss, value_range, criterion)
        stage = Stage("pretrain", pair, objective, len(inputs), loss, pair=k,
                      validate=_validation(objective, val_inputs, options.batch_size),
                      units=_monitor(model, val if val is not None else train, k))
        records += run_stage(stage, model, options, generator, hooks, resume if resuming else None)
    return records


def finetune(model: StackedDenoisingAutoencoder, train: Examples, val: Examples | None, noise: Corruption,
             options: TrainOptions, generator: torch.Generator, resume: TrainingState | None = None,
             hooks: Hooks | None = None, criterion: Criterion = Criterion()) -> list[EpochRecord]:
    """Train every layer of `model` (on `train.device`) end to end on the denoising criterion.

    `train` and `val` are `Examples`, or 2-D tensors or NumPy arrays of examples scaled to [0, 1].
    """
    loss = resolve_loss(options.loss, sigmoid_output=True)
    train, val = as_examples(train, "train", loss == "bce"), as_examples(val, "val", loss == "bce")
    objective = DenoisingObjective(model, train, noise, generator, loss, criterion=criterion)
    stage = Stage("finetune", model, objective, len(train), loss, validate=_validation(objective, val, options.batch_size),
                  units=_monitor(model, val if val is not None else train))
    return run_stage(stage, model, options, generator, hooks, resume)


@torch.no_grad()
def classification_scores(model: StackedDenoisingAutoencoder, inputs: Examples, labels: torch.Tensor,
                          batch_size: int = 4096) -> tuple[float, float]:
    """(error rate, mean cross-entropy) of the model on these examples."""
    was_training = model.training
    model.eval()
    wrong, loss = 0, 0.0
    try:
        for start in range(0, len(inputs), batch_size):
            index = slice(start, start + batch_size)
            with autocast(inputs.device):
                logits = model.classify(inputs.batch(index)).float()
            wrong += int((logits.argmax(1) != labels[index]).sum())
            loss += float(F.cross_entropy(logits, labels[index], reduction="sum"))
    finally:
        model.train(was_training)
    return wrong / len(inputs), loss / len(inputs)


def best_record(records: list[EpochRecord]) -> EpochRecord:
    """The supervised epoch whose weights are kept: lowest validation error, then lowest validation loss."""
    return min((r for r in records if r.stage == "supervised"), key=lambda r: (r.val_error, r.val_loss))


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


def supervised_finetune(model: StackedDenoisingAutoencoder, train: Examples, train_labels: torch.Tensor, val: Examples,
                        val_labels: torch.Tensor, options: TrainOptions, generator: torch.Generator,
                        patience: int | None = None, resume: TrainingState | None = None,
                        hooks: Hooks | None = None) -> list[EpochRecord]:
    """Train `model` (which must have a head) on the labels; leaves it with the best validation epoch's weights."""
    train, val = as_examples(train, "train"), as_examples(val, "val")
    best = BestEpoch(**resume.extra["best"]) if resume is not None else BestEpoch()

    def validate(epoch: int) -> tuple[float, float]:
        mine = _my_share(val)
        error, loss = classification_scores(model, mine, distributed.shard(val_labels, distributed.current()))
        error, loss = (distributed.mean_over_ranks(v, len(mine)) for v in (error, loss))
        best.offer(epoch, error, loss, model)
        return loss, error

    stage = Stage("supervised", model, ClassificationObjective(model, train, train_labels), len(train), "cross-entropy",
                  validate=validate, units=_monitor(model, val), extra=lambda: {"best": vars(best)},
                  stop=lambda r: patience is not None and r.epoch - best.epoch >= patience)
    records = run_stage(stage, model, options, generator, hooks, resume)
    if best.weights is not None:
        model.load_state_dict(best.weights)
    return records
