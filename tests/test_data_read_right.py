"""The user's data read right: scaling checked and shared by every entry point, real-valued data given an affine
output, and runs that follow their data when it moves."""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import pytest
import torch

import sdae
from sdae.data import load_dataset
from sdae.errors import DataError, SDAEWarning, UsageError
from sdae.options import DataOptions, RunConfig, TrainOptions

from helpers import run_cli


def write(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def digits_arrays(rows: int = 300):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x[:rows].astype(np.float64), y[:rows]


def table():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


# ----------------------------------------------------------------------------- 1. the scale checked
def test_test_data_scaled_unlike_the_training_data_is_refused_naming_both(tmp_path, capsys):
    """x_train divided by 255, x_test still 0..255: refused, naming the array and both ranges (it was accepted and
    scored an MSE of thousands)."""
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (60, 16)).astype(np.float32)
    path = write(tmp_path / "mixed.npz", x_train=raw / 255, x_test=raw[:20])
    with pytest.raises(DataError, match=r"mixed.npz\[x_test\]: values from 0 to 255.*x_train's scaling") as info:
        load_dataset(path)
    assert "scale both alike" in str(info.value)
    code, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / "run", "--dataset", path, "--layers", "4",
                           "--epochs", "1", "--quiet")
    assert code == 1 and "x_test" in err and "0 to 255" in err and not (tmp_path / "run").exists()


def test_test_data_a_little_outside_the_training_range_is_accepted_with_a_warning(tmp_path):
    x = np.linspace(0, 10, 64, dtype=np.float32).reshape(16, 4)
    path = write(tmp_path / "near.npz", x_train=x, x_test=x * 1.2)  # up to 12: scaled to 1.2
    with pytest.warns(SDAEWarning, match=r"near.npz\[x_test\].*puts them at"):
        load_dataset(path)
    write(tmp_path / "inside.npz", x_train=x, x_test=x[:4])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SDAEWarning)
        load_dataset(str(tmp_path / "inside.npz"))


def test_one_scaling_rule_for_the_command_line_the_api_and_the_estimators(tmp_path):
    """The same uint8 array scaled the same way by load_dataset (what the CLI uses) and by the estimators (it was
    bytes / 255 in one and min-max in the other)."""
    from sdae.sklearn import SDAEClassifier, SDAETransformer

    rng = np.random.default_rng(1)
    x = rng.integers(3, 250, (80, 9)).astype(np.uint8)  # neither 0 nor 255 present: min-max would differ
    y = np.arange(80) % 2
    dataset = load_dataset(write(tmp_path / "bytes.npz", x_train=x))
    assert (dataset.scaling.offset, dataset.scaling.scale, dataset.scaling.rule) == (0.0, 1 / 255, "bytes")
    small = dict(pretrain_epochs=1, batch_size=40, random_state=0)
    assert SDAETransformer((4,), **small).fit(x).scaling_ == (0.0, 1 / 255)
    assert SDAEClassifier((4,), epochs=1, **small).fit(x, y).scaling_ == (0.0, 1 / 255)
    floats = x.astype(np.float64) / 300  # values in [0, 1]: kept, everywhere
    assert load_dataset(write(tmp_path / "unit.npz", x_train=floats)).scaling.rule == "unit"
    assert SDAETransformer((4,), **small).fit(floats).scaling_ == (0.0, 1.0)


def test_a_table_squeezed_by_one_global_range_is_warned_about_and_feature_scaling_spreads_it(tmp_path):
    x, _ = table()
    path = write(tmp_path / "cancer.npz", x_train=x)
    with pytest.warns(SDAEWarning, match=r"leaves (2[0-9]|30) of 30 features within 1% of \[0, 1\].*`scaling`='feature'"):
        load_dataset(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SDAEWarning)
        dataset = load_dataset(path, scaling="feature")
    scaled = dataset.examples("train").batch(slice(None))
    assert dataset.scaling.rule == "feature" and len(dataset.scaling.offset) == 30
    assert torch.allclose(scaled.min(0).values, torch.zeros(30), atol=1e-6)
    assert torch.allclose(scaled.max(0).values, torch.ones(30), atol=1e-5)


