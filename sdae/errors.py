"""The exceptions the library raises; each message says what is wrong, where, and how to fix it."""


class SDAEError(Exception):
    """Base class of every error sdae raises on purpose."""


class UsageError(SDAEError, ValueError):
    """An option or argument has a value sdae cannot use (the CLI exits with 2)."""


class DataError(SDAEError, ValueError):
    """A dataset file or array is missing, malformed or unsuitable."""


class RunFolderError(SDAEError):
    """A run folder is missing, incomplete, corrupt or from an incompatible version."""


class DivergenceError(SDAEError):
    """Training produced a NaN or infinite loss."""


class Interrupted(SDAEError):
    """Training was stopped by the user (Ctrl-C) after its state was saved."""
