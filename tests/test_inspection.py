import json

import numpy as np
import pytest
import torch
from helpers import run_cli
from matplotlib.image import imread
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

import sdae
from sdae.options import TrainOptions
from sdae.sklearn import SDAETransformer


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("inspect") / "R"
    config = sdae.RunConfig(data=sdae.DataOptions("digits"), layers=[48, 32, 16], device="cpu",
                            pretrain=TrainOptions(epochs=2, batch_size=64))
    sdae.run_pretraining(run, config)
    sdae.run_finetuning(run, sdae.FinetuneOptions(TrainOptions(epochs=2, batch_size=64)))
    return run


def test_visualize_writes_the_figures_as_real_images(digits_run, capsys):
    code, out, err = run_cli(capsys, "visualize", digits_run)
    assert code == 0, err
    figures = digits_run / "figures"
    names = ["filters.png", "filters_layer2.png", "filters_layer3.png", "denoising.png", "curves.png", "codes.png"]
    assert sorted(p.name for p in figures.iterdir()) == sorted(names)
    for name in names:
        image = imread(figures / name)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300, (name, image.shape)
        assert image[..., :3].std() > 0.05, f"{name} is blank"
    filters = imread(figures / "filters.png")
    assert 600 <= filters.shape[1] <= 900  # an 8-inch figure at 100 dpi


def test_filter_tiles_are_each_scaled_on_their_own():
    from sdae.report.figures import tile_grid

    weights = torch.stack([torch.arange(4.0), 100 * torch.arange(4.0)])
    grid = tile_grid(weights, (2, 2), pad=0)
    assert grid.shape == (2, 4)
    assert np.allclose(grid[:, :2].ravel(), [0, 1 / 3, 2 / 3, 1]) and np.allclose(grid[:, 2:].ravel(), [0, 1 / 3, 2 / 3, 1])


def test_deeper_filters_are_the_weight_product():
    from sdae.report.figures import input_space_filters

    model = sdae.StackedDenoisingAutoencoder([10, 6, 4, 2])
    w1, w2, w3 = (model.encoder_layer(k).linear.weight.detach() for k in (1, 2, 3))
    assert torch.allclose(input_space_filters(model, 3), w3 @ w2 @ w1, atol=1e-6)
    assert input_space_filters(model, 1).shape == (6, 10)


@pytest.mark.parametrize("layer, width", [(1, 48), (2, 32), (3, 16)])
def test_codes_have_the_layer_width(digits_run, tmp_path, capsys, layer, width):
    out = tmp_path / "codes.npz"
    code, _, err = run_cli(capsys, "encode", digits_run, "--layer", layer, "--split", "test", "--out", out)
    assert code == 0, err
    with np.load(out) as data:
        assert data["codes"].shape == (360, width) and data["labels"].shape == (360,)
        model = sdae.load(digits_run)
        first = sdae.load_dataset("digits").examples("test").batch(slice(0, 5))
        assert np.allclose(data["codes"][:5], model.encode(first, layer).detach().numpy(), atol=1e-5)


def test_encode_refuses_a_layer_that_does_not_exist(digits_run, tmp_path, capsys):
    code, _, err = run_cli(capsys, "encode", digits_run, "--layer", 4, "--out", tmp_path / "c.npz")
    assert code == 2 and "--layer must be between 1 and 3" in err and not (tmp_path / "c.npz").exists()


def test_svm_prints_the_table_and_writes_json(digits_run, capsys):
    code, out, err = run_cli(capsys, "svm", digits_run, "--train-size", 300, "--test-size", 200)
    assert code == 0, err
    report = json.loads((digits_run / "svm.json").read_text())
    assert report["train_size"] == 300 and report["test_size"] == 200
    rows = {(r["representation"], r["kernel"]) for r in report["results"]}
    assert rows == {(rep, k) for rep in ("pixels", "layer 1", "layer 2", "layer 3") for k in ("linear", "rbf")}
    pixels_rbf = next(r for r in report["results"] if r["representation"] == "pixels" and r["kernel"] == "rbf")
    assert pixels_rbf["test_error"] < 0.15  # a real classifier, far from chance (0.9)
    assert "representation" in out and "layer 3" in out


def test_svm_on_one_class_is_a_data_error(tmp_path, capsys):
    x = np.random.default_rng(0).uniform(size=(200, 16))
    np.savez(tmp_path / "one.npz", x_train=x, y_train=np.zeros(200, int), x_test=x[:20], y_test=np.zeros(20, int))
    run = tmp_path / "R"
    code, _, err = run_cli(capsys, "pretrain", "--dataset", tmp_path / "one.npz", "--layers", "8", "--epochs", "1",
                           "--out", run, "--quiet")
    assert code == 0, err
    code, _, err = run_cli(capsys, "svm", run, "--train-size", 50)
    assert code == 1 and "at least 2 classes" in err and err.count("\n") == 1


def small_transformer(**kw):
    return SDAETransformer(**{"hidden_layer_sizes": (24, 12), "pretrain_epochs": 2, "batch_size": 64, "random_state": 0, **kw})


