"""`sdae bench`: SdA-3 and an RBF SVM on the 2007 benchmark problems, beside Vincent et al. (2010), Table 3.

Protocol, as the paper's (section 5 and the benchmark pages):
- SdA-3: three denoising pairs of `units` units pretrained greedily with masking noise, a softmax
  layer, supervised fine-tuning of the whole network; the validation split chooses the
  fine-tuning epoch, the corruption level from `noise_levels` and the fine-tuning learning rate
  from `lrs` (the paper chose both per problem on validation). One stack is pretrained per level;
  each rate fine-tunes a copy of it. Where the choice lies on the grid's edge, the search goes one
  step beyond it, and on while that lowers the validation error (`_beyond`). Only the chosen network
  is tested.
- Budgets (`pretrain_epochs`, `epochs`, `patience`) are epochs of the MNIST problems' 10,000
  training examples: a problem with fewer (rectangles 1,000, convex 6,000) trains for as many
  updates, so proportionally more epochs (the paper chose epochs per problem; 15 epochs of
  rectangles would be 120 updates per pair).
- SVM-rbf: C and gamma chosen on the validation split, then refit on training + validation
  (`sdae.report.probe.svm_errors`), as the original SVM protocol did.
- 95% intervals as the paper gives them: error +- 1.96 sqrt(error (1 - error) / test size).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from types import MappingProxyType

import torch

from sdae.corruption import Masking
from sdae.data import benchmark_store, variants
from sdae.device import resolve_device
from sdae.errors import UsageError
from sdae.loop import Hooks
from sdae.model import StackedDenoisingAutoencoder
from sdae.options import BenchOptions, Schedule, TrainOptions
from sdae.stages import best_record, classification_scores, pretrain, supervised_finetune

# Vincent et al. (2010), Table 3: test error (%) of SdA-3 and SVM-rbf, and the SdA-3's chosen masking level.
PAPER = MappingProxyType(
    {
        "mnist-basic": (2.84, 3.03, 0.10),
        "mnist-rot": (9.53, 11.11, 0.25),
        "mnist-bg-rand": (10.30, 14.58, 0.40),
        "mnist-bg-img": (16.68, 22.61, 0.25),
        "mnist-rot-bg-img": (43.76, 55.18, 0.25),
        "rectangles": (1.99, 2.15, 0.10),
        "rectangles-image": (21.59, 24.04, 0.25),
        "convex": (19.06, 19.13, 0.10),
    }
)


@dataclass
class BenchRow:
    problem: str
    sizes: tuple[int, int, int]  # train, valid, test
    sda3_error: float  # % on the test split
    sda3_interval: float  # half-width of the 95% interval, %
    noise: float  # the masking level validation chose
    lr: float  # the fine-tuning learning rate validation chose
    sda3_valid: list[dict] = field(default_factory=list)  # each (noise, lr) tried: best validation error %, its epoch
    best_epoch: int = 0
    epochs_run: tuple[int, int] = (
        0,
        0,
    )  # pretraining epochs per pair, fine-tuning epochs at most (after epochs_factor)
    svm_error: float | None = None
    svm_interval: float | None = None
    svm_C: float | None = None
    svm_gamma: float | None = None
    svm_valid: float | None = None
    paper_sda3: float | None = None
    paper_svm: float | None = None
    paper_noise: float | None = None
    sda3_seconds: float = 0.0
    svm_seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


REFERENCE_TRAIN = variants.SPLITS["default"][0]  # budgets are epochs at this training size (times the scale)


BATCH = 128  # examples a batch for every problem: budgets count updates (`epochs_factor`)


def epochs_factor(train_size: int, scale: float) -> float:
    """How many epochs over `train_size` examples make as many updates as one over REFERENCE_TRAIN * scale (at least 1)."""
    return max(1.0, REFERENCE_TRAIN * scale / train_size)


# the options that decide the networks: an earlier run's points can be reused only where these agree
NETWORK_OPTIONS = ("scale", "units", "activation", "pretrain_epochs", "epochs", "patience", "pretrain_lr", "seed")


def known_points(earlier: dict, options: BenchOptions, where: str) -> dict[str, list[dict]]:
    """The points an earlier bench's table file (`where`) tried, per problem, after checking its options agree."""
    try:
        theirs, rows = earlier["options"], earlier["rows"]
        differ = [k for k in NETWORK_OPTIONS if theirs[k] != getattr(options, k)]
        points = {
            row["problem"]: [
                {k: float(t[k]) for k in ("noise", "lr", "valid")} | {"epoch": int(t["epoch"])}
                for t in row["sda3_valid"]
            ]
            for row in rows
        }
    except (KeyError, TypeError, ValueError):
        raise UsageError(f"{where}: not a table that a bench with a learning-rate search wrote") from None
    if differ:
        raise UsageError(f"{where}: ran with other {', '.join(differ)}; its points cannot be reused")
    return points


