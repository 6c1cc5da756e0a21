import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

import sdae
from sdae.data import variants
from sdae.sklearn import SDAEClassifier
from sdae.train import TrainOptions


@pytest.fixture(scope="module")
def fake_mnist():
    """Digit-like images: a random bright blob on black, labels 0-9, enough for the small scales."""
    rng = np.random.default_rng(0)
    images = np.zeros((1500, 28, 28), dtype=np.uint8)
    for i in range(1500):
        r, c = rng.integers(4, 20, 2)
        images[i, r:r + 6, c:c + 3] = rng.integers(100, 256)
    return images, np.arange(1500) % 10


@pytest.mark.parametrize("name", variants.NAMES)
def test_each_variant_has_shapes_range_balance_and_is_reproducible(name, fake_mnist):
    a = variants.generate(name, seed=1, scale=0.02, mnist=fake_mnist)
    b = variants.generate(name, seed=1, scale=0.02, mnist=fake_mnist)
    c = variants.generate(name, seed=2, scale=0.02, mnist=fake_mnist)
    expected = variants.split_sizes(name, 0.02)
    assert tuple(len(a.x[s]) for s in ("train", "valid", "test")) == expected
    for split in ("train", "valid", "test"):
        assert a.x[split].shape == (len(a.y[split]), 784) and a.x[split].dtype == np.float32
        assert a.x[split].min() >= 0 and a.x[split].max() <= 1
        assert np.array_equal(a.x[split], b.x[split]) and np.array_equal(a.y[split], b.y[split])
    assert not np.array_equal(a.x["test"], c.x["test"])
    counts = np.bincount(a.y["test"])
    n_classes = 10 if name.startswith("mnist") else 2
    assert len(counts) == n_classes and counts.min() > 0.5 * counts.mean()


def test_published_split_sizes():
    assert variants.split_sizes("mnist-rot") == (10000, 2000, 50000)
    assert variants.split_sizes("rectangles") == (1000, 200, 50000)


def test_variant_semantics(fake_mnist):
    rect = variants.generate("rectangles", scale=0.05)
    images = rect.x["train"].reshape(-1, 28, 28)
    for image, label in zip(images, rect.y["train"]):
        rows, cols = np.nonzero(image)
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert (height > width) == bool(label) and abs(height - width) >= 3
    basic = variants.generate("mnist-basic", scale=0.02, mnist=fake_mnist)
    bg = variants.generate("mnist-bg-rand", scale=0.02, mnist=fake_mnist)
    digit = basic.x["train"] > 0
    assert np.array_equal(bg.x["train"][digit], basic.x["train"][digit])  # same digits, same order
    assert (bg.x["train"][~digit] > 0).mean() > 0.99  # background replaced by noise
    convex = variants.generate("convex", scale=0.02)
    for image, label in zip(convex.x["train"].reshape(-1, 28, 28), convex.y["train"]):
        area, hull = image.sum(), variants._hull_area(image > 0)
        assert (area >= 0.8 * hull) if label else (area < 0.75 * hull)


def test_supervised_finetuning_learns(mnist_small):
    examples = mnist_small.examples("train")
    labels = mnist_small.train_labels
    train, val = examples.subset(torch.arange(800)), examples.subset(torch.arange(800, 1000))
    model = sdae.StackedDenoisingAutoencoder([784, 128, 64], generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(0)
    sdae.pretrain(model, train, val, sdae.parse_noise("masking:0.25"), TrainOptions(epochs=1), generator)
    model.add_head(10, generator=torch.Generator().manual_seed(0))
    from sdae.stages import classification_scores

    records = sdae.supervised_finetune(model, train, labels[:800], val, labels[800:],
                                       TrainOptions(epochs=6, batch_size=32), generator)
    error, _ = classification_scores(model, val, labels[800:])
    assert error < 0.2  # chance is 0.9
    best = min(records, key=lambda r: (r.val_error, r.val_loss))
    assert error == pytest.approx(best.val_error)  # the kept weights are the best epoch's


def test_early_stopping_stops_after_patience_epochs_without_improvement(digits):
    examples, labels = digits.examples("train"), digits.train_labels
    train, val = examples.subset(torch.arange(100)), examples.subset(torch.arange(1000, 1400))
    model = sdae.StackedDenoisingAutoencoder([64, 32], n_classes=10, generator=torch.Generator().manual_seed(0))
    records = sdae.supervised_finetune(model, train, labels[:100], val, labels[1000:1400],
                                       TrainOptions(epochs=200, batch_size=10, lr=0.01), torch.Generator().manual_seed(0),
                                       patience=3)
    best = min(records, key=lambda r: (r.val_error, r.val_loss))
    assert len(records) < 200 and records[-1].epoch == best.epoch + 3


class Untouchable:
    """Stands in for the test arrays: any use at all fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"the test set was read ({name})")

    def __getitem__(self, index):
        raise AssertionError("the test set was read")

    def __len__(self):
        raise AssertionError("the test set was read")


def test_model_selection_never_reads_the_test_set(tmp_path, monkeypatch):
    """Pretraining and supervised fine-tuning (which chooses its epoch) never touch the test arrays at all."""
    from sdae.commands import rundata

    real = rundata.load_dataset

    def without_test(*args, **kwargs):
        dataset = real(*args, **kwargs)
        dataset.test, dataset.test_labels = Untouchable(), Untouchable()
        return dataset

    monkeypatch.setattr(rundata, "load_dataset", without_test)
    config = sdae.RunConfig(data=sdae.DataOptions("digits"), hidden=[32], device="cpu", pretrain=TrainOptions(epochs=1))
    sdae.run_pretraining(tmp_path / "r", config)
    sdae.run_finetuning(tmp_path / "r", sdae.FinetuneOptions(TrainOptions(epochs=4, batch_size=32), supervised=True))
    monkeypatch.undo()
    results = sdae.evaluate_run(tmp_path / "r")
    assert 0 <= results["classification"]["test_error"] < 0.5


def test_classifier_follows_scikit_learn_conventions():
    X, y = load_digits(return_X_y=True)
    X, y = X[:500], np.array(list("abcdefghij"))[y[:500]]
    clf = SDAEClassifier(hidden_layer_sizes=(48,), pretrain_epochs=1, epochs=8, batch_size=32, learning_rate=5e-3,
                         random_state=0)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    assert clone(clf).get_params() == clf.get_params()
    clf.fit(X, y)
    assert list(clf.classes_) == list("abcdefghij")
    proba = clf.predict_proba(X[:20])
    assert proba.shape == (20, 10) and np.allclose(proba.sum(1), 1)
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert clf.score(X, y) > 0.7 and 1 <= clf.best_epoch_ <= 8 and len(clf.validation_scores_) == 8
    with pytest.raises(ValueError):
        SDAEClassifier(epochs=0).fit(X, y)
