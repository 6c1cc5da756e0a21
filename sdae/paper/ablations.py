"""The paper's ablations of SdA-3, each a grid of `sdae bench`'s search (`sdae.commands.bench_search`):

- `noise_level` (Figure 11): test error against the masking level, 0% (ordinary autoencoders) to 70%;
- `noise_emphasis` (Table 4): masking, salt-and-pepper and Gaussian noise, without emphasis, with double
  emphasis (alpha 1, beta 0.5) and full emphasis (beta 0) (section 4.3; Gaussian noise corrupts every
  component, so only its plain form is run);
- `depth_width` (Figure 10): 1, 2 and 3 layers x widths x (no pretraining, ordinary, denoising autoencoders);
- `noisy_inputs` (section 6.4's control): the network trained on the labels with its inputs corrupted (noise
  as data augmentation, no pretraining) against SdA-3 at the same noise, and the plain network.

Each point's fine-tuning learning rate (and epoch) is chosen on the validation split as `sdae bench` does;
only the chosen network is tested. Errors and 95% intervals in %.
"""

from __future__ import annotations

from types import MappingProxyType

from matplotlib.figure import Figure

from sdae.bench_options import BenchOptions
from sdae.commands.bench_search import NetworkModel
from sdae.loop import Hooks
from sdae.paper.common import Experiment, load_problem, tested
from sdae.report.figures import SDAEFigure

SDA3 = NetworkModel(3, "dae", noisy=True)
LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
EMPHASIS = MappingProxyType({"none": None, "double": (1.0, 0.5), "full": (1.0, 0.0)})
GAUSSIAN_SIGMAS = (0.1, 0.25, 0.5)  # in pixel units, as the masking levels are fractions
WIDTHS = (250, 500, 1000)


def _lines(title: str, xlabel: str, series: dict[str, tuple[list, list, list]]) -> Figure:
    """One line with 95% error bars per series {name: (x, errors, intervals)}."""
    fig = SDAEFigure(figsize=(6, 4))
    ax = fig.subplots()
    for name, (x, y, half) in series.items():
        ax.errorbar(x, y, yerr=half, marker="o", capsize=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test error (%), 95% interval")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def noise_level(
    options: BenchOptions, problems: tuple[str, ...] = ("mnist-rot-bg-img",), hooks: Hooks | None = None,
    levels: tuple[float, ...] = LEVELS,
) -> Experiment:  # fmt: skip
    rows: dict[str, dict] = {}
    series = {}
    for name in problems:
        problem, data = load_problem(name, options)
        points = [tested(SDA3, problem, options, hooks, noise_levels=(level,)) | {"level": level} for level in levels]
        rows[name] = {"data": data, "points": points}
        series[name] = (
            [100 * p["level"] for p in points],
            [p["error"] for p in points],
            [p["interval"] for p in points],
        )
    figure = _lines("SdA-3: test error against the masking level (Figure 11)", "masking level (%)", series)
    return Experiment({"problems": rows}, figure)


