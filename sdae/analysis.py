"""What users do with a trained run: test errors, pictures, codes, SVMs on the codes.

Each function reads a run folder, writes its result into it (or where asked), and returns it.
"""

from __future__ import annotations

import io
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from sdae.corruption import parse_noise
from sdae.data import Examples
from sdae.errors import UsageError
from sdae.files import atomic_write_bytes, atomic_write_json
from sdae.pretrain import clean_codes
from sdae.run import WEIGHTS, RunFolder
from sdae.train import resolve_device
from sdae.workflow import Prepared, prepare


def _open(run, data_dir: str | None, device: str | None) -> tuple[RunFolder, Prepared, torch.device]:
    return _prepare(RunFolder.open(run), data_dir, device)


def _prepare(folder: RunFolder, data_dir: str | None, device: str | None) -> tuple[RunFolder, Prepared, torch.device]:
    """The run's data (split by its seed) on the device; `data_dir` says where MNIST is now."""
    config = folder.config
    if data_dir is not None:
        config.data = replace(config.data, data_dir=str(data_dir))
    device_ = resolve_device(device or config.device)
    return folder, prepare(config, device_), device_


def evaluate_run(run: str | os.PathLike, device: str | None = None, data_dir: str | None = None) -> dict:
    """Test reconstruction errors of a run's latest weights; written to RUN/evaluation.json and returned."""
    from sdae.evaluate import evaluate_reconstruction
    from sdae.supervised import classification_scores

    folder, data, device_ = _open(run, data_dir, device)
    if data.dataset.test is None:
        raise UsageError(f"dataset {folder.config.data.dataset!r} has no test split to evaluate on")
    model = folder.load_model().to(device_)
    test = data.dataset.examples("test", device_)
    results = {"reconstruction": evaluate_reconstruction(model, data.train, test, parse_noise(folder.config.noise)),
               "weights": WEIGHTS, "finetuned": folder.status.get("finetune") == "complete",
               "finetune_kind": folder.status.get("finetune_kind")}
    if model.head is not None and data.dataset.test_labels is not None:
        error, loss = classification_scores(model, test, data.dataset.test_labels.to(device_))
        results["classification"] = {"test_error": 100 * error, "test_loss": loss, "test_size": len(test),
                                     "best_epoch": _best_supervised_epoch(folder)}
    atomic_write_json(folder.path / "evaluation.json", results)
    return results


def _best_supervised_epoch(folder: RunFolder) -> int | None:
    from sdae.supervised import best_record

    rows = [r for r in folder.read_metrics() if r["stage"] == "supervised"]
    return best_record(rows)["epoch"] if rows else None


def _test_or_validation(dataset, val: Examples | None, device) -> tuple[Examples, torch.Tensor | None, str]:
    """The test split where the dataset has one (for pictures and codes), else the validation part."""
    if dataset.test is not None:
        return dataset.examples("test", device), dataset.test_labels, "test"
    if val is None:
        raise UsageError("this dataset has no test split and the run held out no validation examples")
    return val, None, "validation"


def visualize_run(run: str | os.PathLike, data_dir: str | None = None, digits: int = 10, map_size: int = 2000) -> list:
    """Write the run's pictures into RUN/figures/ and return their paths (drawn on the CPU)."""
    from sdae import viz

    folder, data, _ = _open(run, data_dir, "cpu")
    config, dataset, val = folder.config, data.dataset, data.val
    model = folder.load_model()
    shape = tuple(folder.data_facts["image_shape"]) if folder.data_facts.get("image_shape") else None
    figures = folder.path / "figures"
    figures.mkdir(exist_ok=True)
    name = "fine-tuned" if folder.status.get("finetune") == "complete" else "pretrained"
    paths = [viz.plot_filters(viz.input_space_filters(model, 1), shape, figures / "filters.png",
                              f"Layer 1 filters ({name}): each unit's incoming weights")]
    for layer in range(2, model.depth + 1):
        paths.append(viz.plot_filters(viz.input_space_filters(model, layer), shape, figures / f"filters_layer{layer}.png",
                                      f"Layer {layer} units in input space ({name}): W{layer}" + "".join(f" W{k}" for k in range(layer - 1, 0, -1))))
    examples, labels, split = _test_or_validation(dataset, val, torch.device("cpu"))
    clean = examples.batch(slice(0, digits))
    paths.append(viz.plot_denoising(model, clean, parse_noise(config.noise).parts, shape, figures / "denoising.png", config.seed))
    paths.append(viz.plot_curves(folder.read_metrics(), figures / "curves.png"))
    with torch.no_grad():
        codes = model.encode(examples.batch(slice(0, map_size)))
    paths.append(viz.plot_codes(codes, None if labels is None else labels[:map_size], figures / "codes.png",
                                f"Top-layer codes ({codes.shape[1]} units) of {len(codes)} {split} examples, PCA"))
    return paths


