"""`sdae pretrain` and `sdae finetune`."""

from __future__ import annotations

import click

import sdae
from sdae.config import DataOptions, RunConfig
from sdae.model import ACTIVATIONS
from sdae.stages import best_record

from . import messages
from .options import DEFAULT_TRAIN, DEFAULTS, parse_emphasis, parse_layers, train_options, training_options
from .progress import Reporter


@click.command()
@click.option("--out", required=True, type=click.Path(file_okay=False), help="The run folder to create.")
@click.option("--dataset", default=DEFAULTS.data.dataset, show_default=True, help="mnist, digits, patches, or a .npz/.npy file.")
@click.option("--data-dir", type=click.Path(), default=None, help="Folder with MNIST's IDX files.  [default: $SDAE_DATA_DIR, else ~/.cache/sdae/mnist]")
@click.option("--limit", type=int, default=None, help="Use only the first N training examples.")
@click.option("--val-fraction", type=float, default=DEFAULTS.data.val_fraction, show_default=True,
              help="Fraction of the training examples held out for validation.")
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
@click.option("--epochs", type=int, default=DEFAULT_TRAIN.epochs, show_default=True, help="Epochs per pair.")
@training_options
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True)
def pretrain(out, dataset, data_dir, limit, val_fraction, layers, tied, activation, noise, emphasis, fixed_noise, epochs,
             batch_size, optimizer, lr, momentum, weight_decay, loss, schedule, warmup, device, save_every, resume,
             overwrite, quiet, seed):
    """Greedily pretrain each denoising pair into a new run folder OUT."""
    messages.RUN[0] = out
    reporter = Reporter(quiet)
    if resume:
        folder = sdae.resume_pretraining(out, hooks=reporter.hooks(), device=device, data_dir=data_dir)
    else:
        config = RunConfig(
            data=DataOptions(dataset=dataset, data_dir=data_dir, limit=limit, val_fraction=val_fraction),
            hidden=parse_layers(layers), tied=tied, noise=list(noise), seed=seed, device=device or "auto",
            activation=activation, emphasis=parse_emphasis(emphasis), fixed_noise=fixed_noise,
            save_every=DEFAULTS.save_every if save_every is None else save_every,
            pretrain=train_options(epochs, batch_size, optimizer, lr, momentum, weight_decay, loss, schedule, warmup),
        )
        folder = sdae.run_pretraining(out, config, overwrite=overwrite, hooks=reporter.hooks())
    click.echo(f"pretrained {'-'.join(map(str, folder.sizes))} into {folder.path}")


@click.command()
@click.argument("run", type=click.Path())
@click.option("--epochs", type=int, default=120, show_default=True)
@training_options
@click.option("--noise", multiple=True, default=None, help="Override the run's noise (same forms as pretrain).")
@click.option("--data-dir", type=click.Path(), default=None, help="Where MNIST is now, if it moved.")
@click.option("--supervised", is_flag=True, help="Train a softmax layer on the top code and every layer on the labels.")
@click.option("--patience", type=int, default=None, help="Supervised: stop after N epochs without a better validation error.")
def finetune(run, epochs, batch_size, optimizer, lr, momentum, weight_decay, loss, schedule, warmup, device, save_every,
             resume, overwrite, quiet, noise, data_dir, supervised, patience):
    """Fine-tune the whole network of RUN end to end: on the denoising criterion, or on the labels with --supervised."""
    messages.RUN[0] = run
    reporter = Reporter(quiet)
    options = sdae.FinetuneOptions(train_options(epochs, batch_size, optimizer, lr, momentum, weight_decay, loss, schedule, warmup),
                                   supervised=supervised, patience=patience, noise=list(noise) or None,
                                   save_every=save_every)
    folder = sdae.run_finetuning(run, options, resume=resume, overwrite=overwrite, device=device, data_dir=data_dir,
                                 hooks=reporter.hooks())
    rows = [r for r in folder.read_metrics() if r.stage in ("finetune", "supervised")]
    if rows and rows[-1].stage == "supervised":
        best = best_record(rows)
        click.echo(f"fine-tuned {folder.path} on the labels: kept epoch {best.epoch}, "
                   f"validation error {100 * best.val_error:.2f}%")
    elif rows:
        val = "" if rows[-1].val_loss is None else f", val {rows[-1].val_loss:.5f}"
        click.echo(f"fine-tuned {folder.path}: train {rows[-1].train_loss:.5f}{val}")
