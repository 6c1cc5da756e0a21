"""The run folder: what `sdae pretrain` creates and every later command reads.

    RUN/config.json     the resolved configuration, the data's scaling, stage status, sdae version
    RUN/pretrained.pt   the weights after greedy pretraining (a state_dict of tensors only)
    RUN/model.pt        the latest weights (after fine-tuning, once it has run)
    RUN/metrics.jsonl   one JSON object per epoch: stage, pair, epoch, train/validation loss, seconds
    RUN/checkpoint.pt   the state of an unfinished stage (weights, optimizer, generator, metrics)

Every file is written atomically; weights and checkpoints are loaded with `weights_only=True`.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from sdae import __version__
from sdae.errors import RunFolderError, UsageError
from sdae.files import atomic_torch_save, atomic_write_json, atomic_write_text, read_json, safe_torch_load
from sdae.model import StackedDenoisingAutoencoder
from sdae.train import TrainingState, TrainOptions

FORMAT = 1
CONFIG, PRETRAINED, WEIGHTS, METRICS, CHECKPOINT = "config.json", "pretrained.pt", "model.pt", "metrics.jsonl", "checkpoint.pt"
# Everything sdae may write into a run folder; --overwrite removes these and nothing else.
WRITTEN = (CONFIG, PRETRAINED, WEIGHTS, METRICS, CHECKPOINT, "evaluation.json", "svm.json", "figures")


@dataclass
class DataOptions:
    dataset: str = "mnist"
    data_dir: str | None = None
    limit: int | None = None
    val_fraction: float = 0.1

    def validate(self) -> DataOptions:
        if not 0.0 <= self.val_fraction < 1.0:
            raise UsageError(f"--val-fraction must be in [0, 1), got {self.val_fraction}")
        return self


@dataclass
class RunConfig:
    """Everything `sdae pretrain` was asked to do; `finetune` is filled in by `sdae finetune`."""

    data: DataOptions = field(default_factory=DataOptions)
    hidden: list[int] = field(default_factory=lambda: [256, 128, 64])
    tied: bool = False
    noise: list[str] = field(default_factory=lambda: ["gaussian:0.5", "speckle:0.5"])
    seed: int = 0
    device: str = "auto"
    save_every: int = 1
    pretrain: TrainOptions = field(default_factory=TrainOptions)
    finetune: TrainOptions | None = None
    supervised: bool = False  # fine-tuning on the labels (a softmax layer on the top code) instead of denoising
    patience: int | None = None  # supervised: stop after this many epochs without a better validation error

    def validate(self) -> RunConfig:
        if not self.hidden or any(not isinstance(h, int) or h < 1 for h in self.hidden):
            raise UsageError(f"--layers must be positive whole numbers, e.g. 256,128,64; got {self.hidden}")
        if self.patience is not None and (not isinstance(self.patience, int) or self.patience < 1):
            raise UsageError(f"--patience must be a whole number >= 1, got {self.patience}")
        if not isinstance(self.save_every, int) or self.save_every < 1:
            raise UsageError(f"--save-every must be a whole number >= 1, got {self.save_every}")
        self.data.validate()
        self.pretrain.validate()
        if self.finetune is not None:
            self.finetune.validate()
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        try:
            return cls(
                data=DataOptions(**d["data"]),
                hidden=list(d["hidden"]),
                tied=bool(d["tied"]),
                noise=list(d["noise"]),
                seed=int(d["seed"]),
                device=str(d["device"]),
                save_every=int(d["save_every"]),
                pretrain=TrainOptions(**d["pretrain"]),
                finetune=None if d.get("finetune") is None else TrainOptions(**d["finetune"]),
                supervised=bool(d.get("supervised", False)),
                patience=d.get("patience"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise RunFolderError(f"configuration is incomplete or malformed ({type(e).__name__}: {e})") from None


class RunFolder:
    """A run folder on disk. `create` makes a new one, `open` checks and reads an existing one."""

    def __init__(self, path: str | os.PathLike, meta: dict):
        self.path = Path(path)
        self.meta = meta  # the whole config.json: "config" plus data facts, status and versions

    # ------------------------------------------------------------------ creating and opening
    @classmethod
    def create(cls, path: str | os.PathLike, config: RunConfig, data_facts: dict, overwrite: bool = False) -> RunFolder:
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out {path} exists and is not a folder")
        if path.is_dir() and any(path.iterdir()):
            if not (path / CONFIG).is_file():
                raise UsageError(f"--out {path} exists, is not empty and is not an sdae run folder; choose another folder")
            if not overwrite:
                raise UsageError(f"--out {path} already holds a run; pass --overwrite to replace it, or choose another folder")
            for name in WRITTEN:
                target = path / name
                if target.is_dir():
                    shutil.rmtree(target)
                else:
                    target.unlink(missing_ok=True)
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT,
            "sdae_version": __version__,
            "torch_version": torch.__version__,
            "config": config.to_dict(),
            "data_facts": data_facts,
            "status": {"pretrain": "running", "finetune": None},
        }
        folder = cls(path, meta)
        folder.write_meta()
        return folder

    @classmethod
    def open(cls, path: str | os.PathLike) -> RunFolder:
        path = Path(path)
        if not path.is_dir():
            raise RunFolderError(f"run folder {path} does not exist")
        if not (path / CONFIG).is_file():
            raise RunFolderError(f"{path} is not an sdae run folder (no {CONFIG}); create one with sdae pretrain --out {path}")
        meta = read_json(path / CONFIG)
        found = meta.get("format")
        if not isinstance(found, int):
            raise RunFolderError(f"{path / CONFIG}: no format number; not written by sdae")
        if found > FORMAT:
            raise RunFolderError(
                f"{path / CONFIG}: written by sdae {meta.get('sdae_version', '?')} (run format {found}); "
                f"this is sdae {__version__} (format {FORMAT}): upgrade sdae to read it"
            )
        for key in ("config", "data_facts", "status"):
            if not isinstance(meta.get(key), dict):
                raise RunFolderError(f"{path / CONFIG}: the {key!r} section is missing or malformed")
        folder = cls(path, meta)
        folder.config  # parse now, so a malformed configuration fails here
        return folder

    # ------------------------------------------------------------------------ configuration
    @property
    def config(self) -> RunConfig:
        try:
            return RunConfig.from_dict(self.meta["config"])
        except RunFolderError as e:
            raise RunFolderError(f"{self.path / CONFIG}: {e}") from None

    @config.setter
    def config(self, value: RunConfig) -> None:
        self.meta["config"] = value.to_dict()

    @property
    def data_facts(self) -> dict:
        return self.meta["data_facts"]

    @property
    def status(self) -> dict:
        return self.meta["status"]

    @property
    def sizes(self) -> list[int]:
        return [int(self.data_facts["input_dim"]), *self.config.hidden]

    def write_meta(self) -> None:
        self.meta["sdae_version"] = __version__
        atomic_write_json(self.path / CONFIG, self.meta)

    # ------------------------------------------------------------------------------ weights
    def save_weights(self, model: StackedDenoisingAutoencoder, name: str = WEIGHTS) -> None:
        atomic_torch_save({k: v.detach().cpu() for k, v in model.state_dict().items()}, self.path / name)

    @property
    def n_classes(self) -> int | None:
        """The classifier head's classes, for a run fine-tuned with --supervised."""
        return self.meta.get("classes") if self.status.get("finetune_kind") == "supervised" else None

    def build_model(self, with_head: bool = True) -> StackedDenoisingAutoencoder:
        return StackedDenoisingAutoencoder(self.sizes, tied=self.config.tied, n_classes=self.n_classes if with_head else None)

    def load_state_into(self, model: torch.nn.Module, state: dict, source: Path) -> None:
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise RunFolderError(f"{source}: not a dictionary of tensors")
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            first = str(e).strip().splitlines()
            detail = "; ".join(line.strip() for line in first[1:3]) or first[0]
            raise RunFolderError(f"{source}: the weights do not match the configuration (layers {self.sizes}): {detail}") from None

    def load_model(self, which: str = WEIGHTS) -> StackedDenoisingAutoencoder:
        path = self.path / which
        if which == WEIGHTS and not path.is_file() and self.status.get("pretrain") != "complete":
            raise RunFolderError(f"{self.path}: pretraining has not finished, there are no weights yet; resume it with sdae pretrain --out {self.path} --resume")
        model = self.build_model(with_head=which == WEIGHTS)
        self.load_state_into(model, safe_torch_load(path), path)
        model.eval()
        return model

    # ------------------------------------------------------------------------------ metrics
    def read_metrics(self) -> list[dict]:
        path = self.path / METRICS
        if not path.is_file():
            return []
        records = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    raise RunFolderError(f"{path}, line {number}: not valid JSON") from None
        return records

    def write_metrics(self, records: list[dict]) -> None:
        atomic_write_text(self.path / METRICS, "".join(json.dumps(r) + "\n" for r in records))

    # --------------------------------------------------------------------------- checkpoint
    def save_checkpoint(self, state: TrainingState, records: list[dict]) -> None:
        atomic_torch_save({**state.to_dict(), "metrics": json.dumps(records)}, self.path / CHECKPOINT)

    def load_checkpoint(self) -> tuple[TrainingState, list[dict]] | None:
        path = self.path / CHECKPOINT
        if not path.is_file():
            return None
        raw = safe_torch_load(path)
        try:
            state = TrainingState(raw["stage"], raw["pair"], int(raw["epoch"]), raw["model"], raw["optimizer"], raw["generator"],
                                  raw.get("extra", {}))
            records = json.loads(raw["metrics"])
        except (KeyError, TypeError, ValueError) as e:
            raise RunFolderError(f"{path}: not an sdae checkpoint ({type(e).__name__}: {e})") from None
        self.load_state_into(self.build_model(), state.model, path)  # checks it fits this run's layers
        return state, records

    def remove_checkpoint(self) -> None:
        (self.path / CHECKPOINT).unlink(missing_ok=True)


def load(path: str | os.PathLike, which: str = WEIGHTS) -> StackedDenoisingAutoencoder:
    """The trained network of a run folder, on the CPU, in eval mode.

    `which` is `model.pt` (the latest weights) or `pretrained.pt` (before fine-tuning).
    """
    return RunFolder.open(path).load_model(which)
