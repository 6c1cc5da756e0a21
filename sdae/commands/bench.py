"""`sdae bench`: every column of Vincent et al. (2010), Table 3, on the 2007 benchmark problems.

Protocol, as the paper's (section 5 and the benchmark pages):
- The network models (`mlp`, `saa3`, `dbn1`, `dbn3`, `sda3`): `sdae.commands.bench_search`. Each
  model's pretraining setting, fine-tuning learning rate and epoch are chosen on the published
  validation split by the same search; only the chosen network is tested.
- Budgets (`pretrain_epochs`, `epochs`, `patience`) are epochs of the MNIST problems' 10,000
  training examples: a problem with fewer (rectangles 1,000, convex 6,000) trains for as many
  updates, so proportionally more epochs (the paper chose epochs per problem).
- `svm`: SVM-rbf on pixels, C and gamma chosen on the validation split, then refit on training +
  validation, as the original SVM protocol did.
- 95% intervals as the paper gives them: error +- 1.96 sqrt(error (1 - error) / test size).
- The data: the original files where they are in the data folder (`sdae.data.amat`), else the
  generated stand-ins (`sdae.data.variants`); each row says which (`data`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from sdae.bench_options import BenchOptions
from sdae.commands.bench_search import MODELS, NETWORK_MODELS, Problem, search, svm
from sdae.commands.paper_table import paper_figure
from sdae.data import benchmark_store, variants
from sdae.device import resolve_device
from sdae.errors import UsageError
from sdae.loop import Hooks


@dataclass
class ModelResult:
    """One model's result on one problem; errors and intervals in %."""

    error: float
    interval: float  # half-width of the 95% interval
    chosen: dict  # the hyperparameters validation chose (networks: noise, lr, valid %, epoch; svm: C, gamma, valid %)
    tried: list[dict] = field(default_factory=list)  # every point tried: validation error %, its epoch
    epochs_run: tuple[int, int] = (0, 0)  # pretraining epochs per pair, fine-tuning epochs at most
    seconds: float = 0.0
    paper: float | None = None  # the paper's figure, where it gives one
    paper_interval: float | None = None


@dataclass
class BenchRow:
    problem: str
    sizes: tuple[int, int, int]  # train, valid, test
    data: str  # "original": the published files; "generated": sdae's stand-in (`sdae.data.variants`)
    models: dict[str, ModelResult] = field(default_factory=dict)
    paper_noise: float | None = None  # the masking level the paper's SdA-3 chose

    def to_dict(self) -> dict:
        return asdict(self)


# the options that decide the networks: an earlier run's points can be reused only where these agree
NETWORK_OPTIONS = (
    "scale", "units", "activation", "pretrain_epochs", "epochs", "patience", "pretrain_lr", "seed", "optimizer",
    "schedule", "warmup", "batch_size",
)  # fmt: skip


def known_points(earlier: dict, options: BenchOptions, where: str) -> dict[str, dict]:
    """The points an earlier bench's table file (`where`) tried, per problem and model (and under the key `data`,
    which data each problem used), after checking its options agree. Files written before the other columns
    existed (SdA-3 only, `sda3_valid`, the generated data) are read too."""
    try:
        theirs, rows = earlier["options"], earlier["rows"]
        differ = [k for k in NETWORK_OPTIONS if k in theirs and theirs[k] != getattr(options, k)]
        points: dict[str, dict] = {}
        for row in rows:
            by_model = {"sda3": row["sda3_valid"]} if "sda3_valid" in row else {
                name: result["tried"] for name, result in row["models"].items() if name in NETWORK_MODELS
            }  # fmt: skip
            points[row["problem"]] = {
                name: [{k: float(t[k]) for k in ("noise", "lr", "valid")} | {"epoch": int(t["epoch"])} for t in tried]
                for name, tried in by_model.items()
            } | {"data": row.get("data", "generated")}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UsageError(f"{where}: not a table that a bench with a learning-rate search wrote") from None
    if differ:
        raise UsageError(f"{where}: ran with other {', '.join(differ)}; its points cannot be reused")
    return points


def interval(error: float, n: int) -> float:
    """Half-width of the 95% interval of an error rate (a fraction) measured on n examples."""
    return 1.96 * math.sqrt(error * (1 - error) / n)


def _result(error: float, n: int, problem: str, model: str, **fields) -> ModelResult:
    paper = paper_figure(problem, model)
    published = variants.SPLITS.get(problem, variants.SPLITS["default"])[2]  # the paper's test size
    return ModelResult(
        100 * error,
        100 * interval(error, n),
        paper=paper,
        paper_interval=None if paper is None else 100 * interval(paper / 100, published),
        **fields,
    )


def bench(
    problems: list[str] | tuple[str, ...] = variants.NAMES,
    options: BenchOptions | None = None,
    hooks: Hooks | None = None,
    on_row: Callable[[BenchRow], None] | None = None,
    known: dict[str, dict] | None = None,
    on_model: Callable[[str, str, ModelResult], None] | None = None,
) -> list[BenchRow]:
    """Run the protocol above for each of `options.models` on each problem (data read or generated on first use); rows
    in order. `known`: per problem and model, the points an earlier run with the same options tried.
    Raises UsageError for an unknown problem (`options` checks the models)."""
    options = (options or BenchOptions()).validate()
    unknown = [p for p in problems if p not in variants.NAMES]
    if unknown:
        raise UsageError(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(variants.NAMES)}")
    models = [m for m in MODELS if m in options.models and (m != "svm" or options.svm)]  # in the table's order
    device = resolve_device(options.device)
    rows = []
    for name in problems:
        dataset = benchmark_store.load(name, options.scale, options.data_dir)
        assert dataset.val_count is not None and dataset.test is not None  # the published splits
        sizes = (len(dataset.train) - dataset.val_count, dataset.val_count, len(dataset.test))
        data = benchmark_store.origin(dataset.source)
        earlier_data = (known or {}).get(name, {}).get("data", data)
        if earlier_data != data:
            raise UsageError(
                f"{name}: the earlier table's points were measured on the {earlier_data} data, and this run has the "
                f"{data} data; they cannot be reused"
            )
        row = BenchRow(name, sizes, data, paper_noise=paper_figure(name, "noise"))
        problem = Problem(dataset, device) if any(m in NETWORK_MODELS for m in models) else None
        for model in models:
            started = time.perf_counter()
            if model == "svm":
                found = svm(dataset)
                chosen = {"C": found.C, "gamma": found.gamma, "valid": 100 * found.val_error}
                result = _result(found.test_error, sizes[2], name, model, chosen=chosen)
            else:
                assert problem is not None
                earlier = (known or {}).get(name, {}).get(model, ())
                searched = search(NETWORK_MODELS[model], problem, options, hooks, earlier)
                result = _result(
                    searched.error,
                    sizes[2],
                    name,
                    model,
                    chosen=searched.chosen,
                    tried=searched.tried,
                    epochs_run=searched.epochs_run,
                )
            result.seconds = time.perf_counter() - started
            row.models[model] = result
            if on_model:
                on_model(name, model, result)
        rows.append(row)
        if on_row:
            on_row(row)
    return rows
