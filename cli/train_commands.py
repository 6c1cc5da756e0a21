"""`sdae pretrain` and `sdae finetune`."""

from __future__ import annotations

import click

import sdae
from sdae.errors import UsageError
from sdae.options import (
    Activation,
    FinetuneOptions,
    Log,
    Output,
    Pretraining,
    RunConfig,
    ScalingRule,
    TrainOptions,
    sections_of,
)

from .options import (
    Numbers,
    Sizes,
    build,
    given,
    lay_over,
    moved_data_options,
    progress,
    refuse_with_resume,
    training_options,
    values,
    working_on,
)


def _default(name: str):
    """The default of a setting, by its name (for the options' help)."""
    *sections, key = sections_of(RunConfig)[name]
    value = RunConfig().to_dict()
    for part in (*sections, key):
        value = value[part]
    return value


@click.command()
@click.option("--out", required=True, type=click.Path(file_okay=False), help="The run folder to create.")
@click.option(
    "--dataset",
    default=_default("dataset"),
    show_default=True,
    help="mnist, digits, patches, a 2007 benchmark (mnist-basic, mnist-rot, mnist-bg-rand, mnist-bg-img, "
    "mnist-rot-bg-img, rectangles, rectangles-image, convex), or a .npz/.npy file.",
)
@click.option(
    "--scale",
    type=float,
    default=_default("scale"),
    show_default=True,
    help="2007 benchmarks: fraction of the published split sizes.",
)
@click.option(
    "--scaling",
    type=values(ScalingRule),
    default=_default("scaling"),
    show_default=True,
    help="How stored values map to [0, 1]: global (bytes / 255, values in [0, 1] kept, else one minimum "
    "and maximum for all features), feature (each feature's own minimum and maximum: tables) or none "
    "(the values as they are: real-valued data, with an affine output).",
)
@click.option(
    "--data-dir",
    type=click.Path(),
    default=None,
    help="Folder with MNIST's IDX files, or with a 2007 problem's original zip.  [default: $SDAE_DATA_DIR, else "
    "~/.cache/sdae/mnist]",
)
@click.option("--limit", type=int, default=None, help="Use only the first N training examples.")
@click.option(
    "--val-fraction",
    type=float,
    default=_default("val_fraction"),
    show_default=True,
    help="Fraction of the training examples held out for validation (the 2007 benchmarks use their published split).",
)
@click.option(
    "--layers",
    type=Sizes(),
    default=",".join(map(str, _default("layers"))),
    show_default=True,
    help="Hidden sizes, input side first.",
)
@click.option("--tied", is_flag=True, help="Tie each decoder weight to its encoder weight, transposed.")
@click.option(
    "--activation",
    type=values(Activation),
    default=_default("activation"),
    show_default=True,
    help="Hidden units: relu, or the paper's sigmoid (codes in [0, 1], cross-entropy at every pair).",
)
@click.option(
    "--output",
    type=values(Output),
    default=_default("output"),
    show_default=True,
    help="The reconstruction's last layer: sigmoid (inputs in [0, 1], cross-entropy), affine (real-valued "
    "inputs, squared error), or auto (affine only where --scaling none leaves values outside [0, 1]).",
)
@click.option(
    "--noise",
    multiple=True,
    default=_default("noise"),
    show_default=True,
    help="gaussian:SIGMA[:mean=M][:clip], speckle:SIGMA[:clip], masking:NU, saltpepper:NU or none; "
    "repeat for a per-example mixture.",
)
@click.option(
    "--pretraining",
    type=values(Pretraining),
    default=_default("pretraining"),
    show_default=True,
    help="Each pair's layer-wise criterion: dae (denoising, the SdA), ae (no corruption, the SAA) or rbm "
    "(a restricted Boltzmann machine by contrastive divergence, the DBN; needs --activation sigmoid).",
)
@click.option(
    "--cd-steps", type=int, default=_default("cd_steps"), show_default=True, help="--pretraining rbm: CD-k's k."
)
@click.option(
    "--emphasis",
    type=Numbers("1,0.5", count=2),
    default=None,
    metavar="ALPHA,BETA",
    help="Emphasized denoising: weight the loss by ALPHA on corrupted components, BETA on the others.",
)
@click.option("--fixed-noise", is_flag=True, help="Corrupt each training example once, before training.")
@click.option(
    "--log",
    type=values(Log),
    multiple=True,
    help="Also log every epoch (and the figures) for TensorBoard, in RUN/tensorboard/.",
)
@click.option("--epochs", type=int, default=_default("epochs"), show_default=True, help="Epochs per pair.")
@training_options
@click.option("--seed", type=int, default=_default("seed"), show_default=True)
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    default=None,
    help="Start from the settings in FILE (a run's config.json, or TOML); options given here override them.",
)
@click.pass_context
def pretrain(ctx: click.Context, **params):
    """Greedily pretrain each denoising pair into a new run folder OUT."""
    out = params["out"]
    working_on(out)
    if params["resume"]:
        refuse_with_resume(ctx, allowed=("out", "resume", "device", "data_dir", "dataset", "quiet"))
        folder = sdae.resume_pretraining(
            out,
            hooks=progress(params["quiet"]),
            device=params["device"],
            data_dir=params["data_dir"],
            dataset=params["dataset"] if "dataset" in given(ctx) else None,
        )
    else:
        if params["config"] is not None:
            from sdae.config import config_from_file

            base = config_from_file(params["config"]).to_dict()
        else:
            base = RunConfig().to_dict()
        settings = lay_over(base, sections_of(RunConfig), params, given(ctx))
        try:
            config = RunConfig.from_dict(settings)
        except ValueError as e:
            raise UsageError(str(e)) from None
        folder = sdae.run_pretraining(out, config, overwrite=params["overwrite"], hooks=progress(params["quiet"]))
    click.echo(f"pretrained {'-'.join(map(str, folder.sizes))} into {folder.path}")


