"""The library's messages in this command line's words.

The library names Python parameters in backticks (`lr`, `overwrite=True`); each becomes the flag or
command a user of `sdae` types. The flags are read from the commands themselves: an option's
parameter name is the library's name for it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from types import MappingProxyType

import click

# Library names that are not an option's parameter name.
SPECIAL = MappingProxyType({
    "overwrite=True": "--overwrite", "resume=True": "--resume", "supervised=True": "--supervised",
    "sizes": "--layers", "hidden": "--layers", "extend_to": "--epochs", "val_size": "the validation size",
    "resume_pretraining": "sdae pretrain --out {run} --resume", "run_pretraining": "sdae pretrain --out {run}",
})


def flags_of(group: click.Group) -> dict[str, str]:
    """Every option's parameter name -> its first flag, over the group's commands, plus `SPECIAL`."""
    flags: dict[str, str] = {}
    for command in group.commands.values():
        for param in command.params:
            if isinstance(param, click.Option) and param.name is not None:
                flags.setdefault(param.name, next(o for o in param.opts if o.startswith("--")))
    return {**flags, **SPECIAL}


def translate(message: str, flags: dict[str, str], run: str = "RUN") -> str:
    """A library message in this command line's words: `lr` -> --lr, `resume_pretraining` -> the command."""
    def word(match: re.Match) -> str:
        name = match.group(1)
        return flags.get(name, name).format(run=run)

    return re.sub(r"`([^`]+)`", word, message)


class WarningLine(logging.Handler):
    """The library's warnings, one line each on stderr, in this command line's words."""

    def __init__(self, words: Callable[[str], str]):
        super().__init__(logging.WARNING)
        self.words = words

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"sdae: warning: {self.words(record.getMessage())}", err=True)
