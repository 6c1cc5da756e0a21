"""Supervised fine-tuning and the classifier estimator: the paper's fine-tuning on the labels (its section 5)."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

import sdae
from sdae.options import TrainOptions
from sdae.sklearn import SDAEClassifier


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
    config = sdae.RunConfig(data=sdae.DataOptions("digits"), layers=[32], device="cpu", pretrain=TrainOptions(epochs=1))
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
