"""`sdae bench`: the 2007 benchmark problems, SdA-3 and an RBF SVM beside the paper's Table 3."""

from __future__ import annotations

import click

from sdae.checks import default_of
from sdae.options import BENCHMARK_PROBLEMS, Activation, BenchOptions, to_dict

from .options import Numbers, build, progress, values


def _default(name: str):
    return default_of(BenchOptions, name)


def _line(row) -> str:
    paper = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    svm = "-".rjust(13) if row.svm_error is None else f"{row.svm_error:6.2f} +-{row.svm_interval:4.2f}"
    return (
        f"{row.problem:<17} {'/'.join(map(str, row.sizes)):>16} {row.sda3_error:6.2f} +-{row.sda3_interval:4.2f} "
        f"{paper(row.paper_sda3):>6} {100 * row.noise:4.0f}% {row.lr:<7g} {svm} "
        f"{paper(row.paper_svm):>6} {row.sda3_seconds + row.svm_seconds:7.0f}"
    )


@click.command()
@click.option(
    "--problems",
    default=",".join(BENCHMARK_PROBLEMS),
    show_default=True,
    help="Benchmark problems, separated by commas.",
)
@click.option(
    "--scale", type=float, default=_default("scale"), show_default=True, help="Fraction of the published split sizes."
)
@click.option(
    "--units", type=int, default=_default("units"), show_default=True, help="Units in each of the three hidden layers."
)
@click.option(
    "--activation",
    type=values(Activation),
    default=_default("activation").value,
    show_default=True,
    help="Hidden units: relu, or the paper's sigmoid.",
)
@click.option(
    "--noise-levels",
    type=Numbers("0.1,0.25,0.4"),
    default=",".join(f"{v:g}" for v in _default("noise_levels")),
    show_default=True,
    help="Masking fractions; the validation split chooses one per problem.",
)
@click.option(
    "--pretrain-epochs", type=int, default=_default("pretrain_epochs"), show_default=True, help="Epochs per pair."
)
@click.option(
    "--epochs", type=int, default=_default("epochs"), show_default=True, help="Supervised fine-tuning epochs, at most."
)
@click.option(
    "--patience",
    type=int,
    default=_default("patience"),
    show_default=True,
    help="Stop fine-tuning after N epochs without a better validation error.",
)
@click.option(
    "--pretrain-lr",
    type=float,
    default=_default("pretrain_lr"),
    show_default=True,
    help="Adam's learning rate, pretraining.",
)
@click.option(
    "--lrs",
    type=Numbers("0.0005,0.002"),
    default=",".join(f"{v:g}" for v in _default("lrs")),
    show_default=True,
    help="Fine-tuning learning rates (Adam); the validation split chooses one per problem.",
)
@click.option(
    "--extend/--no-extend",
    default=_default("extend"),
    show_default=True,
    help="Where validation's choice lies on the grid's edge, try one step beyond it, and on while the "
    "validation error falls.",
)
@click.option("--seed", type=int, default=_default("seed"), show_default=True)
@click.option("--device", default=_default("device"), show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--data-dir", type=click.Path(), default=None, help="Folder with MNIST's IDX files (the digit problems).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the table as JSON to this file.")
@click.option(
    "--reuse",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="An earlier --out file with the same options: its validation errors stand in for the points it tried.",
)
@click.option("--svm/--no-svm", default=True, show_default=True, help="Also the RBF SVM baseline.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def bench(problems, reuse, out, quiet, **params):
    """SdA-3 (corruption level and fine-tuning learning rate chosen on validation) and an RBF SVM (C and
    gamma chosen on validation, refit on training + validation) on the 2007 benchmark problems, beside
    the paper's Table 3."""
    from sdae.commands.bench import bench as run_bench
    from sdae.commands.bench import known_points
    from sdae.files import atomic_write_json, read_json

    options = build(BenchOptions, params)
    click.echo(
        f"{'problem':<17} {'train/valid/test':>16} {'SdA-3 (95%)':>13} {'paper':>6} {'mask':>5} {'lr':<7} "
        f"{'SVM-rbf (95%)':>13} {'paper':>6} {'seconds':>7}"
    )
    known = known_points(read_json(reuse), options, reuse) if reuse else None
    rows = run_bench(
        [p.strip() for p in problems.split(",") if p.strip()],
        options,
        known=known,
        hooks=progress(quiet),
        on_row=lambda row: click.echo(_line(row)),
    )
    if out:
        atomic_write_json(out, {"options": to_dict(options), "rows": [row.to_dict() for row in rows]})
        click.echo(f"wrote {out}")
