"""Dead units, the paper's sigmoid units, emphasized denoising, fixed noise, the head's own draw, svm --weights."""

import json

import torch
from helpers import run_cli

import sdae
from sdae.corruption import Masking
from sdae.objectives import DenoisingObjective, reconstruction_loss
from sdae.options import Criterion, TrainOptions


def test_dead_units_match_a_hand_count():
    model = sdae.StackedDenoisingAutoencoder([2, 4, 2])
    with torch.no_grad():
        first = model.encoder[0].linear
        first.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, 1.0]]))
        first.bias.copy_(torch.tensor([0.0, -0.5, -0.1, -5.0]))
        second = model.encoder[1].linear
        second.weight.copy_(torch.tensor([[1.0, 1.0, 1.0, 1.0], [-1.0, 0.0, 0.0, 0.0]]))
        second.bias.zero_()
    x = torch.tensor([[0.2, 0.3], [0.9, 0.8], [0.0, 0.1]])
    # layer 1: unit 0 active (0.2, 0.9); unit 1 active once (0.8 - 0.5); unit 2 never (-x - 0.1 < 0); unit 3 never (bias -5)
    # layer 2: unit 0 active; unit 1 = relu(-h0) is never active
    assert model.inactive_fractions([x[:2], x[2:]]) == [0.5, 0.5]
    sigmoid = sdae.StackedDenoisingAutoencoder([2, 2], activation="sigmoid")
    with torch.no_grad():
        sigmoid.encoder[0].linear.weight.copy_(torch.tensor([[1.0, 1.0], [0.0, 0.0]]))
        sigmoid.encoder[0].linear.bias.copy_(torch.tensor([0.0, 10.0]))  # unit 1 is stuck at sigmoid(10) > 0.99
    assert sigmoid.inactive_fractions([x]) == [0.5]


def test_runs_record_dead_units_and_info_shows_them(tmp_path, capsys):
    run = tmp_path / "R"
    code, _, err = run_cli(capsys, "pretrain", "--dataset", "digits", "--layers", "32,16", "--epochs", "1", "--out", run,
                           "--quiet")
    assert code == 0, err
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [len(r["dead_units"]) for r in records] == [1, 2]
    assert all(0 <= f <= 1 for r in records for f in r["dead_units"])
    code, out, _ = run_cli(capsys, "info", run)
    assert "dead units L1:" in out and "L2:" in out


def test_sigmoid_units_use_cross_entropy_at_every_pair(tmp_path, capsys):
    run = tmp_path / "R"
    code, out, err = run_cli(capsys, "pretrain", "--dataset", "digits", "--layers", "32,16", "--epochs", "1",
                             "--activation", "sigmoid", "--out", run)
    assert code == 0, err
    assert "pretrain pair 2/2 epoch 1/1" in out and "(bce," in out.splitlines()[1]
    model = sdae.load(run)
    assert all(type(u.activation).__name__ == "Sigmoid" for u in [*model.encoder, *model.decoder])
    codes = model.encode(torch.rand(5, 64))
    assert codes.min() > 0 and codes.max() < 1


def test_emphasis_weights_the_corrupted_components():
    x = torch.rand(8, 20)
    pair = sdae.StackedDenoisingAutoencoder([20, 6]).pair(1)
    noise = Masking(0.25)
    index = torch.arange(8)
    full = DenoisingObjective(pair, sdae.Examples(x), noise, torch.Generator().manual_seed(0), "mse",
                              criterion=Criterion(emphasis=(1.0, 0.0)))(index)
    corrupted, marked = noise.corrupt_marked(x, torch.Generator().manual_seed(0))
    errors = (pair(corrupted) - x) ** 2
    assert torch.allclose(full, (errors * marked).mean())  # alpha on the masked components, nothing elsewhere
    double = DenoisingObjective(pair, sdae.Examples(x), noise, torch.Generator().manual_seed(0), "bce",
                                criterion=Criterion(emphasis=(1.0, 0.5)))(index)
    weights = torch.where(marked, 1.0, 0.5)
    assert torch.allclose(double, reconstruction_loss(pair.pre_activation(corrupted), x, "bce", pair.output_activation, weights))


