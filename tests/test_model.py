import torch
from torch import nn

from sdae import StackedDenoisingAutoencoder


def layers(seq):
    return [(type(m).__name__, getattr(m, "in_features", None), getattr(m, "out_features", None)) for m in seq]


def test_default_network_has_the_asked_for_layers_and_activations():
    model = StackedDenoisingAutoencoder([784, 256, 128, 64])
    assert layers(model.encoder) == [("Linear", 784, 256), ("ReLU", None, None), ("Linear", 256, 128),
                                     ("ReLU", None, None), ("Linear", 128, 64), ("ReLU", None, None)]
    assert layers(model.decoder) == [("Linear", 64, 128), ("ReLU", None, None), ("Linear", 128, 256),
                                     ("ReLU", None, None), ("Linear", 256, 784), ("Sigmoid", None, None)]
    x = torch.rand(5, 784)
    out = model(x)
    assert out.shape == (5, 784) and out.min() > 0 and out.max() < 1
    assert model.encode(x).shape == (5, 64) and (model.encode(x) >= 0).all()
    assert torch.allclose(torch.sigmoid(model.pre_activation(x)), out)


def test_pairs_are_views_of_the_network_layers():
    model = StackedDenoisingAutoencoder([20, 8, 4])
    pair1 = model.pair(1)
    assert pair1.encoder_linear is model.encoder[2] and pair1.decoder_linear is model.decoder[0]
    assert isinstance(pair1.output_activation, nn.ReLU)
    assert isinstance(model.pair(0).output_activation, nn.Sigmoid)
    x = torch.rand(3, 20)
    assert torch.allclose(model.pair(0)(x), model.decoder[2:](model.encoder[:2](x)))


def test_tied_decoder_uses_the_transposed_encoder_weight():
    model = StackedDenoisingAutoencoder([20, 8, 4], tied=True)
    assert torch.equal(model.decoder[2].weight, model.encoder[0].weight.t())
    names = {name for name, _ in model.named_parameters()}
    assert names == {"encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias", "decoder.0.bias", "decoder.2.bias"}
    with torch.no_grad():
        model.encoder[0].weight.add_(1.0)
    assert torch.equal(model.decoder[2].weight, model.encoder[0].weight.t())


def test_initialisation_follows_the_generator():
    a = StackedDenoisingAutoencoder([10, 5], generator=torch.Generator().manual_seed(3))
    b = StackedDenoisingAutoencoder([10, 5], generator=torch.Generator().manual_seed(3))
    c = StackedDenoisingAutoencoder([10, 5], generator=torch.Generator().manual_seed(4))
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.encoder[0].weight, c.encoder[0].weight)
