"""The training commands as functions: pretrain into a new run folder, fine-tune an existing one.

Both keep the run folder consistent at every moment: they hold its lock while they write, save
metrics after every epoch and a checkpoint every `save_every` epochs, write the last unsaved state
when they stop early (Ctrl-C, a diverging loss, any error), and the final weights only once a stage
completes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from sdae import distributed
from sdae.commands.rundata import RunData, prepare
from sdae.config import RunConfig
from sdae.corruption import parse_noise
from sdae.errors import DivergenceError, Interrupted, RunFolderError, UsageError
from sdae.model import StackedDenoisingAutoencoder, check_fits
from sdae.progress import ProgressBars
from sdae.tensorboard import TensorBoardLog
from sdae.runfolder import PRETRAINED, WEIGHTS, RunFolder
from sdae.stages import finetune, pretrain, supervised_finetune
from sdae.train import EpochRecord, Hooks, TrainingState, TrainOptions


@dataclass
class FinetuneOptions:
    """What `run_finetuning` is asked to do; None keeps the run's own setting."""

    train: TrainOptions = field(default_factory=lambda: TrainOptions(epochs=120))
    supervised: bool = False  # a softmax layer on the top code, every layer trained on the labels
    patience: int | None = None  # supervised: stop after this many epochs without a better validation error
    noise: list[str] | None = None
    save_every: int | None = None


def head_generator(seed: int) -> torch.Generator:
    """The classifier head's own random stream: not the one the network's weights were drawn from."""
    return torch.Generator().manual_seed((seed + 0x5DAE_4EAD) % 2**63)


class _Saver:
    """Writes metrics every epoch and the training state every `save_every` epochs (and when stopping)."""

    def __init__(self, folder: RunFolder, records: list[EpochRecord], last_epoch: int, user: Hooks):
        self.folder, self.records, self.last_epoch, self.user = folder, records, last_epoch, user
        self.save_every = folder.config.save_every
        self.pending: tuple[TrainingState, list[EpochRecord]] | None = None

    def on_epoch(self, record: EpochRecord) -> None:
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
        return Hooks(on_batch=self.user.on_batch, on_epoch=self.on_epoch, on_state=self.on_state,
                     on_stage=self.user.on_stage)


class _Follower:
    """The run folder as a process other than rank 0 of a data-parallel run sees it: it trains, writes nothing."""

    def __init__(self, config: RunConfig, path: str | os.PathLike):
        self.config, self.path, self.status, self.meta = config, path, {}, {}

    def write_meta(self) -> None: ...
    def write_metrics(self, records) -> None: ...
    def save_checkpoint(self, state, records) -> None: ...
    def save_weights(self, model, name: str = WEIGHTS) -> None: ...
    def remove_checkpoint(self) -> None: ...
    def remove_outputs(self) -> None: ...
    def release(self) -> None: ...

    def load_model(self, which: str = WEIGHTS) -> StackedDenoisingAutoencoder:
        return RunFolder.open(self.path).load_model(which)  # read only: fine-tuning never rewrites it


def _as_written(folder: RunFolder | _Follower, path: str | os.PathLike) -> RunFolder:
    """The run folder once rank 0 has written it; the folder itself in one process. Leaving the process group
    together (a barrier) is what makes the other ranks wait for rank 0's last writes."""
    distributed.stop()
    return RunFolder.open(path) if isinstance(folder, _Follower) else folder


def _train_into(folder: RunFolder, stage: str, train: Callable[[Hooks], object], model: StackedDenoisingAutoencoder,
                records: list[EpochRecord], epochs: int, hooks: Hooks | None) -> None:
    """Run a training stage into the run folder, then save its weights and mark it complete."""
    writes = not isinstance(folder, _Follower)
    log = TensorBoardLog(folder.path, folder.config.to_dict()) if writes and "tensorboard" in folder.config.log else None
    saver = _Saver(folder, records, epochs, log.hooks(hooks) if log else hooks or Hooks())
    try:
        train(saver.hooks())
    except KeyboardInterrupt:
        saver.flush()
        how = "`resume_pretraining`" if stage == "pretrain" else "`resume=True`"
        raise Interrupted(f"stopped; the last completed epoch is saved; continue with {how}",
                          "pretrain" if stage == "pretrain" else "finetune", str(folder.path)) from None
    except DivergenceError:
        saver.flush()
        if stage != "pretrain":
            folder.status["finetune"] = "diverged"
            folder.write_meta()
        raise
    except BaseException:
        saver.flush()
        raise
    finally:
        if log is not None:
            log.close()
    if stage == "pretrain":
        folder.save_weights(model, PRETRAINED)
    folder.save_weights(model, WEIGHTS)
    folder.write_metrics(saver.records)
    folder.status[stage if stage == "pretrain" else "finetune"] = "complete"
    folder.write_meta()
    if stage == "pretrain":
        folder.remove_checkpoint()  # fine-tuning's last state stays: `extend_to` continues from it


