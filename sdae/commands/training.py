"""The training commands as functions: pretrain into a new run folder, fine-tune an existing one.

Both keep the run folder consistent at every moment: they hold its lock while they write, write
nothing before an epoch has completed (reading and restoring the checkpoint, loading the weights and
the data come first; pretraining creates its folder, or replaces the run there, only then), save
metrics after every epoch and a checkpoint every `save_every` epochs, write the last unsaved state
when they stop early (Ctrl-C, a diverging loss, any error), and the final weights only once a stage
completes (`sdae.commands.saving`). In a data-parallel run rank 0 alone opens the folder for writing;
the other processes read it and train.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch

from sdae import distributed
from sdae.commands.plans import check_applicable, checkpoint_for, finetune_config, locked, portable
from sdae.commands.rundata import RunData, prepare
from sdae.commands.saving import claim_out, planned, remove_outputs, train_into
from sdae.commands.session import as_written, session, start
from sdae.corruption import parse_noise
from sdae.device import check_fits
from sdae.distributed import World
from sdae.errors import UsageError
from sdae.loading import load_model
from sdae.loop import Hooks
from sdae.model import StackedDenoisingAutoencoder
from sdae.options import FinetuneOptions, Output, RunConfig, StageName, Status
from sdae.records import EpochRecord, TrainingState
from sdae.runfolder import PRETRAINED, RunFolder
from sdae.stages import finetune, output_for, pretrain, supervised_finetune

__all__ = ["FinetuneOptions", "head_generator", "resume_pretraining", "run_finetuning", "run_pretraining"]


def head_generator(seed: int) -> torch.Generator:
    """The classifier head's own random stream: not the one the network's weights were drawn from."""
    return torch.Generator().manual_seed((seed + 0x5DAE_4EAD) % 2**63)


def _generator(config: RunConfig, world: World, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(distributed.rank_seed(config.seed, world.rank))


def run_pretraining(
    out: str | os.PathLike,
    config: RunConfig,
    overwrite: bool = False,
    hooks: Hooks | None = None,
    verbose: bool = False,
) -> RunFolder:
    """Create a run folder at `out` and greedily pretrain every pair into it (`verbose`: progress bars).

    Raises UsageError for bad options, DataError for unusable data, RunFolderError or WriteError when
    the folder cannot be made, DivergenceError, or Interrupted (after saving) on Ctrl-C.
    """
    config.validate()
    check_applicable(config)
    world, device, hooks = start(config.device, config.seed, hooks, verbose)
    config.data = config.data.absolute()
    noise = parse_noise(config.noise)
    data = prepare(config, device)
    config.output = Output(output_for(config.output, data.train, config.data.scaling))
    sizes = [data.dataset.input_dim, *config.layers]
    check_fits(sizes, device)
    model = StackedDenoisingAutoencoder(
        sizes, config.tied, generator=data.init_generator, activation=config.activation, output=config.output
    ).to(device)
    facts = data.facts()
    claim, _ = distributed.from_leader(lambda: (claim_out(out, overwrite), None), world)
    made: list[RunFolder] = []

    def begin() -> RunFolder:
        """The run folder, created once the first epoch has completed: a failure before leaves `out` as it was
        (an `overwrite`n run intact, no new folder)."""
        if claim is not None:
            claim.release()  # `create` takes the lock itself
        folder = (
            RunFolder.create(out, config, facts, overwrite=overwrite) if world.leader else planned(out, config, facts)
        )
        folder.config = config
        made.append(folder)
        return folder

    try:
        folder = _pretrain_into(begin, config, model, data, noise, device, None, [], hooks, world)
    finally:
        for held in made:
            held.release()
        if claim is not None:
            claim.release()
    return as_written(folder, out)


def resume_pretraining(
    run: str | os.PathLike,
    hooks: Hooks | None = None,
    device: str | None = None,
    data_dir: str | None = None,
    verbose: bool = False,
    dataset: str | None = None,
) -> RunFolder:
    """Continue an interrupted `run_pretraining` from its last checkpoint, with its own configuration.

    `dataset` (the run's own file, moved) or `data_dir` (MNIST's files, moved) say where the data is now; it
    is checked against the run's fingerprint, and its new place is recorded with the run."""
    config = RunFolder.open(run, writes=False).config  # read only: where to run, which seed
    world, device_, hooks = start(device or config.device, config.seed, hooks, verbose)

    def read(folder: RunFolder):
        if folder.status.pretrained:
            raise UsageError(f"{folder.path}: pretraining is already complete; nothing to resume")
        state, records = checkpoint_for(folder, StageName.PRETRAIN) or (None, [])
        return portable(state, folder, device_), records

    def lead():
        folder, (state, records) = locked(run, "pretraining", read)
        return folder, (records, state)

    with session(run, world, lead) as (folder, (records, state)):
        config = folder.config
        config.data = config.data.relocated(dataset, data_dir)
        data = prepare(config, device_, folder.facts)
        model = StackedDenoisingAutoencoder(
            folder.sizes, config.tied, generator=data.init_generator, activation=config.activation, output=folder.output
        ).to(device_)
        _pretrain_into(
            lambda: folder, config, model, data, parse_noise(config.noise), device_, state, list(records), hooks, world
        )
    return as_written(folder, run)