def noise_emphasis(
    options: BenchOptions, problems: tuple[str, ...] = ("mnist-basic", "mnist-rot", "mnist-bg-rand", "rectangles"),
    hooks: Hooks | None = None,
) -> Experiment:  # fmt: skip
    variants = [(noise, emphasis) for noise in ("masking", "saltpepper") for emphasis in EMPHASIS]
    variants.append(("gaussian", "none"))
    rows: dict[str, dict] = {}
    for name in problems:
        problem, data = load_problem(name, options)
        cells = {}
        for noise, emphasis in variants:
            model = NetworkModel(3, "dae", noisy=True, noise=noise, emphasis=EMPHASIS[emphasis])
            levels = GAUSSIAN_SIGMAS if noise == "gaussian" else options.noise_levels
            cells[f"{noise}/{emphasis}"] = tested(model, problem, options, hooks, noise_levels=levels)
        rows[name] = {"data": data, "cells": cells}
    fig = SDAEFigure(figsize=(7, 3 + 0.3 * len(problems)))
    ax = fig.subplots()
    keys = [f"{n}/{e}" for n, e in variants]
    for i, name in enumerate(problems):
        cells = rows[name]["cells"]
        offsets = [j + (i - (len(problems) - 1) / 2) * 0.8 / len(problems) for j in range(len(keys))]
        ax.errorbar(offsets, [cells[k]["error"] for k in keys], yerr=[cells[k]["interval"] for k in keys],
                    fmt="o", capsize=3, label=name)  # fmt: skip
    ax.set_xticks(range(len(keys)), keys, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test error (%), 95% interval")
    ax.set_title("SdA-3: noise type and emphasis (Table 4)", fontsize=10)
    ax.legend(fontsize=8)
    return Experiment({"problems": rows}, fig)


def depth_width(
    options: BenchOptions, problems: tuple[str, ...] = ("mnist-rot-bg-img",), hooks: Hooks | None = None,
    widths: tuple[int, ...] = WIDTHS,
) -> Experiment:  # fmt: skip
    kinds = {"no pretraining": (None, False), "ordinary autoencoders": ("ae", False), "denoising": ("dae", True)}
    rows: dict[str, dict] = {}
    fig = SDAEFigure(figsize=(4 * len(widths), 3.5))
    axes = fig.subplots(1, len(widths), squeeze=False)[0]
    for name in problems:
        problem, data = load_problem(name, options)
        cells = []
        for width in widths:
            for kind, (pretraining, noisy) in kinds.items():
                for depth in (1, 2, 3):
                    model = NetworkModel(depth, pretraining, noisy=noisy)
                    cells.append(tested(model, problem, options, hooks, units=width) | {
                        "width": width, "depth": depth, "pretraining": kind})  # fmt: skip
        rows[name] = {"data": data, "cells": cells}
        for ax, width in zip(axes, widths, strict=True):
            for kind in kinds:
                points = [c for c in cells if c["width"] == width and c["pretraining"] == kind]
                ax.errorbar([c["depth"] for c in points], [c["error"] for c in points],
                            yerr=[c["interval"] for c in points], marker="o", capsize=3, label=f"{name}: {kind}")  # fmt: skip
            ax.set_title(f"{width} units a layer", fontsize=9)
            ax.set_xlabel("layers")
            ax.set_xticks((1, 2, 3))
    axes[0].set_ylabel("test error (%), 95% interval")
    axes[0].legend(fontsize=7)
    fig.suptitle("Depth and width (Figure 10)", fontsize=10)
    return Experiment({"problems": rows}, fig)


def noisy_inputs(
    options: BenchOptions, problems: tuple[str, ...] = ("mnist-basic", "mnist-rot", "rectangles"),
    hooks: Hooks | None = None, level: float = 0.25,
) -> Experiment:  # fmt: skip
    models = {
        "no pretraining, clean inputs": NetworkModel(3, None),
        f"no pretraining, inputs masked {100 * level:.0f}%": NetworkModel(3, None, noisy=True, input_noise=True),
        f"SdA-3, masking {100 * level:.0f}%": SDA3,
    }
    rows: dict[str, dict] = {}
    for name in problems:
        problem, data = load_problem(name, options)
        cells = {kind: tested(model, problem, options, hooks, noise_levels=(level,)) for kind, model in models.items()}
        rows[name] = {"data": data, "cells": cells}
    fig = SDAEFigure(figsize=(6, 3.5))
    ax = fig.subplots()
    for j, kind in enumerate(models):
        ax.errorbar([i + (j - 1) * 0.2 for i in range(len(problems))], [rows[p]["cells"][kind]["error"] for p in problems],
                    yerr=[rows[p]["cells"][kind]["interval"] for p in problems], fmt="o", capsize=3, label=kind)  # fmt: skip
    ax.set_xticks(range(len(problems)), problems, fontsize=8)
    ax.set_ylabel("test error (%), 95% interval")
    ax.set_title("Noisy inputs are not the point (section 6.4)", fontsize=10)
    ax.legend(fontsize=7)
    return Experiment({"problems": rows, "level": level}, fig)
