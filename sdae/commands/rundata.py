"""A run's data: loaded as its configuration says, split by its seed, resident on its device."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from sdae.data import Dataset, Examples, benchmark_store, load_dataset, split_indices
from sdae.errors import DataError
from sdae.model import MAX_CLASSES
from sdae.options import BENCHMARK_PROBLEMS, RunConfig
from sdae.records import DataFacts


@dataclass
class RunData:
    """A run's data, split by its seed and resident on its device."""

    dataset: Dataset
    train: Examples
    val: Examples | None
    train_index: torch.Tensor  # positions in dataset.train
    val_index: torch.Tensor
    init_generator: torch.Generator  # seeded CPU generator, advanced past the split: it draws the initial weights

    def labels(self, part: str) -> torch.Tensor | None:
        """Labels of the training or validation part, on the examples' device."""
        labels = self.dataset.train_labels
        if labels is None:
            return None
        return labels[self.train_index if part == "train" else self.val_index].to(self.train.device)

    def facts(self) -> DataFacts:
        """What a run records about its data, to use it again and to recognise it."""
        dataset = self.dataset
        scaling, shape = dataset.scaling, dataset.image_shape
        return DataFacts(
            dataset.input_dim,
            (shape[0], shape[1]) if shape else None,
            scaling.offset if isinstance(scaling.offset, tuple) else float(scaling.offset),  # per_feature
            scaling.scale if isinstance(scaling.scale, tuple) else float(scaling.scale),
            dataset.source,
            len(self.train),
            0 if self.val is None else len(self.val),
            dataset.fingerprint(),
            scaling.rule,
            dataset.classes,
        )

    def class_count(self) -> int:
        """K for training labels 0..K-1; refuses labels that are missing, negative, too many, or one class only."""
        labels = self.dataset.train_labels
        name = self.dataset.name
        if labels is None:
            raise DataError(f"dataset {name!r}: supervised fine-tuning needs labelled training data")
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= MAX_CLASSES:
            raise DataError(
                f"dataset {name!r}: labels must be classes 0..K-1 with K at most {MAX_CLASSES}; "
                f"found labels from {low} to {high}"
            )
        if len(torch.unique(labels)) < 2:
            raise DataError(f"dataset {name!r}: every training label is {low}; a classifier needs at least 2 classes")
        return high + 1


def prepare(config: RunConfig, device: torch.device, recorded: DataFacts | None = None) -> RunData:
    """Load the data, check it is the data the run recorded (if given), split it by the seed, put it on the device."""
    data = config.data
    if recorded is not None and not data.builtin and not os.path.exists(data.dataset):
        raise DataError(
            f"dataset file {data.dataset} does not exist; the run was trained on it: if it moved, point "
            "the run at its new place with `dataset`"
        )
    origin = "auto"
    if recorded is not None and data.dataset in BENCHMARK_PROBLEMS:  # the data it was trained on, not the other
        origin = benchmark_store.origin(recorded.source)
    dataset = load_dataset(data.dataset, data.data_dir, data.limit, data.scale, data.scaling, origin)
    if recorded is not None:
        _check_same(dataset, recorded)
    setup = torch.Generator().manual_seed(config.seed)
    if dataset.val_count:  # a published split: its validation examples come last
        n = len(dataset.train)
        train_index, val_index = torch.arange(n - dataset.val_count), torch.arange(n - dataset.val_count, n)
    else:
        train_index, val_index = split_indices(len(dataset.train), data.val_fraction, setup)
        if recorded is None and data.val_fraction > 0 and not len(val_index):
            raise DataError(
                f"`val_fraction` {data.val_fraction:g} of {len(dataset.train)} training examples holds out none; "
                f"give at least {1 / len(dataset.train):.3g}, or 0 to train on every example without validation"
            )
    examples = dataset.examples("train", device)
    val = examples.subset(val_index.to(device)) if len(val_index) else None
    return RunData(dataset, examples.subset(train_index.to(device)), val, train_index, val_index, setup)


def _check_same(dataset: Dataset, recorded: DataFacts) -> None:
    where = dataset.source or dataset.name
    if dataset.input_dim != recorded.input_dim:
        raise DataError(
            f"dataset {where} now has {dataset.input_dim} features per example; the run was trained on "
            f"{recorded.input_dim}: it is not the run's data"
        )
    n = recorded.n_train + recorded.n_val
    if len(dataset.train) != n:
        raise DataError(f"dataset {where} now has {len(dataset.train)} training examples; the run was trained on {n}")
    expected = recorded.fingerprint
    if expected is not None and dataset.fingerprint() != expected:
        raise DataError(
            f"dataset {where} has changed since the run was trained on it (its training examples' "
            "fingerprint differs); point `data_dir` or `dataset` at the original data"
        )
