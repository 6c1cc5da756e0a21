"""`sdae sample` (samples generated from a run) and `sdae paper` (the paper's experiments, one command each)."""

from __future__ import annotations

import click

from sdae.paper import EXPERIMENTS

from .options import budget_options, build, moved_data_options, progress, working_on


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
@moved_data_options
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
@budget_options(
    scale=0.1,
    units=500,
    scale_help=" (MNIST experiments: of the 60,000 digits)",
    units_help=" (depth-width: its own widths, 250,500,1000; patches: 50 and 200, the paper's)",
    noise_help=" (noise-level: its own, 0 to 70%; noisy-inputs: 25%)",
)
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
