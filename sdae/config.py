"""What a run was asked to do: the options of `sdae pretrain` and `sdae finetune`, as dataclasses.

`RunConfig.validate()` is the one place these options are checked; `RunConfig.from_dict` reads a
saved configuration back and checks every field's type and value, so a damaged `config.json` is
refused with the field named rather than failing later.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from sdae.corruption import parse_noise
from sdae.errors import UsageError
from sdae.model import ACTIVATIONS, hidden_sizes
from sdae.stages import Criterion
from sdae.train import TrainOptions

MAX_SEED = 2**63 - 1
LOGS = ("tensorboard",)


@dataclass
class DataOptions:
    dataset: str = "mnist"
    data_dir: str | None = None
    limit: int | None = None
    val_fraction: float = 0.1  # ignored by datasets with a published validation split (the 2007 benchmarks)
    scale: float = 1.0  # the 2007 benchmarks: fraction of the published split sizes

    def validate(self) -> DataOptions:
        if not isinstance(self.dataset, str) or not self.dataset:
            raise UsageError(f"`dataset` must be a name or a path, got {self.dataset!r}")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise UsageError(f"`data_dir` must be a path, got {self.data_dir!r}")
        if self.limit is not None and (isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1):
            raise UsageError(f"`limit` must be a positive number of examples, got {self.limit!r}")
        fraction = self.val_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 <= fraction < 1.0:
            raise UsageError(f"`val_fraction` must be in [0, 1), got {fraction!r}")
        scale = self.scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 1:
            raise UsageError(f"`scale` must be a fraction of the published sizes in (0, 1], got {scale!r}")
        return self

    def with_data_dir(self, data_dir: str | None) -> DataOptions:
        """These options with `data_dir` (if given) made absolute, so that a run works from any folder."""
        if data_dir is None:
            return self
        return replace(self, data_dir=str(Path(data_dir).expanduser().resolve()))


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
    activation: str = "relu"  # the hidden units: relu, or the paper's sigmoid
    emphasis: list[float] | None = None  # [alpha, beta]: emphasized denoising (see sdae.stages.Criterion)
    fixed_noise: bool = False  # corrupt each training example once, before training
    log: list[str] = field(default_factory=list)  # where else epochs are logged: "tensorboard"

    def validate(self) -> RunConfig:
        self.hidden = hidden_sizes(self.hidden)
        if self.activation not in ACTIVATIONS:
            raise UsageError(f"`activation` must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if self.emphasis is not None and not (
                isinstance(self.emphasis, (list, tuple)) and len(self.emphasis) == 2
                and all(isinstance(w, (int, float)) and not isinstance(w, bool) and 0 <= w < float("inf")
                        for w in self.emphasis) and any(self.emphasis)):
            raise UsageError(f"`emphasis` must be two weights alpha,beta >= 0, not both 0, got {self.emphasis!r}")
        if self.emphasis is not None:
            self.emphasis = [float(w) for w in self.emphasis]
        for name in ("tied", "supervised", "fixed_noise"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"`{name}` must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.noise, list) or not all(isinstance(n, str) for n in self.noise):
            raise UsageError(f"`noise` must be a list of noise specs, got {self.noise!r}")
        parse_noise(self.noise)
        if not isinstance(self.log, list) or any(name not in LOGS for name in self.log):
            raise UsageError(f"`log` must name some of {', '.join(LOGS)}, got {self.log!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise UsageError(f"`seed` must be a whole number from 0 to 2**63 - 1, got {self.seed!r}")
        if not isinstance(self.device, str):
            raise UsageError(f"`device` must be auto, cpu or cuda, got {self.device!r}")
        if isinstance(self.save_every, bool) or not isinstance(self.save_every, int) or self.save_every < 1:
            raise UsageError(f"`save_every` must be a whole number >= 1, got {self.save_every!r}")
        if self.patience is not None and (isinstance(self.patience, bool) or not isinstance(self.patience, int)
                                          or self.patience < 1):
            raise UsageError(f"`patience` must be a whole number >= 1, got {self.patience!r}")
        self.data.validate()
        self.pretrain.validate()
        if self.finetune is not None:
            self.finetune.validate()
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def criterion(self) -> Criterion:
        """The denoising criterion's options, for `sdae.stages`."""
        return Criterion(None if self.emphasis is None else tuple(self.emphasis), self.fixed_noise)

    @classmethod
    def from_dict(cls, d) -> RunConfig:
        """A saved configuration, every field checked; raises ValueError naming the field that is wrong."""
        if not isinstance(d, dict):
            raise ValueError("the configuration is not a JSON object")
        optional = ("finetune", "supervised", "patience", "activation", "emphasis", "fixed_noise", "log")
        missing = [f.name for f in fields(cls) if f.name not in d and f.name not in optional]
        if missing:
            raise ValueError(f"field {missing[0]!r} is missing")
        try:
            config = cls(
                data=_section(d, "data", DataOptions),
                hidden=d["hidden"],
                tied=d["tied"],
                noise=d["noise"],
                seed=d["seed"],
                device=d["device"],
                save_every=d["save_every"],
                pretrain=_section(d, "pretrain", TrainOptions),
                finetune=None if d.get("finetune") is None else _section(d, "finetune", TrainOptions),
                supervised=d.get("supervised", False),
                patience=d.get("patience"),
                activation=d.get("activation", "relu"),
                emphasis=d.get("emphasis"),
                fixed_noise=d.get("fixed_noise", False),
                log=d.get("log", []),
            )
            return config.validate()
        except UsageError as e:
            raise ValueError(str(e)) from None


def merged(base: dict, changes: dict, where: str = "") -> dict:
    """`base` with `changes` laid over it, section by section; an unknown name is an error naming it."""
    out = dict(base)
    for key, value in changes.items():
        if key not in base:
            raise UsageError(f"unknown setting {where}{key!r}; known: {', '.join(base)}")
        if isinstance(base[key], dict) and isinstance(value, dict):
            out[key] = merged(base[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


def config_from_file(path: str | os.PathLike) -> RunConfig:
    """A RunConfig from a run's config.json, a JSON object of settings, or a TOML file of them.

    Settings left out keep their defaults; e.g. TOML: `hidden = [512, 256]`, `noise = ["masking:0.25"]`,
    `[pretrain]` `epochs = 20`.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"`config` {path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    try:
        if path.suffix == ".toml":
            import tomllib

            settings = tomllib.loads(text)
        else:
            settings = json.loads(text)
            if isinstance(settings, dict) and isinstance(settings.get("config"), dict):
                settings = settings["config"]  # a run folder's config.json
    except (ValueError, RecursionError) as e:
        raise UsageError(f"`config` {path}: not valid {'TOML' if path.suffix == '.toml' else 'JSON'} ({e})") from None
    if not isinstance(settings, dict):
        raise UsageError(f"`config` {path}: expected an object of settings")
    base = RunConfig().to_dict()
    if settings.get("finetune") is not None:
        base["finetune"] = TrainOptions(epochs=120).to_dict()
    try:
        return RunConfig.from_dict(merged(base, settings))
    except (ValueError, UsageError) as e:
        raise UsageError(f"`config` {path}: {e}") from None


def _section(d: dict, name: str, kind: type):
    value = d[name]
    if not isinstance(value, dict):
        raise ValueError(f"field {name!r} must be an object, got {type(value).__name__}")
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ValueError(f"field {name!r} has an unknown entry {unknown[0]!r}")
    return kind(**value)

