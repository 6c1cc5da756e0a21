"""sdae: stacked denoising autoencoders (Vincent et al., JMLR 2010) on PyTorch.

The Python API mirrors the command line:

    >>> import sdae
    >>> config = sdae.RunConfig(data=sdae.DataOptions("digits"), layers=[64, 32], pretrain=sdae.TrainOptions(epochs=5))
    >>> run = sdae.run_pretraining("runs/digits", config)
    >>> sdae.run_finetuning("runs/digits", sdae.FinetuneOptions(sdae.TrainOptions(epochs=20)))
    >>> model = sdae.load("runs/digits")

or, without a run folder, the pieces themselves: `StackedDenoisingAutoencoder`, `parse_noise`,
`load_dataset`, `pretrain`, `finetune`, `supervised_finetune`.

Names are imported on first use (PEP 562), so `import sdae` alone does not load torch.
"""

from importlib import import_module
from types import MappingProxyType

from sdae.version import __version__  # noqa: F401 (in __all__)

_HOMES = MappingProxyType(
    {
        "sdae.options": ("Criterion", "DataOptions", "FinetuneOptions", "RunConfig", "TrainOptions"),
        "sdae.corruption": (
            "Corruption",
            "Gaussian",
            "Masking",
            "Mixture",
            "NoNoise",
            "SaltPepper",
            "Speckle",
            "parse_noise",
        ),
        "sdae.data": ("Dataset", "Examples", "Scaling", "load_dataset"),
        "sdae.errors": (
            "DataError",
            "DivergenceError",
            "Interrupted",
            "RunFolderError",
            "RunLockedError",
            "SDAEError",
            "SDAEWarning",
            "UsageError",
            "WriteError",
        ),
        "sdae.layers": ("DenoisingPair",),
        "sdae.model": ("StackedDenoisingAutoencoder",),
        "sdae.runfolder": ("RunFolder",),
        "sdae.loading": ("load",),
        "sdae.stages": ("clean_codes", "finetune", "pretrain", "supervised_finetune"),
        "sdae.records": ("EpochRecord", "TrainingState"),
        "sdae.loop": ("Hooks",),
        "sdae.device": ("resolve_device",),
        "sdae.commands": (
            "denoise_input",
            "encode_input",
            "encode_run",
            "evaluate_run",
            "find_runs",
            "resume_pretraining",
            "run_finetuning",
            "run_pretraining",
            "svm_run",
            "visualize_run",
        ),
        "sdae.progress": ("ProgressBars",),
        "sdae.shipped": ("pretrained",),
        "sdae.export": ("export_run",),
    }
)
_HOME_OF = MappingProxyType({name: module for module, names in _HOMES.items() for name in names})

__all__ = sorted(["__version__", *_HOME_OF])


def __getattr__(name: str):
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'sdae' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return __all__
