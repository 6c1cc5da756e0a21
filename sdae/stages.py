"""The three stages of training a stacked denoising autoencoder (Vincent et al. 2010, section 3.5).

- `pretrain`: greedy layer-wise denoising pretraining. Pair k is trained alone, the pairs below it
  frozen: its input is the clean code of pairs 1..k-1 (computed once, without gradients), that
  input is corrupted, and the pair reconstructs the uncorrupted input. Only pair k's parameters
  are given to the optimizer. The noise on codes is relative to each unit's own scale over the
  clean training codes (see `sdae.corruption`).
- `finetune`: every layer end to end on the denoising criterion: the network's input is corrupted
  and it reconstructs the clean input.
- `supervised_finetune`: a softmax layer on the top code, every layer trained with cross-entropy
  on the labels of clean inputs. The validation examples choose the epoch: the weights of the epoch
  with the lowest validation error (ties: lowest validation loss) are the result, and training stops
  after `patience` epochs without improvement; with none held out, the last epoch's. Test set unused.

Every stage runs with the guards of `sdae.guards` (a diverging loss raises DivergenceError; dead
units are warned about once), then the caller's hooks. `world` is this process's place in a
data-parallel run (one process by default).
"""

from __future__ import annotations

import torch
from torch import nn

from sdae import distributed
from sdae.codes import EncodedExamples, clean_codes, streamed_unit_range, unit_range
from sdae.corruption import Corruption, NoNoise
from sdae.data import Examples
from sdae.data.dataset import as_examples
from sdae.device import wrapped
from sdae.distributed import World
from sdae.errors import DataError, UsageError
from sdae.guards import guards
from sdae.loop import Hooks, Stage, numeric_batch_size, run_stage
from sdae.model import StackedDenoisingAutoencoder
from sdae.objectives import ClassificationObjective, ClassLogits, DenoisingObjective, Logits, resolve_loss
from sdae.options import Criterion, Output, StageName, TrainOptions
from sdae.rbm import RBMObjective
from sdae.records import EpochRecord, TrainingState
from sdae.selection import BestEpoch, best_record, classification_scores

__all__ = [
    "BestEpoch",
    "best_record",
    "classification_scores",
    "clean_codes",
    "dead_units",
    "finetune",
    "pretrain",
    "supervised_finetune",
]


def _held_out(objective: DenoisingObjective | RBMObjective, val: Examples | None, batch_size: int, world: World):
    if val is None or len(val) == 0:
        return None

    def evaluate(epoch: int) -> tuple[float, None]:
        mine = _my_share(val, world)
        return distributed.mean_over_ranks(objective.held_out_loss(mine, batch_size), len(mine), world), None

    return evaluate


def _my_share(examples: Examples, world: World) -> Examples:
    """With several processes, each evaluates every N-th held-out example (the losses are then averaged)."""
    if not world.distributed:
        return examples
    return examples.subset(distributed.shard(torch.arange(len(examples), device=examples.device), world))


def dead_units(
    model: StackedDenoisingAutoencoder, examples: Examples, layers: int | None = None, batch_size: int = 4096
) -> list[float]:
    """Per layer 1..`layers`, the fraction of units dead on these examples (see `inactive_fractions`)."""
    return model.inactive_fractions(examples.batches(batch_size), layers)


def _monitor(model: StackedDenoisingAutoencoder, examples: Examples | None, layers: int | None = None):
    return None if examples is None or len(examples) == 0 else lambda: dead_units(model, examples, layers)


def input_range(model: StackedDenoisingAutoencoder, train: Examples):
    """What noise on the network's inputs is relative to: [0, 1] behind a Sigmoid output; with an affine output
    (real-valued inputs) each input's own minimum, maximum and standard deviation over the training examples,
    as for codes (see `sdae.corruption`)."""
    return (0.0, 1.0) if model.output == "sigmoid" else streamed_unit_range(train)


