"""Networks trained by sdae and shipped with it: `sdae.pretrained("mnist")` (this module's `pretrained`).

Each is two files in `sdae/weights/`: `NAME.safetensors` (the weights, input scaling included: tensors
only, no code) and `NAME.json`, its model card (the network, the data, the commands that trained it,
its test figures, the date, the machine), written by `package` from the run folder that trained it.
`NAME.md` beside them is the same card for people.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import torch

from sdae.errors import RunFolderError, UsageError
from sdae.files import atomic_write_bytes, atomic_write_json, atomic_write_text, load_safetensors
from sdae.model import StackedDenoisingAutoencoder
from sdae.runfolder import EVALUATION, WEIGHTS, RunFolder
from sdae.version import __version__

FOLDER = Path(__file__).resolve().parent / "weights"
NAMES = ("mnist",)


def _check(name: str) -> str:
    if name not in NAMES:
        raise UsageError(f"no pretrained network {name!r}; sdae ships {', '.join(NAMES)}")
    return name


def card(name: str = "mnist") -> dict:
    """The model card of a shipped network: what it is, what it was trained on, how, and its test figures."""
    path = FOLDER / f"{_check(name)}.json"
    if not path.is_file():
        raise RunFolderError(f"{path} is missing: this installation of sdae lacks its pretrained weights")
    return json.loads(path.read_text(encoding="utf-8"))


def pretrained(name: str = "mnist") -> StackedDenoisingAutoencoder:
    """A shipped network, on the CPU, in eval mode: `pretrained("mnist")` is the README's main job (784-256-128-64,
    greedy denoising pretraining then 120 epochs of fine-tuning on MNIST). `model.prepare(raw)` scales raw
    inputs (bytes 0..255 for MNIST) as in training. Raises UsageError for an unknown name, RunFolderError when
    the files are missing or do not match their card."""
    info = card(name)
    network = info["network"]
    model = StackedDenoisingAutoencoder(
        network["sizes"], tied=network["tied"], activation=network["activation"], output=network["output"]
    )
    model.set_scaling(network["scaling"]["offset"], network["scaling"]["scale"])
    path = FOLDER / f"{name}.safetensors"
    try:
        model.load_state_dict(load_safetensors(path))
    except RuntimeError as e:
        raise RunFolderError(f"{path}: the weights do not match their card ({str(e).splitlines()[0]})") from None
    return model.eval()


def package(run: str | os.PathLike, out: str | os.PathLike, name: str, commands: list[str]) -> list[Path]:
    """Write `name`.safetensors, `name`.json and `name`.md into `out` from a fine-tuned, evaluated run folder.

    `commands` are the command lines that trained and evaluated it, recorded on the card as given.
    Raises RunFolderError for a run that is not fine-tuned or not evaluated (`sdae evaluate`).
    """
    folder = RunFolder.open(run, writes=False)
    if folder.status.finetune != "complete" or not (folder.path / EVALUATION).is_file():
        raise RunFolderError(f"{folder.path}: package a run that is fine-tuned and evaluated (sdae evaluate RUN)")
    if folder.status.supervised:
        raise RunFolderError(f"{folder.path}: fine-tuned on labels; package a denoising run (its decoder is trained)")
    evaluation = json.loads((folder.path / EVALUATION).read_text(encoding="utf-8"))
    records = folder.read_metrics()
    config, facts = folder.config, folder.facts
    info = {
        "name": name,
        "network": {
            "sizes": folder.sizes,
            "tied": config.tied,
            "activation": str(config.activation),
            "output": folder.output,
            "scaling": {"offset": facts.offset, "scale": facts.scale, "rule": facts.rule},
        },
        "data": {
            "dataset": Path(config.data.dataset).name if not config.data.builtin else config.data.dataset,
            "training_examples": facts.n_train,
            "validation_examples": facts.n_val,
            "image_shape": None if facts.image_shape is None else list(facts.image_shape),
            "fingerprint": facts.fingerprint,
        },
        "training": {
            "noise": config.noise,
            "finetune_kind": folder.status.finetune_kind,
            "pretrain": config.pretrain.to_dict(),
            "finetune": None if config.finetune is None else config.finetune.to_dict(),
            "seed": config.seed,
            "seconds": round(sum(r.seconds for r in records), 1),
        },
        "commands": list(commands),
        "test": {"reconstruction": evaluation["reconstruction"], "test_examples": evaluation["test_size"]},
        "trained": folder.marker.get("created"),
        "packaged": time.strftime("%Y-%m-%d"),
        "machine": {
            "device": _device_name(config.device),
            "torch": folder.meta.get("torch_version"),
            "sdae": folder.meta.get("sdae_version"),
            "python": platform.python_version(),
        },
        "sdae_version": __version__,
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / f"{name}.safetensors", (folder.path / WEIGHTS).read_bytes())
    atomic_write_json(out / f"{name}.json", info)
    atomic_write_text(out / f"{name}.md", card_text(info))
    return [out / f"{name}.{suffix}" for suffix in ("safetensors", "json", "md")]


def _device_name(device: str) -> str:
    if torch.cuda.is_available() and device != "cpu":
        return torch.cuda.get_device_name()
    return f"CPU ({platform.machine()})"


def card_text(info: dict) -> str:
    """The card for people, in Markdown."""
    rec = info["test"]["reconstruction"]
    rows = "\n".join(f"| {k} | {v['mse']:.5f} | {v['input_mse']:.5f} |" for k, v in rec.items() if isinstance(v, dict))
    net, data, training = info["network"], info["data"], info["training"]
    return f"""# sdae pretrained network: {info["name"]}

A stacked denoising autoencoder {"-".join(map(str, net["sizes"]))} ({net["activation"]} units, {net["output"]}
output{", tied weights" if net["tied"] else ""}), trained by sdae {info["machine"]["sdae"]} (torch
{info["machine"]["torch"]}) on {info["machine"]["device"]}, created {info["trained"]}.

- Data: {data["dataset"]}, {data["training_examples"]} training and {data["validation_examples"]} validation
  examples (fingerprint {data["fingerprint"]}); inputs scaled by the rule "{net["scaling"]["rule"]}".
- Noise: {", ".join(training["noise"])}; seed {training["seed"]}; {training["seconds"]} s of training.
- Load it: `sdae.pretrained("{info["name"]}")`; scale raw inputs with `model.prepare(raw)`.

Commands:

```bash
{chr(10).join(info["commands"])}
```

Test reconstruction error ({info["test"]["test_examples"]} test examples; mean image: {rec["mean_image_mse"]:.5f}):

| input | MSE | input's own MSE |
| --- | --- | --- |
{rows}
"""
