import json

import pytest
import torch

import sdae
from conftest import ROOT
from helpers import run_cli


def test_pretrain_then_finetune_on_an_mnist_subset(tmp_path, capsys, mnist_path):
    run = tmp_path / "R"
    # the defaults' warmup (5 epochs) and small initial weights are made for full runs; a small one warms up faster
    code, out, err = run_cli(capsys, "pretrain", "--dataset", "mnist", "--data-dir", mnist_path, "--layers", "256,128,64",
                             "--epochs", "2", "--warmup", "1", "--limit", "2000", "--seed", "0", "--out", run)
    assert code == 0, err
    assert "pretrain pair 3/3 epoch 2/2" in out and "pretrained 784-256-128-64" in out
    code, out, err = run_cli(capsys, "finetune", run, "--epochs", "6", "--warmup", "1")
    assert code == 0, err
    assert "finetune epoch 6/6" in out

    model = sdae.load(run)
    kinds = [type(m).__name__ for unit in [*model.encoder, *model.decoder] for m in unit]
    assert kinds == ["Linear", "ReLU"] * 5 + ["Linear", "Sigmoid"]
    sizes = [(u.linear.in_features, u.linear.out_features) for u in [*model.encoder, *model.decoder]]
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
    assert code == 0 and "784-256-128-64-128-256-784" in out and "finetune: 6 epochs" in out


def test_usage_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    cases = [
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--noise", "blur:0.3"], "unknown noise 'blur'"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--noise", "masking:2"], "nu must be [0, 1]"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--noise", "none:0.5"], "none takes no level"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--seed", str(10**30)], "--seed must be"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--layers", str(10**25)], "GiB"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--save-every", "0"], "--save-every"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--layers", "256,x"], "--layers"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--layers", "256,0"], "--layers"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--batch-size", "0"], "--batch-size"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--epochs", "-1"], "--epochs"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--lr", "-1"], "--lr"),
        (["pretrain", "--out", tmp_path / "a", "--dataset", "nosuch"], "unknown dataset"),
    ]
    if not torch.cuda.is_available():
        cases.append((["pretrain", "--out", tmp_path / "a", "--dataset", "digits", "--device", "cuda"], "no CUDA GPU"))
    for args, words in cases:
        code, out, err = run_cli(capsys, *args)
        assert code == 2, (args, code, err)
        assert words in err and err.count("\n") == 1 and "Traceback" not in err, (args, err)
        assert "`" not in err, err  # the library's parameter names were translated into flags
    assert not (tmp_path / "a").exists()  # nothing was created by the refused commands


@pytest.mark.parametrize("args, words", [
    (["pretrain", "--out", "X", "--dataset", "digits", "--epochs", "abc"], "'abc' is not a valid integer"),
    (["finetune", "X", "--frobnicate"], "No such option"),
    (["evaluate"], "Missing argument 'RUN'"),
    ([], "Commands:"),
])
def test_command_line_mistakes_get_clicks_usage_and_hint(capsys, args, words):
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and words in out + err and "Usage: sdae" in out + err and "Traceback" not in err


def test_debug_works_anywhere_on_the_line(tmp_path):
    with pytest.raises(sdae.RunFolderError):
        from sdae_cli.main import main
        main(["info", str(tmp_path), "--debug"])


def test_every_parameter_a_library_message_names_has_a_flag():
    """Library messages name Python parameters in backticks; the CLI must know each one's command-line words."""
    import ast
    import re

    from sdae_cli.messages import FLAGS

    names = set()
    for path in (ROOT / "sdae").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                for part in ast.walk(node.exc):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        names.update(re.findall(r"`([^`]+)`", part.value))
    assert names, "found no parameter names at all: the scan is broken"
    assert names <= set(FLAGS), sorted(names - set(FLAGS))


def test_library_messages_never_name_flags():
    import re

    for path in (ROOT / "sdae").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "Error(" in line or line.strip().startswith(("f\"", "\"")):
                assert not re.search(r"--[a-z]", line), f"{path.name}:{number}: {line.strip()}"


def test_digits_end_to_end_through_the_cli(tmp_path, capsys):
    run = tmp_path / "R"
    code, out, err = run_cli(capsys, "pretrain", "--dataset", "digits", "--layers", "48,24", "--epochs", "5", "--out", run,
                             "--warmup", "1", "--batch-size", "32", "--quiet")
    assert code == 0 and "pretrained 64-48-24" in out, err
    code, out, err = run_cli(capsys, "finetune", run, "--epochs", "10", "--warmup", "1", "--batch-size", "32", "--quiet")
    assert code == 0 and f"fine-tuned {run}" in out, err
    code, out, err = run_cli(capsys, "info", run)
    assert code == 0 and "64-48-24-48-64" in out and "finetune: 10 epochs" in out and "run id" in out
    code, out, err = run_cli(capsys, "evaluate", run)
    assert code == 0 and "mean image" in out
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["reconstruction"]["clean"]["mse"] < evaluation["reconstruction"]["mean_image_mse"]
    for bad in ("0", "-5"):
        code, _, err = run_cli(capsys, "svm", run, "--test-size", bad)
        assert code == 2 and "--test-size must be a whole number >= 1" in err, err


def test_python_m_sdae_runs_the_command_line():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "sdae", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip() == f"sdae, version {sdae.__version__}"


def test_data_and_run_errors_exit_1_with_the_path(tmp_path, capsys):
    code, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / "r", "--data-dir", tmp_path / "empty")
    assert code == 1 and str(tmp_path / "empty") in err and "does not exist" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "finetune", tmp_path)
    assert code == 1 and "not an sdae run folder" in err
    assert not (tmp_path / "r").exists()


def test_debug_shows_the_traceback(tmp_path, capsys):
    import pytest

    with pytest.raises(sdae.RunFolderError):
        from sdae_cli.main import main
        main(["--debug", "info", str(tmp_path)])


def test_every_package_is_installed():
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sdae").rglob("__init__.py")}
    assert found | {"sdae_cli"} == listed
