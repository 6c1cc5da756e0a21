"""How `sdae bench` trains and chooses each network model of Table 3 on one problem (Vincent et al. 2010, section 5).

Every network model is the same 3-layer (DBN-1: 1-layer) network of `units` units a layer with a
softmax layer on its top code, fine-tuned on the labels; only its pretraining differs:

- `sda3`: stacked denoising autoencoders, masking noise at each of `noise_levels`;
- `saa3`: stacked ordinary autoencoders (the same criterion without corruption);
- `dbn1`, `dbn3`: restricted Boltzmann machines trained by CD-1, sigmoid units (a DBN's pretraining);
- `mlp`: no pretraining at all, the network trained from its random initial weights.

One stack is pretrained per pretraining setting (each masking level; the others have one); each
fine-tuning learning rate of `lrs` fine-tunes a copy of it from the same generator state. The
validation split chooses the setting, the rate and the fine-tuning epoch; where the choice lies on
the grid's edge, the search goes one step beyond it, and on while that lowers the validation error
(`beyond`). Only the chosen network is tested.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import torch

from sdae.bench_options import BenchOptions
from sdae.corruption import Corruption, Gaussian, Masking, NoNoise, SaltPepper
from sdae.data import variants
from sdae.data.dataset import Dataset
from sdae.loop import Hooks
from sdae.model import StackedDenoisingAutoencoder
from sdae.options import Activation, Criterion, Optimizer, Schedule, TrainOptions
from sdae.stages import best_record, classification_scores, pretrain, supervised_finetune


@dataclass(frozen=True)
class NetworkModel:
    """One network model: its depth, its layer-wise criterion (None: no pretraining), the units it needs (None:
    the bench's `activation`), and whether a noise level is searched (`noisy`, over `noise_levels`): the
    pretraining's corruption (`noise`: masking, saltpepper, or gaussian with the level as sigma), optionally
    emphasized (`emphasis`, section 4.3), or with `input_noise` the supervised fine-tuning's own inputs'
    (section 6.4's control; `pretraining` None)."""

    depth: int
    pretraining: str | None
    activation: Activation | None = None
    noisy: bool = False
    noise: str = "masking"
    emphasis: tuple[float, float] | None = None
    input_noise: bool = False

    def corruption(self, level: float) -> Corruption:
        if level == 0:
            return NoNoise()
        kinds = {"masking": Masking, "saltpepper": SaltPepper, "gaussian": Gaussian}
        return kinds[self.noise](level)


NETWORK_MODELS = MappingProxyType(
    {
        "mlp": NetworkModel(3, None),
        "saa3": NetworkModel(3, "ae"),
        "dbn1": NetworkModel(1, "rbm", Activation.SIGMOID),
        "dbn3": NetworkModel(3, "rbm", Activation.SIGMOID),
        "sda3": NetworkModel(3, "dae", noisy=True),
    }
)
MODELS = ("svm", *NETWORK_MODELS)  # Table 3's columns, in the order they are run and printed

REFERENCE_TRAIN = variants.SPLITS["default"][0]  # budgets are epochs at this training size (times the scale)
MAX_NOISE = 0.85  # the masking grid is not extended past this level
EXTENSION_ROUNDS = 3


def epochs_factor(train_size: int, scale: float) -> float:
    """How many epochs over `train_size` examples make as many updates as one over REFERENCE_TRAIN * scale (at least 1)."""
    return max(1.0, REFERENCE_TRAIN * scale / train_size)


def beyond(chosen: dict, tried: list[dict], noisy: bool = True) -> list[tuple[float, float]]:
    """Points one step past the grid's edge where validation's choice lies on it: masking +0.15 above
    the highest level tried (up to MAX_NOISE) or half the lowest, at the chosen rate (only where the
    level is searched: `noisy`); the rate doubled above the highest or halved below the lowest, at the
    chosen level."""
    level, lr = chosen["noise"], chosen["lr"]
    levels, rates = {t["noise"] for t in tried}, {t["lr"] for t in tried}
    points = []
    if noisy and level == max(levels) and round(level + 0.15, 2) <= MAX_NOISE:
        points.append((round(level + 0.15, 2), lr))
    elif noisy and level == min(levels) and level > 0:
        points.append((round(level / 2, 3), lr))
    if lr == max(rates):
        points.append((level, lr * 2))
    elif lr == min(rates):
        points.append((level, lr / 2))
    done = {(t["noise"], t["lr"]) for t in tried}
    return [p for p in points if p not in done]


@dataclass
class Searched:
    error: float  # test error of the chosen network, a fraction
    chosen: dict  # noise, lr, valid (%), epoch
    tried: list[dict]
    epochs_run: tuple[int, int]  # pretraining epochs per pair, fine-tuning epochs at most (after epochs_factor)


class Problem:
    """One problem's splits on the device: training and validation parts of the published training set, the test set."""

    def __init__(self, dataset: Dataset, device: torch.device):
        assert dataset.val_count is not None and dataset.test is not None  # the published splits
        assert dataset.train_labels is not None and dataset.test_labels is not None
        n = len(dataset.train)
        self.cut = n - dataset.val_count
        x = dataset.examples("train", device)
        self.train = x.subset(torch.arange(self.cut, device=device))
        self.val = x.subset(torch.arange(self.cut, n, device=device))
        labels = dataset.train_labels.to(device)
        self.train_labels, self.val_labels = labels[: self.cut], labels[self.cut :]
        self.test, self.test_labels = dataset.examples("test", device), dataset.test_labels.to(device)
        self.classes = int(labels.max()) + 1
        self.input_dim, self.device = dataset.input_dim, device


def stage_options(
    options: BenchOptions, factor: float, epochs: int, lr: float, schedule: Schedule = Schedule.CONSTANT
) -> TrainOptions:
    """One stage's optimizer options under the bench's: its batch size, warm-up in epochs scaled as the budgets
    (`factor`), and plain SGD (no momentum, the paper's) where `options.optimizer` is sgd."""
    momentum = 0.0 if options.optimizer == Optimizer.SGD else TrainOptions.momentum
    return TrainOptions(
        epochs=epochs,
        batch_size=options.batch_size,
        lr=lr,
        schedule=schedule,
        warmup=options.warmup * factor,
        optimizer=options.optimizer,
        momentum=momentum,
    )


def pretrain_epochs(model: NetworkModel, problem: Problem, options: BenchOptions) -> int:
    """Pretraining epochs a pair for `problem` (`epochs_factor`); 0 for a model without pretraining."""
    return round(options.pretrain_epochs * epochs_factor(problem.cut, options.scale)) if model.pretraining else 0


def pretrained_stack(
    model: NetworkModel, problem: Problem, options: BenchOptions, level: float, hooks: Hooks | None = None
) -> tuple[StackedDenoisingAutoencoder, torch.Tensor]:
    """The model's stack on `problem.device`, greedily pretrained by its criterion at noise `level` (not at all for
    a model without pretraining), and the state of the generator it trained with (fine-tuning goes on from it)."""
    device = problem.device
    sizes = [problem.input_dim] + [options.units] * model.depth
    setup = torch.Generator().manual_seed(options.seed)
    stack = StackedDenoisingAutoencoder(sizes, generator=setup, activation=model.activation or options.activation)
    stack.to(device)
    generator = torch.Generator(device=device).manual_seed(options.seed)
    if model.pretraining is not None:
        factor = epochs_factor(problem.cut, options.scale)
        train_options = stage_options(options, factor, pretrain_epochs(model, problem, options), options.pretrain_lr)
        noise = NoNoise() if model.input_noise else model.corruption(level)
        criterion = Criterion(model.emphasis, kind=model.pretraining)
        pretrain(stack, problem.train, problem.val, noise, train_options, generator, hooks=hooks, criterion=criterion)
    return stack, generator.get_state()


def search(
    model: NetworkModel, problem: Problem, options: BenchOptions, hooks: Hooks | None = None, known: Sequence[dict] = ()
) -> Searched:
    """Train and choose one network model on `problem` as the module's docstring says. `known`: points an earlier
    run with the same options tried (their validation errors are taken as they are; the chosen one is trained
    again to be tested)."""
    device = problem.device
    factor = epochs_factor(problem.cut, options.scale)
    epochs = round(options.epochs * factor)
    patience = None if options.patience is None else round(options.patience * factor)
    stacks: dict[float, tuple[StackedDenoisingAutoencoder, torch.Tensor]] = {}
    tried: list[dict] = []
    best: tuple[tuple[float, float, float], dict, StackedDenoisingAutoencoder | None] | None = None
    earlier = {(t["noise"], t["lr"]): t for t in known}

    def pretrained(level: float):
        if level not in stacks:
            stacks[level] = pretrained_stack(model, problem, options, level, hooks)
        return stacks[level]

    def trained(level: float, lr: float):
        stack, state = pretrained(level)
        network = copy.deepcopy(stack)
        network.add_head(problem.classes, generator=torch.Generator().manual_seed(options.seed))
        generator = torch.Generator(device=device)
        generator.set_state(state)  # every learning rate sees the same order
        train_options = stage_options(options, factor, epochs, lr, options.schedule)
        records = supervised_finetune(
            network,
            problem.train,
            problem.train_labels,
            problem.val,
            problem.val_labels,
            train_options,
            generator,
            patience=patience,
            hooks=hooks,
            input_noise=model.corruption(level) if model.input_noise else None,
        )
        record = best_record(records)
        assert record.val_error is not None  # every supervised epoch is evaluated on the validation split
        return {"noise": level, "lr": lr, "valid": 100 * record.val_error, "epoch": record.epoch}, network

    def fine_tune(level: float, lr: float, past_edge: bool = False) -> None:
        nonlocal best
        if (level, lr) in earlier:
            point, network = dict(earlier[level, lr]), None
        else:
            point, network = trained(level, lr)
        tried.append(point)
        # in the grid, ties go to the lower level, then the lower rate; beyond it, only a lower error counts
        error = point["valid"]
        if best is None or (error < best[0][0] if past_edge else (error, level, lr) < best[0]):
            best = (error, level, lr), point, network

    levels = options.noise_levels if model.noisy else (0.0,)
    for level in levels:
        for lr in options.lrs:
            fine_tune(level, lr)
    assert best is not None  # `noise_levels` and `lrs` are never empty (`validate`)
    for _ in range(EXTENSION_ROUNDS if options.extend else 0):
        chosen = best[1]
        for point in beyond(chosen, tried, model.noisy):
            fine_tune(*point, past_edge=True)
        if best[1] is chosen:
            break
    chosen, network = best[1], best[2]
    if network is None:  # an earlier run's point: train it again (the same options and seed give the same network)
        again, network = trained(chosen["noise"], chosen["lr"])
        chosen["valid_again"] = again["valid"]
    error, _ = classification_scores(network, problem.test, problem.test_labels)
    return Searched(error, chosen, tried, (pretrain_epochs(model, problem, options), epochs))


def svm(dataset: Dataset):
    """The RBF SVM on pixels: C and gamma chosen on the validation split, refit on training + validation
    (`sdae.report.probe.svm_errors`), as the original SVM protocol did."""
    from sdae.report.probe import svm_errors

    n, cut = len(dataset.train), len(dataset.train) - (dataset.val_count or 0)
    x = dataset.examples("train").batch(slice(None)).numpy()
    assert dataset.train_labels is not None and dataset.test is not None and dataset.test_labels is not None
    y = dataset.train_labels.numpy()
    test = dataset.examples("test").batch(slice(None)).numpy()
    (result,) = svm_errors(
        {"pixels": (x[:cut], x[cut:n], test)}, y[:cut], y[cut:], dataset.test_labels.numpy(), kernels=("rbf",)
    )
    return result


__all__ = [
    "MODELS",
    "NETWORK_MODELS",
    "NetworkModel",
    "Problem",
    "Searched",
    "beyond",
    "epochs_factor",
    "search",
    "svm",
]