def test_fixed_noise_corrupts_each_example_once():
    x = sdae.Examples(torch.rand(50, 10))
    seen = []

    class Spy(torch.nn.Module):
        output_activation = torch.nn.Identity()

        def pre_activation(self, corrupted):
            seen.append(corrupted.clone())
            return corrupted

    objective = DenoisingObjective(Spy(), x, sdae.Gaussian(0.3), torch.Generator().manual_seed(0), "mse",
                                   criterion=Criterion(fixed=True))
    objective(torch.arange(50))
    objective(torch.arange(50))
    assert torch.equal(seen[0], seen[1]) and not torch.equal(seen[0], x.values)
    fresh = DenoisingObjective(Spy(), x, sdae.Gaussian(0.3), torch.Generator().manual_seed(0), "mse")
    fresh(torch.arange(50))
    fresh(torch.arange(50))
    assert not torch.equal(seen[2], seen[3])


def test_the_head_has_its_own_draw(tmp_path):
    config = sdae.RunConfig(data=sdae.DataOptions("digits", limit=300), layers=[16], device="cpu",
                            pretrain=TrainOptions(epochs=1))
    sdae.run_pretraining(tmp_path / "r", config)
    sdae.run_finetuning(tmp_path / "r", sdae.FinetuneOptions(TrainOptions(epochs=1, lr=1e-12), supervised=True))  # ~ its start
    from sdae.commands.rundata import prepare

    setup = prepare(config, torch.device("cpu")).init_generator  # the stream the network's first weights were drawn from
    fresh = sdae.StackedDenoisingAutoencoder([64, 16], generator=setup)
    head = sdae.load(tmp_path / "r").head.weight
    encoder_start = fresh.encoder[0].linear.weight.flatten()[: head.numel()].reshape(head.shape)
    ratio = head / encoder_start
    assert not torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), rtol=1e-3)  # not a rescaled copy


def test_svm_reads_the_weights_it_is_asked_for(tmp_path, capsys, monkeypatch):
    run = tmp_path / "R"
    for args in (["pretrain", "--dataset", "digits", "--layers", "16", "--epochs", "1", "--out", run, "--quiet"],
                 ["finetune", run, "--epochs", "1", "--quiet"]):
        code, _, err = run_cli(capsys, *args)
        assert code == 0, err
    read = []
    from sdae.commands import inspection

    original = inspection.load_model

    def spy(folder, which="latest"):
        read.append(which)
        return original(folder, which)

    monkeypatch.setattr(inspection, "load_model", spy)
    for choice, file in (("pretrained", "pretrained.safetensors"), ("finetuned", "model.safetensors"),
                         (None, "pretrained.safetensors")):
        read.clear()
        extra = [] if choice is None else ["--weights", choice]
        code, out, err = run_cli(capsys, "svm", run, "--train-size", "100", "--test-size", "50", *extra)
        assert code == 0, err
        assert read == [file] and json.loads((run / "svm.json").read_text())["weights"] == file


def test_supervised_runs_do_not_present_a_stale_decoder(tmp_path, capsys):
    run = tmp_path / "R"
    for args in (["pretrain", "--dataset", "digits", "--layers", "16", "--epochs", "1", "--out", run, "--quiet"],
                 ["finetune", run, "--supervised", "--epochs", "2", "--quiet"]):
        code, _, err = run_cli(capsys, *args)
        assert code == 0, err
    code, out, err = run_cli(capsys, "evaluate", run)
    assert code == 0 and "reconstructions by pretrained.safetensors" in out and "test classification error" in out
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["reconstruction_weights"] == "pretrained.safetensors" and evaluation["weights"] == "model.safetensors"
