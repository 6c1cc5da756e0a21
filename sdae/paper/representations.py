"""SVMs on each layer's codes of greedily pretrained stacks, on the 2007 problems (Vincent et al. 2010, Table 5).

For each problem: an SdA-3 (masking noise at the level the paper's SdA-3 chose for the problem, 25% where it
gives none) and an SAA-3 (no noise) are pretrained, not fine-tuned; a linear and an RBF SVM are trained on the
pixels and on each layer's codes, C (and gamma) chosen on the validation split, refit on training and
validation, the test split scored once (`sdae.report.probe.svm_errors`).
"""

from __future__ import annotations

from sdae.bench_options import BenchOptions
from sdae.commands.bench_search import NetworkModel, pretrained_stack
from sdae.commands.paper_table import paper_figure
from sdae.loop import Hooks
from sdae.paper.common import Experiment, load_problem
from sdae.report.figures import SDAEFigure


def svm_codes(
    options: BenchOptions, problems: tuple[str, ...] = ("mnist-basic", "mnist-rot", "rectangles"),
    hooks: Hooks | None = None,
) -> Experiment:  # fmt: skip
    from sdae.report.probe import layer_representations, svm_errors

    rows: dict[str, dict] = {}
    for name in problems:
        problem, data = load_problem(name, options)
        level = paper_figure(name, "noise") or 0.25
        splits = [s.batch(slice(None)).cpu() for s in (problem.train, problem.val, problem.test)]
        labels = [t.cpu().numpy() for t in (problem.train_labels, problem.val_labels, problem.test_labels)]
        results: dict[str, dict] = {}
        for kind, model in {"SdA-3": NetworkModel(3, "dae", noisy=True), "SAA-3": NetworkModel(3, "ae")}.items():
            stack = pretrained_stack(model, problem, options, level if model.noisy else 0.0, hooks)[0].cpu()
            representations = layer_representations(stack, *splits)
            if results:  # the pixels' SVMs once
                representations.pop("pixels")
            for result in svm_errors(representations, labels[0], labels[1], labels[2]):  # type: ignore[arg-type]
                key = "pixels" if result.representation == "pixels" else f"{kind} {result.representation}"
                results[f"{key}, {result.kernel}"] = {"error": 100 * result.test_error, "C": result.C,
                                                      "gamma": result.gamma, "valid": 100 * result.val_error}  # fmt: skip
        rows[name] = {"data": data, "masking": level, "results": results}
    fig = SDAEFigure(figsize=(4 * len(problems), 3.5))
    axes = fig.subplots(1, len(problems), squeeze=False)[0]
    for ax, name in zip(axes, problems, strict=True):
        results = rows[name]["results"]
        for kernel in ("linear", "rbf"):
            for kind in ("SdA-3", "SAA-3"):
                ys = [results[f"pixels, {kernel}"]["error"]] + [results[f"{kind} layer {k}, {kernel}"]["error"]
                                                                for k in (1, 2, 3)]  # fmt: skip
                ax.plot(range(4), ys, marker="o", label=f"{kind}, {kernel}")
        ax.set_xticks(range(4), ["pixels", "layer 1", "layer 2", "layer 3"], fontsize=8)
        ax.set_title(name, fontsize=9)
    axes[0].set_ylabel("test error (%)")
    axes[0].legend(fontsize=7)
    fig.suptitle("SVMs on each layer's codes, pretrained stacks (Table 5)", fontsize=10)
    return Experiment({"problems": rows}, fig)
