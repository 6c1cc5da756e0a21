"""What every experiment of `sdae paper` shares: its options, the problems' data, its figure and numbers on disk."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from matplotlib.figure import Figure

from sdae.bench_options import BenchOptions
from sdae.commands.bench import interval
from sdae.commands.bench_search import NetworkModel, Problem, search
from sdae.data import benchmark_store
from sdae.device import resolve_device
from sdae.files import atomic_write_json
from sdae.loop import Hooks


@dataclass
class Experiment:
    """One experiment's result: its numbers (JSON-ready) and its figure."""

    numbers: dict
    figure: Figure | None = None
    notes: list[str] = field(default_factory=list)


def load_problem(name: str, options: BenchOptions) -> tuple[Problem, str]:
    """The problem's splits on the options' device, and which data it is (original or generated)."""
    dataset = benchmark_store.load(name, options.scale, options.data_dir)
    return Problem(dataset, resolve_device(options.device)), benchmark_store.origin(dataset.source)


def tested(model: NetworkModel, problem: Problem, options: BenchOptions, hooks: Hooks | None, **changes) -> dict:
    """`bench`'s search for one model (options changed by `changes`, no search past the grid), as numbers (%)."""
    searched = search(model, problem, replace(options, extend=False, **changes), hooks)
    n = len(problem.test)
    return {
        "error": 100 * searched.error,
        "interval": 100 * interval(searched.error, n),
        "chosen": searched.chosen,
        "tried": searched.tried,
    }


def grid_shape(n: int) -> tuple[int, int]:
    columns = math.ceil(math.sqrt(n))
    return math.ceil(n / columns), columns


def write(result: Experiment, out: str | os.PathLike, name: str, options: BenchOptions) -> list[Path]:
    """`<out>/<name>.json` (the numbers, the options and the notes) and `<out>/<name>.png` (the figure)."""
    from sdae.checks import to_dict
    from sdae.report.figures import save

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.json"]
    atomic_write_json(paths[0], {"experiment": name, "options": to_dict(options), "notes": result.notes,
                                 **result.numbers})  # fmt: skip
    if result.figure is not None:
        paths.append(save(result.figure, folder / f"{name}.png"))
        result.figure.clear()
    return paths
