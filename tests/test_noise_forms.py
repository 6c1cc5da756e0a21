"""Every form a noise spec takes, end to end: a tiny run trained with it draws its figures; and
`scaled`, which the denoising figure uses to show a process at other levels."""

import dataclasses
import math
import struct

import pytest
import torch

import sdae
from sdae.corruption import Corruption, Gaussian, Masking, Mixture, NoNoise, SaltPepper, Speckle, parse_noise
from sdae.errors import UsageError
from sdae.report.figures import noise_levels

# one entry per form a spec takes: gaussian:S, its :clip and :mean=M options (alone and together),
# speckle:S (and :clip), masking:NU, saltpepper:NU, none, and a mixture of two
FORMS = [
    ["gaussian:0.3"], ["gaussian:0.5:clip"], ["gaussian:0.3:mean=0.1"], ["gaussian:0.5:mean=0.1:clip"],
    ["speckle:0.5"], ["speckle:0.5:clip"], ["masking:0.25"], ["saltpepper:0.1"], ["none"],
    ["gaussian:0.3:clip", "masking:0.25"],
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def tiny_config(noise: list[str]) -> sdae.RunConfig:
    # the hidden sizes' field is being renamed from `hidden` to `layers`: use whichever this RunConfig has
    names = {f.name for f in dataclasses.fields(sdae.RunConfig)}
    sizes = {"layers" if "layers" in names else "hidden": [16]}
    return sdae.RunConfig(data=sdae.DataOptions("digits", limit=200), noise=noise, device="cpu",
                          pretrain=sdae.TrainOptions(epochs=1, batch_size=50), **sizes)


def png_size(path) -> tuple[int, int]:
    """(width, height) of a PNG file, from its header; fails unless it is one."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("noise", FORMS, ids=",".join)
def test_a_run_trained_with_each_noise_form_draws_its_figures(tmp_path, noise):
    run = tmp_path / "run"
    sdae.run_pretraining(run, tiny_config(noise))
    sdae.run_finetuning(run, sdae.FinetuneOptions(sdae.TrainOptions(epochs=1, batch_size=50)))
    paths = sdae.visualize_run(run, digits=3, map_size=60)  # at 1 or 2 digits the labels outgrow the figure
    assert {p.name for p in paths} == {"filters.png", "denoising.png", "curves.png", "codes.png"}
    for path in paths:
        assert path.parent == run / "figures" and path.is_file()
        width, height = png_size(path)
        assert width > 0 and height > 0 and path.stat().st_size > 100


@pytest.mark.parametrize("noise, levels", [
    ("gaussian:0.4", ["gaussian:0.2", "gaussian:0.4", "gaussian:0.6"]),
    ("gaussian:0.5:clip", ["gaussian:0.25:clip", "gaussian:0.5:clip", "gaussian:0.75:clip"]),
    ("gaussian:0.5:mean=0.1", ["gaussian:0.25:mean=0.1", "gaussian:0.5:mean=0.1", "gaussian:0.75:mean=0.1"]),
    ("gaussian:0.5:mean=-0.1:clip", ["gaussian:0.25:mean=-0.1:clip", "gaussian:0.5:mean=-0.1:clip",
                                     "gaussian:0.75:mean=-0.1:clip"]),
    ("speckle:0.5:clip", ["speckle:0.25:clip", "speckle:0.5:clip", "speckle:0.75:clip"]),
    ("masking:0.5", ["masking:0.25", "masking:0.5", "masking:0.75"]),
    ("masking:0.8", ["masking:0.4", "masking:0.8", "masking:1"]),  # capped at every component
    ("saltpepper:1", ["saltpepper:0.5", "saltpepper:1"]),  # 1.5 capped at 1: the same level, shown once
    ("gaussian:0", ["gaussian:0"]),
    ("none", ["none"]),
])
def test_the_denoising_figure_shows_each_process_at_half_its_level_its_level_and_one_and_a_half(noise, levels):
    process = parse_noise(noise)
    shown = noise_levels(process)
    assert [p.spec for p in shown] == levels
    assert all(type(p) is type(process) for p in shown) and process in shown


def test_scaled_multiplies_the_level_and_keeps_the_options():
    g = Gaussian(0.4, mean=0.1, clip=True)
    assert g.scaled(0.5) == Gaussian(0.2, mean=0.1, clip=True)
    wider = g.scaled(1.5)
    assert wider.sigma == pytest.approx(0.6) and wider.mean == 0.1 and wider.clip is True
    assert g == Gaussian(0.4, mean=0.1, clip=True)  # a copy: the process itself is unchanged
    assert Gaussian(0.3).scaled(2) == Gaussian(0.6) and Gaussian(0.3).scaled(0) == Gaussian(0.0)
    assert Speckle(0.5, clip=True).scaled(2) == Speckle(1.0, clip=True)
    assert Speckle(0.5).scaled(0.5) == Speckle(0.25)
    assert Masking(0.2).scaled(2) == Masking(0.4) and SaltPepper(0.2).scaled(0.5) == SaltPepper(0.1)
    assert NoNoise().scaled(3) == NoNoise()
    assert Gaussian(0.5, mean=0.1, clip=True).scaled(0.5).spec == "gaussian:0.25:mean=0.1:clip"


def test_scaled_caps_fractions_at_one():
    assert Masking(0.8).scaled(1.5) == Masking(1.0) and SaltPepper(0.6).scaled(2) == SaltPepper(1.0)
    assert Masking(1.0).scaled(1.5).nu == 1.0 and SaltPepper(1.0).scaled(1.0).nu == 1.0
    assert Gaussian(0.8).scaled(1.5).sigma == pytest.approx(1.2)  # standard deviations are not fractions


def test_scaled_mixture_scales_each_process():
    mixture = Mixture([Gaussian(0.2, mean=0.1, clip=True), Masking(0.8)])
    assert mixture.scaled(1.5) == Mixture([Gaussian(0.2 * 1.5, mean=0.1, clip=True), Masking(1.0)])
    assert mixture.scaled(0.5) == Mixture([Gaussian(0.1, mean=0.1, clip=True), Masking(0.4)])
    assert mixture.scaled(0.5).spec == "gaussian:0.1:mean=0.1:clip,masking:0.4"


@pytest.mark.parametrize("factor", [-0.5, math.nan, math.inf, True, "2"])
def test_scaled_refuses_a_factor_that_is_not_a_level(factor):
    for process in (Gaussian(0.3), Speckle(0.3), Masking(0.3), SaltPepper(0.3), NoNoise(),
                    Mixture([Gaussian(0.3), Masking(0.3)])):
        with pytest.raises(UsageError, match="factor"):
            process.scaled(factor)


def test_a_process_defined_outside_sdae_need_not_scale():
    class Shift(Corruption):
        def corrupt(self, x, generator, value_range=(0.0, 1.0)):
            return x + 0.1

        @property
        def spec(self):
            return "shift"

    with pytest.raises(NotImplementedError, match="Shift"):
        Shift().scaled(2)
    assert torch.equal(Shift()(torch.zeros(2, 3), torch.Generator()), torch.full((2, 3), 0.1))
