"""The 2007 benchmark problems: generators as their recipes say, the cache, `--dataset NAME`, `sdae bench`."""

import json

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

import sdae
from sdae.data import variants
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def fake_mnist():
    """Digit-like images: a bright bar with a grey (anti-aliased) edge on black, labels 0-9."""
    rng = np.random.default_rng(0)
    images = np.zeros((1500, 28, 28), dtype=np.uint8)
    for i in range(1500):
        r, c = rng.integers(4, 20, 2)
        images[i, r:r + 6, c:c + 3] = 255
        images[i, r:r + 6, c + 3] = 90
    return images, np.arange(1500) % 10


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SDAE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def chance_level(feature: np.ndarray, labels: np.ndarray) -> float:
    """5-fold accuracy of a logistic regression on this one feature (standardised)."""
    feature = (feature - feature.mean(0)) / (feature.std(0) + 1e-12)
    return float(cross_val_score(LogisticRegression(), feature.reshape(len(labels), -1), labels, cv=5).mean())


def whole(problem):
    return (np.concatenate([problem.x[s] for s in ("train", "valid", "test")]),
            np.concatenate([problem.y[s] for s in ("train", "valid", "test")]))


@pytest.mark.parametrize("name", variants.NAMES)
def test_each_problem_has_shapes_range_balance_and_is_reproducible(name, fake_mnist):
    a = variants.generate(name, seed=1, scale=0.02, mnist=fake_mnist)
    b = variants.generate(name, seed=1, scale=0.02, mnist=fake_mnist)
    c = variants.generate(name, seed=2, scale=0.02, mnist=fake_mnist)
    assert tuple(len(a.x[s]) for s in ("train", "valid", "test")) == variants.split_sizes(name, 0.02)
    for split in ("train", "valid", "test"):
        assert a.x[split].shape == (len(a.y[split]), 784) and a.x[split].dtype == np.float32
        assert a.x[split].min() >= 0 and a.x[split].max() <= 1
        assert np.array_equal(a.x[split], b.x[split]) and np.array_equal(a.y[split], b.y[split])
    assert not np.array_equal(a.x["test"], c.x["test"])
    counts = np.bincount(whole(a)[1])
    assert len(counts) == (10 if name.startswith("mnist") else 2)
    assert counts.min() > 0.5 * counts.mean()


def test_published_split_sizes():
    assert variants.split_sizes("mnist-rot") == (10000, 2000, 50000)
    assert variants.split_sizes("rectangles") == (1000, 200, 50000)
    assert variants.split_sizes("convex") == (6000, 2000, 50000)  # "8000 train", the last 2000 validation


def test_convex_classes_pass_and_fail_the_convexity_test_and_area_does_not_tell_them_apart():
    problem = variants.generate("convex", scale=0.05)
    x, y = whole(problem)
    images = x.reshape(-1, 28, 28) > 0
    assert all(variants.is_convex(image) == bool(label) for image, label in zip(images[:600], y[:600]))
    assert images[y == 1].reshape(-1, 784).sum(1).min() >= 19
    white = images.reshape(len(y), -1).sum(1).astype(np.float64)
    assert abs(white[y == 0].mean() - white[y == 1].mean()) < 4  # "the mean number of pixels of value 255 is the same"
    assert chance_level(white, y) < 0.56  # chance is 0.5; the unbalanced generator allowed 0.676


def test_convexity_test_on_known_shapes():
    square = np.zeros((28, 28), bool)
    square[5:15, 5:15] = True
    assert variants.is_convex(square)
    ell = square.copy()
    ell[5:10, 10:15] = False
    assert not variants.is_convex(ell)
    two = np.zeros((28, 28), bool)
    two[2:5, 2:5] = two[20:23, 20:23] = True
    assert not variants.is_convex(two)
    rng = np.random.default_rng(3)
    assert all(variants.is_convex(variants.convex_region(rng, 0.195, 19)) for _ in range(200))


