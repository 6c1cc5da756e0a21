"""The network shipped with sdae: it loads, its card describes it, and it scores what its card says."""

from __future__ import annotations

import pytest
import torch

import sdae
from sdae.data import load_dataset
from sdae.errors import UsageError
from sdae.shipped import card, pretrained
from sdae.report.reconstruction import mean_image_mse, reconstruction_errors


def test_the_shipped_mnist_network_loads_as_its_card_describes():
    info = card("mnist")
    model = pretrained("mnist")
    assert model.sizes == info["network"]["sizes"] == [784, 256, 128, 64]
    assert not model.training and model.output == "sigmoid"
    assert {"data", "commands", "test", "trained", "machine"} <= set(info)
    raw = torch.full((2, 784), 255.0)
    assert torch.allclose(model.prepare(raw), torch.ones(2, 784))  # bytes scaled as in training


def test_the_shipped_network_scores_within_1_percent_of_its_card(mnist_path):
    info = card("mnist")["test"]["reconstruction"]
    data = load_dataset("mnist", mnist_path)
    test, train = data.examples("test"), data.examples("train")
    clean = reconstruction_errors(pretrained("mnist"), test)
    assert clean["mse"] == pytest.approx(info["clean"]["mse"], rel=0.01)
    assert mean_image_mse(train, test) == pytest.approx(info["mean_image_mse"], rel=0.01)
    assert clean["mse"] < 0.2 * info["mean_image_mse"]


def test_an_unknown_name_is_refused_naming_what_ships():
    with pytest.raises(UsageError, match="sdae ships mnist"):
        sdae.pretrained("cifar")
