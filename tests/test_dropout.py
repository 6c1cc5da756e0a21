"""Dropout in supervised fine-tuning (Srivastava et al. 2014): masks from the run's generator, scaled, off in evaluation."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import run_cli

import sdae
from sdae.objectives import ClassLogits


def classifier(seed: int = 0):
    model = sdae.StackedDenoisingAutoencoder([6, 5, 4], generator=torch.Generator().manual_seed(seed))
    model.add_head(3, generator=torch.Generator().manual_seed(seed))
    return model


def test_dropout_draws_one_mask_per_layer_from_the_generator_and_scales_what_it_keeps():
    model = classifier()
    x = torch.rand(8, 6, generator=torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(3)
    logits = ClassLogits(model, (0.2, 0.5), generator)(x)
    by_hand = torch.Generator().manual_seed(3)
    h = x * torch.empty_like(x).bernoulli_(0.8, generator=by_hand) / 0.8
    for layer in model.encoder:
        h = layer(h)
        h = h * torch.empty_like(h).bernoulli_(0.5, generator=by_hand) / 0.5
    assert model.head is not None
    torch.testing.assert_close(logits, model.head(h))
    assert not torch.allclose(logits, model.classify(x))  # something was dropped


def test_evaluation_and_no_dropout_are_the_plain_network():
    model = classifier()
    x = torch.rand(8, 6, generator=torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(3)
    torch.testing.assert_close(ClassLogits(model)(x), model.classify(x))
    model.eval()
    torch.testing.assert_close(ClassLogits(model, (0.2, 0.5), generator)(x), model.classify(x))
    assert generator.initial_seed() == 3 and torch.equal(generator.get_state(), torch.Generator().manual_seed(3).get_state())


def test_the_command_line_fine_tunes_with_dropout_and_records_it(tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli(capsys, "pretrain", "--out", run, "--dataset", "digits", "--layers", "16,8", "--epochs", "1", "--quiet")[0] == 0
    code, _, err = run_cli(capsys, "finetune", run, "--dropout", "0.5", "--epochs", "1", "--quiet")
    assert code != 0 and "--supervised" in err and "--dropout" in err
    args = ("finetune", run, "--supervised", "--dropout", "0.5", "--input-dropout", "0.2", "--epochs", "2", "--quiet")
    assert run_cli(capsys, *args)[0] == 0
    config = json.loads((run / "config.json").read_text())["config"]
    assert (config["dropout"], config["input_dropout"]) == (0.5, 0.2)
    assert "dropout 0.5 of hidden units, 0.2 of inputs" in run_cli(capsys, "info", run)[1]
    code, _, err = run_cli(capsys, "finetune", run, "--supervised", "--dropout", "1", "--overwrite", "--quiet")
    assert code != 0 and "--dropout" in err


@pytest.mark.parametrize("seed", [0])
def test_a_seeded_run_with_dropout_repeats_exactly(seed):
    x = torch.rand(64, 6, generator=torch.Generator().manual_seed(seed))
    y = (x[:, 0] * 3).long().clamp(max=2)
    weights = []
    for _ in range(2):
        model = classifier(seed)
        sdae.stages.supervised_finetune(
            model, x[:48], y[:48], x[48:], y[48:], sdae.TrainOptions(epochs=3, batch_size=16),
            torch.Generator().manual_seed(seed), dropout=(0.2, 0.5),
        )
        weights.append(model.encoder[0].linear.weight.detach().clone())
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)
