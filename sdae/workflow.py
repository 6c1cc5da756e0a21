"""The two commands as functions: pretrain into a new run folder, fine-tune an existing one.

Both keep the run folder consistent at every moment: metrics and a checkpoint after every epoch
(or every `save_every` epochs), the last unsaved state written when they stop early (Ctrl-C or a
diverging loss), and the final weights only once a stage completes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from dataclasses import dataclass, replace

import torch

from sdae.corruption import parse_noise
from sdae.data import Dataset, Examples, load_dataset
from sdae.errors import Interrupted, RunFolderError, UsageError
from sdae.finetune import finetune
from sdae.model import StackedDenoisingAutoencoder
from sdae.pretrain import pretrain
from sdae.run import PRETRAINED, WEIGHTS, RunConfig, RunFolder
from sdae.train import Hooks, TrainingState, TrainOptions, resolve_device


def split_indices(n: int, val_fraction: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A random train/validation split of n examples; the validation part has round(n * fraction) of them."""
    n_val = min(n - 1, round(n * val_fraction)) if val_fraction > 0 else 0
    order = torch.randperm(n, generator=generator)
    return order[n_val:].sort().values, order[:n_val].sort().values


@dataclass
class Prepared:
    """A run's data, split by its seed and resident on its device."""

    dataset: Dataset
    train: Examples
    val: Examples | None
    train_index: torch.Tensor  # positions in dataset.train
    val_index: torch.Tensor
    setup: torch.Generator  # seeded CPU generator, advanced past the split: it initialises weights

    def labels(self, part: str) -> torch.Tensor | None:
        """Labels of the training or validation part, on the examples' device."""
        labels = self.dataset.train_labels
        if labels is None:
            return None
        return labels[self.train_index if part == "train" else self.val_index].to(self.train.device)


def prepare(config: RunConfig, device: torch.device) -> Prepared:
    """Load the data, split it by the seed, and put both parts on the device."""
    data = config.data
    dataset = load_dataset(data.dataset, data.data_dir, data.limit)
    setup = torch.Generator().manual_seed(config.seed)
    train_index, val_index = split_indices(len(dataset.train), data.val_fraction, setup)
    examples = dataset.examples("train", device)
    val = examples.subset(val_index.to(device)) if len(val_index) else None
    return Prepared(dataset, examples.subset(train_index.to(device)), val, train_index, val_index, setup)


def data_facts(dataset: Dataset, train: Examples, val: Examples | None) -> dict:
    return {
        "input_dim": dataset.input_dim,
        "image_shape": list(dataset.image_shape) if dataset.image_shape else None,
        "scaling": {"offset": dataset.scaling.offset, "scale": dataset.scaling.scale},
        "source": dataset.source,
        "n_train": len(train),
        "n_val": 0 if val is None else len(val),
    }


class _Saver:
    """Writes metrics every epoch and the training state every `save_every` epochs (and when stopping)."""

    def __init__(self, folder: RunFolder, records: list[dict], save_every: int, last_epoch: int, user: Hooks):
        self.folder, self.records, self.save_every, self.last_epoch, self.user = folder, records, save_every, last_epoch, user
        self.pending: tuple[TrainingState, list[dict]] | None = None

    def on_epoch(self, record: dict) -> None:
        self.records.append(record)
        if self.user.on_epoch:
            self.user.on_epoch(record)

    def on_state(self, state: TrainingState) -> None:
        self.pending = (state, list(self.records))
        if state.epoch % self.save_every == 0 or state.epoch == self.last_epoch:
            self.flush()  # the checkpoint, then the metrics that go with it
        else:
            self.folder.write_metrics(self.records)
        if self.user.on_state:
            self.user.on_state(state)

    def flush(self) -> None:
        if self.pending is not None:
            self.folder.save_checkpoint(*self.pending)
            self.folder.write_metrics(self.pending[1])
            self.pending = None

    def hooks(self) -> Hooks:
        return Hooks(on_batch=self.user.on_batch, on_epoch=self.on_epoch, on_state=self.on_state)

    def run(self, stage: Callable[[Hooks], object], resume_hint: str) -> None:
        try:
            stage(self.hooks())
        except KeyboardInterrupt:
            self.flush()
            raise Interrupted(f"stopped; the last completed epoch is saved; continue with {resume_hint}") from None
        except BaseException:
            self.flush()
            raise


def _checkpoint_for(folder: RunFolder, stage: str) -> tuple[TrainingState, list[dict]] | None:
    found = folder.load_checkpoint()
    if found is not None and found[0].stage != stage:
        raise RunFolderError(f"{folder.path}: the checkpoint is from {found[0].stage}, not {stage}")
    return found


def run_pretraining(out: str | os.PathLike, config: RunConfig, overwrite: bool = False, hooks: Hooks | None = None) -> RunFolder:
    """Create a run folder at `out` and greedily pretrain every pair into it."""
    config.validate()
    if config.data.data_dir is not None:  # recorded absolute, so later commands work from any folder
        config.data = replace(config.data, data_dir=str(Path(config.data.data_dir).expanduser().resolve()))
    noise = parse_noise(config.noise)
    device = resolve_device(config.device)
    data = prepare(config, device)
    model = StackedDenoisingAutoencoder([data.dataset.input_dim, *config.hidden], config.tied, generator=data.setup).to(device)
    folder = RunFolder.create(out, config, data_facts(data.dataset, data.train, data.val), overwrite=overwrite)
    _pretrain_into(folder, model, data.train, data.val, noise, device, None, [], hooks or Hooks())
    return folder