def test_transformer_follows_scikit_learn_conventions():
    """Beside scikit-learn's own checks (test_sklearn_checks.py): what these estimators promise in particular."""
    X = load_digits().data[:400]
    t = small_transformer(layer=1)
    assert t.get_params()["layer"] == 1 and t.set_params(layer=2) is t and t.layer == 2
    with pytest.raises(NotFittedError):
        t.transform(X)
    copy = clone(t)
    assert copy.get_params() == t.get_params() and not hasattr(copy, "model_")
    codes = t.fit(X).transform(X)
    assert isinstance(codes, np.ndarray) and codes.shape == (400, 12) and t.n_features_in_ == 64
    assert t.components_.shape == (24, 64) and len(t.loss_curve_) == 4
    assert np.array_equal(codes, small_transformer(layer=2).fit(X).transform(X))  # random_state fixes everything
    assert small_transformer(layer=1).fit(X).transform(X).shape == (400, 24)
    with pytest.raises(ValueError, match="features"):
        t.transform(X[:, :10])
    with pytest.raises(ValueError):
        small_transformer(batch_size=0).fit(X)
    with pytest.raises(ValueError, match="unknown noise"):
        small_transformer(noise="blur:1").fit(X)


def test_transformer_in_a_pipeline_with_grid_search():
    X, y = load_digits(return_X_y=True)
    X, y = X[:360], y[:360]
    pipe = make_pipeline(small_transformer(), SVC())
    search = GridSearchCV(pipe, {"sdaetransformer__layer": [1, 2], "svc__C": [1, 10]}, cv=2)
    search.fit(X, y)
    assert set(search.best_params_) == {"sdaetransformer__layer", "svc__C"}
    assert search.score(X, y) > 0.5


@pytest.fixture
def captured(monkeypatch):
    """The figures the report functions would save, kept to look at instead of written."""
    from sdae.report import figures

    kept = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: kept.append(fig) or path)
    return kept


def test_curves_with_one_epoch_per_pair_show_points_and_whole_epochs(captured):
    from sdae.records import EpochRecord
    from sdae.report.figures import plot_curves

    records = [EpochRecord("pretrain", k, 1, 0.5 / k, 0.6 / k, "mse", 1.0) for k in (1, 2)]
    records += [EpochRecord("supervised", None, e, 1.0 / e, 1.1 / e, "cross-entropy", 1.0, val_error=0.1 / e)
                for e in (1, 2, 3)]
    plot_curves(records, "unused.png")
    left, right = captured[0].axes[:2]
    assert all(line.get_marker() not in (None, "None", "") for line in left.lines)
    assert list(left.get_xticks()) == [1] and list(right.get_xticks()) == [1, 2, 3]
    assert "Supervised" in right.get_title() and any("error" in ax.get_ylabel() for ax in captured[0].axes)


def test_denoising_rows_say_their_error_and_codes_have_a_class_legend(captured):
    from sdae.corruption import Gaussian
    from sdae.report.figures import plot_codes, plot_denoising

    model = sdae.StackedDenoisingAutoencoder([16, 4])
    plot_denoising(model, torch.rand(3, 16), [Gaussian(0.2)], (4, 4), "unused.png")
    labels = [ax.get_ylabel() for ax in captured[0].axes if ax.get_ylabel()]
    assert labels[0] == "clean" and all("MSE" in label for label in labels[1:]) and len(labels) == 7
    plot_codes(torch.rand(30, 4), torch.arange(30) % 3, "unused.png", "codes")
    legend = captured[1].axes[0].get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == ["0", "1", "2"]


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_figures_are_returned_shown_by_a_notebook_and_saved_in_one_line(tmp_path):
    from matplotlib.figure import Figure

    from sdae.report import figures

    fig = figures.plot_codes(np.random.default_rng(0).random((30, 4)), np.arange(30) % 3)  # NumPy, as from sklearn
    assert isinstance(fig, Figure)
    assert fig._repr_png_()[:8] == PNG_SIGNATURE  # what Jupyter shows inline, with no backend set up
    assert figures.save(fig, tmp_path / "codes.png").read_bytes()[:8] == PNG_SIGNATURE
    filters = figures.plot_filters(torch.rand(4, 16), (4, 4), tmp_path / "filters.png")  # a path: written as well
    assert isinstance(filters, Figure) and (tmp_path / "filters.png").read_bytes()[:8] == PNG_SIGNATURE


def test_drawing_figures_leaves_the_matplotlib_backend_alone(tmp_path):
    """No pyplot and no backend chosen: a notebook's inline backend (or any other) stays the caller's."""
    import subprocess
    import sys

    code = ("import sys, matplotlib; before = dict.__getitem__(matplotlib.rcParams, 'backend'); "
            "from sdae.report import figures; "
            "figures.save(figures.plot_codes([[0.0, 1.0], [1.0, 0.0], [2.0, 2.5]]), sys.argv[1]); "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "assert dict.__getitem__(matplotlib.rcParams, 'backend') is before, 'backend chosen'")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "codes.png")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