def test_rectangles_are_tall_or_wide_by_their_outline_and_size_does_not_tell():
    problem = variants.generate("rectangles", scale=0.2)
    x, y = whole(problem)
    for image, label in zip(x.reshape(-1, 28, 28)[:500], y[:500]):
        rows, cols = np.nonzero(image)
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert (height > width) == bool(label) and abs(height - width) >= 3
    assert chance_level(x.sum(1), y) < 0.58


def test_rectangles_image_constraints_and_no_trivial_statistic():
    rng = np.random.default_rng(0)
    tops, lefts, heights, widths, labels = variants.rectangle_shapes(2000, rng, min_side=7, min_area=196, max_area=588)
    assert heights.min() >= 7 and widths.min() >= 7 and (np.abs(heights - widths) >= 3).all()
    assert ((heights * widths >= 196) & (heights * widths <= 588)).all()
    assert ((tops + heights <= 28) & (lefts + widths <= 28)).all() and labels.mean() == 0.5
    x, y = whole(variants.generate("rectangles-image", scale=0.05))
    stats = np.stack([x.mean(1), x.std(1)], 1)
    assert chance_level(stats, y) < 0.56


def test_digit_backgrounds_keep_the_digit_and_skip_flat_patches(fake_mnist):
    basic = variants.generate("mnist-basic", scale=0.02, mnist=fake_mnist).x["train"]
    rand = variants.generate("mnist-bg-rand", scale=0.02, mnist=fake_mnist).x["train"]
    image = variants.generate("mnist-bg-img", scale=0.02, mnist=fake_mnist).x["train"]
    for combined in (rand, image):
        assert np.array_equal(np.maximum(combined, basic), combined)  # the per-pixel maximum
        assert (combined[basic == 1.0] == 1.0).all()  # the stroke stays whole
    assert (rand[basic == 0] > 0).mean() > 0.99
    assert np.allclose(rand[basic == 0] * 255, np.round(rand[basic == 0] * 255))  # "between 0 and 255"
    patches = variants.image_patches(300, np.random.default_rng(0)).reshape(300, -1)
    assert patches.std(1).min() >= variants.MIN_PATCH_STD


def test_the_store_generates_once_and_refuses_a_damaged_copy(cache):
    dataset = sdae.load_dataset("rectangles", scale=0.05)
    assert (len(dataset.train), dataset.val_count, len(dataset.test)) == (60, 10, 2500)
    assert dataset.train.dtype == torch.uint8 and dataset.scaling.scale == 1 / 255
    files = sorted(p.name for p in cache.iterdir())
    assert files == ["rectangles-scale0.05-seed0-recipe2.json", "rectangles-scale0.05-seed0-recipe2.npz"]
    stamp = (cache / files[1]).stat().st_mtime_ns
    again = sdae.load_dataset("rectangles", scale=0.05)
    assert (cache / files[1]).stat().st_mtime_ns == stamp  # read, not remade
    assert np.array_equal(again.train.numpy(), dataset.train.numpy())
    manifest = json.loads((cache / files[0]).read_text())
    manifest["sha256"] = "0" * 64
    (cache / files[0]).write_text(json.dumps(manifest))
    with pytest.raises(sdae.DataError, match="do not match the checksum"):
        sdae.load_dataset("rectangles", scale=0.05)
    with pytest.raises(sdae.UsageError, match="scale"):
        sdae.load_dataset("rectangles", scale=1.5)


def test_a_benchmark_problem_is_a_dataset_for_every_command(cache, tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "pretrain", "--out", run, "--dataset", "convex", "--scale", "0.02", "--layers", "32",
                           "--epochs", "1", "--quiet")
    assert code == 0, err
    recorded = json.loads((run / "config.json").read_text())["config"]
    assert recorded["data"]["dataset"] == "convex" and recorded["data"]["scale"] == 0.02
    code, out, err = run_cli(capsys, "info", run, "--json")
    facts = json.loads(out)["data"]
    assert (facts["n_train"], facts["n_val"]) == (120, 40), facts  # the published split, not --val-fraction's 10%
    assert run_cli(capsys, "finetune", run, "--supervised", "--epochs", "2", "--quiet")[0] == 0
    code, out, err = run_cli(capsys, "evaluate", run, "--json")
    assert code == 0 and json.loads(out), err


