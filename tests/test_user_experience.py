"""What users of ML tools expect: runs they can list, settings they can reuse, honest resumes, progress."""

import json

import pytest
from helpers import run_cli

import sdae

QUICK = ["--dataset", "digits", "--layers", "24,12", "--epochs", "1", "--quiet"]


@pytest.fixture
def two_runs(tmp_path, capsys):
    for name, extra in (("a", []), ("b/deeper", ["--noise", "masking:0.3"])):
        code, _, err = run_cli(capsys, "pretrain", *QUICK, *extra, "--out", tmp_path / name)
        assert code == 0, err
    code, _, err = run_cli(capsys, "finetune", tmp_path / "a", "--epochs", "1", "--quiet")
    assert code == 0, err
    code, _, err = run_cli(capsys, "evaluate", tmp_path / "a")
    assert code == 0, err
    return tmp_path


def test_sdae_runs_lists_every_run_with_its_figures(two_runs, capsys):
    (two_runs / "not-a-run").mkdir()
    code, out, err = run_cli(capsys, "runs", two_runs)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["run", "data", "layers", "noise"] and len(lines) == 3
    assert "masking:0.3" in lines[2] and "complete (denoising)" in lines[1] and "mse 0." in lines[1]
    code, out, _ = run_cli(capsys, "runs", two_runs, "--json")
    runs = json.loads(out)
    assert [r["sizes"] for r in runs] == [[64, 24, 12], [64, 24, 12]]
    assert runs[0]["evaluation"]["reconstruction"]["clean"]["mse"] > 0 and runs[1]["status"]["finetune"] is None


def test_info_and_evaluate_speak_json(two_runs, capsys):
    code, out, _ = run_cli(capsys, "info", two_runs / "a", "--json")
    info = json.loads(out)
    assert code == 0 and info["config"]["layers"] == [24, 12] and "finetune" in info["last_epochs"]
    code, out, _ = run_cli(capsys, "evaluate", two_runs / "a", "--json")
    assert code == 0 and set(json.loads(out)["reconstruction"]) >= {"clean", "mean_image_mse"}


def test_a_run_starts_from_a_config_file_with_options_overriding_it(two_runs, tmp_path, capsys):
    settings = tmp_path / "small.toml"
    settings.write_text('hidden = [20, 10]\nnoise = ["masking:0.2"]\n[data]\ndataset = "digits"\n'
                        '[pretrain]\nepochs = 1\nlr = 0.004\n')
    code, _, err = run_cli(capsys, "pretrain", "--config", settings, "--lr", "0.003", "--out", tmp_path / "t", "--quiet")
    assert code == 0, err
    config = sdae.RunFolder.open(tmp_path / "t").config
    assert config.layers == [20, 10] and config.noise == ["masking:0.2"] and config.pretrain.lr == 0.003
    code, _, err = run_cli(capsys, "pretrain", "--config", two_runs / "b/deeper/config.json", "--seed", "4",
                           "--out", tmp_path / "j", "--quiet")
    assert code == 0, err
    config = sdae.RunFolder.open(tmp_path / "j").config
    assert config.noise == ["masking:0.3"] and config.seed == 4 and config.layers == [24, 12]
    settings.write_text("hiden = [3]\n")
    code, _, err = run_cli(capsys, "pretrain", "--config", settings, "--out", tmp_path / "x")
    assert code == 2 and "unknown setting 'hiden'" in err and not (tmp_path / "x").exists()


def test_resume_refuses_options_it_would_ignore(two_runs, capsys):
    code, _, err = run_cli(capsys, "finetune", two_runs / "a", "--resume", "--lr", "0.1", "--batch-size", "9")
    assert code == 2 and ("would ignore --batch-size, --lr" in err or "would ignore --lr, --batch-size" in err), err
    code, _, err = run_cli(capsys, "pretrain", "--out", two_runs / "a", "--resume", "--layers", "8")
    assert code == 2 and "--layers" in err


