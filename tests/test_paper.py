"""The paper's experiments (`sdae paper NAME`) and generation (`sdae sample`), each on a tiny setting."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import run_cli

import sdae
import sdae.paper
from sdae.bench_options import BenchOptions
from sdae.corruption import Masking
from sdae.errors import UsageError
from sdae.generation import generate
from sdae.objectives import ClassLogits
from sdae.paper.measures import filter_shape_statistics, orientation_concentration

TINY = BenchOptions(scale=0.02, units=8, pretrain_epochs=1, epochs=1, lrs=(0.001,), noise_levels=(0.25,), device="cpu")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SDAE_CACHE_DIR", str(tmp_path / "cache"))


def test_the_filter_measures_tell_an_edge_a_blob_and_noise_apart():
    rows, cols = np.mgrid[0:12, 0:12]
    blob = np.exp(-((cols - 6) ** 2 + (rows - 6) ** 2) / 4)
    edge = np.exp(-((cols - 6) ** 2 + (rows - 6) ** 2) / 8) * np.cos(2 * np.pi * cols / 4)
    noise = np.random.default_rng(0).normal(size=(12, 12))
    as_filter = lambda f: torch.tensor(f.reshape(1, -1))  # noqa: E731
    assert orientation_concentration(as_filter(edge), (12, 12)) > 0.8
    assert orientation_concentration(as_filter(blob), (12, 12)) < 0.05
    assert orientation_concentration(as_filter(noise), (12, 12)) < 0.2
    spread = {name: filter_shape_statistics(as_filter(f), (12, 12)) for name, f in
              {"blob": blob, "noise": noise}.items()}  # fmt: skip
    assert spread["blob"]["radius_px"] < 2 < spread["noise"]["radius_px"]
    assert spread["blob"]["top10_energy"] > 0.8 > 0.5 > spread["noise"]["top10_energy"]


def test_the_noise_level_experiment_tests_one_sda_per_level_from_no_noise_up(cache, tmp_path):
    from sdae.paper.ablations import noise_level

    result = noise_level(TINY, ("rectangles",), levels=(0.0, 0.5))
    points = result.numbers["problems"]["rectangles"]["points"]
    assert [p["level"] for p in points] == [0.0, 0.5]
    assert [p["chosen"]["noise"] for p in points] == [0.0, 0.5] and all(0 <= p["error"] <= 100 for p in points)
    assert result.figure is not None


def test_every_experiment_writes_its_figure_and_numbers_from_the_command_line(cache, tmp_path, capsys):
    for name in ("noisy-inputs", "svm-codes", "noise-emphasis"):
        code, out, err = run_cli(capsys, "paper", name, "--out", tmp_path, "--problems", "rectangles", "--scale",
                                 "0.02", "--units", "8", "--pretrain-epochs", "1", "--epochs", "1", "--lrs", "0.001",
                                 "--noise-levels", "0.25", "--device", "cpu", "--quiet")  # fmt: skip
        assert code == 0, err
        numbers = json.loads((tmp_path / f"{name}.json").read_text())
        assert (tmp_path / f"{name}.png").stat().st_size > 1000 and numbers["experiment"] == name
        assert numbers["problems"]["rectangles"]["data"] == "generated" and numbers["options"]["units"] == 8
    emphasis = json.loads((tmp_path / "noise-emphasis.json").read_text())["problems"]["rectangles"]["cells"]
    assert set(emphasis) == {"masking/none", "masking/double", "masking/full", "saltpepper/none", "saltpepper/double",
                             "saltpepper/full", "gaussian/none"}  # fmt: skip
    codes = json.loads((tmp_path / "svm-codes.json").read_text())["problems"]["rectangles"]["results"]
    assert {"pixels, linear", "SdA-3 layer 3, rbf", "SAA-3 layer 1, linear"} <= set(codes)
    code, _, err = run_cli(capsys, "paper", "patches", "--problems", "rectangles", "--quiet")
    assert code != 0 and "does not run on the 2007 problems" in err
    before = (tmp_path / "svm-codes.json").read_bytes()
    code, _, err = run_cli(capsys, "paper", "svm-codes", "--out", tmp_path, "--quiet")
    assert code != 0 and "svm-codes.json already exists" in err and (tmp_path / "svm-codes.json").read_bytes() == before


def test_depth_and_width_covers_every_depth_and_pretraining(cache):
    from sdae.paper.ablations import depth_width

    cells = depth_width(TINY, ("rectangles",), widths=(8,)).numbers["problems"]["rectangles"]["cells"]
    assert {(c["depth"], c["pretraining"]) for c in cells} == {
        (d, k) for d in (1, 2, 3) for k in ("no pretraining", "ordinary autoencoders", "denoising")}  # fmt: skip


def test_noisy_inputs_corrupt_only_the_training_passes():
    model = sdae.StackedDenoisingAutoencoder([6, 4], generator=torch.Generator().manual_seed(0))
    model.add_head(2, generator=torch.Generator().manual_seed(0))
    x = torch.rand(5, 6)
    noisy = ClassLogits(model, generator=torch.Generator().manual_seed(0), input_noise=Masking(1.0))
    torch.testing.assert_close(noisy(x), model.classify(torch.zeros_like(x)))  # everything masked
    model.eval()
    torch.testing.assert_close(noisy(x), model.classify(x))


def test_mnist_filters_and_patches_draw_every_model(mnist_path, tmp_path):
    from sdae.paper.pictures import PATCH_MODELS, mnist_filters, patches

    options = BenchOptions(scale=0.02, units=16, pretrain_epochs=1, data_dir=str(mnist_path))
    filters = mnist_filters(options)
    assert set(filters.numbers["levels"]) == {"0", "0.25", "0.5"} and filters.numbers["digits"] == 1200
    found = patches(options, count=600)
    assert set(found.numbers["models"]) == set(PATCH_MODELS)
    assert all(0 <= m["orientation_concentration"] <= 1 for m in found.numbers["models"].values())


def test_generation_samples_bernoulli_units_from_the_generator_and_needs_sigmoid_units():
    model = sdae.StackedDenoisingAutoencoder([6, 5, 4], activation="sigmoid", generator=torch.Generator().manual_seed(0))
    x = torch.rand(3, 6)
    first = generate(model, x, 4, torch.Generator().manual_seed(1))
    again = generate(model, x, 4, torch.Generator().manual_seed(1))
    assert first.shape == (3, 4, 6) and torch.equal(first, again) and 0 <= first.min() and first.max() <= 1
    assert not torch.equal(first, generate(model, x, 4, torch.Generator().manual_seed(2)))
    with torch.no_grad():  # every top unit certain to be on: the sample is the decoders' mean of that code
        model.encoder[1].linear.bias.fill_(50.0)
        model.decoder[0].linear.bias.fill_(-50.0)  # ... and the middle layer certain to be off
    sample = generate(model, x, 1, torch.Generator().manual_seed(1))[:, 0]
    torch.testing.assert_close(sample, model.decoder_layer(1)(torch.zeros(3, 5)).expand(3, -1))
    with pytest.raises(UsageError, match="sigmoid hidden units"):
        generate(sdae.StackedDenoisingAutoencoder([6, 4]), x, 1, torch.Generator())


def test_sdae_sample_writes_the_picture_and_the_samples(mnist_path, tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli(capsys, "pretrain", "--out", run, "--data-dir", mnist_path, "--limit", "500", "--layers", "32,16",
                   "--activation", "sigmoid", "--epochs", "1", "--quiet")[0] == 0  # fmt: skip
    code, out, err = run_cli(capsys, "sample", run, "--out", tmp_path / "s.png", "--examples", "3", "--samples", "2",
                             "--data-dir", mnist_path)  # fmt: skip
    assert code == 0, err
    with np.load(tmp_path / "s.npz") as stored:
        assert stored["samples"].shape == (3, 2, 784) and stored["examples"].shape == (3, 784)
    assert (tmp_path / "s.png").stat().st_size > 1000
    relu = tmp_path / "relu"
    assert run_cli(capsys, "pretrain", "--out", relu, "--dataset", "digits", "--layers", "8", "--epochs", "1",
                   "--quiet")[0] == 0  # fmt: skip
    code, _, err = run_cli(capsys, "sample", relu, "--out", tmp_path / "r.png")
    assert code != 0 and "--activation sigmoid" in err and not (tmp_path / "r.png").exists()
    code, _, err = run_cli(capsys, "sample", run, "--out", tmp_path / "s2.npz", "--data-dir", mnist_path)
    assert code != 0 and "ending in .png" in err


def test_an_unknown_experiment_is_refused():
    with pytest.raises(UsageError, match="unknown experiment 'tzanetakis'"):
        sdae.paper.experiment("tzanetakis")


def test_the_samples_experiment_draws_every_stack_and_judges_its_samples(mnist_path):
    from sdae.paper.pictures import samples

    options = BenchOptions(scale=0.02, units=16, pretrain_epochs=1, data_dir=str(mnist_path))
    result = samples(options, examples=2, each=2)
    assert set(result.numbers["stacks"]) == {"SAA-3", "SdA-3", "DBN-3"}
    assert all(0 <= s["same_class"] <= 1 for s in result.numbers["stacks"].values()) and result.figure is not None
