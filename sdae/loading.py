"""A run's trained network, loaded: `sdae.load(run, which=...)` and `load_model(folder, which)`."""

from __future__ import annotations

import os
from types import MappingProxyType

import torch

from sdae.errors import RunFolderError, UsageError
from sdae.files import load_safetensors
from sdae.model import MAX_CLASSES, StackedDenoisingAutoencoder
from sdae.options import Status
from sdae.runfolder import PRETRAINED, WEIGHTS, RunFolder

WHICH = MappingProxyType(
    {"latest": WEIGHTS, "finetuned": WEIGHTS, "pretrained": PRETRAINED, WEIGHTS: WEIGHTS, PRETRAINED: PRETRAINED}
)  # `load(path, which)`: the weights' names, and their files
SUPERVISED_NOTE = (
    "{run}: these are the weights of supervised fine-tuning, which trained the encoder and the head on "
    "the labels but not the decoder: their reconstructions mean nothing; to reconstruct, load the "
    'pretrained weights, sdae.load(run, which="pretrained")'
)


def load_model(folder: RunFolder, which: str = "latest") -> StackedDenoisingAutoencoder:
    """The network with the weights `which` names (see `load`), on the CPU, in eval mode; its head is the file's."""
    if not folder.status.pretrained:
        raise RunFolderError(
            f"{folder.path}: pretraining has not finished, there are no weights yet; "
            "continue it with `resume_pretraining`"
        )
    name, finetune = WHICH.get(which) if isinstance(which, str) else None, folder.status.finetune
    if name is None or (which == "finetuned" and finetune != Status.COMPLETE):
        why = (
            f"choose one of {', '.join(WHICH)}"
            if name is None
            else f'the run\'s fine-tuning is {finetune or "not started"}; load "latest" or "pretrained"'
        )
        raise UsageError(f"{folder.path}: cannot load which={which!r}: {why}")
    path, state = folder.path / name, load_safetensors(folder.path / name)
    model, head = folder.build_model(with_head=False), state.get("head.weight") if name == WEIGHTS else None
    if isinstance(head, torch.Tensor) and head.dim() == 2 and 2 <= len(head) <= MAX_CLASSES:  # supervised weights
        model.add_head(len(head))
        model.decoder_note = SUPERVISED_NOTE.format(run=folder.path)
    folder.load_state_into(model, state, path)
    model.eval()
    return model


def load(path: str | os.PathLike, which: str = "latest") -> StackedDenoisingAutoencoder:
    """The trained network of a run folder, on the CPU, in eval mode, with the weights `which` names:

    - "latest" (default): model.safetensors, the last completed stage's (the pretrained weights until fine-tuning
      completes). After supervised fine-tuning (`supervised=True`) the network has the classifier head and the
      encoder trained with it (codes, `classify`), but a decoder left from before: `model(x)` warns (SDAEWarning).
    - "finetuned": the same, refused (UsageError) unless fine-tuning has completed.
    - "pretrained": pretrained.safetensors, the greedily pretrained stack, without a head: reconstruct with these
      after supervised fine-tuning (as `sdae evaluate` does).

    The file names work too. Raises RunFolderError if the run is not there, damaged, or not pretrained yet.
    """
    return load_model(RunFolder.open(path), which)