def interval(error: float, n: int) -> float:
    """Half-width of the 95% interval of an error rate (a fraction) measured on n examples."""
    return 1.96 * math.sqrt(error * (1 - error) / n)


MAX_NOISE = 0.85  # the grid is not extended past this masking level
EXTENSION_ROUNDS = 3


def _beyond(chosen: dict, tried: list[dict]) -> list[tuple[float, float]]:
    """Points one step past the grid's edge where validation's choice lies on it: masking +0.15 above
    the highest level tried (up to MAX_NOISE) or half the lowest, at the chosen rate; the rate doubled
    above the highest or halved below the lowest, at the chosen level."""
    level, lr = chosen["noise"], chosen["lr"]
    levels, rates = {t["noise"] for t in tried}, {t["lr"] for t in tried}
    points = []
    if level == max(levels) and round(level + 0.15, 2) <= MAX_NOISE:
        points.append((round(level + 0.15, 2), lr))
    elif level == min(levels) and level > 0:
        points.append((round(level / 2, 3), lr))
    if lr == max(rates):
        points.append((level, lr * 2))
    elif lr == min(rates):
        points.append((level, lr / 2))
    done = {(t["noise"], t["lr"]) for t in tried}
    return [p for p in points if p not in done]


def _sda3(dataset, options: BenchOptions, device: torch.device, hooks: Hooks | None, known: Sequence[dict] = ()):
    """Pretrain one stack per masking level, fine-tune a copy of it per learning rate; where validation's
    choice lies on the grid's edge, try beyond it (`_beyond`) while that lowers the validation error;
    test the one chosen. `known`: points an earlier run with the same options tried (their validation
    errors are taken as they are; the chosen one is trained again to be tested)."""
    n = len(dataset.train)
    cut = n - dataset.val_count
    x = dataset.examples("train", device)
    train, val = x.subset(torch.arange(cut, device=device)), x.subset(torch.arange(cut, n, device=device))
    labels = dataset.train_labels.to(device)
    test, test_labels = dataset.examples("test", device), dataset.test_labels.to(device)
    classes = int(labels.max()) + 1
    factor = epochs_factor(cut, options.scale)
    pretrain_epochs, epochs = round(options.pretrain_epochs * factor), round(options.epochs * factor)
    patience = None if options.patience is None else round(options.patience * factor)
    warmup = TrainOptions.warmup * factor
    stacks, tried = {}, []
    best: tuple[tuple[float, float, float], dict, StackedDenoisingAutoencoder | None] | None = None
    earlier = {(t["noise"], t["lr"]): t for t in known}

    def pretrained(level: float):
        if level not in stacks:
            setup = torch.Generator().manual_seed(options.seed)
            stack = StackedDenoisingAutoencoder(
                [dataset.input_dim] + [options.units] * 3, generator=setup, activation=options.activation
            ).to(device)
            generator = torch.Generator(device=device).manual_seed(options.seed)
            pretrain(
                stack,
                train,
                val,
                Masking(level),
                TrainOptions(epochs=pretrain_epochs, batch_size=BATCH, lr=options.pretrain_lr, warmup=warmup),
                generator,
                hooks=hooks,
            )
            stacks[level] = stack, generator.get_state()
        return stacks[level]

    def trained(level: float, lr: float):
        stack, state = pretrained(level)
        model = copy.deepcopy(stack)
        model.add_head(classes, generator=torch.Generator().manual_seed(options.seed))
        generator = torch.Generator(device=device)
        generator.set_state(state)  # every learning rate sees the same order and noise
        records = supervised_finetune(
            model,
            train,
            labels[:cut],
            val,
            labels[cut:],
            TrainOptions(epochs=epochs, batch_size=BATCH, lr=lr, schedule=Schedule.COSINE, warmup=warmup),
            generator,
            patience=patience,
            hooks=hooks,
        )
        record = best_record(records)
        assert record.val_error is not None  # every supervised epoch is evaluated on the validation split
        return {"noise": level, "lr": lr, "valid": 100 * record.val_error, "epoch": record.epoch}, model

    def fine_tune(level: float, lr: float, beyond: bool = False) -> None:
        nonlocal best
        if (level, lr) in earlier:
            point, model = dict(earlier[level, lr]), None
        else:
            point, model = trained(level, lr)
        tried.append(point)
        # in the grid, ties go to the lower level, then the lower rate; beyond it, only a lower error counts
        error = point["valid"]
        if best is None or (error < best[0][0] if beyond else (error, level, lr) < best[0]):
            best = (error, level, lr), point, model

    for level in options.noise_levels:
        for lr in options.lrs:
            fine_tune(level, lr)
    assert best is not None  # `noise_levels` and `lrs` are never empty (`validate`)
    for _ in range(EXTENSION_ROUNDS if options.extend else 0):
        chosen = best[1]
        for point in _beyond(chosen, tried):
            fine_tune(*point, beyond=True)
        if best[1] is chosen:
            break
    chosen, model = best[1], best[2]
    if model is None:  # an earlier run's point: train it again (the same options and seed give the same network)
        again, model = trained(chosen["noise"], chosen["lr"])
        chosen["valid_again"] = again["valid"]
    error, _ = classification_scores(model, test, test_labels)
    return error, chosen, tried, (pretrain_epochs, epochs)


