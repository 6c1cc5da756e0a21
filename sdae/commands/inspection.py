"""What users do with a trained run: test errors, pictures, codes, SVMs on the codes.

Each function reads a run folder and its data (checked to be the data it was trained on), writes
its result into the run (holding the run's lock) or where asked, and returns it.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import numpy as np
import torch

from sdae.codes import clean_codes
from sdae.commands.rundata import RunData, prepare
from sdae.corruption import parse_noise
from sdae.data import Examples
from sdae.device import resolve_device
from sdae.errors import DataError, UsageError
from sdae.files import atomic_write_bytes, atomic_write_json
from sdae.loading import load_model
from sdae.options import Status
from sdae.runfolder import EVALUATION, FIGURES, PRETRAINED, RESERVED, SVM, WEIGHTS, RunFolder, is_run
from sdae.stages import best_record, classification_scores

SPLITS = ("train", "validation", "test")
WEIGHT_CHOICES = MappingProxyType({"pretrained": PRETRAINED, "finetuned": WEIGHTS})


def _open(
    run, data_dir: str | None, device: str | None, dataset: str | None = None
) -> tuple[RunFolder, RunData, torch.device]:
    """The run, and its data (split by its seed) on the device; `dataset` or `data_dir` say where the data is now
    (see `DataOptions.relocated`)."""
    folder = RunFolder.open(run)
    config = folder.config
    config.data = config.data.relocated(dataset, data_dir)
    device_ = resolve_device(device or config.device)
    return folder, prepare(config, device_, folder.facts), device_


def evaluate_run(
    run: str | os.PathLike, device: str | None = None, data_dir: str | None = None, dataset: str | None = None
) -> dict:
    """Test reconstruction errors of a run's latest weights; written to RUN/evaluation.json and returned."""
    from sdae.report.reconstruction import evaluate_reconstruction

    folder, data, device_ = _open(run, data_dir, device, dataset)
    if data.dataset.test is None:
        raise UsageError(f"dataset {folder.config.data.dataset!r} has no test split to evaluate on")
    with folder.locked("evaluation"):
        model = load_model(folder).to(device_)
        test = data.dataset.examples("test", device_)
        decoder_weights = _reconstructing_weights(folder)
        reconstructing = model if decoder_weights == WEIGHTS else load_model(folder, decoder_weights).to(device_)
        results = {
            "reconstruction": evaluate_reconstruction(
                reconstructing, data.train, test, parse_noise(folder.config.noise)
            ),
            "reconstruction_weights": decoder_weights,
            "weights": WEIGHTS,
            "test_size": len(test),
            "finetuned": folder.status.finetune == Status.COMPLETE,
            "finetune_kind": folder.status.finetune_kind,
        }
        if model.head is not None and data.dataset.test_labels is not None:
            error, loss = classification_scores(model, test, data.dataset.test_labels.to(device_))
            rows = [r for r in folder.read_metrics() if r.stage == "supervised"]
            best = best_record(rows) if rows else None  # the epoch kept: validation's choice, else the last
            chosen_on = None if best is None else "validation" if best.val_error is not None else "last epoch"
            kept = dict(best_epoch=best and best.epoch, chosen_on=chosen_on)
            results["classification"] = dict(test_error=error, test_loss=loss, test_size=len(test), **kept)
        atomic_write_json(folder.path / EVALUATION, results)
    return results


def _reconstructing_weights(folder: RunFolder) -> str:
    """The weights whose reconstructions mean something: after supervised fine-tuning (encoder and head only)
    the decoder no longer matches the encoder, so the pretrained ones."""
    return PRETRAINED if folder.status.supervised else WEIGHTS


def _test_or_validation(data: RunData, device) -> tuple[Examples, torch.Tensor | None, str]:
    """The test split where the dataset has one (for pictures and codes), else the validation part, else training."""
    if data.dataset.test is not None:
        return data.dataset.examples("test", device), data.dataset.test_labels, "test"
    if data.val is None:
        return data.train, data.labels("train"), "training"
    return data.val, data.labels("val"), "validation"


