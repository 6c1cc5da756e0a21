"""A trained network on new data: `sdae denoise` (and the progress bar `sdae encode --input` shares)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from .options import working_on

if TYPE_CHECKING:
    from tqdm.auto import tqdm  # imported where a bar is drawn: the command line starts without it


class Bars:
    """A tqdm bar per stage of `sdae.commands.apply` ("reading", "encoding", "denoising"), drawn on a terminal
    only, and not at all when `quiet`; called as the library's `on_progress(stage, done, total)`."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.bar: tqdm | None = None
        self.stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if stage != self.stage:
            from tqdm.auto import tqdm

            self.close()
            self.stage = stage
            self.bar = tqdm(
                total=total, desc=stage, unit="example", leave=False, file=sys.stderr, disable=None, dynamic_ncols=True
            )
        assert self.bar is not None  # made with the stage's first report
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar = self.stage = None

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@click.command()
@click.argument("run", type=click.Path())
@click.option(
    "--input",
    "input",
    required=True,
    type=click.Path(),
    help="An .npz file (its x, else x_test, else x_train), an .npy file, a folder of .npy shards, or images: "
    "a folder (flat, or one subfolder per class) or one file.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(),
    help="Images in: the folder for the cleaned PNGs, same names (created if missing). Arrays in: the .npz "
    "file to write (x; with --noise also corrupted).",
)
@click.option(
    "--noise",
    default=None,
    help="Corrupt the inputs first (e.g. gaussian:0.3, masking:0.25), to show what "
    "the network removes; images: NAME.noisy.png beside each cleaned one.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="The seed of --noise.")
@click.option("--device", default=None, help="auto, cpu or cuda.  [default: the run's]")
@click.option("--batch-size", type=int, default=1024, show_default=True, help="Examples per batch.")
@click.option("--overwrite", is_flag=True, help="Replace files in --out that exist.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def denoise(run, input, out, noise, seed, device, batch_size, overwrite, quiet):
    """Clean images or arrays with RUN (or a network shipped with sdae: mnist): images in, PNGs out; arrays in, an
    .npz file out. The inputs are scaled as the network's training data was, and checked against it."""
    working_on(run)
    from sdae.commands.apply import denoise_input

    with Bars(quiet) as bars:
        result = denoise_input(
            run,
            input,
            out,
            noise=noise,
            seed=seed,
            device=device,
            batch_size=batch_size,
            overwrite=overwrite,
            on_progress=bars,
        )
    if result["note"]:
        click.echo(result["note"])
    images = result["kind"] == "images"
    noisy = ""
    if result["noise"]:
        noisy = f" (the inputs corrupted first by {result['noise']}, seed {result['seed']}" + (
            "; those as NAME.noisy.png)" if images else "; those as corrupted)"
        )
    click.echo(f"wrote {result['count']} cleaned {'images' if images else 'examples'} to {result['out']}{noisy}")
    line = f"mean squared error against the clean inputs (in [0, 1]): {result['mse']:.5f}"
    if "input_mse" in result:
        line += f"; the corrupted inputs': {result['input_mse']:.5f}"
    click.echo(line)
