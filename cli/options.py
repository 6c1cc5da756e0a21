"""What the commands share: the session (debug, the run at hand), option types, the training options,
and the rule that turns the options a user wrote into settings.

Each option's parameter name is its setting's name in `sdae.options` (`--batch-size` is `batch_size`),
so where an option lands in a configuration, and which flag a library message means, are derived,
not listed. Nothing here imports torch: `sdae --help` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import click

from sdae.checks import placed
from sdae.errors import UsageError
from sdae.options import Loss, Optimizer, Schedule, TrainOptions, sizes


@dataclass
class Session:
    """One invocation of `sdae`: whether to show tracebacks, and the run folder the command works on
    (named in hints such as "continue with sdae finetune RUN --resume")."""

    debug: bool = False
    run: str = "RUN"


def working_on(run: str) -> None:
    """Record the run folder of the command being run, for the hints in its messages."""
    session = click.get_current_context().find_object(Session)
    if session is not None:
        session.run = str(run)


class Sizes(click.ParamType):
    """Comma-separated whole numbers: 256,128,64."""

    name = "SIZES"

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        try:
            found = [int(part) for part in str(value).split(",") if part.strip()]
        except ValueError:
            raise UsageError(
                f"`{param.name}` {value!r}: sizes must be whole numbers separated by commas, e.g. 256,128,64"
            ) from None
        return sizes(param.name, found)


class BatchSize(click.ParamType):
    """A whole number, or auto."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, int):
            return value
        try:
            return int(value)
        except ValueError:
            raise UsageError(f"`batch_size` {value!r}: give a whole number or auto") from None


class Numbers(click.ParamType):
    """Comma-separated numbers (exactly `count` of them, if given): 0.1,0.25,0.4."""

    name = "NUMBERS"

    def __init__(self, example: str, count: int | None = None):
        self.example, self.count = example, count

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        try:
            found = [float(part) for part in str(value).split(",") if part.strip()]
        except ValueError:
            found = []
        if not found or (self.count is not None and len(found) != self.count):
            what = f"{self.count} numbers" if self.count else "numbers"
            raise UsageError(f"`{param.name}` {value!r}: give {what} separated by commas, e.g. {self.example}")
        return found


class Names(click.ParamType):
    """Comma-separated names, each a value of the StrEnum `kind`: svm,sda3."""

    name = "NAMES"

    def __init__(self, kind):
        self.kind = kind

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        found = [part.strip() for part in str(value).split(",") if part.strip()]
        known = [member.value for member in self.kind]
        wrong = [name for name in found if name not in known]
        if not found or wrong:
            what = f"{wrong[0]!r} is not one of them" if wrong else "give at least one"
            raise UsageError(f"`{param.name}` {value!r}: {what}; choose from {','.join(known)}")
        return found


def values(kind) -> click.Choice:
    """The choice of a StrEnum's values."""
    return click.Choice([member.value for member in kind])


def given(ctx: click.Context) -> list[str]:
    """The options the user wrote on the command line (not defaults)."""
    return [name for name in ctx.params if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]


def lay_over(settings: dict, places: dict[str, tuple[str, ...]], params: dict, names: list[str]) -> dict:
    """`settings` (a configuration as a dict) with the options `names` taken from `params`, each at its place."""
    return placed(settings, places, {name: params[name] for name in names if name in places})


def build(kind: type, params: dict):
    """A `kind` dataclass from the options of the same names; raises UsageError naming a bad value."""
    values = {f.name: params[f.name] for f in fields(kind) if f.name in params}
    try:
        return kind(**values).validate()
    except ValueError as e:
        raise UsageError(str(e)) from None


