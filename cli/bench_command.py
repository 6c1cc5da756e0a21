"""`sdae bench`: the 2007 benchmark problems, SdA-3 and an RBF SVM beside the paper's Table 3."""

from __future__ import annotations

import click

from sdae.bench_options import BenchOptions
from sdae.checks import default_of
from sdae.choices import BenchModel, Optimizer, Preset, Schedule
from sdae.errors import UsageError
from sdae.options import BENCHMARK_PROBLEMS, Activation, to_dict

from .options import Names, budget_options, build, given, progress, values


def _default(name: str):
    return default_of(BenchOptions, name)


def _line(problem: str, model: str, result) -> str:
    paper = "-" if result.paper is None else f"{result.paper:.2f} +-{result.paper_interval:4.2f}"
    chosen = result.chosen
    if model == "svm":
        picked = f"C {chosen['C']:g}, gamma {chosen['gamma']:.3g}"
    else:
        picked = f"lr {chosen['lr']:g}" + (f", masking {100 * chosen['noise']:.0f}%" if model == "sda3" else "")
    return (
        f"{problem:<17} {model:<5} {result.error:6.2f} +-{result.interval:4.2f} {paper:>13}  {picked:<28} "
        f"{result.seconds:7.0f}"
    )


@click.command()
@click.option(
    "--problems",
    default=",".join(BENCHMARK_PROBLEMS),
    show_default=True,
    help="Benchmark problems, separated by commas.",
)
@budget_options(units_help=" (DBN-1 has one hidden layer, the others three)", noise_help=" (SdA-3)")
@click.option(
    "--activation",
    type=values(Activation),
    default=_default("activation").value,
    show_default=True,
    help="Hidden units: relu, or the paper's sigmoid.",
)
@click.option(
    "--pretrain-lr",
    type=float,
    default=_default("pretrain_lr"),
    show_default=True,
    help="The learning rate of pretraining (Adam, or --optimizer sgd).",
)
@click.option(
    "--extend/--no-extend",
    default=_default("extend"),
    show_default=True,
    help="Where validation's choice lies on the grid's edge, try one step beyond it, and on while the "
    "validation error falls.",
)
@click.option(
    "--batch-size",
    type=int,
    default=_default("batch_size"),
    show_default=True,
    help="Examples a batch, every problem and stage (budgets count updates).",
)
@click.option(
    "--data-dir",
    type=click.Path(),
    default=None,
    help="Folder with MNIST's IDX files (the digit problems' stand-ins) or the problems' original zips.",
)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the table as JSON to this file.")
@click.option(
    "--reuse",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="An earlier --out file with the same options: its validation errors stand in for the points it tried.",
)
@click.option("--svm/--no-svm", default=True, show_default=True, help="Also the RBF SVM baseline.")
@click.option(
    "--models",
    type=Names(BenchModel),
    default=",".join(_default("models")),
    show_default=True,
    help="Table 3's columns to run, separated by commas (mlp: the same network without pretraining).",
)
@click.option(
    "--optimizer",
    type=values(Optimizer),
    default=_default("optimizer").value,
    show_default=True,
    help="adam, or sgd (plain, no momentum: the paper's).",
)
@click.option(
    "--schedule",
    type=values(Schedule),
    default=_default("schedule").value,
    show_default=True,
    help="Fine-tuning's learning rate over its epochs.",
)
@click.option(
    "--preset",
    type=values(Preset),
    default=None,
    help="A named protocol whose settings replace the defaults (options given here still win): vincent2010, the "
    "paper's own (sigmoid units, plain SGD, its grids).",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def bench(ctx: click.Context, problems, reuse, out, quiet, **params):
    """Table 3's columns on the 2007 benchmark problems, beside the paper's: SVM-rbf (C and gamma chosen on
    validation, refit on training + validation), the network without pretraining (mlp), SAA-3, DBN-1, DBN-3 and
    SdA-3 (pretraining setting, fine-tuning learning rate and epoch chosen on validation)."""
    from sdae.commands.bench import bench as run_bench
    from sdae.commands.bench import known_points
    from sdae.files import atomic_write_json, read_json

    preset = params.pop("preset")
    if preset is not None:
        chosen = given(ctx)
        try:
            options = BenchOptions.from_preset(preset, **{k: v for k, v in params.items() if k in chosen})
        except ValueError as e:
            raise UsageError(str(e)) from None
    else:
        options = build(BenchOptions, params)
    click.echo(f"{'problem':<17} {'model':<5} {'ours (95%)':>13} {'paper (95%)':>13}  {'chosen':<28} {'seconds':>7}")
    known = known_points(read_json(reuse), options, reuse) if reuse else None
    rows = run_bench(
        [p.strip() for p in problems.split(",") if p.strip()],
        options,
        known=known,
        hooks=progress(quiet),
        on_model=lambda problem, model, result: click.echo(_line(problem, model, result)),
        on_row=lambda row: click.echo(f"{row.problem}: {row.data} data"),
    )
    if out:
        written = {"options": to_dict(options), "preset": preset, "rows": [row.to_dict() for row in rows]}
        atomic_write_json(out, written)
        click.echo(f"wrote {out}")
