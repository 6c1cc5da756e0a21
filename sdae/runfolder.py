"""The run folder: what `sdae pretrain` creates and every later command reads.

    RUN/sdae-run.json   the marker: only sdae writes it (format version, run id); it is what makes a
                        folder a run folder, so `overwrite` never touches a folder sdae did not make
    RUN/config.json     the resolved configuration, the data's facts (scaling, sizes, fingerprint), stage status
    RUN/pretrained.safetensors   the weights after greedy pretraining (safetensors: tensors only, no code)
    RUN/model.safetensors        the latest weights: the pretrained ones until fine-tuning has run
    RUN/metrics.jsonl   one `EpochRecord` per line
    RUN/checkpoint.pt   the state of an unfinished stage (weights, optimizer, generator, metrics)
    RUN/.sdae.lock      held by the process writing into the run (see `sdae.files.FolderLock`)

The weights carry the input scaling (`model.prepare(raw)`). Every file is written atomically and checked
against its schema when read; an error names the file and the field.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import torch

from sdae.errors import RunFolderError, UsageError, WriteError
from sdae.files import (
    FolderLock,
    atomic_torch_save,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    parse_json,
    read_json,
    read_text,
    safe_torch_load,
)
from sdae.model import StackedDenoisingAutoencoder
from sdae.options import RunConfig, StageName
from sdae.records import DataFacts, EpochRecord, RunStatus, TrainingState
from sdae.replace import discard, restore, set_aside
from sdae.schema import check_meta, checked_state, epoch_record, json_list
from sdae.version import __version__

FORMAT = 3
MARKER, CONFIG, PRETRAINED, WEIGHTS = "sdae-run.json", "config.json", "pretrained.safetensors", "model.safetensors"
METRICS, CHECKPOINT, EVALUATION, SVM, FIGURES = (
    "metrics.jsonl",
    "checkpoint.pt",
    "evaluation.json",
    "svm.json",
    "figures",
)
TENSORBOARD = "tensorboard"
# Everything sdae writes into a run folder besides the marker; `overwrite` replaces these and nothing else.
WRITTEN = (CONFIG, PRETRAINED, WEIGHTS, METRICS, CHECKPOINT, EVALUATION, SVM, FIGURES, TENSORBOARD)
RESERVED = (MARKER, FolderLock.NAME, *WRITTEN)


def is_run(path: Path) -> bool:
    """Whether sdae made this folder a run folder (its marker file is there)."""
    return (path / MARKER).is_file()


def _not_a_run(path: Path) -> str:
    """Why `path` is not a run folder, in words."""
    try:
        old = json.loads((path / CONFIG).read_text(encoding="utf-8"))
        if isinstance(old, dict) and old.get("format") == 1 and "sdae_version" in old:
            return f"{path} holds a run of sdae {old['sdae_version']} (run format 1), which this sdae does not read"
    except (OSError, ValueError, RecursionError):
        pass
    return f"{path} is not an sdae run folder (no {MARKER})"


def check_out(path: Path, overwrite: bool) -> bool:
    """Whether `path` (where a new run goes) holds a run that `overwrite` replaces; raises UsageError where a run
    may not go: a file, a folder with other things in it, a run without `overwrite`."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"`out` {path} exists and is not a folder")
    occupied = path.is_dir() and any(p.name != FolderLock.NAME for p in path.iterdir())
    if occupied and not is_run(path):
        raise UsageError(f"`out` {_not_a_run(path)} and is not empty; choose another folder")
    if occupied and not overwrite:
        raise UsageError(
            f"`out` {path} already holds a run; pass `overwrite=True` to replace it, or choose another folder"
        )
    return occupied