def output_for(asked: str, train, scaling: str) -> str:
    """The reconstruction's last layer: `asked`, or for "auto" a Sigmoid where the scaled training examples lie
    in [0, 1] (always, under the global and feature rules) and an affine layer where they do not (real-valued
    data kept as it is, `scaling`="none")."""
    if scaling != "none" or asked == Output.AFFINE:
        return "sigmoid" if asked == Output.AUTO else str(asked)
    low, high, _ = streamed_unit_range(train)
    low, high = float(low.min()), float(high.max())
    inside = low >= 0.0 and high <= 1.0
    if asked == Output.SIGMOID and not inside:
        raise DataError(
            f"the training examples, kept as they are (`scaling`='none'), go from {low:g} to {high:g}, "
            "but a Sigmoid output reconstructs values in [0, 1]; choose `output`='affine', or scale "
            "them with `scaling`='global' or 'feature'"
        )
    return "sigmoid" if asked == Output.SIGMOID or inside else "affine"


def _network(module: nn.Module, options: TrainOptions, device: torch.device, world: World, unused: bool = False):
    return wrapped(module, device, world.distributed, options.compile, unused)


def pretrain(
    model: StackedDenoisingAutoencoder,
    train: Examples,
    val: Examples | None,
    noise: Corruption,
    options: TrainOptions,
    generator: torch.Generator,
    resume: TrainingState | None = None,
    hooks: Hooks | None = None,
    criterion: Criterion = Criterion(),
    world: World = World(),
) -> list[EpochRecord]:
    """Greedily pretrain every pair of `model` (on `train.device`) for `options.epochs` epochs each.

    `train` and `val` are `Examples`, or 2-D tensors or NumPy arrays (examples, features) scaled to
    [0, 1]. `resume` continues from a state captured by `hooks.on_state`. Returns the epochs' records.
    Raises UsageError for bad options or data, DivergenceError when the loss diverges.
    """
    options.validate()
    needs_unit = model.output == "sigmoid"  # a Sigmoid cannot reach targets outside [0, 1], whatever the loss
    train, val = as_examples(train, "train", needs_unit), as_examples(val, "val", needs_unit)
    options = options.for_examples(len(train))
    first = 1
    if resume is not None:
        resume.restore(model, None, generator)  # the lower pairs' weights, before their codes are computed
        assert resume.pair is not None, "a pretraining state names its pair"
        first = resume.pair
    records = []
    watch = guards(options, "training" if val is None else "validation").also(hooks)  # as `_monitor` counts
    first_range = input_range(model, train)  # pair 1's; an affine output's is a pass over the data: once
    for k in range(first, model.depth + 1):
        inputs, val_inputs, value_range = train, val, first_range
        if k > 1 and train.streamed:  # codes of data larger than memory: computed per batch
            inputs = EncodedExamples(model, k - 1, train)
            val_inputs = None if val is None else EncodedExamples(model, k - 1, val)
            value_range = streamed_unit_range(inputs)
        elif k > 1:
            codes = clean_codes(model, k - 1, train)
            inputs = Examples(codes)
            val_inputs = None if val is None else Examples(clean_codes(model, k - 1, val))
            value_range = unit_range(codes)
        pair = model.pair(k)
        resuming = resume is not None and k == resume.pair
        loss = resolve_loss(
            options.loss, sigmoid_output=model.output == "sigmoid" if k == 1 else model.activation == "sigmoid"
        )
        objective: DenoisingObjective | RBMObjective
        if criterion.kind == "rbm":
            if world.distributed:
                raise UsageError("`pretraining` rbm trains in one process; run it without torchrun")
            objective, loss = RBMObjective(pair, inputs, generator, criterion.cd_steps), f"cd-{criterion.cd_steps}"
        else:
            objective = DenoisingObjective(
                pair,
                inputs,
                NoNoise() if criterion.kind == "ae" else noise,  # the ordinary autoencoder: no corruption
                generator,
                loss,
                value_range,
                criterion,
                _network(Logits(pair), options, inputs.device, world),
                world.distributed,
            )
        stage = Stage(
            StageName.PRETRAIN,
            pair,
            objective,
            len(inputs),
            loss,
            pair=k,
            evaluate=_held_out(objective, val_inputs, numeric_batch_size(options), world),
            units=_monitor(model, val if val is not None else train, k),
            mark_steps=_marks(options, inputs),
        )
        records += run_stage(
            stage,
            model,
            options,
            generator,
            watch,
            resume if resuming else None,
            world,
            f"pretrain pair {k}/{model.depth}",
        )
        if isinstance(objective, RBMObjective):
            objective.unroll()
    return records


