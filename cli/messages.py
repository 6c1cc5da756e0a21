"""The library's messages in this command line's words.

The library names Python parameters in backticks (`lr`, `overwrite=True`); each becomes the flag or
command a user of `sdae` types. The flags are read from the commands themselves: an option's
parameter name is the library's name for it.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import MappingProxyType

import click

from sdae.errors import SDAEWarning

# Library names that are not an option's parameter name.
SPECIAL = MappingProxyType(
    {
        "overwrite=True": "--overwrite",
        "resume=True": "--resume",
        "supervised=True": "--supervised",
        "sizes": "--layers",
        "hidden": "--layers",
        "extend_to": "--epochs",
        "val_size": "the validation size",
        "resume_pretraining": "sdae pretrain --out {run} --resume",
        "run_pretraining": "sdae pretrain --out {run}",
    }
)


def flags_of(group: click.Group) -> dict[str, str]:
    """Every option's parameter name -> its first flag, over the group's commands, plus `SPECIAL`."""
    flags: dict[str, str] = {}
    for command in group.commands.values():
        for param in command.params:
            if isinstance(param, click.Option) and param.name is not None:
                flags.setdefault(param.name, next(o for o in param.opts if o.startswith("--")))
    return {**flags, **SPECIAL}


def translate(message: str, flags: dict[str, str], run: str = "RUN") -> str:
    """A library message in this command line's words: `lr` -> --lr, `output`='affine' -> --output affine,
    `resume_pretraining` -> the command."""

    def word(match: re.Match) -> str:
        name, value = match.group(1), match.group(2)
        flag = flags.get(name)
        if flag is None:
            return match.group(0) if value is not None else name
        return flag.format(run=run) + (f" {value}" if value is not None else "")

    return re.sub(r"`([^`]+)`(?:='([^']*)')?", word, message)


class WarningLine(logging.Handler):
    """The library's warnings, one line each on stderr, in this command line's words."""

    def __init__(self, words: Callable[[str], str]):
        super().__init__(logging.WARNING)
        self.words = words

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"sdae: warning: {self.words(record.getMessage())}", err=True)


@contextmanager
def warning_lines(words: Callable[[str], str]) -> Iterator[None]:
    """Within the block, each of the library's notices (an `SDAEWarning`, as Python's filters let it through) is
    one line `sdae: warning: ...` on stderr, in this command line's words; other warnings show as Python shows
    them. Python's warning filters and `showwarning` are restored afterwards."""
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, SDAEWarning):
                click.echo(f"sdae: warning: {words(str(message))}", err=True)
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield
