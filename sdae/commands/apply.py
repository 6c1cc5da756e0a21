"""A trained network on new data: `encode_input` (the codes of a layer) and `denoise_input` (cleaned images or
arrays).

The network is a run folder's or a shipped one's, and the inputs arrays or images, read and checked as
`sdae.commands.newdata` says; they are scaled as the network's training data was (`model.prepare`). Progress goes to
`on_progress(stage, done, total)` (stages "reading", "encoding", "denoising"); nothing here prints.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from sdae.commands.inspection import check_output
from sdae.commands.newdata import Inputs, Progress, check_inputs, image_folder, open_network, read_inputs
from sdae.corruption import parse_noise
from sdae.data import folders
from sdae.data.dataset import Scaling
from sdae.errors import DataError, UsageError
from sdae.files import atomic_write_bytes
from sdae.model import StackedDenoisingAutoencoder
from sdae.runfolder import RESERVED, is_run


def _batches(inputs: Inputs, size: int, stage: str, on_progress: Progress | None) -> Iterator[np.ndarray]:
    done = 0
    for chunk in inputs.chunks(size):
        yield chunk
        done += len(chunk)
        if on_progress is not None:
            on_progress(stage, done, len(inputs))


def _not_the_input(out: Path, path: Path) -> None:
    if out.resolve() == Path(path).resolve():
        raise UsageError(f"`out` {out} is the `input` file itself; choose another name")


def _write_npz(out: Path, arrays: dict) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(out, buffer.getvalue())


def encode_input(
    run: str | os.PathLike,
    input: str | os.PathLike,
    layer: int | None = None,
    out: str | os.PathLike | None = None,
    device: str | None = None,
    batch_size: int = 1024,
    overwrite: bool = False,
    on_progress: Progress | None = None,
) -> dict:
    """The codes of `layer` (default: the top) of the examples at `input` (see the module), scaled as the network's
    training data was. Returns, and writes to `out` (.npz; an existing file only with `overwrite=True`, never the
    input or a run folder's own file), `codes` (N, width) float32, and where there are some `labels` (int64; from
    the .npz file, or the class subfolders' order), `files` (images: names relative to the folder) and `classes`
    (the class subfolders' names, sorted: label k is classes[k])."""
    network = open_network(run, device)
    depth = network.model.depth
    layer = depth if layer is None else layer
    if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= depth:
        raise UsageError(f"`layer` must be between 1 and {depth} for this network, got {layer!r}")
    _check_batch_size(batch_size)
    if out is not None:
        out = check_output(out, overwrite)
        _not_the_input(out, Path(input))
    inputs = read_inputs(input, on_progress)
    check_inputs(inputs, network)
    model, codes = network.model, []
    with torch.no_grad():
        for chunk in _batches(inputs, batch_size, "encoding", on_progress):
            codes.append(model.encode(model.prepare(chunk), layer).float().cpu())
    result = {"codes": torch.cat(codes).numpy()}
    known = None if network.folder is None else network.folder.facts.classes
    if inputs.classes is not None and inputs.labels is not None and known:
        # class folders named as the run's: labels numbered as the run numbered them, not by this folder's order
        unknown = [name for name in inputs.classes if name not in known]
        if unknown:
            raise DataError(
                f"{input}: class folder {unknown[0]!r} is not one of the run's classes ({', '.join(known)})"
            )
        inputs.labels = np.array([known.index(name) for name in inputs.classes], dtype=np.int64)[inputs.labels]
        inputs.classes = tuple(known)
    if inputs.labels is not None:
        result["labels"] = inputs.labels
    if inputs.files is not None:
        result["files"] = np.array(inputs.files, dtype=str)
    if inputs.classes is not None:
        result["classes"] = np.array(inputs.classes, dtype=str)
    if out is not None:
        _write_npz(out, result)
    return result


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"`batch_size` must be a whole number >= 1, got {batch_size!r}")


def _image_targets(images: folders.ImageFolder, input: Path, out: Path, noisy: bool, overwrite: bool) -> list[Path]:
    """Where each image's cleaned copy goes (OUT/NAME.png; with noise also OUT/NAME.noisy.png, the corrupted input),
    each checked: never an input, never in the input folder or a run folder, an existing one only if `overwrite`."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"`out` {out} is a file; the cleaned images go into a folder")
    if out.suffix.lower() in (".npz", ".npy"):
        raise UsageError(f"`out` {out}: images in, images out: give a folder (an array `input` gives an .npz file)")
    if is_run(out) or (out.name in RESERVED and is_run(out.parent)):
        raise UsageError(f"`out` {out} is a run folder or one of its own folders; choose another folder")
    dest = out.resolve()
    if input.is_dir() and (dest == input.resolve() or input.resolve() in dest.parents):
        raise UsageError(
            f"`out` {out} is the `input` folder or inside it: the cleaned images would mix with the "
            "originals; choose a folder outside it"
        )
    names = [Path(f).with_suffix(".png") for f in images.files]
    if noisy:
        names = [p for name in names for p in (name, name.with_suffix(".noisy.png"))]
    seen: dict[Path, int] = {}
    for k, name in enumerate(names):
        if name in seen:
            raise UsageError(
                f"`input` {input}: {images.files[seen[name] // (2 if noisy else 1)]} and "
                f"{images.files[k // (2 if noisy else 1)]} would both be written as {name}; rename one"
            )
        seen[name] = k
    originals = {(images.root / f).resolve() for f in images.files}
    targets = [out / name for name in names]
    existing = []
    for target in targets:
        if target.resolve() in originals:
            raise UsageError(f"`out` {out}: writing {target} would overwrite an input image; choose another folder")
        if target.is_dir():
            raise UsageError(f"`out` {out}: {target} is a folder; move it away")
        if target.exists():
            existing.append(target)
    if existing and not overwrite:
        raise UsageError(
            f"`out` {out} already holds {len(existing)} of the files to write (e.g. {existing[0].name}); "
            "pass `overwrite=True` to replace them, or choose another folder"
        )
    return targets


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def denoise_input(
    run: str | os.PathLike,
    input: str | os.PathLike,
    out: str | os.PathLike,
    noise: str | list[str] | None = None,
    seed: int = 0,
    device: str | None = None,
    batch_size: int = 1024,
    overwrite: bool = False,
    on_progress: Progress | None = None,
) -> dict:
    """The network's reconstructions of the examples at `input` (see the module), corrupted first by `noise` (a
    spec as `parse_noise` reads it, drawn from `seed`) to show what the network removes.

    Images in, images out: 8-bit greyscale PNGs of the images' size, the same names (suffix .png) and subfolders,
    in the folder `out` (created if missing; never the input folder or inside it, nor a run folder); with `noise`
    the corrupted input beside each, NAME.noisy.png. Reconstructions are mapped back to the data's units
    (`model.to_raw`), rounded and clipped to 0..255. Arrays in, an array out: the .npz file `out` with `x`, the
    reconstructions in the data's own units and shape (float32), and with `noise` `corrupted`, the network's
    input. An existing file is replaced only with `overwrite=True`. A run fine-tuned on labels reconstructs with
    its pretrained weights (the decoder was not fine-tuned). Returns a summary: `count`, `kind` (images or array),
    `out`, `files` (those written), `weights`, `note`, `noise`, `seed`, `mse` (reconstruction against the clean
    input, in the network's [0, 1] units) and with noise `input_mse` (the corrupted input's)."""
    network = open_network(run, device)
    model, weights, note = network.reconstructing()
    corruption = None if noise is None else parse_noise(noise)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise UsageError(f"`seed` must be a whole number from 0 to 2^63-1, got {seed!r}")
    _check_batch_size(batch_size)
    path, out = Path(input), Path(out)
    images = image_folder(path)
    if images is not None:
        targets = _image_targets(images, path, out, corruption is not None, overwrite)
    else:
        if out.suffix != ".npz":
            raise UsageError(f"`out` {out}: an array in, an array out: give an .npz file name")
        out = check_output(out, overwrite)
        _not_the_input(out, path)
    inputs = read_inputs(path, on_progress, images)
    low, high, std = check_inputs(inputs, network)
    device_ = model.input_scale.device
    value_range = _value_range(model, network.scaling, low, high, std, device_)
    generator = torch.Generator(device=device_).manual_seed(seed)
    shape, n = inputs.example_shape, len(inputs)
    cleaned, corrupted, errors, input_errors, done = [], [], 0.0, 0.0, 0
    with torch.no_grad():
        for chunk in _batches(inputs, batch_size, "denoising", on_progress):
            clean = model.prepare(chunk)
            seen = clean if corruption is None else corruption(clean, generator, value_range)
            recon = model(seen)
            errors += float(((recon.float() - clean) ** 2).sum())
            input_errors += float(((seen.float() - clean) ** 2).sum())
            raw = [model.to_raw(recon).cpu().numpy()] + ([model.to_raw(seen).cpu().numpy()] if corruption else [])
            if images is None:
                cleaned.append(raw[0])
                corrupted += raw[1:]
                continue
            for k in range(len(chunk)):
                for j, values in enumerate(raw):
                    pixels = np.clip(np.rint(values[k]), 0, 255).astype(np.uint8).reshape(shape)
                    target = targets[(done + k) * len(raw) + j]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write_bytes(target, _png(pixels))
            done += len(chunk)
    if images is None:
        arrays = {"x": np.concatenate(cleaned).reshape(n, *shape)}
        if corruption is not None:
            arrays["corrupted"] = np.concatenate(corrupted).reshape(n, *shape)
        _write_npz(out, arrays)
        written = [str(out)]
    else:
        written = [str(t) for t in targets]
    elements = n * network.model.sizes[0]
    result = {
        "count": n,
        "kind": "array" if images is None else "images",
        "out": str(out),
        "files": written,
        "weights": weights,
        "note": note,
        "noise": None if corruption is None else corruption.spec,
        "seed": seed,
        "mse": errors / elements,
    }
    if corruption is not None:
        result["input_mse"] = input_errors / elements
    return result


def _value_range(model: StackedDenoisingAutoencoder, scaling: Scaling, low, high, std, device):
    """What the noise is relative to, as in training (`sdae.stages.input_range`): [0, 1] behind a Sigmoid output;
    with an affine output each input's own minimum, maximum and standard deviation, here over these inputs."""
    if model.output == "sigmoid":
        return (0.0, 1.0)
    low01 = scaling.apply(torch.from_numpy(np.asarray(low, dtype=np.float64)))
    high01 = scaling.apply(torch.from_numpy(np.asarray(high, dtype=np.float64)))
    std01 = torch.from_numpy(std).float() * torch.as_tensor(scaling.scale, dtype=torch.float32).abs()
    return low01.to(device), high01.to(device), std01.to(device)
