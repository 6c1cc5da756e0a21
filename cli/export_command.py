"""`sdae export`: a run's encoder or denoiser as one ONNX or TorchScript file, for use outside sdae."""

from __future__ import annotations

import click

import sdae

from .options import working_on


@click.command()
@click.argument("run", type=click.Path())
@click.option(
    "--format",
    "format",
    type=click.Choice(["onnx", "torchscript"]),
    required=True,
    help="onnx (opset 17, for onnxruntime and the like; needs the onnx package) or torchscript (for torch.jit.load).",
)
@click.option(
    "--part",
    type=click.Choice(["encoder", "denoiser"]),
    required=True,
    help="encoder: the codes after --layer; denoiser: the reconstruction.",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The file to write.")
@click.option("--layer", type=int, default=None, help="Encoder: the layer whose codes come out.  [default: the top]")
@click.option(
    "--raw-output",
    is_flag=True,
    help="Denoiser: the reconstruction in the data's own units, as the run stored them.  "
    "[default: the network's units, [0, 1] for a sigmoid output]",
)
@click.option("--overwrite", is_flag=True, help="Replace the --out file if it exists.")
def export(run, format, part, out, layer, raw_output, overwrite):
    """Write the encoder or the denoiser of RUN to one file, for use outside sdae.

    The graph takes raw inputs as the run stored them (bytes 0..255, your own units), as float32 of shape
    (batch, features), any batch size: the input scaling is part of it. Input "raw"; output "codes" or
    "reconstruction". After --supervised fine-tuning the denoiser has the pretrained weights (the decoder was
    not fine-tuned), the encoder the fine-tuned ones.
    """
    working_on(run)
    path = sdae.export_run(run, format, part, out, layer=layer, overwrite=overwrite, raw_output=raw_output)
    from sdae.export import network_sizes

    sizes = network_sizes(run)
    if part == "encoder":
        k = len(sizes) - 1 if layer is None else layer
        what = f"the encoder up to layer {k}: (batch, {sizes[0]}) raw inputs -> (batch, {sizes[k]}) codes"
    else:
        units = "the data's units" if raw_output else "the network's units"
        what = f"the denoiser: (batch, {sizes[0]}) raw inputs -> their reconstruction in {units}"
    click.echo(f"wrote {what} to {path} ({format})")