@click.command()
@click.argument("run", type=click.Path())
@click.option("--epochs", type=int, default=120, show_default=True)
@training_options
@click.option("--noise", multiple=True, default=None, help="Override the run's noise (same forms as pretrain).")
@moved_data_options
@click.option("--supervised", is_flag=True, help="Train a softmax layer on the top code and every layer on the labels.")
@click.option(
    "--patience", type=int, default=None, help="Supervised: stop after N epochs without a better validation error."
)
@click.option(
    "--dropout",
    type=float,
    default=0.0,
    show_default=True,
    help="Supervised: fraction of hidden units dropped in training.",
)
@click.option(
    "--input-dropout",
    type=float,
    default=0.0,
    show_default=True,
    help="Supervised: fraction of inputs dropped in training.",
)
@click.pass_context
def finetune(ctx: click.Context, **params):
    """Fine-tune the whole network of RUN end to end: on the denoising criterion, or on the labels with --supervised."""
    run = params["run"]
    working_on(run)
    if params["resume"]:
        refuse_with_resume(ctx, allowed=("run", "resume", "device", "data_dir", "dataset", "quiet", "epochs"))
    extend_to = params["epochs"] if params["resume"] and "epochs" in given(ctx) else None
    options = build(
        FinetuneOptions, {**params, "train": build(TrainOptions, params), "noise": list(params["noise"]) or None}
    )
    folder = sdae.run_finetuning(
        run,
        options,
        resume=params["resume"],
        overwrite=params["overwrite"],
        device=params["device"],
        data_dir=params["data_dir"],
        hooks=progress(params["quiet"]),
        extend_to=extend_to,
        dataset=params["dataset"],
    )
    rows = [r for r in folder.read_metrics() if r.stage in ("finetune", "supervised")]
    if rows and rows[-1].stage == "supervised":
        from sdae.stages import best_record

        best = best_record(rows)
        chosen = (
            f"kept the last epoch, {best.epoch} (no validation examples held out)"
            if best.val_error is None
            else f"kept epoch {best.epoch}, validation error {100 * best.val_error:.2f}%"
        )
        click.echo(f"fine-tuned {folder.path} on the labels: {chosen}")
    elif rows:
        val = "" if rows[-1].val_loss is None else f", val {rows[-1].val_loss:.5f}"
        click.echo(f"fine-tuned {folder.path}: train {rows[-1].train_loss:.5f}{val}")
