"""`sdae`: parse options, call the library, print. No logic of its own; torch is imported only when a
command runs, so `sdae --help` and `sdae --version` answer at once."""

from __future__ import annotations

import logging
import os
import sys

import click

from sdae.errors import Interrupted, SDAEError, UsageError
from sdae.version import __version__

from . import messages
from .apply_commands import denoise
from .bench_command import bench
from .export_command import export
from .inspect_commands import encode, evaluate, info, svm, visualize
from .options import Session
from .paper_commands import paper, sample
from .runs_command import runs
from .train_commands import finetune, pretrain


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(__version__, prog_name="sdae")
@click.pass_obj
def cli(session: Session, debug: bool) -> None:
    """Stacked denoising autoencoders (Vincent et al., JMLR 2010): greedy denoising pretraining, then fine-tuning."""
    session.debug = debug


for command in (
    pretrain,
    finetune,
    info,
    runs,
    evaluate,
    visualize,
    encode,
    denoise,
    export,
    svm,
    bench,
    sample,
    paper,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    session = Session()
    flags = messages.flags_of(cli)

    def words(message: str) -> str:
        return messages.translate(message, flags, session.run)

    log = logging.getLogger("sdae")
    for handler in [h for h in log.handlers if isinstance(h, messages.WarningLine)]:
        log.removeHandler(handler)  # one from an earlier call in this process, speaking of its own run
    log.addHandler(messages.WarningLine(words))
    if os.environ.get("RANK", "0") != "0":  # a torchrun process other than rank 0: its errors only
        sys.stdout = open(os.devnull, "w")
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args:  # accepted anywhere on the line, not only before the command
        args = ["--debug", *(a for a in args if a != "--debug")]
        session.debug = True
    try:
        with messages.warning_lines(words):  # the library's notices (SDAEWarning), one line each
            code = cli.main(args=args, prog_name="sdae", standalone_mode=False, obj=session)
    except click.exceptions.Abort:
        click.echo("sdae: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()  # click's own words: the usage line, the hint, the error
        sys.exit(e.exit_code)
    except Interrupted as e:
        if session.debug:
            raise
        how = f"sdae pretrain --out {e.path} --resume" if e.resume == "pretrain" else f"sdae finetune {e.path} --resume"
        click.echo(f"sdae: interrupted: the last completed epoch is saved; continue with {how}", err=True)
        sys.exit(130)
    except SDAEError as e:
        if session.debug:
            raise
        click.echo(f"sdae: error: {words(str(e))}", err=True)
        sys.exit(2 if isinstance(e, UsageError) else 1)
    except OSError as e:  # a last resort: the library turns the failures it expects into its own errors
        if session.debug:
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
