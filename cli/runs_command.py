"""`sdae runs`: a table of the run folders under a folder."""

from __future__ import annotations

import json

import click

import sdae


@click.command()
@click.argument("root", type=click.Path(), default="runs")
@click.option("--json", "as_json", is_flag=True, help="Print every run's summary as JSON, for scripts.")
def runs(root, as_json):
    """A table of the run folders under ROOT (default: runs): data, layers, noise, stages, losses, test figures."""
    found, problems = sdae.find_runs(root)
    for problem in problems:
        click.echo(f"sdae: warning: skipped: {problem}", err=True)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo(f"no run folders under {root}")
        return
    header = f"{'run':<28} {'data':<8} {'layers':<16} {'noise':<26} {'pretrain':<9} {'finetune':<22} {'val loss':>9} {'test':>14}"
    click.echo(header)
    for run in found:
        status, config = run["status"], run["config"]
        last = [r for r in run["last_epochs"].values() if r["stage"] != "pretrain"] or list(run["last_epochs"].values())
        val = last[-1]["val_loss"] if last and last[-1]["val_loss"] is not None else None
        finetune = (status.get("finetune") or "-") + (f" ({status['finetune_kind']})" if status.get("finetune") else "")
        click.echo(
            f"{_short(run['path'], 28):<28} {_short(config['data']['dataset'], 8):<8} "
            f"{'-'.join(map(str, run['sizes'])):<16} {_short(','.join(config['noise']), 26):<26} "
            f"{status['pretrain']:<9} {_short(finetune, 22):<22} {_number(val, '{:.5f}'):>9} "
            f"{_test_figure(run['evaluation']):>14}"
        )


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def _number(value, form: str) -> str:
    return "-" if value is None else form.format(value)


def _test_figure(evaluation: dict | None) -> str:
    """The headline test figure: classification error, else clean reconstruction MSE."""
    if not evaluation:
        return "-"
    if "classification" in evaluation:
        return f"error {100 * evaluation['classification']['test_error']:.2f}%"
    clean = evaluation.get("reconstruction", {}).get("clean")
    return "-" if clean is None else f"mse {clean['mse']:.5f}"
