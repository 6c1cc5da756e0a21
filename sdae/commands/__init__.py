"""What each command of `sdae` does, as functions: the command line is a thin shell around these."""

from sdae.commands.apply import denoise_input, encode_input
from sdae.commands.catalog import find_runs, summary
from sdae.commands.inspection import encode_run, evaluate_run, svm_run, visualize_run
from sdae.commands.training import FinetuneOptions, resume_pretraining, run_finetuning, run_pretraining

__all__ = [
    "FinetuneOptions",
    "denoise_input",
    "encode_input",
    "encode_run",
    "find_runs",
    "summary",
    "evaluate_run",
    "resume_pretraining",
    "run_finetuning",
    "run_pretraining",
    "svm_run",
    "visualize_run",
]
