"""`sdae pretrain` and `sdae finetune`."""

from __future__ import annotations

import click

import sdae
from sdae.config import DataOptions, RunConfig, config_from_file, merged
from sdae.errors import UsageError
from sdae.model import ACTIVATIONS
from sdae.stages import best_record

from . import messages
from .options import DEFAULT_TRAIN, DEFAULTS, parse_emphasis, parse_layers, train_options, training_options

# Where each pretrain option lands in a RunConfig, for options given on the line over a --config file.
FIELDS = {"dataset": ("data", "dataset"), "data_dir": ("data", "data_dir"), "limit": ("data", "limit"),
          "val_fraction": ("data", "val_fraction"), "scale": ("data", "scale"), "layers": ("hidden",), "tied": ("tied",), "activation": ("activation",),
          "noise": ("noise",), "emphasis": ("emphasis",), "fixed_noise": ("fixed_noise",), "seed": ("seed",),
          "device": ("device",), "save_every": ("save_every",), "log_to": ("log",),
          **{name: ("pretrain", name) for name in ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay",
                                                   "loss", "schedule", "warmup")},
          "compiled": ("pretrain", "compile")}


def given(ctx: click.Context) -> list[str]:
    """The options the user wrote on the command line (not defaults)."""
    return [name for name in ctx.params if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]


def refuse_with_resume(ctx: click.Context, allowed: tuple[str, ...]) -> None:
    ignored = [name for name in given(ctx) if name not in allowed]
    if ignored:
        flags = ", ".join("--" + name.replace("_", "-") for name in ignored)
        raise UsageError(f"--resume continues with the run's own settings and would ignore {flags}; leave them out, "
                         "or start the stage again with --overwrite")


def over_file(ctx: click.Context, base: RunConfig, line: RunConfig) -> RunConfig:
    """`base` (from --config) with the options given on the command line taken from `line`."""
    settings, mine = base.to_dict(), line.to_dict()
    for name in given(ctx):
        if name in FIELDS:
            path = FIELDS[name]
            value = mine
            for key in path:
                value = value[key]
            change = value
            for key in reversed(path):
                change = {key: change}
            settings = merged(settings, change)
    return RunConfig.from_dict(settings)
from sdae.progress import ProgressBars


@click.command()
@click.option("--out", required=True, type=click.Path(file_okay=False), help="The run folder to create.")
@click.option("--dataset", default=DEFAULTS.data.dataset, show_default=True,
              help="mnist, digits, patches, a 2007 benchmark (mnist-basic, mnist-rot, mnist-bg-rand, mnist-bg-img, "
                   "mnist-rot-bg-img, rectangles, rectangles-image, convex), or a .npz/.npy file.")
@click.option("--scale", type=float, default=DEFAULTS.data.scale, show_default=True,
              help="2007 benchmarks: fraction of the published split sizes.")
@click.option("--data-dir", type=click.Path(), default=None, help="Folder with MNIST's IDX files.  [default: $SDAE_DATA_DIR, else ~/.cache/sdae/mnist]")
@click.option("--limit", type=int, default=None, help="Use only the first N training examples.")
@click.option("--val-fraction", type=float, default=DEFAULTS.data.val_fraction, show_default=True,
              help="Fraction of the training examples held out for validation (the 2007 benchmarks use their published split).")
@click.option("--layers", default=",".join(map(str, DEFAULTS.hidden)), show_default=True, help="Hidden sizes, input side first.")
@click.option("--tied", is_flag=True, help="Tie each decoder weight to its encoder weight, transposed.")
@click.option("--activation", type=click.Choice(ACTIVATIONS), default=DEFAULTS.activation, show_default=True,
              help="Hidden units: relu, or the paper's sigmoid (codes in [0, 1], cross-entropy at every pair).")
@click.option("--noise", multiple=True, default=DEFAULTS.noise, show_default=True,
              help="gaussian:SIGMA[:mean=M][:clip], speckle:SIGMA[:clip], masking:NU, saltpepper:NU or none; "
                   "repeat for a per-example mixture.")
@click.option("--emphasis", default=None, metavar="ALPHA,BETA",
              help="Emphasized denoising: weight the loss by ALPHA on corrupted components, BETA on the others.")
