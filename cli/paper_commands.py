"""`sdae sample` (samples generated from a run) and `sdae paper` (the paper's experiments, one command each)."""

from __future__ import annotations

import click

from sdae.paper import EXPERIMENTS

from .options import Numbers, build, progress, working_on


@click.command()
@click.argument("run", type=click.Path())
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    required=True,
    help="The picture to write (PNG); the samples go beside it as .npz.",
)
@click.option("--examples", type=int, default=10, show_default=True, help="Test examples to start from.")
@click.option("--samples", type=int, default=8, show_default=True, help="Samples generated from each.")
@click.option(
    "--weights",
    type=click.Choice(["pretrained", "finetuned"]),
    default="pretrained",
    show_default=True,
    help="The layer-wise weights of pretraining (the paper's), or the fine-tuned ones.",
)
@click.option("--layer", type=int, default=None, help="Generate from this layer's code.  [default: the top]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace files already there.")
@click.option("--data-dir", type=click.Path(), default=None, help="Where MNIST is now, if it moved.")
@click.option("--dataset", type=click.Path(), default=None, help="Where the run's own data file is now, if it moved.")
def sample(run, **params):
    """Generate samples from RUN's stack of sigmoid units: each test example's top code, its units sampled as
    Bernoulli variables, then each layer below through the decoders (Vincent et al. 2010, section 7)."""
    from sdae.commands.generation import sample_run

    working_on(run)
    written = sample_run(run, **params)
    click.echo(
        f"{written['figure']}: {written['samples']} samples from each of {written['examples']} "
        f"{written['split']} examples; the samples in {written['arrays']}"
    )


@click.command()
@click.argument("name", type=click.Choice(list(EXPERIMENTS)))
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="paper",
    show_default=True,
    help="Folder for NAME.png and NAME.json.",
)
@click.option("--problems", default=None, help="2007 problems, separated by commas.  [default: the experiment's own]")
@click.option(
    "--scale",
    type=float,
    default=0.1,
    show_default=True,
    help="Fraction of the published split sizes (MNIST experiments: of the 60,000 digits).",
)
@click.option(
    "--units",
    type=int,
    default=500,
    show_default=True,
    help="Units a hidden layer (depth-width: its own widths, 250,500,1000; patches: 50 and 200, the paper's).",
)
@click.option("--pretrain-epochs", type=int, default=15, show_default=True, help="Epochs per pair.")
@click.option("--epochs", type=int, default=50, show_default=True, help="Supervised fine-tuning epochs, at most.")
@click.option(
    "--patience",
    type=int,
    default=10,
    show_default=True,
    help="Stop fine-tuning after N epochs without a better validation error.",
)
@click.option(
    "--lrs",
    type=Numbers("0.001,0.002"),
    default="0.001,0.002,0.004",
    show_default=True,
    help="Fine-tuning learning rates; validation chooses one for each point.",
)
@click.option(
    "--noise-levels",
    type=Numbers("0.1,0.25,0.4"),
    default="0.1,0.25,0.4",
    show_default=True,
    help="Masking (and salt-and-pepper) levels where the experiment searches one.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--data-dir", type=click.Path(), default=None, help="Folder with MNIST's IDX files.")
@click.option("--overwrite", is_flag=True, help="Replace NAME.png and NAME.json where they exist.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def paper(name, out, problems, quiet, overwrite, **params):
    """Run one of the paper's experiments (Vincent et al. 2010) and write its figure and numbers into OUT:
    patches, mnist-filters, noise-emphasis, depth-width, noise-level, noisy-inputs, svm-codes, samples."""
    import sdae.paper
    from sdae.bench_options import BenchOptions

    options = build(BenchOptions, params)
    chosen = tuple(p.strip() for p in problems.split(",") if p.strip()) if problems else None
    for path in sdae.paper.run(name, out, options, chosen, hooks=progress(quiet), overwrite=overwrite):
        click.echo(str(path))