def resume_pretraining(run: str | os.PathLike, hooks: Hooks | None = None, device: str | None = None) -> RunFolder:
    """Continue an interrupted `run_pretraining` from its last checkpoint, with its own configuration."""
    folder = RunFolder.open(run)
    if folder.status.get("pretrain") == "complete":
        raise UsageError(f"{folder.path}: pretraining is already complete; nothing to resume")
    config = folder.config
    noise = parse_noise(config.noise)
    device_ = resolve_device(device or config.device)
    data = prepare(config, device_)
    model = StackedDenoisingAutoencoder(folder.sizes, config.tied, generator=data.setup).to(device_)
    found = _checkpoint_for(folder, "pretrain")
    state, records = found if found else (None, [])
    _pretrain_into(folder, model, data.train, data.val, noise, device_, state, records, hooks or Hooks())
    return folder


def _pretrain_into(folder, model, train, val, noise, device, state, records, hooks) -> None:
    config = folder.config
    generator = torch.Generator(device=device).manual_seed(config.seed)
    saver = _Saver(folder, records, config.save_every, config.pretrain.epochs, hooks)
    saver.run(lambda h: pretrain(model, train, val, noise, config.pretrain, generator, resume=state, hooks=h),
              f"sdae pretrain --out {folder.path} --resume")
    folder.save_weights(model, PRETRAINED)
    folder.save_weights(model, WEIGHTS)
    folder.write_metrics(saver.records)
    folder.status["pretrain"] = "complete"
    folder.write_meta()
    folder.remove_checkpoint()


def run_finetuning(
    run: str | os.PathLike,
    options: TrainOptions | None = None,
    noise: list[str] | None = None,
    device: str | None = None,
    data_dir: str | None = None,
    save_every: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    supervised: bool = False,
    patience: int | None = None,
    hooks: Hooks | None = None,
) -> RunFolder:
    """Fine-tune a pretrained run end to end (from `pretrained.pt`), or resume an interrupted fine-tuning.

    `supervised=True` puts a softmax layer on the top code and trains on the labels instead of the
    denoising criterion, keeping the epoch with the lowest validation error (see sdae.supervised).
    Options left as None keep the run's own (or, for `options`, TrainOptions' defaults with 120
    epochs). On resume, everything the fine-tuning started with is used.
    """
    folder = RunFolder.open(run)
    status = folder.status
    if status.get("pretrain") != "complete":
        raise UsageError(f"{folder.path}: pretraining has not finished; run sdae pretrain --out {folder.path} --resume first")
    config = folder.config
    if resume:
        if status.get("finetune") == "complete":
            raise UsageError(f"{folder.path}: fine-tuning is already complete; nothing to resume")
        if config.finetune is None:
            raise UsageError(f"{folder.path}: fine-tuning never started; run sdae finetune {folder.path} without --resume")
        supervised = status.get("finetune_kind") == "supervised"
    else:
        if status.get("finetune") is not None and not overwrite:
            raise UsageError(f"{folder.path}: already fine-tuned ({status['finetune']}); pass --overwrite to fine-tune "
                             "again from the pretrained weights, or --resume to continue")
        config.finetune = (options or TrainOptions(epochs=120)).validate()
        config.supervised, config.patience = supervised, patience
        if noise is not None:
            config.noise = list(noise)
        if save_every is not None:
            config.save_every = save_every
    if data_dir is not None:
        config.data = replace(config.data, data_dir=str(data_dir))
    config.validate()
    noise_process = parse_noise(config.noise)
    device_ = resolve_device(device or config.device)
    data = prepare(config, device_)
    if len(data.train_index) + len(data.val_index) != folder.data_facts["n_train"] + folder.data_facts["n_val"]:
        raise RunFolderError(f"{folder.path}: the data now has {len(data.train_index) + len(data.val_index)} training "
                             f"examples, the run was pretrained on {folder.data_facts['n_train'] + folder.data_facts['n_val']}")
    model = folder.load_model(PRETRAINED)
    stage = "supervised" if supervised else "finetune"
    if supervised:
        labels = data.dataset.train_labels
        if labels is None or data.val is None:
            raise UsageError(f"{folder.path}: --supervised needs labelled training data and a validation split "
                             f"(dataset {config.data.dataset!r}, --val-fraction {config.data.val_fraction})")
        folder.meta["classes"] = int(labels.max()) + 1
        model.add_head(folder.meta["classes"], generator=data.setup)
    model.to(device_)
    state, records = None, [r for r in folder.read_metrics() if r.get("stage") == "pretrain"]
    if resume:
        found = _checkpoint_for(folder, stage)
        if found is not None:
            state, records = found
    folder.config = config
    folder.status.update(finetune="running", finetune_kind="supervised" if supervised else "denoising")
    folder.write_meta()
    folder.write_metrics(records)
    if not resume:
        folder.remove_checkpoint()
    generator = torch.Generator(device=device_).manual_seed(config.seed)
    saver = _Saver(folder, records, config.save_every, config.finetune.epochs, hooks or Hooks())
    if supervised:
        from sdae.supervised import supervised_finetune

        def train_stage(h: Hooks):
            return supervised_finetune(model, data.train, data.labels("train"), data.val, data.labels("val"),
                                       config.finetune, generator, config.patience, resume=state, hooks=h)
    else:
        def train_stage(h: Hooks):
            return finetune(model, data.train, data.val, noise_process, config.finetune, generator, resume=state, hooks=h)
    saver.run(train_stage, f"sdae finetune {folder.path} --resume")
    folder.save_weights(model, WEIGHTS)
    folder.write_metrics(saver.records)
    folder.status["finetune"] = "complete"
    folder.write_meta()
    folder.remove_checkpoint()
    return folder
