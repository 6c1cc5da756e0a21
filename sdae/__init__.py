"""sdae: stacked denoising autoencoders (Vincent et al., JMLR 2010) on PyTorch.

The Python API mirrors the command line:

    >>> import sdae
    >>> config = sdae.RunConfig(data=sdae.DataOptions("digits"), hidden=[64, 32], pretrain=sdae.TrainOptions(epochs=5))
    >>> run = sdae.run_pretraining("runs/digits", config)
    >>> sdae.run_finetuning("runs/digits", sdae.TrainOptions(epochs=20))
    >>> model = sdae.load("runs/digits")

or, without a run folder, the pieces themselves: `StackedDenoisingAutoencoder`, `parse_noise`,
`load_dataset`, `pretrain`, `finetune`.
"""

__version__ = "0.1.0"

from sdae.corruption import Corruption, Gaussian, Masking, Mixture, NoNoise, SaltPepper, Speckle, parse_noise
from sdae.data import Dataset, Examples, load_dataset
from sdae.errors import DataError, DivergenceError, Interrupted, RunFolderError, SDAEError, UsageError
from sdae.finetune import finetune
from sdae.model import DenoisingPair, StackedDenoisingAutoencoder
from sdae.pretrain import clean_codes, pretrain
from sdae.run import DataOptions, RunConfig, RunFolder, load
from sdae.train import Hooks, TrainOptions, resolve_device
from sdae.analysis import encode_run, evaluate_run, svm_run, visualize_run
from sdae.workflow import resume_pretraining, run_finetuning, run_pretraining

__all__ = [
    "Corruption", "DataError", "encode_run", "svm_run", "visualize_run", "DataOptions", "Dataset", "DenoisingPair", "DivergenceError", "Examples", "Gaussian",
    "Hooks", "Interrupted", "Masking", "Mixture", "NoNoise", "RunConfig", "RunFolder", "RunFolderError", "SDAEError",
    "SaltPepper", "Speckle", "StackedDenoisingAutoencoder", "TrainOptions", "UsageError", "clean_codes", "finetune",
    "evaluate_run", "load", "load_dataset", "parse_noise", "pretrain", "resolve_device", "resume_pretraining", "run_finetuning",
    "run_pretraining",
]