def _checkpoint_for(folder: RunFolder, stage: str) -> tuple[TrainingState, list[EpochRecord]] | None:
    found = folder.load_checkpoint()
    if found is not None and found[0].stage != stage:
        raise RunFolderError(f"{folder.path}: the checkpoint is from {found[0].stage}, not {stage}")
    return found


def _start_on(run: str | os.PathLike, device: str | None, hooks: Hooks | None, verbose: bool):
    """Join the other processes, if torchrun started several, on the device asked for or the run's own;
    returns this process's place, its device and its hooks."""
    config = RunFolder.open(run).config  # read only: where to run, which seed
    world, device_ = distributed.start(device or config.device, config.seed)
    return world, device_, _with_progress(hooks, verbose, world)


def _read_locked(run: str | os.PathLike, purpose: str, read: Callable[[RunFolder], object]) -> tuple[RunFolder, object]:
    """Open the run, take its lock, and return it with what `read(folder)` gives; the lock is let go if that fails."""
    folder = RunFolder.open(run)
    folder.locked(purpose).acquire()
    try:
        return folder, read(folder)
    except BaseException:
        folder.release()
        raise


def _with_progress(hooks: Hooks | None, verbose: bool, world: distributed.World) -> Hooks | None:
    """The caller's hooks (and progress bars if `verbose`) on rank 0; none on the other ranks."""
    if not world.leader:
        return None
    return ProgressBars().hooks(hooks) if verbose else hooks


def run_pretraining(out: str | os.PathLike, config: RunConfig, overwrite: bool = False,
                    hooks: Hooks | None = None, verbose: bool = False) -> RunFolder:
    """Create a run folder at `out` and greedily pretrain every pair into it (`verbose`: progress bars)."""
    config.validate()
    world, device = distributed.start(config.device, config.seed)
    hooks = _with_progress(hooks, verbose, world)
    config.data = config.data.with_data_dir(config.data.data_dir)
    noise = parse_noise(config.noise)
    data = prepare(config, device)
    sizes = [data.dataset.input_dim, *config.hidden]
    check_fits(sizes, device)
    model = StackedDenoisingAutoencoder(sizes, config.tied, generator=data.setup, activation=config.activation).to(device)
    folder, _ = distributed.from_leader(lambda: (RunFolder.create(out, config, data.facts(), overwrite=overwrite), None))
    folder = folder or _Follower(config, out)
    try:
        _pretrain_into(folder, model, data, noise, device, None, [], hooks)
    finally:
        folder.release()
    return _as_written(folder, out)


def resume_pretraining(run: str | os.PathLike, hooks: Hooks | None = None, device: str | None = None,
                       data_dir: str | None = None, verbose: bool = False) -> RunFolder:
    """Continue an interrupted `run_pretraining` from its last checkpoint, with its own configuration."""
    world, device_, hooks = _start_on(run, device, hooks, verbose)

    def read(folder: RunFolder):
        if folder.status.get("pretrain") == "complete":
            raise UsageError(f"{folder.path}: pretraining is already complete; nothing to resume")
        return _checkpoint_for(folder, "pretrain") or (None, [])

    def open_locked():
        folder, (state, records) = _read_locked(run, "pretraining", read)
        return (folder, records), (folder.config.to_dict(), folder.data_facts, folder.sizes, state)

    kept, (settings, facts, sizes, state) = distributed.from_leader(open_locked)
    config = RunConfig.from_dict(settings)
    config.data = config.data.with_data_dir(data_dir)
    folder, records = kept or (_Follower(config, run), [])
    try:
        data = prepare(config, device_, facts)
        model = StackedDenoisingAutoencoder(sizes, config.tied, generator=data.setup,
                                            activation=config.activation).to(device_)
        _pretrain_into(folder, model, data, parse_noise(config.noise), device_, state, records, hooks)
    finally:
        folder.release()
    return _as_written(folder, run)


def _pretrain_into(folder: RunFolder, model: StackedDenoisingAutoencoder, data: RunData, noise, device: torch.device,
                   state: TrainingState | None, records: list[EpochRecord], hooks: Hooks | None) -> None:
    options = folder.config.pretrain
    generator = torch.Generator(device=device).manual_seed(distributed.rank_seed(folder.config.seed,
                                                                                 distributed.current().rank))
    criterion = folder.config.criterion()
    _train_into(folder, "pretrain",
                lambda h: pretrain(model, data.train, data.val, noise, options, generator, resume=state, hooks=h,
                                   criterion=criterion),
                model, records, options.epochs, hooks)


