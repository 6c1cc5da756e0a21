"""`sdae`: parse options, call the library, print. No logic of its own."""

from __future__ import annotations

import logging
import sys

import click

import sdae
from sdae.config import DataOptions, RunConfig
from sdae.errors import Interrupted, SDAEError, UsageError
from sdae.model import ACTIVATIONS, hidden_sizes
from sdae.stages import best_record
from sdae.train import LOSSES, OPTIMIZERS, SCHEDULES, TrainOptions

from . import messages
from .messages import translate
from .progress import Reporter

DEFAULTS = RunConfig()
DEFAULT_TRAIN = TrainOptions()
_state: dict = {"debug": False}

def parse_layers(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"`hidden` {text!r}: sizes must be whole numbers separated by commas, e.g. 256,128,64") from None
    return hidden_sizes(sizes)


def parse_emphasis(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        weights = [float(part) for part in text.split(",")]
    except ValueError:
        weights = []
    if len(weights) != 2:
        raise UsageError(f"`emphasis` {text!r}: give two weights ALPHA,BETA, e.g. 1,0.5")
    return weights


def training_options(f):
    """The optimizer options shared by pretrain and finetune."""
    options = [
        click.option("--batch-size", type=int, default=DEFAULT_TRAIN.batch_size, show_default=True, help="Examples per batch."),
        click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=DEFAULT_TRAIN.optimizer, show_default=True),
        click.option("--lr", type=float, default=DEFAULT_TRAIN.lr, show_default=True, help="Learning rate."),
        click.option("--momentum", type=float, default=DEFAULT_TRAIN.momentum, show_default=True, help="SGD momentum."),
        click.option("--weight-decay", type=float, default=DEFAULT_TRAIN.weight_decay, show_default=True),
        click.option("--loss", type=click.Choice(LOSSES), default=DEFAULT_TRAIN.loss, show_default=True,
                     help="auto: binary cross-entropy for pixels behind the Sigmoid, squared error for codes."),
        click.option("--schedule", type=click.Choice(SCHEDULES), default=DEFAULT_TRAIN.schedule, show_default=True,
                     help="Learning rate: constant, or cosine decay to 0 over each stage's epochs."),
        click.option("--warmup", type=float, default=DEFAULT_TRAIN.warmup, show_default=True,
                     help="Epochs over which each stage's learning rate rises linearly to --lr."),
        click.option("--device", default=None, help="auto (the GPU where there is one), cpu or cuda.  [default: auto, or the run's]"),
        click.option("--save-every", type=int, default=None, help="Write a checkpoint every N epochs.  [default: 1]"),
        click.option("--resume", is_flag=True, help="Continue from the run's last checkpoint."),
        click.option("--overwrite", is_flag=True, help="Replace what this command wrote before (only sdae's own files)."),
        click.option("--quiet", is_flag=True, help="No progress bar, no per-epoch lines."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def train_options(epochs, batch_size, optimizer, lr, momentum, weight_decay, loss, schedule, warmup) -> TrainOptions:
    return TrainOptions(epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, momentum=momentum,
                        weight_decay=weight_decay, loss=loss, schedule=schedule, warmup=warmup).validate()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(sdae.__version__, prog_name="sdae")
def cli(debug: bool) -> None:
    """Stacked denoising autoencoders (Vincent et al., JMLR 2010): greedy denoising pretraining, then fine-tuning."""
    _state["debug"] = debug


@cli.command()
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


@cli.command()
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


@cli.command()
@click.argument("run", type=click.Path())
def info(run):
    """Print what a run folder holds."""
    messages.RUN[0] = run
    folder = sdae.RunFolder.open(run)
    config, facts, status = folder.config, folder.data_facts, folder.status
    metrics = folder.read_metrics()
    lines = [
        f"run        {folder.path}  (sdae {folder.meta.get('sdae_version')}, torch {folder.meta.get('torch_version')})",
        f"network    {'-'.join(map(str, folder.sizes))}-{'-'.join(map(str, reversed(folder.sizes[:-1])))}"
        f"  {'ReLU' if config.activation == 'relu' else 'sigmoid'} units, Sigmoid output"
        f"{', tied weights' if config.tied else ''}",
        f"data       {config.data.dataset}: {facts['n_train']} training, {facts['n_val']} validation examples"
        f"{f' (first {config.data.limit})' if config.data.limit else ''}; from {facts.get('source')}",
        f"scaling    x01 = (x - {facts['scaling']['offset']:g}) * {facts['scaling']['scale']:g}",
        f"noise      {', '.join(config.noise)}"
        + (f"; emphasis alpha {config.emphasis[0]:g}, beta {config.emphasis[1]:g}" if config.emphasis else "")
        + ("; each example corrupted once" if config.fixed_noise else ""),
        f"seed       {config.seed}   device {config.device}",
        f"pretrain   {status.get('pretrain')}: {_options_text(config.pretrain)}",
        f"finetune   {status.get('finetune') or 'not run'}"
        + (f" ({status.get('finetune_kind')})" if status.get("finetune") else "")
        + (f": {_options_text(config.finetune)}" if config.finetune else ""),
    ]
    for stage in ("pretrain", "finetune", "supervised"):
        rows = [r for r in metrics if r.stage == stage]
        pairs = sorted({r.pair for r in rows}, key=lambda p: (p is None, p))
        for pair in pairs:
            last = [r for r in rows if r.pair == pair][-1]
            seconds = sum(r.seconds for r in rows if r.pair == pair)
            where = stage if pair is None else f"{stage} pair {pair}"
            val = "" if last.val_loss is None else f", val {last.val_loss:.5f}"
            if last.val_error is not None:
                best = best_record(rows)
                val += f", best validation error {100 * best.val_error:.2f}% (epoch {best.epoch})"
            dead = "" if not last.dead_units else \
                ", dead units " + " ".join(f"L{k}:{100 * f:.1f}%" for k, f in enumerate(last.dead_units, 1))
            lines.append(f"  {where}: {last.epoch} epochs, last train {last.train_loss:.5f}{val} ({last.loss}), "
                         f"{seconds:.1f} s{dead}")
    files = sorted(p.name for p in folder.path.iterdir() if not p.name.startswith("."))
    lines.insert(1, f"run id     {folder.marker['run_id']} (created {folder.marker.get('created', '?')}, run format {folder.marker['format']})")
    lines.append(f"files      {', '.join(files)}")
    click.echo("\n".join(lines))


def _options_text(o: TrainOptions) -> str:
    extra = f", momentum {o.momentum:g}" if o.optimizer == "sgd" else ""
    return (f"{o.epochs} epochs, {o.optimizer} lr {o.lr:g} ({o.schedule}, warmup {o.warmup:g} epochs){extra}, batch {o.batch_size}, "
            f"weight decay {o.weight_decay:g}, loss {o.loss}")


@cli.command()
@click.argument("run", type=click.Path())
@click.option("--device", default=None, help="auto, cpu or cuda.  [default: the run's]")
@click.option("--data-dir", type=click.Path(), default=None, help="Where MNIST is now, if it moved.")
def evaluate(run, device, data_dir):
    """Test-set reconstruction error of RUN on clean and corrupted inputs (writes RUN/evaluation.json)."""
    messages.RUN[0] = run
    results = sdae.evaluate_run(run, device=device, data_dir=data_dir)
    recon = results["reconstruction"]
    if results["reconstruction_weights"] != results["weights"]:
        click.echo(f"reconstructions by {results['reconstruction_weights']}: supervised fine-tuning trained the encoder "
                   "and the classifier, not the decoder")
    click.echo(f"{'input':<18} {'MSE':>9} {'BCE':>9} {'input MSE':>10}")
    for name, row in recon.items():
        if isinstance(row, dict):
            click.echo(f"{name:<18} {row['mse']:>9.5f} {row['bce']:>9.5f} {row['input_mse']:>10.5f}")
    click.echo(f"{'mean image':<18} {recon['mean_image_mse']:>9.5f}")
    if "classification" in results:
        c = results["classification"]
        click.echo(f"test classification error {c['test_error']:.2f}% on {c['test_size']} examples "
                   f"(weights of epoch {c['best_epoch']}, chosen on validation)")


@cli.command()
@click.argument("run", type=click.Path())
@click.option("--data-dir", type=click.Path(), default=None, help="Where MNIST is now, if it moved.")
def visualize(run, data_dir):
    """Write RUN/figures/: filters, deeper filters, denoised digits, training curves, a map of the codes."""
    messages.RUN[0] = run
    for path in sdae.visualize_run(run, data_dir):
        click.echo(str(path))


@cli.command()
@click.argument("run", type=click.Path())
@click.option("--layer", type=int, default=None, help="Encoder layer, 1 = next to the input.  [default: the top]")
@click.option("--split", type=click.Choice(["train", "validation", "test"]), default="test", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The .npz file to write (arrays codes, labels).")
@click.option("--device", default=None, help="auto, cpu or cuda.  [default: the run's]")
@click.option("--data-dir", type=click.Path(), default=None, help="Where MNIST is now, if it moved.")
@click.option("--overwrite", is_flag=True, help="Replace the --out file if it exists.")
def encode(run, layer, split, out, device, data_dir, overwrite):
    """Write the codes of one layer of RUN for a split, with their labels, to an .npz file."""
    messages.RUN[0] = run
    result = sdae.encode_run(run, layer=layer, split=split, out=out, device=device, data_dir=data_dir, overwrite=overwrite)
    click.echo(f"wrote {result['codes'].shape[0]} codes of width {result['codes'].shape[1]} to {out}")


@cli.command()
@click.argument("run", type=click.Path())
@click.option("--train-size", type=int, default=10000, show_default=True, help="Training examples for every SVM.")
@click.option("--test-size", type=int, default=None, help="Test examples to score on.  [default: all]")
@click.option("--data-dir", type=click.Path(), default=None, help="Where MNIST is now, if it moved.")
@click.option("--weights", type=click.Choice(["pretrained", "finetuned"]), default="pretrained", show_default=True,
              help="Codes of the greedily pretrained stack (the paper's experiment) or of the fine-tuned network.")
def svm(run, train_size, test_size, data_dir, weights):
    """Linear and RBF SVMs on pixels and on each layer's codes of RUN (writes RUN/svm.json)."""
    messages.RUN[0] = run

    def show(result):
        gamma = "" if result.gamma is None else f", gamma={result.gamma:.3g}"
        click.echo(f"  {result.representation:<9} {result.kernel:<6} {result.test_error:6.2f}%  "
                   f"(C={result.C:g}{gamma} chosen on validation, {result.seconds:.1f} s)")

    click.echo(f"fitting on the {weights} weights' codes (representation, kernel, test error):")
    report = sdae.svm_run(run, train_size=train_size, test_size=test_size, data_dir=data_dir, on_result=show,
                          weights=weights)
    rows = {}
    for r in report["results"]:
        rows.setdefault((r["representation"], r["width"]), {})[r["kernel"]] = r["test_error"]
    click.echo(f"\ntest error % ({report['train_size']} training, {report['val_size']} validation, "
               f"{report['test_size']} test examples)")
    click.echo(f"{'representation':<16} {'width':>6} {'linear':>8} {'rbf':>8}")
    for (name, width), errors in rows.items():
        cells = "".join(f" {errors[k]:>8.2f}" if k in errors else f" {'-':>8}" for k in ("linear", "rbf"))
        click.echo(f"{name:<16} {width:>6}{cells}")


def main(argv: list[str] | None = None) -> None:
    log = logging.getLogger("sdae")
    if not any(isinstance(h, messages.WarningLine) for h in log.handlers):
        log.addHandler(messages.WarningLine(logging.WARNING))
    try:
        code = cli.main(args=argv, prog_name="sdae", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("sdae: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        click.echo(f"sdae: error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except Interrupted as e:
        if _state["debug"]:
            raise
        how = f"sdae pretrain --out {e.path} --resume" if e.resume == "pretrain" else f"sdae finetune {e.path} --resume"
        click.echo(f"sdae: interrupted: the last completed epoch is saved; continue with {how}", err=True)
        sys.exit(130)
    except SDAEError as e:
        if _state["debug"]:
            raise
        click.echo(f"sdae: error: {translate(str(e))}", err=True)
        sys.exit(2 if isinstance(e, UsageError) else 1)
    except OSError as e:  # a last resort: the library turns the failures it expects into its own errors
        if _state["debug"]:
            raise
        where = f"{e.filename}: " if e.filename else ""
        click.echo(f"sdae: error: {where}{e.strerror or e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("sdae: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
