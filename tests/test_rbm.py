"""The restricted Boltzmann machine as a layer-wise criterion (a DBN's pretraining), and the ordinary autoencoder."""

from __future__ import annotations

import pytest
import torch
from helpers import run_cli
from safetensors.torch import load_file

import sdae
from sdae.data import Examples
from sdae.errors import UsageError
from sdae.rbm import RBMObjective, free_energy


def tiny_pair(seed: int = 0):
    model = sdae.StackedDenoisingAutoencoder([3, 2], activation="sigmoid", generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        model.decoder[-1].linear.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
        model.encoder[0].linear.bias.copy_(torch.tensor([0.05, -0.1]))
    return model, model.pair(1)


def test_the_cd1_gradient_is_the_difference_of_the_data_and_the_chains_statistics():
    """By hand: dL/dW = -(<sigma(W v0 + b) v0^T> - <sigma(W v1 + b) v1^T>) (Hinton 2002), and likewise the biases."""
    model, pair = tiny_pair()
    v0 = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    objective = RBMObjective(pair, Examples(v0), torch.Generator().manual_seed(7))
    state = objective.generator.get_state()
    loss = objective(torch.arange(4))
    loss.backward()
    objective.generator.set_state(state)  # the same chain again, to compute its end by hand
    W, b, c = (t.detach() for t in objective.parts)
    h0 = torch.bernoulli(torch.sigmoid(v0 @ W.t() + b), generator=objective.generator)
    v1 = torch.sigmoid(h0 @ W + c)
    p0, p1 = torch.sigmoid(v0 @ W.t() + b), torch.sigmoid(v1 @ W.t() + b)
    n = len(v0)
    torch.testing.assert_close(pair.encoder.linear.weight.grad, -(p0.t() @ v0 - p1.t() @ v1) / n)
    torch.testing.assert_close(pair.encoder.linear.bias.grad, -(p0 - p1).mean(0))
    torch.testing.assert_close(pair.decoder.linear.bias.grad, -(v0 - v1).mean(0))
    # the value shown is the one-step reconstruction error, not the free-energy gap
    assert float(loss.detach()) == pytest.approx(float(objective.reconstruction_error(v0)))


def test_the_free_energy_of_the_data_falls_as_the_rbm_learns_two_patterns():
    patterns = torch.tensor([[1.0] * 4 + [0.0] * 4, [0.0] * 4 + [1.0] * 4])
    data = patterns.repeat(64, 1)
    model = sdae.StackedDenoisingAutoencoder([8, 4], activation="sigmoid", generator=torch.Generator().manual_seed(0))
    W, b, c = RBMObjective(model.pair(1), Examples(data), torch.Generator()).parts
    before = float(free_energy(patterns, W, b, c).mean())
    sdae.pretrain(model, data, None, sdae.parse_noise("none"), sdae.TrainOptions(epochs=30, batch_size=16, warmup=0, lr=0.01),
                  torch.Generator().manual_seed(0), criterion=sdae.Criterion(kind="rbm"))
    after = float(free_energy(patterns, W, b, c).mean())
    noise = torch.bernoulli(torch.full((256, 8), 0.5), generator=torch.Generator().manual_seed(1))
    assert after < before - 5  # the data became far more probable ...
    assert after < float(free_energy(noise, W, b, c).mean()) - 2  # ... than random binary vectors
    torch.testing.assert_close(model.decoder[-1].linear.weight, W.t())  # unrolled into the autoencoder


def test_the_command_line_pretrains_a_dbn_and_says_so(tmp_path, capsys):
    run = tmp_path / "dbn"
    code, _, err = run_cli(capsys, "pretrain", "--out", run, "--dataset", "digits", "--layers", "16,8", "--epochs", "2",
                           "--pretraining", "rbm", "--activation", "sigmoid", "--quiet", "--device", "cpu")
    assert code == 0, err
    _, out, _ = run_cli(capsys, "info", run)
    assert "restricted Boltzmann machines, CD-1 (DBN)" in out and "(cd-1)" in out
    code, _, err = run_cli(capsys, "finetune", run, "--supervised", "--epochs", "2", "--quiet")
    assert code == 0, err  # and fine-tuned on the labels like any stack
    code, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / "relu", "--dataset", "digits", "--pretraining", "rbm",
                           "--quiet")
    assert code == 2 and "--activation sigmoid" in err and not (tmp_path / "relu").exists()
    with pytest.raises(UsageError, match="`cd_steps`"):
        sdae.RunConfig(pretraining="rbm", activation="sigmoid", cd_steps=0).validate()


def test_ordinary_autoencoder_pretraining_is_denoising_without_corruption(tmp_path, capsys):
    common = ["--dataset", "digits", "--layers", "16", "--epochs", "2", "--quiet", "--device", "cpu"]
    for name, extra in (("ae", ["--pretraining", "ae"]), ("none", ["--noise", "none"])):
        code, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / name, *common, *extra)
        assert code == 0, err
    a, b = (load_file(tmp_path / name / "pretrained.safetensors") for name in ("ae", "none"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert sdae.RunFolder.open(tmp_path / "ae").config.noise == ["gaussian:0.5", "speckle:0.5"]  # fine-tuning's