def visualize_run(
    run: str | os.PathLike,
    data_dir: str | None = None,
    digits: int = 10,
    map_size: int = 2000,
    dataset: str | None = None,
) -> list:
    """Write the run's pictures into RUN/figures/ and return their paths (drawn on the CPU)."""
    from sdae.report import figures as fig

    folder, data, _ = _open(run, data_dir, "cpu", dataset)
    config = folder.config
    with folder.locked("drawing figures"):
        model = load_model(folder)
        shape = folder.facts.image_shape
        out = folder.path / FIGURES
        if out.is_symlink() or (out.exists() and not out.is_dir()):
            raise UsageError(f"{out} is not a folder sdae made; move it away")
        out.mkdir(exist_ok=True)
        name = "fine-tuned" if folder.status.finetune == Status.COMPLETE else "pretrained"
        paths: list[Path] = []

        def write(figure, file_name: str) -> None:
            try:
                paths.append(fig.save(figure, out / file_name))
            finally:
                figure.clear()  # closed: these figures are in no pyplot registry; this lets go of the drawing now

        write(
            fig.plot_filters(
                fig.input_space_filters(model, 1),
                shape,
                title=f"Layer 1 filters ({name}): each unit's incoming weights",
            ),
            "filters.png",
        )
        for layer in range(2, model.depth + 1):
            product = " ".join(f"W{k}" for k in range(layer, 0, -1))
            write(
                fig.plot_filters(
                    fig.input_space_filters(model, layer),
                    shape,
                    title=f"Layer {layer} units in input space ({name}): {product}",
                ),
                f"filters_layer{layer}.png",
            )
        examples, labels, split = _test_or_validation(data, torch.device("cpu"))
        clean = examples.batch(slice(0, digits))
        reconstructing, title = model, f"{split.capitalize()} examples: clean, corrupted, and the reconstruction"
        if _reconstructing_weights(folder) == PRETRAINED:
            reconstructing = load_model(folder, PRETRAINED)
            title += " (pretrained weights: supervised fine-tuning left the decoder behind)"
        write(
            fig.plot_denoising(
                reconstructing, clean, parse_noise(config.noise).parts, shape, seed=config.seed, title=title
            ),
            "denoising.png",
        )
        write(fig.plot_curves(folder.read_metrics()), "curves.png")
        with torch.no_grad():
            codes = model.encode(examples.batch(slice(0, map_size)))
        write(
            fig.plot_codes(
                codes,
                None if labels is None else labels[:map_size],
                title=f"Top-layer codes ({codes.shape[1]} units) of {len(codes)} {split} examples, PCA",
            ),
            "codes.png",
        )
        if "tensorboard" in config.log:
            from sdae.tensorboard import add_figures

            add_figures(folder.path, paths)
    return paths


def encode_run(
    run: str | os.PathLike,
    layer: int | None = None,
    split: str = "test",
    out: str | os.PathLike | None = None,
    device: str | None = None,
    data_dir: str | None = None,
    batch_size: int = 4096,
    overwrite: bool = False,
    dataset: str | None = None,
) -> dict:
    """The codes of `layer` (default: the top) for a split (`train` = the run's training part, `validation`, or `test`).

    Written to `out` as .npz with arrays `codes` and (where there are labels) `labels`; also returned.
    `out` is never one of a run folder's own files, and an existing file only with `overwrite=True`.
    """
    folder = RunFolder.open(run)
    depth = len(folder.config.layers)
    layer = depth if layer is None else layer
    if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= depth:
        raise UsageError(f"`layer` must be between 1 and {depth} for this run, got {layer!r}")
    if split not in SPLITS:
        raise UsageError(f"`split` must be train, validation or test, got {split!r}")
    if out is not None:
        check_output(out, overwrite)
    folder, data, device_ = _open(run, data_dir, device, dataset)
    examples: Examples | None
    if split == "test":
        if data.dataset.test is None:
            raise UsageError(
                f"dataset {folder.config.data.dataset!r} has no test split; use `split` train or validation"
            )
        examples, labels = data.dataset.examples("test", device_), data.dataset.test_labels
    else:
        examples = data.train if split == "train" else data.val
        if examples is None:
            raise UsageError("the run held out no validation examples; use `split` train or test")
        labels = data.labels("train" if split == "train" else "val")
    model = load_model(folder).to(device_)
    result = {"codes": clean_codes(model, layer, examples, batch_size).cpu().numpy()}
    if labels is not None:
        result["labels"] = labels.cpu().numpy()
    if out is not None:
        buffer = io.BytesIO()
        np.savez(buffer, **cast("dict[str, Any]", result))  # Any: numpy's stub would match **result with allow_pickle
        atomic_write_bytes(out, buffer.getvalue())
    return result