def training_options(f):
    """The optimizer options shared by pretrain and finetune."""
    DEFAULT_TRAIN = TrainOptions()  # noqa: N806 (read here, at import, only for the help's defaults)
    options = [
        click.option(
            "--batch-size",
            type=BatchSize(),
            default=DEFAULT_TRAIN.batch_size,
            show_default=True,
            help="Examples per batch; auto: 128, fewer on small data so that an epoch has about 100 steps.",
        ),
        click.option("--optimizer", type=values(Optimizer), default=DEFAULT_TRAIN.optimizer.value, show_default=True),
        click.option("--lr", type=float, default=DEFAULT_TRAIN.lr, show_default=True, help="Learning rate."),
        click.option("--momentum", type=float, default=DEFAULT_TRAIN.momentum, show_default=True, help="SGD momentum."),
        click.option("--weight-decay", type=float, default=DEFAULT_TRAIN.weight_decay, show_default=True),
        click.option(
            "--loss",
            type=values(Loss),
            default=DEFAULT_TRAIN.loss.value,
            show_default=True,
            help="auto: binary cross-entropy for pixels behind the Sigmoid, squared error for codes.",
        ),
        click.option(
            "--schedule",
            type=values(Schedule),
            default=DEFAULT_TRAIN.schedule.value,
            show_default=True,
            help="Learning rate: constant, or cosine decay to 0 over each stage's epochs.",
        ),
        click.option(
            "--warmup",
            type=float,
            default=DEFAULT_TRAIN.warmup,
            show_default=True,
            help="Epochs over which each stage's learning rate rises linearly to --lr (at most half a stage).",
        ),
        click.option(
            "--n-iter-no-change",
            type=int,
            default=None,
            help="Stop a stage after N epochs whose training loss did not fall by --tol.  [default: never]",
        ),
        click.option(
            "--tol",
            type=float,
            default=DEFAULT_TRAIN.tol,
            show_default=True,
            help="With --n-iter-no-change: the fall in training loss that counts as progress.",
        ),
        click.option(
            "--compile",
            is_flag=True,
            help="torch.compile the forward and backward passes (mode reduce-overhead: CUDA graphs on a GPU).",
        ),
        click.option(
            "--device",
            default=None,
            help="auto (the GPU where there is one), cpu or cuda.  [default: auto, or the run's]",
        ),
        click.option("--save-every", type=int, default=None, help="Write a checkpoint every N epochs.  [default: 1]"),
        click.option("--resume", is_flag=True, help="Continue from the run's last checkpoint."),
        click.option(
            "--overwrite", is_flag=True, help="Replace what this command wrote before (only sdae's own files)."
        ),
        click.option("--quiet", is_flag=True, help="No progress bar, no per-epoch lines."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def budget_options(
    scale: float | None = None,
    units: int | None = None,
    scale_help: str = "",
    units_help: str = "",
    noise_help: str = "",
):
    """The options `sdae bench` and `sdae paper` share, each defaulting to `BenchOptions`' own (`scale` and `units`
    may be given other defaults): sizes, budgets, the grids validation chooses from, seed and device."""
    from sdae.bench_options import BenchOptions
    from sdae.checks import default_of

    def default(name: str):
        return default_of(BenchOptions, name)

    numbers = lambda name: ",".join(f"{v:g}" for v in default(name))  # noqa: E731
    options = [
        click.option("--scale", type=float, default=scale or default("scale"), show_default=True,
                     help=f"Fraction of the published split sizes{scale_help}."),
        click.option("--units", type=int, default=units or default("units"), show_default=True,
                     help=f"Units a hidden layer{units_help}."),
        click.option("--noise-levels", type=Numbers("0.1,0.25,0.4"), default=numbers("noise_levels"),
                     show_default=True, help=f"Masking (and salt-and-pepper) levels{noise_help}; validation chooses one."),
        click.option("--pretrain-epochs", type=int, default=default("pretrain_epochs"), show_default=True,
                     help="Epochs per pair."),
        click.option("--epochs", type=int, default=default("epochs"), show_default=True,
                     help="Supervised fine-tuning epochs, at most."),
        click.option("--patience", type=int, default=default("patience"), show_default=True,
                     help="Stop fine-tuning after N epochs without a better validation error."),
        click.option("--lrs", type=Numbers("0.0005,0.002"), default=numbers("lrs"), show_default=True,
                     help="Fine-tuning learning rates; validation chooses one for each point."),
        click.option("--seed", type=int, default=default("seed"), show_default=True),
        click.option("--device", default=default("device"), show_default=True, help="auto, cpu, cuda or cuda:N."),
    ]  # fmt: skip

    def decorate(f):
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def moved_data_options(f):
    """--data-dir and --dataset for a command on an existing run: where its data is now, if it moved."""
    f = click.option(
        "--dataset", type=click.Path(), default=None, help="Where the run's own data file is now, if it moved."
    )(f)
    return click.option("--data-dir", type=click.Path(), default=None, help="Where MNIST is now, if it moved.")(f)


def refuse_with_resume(ctx: click.Context, allowed: tuple[str, ...]) -> None:
    ignored = [name for name in given(ctx) if name not in allowed]
    if ignored:
        flags = ", ".join("--" + name.replace("_", "-") for name in ignored)
        raise UsageError(
            f"--resume continues with the run's own settings and would ignore {flags}; leave them out, "
            "or start the stage again with --overwrite"
        )


def progress(quiet: bool):
    if quiet:
        return None
    from sdae.progress import ProgressBars

    return ProgressBars().hooks()
