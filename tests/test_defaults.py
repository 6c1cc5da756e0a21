"""Defaults that learn at every budget: a short run is not broken, the warm-up never takes most of a stage, a
batch size that gives small data enough steps, stages that stop when their loss stops falling."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch

import sdae
from helpers import run_cli
from sdae.schedule import Plateau, warmup_steps_for
from sdae.options import TrainOptions, auto_batch_size


def test_a_short_run_on_2000_digits_reconstructs_better_than_the_mean_image(mnist_path, tmp_path, capsys):
    """1 pretraining and 2 fine-tuning epochs at the defaults: the test MSE was above the mean image's (0.0723
    against 0.0656) when the warm-up outlasted such a run and 2,000 digits made 16 steps an epoch."""
    run = tmp_path / "run"
    for args in (["pretrain", "--out", run, "--limit", "2000", "--epochs", "1", "--data-dir", mnist_path],
                 ["finetune", run, "--epochs", "2"], ):
        code, _, err = run_cli(capsys, *args, "--quiet", "--device", "cpu")
        assert code == 0, err
    code, out, err = run_cli(capsys, "evaluate", run, "--json")
    assert code == 0, err
    result = json.loads(out)["reconstruction"]
    assert result["clean"]["mse"] < 0.8 * result["mean_image_mse"], result


def test_the_warmup_never_takes_more_than_half_a_stage():
    options = TrainOptions(epochs=2, warmup=5.0)
    assert warmup_steps_for(options, 100) == 100  # half of 2 epochs, not 5 epochs
    assert warmup_steps_for(TrainOptions(epochs=120, warmup=5.0), 100) == 500  # long stages: as asked
    assert warmup_steps_for(TrainOptions(epochs=10, warmup=5.0), 422) == 2110  # README's main job: unchanged
    assert warmup_steps_for(TrainOptions(epochs=1, warmup=0.0), 50) == 0


def test_the_learning_rate_reaches_lr_by_the_middle_of_a_short_stage():
    net = sdae.StackedDenoisingAutoencoder([16, 4], generator=torch.Generator().manual_seed(0))
    x = torch.rand(400, 16)
    records = sdae.pretrain(net, x, None, sdae.parse_noise("masking:0.2"), TrainOptions(epochs=2, batch_size=20),
                            torch.Generator().manual_seed(0))
    assert [r.lr for r in records] == [pytest.approx(0.002), pytest.approx(0.002)]  # full by the end of epoch 1


def test_auto_batches_give_small_data_about_100_steps_an_epoch_and_mnist_its_128():
    assert auto_batch_size(54_000) == 128  # README's main job: the batch its figures were measured with
    assert auto_batch_size(1_800) == 18 and math.ceil(1_800 / 18) == 100
    assert auto_batch_size(300) == 16
    assert TrainOptions().for_examples(1_800).batch_size == 18
    assert TrainOptions(batch_size=64).for_examples(1_800).batch_size == 64  # a number given stays


def test_a_stage_stops_when_its_loss_stops_falling_as_mlpclassifier_does():
    plateau = Plateau(tol=0.01, n_iter_no_change=2)
    assert [plateau.stalled(v) for v in (1.0, 0.5, 0.495, 0.49)] == [False, False, False, True]
    assert not any(Plateau(0.0, None).stalled(v) for v in (1.0, 1.0, 1.0, 1.0))
    net = sdae.StackedDenoisingAutoencoder([16, 4], generator=torch.Generator().manual_seed(0))
    records = sdae.pretrain(net, torch.full((64, 16), 0.5), None, sdae.parse_noise("none"),
                            TrainOptions(epochs=200, batch_size=16, tol=1e-3, n_iter_no_change=3, warmup=0),
                            torch.Generator().manual_seed(0))
    assert len(records) < 200  # a constant input is learnt in a few epochs; then three without progress end it


def test_the_estimators_at_their_defaults_stop_early_on_tiny_data():
    from sdae.sklearn import SDAETransformer

    x = np.random.default_rng(0).random((20, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SDAETransformer((4,), random_state=0).fit(x)
    assert len(model.loss_curve_) < 500  # "auto" asks 2,500 steps (2,500 epochs here); it stops long before