def svm_run(
    run: str | os.PathLike,
    train_size: int = 10000,
    test_size: int | None = None,
    data_dir: str | None = None,
    kernels: tuple[str, ...] = ("linear", "rbf"),
    val_size: int = 2000,
    on_result=None,
    weights: str = "pretrained",
    dataset: str | None = None,
) -> dict:
    """Linear and RBF SVMs on pixels and on each layer's codes; written to RUN/svm.json and returned.

    The codes come from the greedily pretrained stack (`weights="pretrained"`, the paper's
    experiment) or from the fine-tuned network (`"finetuned"`). The SVMs train on `train_size`
    examples drawn (by the run's seed) from the run's training part, choose their hyperparameters
    on up to `val_size` of the run's validation examples, are refit on both, and are tested on the
    first `test_size` test examples (see `sdae.report.probe`).
    """
    from sdae.report.probe import layer_representations, svm_errors

    if weights not in WEIGHT_CHOICES:
        raise UsageError(f"`weights` must be pretrained or finetuned, got {weights!r}")
    for name, value, low in (("train_size", train_size, 10), ("test_size", test_size, 1), ("val_size", val_size, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise UsageError(f"`{name}` must be a whole number >= {low}, got {value!r}")
    folder, data, _ = _open(run, data_dir, "cpu", dataset)
    config, loaded = folder.config, data.dataset
    if loaded.test is None or loaded.test_labels is None or loaded.train_labels is None:
        raise UsageError(f"dataset {config.data.dataset!r} has no labelled test split; SVMs need labels")
    if data.val is None:
        raise UsageError(
            "the run held out no validation examples, which choose the SVMs' C; pretrain with `val_fraction` > 0"
        )
    chosen = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(config.seed))[:train_size]
    train_labels, val_labels = data.labels("train"), data.labels("val")
    assert train_labels is not None and val_labels is not None  # the dataset's labels, checked above
    x_train, y_train = data.train.batch(chosen), train_labels[chosen].numpy()
    if len(np.unique(y_train)) < 2:
        raise DataError(
            f"dataset {config.data.dataset!r}: the SVMs' {len(y_train)} training examples all have label "
            f"{y_train[0]}; a classifier needs at least 2 classes"
        )
    x_val, y_val = data.val.batch(slice(0, val_size)), val_labels[:val_size].numpy()
    test = loaded.examples("test")
    n_test = len(test) if test_size is None else min(test_size, len(test))
    x_test, y_test = test.batch(slice(0, n_test)), loaded.test_labels[:n_test].numpy()
    if weights == "finetuned" and folder.status.finetune != Status.COMPLETE:
        raise UsageError(f"{folder.path}: `weights` finetuned, but the run has not been fine-tuned")
    with folder.locked("SVMs"):
        model = load_model(folder, WEIGHT_CHOICES[weights])
        # three splits in, three arrays per representation out
        representations = cast(
            "dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]", layer_representations(model, x_train, x_val, x_test)
        )
        results = svm_errors(representations, y_train, y_val, y_test, kernels, config.seed, on_result)
        report = {
            "train_size": len(x_train),
            "val_size": len(x_val),
            "test_size": n_test,
            "weights": WEIGHT_CHOICES[weights],
            "results": [r.to_dict() for r in results],
        }
        atomic_write_json(folder.path / SVM, report)
    return report


def check_output(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """A file a command may write: never a run folder's own file, and an existing file only if `overwrite`."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.name in RESERVED and is_run(parent):
        raise UsageError(f"`out` {path} is one of the run folder's own files; choose another name")
    if path.is_dir():
        raise UsageError(f"`out` {path} is a folder; give a file name")
    if path.exists() and not overwrite:
        raise UsageError(f"`out` {path} already exists; pass `overwrite=True` to replace it, or choose another name")
    if not parent.is_dir():
        raise UsageError(f"`out` {path}: folder {parent} does not exist")
    return path