class RunFolder:
    """A run folder on disk. `create` makes a new one, `open` checks and reads an existing one.

    Commands that write into a run hold its lock: `with folder.locked("fine-tuning"): ...`
    (`create` returns the folder with the lock already held; `release()` lets it go).
    `writes=False` (the processes other than rank 0 of a data-parallel run) reads the folder and
    makes every write a no-op.
    """

    def __init__(
        self, path: str | os.PathLike, marker: dict, meta: dict, lock: FolderLock | None = None, writes: bool = True
    ):
        self.path = Path(path)
        self.marker = marker  # format, run_id, created, sdae_version
        self.meta = meta  # config.json as read: versions, "config", "data_facts", "status", "classes" once supervised
        self.config = RunConfig.from_dict(meta["config"])
        self.facts = DataFacts.from_dict(meta["data_facts"])
        self.status = RunStatus.from_dict(meta["status"])
        self.classes: int | None = meta.get("classes")
        self.writes = writes
        self._lock = lock

    # ------------------------------------------------------------------ creating and opening
    @classmethod
    def create(cls, path: str | os.PathLike, config: RunConfig, facts: DataFacts, overwrite: bool = False) -> RunFolder:
        """A new run at `path` (an empty or new folder, or an sdae run replaced with `overwrite=True`), locked."""
        path = Path(path)
        occupied = check_out(path, overwrite)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise WriteError(f"cannot create {path}: {e.strerror or e}") from None
        lock = FolderLock(path, "pretraining").acquire()
        try:
            replaced = set_aside(path, WRITTEN) if occupied else None
            marker = {
                "format": FORMAT,
                "run_id": uuid.uuid4().hex,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "sdae_version": __version__,
            }
            meta = {
                "sdae_version": __version__,
                "torch_version": torch.__version__,
                "config": config.to_dict(),
                "data_facts": facts.to_dict(),
                "status": RunStatus().to_dict(),
            }
            folder = cls(path, marker, meta, lock)
            try:
                folder.write_meta()
                atomic_write_json(path / MARKER, marker)  # the switch: from here on the folder is the new run
            except BaseException:
                if replaced is not None:
                    restore(path, replaced)
                raise
        except BaseException:
            lock.release()
            raise
        if replaced is not None:
            discard(replaced)
        return folder

    @classmethod
    def open(cls, path: str | os.PathLike, writes: bool = True) -> RunFolder:
        """The run at `path`, every file checked; raises RunFolderError saying what is missing or wrong."""
        path = Path(path)
        if not path.exists():
            raise RunFolderError(f"run folder {path} does not exist")
        if not path.is_dir():
            raise RunFolderError(f"run folder {path} is a file, not a folder")
        if not is_run(path):
            raise RunFolderError(f"{_not_a_run(path)}; create one with `run_pretraining`")
        marker = read_json(path / MARKER)
        found = marker.get("format")
        if isinstance(found, bool) or not isinstance(found, int) or not isinstance(marker.get("run_id"), str):
            raise RunFolderError(f"{path / MARKER}: fields 'format' and 'run_id' are missing or malformed")
        if found > FORMAT:
            raise RunFolderError(
                f"{path / MARKER}: written by sdae {marker.get('sdae_version', '?')} (run format "
                f"{found}); this is sdae {__version__} (format {FORMAT}): upgrade sdae to read it"
            )
        if found < FORMAT:
            raise RunFolderError(
                f"{path / MARKER}: run format {found}, from an earlier sdae "
                f"{marker.get('sdae_version', '?')}; this sdae reads format {FORMAT}: train the run again"
            )
        meta = read_json(path / CONFIG)
        check_meta(meta, path / CONFIG)
        return cls(path, marker, meta, writes=writes)

    def locked(self, purpose: str) -> FolderLock:
        """The run's lock, to hold while writing into it (a context manager)."""
        if not self.writes:
            raise UsageError(f"{self.path} was opened to read only")
        if self._lock is None or self._lock.fd is None:
            self._lock = FolderLock(self.path, purpose)
        return self._lock

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()

    # ------------------------------------------------------------------------ configuration
    @property
    def sizes(self) -> list[int]:
        """Layer widths from the input to the top code."""
        return [self.facts.input_dim, *self.config.layers]

    def write_meta(self) -> None:
        if not self.writes:
            return
        self.meta.update(
            sdae_version=__version__,
            config=self.config.to_dict(),
            data_facts=self.facts.to_dict(),
            status=self.status.to_dict(),
        )
        if self.classes is not None:
            self.meta["classes"] = self.classes
        atomic_write_json(self.path / CONFIG, self.meta)

    # ------------------------------------------------------------------------------ weights
    def save_weights(self, model: StackedDenoisingAutoencoder, name: str = WEIGHTS) -> None:
        if not self.writes:
            return
        from safetensors.torch import save

        model.set_scaling(self.facts.offset, self.facts.scale)
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        atomic_write_bytes(
            self.path / name, save(tensors, metadata={"sdae_version": __version__, "run_id": self.marker["run_id"]})
        )

    @property
    def n_classes(self) -> int | None:
        """The classifier head's classes, for a run fine-tuned on the labels."""
        return self.classes if self.status.supervised else None

    @property
    def output(self) -> str:
        """The reconstruction's last layer, sigmoid or affine (runs from before the choice existed: sigmoid)."""
        return "sigmoid" if self.config.output == "auto" else str(self.config.output)

    def build_model(self, with_head: bool = True) -> StackedDenoisingAutoencoder:
        model = StackedDenoisingAutoencoder(
            self.sizes,
            tied=self.config.tied,
            n_classes=self.n_classes if with_head else None,
            activation=self.config.activation,
            output=self.output,
        )
        return model.set_scaling(self.facts.offset, self.facts.scale)

    def load_state_into(self, model: torch.nn.Module, state, source: Path) -> None:
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise RunFolderError(f"{source}: not a dictionary of tensors")
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            first = str(e).strip().splitlines()
            detail = "; ".join(line.strip() for line in first[1:3]) or first[0]
            raise RunFolderError(
                f"{source}: the weights do not match the configuration (layers {self.sizes}): {detail}"
            ) from None

    # ------------------------------------------------------------------------------ metrics
    def read_metrics(self) -> list[EpochRecord]:
        path = self.path / METRICS
        if not path.is_file():
            return []
        records = []
        for number, line in enumerate(read_text(path).splitlines(), start=1):
            if line.strip():
                try:
                    records.append(epoch_record(parse_json(line, f"{path}, line {number}")))
                except ValueError as e:
                    raise RunFolderError(f"{path}, line {number}: {e}") from None
        return records

    def write_metrics(self, records: list[EpochRecord]) -> None:
        if not self.writes:
            return
        atomic_write_text(self.path / METRICS, "".join(json.dumps(r.to_dict()) + "\n" for r in records))

    # --------------------------------------------------------------------------- checkpoint
    def save_checkpoint(self, state: TrainingState, records: list[EpochRecord]) -> None:
        if not self.writes:
            return
        atomic_torch_save(
            {**state.to_dict(), "metrics": json.dumps([r.to_dict() for r in records])}, self.path / CHECKPOINT
        )

    def load_checkpoint(self) -> tuple[TrainingState, list[EpochRecord]] | None:
        path = self.path / CHECKPOINT
        if not path.is_file():
            return None
        raw = safe_torch_load(path)
        try:
            state = checked_state(raw, len(self.config.layers))
            records = [epoch_record(r) for r in json_list(raw.get("metrics"))]
        except ValueError as e:
            raise RunFolderError(f"{path}: not a checkpoint of this run ({e})") from None
        self.load_state_into(self.build_model(with_head=state.stage == StageName.SUPERVISED), state.model, path)
        return state, records

    def remove_checkpoint(self) -> None:
        if not self.writes:
            return
        (self.path / CHECKPOINT).unlink(missing_ok=True)
