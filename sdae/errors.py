"""The exceptions the library raises; each message says what is wrong, where, and how to fix it.

Messages name the Python parameters, in backticks (`lr`, `overwrite=True`), so that a Python or
scikit-learn user reads their own names; the command line translates them into its flags.
"""


class SDAEError(Exception):
    """Base class of every error sdae raises on purpose."""


class UsageError(SDAEError, ValueError):
    """An option or argument has a value sdae cannot use (the CLI exits with 2)."""


class DataError(SDAEError, ValueError):
    """A dataset file or array is missing, malformed or unsuitable."""


class RunFolderError(SDAEError):
    """A run folder is missing, incomplete, corrupt, in use, or from an incompatible version."""


class RunLockedError(RunFolderError):
    """Another running sdae process is writing into the run folder."""


class WriteError(SDAEError):
    """A file could not be written (full disk, no permission, name too long); the previous file is intact."""


class DivergenceError(SDAEError):
    """Training produced a NaN, infinite or exploding loss.

    `epoch` is the (1-based) epoch of the stage in which it happened and `loss` the offending mean
    loss (NaN, infinite, or the exploded value).
    """

    def __init__(self, message: str, epoch: int, loss: float):
        super().__init__(message)
        self.epoch, self.loss = epoch, loss


class Interrupted(SDAEError):
    """Training was stopped by the user (Ctrl-C) after its state was saved.

    `resume` names how to continue: `"pretrain"` (`resume_pretraining`) or `"finetune"`
    (`run_finetuning(..., resume=True)`); `path` is the run folder.
    """

    def __init__(self, message: str, resume: str, path: str):
        super().__init__(message)
        self.resume, self.path = resume, path


class SDAEWarning(UserWarning):
    """A notice about a run or its data that the user can act on (dead units, data squeezed by a scaling rule,
    a continuation that is not bit-identical); silence with `warnings.filterwarnings("ignore", category=SDAEWarning)`."""
