"""The two commands as functions: pretrain into a new run folder, fine-tune an existing one.

Both keep the run folder consistent at every moment: metrics and a checkpoint after every epoch
(or every `save_every` epochs), the last unsaved state written when they stop early (Ctrl-C or a
diverging loss), and the final weights only once a stage completes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

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


def prepare(config: RunConfig, device: torch.device) -> tuple[Dataset, Examples, Examples | None, torch.Generator]:
    """Load the data, split it by the seed, and put both parts on the device.

    Returns the dataset, the training and validation examples, and the CPU generator (seeded,
    already advanced past the split) that initialises the weights.
    """
    data = config.data
    dataset = load_dataset(data.dataset, data.data_dir, data.limit)
    setup = torch.Generator().manual_seed(config.seed)
    train_index, val_index = split_indices(len(dataset.train), data.val_fraction, setup)
    examples = dataset.examples("train", device)
    val = examples.subset(val_index.to(device)) if len(val_index) else None
    return dataset, examples.subset(train_index.to(device)), val, setup


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
            self.flush()
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
    noise = parse_noise(config.noise)
    device = resolve_device(config.device)
    dataset, train, val, setup = prepare(config, device)
    model = StackedDenoisingAutoencoder([dataset.input_dim, *config.hidden], config.tied, generator=setup).to(device)
    folder = RunFolder.create(out, config, data_facts(dataset, train, val), overwrite=overwrite)
    _pretrain_into(folder, model, train, val, noise, device, None, [], hooks or Hooks())
    return folder


def resume_pretraining(run: str | os.PathLike, hooks: Hooks | None = None, device: str | None = None) -> RunFolder:
    """Continue an interrupted `run_pretraining` from its last checkpoint, with its own configuration."""
    folder = RunFolder.open(run)
    if folder.status.get("pretrain") == "complete":
        raise UsageError(f"{folder.path}: pretraining is already complete; nothing to resume")
    config = folder.config
    noise = parse_noise(config.noise)
    device_ = resolve_device(device or config.device)
    dataset, train, val, setup = prepare(config, device_)
    model = StackedDenoisingAutoencoder(folder.sizes, config.tied, generator=setup).to(device_)
    found = _checkpoint_for(folder, "pretrain")
    state, records = found if found else (None, [])
    _pretrain_into(folder, model, train, val, noise, device_, state, records, hooks or Hooks())
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
    hooks: Hooks | None = None,
) -> RunFolder:
    """Fine-tune a pretrained run end to end (from `pretrained.pt`), or resume an interrupted fine-tuning.

    Options left as None keep the run's own (or, for `options`, TrainOptions' defaults with 120 epochs).
    On resume, the options the fine-tuning started with are used.
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
    else:
        if status.get("finetune") is not None and not overwrite:
            raise UsageError(f"{folder.path}: already fine-tuned ({status['finetune']}); pass --overwrite to fine-tune "
                             "again from the pretrained weights, or --resume to continue")
        config.finetune = (options or TrainOptions(epochs=120)).validate()
        if noise is not None:
            config.noise = list(noise)
        if save_every is not None:
            config.save_every = save_every
    if data_dir is not None:
        config.data = replace(config.data, data_dir=str(data_dir))
    config.validate()
    noise_process = parse_noise(config.noise)
    device_ = resolve_device(device or config.device)
    _, train, val, _ = prepare(config, device_)
    if len(train) + (0 if val is None else len(val)) != folder.data_facts["n_train"] + folder.data_facts["n_val"]:
        raise RunFolderError(f"{folder.path}: the data now has {len(train) + (len(val) if val else 0)} training examples, "
                             f"the run was pretrained on {folder.data_facts['n_train'] + folder.data_facts['n_val']}")
    model = folder.load_model(PRETRAINED).to(device_)
    state, records = None, [r for r in folder.read_metrics() if r.get("stage") == "pretrain"]
    if resume:
        found = _checkpoint_for(folder, "finetune")
        if found is not None:
            state, records = found
    folder.config = config
    folder.status["finetune"] = "running"
    folder.write_meta()
    folder.write_metrics(records)
    if not resume:
        folder.remove_checkpoint()
    generator = torch.Generator(device=device_).manual_seed(config.seed)
    saver = _Saver(folder, records, config.save_every, config.finetune.epochs, hooks or Hooks())
    saver.run(lambda h: finetune(model, train, val, noise_process, config.finetune, generator, resume=state, hooks=h),
              f"sdae finetune {folder.path} --resume")
    folder.save_weights(model, WEIGHTS)
    folder.write_metrics(saver.records)
    folder.status["finetune"] = "complete"
    folder.write_meta()
    folder.remove_checkpoint()
    return folder


