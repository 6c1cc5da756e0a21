"""A trained network's inputs as the user has them: NumPy arrays or tensors, batches, images or one example.

The network's entry points (`prepare`, `encode`, `model(x)`, `pre_activation`, `classify`) take what
training took, for an input size D:

- (examples, D): as it is;
- (examples, height, width) images with height x width = D: flattened to (examples, D);
- one example, (D,) or (height, width): a batch of one, (1, D); the result keeps that batch dimension.

A NumPy array (or anything `numpy.asarray` takes, of real numbers) is moved to the device of the
network's weights; a tensor on another device is refused (UsageError), as is any other shape
(DataError, naming the shape received and the shapes expected). Results are tensors.
"""

from __future__ import annotations

import warnings

import torch

from sdae.errors import DataError, SDAEWarning, UsageError


def tensor_from(x, name: str) -> torch.Tensor:
    """A NumPy array (or anything `numpy.asarray` takes) of real numbers as a CPU tensor of its dtype."""
    import numpy as np

    array = np.asarray(x)
    real = np.issubdtype(array.dtype, np.number) and not np.issubdtype(array.dtype, np.complexfloating)
    if not (real or array.dtype == np.bool_):
        raise DataError(
            f"input {name} must be a tensor or a NumPy array of real numbers, got {type(x).__name__} of "
            f"dtype {array.dtype}"
        )
    if not (array.flags.c_contiguous and array.flags.writeable):
        array = np.array(array, order="C")  # torch shares memory only with writable, contiguous arrays
    try:
        return torch.from_numpy(array)
    except (TypeError, ValueError):  # a dtype or byte order torch does not hold
        return torch.from_numpy(array.astype(np.float64))


def batch(model, x, name: str) -> torch.Tensor:
    """`x` as an (examples, features) tensor on the device of `model`'s weights, its dtype kept."""
    d, device = model.sizes[0], model.encoder[0].linear.weight.device
    if not isinstance(x, torch.Tensor):
        x = tensor_from(x, name).to(device)
    elif x.device != device:
        raise UsageError(
            f"input {name} is on {x.device} but this network's weights are on {device}; move one to "
            f"the other ({name}.to(...) or model.to(...))"
        )
    elif x.is_complex():
        raise DataError(f"input {name} holds complex numbers ({x.dtype}); the network takes real numbers")
    shape = tuple(x.shape)
    if len(shape) == 2 and shape[1] == d:
        return x
    if len(shape) == 3 and shape[1] * shape[2] == d:
        return x.reshape(shape[0], d)
    if (len(shape) == 1 and shape[0] == d) or (len(shape) == 2 and shape[0] * shape[1] == d):
        return x.reshape(1, d)  # one example
    raise DataError(
        f"input {name} has shape {shape}; this network takes {d} features per example: "
        f"(examples, {d}), (examples, height, width) images of {d} pixels, or one example, ({d},) or "
        "(height, width)"
    )


def network_input(model, x, name: str = "x") -> torch.Tensor:
    """`x` (prepared inputs) as `batch` gives it, in the weights' dtype; integers (raw data) are refused."""
    weight = model.encoder[0].linear.weight
    if torch.compiler.is_compiling() or (
        isinstance(x, torch.Tensor)
        and x.dim() == 2
        and x.dtype == weight.dtype
        and x.shape[1] == model.sizes[0]
        and x.device == weight.device
    ):
        return x  # training's own batches, as they are
    x = batch(model, x, name)
    if not (x.is_floating_point() or x.dtype == torch.bool):
        kind = str(x.dtype).removeprefix("torch.")
        raise UsageError(
            f"input {name} holds {kind} values, raw data as stored; the network takes prepared "
            f"inputs: pass model.prepare({name})"
        )
    return x.to(weight.dtype)


def reconstruction_input(model, x, stacklevel: int) -> torch.Tensor:
    """`network_input`, after warning (SDAEWarning, at the caller's line) when `model.decoder_note` says that its
    decoder was not trained with its encoder."""
    if model.decoder_note is not None and not torch.compiler.is_compiling():
        warnings.warn(SDAEWarning(model.decoder_note), stacklevel=stacklevel + 1)
    return network_input(model, x)