def run_finetuning(run: str | os.PathLike, options: FinetuneOptions | None = None, *, resume: bool = False,
                   overwrite: bool = False, device: str | None = None, data_dir: str | None = None,
                   hooks: Hooks | None = None, verbose: bool = False, extend_to: int | None = None) -> RunFolder:
    """Fine-tune a pretrained run from `pretrained.pt`: end to end on the denoising criterion, or on the labels.

    `resume=True` continues an interrupted fine-tuning with everything it started with; with
    `extend_to=N` it also continues one that is complete (or would stop earlier) up to N epochs in all;
    `overwrite=True` fine-tunes again, from the pretrained weights, a run fine-tuned before.
    `device` and `data_dir` say where to run and where the data is now, if not where they were;
    `verbose` shows progress bars.
    """
    world, device_, hooks = _start_on(run, device, hooks, verbose)

    def read(folder: RunFolder):
        config = _finetune_config(folder, options or FinetuneOptions(), resume, overwrite, extend_to)
        found = _checkpoint_for(folder, "supervised" if config.supervised else "finetune") if resume else None
        return config, found or (None, [r for r in folder.read_metrics() if r.stage == "pretrain"])

    def open_locked():
        folder, (config, (state, records)) = _read_locked(run, "fine-tuning", read)
        return (folder, records), (config.to_dict(), folder.data_facts, state)

    kept, (settings, facts, state) = distributed.from_leader(open_locked)
    config = RunConfig.from_dict(settings)
    config.data = config.data.with_data_dir(data_dir)
    folder, records = kept or (_Follower(config, run), [])
    try:
        data = prepare(config, device_, facts)
        model = folder.load_model(PRETRAINED)
        stage = "supervised" if config.supervised else "finetune"
        if config.supervised:
            folder.meta["classes"] = data.class_count()
            model.add_head(folder.meta["classes"], generator=head_generator(config.seed))
        model.to(device_)
        folder.config = config
        folder.status.update(finetune="running", finetune_kind="supervised" if config.supervised else "denoising")
        folder.write_meta()
        folder.write_metrics(records)
        if not resume:
            folder.remove_checkpoint()
            folder.remove_outputs()  # evaluation.json, svm.json, figures/ describe the weights being replaced
        generator = torch.Generator(device=device_).manual_seed(distributed.rank_seed(config.seed, world.rank))
        noise = parse_noise(config.noise)
        if config.supervised:
            def train(h: Hooks):
                return supervised_finetune(model, data.train, data.labels("train"), data.val, data.labels("val"),
                                           config.finetune, generator, config.patience, resume=state, hooks=h)
        else:
            def train(h: Hooks):
                return finetune(model, data.train, data.val, noise, config.finetune, generator, resume=state, hooks=h,
                                criterion=config.criterion())
        _train_into(folder, stage, train, model, records, config.finetune.epochs, hooks)
    finally:
        folder.release()
    return _as_written(folder, run)


def _finetune_config(folder: RunFolder, options: FinetuneOptions, resume: bool, overwrite: bool,
                     extend_to: int | None = None) -> RunConfig:
    """The run's configuration with the fine-tuning asked for, checked against the run's status."""
    status, path = folder.status, folder.path
    if status.get("pretrain") != "complete":
        raise UsageError(f"{path}: pretraining has not finished; continue it with `resume_pretraining` first")
    config = RunConfig.from_dict(folder.config.to_dict())  # a copy: nothing changes on disk until training starts
    if extend_to is not None and not resume:
        raise UsageError("`extend_to` continues a fine-tuning; it goes with `resume=True`")
    if resume:
        if extend_to is not None and config.finetune is not None:
            if isinstance(extend_to, bool) or not isinstance(extend_to, int) or extend_to <= config.finetune.epochs:
                raise UsageError(f"{path}: `epochs` {extend_to!r} would not extend the fine-tuning's "
                                 f"{config.finetune.epochs} epochs")
            config.finetune.epochs = extend_to
        elif status.get("finetune") == "complete":
            raise UsageError(f"{path}: fine-tuning is already complete; to train on, give more `epochs` in all "
                             "with `resume=True`")
        if status.get("finetune") == "diverged":
            raise UsageError(f"{path}: fine-tuning diverged, and resuming would diverge the same way; start it again "
                             "with `overwrite=True` and a lower `lr`")
        if config.finetune is None:
            raise UsageError(f"{path}: fine-tuning never started; start it without `resume=True`")
        return config
    state = status.get("finetune")
    if state is not None and not overwrite:
        what = {"complete": "is already fine-tuned", "diverged": "fine-tuning diverged",
                "running": "fine-tuning was interrupted or is unfinished"}[state]
        raise UsageError(f"{path}: {what}; pass `overwrite=True` to fine-tune again from the pretrained weights"
                         + (", or `resume=True` to continue" if state == "running" else ""))
    config.finetune = options.train
    config.supervised, config.patience = options.supervised, options.patience
    if options.noise is not None:
        config.noise = list(options.noise)
    if options.save_every is not None:
        config.save_every = options.save_every
    return config.validate()