def _svm(dataset):
    from sdae.report.probe import svm_errors

    n, cut = len(dataset.train), len(dataset.train) - dataset.val_count
    x = dataset.examples("train").batch(slice(None)).numpy()
    y = dataset.train_labels.numpy()
    test = dataset.examples("test").batch(slice(None)).numpy()
    (result,) = svm_errors(
        {"pixels": (x[:cut], x[cut:n], test)}, y[:cut], y[cut:], dataset.test_labels.numpy(), kernels=("rbf",)
    )
    return result


def bench(
    problems: list[str] | tuple[str, ...] = variants.NAMES,
    options: BenchOptions | None = None,
    hooks: Hooks | None = None,
    on_row: Callable[[BenchRow], None] | None = None,
    known: dict[str, list[dict]] | None = None,
) -> list[BenchRow]:
    """Run the protocol above on each problem (generated into the cache on first use); rows in order.
    `known`: per problem, the points (`BenchRow.sda3_valid`) an earlier run with the same options tried."""
    options = (options or BenchOptions()).validate()
    unknown = [p for p in problems if p not in variants.NAMES]
    if unknown:
        raise UsageError(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(variants.NAMES)}")
    device = resolve_device(options.device)
    rows = []
    for name in problems:
        dataset = benchmark_store.load(name, options.scale, options.data_dir)
        assert dataset.val_count is not None and dataset.test is not None  # the published splits
        sizes = (len(dataset.train) - dataset.val_count, dataset.val_count, len(dataset.test))
        started = time.perf_counter()
        error, chosen, tried, epochs_run = _sda3(dataset, options, device, hooks, (known or {}).get(name, ()))
        middle = time.perf_counter()
        paper = PAPER[name]
        row = BenchRow(
            name,
            sizes,
            100 * error,
            100 * interval(error, sizes[2]),
            chosen["noise"],
            chosen["lr"],
            tried,
            chosen["epoch"],
            epochs_run,
            paper_sda3=paper[0],
            paper_svm=paper[1],
            paper_noise=paper[2],
            sda3_seconds=middle - started,
        )
        if options.svm:
            svm = _svm(dataset)
            row.svm_error, row.svm_interval = 100 * svm.test_error, 100 * interval(svm.test_error, sizes[2])
            row.svm_C, row.svm_gamma, row.svm_valid = svm.C, svm.gamma, 100 * svm.val_error
            row.svm_seconds = time.perf_counter() - middle
        rows.append(row)
        if on_row:
            on_row(row)
    return rows