def test_bench_chooses_noise_and_learning_rate_on_validation_and_writes_its_table(cache, tmp_path, capsys):
    out = tmp_path / "bench.json"
    code, text, err = run_cli(capsys, "bench", "--problems", "rectangles", "--scale", "0.05", "--units", "16",
                              "--noise-levels", "0.1,0.4", "--lrs", "0.001,0.01", "--no-extend", "--pretrain-epochs", "1",
                              "--epochs", "2", "--models", "svm,sda3", "--quiet", "--out", out)
    assert code == 0, err
    assert "rectangles" in text and "1.99" in text  # the paper's SdA-3 figure beside ours
    (row,) = json.loads(out.read_text())["rows"]
    assert row["sizes"] == [50, 10, 2500] and row["data"] == "generated"
    sda3 = row["models"]["sda3"]
    assert sda3["epochs_run"] == [10, 20]  # 50 examples instead of the digits' 500: ten times the epochs, as many updates
    tried = {(t["noise"], t["lr"]): t["valid"] for t in sda3["tried"]}
    assert set(tried) == {(0.1, 0.001), (0.1, 0.01), (0.4, 0.001), (0.4, 0.01)}
    assert tried[sda3["chosen"]["noise"], sda3["chosen"]["lr"]] == min(tried.values())
    p = sda3["error"] / 100
    assert sda3["interval"] == pytest.approx(100 * 1.96 * np.sqrt(p * (1 - p) / 2500))
    assert sda3["paper"] == 1.99 and sda3["paper_interval"] == pytest.approx(196 * np.sqrt(0.0199 * 0.9801 / 50000))
    svm = row["models"]["svm"]
    assert svm["chosen"]["gamma"] is not None and svm["chosen"]["C"] in (1.0, 10.0, 100.0)


def test_bench_fine_tunes_every_rate_from_the_same_pretrained_stack(cache, monkeypatch):
    from sdae.bench_options import BenchOptions
    from sdae.commands import bench as bench_module
    from sdae.commands import bench_search

    starts = []
    real = bench_search.supervised_finetune

    def spy(model, *args, **kwargs):
        starts.append({k: v.clone() for k, v in model.state_dict().items()})
        return real(model, *args, **kwargs)

    monkeypatch.setattr(bench_search, "supervised_finetune", spy)
    options = BenchOptions(scale=0.05, units=8, noise_levels=(0.25,), lrs=(0.001, 0.01), pretrain_epochs=1,
                           epochs=1, extend=False, models=("sda3",), device="cpu")
    (row,) = bench_module.bench(["rectangles"], options)
    assert len(starts) == 2 and all(torch.equal(starts[0][k], starts[1][k]) for k in starts[0])  # same weights and head
    assert {t["lr"] for t in row.models["sda3"].tried} == {0.001, 0.01}


def test_bench_refuses_an_unknown_problem(cache, capsys):
    code, _, err = run_cli(capsys, "bench", "--problems", "mnist-upside-down", "--quiet")
    assert code == 2 and "unknown benchmark 'mnist-upside-down'" in err


def test_bench_budgets_are_updates_so_smaller_problems_train_more_epochs():
    from sdae.commands.bench_search import epochs_factor

    assert epochs_factor(10_000, 1.0) == 1.0  # the digit problems: the epochs as given
    assert epochs_factor(1_000, 1.0) == 10.0  # rectangles
    assert epochs_factor(6_000, 1.0) == pytest.approx(10 / 6)  # convex
    assert epochs_factor(500, 0.05) == 1.0 and epochs_factor(50, 0.05) == 10.0  # relative to the scaled digit problems
    assert epochs_factor(60_000, 1.0) == 1.0  # never fewer epochs