def test_feature_scaling_is_recorded_with_the_run_and_the_loaded_network_applies_and_inverts_it(tmp_path, capsys):
    x, _ = table()
    path = write(tmp_path / "cancer.npz", x_train=x.astype(np.float32))
    code, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / "run", "--dataset", path, "--scaling", "feature",
                           "--layers", "8", "--epochs", "1", "--quiet", "--device", "cpu")
    assert code == 0, err
    code, out, _ = run_cli(capsys, "info", tmp_path / "run")
    assert "each feature's own minimum and maximum" in out
    model = sdae.load(tmp_path / "run")
    raw = torch.tensor(x[:5], dtype=torch.float32)
    x01 = model.prepare(raw)
    low, high = torch.tensor(x.min(0), dtype=torch.float32), torch.tensor(x.max(0), dtype=torch.float32)
    assert torch.allclose(x01, (raw - low) / (high - low), atol=1e-5)
    assert torch.allclose(model.to_raw(x01), raw, rtol=1e-4, atol=1e-3)  # back in the data's own units


def test_the_scaling_rule_is_said_by_info(tmp_path, capsys):
    path = write(tmp_path / "wide.npz", x_train=np.linspace(-5, 5, 200, dtype=np.float32).reshape(50, 4))
    code, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / "run", "--dataset", path, "--layers", "3",
                           "--epochs", "1", "--quiet", "--device", "cpu")
    assert code == 0, err
    _, out, _ = run_cli(capsys, "info", tmp_path / "run")
    assert "x01 = (x - -5) * 0.1  (one minimum and maximum for every feature)" in out


# --------------------------------------------------------------------------- real-valued data: affine output
def standardized(rows: int = 200, features: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, 2))
    x = z @ rng.standard_normal((2, features)) + 0.1 * rng.standard_normal((rows, features))
    return ((x - x.mean(0)) / x.std(0)).astype(np.float32)


def test_standardized_data_kept_as_it_is_gets_an_affine_output_that_reaches_negative_targets(tmp_path, capsys):
    x = standardized()
    assert (x < 0).mean() > 0.3
    path = write(tmp_path / "z.npz", x_train=x)
    code, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / "run", "--dataset", path, "--scaling", "none",
                           "--layers", "4", "--epochs", "30", "--batch-size", "32", "--quiet", "--device", "cpu",
                           "--noise", "gaussian:0.1", "--warmup", "1")
    assert code == 0, err
    folder = sdae.RunFolder.open(tmp_path / "run")
    assert folder.config.output == "affine" and folder.facts.rule == "none"
    model = sdae.load(tmp_path / "run")
    with torch.no_grad():
        out = model(model.prepare(torch.from_numpy(x)))
    assert (out < 0).float().mean() > 0.3  # a Sigmoid could never output these
    mse, mean_image = float(((out - torch.from_numpy(x)) ** 2).mean()), float(x.var(0).mean())
    assert mse < 0.5 * mean_image, (mse, mean_image)
    _, text, _ = run_cli(capsys, "info", tmp_path / "run")
    assert "affine output, squared error" in text


def test_a_sigmoid_output_refuses_values_outside_0_1_and_both_remedies_it_names_work(tmp_path):
    x = standardized(rows=64)
    net = sdae.StackedDenoisingAutoencoder([6, 3], generator=torch.Generator().manual_seed(0))
    noise, options, generator = sdae.parse_noise("gaussian:0.1"), TrainOptions(epochs=1, batch_size=32), torch.Generator()
    for loss in ("auto", "mse"):  # squared error behind a Sigmoid was accepted and trained outputs stuck in [0, 1]
        with pytest.raises(DataError, match=r"values from -.* Sigmoid output.*\(x - min\) / \(max - min\).*`output`='affine'"):
            sdae.pretrain(net, x, None, noise, TrainOptions(epochs=1, batch_size=32, loss=loss), generator)
    scaled = (x - x.min()) / (x.max() - x.min())  # remedy 1
    assert sdae.pretrain(net, scaled, None, noise, options, generator)
    affine = sdae.StackedDenoisingAutoencoder([6, 3], generator=torch.Generator().manual_seed(0), output="affine")
    records = sdae.pretrain(affine, x, None, noise, options, generator)  # remedy 2
    assert records[0].loss_function == "mse"


def test_the_command_line_refuses_sigmoid_output_for_real_valued_data_and_says_how(tmp_path, capsys):
    path = write(tmp_path / "z.npz", x_train=standardized())
    code, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / "run", "--dataset", path, "--scaling", "none",
                           "--output", "sigmoid", "--layers", "3", "--epochs", "1", "--quiet", "--device", "cpu")
    assert code == 1 and "--output affine" in err and err.count("\n") == 1


