"""A trained network for use outside sdae: plain torch modules, ONNX and TorchScript files.

Every exported network takes raw inputs as the run stored them (bytes 0..255, digits 0..16, your own
units) as float32, shape (batch, features): the input scaling of `model.prepare(raw)` is its first
module (`Scaler`, with the offset and scale as buffers, one for every feature or one per feature).

- `encoder_network(model, layer)`: the encoder up to `layer` as a plain `nn.Sequential`, deep-copied,
  to drop into a model of your own and train further without touching `model`.
- `denoiser_network(model)`: scaling, encoder, decoder: the reconstruction in the network's units
  ([0, 1] behind a sigmoid output), or with `raw_output=True` in the data's own units (`model.to_raw`).
- `export_run(run, format, part, out)`: either of them, from a run folder, written to one file:
  "onnx" (input "raw", output "codes" or "reconstruction", a dynamic batch dimension; torch's
  TorchScript-based exporter, `dynamo=False`, which needs the onnx package but not onnxscript) or
  "torchscript" (`torch.jit.script`; load with `torch.jit.load`).
"""

from __future__ import annotations

import copy
import inspect
import io
import os
import warnings
from collections import OrderedDict
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from sdae.commands.inspection import check_output
from sdae.errors import SDAEWarning, UsageError
from sdae.files import atomic_write_bytes
from sdae.layers import TiedLinear
from sdae.loading import load_model
from sdae.model import StackedDenoisingAutoencoder
from sdae.runfolder import PRETRAINED, RunFolder

FORMATS = ("onnx", "torchscript")
PARTS = ("encoder", "denoiser")
INPUT = "raw"  # the exported graphs' input, and their outputs by part
OUTPUTS = MappingProxyType({"encoder": "codes", "denoiser": "reconstruction"})
OPSET = 17  # ONNX opset: read by onnxruntime 1.14 and later, written by every torch sdae supports
EXAMPLE_BATCH = 2  # the batch traced for ONNX; the batch dimension stays dynamic


class Scaler(nn.Module):
    """Raw inputs to the network's units: x01 = (x - offset) * scale, in the buffers' dtype (float32), as
    `model.prepare` does. `offset` and `scale` are scalars or per-feature vectors."""

    if TYPE_CHECKING:  # the buffers, which nn.Module's __getattr__ types as `Tensor | Module`; for type checkers
        offset: torch.Tensor  # only: TorchScript (`torch.jit.script`) would read class annotations
        scale: torch.Tensor

    def __init__(self, offset: torch.Tensor, scale: torch.Tensor):
        super().__init__()
        self.register_buffer("offset", offset.detach().clone())
        self.register_buffer("scale", scale.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.to(self.scale.dtype) - self.offset) * self.scale

    @torch.jit.unused
    def extra_repr(self) -> str:
        if self.offset.dim() or self.scale.dim():
            return f"per feature ({max(self.offset.numel(), self.scale.numel())})"
        return f"offset={float(self.offset):g}, scale={float(self.scale):g}"


class Unscaler(Scaler):
    """The network's units back in the data's own: x = x01 / scale + offset (`model.to_raw`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.scale.dtype) / self.scale + self.offset


def _unit(linear: nn.Module, activation: nn.Module) -> nn.Sequential:
    """A Linear map and its activation as a plain Sequential of copies (a tied decoder weight copied out)."""
    if isinstance(linear, TiedLinear):
        weight = linear.weight.detach()
        plain = nn.Linear(linear.in_features, linear.out_features, device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            plain.weight.copy_(weight)
            plain.bias.copy_(linear.bias)
        linear = plain
    else:
        linear = copy.deepcopy(linear)
    return nn.Sequential(OrderedDict(linear=linear, activation=copy.deepcopy(activation)))


def _checked_layer(layer, depth: int) -> int:
    if layer is None:
        return depth
    if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= depth:
        raise UsageError(f"`layer` must be between 1 and {depth} for this network, got {layer!r}")
    return layer


def encoder_network(
    model: StackedDenoisingAutoencoder, layer: int | None = None, raw_input: bool = True
) -> nn.Sequential:
    """The encoder up to `layer` (1..depth; default: the top) as a plain `nn.Sequential` of copies.

    With `raw_input` (default) its first module, "scaling", is a `Scaler`: it takes raw inputs as the run
    stored them, and `net(raw)` equals `model.encode(model.prepare(raw), layer)`; without, it takes prepared
    inputs. Then "encoder1", "encoder2", ...: each a Sequential of `linear` and `activation`. Its parameters
    are copies on the model's device: training it (inside a model of your own) leaves `model` as it was.
    """
    layer = _checked_layer(layer, model.depth)
    modules: OrderedDict[str, nn.Module] = (
        OrderedDict(scaling=Scaler(model.input_offset, model.input_scale)) if raw_input else OrderedDict()
    )
    for k in range(1, layer + 1):
        unit = model.encoder_layer(k)
        modules[f"encoder{k}"] = _unit(unit.linear, unit.activation)
    return nn.Sequential(modules).train(model.training)


def denoiser_network(model: StackedDenoisingAutoencoder, raw_output: bool = False) -> nn.Sequential:
    """Scaling, encoder and decoder as a plain `nn.Sequential` of copies (a tied decoder weight becomes a plain
    copy): raw inputs in, `model(model.prepare(raw))` out, in the network's units ([0, 1] behind a sigmoid
    output); with `raw_output=True` a last module, "unscaling", gives it in the data's own units
    (`model.to_raw`). Warns (SDAEWarning) where the model's decoder was not trained with its encoder."""
    if model.decoder_note is not None:
        warnings.warn(SDAEWarning(model.decoder_note), stacklevel=2)
    network = encoder_network(model)
    for k in range(model.depth, 0, -1):
        unit = model.decoder_layer(k)
        network.add_module(f"decoder{k}", _unit(unit.linear, unit.activation))
    if raw_output:
        network.add_module("unscaling", Unscaler(model.input_offset, model.input_scale))
    return network