def _pretrain_into(
    begin: Callable[[], RunFolder],
    config: RunConfig,
    model: StackedDenoisingAutoencoder,
    data: RunData,
    noise,
    device: torch.device,
    state: TrainingState | None,
    records: list[EpochRecord],
    hooks: Hooks | None,
    world: World,
) -> RunFolder:
    generator = _generator(config, world, device)
    return train_into(
        begin,
        config,
        StageName.PRETRAIN,
        lambda h: pretrain(
            model,
            data.train,
            data.val,
            noise,
            config.pretrain,
            generator,
            resume=state,
            hooks=h,
            criterion=config.criterion(),
            world=world,
        ),
        model,
        records,
        config.pretrain.epochs,
        hooks,
    )


def run_finetuning(
    run: str | os.PathLike,
    options: FinetuneOptions | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    device: str | None = None,
    data_dir: str | None = None,
    hooks: Hooks | None = None,
    verbose: bool = False,
    extend_to: int | None = None,
    dataset: str | None = None,
) -> RunFolder:
    """Fine-tune a pretrained run from its pretrained weights: end to end on the denoising criterion, or on the labels.

    `resume=True` continues an interrupted fine-tuning with everything it started with; with
    `extend_to=N` it also continues one that is complete (or would stop earlier) up to N epochs in all;
    `overwrite=True` fine-tunes again, from the pretrained weights, a run fine-tuned before.
    `device` says where to run; `dataset` (the run's own file, moved) or `data_dir` (MNIST's files, moved)
    where the data is now, checked against the run's fingerprint and recorded with the run;
    `verbose` shows progress bars. Raises as `run_pretraining` does, and UsageError when the run's
    status does not allow what is asked.
    """
    seed_config = RunFolder.open(run, writes=False).config  # read only: where to run, which seed
    world, device_, hooks = start(device or seed_config.device, seed_config.seed, hooks, verbose)

    def read(folder: RunFolder):
        config = finetune_config(folder, options or FinetuneOptions(), resume, overwrite, extend_to)
        stage = StageName.SUPERVISED if config.supervised else StageName.FINETUNE
        found = checkpoint_for(folder, stage) if resume else None
        if found is not None:
            return config, (portable(found[0], folder, device_), found[1])
        return config, (None, [r for r in folder.read_metrics() if r.stage == StageName.PRETRAIN])

    def lead():
        folder, (config, (state, records)) = locked(run, "fine-tuning", read)
        return folder, (config.to_dict(), records, state)

    with session(run, world, lead) as (folder, (settings, records, state)):
        config = RunConfig.from_dict(settings)
        config.data = config.data.relocated(dataset, data_dir)
        data = prepare(config, device_, folder.facts)
        model = load_model(folder, PRETRAINED)
        classes = data.class_count() if config.supervised else None
        if classes is not None:
            model.add_head(classes, generator=head_generator(config.seed))
        model.to(device_)
        generator = _generator(config, world, device_)
        train_options = config.finetune
        assert train_options is not None, "no fine-tuning options"  # `_finetune_config` sets them
        if config.supervised:

            def train(h: Hooks):
                train_labels, val = data.labels("train"), data.val
                val_labels = None if val is None else data.labels("val")
                assert train_labels is not None  # `class_count`
                return supervised_finetune(
                    model,
                    data.train,
                    train_labels,
                    val,
                    val_labels,
                    train_options,
                    generator,
                    config.patience,
                    resume=state,
                    hooks=h,
                    world=world,
                    dropout=(config.input_dropout, config.dropout),
                )
        else:
            noise = parse_noise(config.noise)

            def train(h: Hooks):
                return finetune(
                    model,
                    data.train,
                    data.val,
                    noise,
                    train_options,
                    generator,
                    resume=state,
                    hooks=h,
                    criterion=config.criterion(),
                    world=world,
                )

        started = list(records)

        def begin() -> RunFolder:
            """Once the first epoch has completed (the checkpoint read and restored, the weights loaded, the data
            ready): the fine-tuning's configuration and status, the metrics it goes on from; a new fine-tuning also
            removes the previous one's checkpoint and outputs. Nothing of it is written before."""
            folder.config = config
            if classes is not None:
                folder.classes = classes
            folder.status.finetune = Status.RUNNING
            folder.status.finetune_kind = "supervised" if config.supervised else "denoising"
            folder.write_meta()
            folder.write_metrics(started)
            if not resume:
                folder.remove_checkpoint()
            if not resume or extend_to is not None:
                remove_outputs(folder)  # evaluation.json, svm.json, figures/ describe the weights being replaced
            return folder

        stage = StageName.SUPERVISED if config.supervised else StageName.FINETUNE
        train_into(begin, config, stage, train, model, list(records), train_options.epochs, hooks)
    return as_written(folder, run)