# ------------------------------------------------------------------------------------- 2. moved data
@pytest.fixture
def run_on_a_file(tmp_path, capsys):
    """A run trained on data/x.npz, given relative to the folder the command ran in."""
    x, y = digits_arrays()
    (tmp_path / "a" / "data").mkdir(parents=True)
    np.savez(tmp_path / "a" / "data" / "x.npz", x_train=x, y_train=y, x_test=x[:50], y_test=y[:50])
    here = os.getcwd()
    os.chdir(tmp_path / "a")
    try:
        code, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / "run", "--dataset", "data/x.npz", "--layers", "8",
                               "--epochs", "1", "--quiet", "--device", "cpu")
    finally:
        os.chdir(here)
    assert code == 0, err
    return tmp_path / "run", tmp_path / "a" / "data" / "x.npz"


def test_a_relative_dataset_is_recorded_so_that_it_resolves_from_anywhere(run_on_a_file, capsys):
    run, data = run_on_a_file
    assert sdae.RunFolder.open(run).config.data.dataset == str(data)
    code, _, err = run_cli(capsys, "finetune", run, "--epochs", "1", "--quiet")  # from another folder
    assert code == 0, err


def test_moved_data_is_found_again_with_dataset_for_every_command(run_on_a_file, tmp_path, capsys):
    run, data = run_on_a_file
    moved = tmp_path / "b" / "x.npz"
    moved.parent.mkdir()
    shutil.move(data, moved)
    code, _, err = run_cli(capsys, "finetune", run, "--epochs", "1", "--quiet")
    assert code == 1 and f"dataset file {data} does not exist" in err and "--dataset" in err
    assert sdae.RunFolder.open(run).status.finetune is None  # nothing recorded by the failed command
    code, _, err = run_cli(capsys, "finetune", run, "--epochs", "1", "--quiet", "--dataset", moved)
    assert code == 0, err
    assert sdae.RunFolder.open(run).config.data.dataset == str(moved)  # the new place is recorded with the run
    for command in (["evaluate"], ["encode", "--out", tmp_path / "codes.npz"], ["visualize"]):
        code, _, err = run_cli(capsys, command[0], run, *command[1:], "--dataset", moved)
        assert code == 0, (command, err)


def test_a_different_file_at_the_new_place_is_refused_by_name(run_on_a_file, tmp_path, capsys):
    run, data = run_on_a_file
    other = tmp_path / "other.npz"
    x, y = digits_arrays()
    np.savez(other, x_train=x[::-1].copy(), y_train=y[::-1].copy())
    code, _, err = run_cli(capsys, "evaluate", run, "--dataset", other)
    assert code == 1 and str(other) in err and "has changed since the run was trained on it" in err


def test_options_that_do_not_apply_to_the_runs_data_are_refused_not_ignored(run_on_a_file, tmp_path, capsys):
    run, _ = run_on_a_file
    code, _, err = run_cli(capsys, "finetune", run, "--epochs", "1", "--quiet", "--data-dir", tmp_path)
    assert code == 2 and "--data-dir is where MNIST's files are" in err and "give --dataset" in err
    with pytest.raises(UsageError, match="built-in digits"):
        DataOptions("digits").relocated(dataset="x.npz")
    assert DataOptions("mnist").relocated(data_dir="somewhere").data_dir == os.path.abspath("somewhere")
    assert RunConfig().data.relocated() == RunConfig().data


def test_a_config_file_takes_settings_flat_as_the_command_line_names_them(tmp_path):
    """`dataset`, `epochs` written at the top of a TOML file land in [data] and [pretrain]; string forms of the
    noise and the sizes are taken as the command line takes them."""
    from sdae.config import config_from_file

    path = tmp_path / "c.toml"
    path.write_text('layers = "32,16"\ndataset = "digits"\nnoise = "masking:0.3"\nepochs = 3\n[pretrain]\nlr = 0.001\n')
    config = config_from_file(path)
    assert (config.layers, config.data.dataset, config.noise) == ([32, 16], "digits", ["masking:0.3"])
    assert (config.pretrain.epochs, config.pretrain.lr) == (3, 0.001)
    path.write_text('dataset = "digits"\nlayer = [3]\n')
    with pytest.raises(UsageError, match="unknown setting 'layer'"):
        config_from_file(path)