def evaluate_run(run: str | os.PathLike, device: str | None = None, data_dir: str | None = None) -> dict:
    """Test reconstruction errors of a run's latest weights; written to RUN/evaluation.json and returned."""
    from sdae.evaluate import evaluate_reconstruction
    from sdae.files import atomic_write_json, read_json

    folder = RunFolder.open(run)
    config = folder.config
    if data_dir is not None:
        config.data = replace(config.data, data_dir=str(data_dir))
    device_ = resolve_device(device or config.device)
    dataset, train, _, _ = prepare(config, device_)
    model = folder.load_model().to(device_)
    results = {"reconstruction": evaluate_reconstruction(model, train, dataset.examples("test", device_), parse_noise(config.noise)),
               "weights": WEIGHTS, "finetuned": folder.status.get("finetune") == "complete"}
    path = folder.path / "evaluation.json"
    merged = read_json(path) if path.is_file() else {}
    merged.update(results)
    atomic_write_json(path, merged)
    return merged


def _test_or_validation(dataset: Dataset, val: Examples | None, device) -> tuple[Examples, torch.Tensor | None, str]:
    """The test split where the dataset has one (for pictures and codes), else the validation part."""
    if dataset.test is not None:
        return dataset.examples("test", device), dataset.test_labels, "test"
    if val is None:
        raise UsageError("this dataset has no test split and the run held out no validation examples")
    return val, None, "validation"


def visualize_run(run: str | os.PathLike, device: str | None = None, data_dir: str | None = None,
                  digits: int = 10, map_size: int = 2000) -> list:
    """Write the run's pictures into RUN/figures/ and return their paths."""
    from sdae import viz

    folder = RunFolder.open(run)
    config = folder.config
    if data_dir is not None:
        config.data = replace(config.data, data_dir=str(data_dir))
    dataset, _, val, _ = prepare(config, torch.device("cpu"))
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
    import io

    import numpy as np

    from sdae.files import atomic_write_bytes
    from sdae.pretrain import clean_codes

    folder = RunFolder.open(run)
    config = folder.config
    if data_dir is not None:
        config.data = replace(config.data, data_dir=str(data_dir))
    depth = len(config.hidden)
    layer = depth if layer is None else layer
    if not 1 <= layer <= depth:
        raise UsageError(f"--layer must be between 1 and {depth} for this run, got {layer}")
    device_ = resolve_device(device or config.device)
    dataset, train, val, _ = prepare(config, device_)
    labels_all = dataset.labels("train")
    if split == "test":
        if dataset.test is None:
            raise UsageError(f"dataset {config.data.dataset!r} has no test split; use --split train or validation")
        examples, labels = dataset.examples("test", device_), dataset.test_labels
    elif split in ("train", "validation"):
        setup = torch.Generator().manual_seed(config.seed)
        train_index, val_index = split_indices(len(dataset.train), config.data.val_fraction, setup)
        index = train_index if split == "train" else val_index
        examples = train if split == "train" else val
        if examples is None:
            raise UsageError("the run held out no validation examples")
        labels = None if labels_all is None else labels_all[index]
    else:
        raise UsageError(f"--split must be train, validation or test, got {split!r}")
    model = folder.load_model().to(device_)
    codes = clean_codes(model, layer, examples, batch_size).cpu()
    result = {"codes": codes.numpy()}
    if labels is not None:
        result["labels"] = labels.numpy()
    if out is not None:
        buffer = io.BytesIO()
        np.savez(buffer, **result)
        atomic_write_bytes(out, buffer.getvalue())
    return result


def svm_run(run: str | os.PathLike, train_size: int = 5000, test_size: int | None = None, data_dir: str | None = None,
            kernels: tuple[str, ...] = ("linear", "rbf"), val_size: int = 2000, on_result=None) -> dict:
    """Linear and RBF SVMs on pixels and on each layer's codes; written to RUN/svm.json and returned.

    The SVMs train on `train_size` examples drawn (by the run's seed) from the run's training part,
    choose C on up to `val_size` of the run's validation examples, and are tested on the first
    `test_size` test examples.
    """
    from sdae.files import atomic_write_json
    from sdae.probe import layer_representations, svm_errors

    folder = RunFolder.open(run)
    config = folder.config
    if data_dir is not None:
        config.data = replace(config.data, data_dir=str(data_dir))
    dataset, train, val, _ = prepare(config, torch.device("cpu"))
    if dataset.test is None or dataset.test_labels is None or dataset.train_labels is None:
        raise UsageError(f"dataset {config.data.dataset!r} has no labelled test split; SVMs need labels")
    if train_size < 10:
        raise UsageError(f"--train-size must be at least 10, got {train_size}")
    setup = torch.Generator().manual_seed(config.seed)
    if val is None:
        raise UsageError("the run held out no validation examples, which choose the SVMs' C")
    train_index, val_index = split_indices(len(dataset.train), config.data.val_fraction, setup)
    chosen = torch.randperm(len(train_index), generator=torch.Generator().manual_seed(config.seed))[:train_size]
    x_train, y_train = train.batch(chosen), dataset.train_labels[train_index[chosen]].numpy()
    x_val, y_val = val.batch(slice(0, val_size)), dataset.train_labels[val_index[:val_size]].numpy()
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
