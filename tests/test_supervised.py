"""Supervised fine-tuning and the classifier estimator: the paper's fine-tuning on the labels (its section 5)."""

import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

import sdae
from sdae.errors import UsageError
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


def test_with_no_validation_examples_every_epoch_runs_and_the_last_epochs_weights_are_kept(digits):
    """A refit on every training example (`val_fraction` 0): nothing to choose an epoch on, so the last one."""
    from sdae.loop import Hooks
    from sdae.stages import best_record

    examples, labels = digits.examples("train"), digits.train_labels
    model = sdae.StackedDenoisingAutoencoder([64, 32], n_classes=10, generator=torch.Generator().manual_seed(0))
    seen = []
    record_weights = Hooks(on_epoch=lambda r: seen.append({k: v.clone() for k, v in model.state_dict().items()}))
    records = sdae.supervised_finetune(model, examples.subset(torch.arange(300)), labels[:300], None, None,
                                       TrainOptions(epochs=4, batch_size=30, lr=0.01), torch.Generator().manual_seed(0),
                                       hooks=record_weights)
    assert [r.epoch for r in records] == [1, 2, 3, 4] and all(r.val_error is None for r in records)
    assert best_record(records).epoch == 4
    assert not torch.equal(seen[0]["encoder.0.linear.weight"], seen[-1]["encoder.0.linear.weight"])
    assert all(torch.equal(v, seen[-1][k]) for k, v in model.state_dict().items())
    with pytest.raises(UsageError, match="no `patience` then"):
        sdae.supervised_finetune(model, examples.subset(torch.arange(300)), labels[:300], None, None,
                                 TrainOptions(epochs=1), torch.Generator().manual_seed(0), patience=2)


def test_the_cli_fine_tunes_a_run_with_no_validation_examples_and_refuses_patience_for_it(tmp_path, capsys):
    from helpers import run_cli

    run = tmp_path / "r"
    code, _, err = run_cli(capsys, "pretrain", "--dataset", "digits", "--layers", "16", "--epochs", "1",
                           "--val-fraction", "0", "--out", run, "--quiet")
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    code, _, err = run_cli(capsys, "finetune", run, "--supervised", "--epochs", "3", "--patience", "2", "--quiet")
    assert code != 0 and "held out no validation examples" in err and "--patience" in err, err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before  # nothing written
    code, out, err = run_cli(capsys, "finetune", run, "--supervised", "--epochs", "3", "--quiet")
    assert code == 0, err
    assert "kept the last epoch, 3 (no validation examples held out)" in out, out
    code, out, err = run_cli(capsys, "evaluate", run)
    assert code == 0, err
    assert re.search(r"test classification error \d+\.\d\d% on 360 examples \(weights of epoch 3, the last\)", out), out
    code, out, err = run_cli(capsys, "info", run)
    assert code == 0 and "the last epoch kept (no validation examples held out)" in out, (out, err)


def test_a_validation_fraction_that_holds_out_no_example_is_refused(tmp_path, capsys):
    from helpers import run_cli

    code, _, err = run_cli(capsys, "pretrain", "--dataset", "digits", "--limit", "8", "--val-fraction", "0.05",
                           "--layers", "4", "--epochs", "1", "--out", tmp_path / "r", "--quiet")
    assert code != 0 and "--val-fraction 0.05 of 8 training examples holds out none" in err, err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_pictures_of_a_run_with_no_test_split_and_no_validation_use_its_training_examples(tmp_path):
    import numpy as np
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    np.savez(tmp_path / "mine.npz", x_train=(x[:200] / 16).astype(np.float32), y_train=y[:200])
    run = tmp_path / "r"
    config = sdae.RunConfig(data=sdae.DataOptions(str(tmp_path / "mine.npz"), val_fraction=0), layers=[8],
                            device="cpu", pretrain=TrainOptions(epochs=1))
    sdae.run_pretraining(run, config)
    paths = sdae.visualize_run(run)
    assert any(p.name == "filters.png" for p in paths) and len(paths) >= 3, paths


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


def test_the_classifier_refits_on_every_example_with_validation_fraction_0():
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    clf = SDAEClassifier(hidden_layer_sizes=(32,), pretrain_epochs=1, epochs=5, batch_size=32, learning_rate=5e-3,
                         validation_fraction=0, random_state=0).fit(X, y)
    assert clf.best_epoch_ == 5 and clf.validation_scores_ is None and clf.score(X, y) > 0.5
    with pytest.raises(ValueError, match="patience stops on the validation error"):
        SDAEClassifier(validation_fraction=0, patience=2).fit(X, y)
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        SDAEClassifier(validation_fraction=1.0).fit(X, y)
