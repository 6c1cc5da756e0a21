import pytest
import torch
from torch import nn

from sdae import StackedDenoisingAutoencoder, UsageError
from sdae.device import check_fits
from sdae.layers import Layer
from sdae.options import sizes


def layers(seq):
    return [(type(u.linear).__name__, u.linear.in_features, u.linear.out_features, type(u.activation).__name__) for u in seq]


def test_default_network_has_the_asked_for_layers_and_activations():
    model = StackedDenoisingAutoencoder([784, 256, 128, 64])
    assert all(isinstance(u, Layer) for u in [*model.encoder, *model.decoder])
    assert layers(model.encoder) == [("Linear", 784, 256, "ReLU"), ("Linear", 256, 128, "ReLU"), ("Linear", 128, 64, "ReLU")]
    assert layers(model.decoder) == [("Linear", 64, 128, "ReLU"), ("Linear", 128, 256, "ReLU"), ("Linear", 256, 784, "Sigmoid")]
    x = torch.rand(5, 784)
    out = model(x)
    assert out.shape == (5, 784) and out.min() > 0 and out.max() < 1
    assert model.encode(x).shape == (5, 64) and (model.encode(x) >= 0).all()
    assert torch.allclose(torch.sigmoid(model.pre_activation(x)), out)
    assert sorted(model.state_dict())[:2] == ["decoder.0.linear.bias", "decoder.0.linear.weight"]


def test_pairs_are_views_of_the_network_units_numbered_from_the_input():
    model = StackedDenoisingAutoencoder([20, 8, 4])
    pair2 = model.pair(2)
    assert pair2.encoder is model.encoder[1] and pair2.decoder is model.decoder[0]
    assert isinstance(pair2.output_activation, nn.ReLU)
    assert isinstance(model.pair(1).output_activation, nn.Sigmoid)
    x = torch.rand(3, 20)
    assert torch.allclose(model.pair(1)(x), model.decoder[1](model.encoder[0](x)))
    assert torch.equal(model.encode(x, 1), model.encoder[0](x)) and torch.equal(model.encode(x, 0), x)
    with pytest.raises(UsageError, match="layer 3 does not exist"):
        model.pair(3)
    with pytest.raises(UsageError):
        model.pair(0)


def test_the_head_is_built_where_the_network_is():
    model = StackedDenoisingAutoencoder([10, 6]).to(torch.float64)
    head = model.add_head(3)
    assert head.weight.device == model.encoder[0].linear.weight.device
    with pytest.raises(UsageError, match="between 2 and"):
        model.add_head(1)


def test_one_rule_for_hidden_sizes():
    assert sizes("layers", (256, 128)) == [256, 128] and sizes("layers", 7) == [7]
    assert sizes("layers", "256,128") == [256, 128]  # as the command line writes them (config files too)
    for bad in ([], [0], [3, -1], ["abc", 16], [1.5], [True], "256,abc", ""):
        with pytest.raises(UsageError, match="positive whole numbers"):
            sizes("layers", bad)


def test_networks_that_cannot_fit_in_memory_are_refused_with_an_estimate():
    check_fits([784, 256, 128, 64])
    with pytest.raises(UsageError, match=r"needs about [\d.e+]+ GiB"):
        check_fits([784, 1_000_000_000])