def _marks(options: TrainOptions, inputs: Examples) -> bool:
    return options.compile and inputs.device.type == "cuda"


def finetune(
    model: StackedDenoisingAutoencoder,
    train: Examples,
    val: Examples | None,
    noise: Corruption,
    options: TrainOptions,
    generator: torch.Generator,
    resume: TrainingState | None = None,
    hooks: Hooks | None = None,
    criterion: Criterion = Criterion(),
    world: World = World(),
) -> list[EpochRecord]:
    """Train every layer of `model` (on `train.device`) end to end on the denoising criterion.

    `train` and `val` are `Examples`, or 2-D tensors or NumPy arrays (examples, features) scaled to [0, 1].
    Raises as `pretrain` does.
    """
    loss = resolve_loss(options.loss, sigmoid_output=model.output == "sigmoid")
    needs_unit = model.output == "sigmoid"
    train, val = as_examples(train, "train", needs_unit), as_examples(val, "val", needs_unit)
    options = options.validate().for_examples(len(train))
    objective = DenoisingObjective(
        model,
        train,
        noise,
        generator,
        loss,
        input_range(model, train),
        criterion,
        network=_network(Logits(model), options, train.device, world),
        distributed=world.distributed,
    )
    stage = Stage(
        StageName.FINETUNE,
        model,
        objective,
        len(train),
        loss,
        evaluate=_held_out(objective, val, numeric_batch_size(options), world),
        units=_monitor(model, val if val is not None else train),
        mark_steps=_marks(options, train),
    )
    counted_on = "training" if val is None else "validation"  # as `_monitor` counts dead units
    return run_stage(stage, model, options, generator, guards(options, counted_on).also(hooks), resume, world)


def supervised_finetune(
    model: StackedDenoisingAutoencoder,
    train: Examples,
    train_labels: torch.Tensor,
    val: Examples | None,
    val_labels: torch.Tensor | None,
    options: TrainOptions,
    generator: torch.Generator,
    patience: int | None = None,
    resume: TrainingState | None = None,
    hooks: Hooks | None = None,
    world: World = World(),
    dropout: tuple[float, float] = (0.0, 0.0),
    input_noise: Corruption | None = None,
) -> list[EpochRecord]:
    """Train `model` (with a head) on the labels ((n,) int64 classes); leaves it with the best validation epoch's
    weights, the last epoch's where `val` is None (UsageError with `patience`). `dropout`: (input, hidden)
    fractions dropped in training; `input_noise`: a corruption of the inputs in training (`ClassLogits`)."""
    train, val = as_examples(train, "train"), as_examples(val, "val")
    if (val is None) != (val_labels is None) or (val is None and patience is not None):
        raise UsageError("validation examples and their labels go together, or neither (no `patience` then)")
    options = options.validate().for_examples(len(train))
    best = BestEpoch(**resume.extra["best"]) if resume is not None else BestEpoch()

    def evaluate(epoch: int) -> tuple[float, float]:
        assert val is not None and val_labels is not None
        mine = _my_share(val, world)
        error, loss = classification_scores(model, mine, distributed.shard(val_labels, world))
        error, loss = (distributed.mean_over_ranks(v, len(mine), world) for v in (error, loss))
        best.offer(epoch, error, loss, model)
        return loss, error

    network = _network(ClassLogits(model, dropout, generator, input_noise), options, train.device, world, unused=True)
    stage = Stage(
        StageName.SUPERVISED,
        model,
        ClassificationObjective(model, train, train_labels, network),
        len(train),
        "cross-entropy",
        evaluate=None if val is None else evaluate,
        units=_monitor(model, val if val is not None else train),
        extra=lambda: {"best": vars(best)},
        stop=lambda r: patience is not None and r.epoch - best.epoch >= patience,
        mark_steps=_marks(options, train),
    )
    watch = guards(options, "training" if val is None else "validation").also(hooks)
    records = run_stage(stage, model, options, generator, watch, resume, world)
    if best.weights is not None:
        model.load_state_dict(best.weights)
    return records
