import json

import pytest
import torch
from conftest import ROOT
from helpers import run_cli

import sdae


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


def test_every_parameter_a_library_message_names_has_a_flag():
    """Library messages name Python parameters in backticks; the CLI must know each one's command-line words."""
    import ast
    import re

    from sdae_cli.main import cli
    from sdae_cli.messages import flags_of

    flags = flags_of(cli)
    names = set()
    for path in (ROOT / "sdae").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                for part in ast.walk(node.exc):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        names.update(re.findall(r"`([^`]+)`", part.value))
    assert names, "found no parameter names at all: the scan is broken"
    assert names <= set(flags), sorted(names - set(flags))


def test_library_errors_name_python_parameters_and_the_cli_turns_them_into_flags(tmp_path):
    """A Python user reads `lr`, never --lr; the command line shows the same message with its flags and commands."""
    import re

    from sdae_cli.main import cli
    from sdae_cli.messages import flags_of, translate

    flags = flags_of(cli)  # what the command line calls each library name
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my own file")
    diverging = sdae.TrainOptions(epochs=3, batch_size=8, optimizer="sgd", lr=1e6, warmup=0)
    mistakes = [  # (a mistake made through the Python API, what the command line must turn its message into)
        (lambda: sdae.TrainOptions(lr=-1).validate(), ["--lr"]),
        (lambda: sdae.TrainOptions(batch_size=0).validate(), ["--batch-size"]),
        (lambda: sdae.load_dataset("digits", limit=0), ["--limit"]),
        (lambda: sdae.StackedDenoisingAutoencoder([64, 0]), ["--layers"]),
        (lambda: sdae.resolve_device("tpu"), ["--device"]),
        (lambda: sdae.parse_noise("masking:2"), ["--noise"]),
        (lambda: sdae.run_finetuning(foreign), ["sdae pretrain --out"]),
        (lambda: sdae.finetune(sdae.StackedDenoisingAutoencoder([4, 2], generator=torch.Generator().manual_seed(0)),
                               torch.rand(64, 4, generator=torch.Generator().manual_seed(0)), None, sdae.Gaussian(0.1),
                               diverging, torch.Generator().manual_seed(0)), ["--lr", "--overwrite"]),
    ]
    for mistake, cli_words in mistakes:
        with pytest.raises(sdae.SDAEError) as info:  # an SDAEError: the command line shows it as one line
            mistake()
        message = str(info.value)
        assert not re.search(r"--[a-z]", message), message  # no flag in the library's own words
        names = re.findall(r"`([^`]+)`", message)
        assert names and set(names) <= set(flags), message  # Python names, each one the command line knows
        shown = translate(message, flags, str(foreign))
        assert "`" not in shown and all(words in shown for words in cli_words), (message, shown)


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


def test_a_failing_command_says_what_and_how_in_one_line_and_debug_shows_the_traceback_instead(tmp_path, capsys):
    """`sdae finetune` on a folder that is not a run: one line that names the folder, says what is wrong and
    what to run instead, exit code 1, no traceback, and nothing written into the folder. `--debug`, before or
    after the command, lets the library's exception through (Python prints its traceback) instead of that line."""
    from sdae_cli.main import main

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my own file")

    def contents():
        return {p.relative_to(folder): p.read_bytes() if p.is_file() else "folder" for p in folder.rglob("*")}

    before = contents()
    for args in (["--debug", "finetune", str(folder)], ["finetune", str(folder), "--epochs", "1", "--debug"]):
        with pytest.raises(sdae.RunFolderError) as info:
            main(args)
        out, err = capsys.readouterr()
        assert str(info.value) == f"{folder} is not an sdae run folder (no sdae-run.json); create one with `run_pretraining`"
        assert "sdae: error" not in err and out == "", (args, out, err)  # the traceback instead of the line, not both
        assert contents() == before, args
    # the same mistake without --debug (after --debug runs: the flag does not stick to later commands)
    code, out, err = run_cli(capsys, "finetune", folder, "--epochs", "1", warnings=True)
    assert code == 1, (code, err)
    assert err == f"sdae: error: {folder} is not an sdae run folder (no sdae-run.json); create one with " \
                  f"sdae pretrain --out {folder}\n"  # one line, in the command line's words; no traceback
    assert out == ""
    assert contents() == before  # no lock file, no config, nothing


def test_every_package_is_installed():
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sdae").rglob("__init__.py")}
    assert found | {"sdae_cli"} == listed