@click.option("--fixed-noise", is_flag=True, help="Corrupt each training example once, before training.")
@click.option("--log", "log_to", type=click.Choice(["tensorboard"]), multiple=True,
              help="Also log every epoch (and the figures) for TensorBoard, in RUN/tensorboard/.")
@click.option("--epochs", type=int, default=DEFAULT_TRAIN.epochs, show_default=True, help="Epochs per pair.")
@training_options
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Start from the settings in FILE (a run's config.json, or TOML); options given here override them.")
@click.pass_context
def pretrain(ctx, out, dataset, scale, data_dir, limit, val_fraction, layers, tied, activation, noise, emphasis, fixed_noise,
             log_to, epochs, batch_size, optimizer, lr, momentum, weight_decay, loss, schedule, warmup, compiled, device,
             save_every,
             resume, overwrite, quiet, seed, config_file):
    """Greedily pretrain each denoising pair into a new run folder OUT."""
    messages.RUN[0] = out
    hooks = None if quiet else ProgressBars().hooks()
    if resume:
        refuse_with_resume(ctx, allowed=("out", "resume", "device", "data_dir", "quiet"))
        folder = sdae.resume_pretraining(out, hooks=hooks, device=device, data_dir=data_dir)
    else:
        config = RunConfig(
            data=DataOptions(dataset=dataset, data_dir=data_dir, limit=limit, val_fraction=val_fraction, scale=scale),
            hidden=parse_layers(layers), tied=tied, noise=list(noise), seed=seed, device=device or "auto",
            activation=activation, emphasis=parse_emphasis(emphasis), fixed_noise=fixed_noise, log=list(log_to),
            save_every=DEFAULTS.save_every if save_every is None else save_every,
            pretrain=train_options(epochs, batch_size, optimizer, lr, momentum, weight_decay, loss, schedule, warmup,
                                   compiled),
        )
        if config_file is not None:
            config = over_file(ctx, config_from_file(config_file), config)
        folder = sdae.run_pretraining(out, config, overwrite=overwrite, hooks=hooks)
    click.echo(f"pretrained {'-'.join(map(str, folder.sizes))} into {folder.path}")


@click.command()
@click.argument("run", type=click.Path())
@click.option("--epochs", type=int, default=120, show_default=True)
@training_options
@click.option("--noise", multiple=True, default=None, help="Override the run's noise (same forms as pretrain).")
@click.option("--data-dir", type=click.Path(), default=None, help="Where MNIST is now, if it moved.")
@click.option("--supervised", is_flag=True, help="Train a softmax layer on the top code and every layer on the labels.")
@click.option("--patience", type=int, default=None, help="Supervised: stop after N epochs without a better validation error.")
@click.pass_context
def finetune(ctx, run, epochs, batch_size, optimizer, lr, momentum, weight_decay, loss, schedule, warmup, compiled,
             device, save_every,
             resume, overwrite, quiet, noise, data_dir, supervised, patience):
    """Fine-tune the whole network of RUN end to end: on the denoising criterion, or on the labels with --supervised."""
    messages.RUN[0] = run
    hooks = None if quiet else ProgressBars().hooks()
    if resume:
        refuse_with_resume(ctx, allowed=("run", "resume", "device", "data_dir", "quiet", "epochs"))
    extend_to = epochs if resume and "epochs" in given(ctx) else None
    options = sdae.FinetuneOptions(train_options(epochs, batch_size, optimizer, lr, momentum, weight_decay, loss, schedule,
                                                 warmup, compiled),
                                   supervised=supervised, patience=patience, noise=list(noise) or None,
                                   save_every=save_every)
    folder = sdae.run_finetuning(run, options, resume=resume, overwrite=overwrite, device=device, data_dir=data_dir,
                                 hooks=hooks, extend_to=extend_to)
    rows = [r for r in folder.read_metrics() if r.stage in ("finetune", "supervised")]
    if rows and rows[-1].stage == "supervised":
        best = best_record(rows)
        click.echo(f"fine-tuned {folder.path} on the labels: kept epoch {best.epoch}, "
                   f"validation error {100 * best.val_error:.2f}%")
    elif rows:
        val = "" if rows[-1].val_loss is None else f", val {rows[-1].val_loss:.5f}"
        click.echo(f"fine-tuned {folder.path}: train {rows[-1].train_loss:.5f}{val}")