def test_bench_searches_past_the_grid_edge_where_validation_chose_it():
    from sdae.commands.bench_search import beyond as _beyond

    grid = [{"noise": v, "lr": r} for v in (0.1, 0.25, 0.4) for r in (0.001, 0.002, 0.004)]
    assert _beyond({"noise": 0.25, "lr": 0.002}, grid) == []  # inside: nothing more to try
    assert _beyond({"noise": 0.4, "lr": 0.001}, grid) == [(0.55, 0.001), (0.4, 0.0005)]
    assert _beyond({"noise": 0.1, "lr": 0.004}, grid) == [(0.05, 0.004), (0.1, 0.008)]
    assert _beyond({"noise": 0.85, "lr": 0.002}, grid + [{"noise": 0.85, "lr": 0.002}]) == []  # the masking cap
    tried = grid + [{"noise": 0.55, "lr": 0.001}]
    assert _beyond({"noise": 0.4, "lr": 0.001}, tried) == [(0.4, 0.0005)]  # 0.55 was worse: only the rate goes on
    rates = [{"noise": 0.0, "lr": 0.001}, {"noise": 0.0, "lr": 0.002}]  # a model without noise: only the rate moves
    assert _beyond({"noise": 0.0, "lr": 0.001}, rates, noisy=False) == [(0.0, 0.0005)]


def test_bench_extension_tries_the_point_past_the_edge_and_keeps_the_best(cache):
    from sdae.bench_options import BenchOptions
    from sdae.commands.bench import bench
    from sdae.commands.bench_search import beyond as _beyond

    options = BenchOptions(scale=0.05, units=8, noise_levels=(0.1, 0.4), lrs=(0.001, 0.01), pretrain_epochs=1, epochs=1,
                           models=("sda3",), device="cpu")
    (row,) = bench(["rectangles"], options)
    tried, chosen = row.models["sda3"].tried, row.models["sda3"].chosen
    grid, more = tried[:4], tried[4:]
    first = min(grid, key=lambda t: (t["valid"], t["noise"], t["lr"]))
    assert more and {(t["noise"], t["lr"]) for t in more[:2]} <= set(_beyond(first, grid))  # every 2x2 choice is on an edge
    lower = [t for t in more if t["valid"] < first["valid"]]  # beyond the grid, only a lower error wins (not a tie)
    best = min(lower, key=lambda t: t["valid"]) if lower else first
    assert (chosen["noise"], chosen["lr"]) == (best["noise"], best["lr"])


def test_bench_reuses_an_earlier_runs_points_and_trains_only_the_chosen_one_again(cache, tmp_path, capsys, monkeypatch):
    from sdae.commands import bench_search as bench_module

    args = ("bench", "--problems", "rectangles", "--scale", "0.05", "--units", "8", "--noise-levels", "0.1,0.4", "--lrs",
            "0.001,0.01", "--no-extend", "--pretrain-epochs", "1", "--epochs", "2", "--models", "sda3", "--quiet")
    first_file, again_file = tmp_path / "first.json", tmp_path / "again.json"
    assert run_cli(capsys, *args, "--out", first_file)[0] == 0
    first = json.loads(first_file.read_text())["rows"][0]["models"]["sda3"]
    calls, real = [], bench_module.supervised_finetune
    monkeypatch.setattr(bench_module, "supervised_finetune", lambda *a, **k: calls.append(1) or real(*a, **k))
    code, _, err = run_cli(capsys, *args, "--reuse", first_file, "--out", again_file)
    assert code == 0, err
    again = json.loads(again_file.read_text())["rows"][0]["models"]["sda3"]
    assert len(calls) == 1  # of the four points, only the chosen one is trained again, to be tested
    assert (again["chosen"]["noise"], again["chosen"]["lr"], again["error"]) == (
        first["chosen"]["noise"], first["chosen"]["lr"], first["error"])
    (chosen,) = [t for t in again["tried"] if "valid_again" in t]
    assert chosen["valid_again"] == chosen["valid"]  # the same network as the first run's

    code, _, err = run_cli(capsys, *args[:-1], "--units", "16", "--reuse", first_file, "--quiet")
    assert code == 2 and f"{first_file}: ran with other units; its points cannot be reused" in err


def test_bench_refuses_to_reuse_a_file_that_is_not_a_bench_table(tmp_path, capsys):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"rows": [{"problem": "rectangles"}]}))
    code, _, err = run_cli(capsys, "bench", "--problems", "rectangles", "--reuse", other, "--quiet")
    assert code == 2 and f"{other}: not a table that a bench with a learning-rate search wrote" in err