def encode_run(run: str | os.PathLike, layer: int | None = None, split: str = "test", out: str | os.PathLike | None = None,
               device: str | None = None, data_dir: str | None = None, batch_size: int = 4096) -> dict:
    """The codes of `layer` (default: the top) for a split (`train` = the run's training part, `validation`, or `test`).

    Written to `out` as .npz with arrays `codes` and (where there are labels) `labels`; also returned.
    """
    folder = RunFolder.open(run)
    depth = len(folder.config.hidden)
    layer = depth if layer is None else layer
    if not 1 <= layer <= depth:
        raise UsageError(f"--layer must be between 1 and {depth} for this run, got {layer}")
    if split not in ("train", "validation", "test"):
        raise UsageError(f"--split must be train, validation or test, got {split!r}")
    if out is not None and not Path(out).parent.is_dir():
        raise UsageError(f"--out {out}: folder {Path(out).parent} does not exist")
    folder, data, device_ = _prepare(folder, data_dir, device)
    dataset = data.dataset
    if split == "test":
        if dataset.test is None:
            raise UsageError(f"dataset {folder.config.data.dataset!r} has no test split; use --split train or validation")
        examples, labels = dataset.examples("test", device_), dataset.test_labels
    else:
        examples = data.train if split == "train" else data.val
        if examples is None:
            raise UsageError("the run held out no validation examples")
        labels = data.labels("train" if split == "train" else "val")
    model = folder.load_model().to(device_)
    codes = clean_codes(model, layer, examples, batch_size).cpu()
    result = {"codes": codes.numpy()}
    if labels is not None:
        result["labels"] = labels.cpu().numpy()
    if out is not None:
        buffer = io.BytesIO()
        np.savez(buffer, **result)
        atomic_write_bytes(out, buffer.getvalue())
    return result


def svm_run(run: str | os.PathLike, train_size: int = 10000, test_size: int | None = None, data_dir: str | None = None,
            kernels: tuple[str, ...] = ("linear", "rbf"), val_size: int = 2000, on_result=None) -> dict:
    """Linear and RBF SVMs on pixels and on each layer's codes; written to RUN/svm.json and returned.

    The SVMs train on `train_size` examples drawn (by the run's seed) from the run's training part,
    choose C on up to `val_size` of the run's validation examples, and are tested on the first
    `test_size` test examples.
    """
    from sdae.probe import layer_representations, svm_errors

    if train_size < 10:
        raise UsageError(f"--train-size must be at least 10, got {train_size}")
    folder, data, _ = _open(run, data_dir, "cpu")
    config, dataset = folder.config, data.dataset
    if dataset.test is None or dataset.test_labels is None or dataset.train_labels is None:
        raise UsageError(f"dataset {config.data.dataset!r} has no labelled test split; SVMs need labels")
    if data.val is None:
        raise UsageError("the run held out no validation examples, which choose the SVMs' C")
    chosen = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(config.seed))[:train_size]
    x_train, y_train = data.train.batch(chosen), data.labels("train")[chosen].numpy()
    x_val, y_val = data.val.batch(slice(0, val_size)), data.labels("val")[:val_size].numpy()
    test = dataset.examples("test")
    n_test = len(test) if test_size is None else min(test_size, len(test))
    x_test, y_test = test.batch(slice(0, n_test)), dataset.test_labels[:n_test].numpy()
    model = folder.load_model()
    results = svm_errors(layer_representations(model, x_train, x_val, x_test), y_train, y_val, y_test, kernels,
                         config.seed, on_result)
    report = {"train_size": len(x_train), "val_size": len(x_val), "test_size": n_test, "weights": WEIGHTS,
              "finetuned": folder.status.get("finetune") == "complete", "results": [r.to_dict() for r in results]}
    atomic_write_json(folder.path / "svm.json", report)
    return report