def test_fine_tuning_again_clears_what_described_the_old_weights(two_runs, capsys):
    run = two_runs / "a"
    code, _, err = run_cli(capsys, "visualize", run)
    assert code == 0 and (run / "figures").is_dir() and (run / "evaluation.json").is_file()
    code, _, err = run_cli(capsys, "finetune", run, "--epochs", "1", "--overwrite", "--quiet")
    assert code == 0, err
    assert not (run / "figures").exists() and not (run / "evaluation.json").exists()
    code, out, _ = run_cli(capsys, "info", run)
    assert "evaluation.json" not in out


def test_verbose_python_api_shows_progress(tmp_path, capsys):
    config = sdae.RunConfig(data=sdae.DataOptions("digits", limit=200), layers=[8], pretrain=sdae.TrainOptions(epochs=2))
    sdae.run_pretraining(tmp_path / "v", config, verbose=True)
    out = capsys.readouterr().out
    assert "pretrain pair 1/1 epoch 1/2:" in out and "pretrain pair 1/1 epoch 2/2:" in out
    sdae.run_pretraining(tmp_path / "q", config)
    assert capsys.readouterr().out == ""  # the library is silent unless asked


def test_tensorboard_logs_read_back_with_tensorboards_own_reader(tmp_path, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "tb"
    for args in (["pretrain", *QUICK, "--epochs", "2", "--log", "tensorboard", "--out", run],
                 ["finetune", run, "--epochs", "3", "--quiet"], ["visualize", run]):
        code, _, err = run_cli(capsys, *args)
        assert code == 0, err
    scalars, images, texts = set(), set(), set()
    for events in (run / "tensorboard").iterdir():
        log = EventAccumulator(str(events), size_guidance={"images": 0, "tensors": 0})
        log.Reload()
        scalars |= set(log.Tags()["scalars"])
        images |= set(log.Tags()["images"])
        texts |= set(log.Tags()["tensors"])
        if "finetune/train_loss" in log.Tags()["scalars"]:
            steps = [event.step for event in log.Scalars("finetune/train_loss")]
            assert steps == [1, 2, 3]
    assert {"pretrain/pair1/train_loss", "pretrain/pair2/val_loss", "pretrain/pair2/dead_units/layer2",
            "finetune/lr", "finetune/val_loss"} <= scalars
    assert {"figures/filters", "figures/denoising", "figures/curves"} <= images
    assert any(tag.startswith("config") for tag in texts)


def test_resume_with_more_epochs_extends_a_finished_fine_tuning(tmp_path, capsys):
    runs = {}
    for name, epochs in (("extended", "2"), ("straight", "4")):
        runs[name] = tmp_path / name
        code, _, err = run_cli(capsys, "pretrain", *QUICK, "--out", runs[name])
        assert code == 0, err
        # a warm-up of one epoch fits in both (a longer one is cut to half the stage, so 2 + 2 would differ from 4)
        code, _, err = run_cli(capsys, "finetune", runs[name], "--epochs", epochs, "--warmup", "1", "--quiet")
        assert code == 0, err
    code, _, err = run_cli(capsys, "finetune", runs["extended"], "--resume")
    assert code == 2 and "already complete" in err and "--epochs" in err
    code, _, err = run_cli(capsys, "finetune", runs["extended"], "--resume", "--epochs", "2")
    assert code == 2 and "would not extend" in err
    code, out, err = run_cli(capsys, "finetune", runs["extended"], "--resume", "--epochs", "4", "--quiet")
    assert code == 0, err
    a, b = sdae.load(runs["extended"]).state_dict(), sdae.load(runs["straight"]).state_dict()
    assert all(a[k].equal(b[k]) for k in a)  # the same as 4 epochs in one go (constant learning rate)
    epochs = [r.epoch for r in sdae.RunFolder.open(runs["extended"]).read_metrics() if r.stage == "finetune"]
    assert epochs == [1, 2, 3, 4]