def test_every_network_column_is_searched_the_same_way_and_only_the_mlp_skips_pretraining(cache, monkeypatch):
    from sdae.bench_options import BenchOptions
    from sdae.commands import bench_search
    from sdae.commands.bench import bench
    from sdae.corruption import Masking, NoNoise

    pretrained = []
    real = bench_search.pretrain

    def spy(stack, train, val, noise, options, generator, hooks=None, criterion=None):
        pretrained.append((len(stack.encoder), stack.activation, criterion.kind, noise))
        return real(stack, train, val, noise, options, generator, hooks=hooks, criterion=criterion)

    monkeypatch.setattr(bench_search, "pretrain", spy)
    options = BenchOptions(scale=0.05, units=8, noise_levels=(0.1, 0.4), lrs=(0.001, 0.01), pretrain_epochs=1, epochs=1,
                           extend=False, models=("mlp", "saa3", "dbn1", "dbn3", "sda3"), device="cpu")
    (row,) = bench(["rectangles"], options)
    assert list(row.models) == ["mlp", "saa3", "dbn1", "dbn3", "sda3"]
    kinds = [(depth, str(activation), kind, type(noise)) for depth, activation, kind, noise in pretrained]
    assert kinds == [(3, "relu", "ae", NoNoise), (1, "sigmoid", "rbm", NoNoise), (3, "sigmoid", "rbm", NoNoise),
                     (3, "relu", "dae", Masking), (3, "relu", "dae", Masking)]  # no call for the mlp
    assert [noise.nu for *_, noise in pretrained[3:]] == [0.1, 0.4]
    for name, result in row.models.items():
        levels = (0.1, 0.4) if name == "sda3" else (0.0,)
        assert {(t["noise"], t["lr"]) for t in result.tried} == {(v, r) for v in levels for r in (0.001, 0.01)}, name
        assert result.chosen["valid"] == min(t["valid"] for t in result.tried)
        assert result.epochs_run[0] == (0 if name == "mlp" else 10)  # rectangles: ten times the epochs
        assert 0 <= result.error <= 100 and (result.paper is None) == (name == "mlp")


def test_bench_preset_sets_the_papers_protocol_and_options_given_still_win(cache, tmp_path, capsys):
    out = tmp_path / "bench.json"
    code, _, err = run_cli(capsys, "bench", "--problems", "rectangles", "--scale", "0.05", "--units", "8",
                           "--preset", "vincent2010", "--lrs", "0.05", "--noise-levels", "0.25", "--no-extend",
                           "--pretrain-epochs", "1", "--epochs", "1", "--models", "sda3", "--quiet", "--out", out)
    assert code == 0, err
    written = json.loads(out.read_text())
    options = written["options"]
    assert (options["activation"], options["optimizer"], options["schedule"], options["warmup"], written["preset"],
            options["batch_size"]) == ("sigmoid", "sgd", "constant", 0.0, "vincent2010", 10)  # plain SGD, constant
    assert options["lrs"] == [0.05] and options["noise_levels"] == [0.25]  # given on the command line
    code, _, err = run_cli(capsys, "bench", "--models", "sda3,dbn7", "--quiet")
    assert code == 2 and "'dbn7' is not one of them" in err
    code, _, err = run_cli(capsys, "bench", "--models", "svm", "--no-svm", "--quiet")
    assert code == 2 and "nothing to run" in err


def test_bench_reuses_no_points_measured_on_other_data(cache, tmp_path):
    from sdae.bench_options import BenchOptions
    from sdae.commands.bench import bench, known_points

    options = BenchOptions(scale=0.05, units=8, models=("mlp",), lrs=(0.001,), pretrain_epochs=1, epochs=1,
                           extend=False, device="cpu")
    earlier = {"options": {}, "rows": [{"problem": "rectangles", "data": "original", "models": {"mlp": {"tried": []}}}]}
    known = known_points(earlier, options, "earlier.json")
    with pytest.raises(sdae.UsageError, match="measured on the original data, and this run has the generated data"):
        bench(["rectangles"], options, known=known)