def _onnx_bytes(network: nn.Module, features: int, output: str) -> bytes:
    try:
        import onnx  # noqa: F401 (torch's exporter writes with it)
    except ImportError:
        raise UsageError("`format`='onnx' needs the onnx package: pip install onnx (or sdae[export])") from None
    example = torch.zeros(EXAMPLE_BATCH, features)
    legacy: dict[str, Any] = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    buffer = io.BytesIO()
    # `f`: torch's annotation leaves out the binary files its TorchScript-based exporter (dynamo=False) writes to
    torch.onnx.export(
        network,
        (example,),
        buffer,  # type: ignore[arg-type]
        input_names=[INPUT],
        output_names=[output],
        dynamic_axes={INPUT: {0: "batch"}, output: {0: "batch"}},
        opset_version=OPSET,
        do_constant_folding=True,
        **legacy,
    )
    return buffer.getvalue()


def _torchscript_bytes(network: nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(network), buffer)
    return buffer.getvalue()


def export_run(
    run: str | os.PathLike,
    format: str,
    part: str,
    out: str | os.PathLike,
    layer: int | None = None,
    overwrite: bool = False,
    raw_output: bool = False,
) -> Path:
    """Write a run's encoder or denoiser to `out` as an ONNX or TorchScript file (atomically); returns the path.

    `format`: "onnx" or "torchscript". `part`: "encoder" (the codes after `layer`, default the top; output
    "codes") or "denoiser" (the reconstruction, output "reconstruction": in the network's units, or with
    `raw_output=True` in the data's own units). Both take raw inputs as the run stored them, as float32 (input
    "raw", shape (batch, features), any batch size). The latest weights are exported; after supervised
    fine-tuning (which trained the encoder and the head, not the decoder) the denoiser is exported with the
    pretrained weights, saying so (SDAEWarning), and the encoder with the fine-tuned ones, without the head.
    `out` is never one of a run folder's own files, and an existing file is replaced only with `overwrite=True`.
    """
    if format not in FORMATS:
        raise UsageError(f"`format` must be onnx or torchscript, got {format!r}")
    if part not in PARTS:
        raise UsageError(f"`part` must be encoder or denoiser, got {part!r}")
    from sdae import shipped  # the network shipped with sdae stands in for a run folder, by its name

    name = str(run)
    folder = None if _is_shipped(name) else RunFolder.open(run)
    depth = shipped.pretrained(name).depth if folder is None else len(folder.config.layers)
    if part == "encoder":
        if raw_output:
            raise UsageError("`raw_output` applies to the denoiser's reconstruction, not to the encoder's codes")
        _checked_layer(layer, depth)
    elif layer is not None:
        raise UsageError("`layer` applies to the encoder; the denoiser goes through every layer")
    out = check_output(out, overwrite)
    which = "latest"
    if folder is not None and part == "denoiser" and folder.status.supervised:
        which = "pretrained"
        warnings.warn(
            SDAEWarning(
                f"{folder.path}: fine-tuned on the labels, which trained the encoder and the head "
                "but not the decoder; the denoiser is exported with the pretrained weights "
                f"({PRETRAINED})"
            ),
            stacklevel=2,
        )
    model = shipped.pretrained(name) if folder is None else load_model(folder, which)
    if part == "encoder":
        network = encoder_network(model, layer)
    else:
        network = denoiser_network(model, raw_output)
    network.eval().requires_grad_(False)
    with warnings.catch_warnings():  # torch's notices that these exporters are deprecated in favour of torch.export
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        if format == "onnx":
            data = _onnx_bytes(network, model.sizes[0], OUTPUTS[part])
        else:
            data = _torchscript_bytes(network)
    atomic_write_bytes(out, data)
    return out


def _is_shipped(name: str) -> bool:
    from sdae import shipped

    return not os.path.exists(name) and name in shipped.NAMES


def network_sizes(run: str | os.PathLike) -> list[int]:
    """Layer widths of a run's network, or of a shipped network named in its place."""
    from sdae import shipped

    return shipped.pretrained(str(run)).sizes if _is_shipped(str(run)) else RunFolder.open(run).sizes
