"""What users do with a run: `sdae info`, `evaluate`, `visualize`, `encode`, `svm`."""

from __future__ import annotations

import json
from types import MappingProxyType

import click

import sdae
from sdae.options import TrainOptions

from .options import moved_data_options, working_on


@click.command()
@click.argument("run", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as JSON, for scripts.")
def info(run, as_json):
    """Print what a run folder holds."""
    working_on(run)
    from sdae.commands.catalog import summary
    from sdae.stages import best_record

    folder = sdae.RunFolder.open(run)
    if as_json:
        click.echo(json.dumps(summary(folder), indent=2))
        return
    config, facts, status = folder.config, folder.facts.to_dict(), folder.status.to_dict()
    metrics = folder.read_metrics()
    lines = [
        f"run        {folder.path}  (sdae {folder.meta.get('sdae_version')}, torch {folder.meta.get('torch_version')})",
        f"network    {'-'.join(map(str, folder.sizes))}-{'-'.join(map(str, reversed(folder.sizes[:-1])))}"
        f"  {'ReLU' if config.activation == 'relu' else 'sigmoid'} units, "
        f"{'affine output, squared error' if config.output == 'affine' else 'Sigmoid output'}"
        f"{', tied weights' if config.tied else ''}",
        f"data       {config.data.dataset}: {facts['n_train']} training, {facts['n_val']} validation examples"
        f"{f' (first {config.data.limit})' if config.data.limit else ''}; from {facts.get('source')}",
        f"scaling    {_scaling_text(facts['scaling'])}",
        f"pretrain   by {_PRETRAINING[str(config.pretraining)].format(k=config.cd_steps)}",
        f"noise      {', '.join(config.noise)}"
        + (f"; emphasis alpha {config.emphasis[0]:g}, beta {config.emphasis[1]:g}" if config.emphasis else "")
        + ("; each example corrupted once" if config.fixed_noise else ""),
        f"seed       {config.seed}   device {config.device}",
        f"pretrain   {status.get('pretrain')}: {_options_text(config.pretrain)}",
        f"finetune   {status.get('finetune') or 'not run'}"
        + (f" ({status.get('finetune_kind')})" if status.get("finetune") else "")
        + (f": {_options_text(config.finetune)}" if config.finetune else "")
        + (
            f"; dropout {config.dropout:g} of hidden units, {config.input_dropout:g} of inputs"
            if config.supervised and (config.dropout or config.input_dropout)
            else ""
        ),
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
            elif stage == "supervised":
                val += ", the last epoch kept (no validation examples held out)"
            dead = (
                ""
                if not last.dead_units
                else ", dead units " + " ".join(f"L{k}:{100 * f:.1f}%" for k, f in enumerate(last.dead_units, 1))
            )
            lines.append(
                f"  {where}: {last.epoch} epochs, last train {last.train_loss:.5f}{val} ({last.loss_function}), "
                f"{seconds:.1f} s{dead}"
            )
    files = sorted(p.name for p in folder.path.iterdir() if not p.name.startswith("."))
    lines.insert(
        1,
        f"run id     {folder.marker['run_id']} (created {folder.marker.get('created', '?')}, run format {folder.marker['format']})",
    )
    lines.append(f"files      {', '.join(files)}")
    click.echo("\n".join(lines))


_PRETRAINING = MappingProxyType(
    {
        "dae": "denoising autoencoders (SdA)",
        "ae": "ordinary autoencoders, no corruption (SAA)",
        "rbm": "restricted Boltzmann machines, CD-{k} (DBN)",
    }
)


def _scaling_text(scaling: dict) -> str:
    rule = {
        "bytes": "bytes divided by 255",
        "unit": "values already in [0, 1], kept",
        "min-max": "one minimum and maximum for every feature",
        "feature": "each feature's own minimum and maximum",
        "given": "set by the dataset",
    }.get(scaling.get("rule", "given"), scaling.get("rule"))
    if isinstance(scaling["offset"], list):
        return f"x01 = (x - offset_j) * scale_j, per feature j ({rule})"
    return f"x01 = (x - {scaling['offset']:g}) * {scaling['scale']:g}  ({rule})"


def _options_text(o: TrainOptions) -> str:
    extra = f", momentum {o.momentum:g}" if o.optimizer == "sgd" else ""
    return (
        f"{o.epochs} epoch{'s' if o.epochs != 1 else ''}, {o.optimizer} lr {o.lr:g} ({o.schedule}, warmup {o.warmup:g} epochs){extra}, batch {o.batch_size}, "
        f"weight decay {o.weight_decay:g}, loss {o.loss}"
    )


@click.command()
@click.argument("run", type=click.Path())
@click.option("--device", default=None, help="auto, cpu or cuda.  [default: the run's]")
@moved_data_options
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON, for scripts.")
def evaluate(run, device, data_dir, dataset, as_json):
    """Test-set reconstruction error of RUN on clean and corrupted inputs (writes RUN/evaluation.json)."""
    working_on(run)
    results = sdae.evaluate_run(run, device=device, data_dir=data_dir, dataset=dataset)
    if as_json:
        click.echo(json.dumps(results, indent=2))
        return
    recon = results["reconstruction"]
    if results["reconstruction_weights"] != results["weights"]:
        click.echo(
            f"reconstructions by {results['reconstruction_weights']}: supervised fine-tuning trained the encoder "
            "and the classifier, not the decoder"
        )
    click.echo(f"{'input':<18} {'MSE':>9} {'BCE':>9} {'input MSE':>10}")
    for name, row in recon.items():
        if isinstance(row, dict):
            click.echo(f"{name:<18} {row['mse']:>9.5f} {row['bce']:>9.5f} {row['input_mse']:>10.5f}")
    click.echo(f"{'mean image':<18} {recon['mean_image_mse']:>9.5f}")
    if "classification" in results:
        c = results["classification"]
        kept = {"validation": "chosen on validation", "last epoch": "the last"}.get(c.get("chosen_on", "validation"))
        click.echo(
            f"test classification error {100 * c['test_error']:.2f}% on {c['test_size']} examples"
            + (f" (weights of epoch {c['best_epoch']}, {kept})" if kept else "")
        )


@click.command()
@click.argument("run", type=click.Path())
@moved_data_options
def visualize(run, data_dir, dataset):
    """Write RUN/figures/: filters, deeper filters, denoised digits, training curves, a map of the codes."""
    working_on(run)
    for path in sdae.visualize_run(run, data_dir, dataset=dataset):
        click.echo(str(path))


@click.command()
@click.argument("run", type=click.Path())
@click.option("--layer", type=int, default=None, help="Encoder layer, 1 = next to the input.  [default: the top]")
@click.option(
    "--split",
    type=click.Choice(["train", "validation", "test"]),
    default=None,
    help="Which of the run's own data.  [default: test]",
)
@click.option(
    "--input",
    "input",
    type=click.Path(),
    default=None,
    help="New data instead of a split: an .npz file (its x, else x_test, else x_train), an .npy file, a "
    "folder of .npy shards, or images (a folder, flat or one subfolder per class, or one file).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="The .npz file to write (codes; labels; for images files, and classes).",
)
@click.option("--device", default=None, help="auto, cpu or cuda.  [default: the run's]")
@moved_data_options
@click.option("--overwrite", is_flag=True, help="Replace the --out file if it exists.")
@click.option("--quiet", is_flag=True, help="No progress bar (--input).")
def encode(run, layer, split, input, out, device, data_dir, dataset, overwrite, quiet):
    """Write the codes of one layer of RUN to an .npz file: of a split of its data, with their labels, or of new data
    (--input, scaled and checked as the run's data was; RUN may then be a network shipped with sdae: mnist)."""
    working_on(run)
    if input is not None:
        from sdae.commands.apply import encode_input
        from sdae.errors import UsageError

        from .apply_commands import Bars

        given = [name for name, value in (("split", split), ("dataset", dataset), ("data_dir", data_dir)) if value]
        if given:
            raise UsageError(
                f"`input` gives new data to encode, and `{given[0]}` is about the run's own data: give one or the other"
            )
        with Bars(quiet) as bars:
            result = encode_input(
                run, input, layer=layer, out=out, device=device, overwrite=overwrite, on_progress=bars
            )
    else:
        from sdae.commands.newdata import shipped

        if shipped(run):
            raise sdae.UsageError(f"{run} is a network shipped with sdae, with no data of its own here: give `input`")
        result = sdae.encode_run(
            run,
            layer=layer,
            split=split or "test",
            out=out,
            device=device,
            data_dir=data_dir,
            overwrite=overwrite,
            dataset=dataset,
        )
    click.echo(f"wrote {result['codes'].shape[0]} codes of width {result['codes'].shape[1]} to {out}")


@click.command()
@click.argument("run", type=click.Path())
@click.option("--train-size", type=int, default=10000, show_default=True, help="Training examples for every SVM.")
@click.option("--test-size", type=int, default=None, help="Test examples to score on.  [default: all]")
@moved_data_options
@click.option(
    "--weights",
    type=click.Choice(["pretrained", "finetuned"]),
    default="pretrained",
    show_default=True,
    help="Codes of the greedily pretrained stack (the paper's experiment) or of the fine-tuned network.",
)
def svm(run, train_size, test_size, data_dir, dataset, weights):
    """Linear and RBF SVMs on pixels and on each layer's codes of RUN (writes RUN/svm.json)."""
    working_on(run)

    def show(result):
        if not shown:  # the header once the data is known to suit (a refusal comes alone)
            click.echo(f"fitting on the {weights} weights' codes (representation, kernel, test error):")
            shown.append(True)
        gamma = "" if result.gamma is None else f", gamma={result.gamma:.3g}"
        click.echo(
            f"  {result.representation:<9} {result.kernel:<6} {100 * result.test_error:6.2f}%  "
            f"(C={result.C:g}{gamma} chosen on validation, {result.seconds:.1f} s)"
        )

    shown: list[bool] = []
    report = sdae.svm_run(
        run,
        train_size=train_size,
        test_size=test_size,
        data_dir=data_dir,
        on_result=show,
        weights=weights,
        dataset=dataset,
    )
    rows = {}
    for r in report["results"]:
        rows.setdefault((r["representation"], r["width"]), {})[r["kernel"]] = 100 * r["test_error"]
    click.echo(
        f"\ntest error % ({report['train_size']} training, {report['val_size']} validation, "
        f"{report['test_size']} test examples)"
    )
    click.echo(f"{'representation':<16} {'width':>6} {'linear':>8} {'rbf':>8}")
    for (name, width), errors in rows.items():
        cells = "".join(f" {errors[k]:>8.2f}" if k in errors else f" {'-':>8}" for k in ("linear", "rbf"))
        click.echo(f"{name:<16} {width:>6}{cells}")
