"""sdae: stacked denoising autoencoders (Vincent et al., JMLR 2010) on PyTorch.

The Python API mirrors the command line:

    >>> import sdae
    >>> config = sdae.RunConfig(data=sdae.DataOptions("digits"), hidden=[64, 32], pretrain=sdae.TrainOptions(epochs=5))
    >>> run = sdae.run_pretraining("runs/digits", config)
    >>> sdae.run_finetuning("runs/digits", sdae.FinetuneOptions(sdae.TrainOptions(epochs=20)))
    >>> model = sdae.load("runs/digits")

or, without a run folder, the pieces themselves: `StackedDenoisingAutoencoder`, `parse_noise`,
`load_dataset`, `pretrain`, `finetune`, `supervised_finetune`.
"""

from sdae.version import __version__
from sdae.config import DataOptions, RunConfig
from sdae.corruption import Corruption, Gaussian, Masking, Mixture, NoNoise, SaltPepper, Speckle, parse_noise
from sdae.data import Dataset, Examples, Scaling, load_dataset
from sdae.errors import (DataError, DivergenceError, Interrupted, RunFolderError, RunLockedError, SDAEError, UsageError,
                         WriteError)
from sdae.model import DenoisingPair, StackedDenoisingAutoencoder
from sdae.runfolder import RunFolder, load
from sdae.stages import clean_codes, finetune, pretrain, supervised_finetune
from sdae.train import EpochRecord, Hooks, TrainingState, TrainOptions, resolve_device
from sdae.commands import (FinetuneOptions, encode_run, evaluate_run, find_runs, resume_pretraining, run_finetuning,
                           run_pretraining, svm_run, visualize_run)
from sdae.progress import ProgressBars

__all__ = [
    "Corruption", "DataError", "DataOptions", "Dataset", "DenoisingPair", "DivergenceError", "EpochRecord", "Examples",
    "FinetuneOptions", "Gaussian", "Hooks", "Interrupted", "Masking", "Mixture", "NoNoise", "RunConfig", "RunFolder",
    "RunFolderError", "RunLockedError", "SDAEError", "SaltPepper", "Scaling", "Speckle", "StackedDenoisingAutoencoder",
    "TrainOptions", "TrainingState", "UsageError", "WriteError", "__version__", "clean_codes", "encode_run",
    "evaluate_run", "find_runs", "ProgressBars", "finetune", "load", "load_dataset", "parse_noise", "pretrain", "resolve_device",
    "resume_pretraining", "run_finetuning", "run_pretraining", "supervised_finetune", "svm_run", "visualize_run",
]
