"""The paper's experiments, one function each (Vincent et al. 2010); `sdae paper NAME` runs one and writes its
figure and numbers (`run`). Every function takes `sdae bench`'s options (`BenchOptions`: scale, units, budgets,
learning rates, seed, device), and the problems where it runs on the 2007 problems."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from sdae.bench_options import BenchOptions
from sdae.errors import UsageError

if TYPE_CHECKING:  # torch: only when an experiment runs, so `sdae --help` answers at once
    from sdae.loop import Hooks

# name -> (module, function, runs on the 2007 problems, what the paper shows)
EXPERIMENTS = MappingProxyType(
    {
        "patches": ("pictures", "patches", False, "filters on natural image patches (section 5.1)"),
        "mnist-filters": ("pictures", "mnist_filters", False, "MNIST filters as masking noise grows (Figure 8)"),
        "noise-emphasis": ("ablations", "noise_emphasis", True, "noise type and emphasis (Table 4)"),
        "depth-width": ("ablations", "depth_width", True, "depth and width (Figure 10)"),
        "noise-level": ("ablations", "noise_level", True, "sensitivity to the masking level (Figure 11)"),
        "noisy-inputs": ("ablations", "noisy_inputs", True, "training with noisy inputs, the control (section 6.4)"),
        "svm-codes": ("representations", "svm_codes", True, "SVMs on each layer's codes (Table 5)"),
        "samples": ("pictures", "samples", False, "generating samples from SAA, SdA and DBN (section 7)"),
    }
)


def experiment(name: str) -> Callable:
    """The function that runs experiment `name`; raises UsageError for an unknown name."""
    import importlib

    if name not in EXPERIMENTS:
        raise UsageError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    module, function, _, _ = EXPERIMENTS[name]
    return getattr(importlib.import_module(f"sdae.paper.{module}"), function)


def run(
    name: str,
    out: str | os.PathLike,
    options: BenchOptions | None = None,
    problems: tuple[str, ...] | None = None,
    hooks: Hooks | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Run experiment `name` and write `<out>/<name>.json` and `<out>/<name>.png`; returns their paths.
    `problems` (the 2007 problems' names) replaces the experiment's own where it runs on them. Raises UsageError
    before anything runs where those files exist and not `overwrite`."""
    from sdae.paper.common import write

    function = experiment(name)
    existing = [
        Path(out) / f"{name}{suffix}" for suffix in (".json", ".png") if (Path(out) / f"{name}{suffix}").exists()
    ]
    if existing and not overwrite:
        raise UsageError(f"{existing[0]} already exists; pass `overwrite=True` to replace it, or choose another `out`")
    options = (options or BenchOptions(scale=0.1, units=500)).validate()
    on_problems = EXPERIMENTS[name][2]
    if problems and not on_problems:
        raise UsageError(f"experiment {name} does not run on the 2007 problems; leave out `problems`")
    kwargs = {"problems": tuple(problems)} if problems else {}
    result = function(options, hooks=hooks, **kwargs)
    return write(result, out, name, options)
