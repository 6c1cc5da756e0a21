import json

import torch

import sdae
from helpers import run_cli


def test_pretrain_then_finetune_on_an_mnist_subset(tmp_path, capsys, mnist_path):
    run = tmp_path / "R"
    code, out, err = run_cli(capsys, "pretrain", "--dataset", "mnist", "--data-dir", mnist_path, "--layers", "256,128,64",
                             "--epochs", "1", "--limit", "2000", "--seed", "0", "--out", run)
    assert code == 0, err
    assert "pretrain pair 3 epoch 1" in out and "pretrained 784-256-128-64" in out
    code, out, err = run_cli(capsys, "finetune", run, "--epochs", "2")
    assert code == 0, err
    assert "finetune epoch 2" in out

    model = sdae.load(run)
    kinds = [type(m).__name__ for m in [*model.encoder, *model.decoder]]
    assert kinds == ["Linear", "ReLU"] * 5 + ["Linear", "Sigmoid"]
    sizes = [(m.in_features, m.out_features) for m in [*model.encoder, *model.decoder] if hasattr(m, "in_features")]
    assert sizes == [(784, 256), (256, 128), (128, 64), (64, 128), (128, 256), (256, 784)]

    # reconstructions of test digits are closer to them than the mean training image is
    data = sdae.load_dataset("mnist", mnist_path, limit=2000)
    test = data.examples("test").batch(slice(0, 2000))
    mean_image = data.examples("train").batch(slice(None)).mean(0)
    with torch.no_grad():
        model_mse = ((model(test) - test) ** 2).mean().item()
    mean_mse = ((mean_image - test) ** 2).mean().item()
    assert model_mse < mean_mse, (model_mse, mean_mse)

    code, out, err = run_cli(capsys, "info", run)
    assert code == 0 and "784-256-128-64-128-256-784" in out and "finetune: 2 epochs" in out
    code, out, err = run_cli(capsys, "evaluate", run)
    assert code == 0 and "gaussian:0.5" in out and "mean image" in out
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["reconstruction"]["clean"]["mse"] < evaluation["reconstruction"]["mean_image_mse"]


def test_usage_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    cases = [
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--noise", "blur:0.3"], "unknown noise 'blur'"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--noise", "masking:2"], "nu must be [0, 1]"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--layers", "256,x"], "--layers"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--layers", "256,0"], "--layers"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--batch-size", "0"], "--batch-size"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--epochs", "-1"], "--epochs"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--lr", "-1"], "--lr"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "nosuch"], "unknown dataset"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--epochs", "abc"], "'abc' is not a valid integer"),
        (["finetune", tmp_path / "a", "--frobnicate"], "No such option"),
    ]
    if not torch.cuda.is_available():
        cases.append((["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--device", "cuda"], "no CUDA GPU"))
    for args, words in cases:
        code, out, err = run_cli(capsys, *args)
        assert code == 2, (args, code, err)
        assert words in err and err.count("\n") == 1 and "Traceback" not in err, (args, err)
    assert not (tmp_path / "a").exists()  # nothing was created by the refused commands


def test_data_and_run_errors_exit_1_with_the_path(tmp_path, capsys):
    code, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / "r", "--data-dir", tmp_path / "empty")
    assert code == 1 and str(tmp_path / "empty") in err and "does not exist" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "finetune", tmp_path)
    assert code == 1 and "not an sdae run folder" in err
    assert not (tmp_path / "r").exists()


def test_debug_shows_the_traceback(tmp_path, capsys):
    import pytest

    with pytest.raises(sdae.RunFolderError):
        from cli.main import main
        main(["--debug", "info", str(tmp_path)])
