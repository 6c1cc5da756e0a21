"""Interruption and divergence: one real SIGKILL of a subprocess; the rest in-process."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import ROOT
from helpers import run_cli

import sdae
from sdae.corruption import Corruption, Gaussian
from sdae.errors import DivergenceError
from sdae.options import TrainOptions

PRETRAIN = ["pretrain", "--dataset", "digits", "--limit", "600", "--layers", "64,32", "--epochs", "1", "--batch-size",
            "16", "--seed", "3", "--device", "cpu", "--quiet"]
EPOCHS = 40  # long enough that the run is still going when the test has looked at it and kills it
FINETUNE = ["--epochs", str(EPOCHS), "--batch-size", "16", "--quiet"]


def sdae_process(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "sdae", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finetune_epochs_done(run):
    path = run / "metrics.jsonl"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if line and json.loads(line)["stage"] == "finetune")


def weights(run):
    from safetensors.torch import load_file

    return load_file(run / "model.safetensors")


def same_weights(a, b):
    a, b = weights(a), weights(b)
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def pretrained(path, capsys):
    code, _, err = run_cli(capsys, *PRETRAIN, "--out", path)
    assert code == 0, err
    return path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run = tmp_path_factory.mktemp("whole") / "run"
    for args in (PRETRAIN + ["--out", run], ["finetune", run, *FINETUNE]):
        with pytest.raises(SystemExit) as done:
            from sdae_cli.main import main
            main([str(a) for a in args])
        assert done.value.code == 0
    return run


def test_sigkill_then_resume_ends_with_the_same_weights_and_takes_over_the_lock(uninterrupted, tmp_path, capsys):
    run = pretrained(tmp_path / "run", capsys)
    process = sdae_process("finetune", run, *FINETUNE)
    deadline = time.monotonic() + 120
    while finetune_epochs_done(run) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    # while it trains, a second writer is refused and changes nothing
    code, _, err = run_cli(capsys, *PRETRAIN, "--out", run, "--overwrite")
    assert code == 1 and f"in use by process {process.pid} (fine-tuning, since" in err and err.count("\n") == 1, \
        (code, err, process.poll())
    process.send_signal(signal.SIGKILL)
    _, child_err = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"the run ended ({process.returncode}) before it was killed: {child_err}"
    assert (run / "checkpoint.pt").exists()  # a temporary file may be left if the kill came mid-write
    assert 2 <= finetune_epochs_done(run) < EPOCHS
    code, _, err = run_cli(capsys, "finetune", run, "--resume", "--quiet", warnings=True)
    assert code == 0, err
    assert f"took over the lock left by process {process.pid}" in err
    assert not any(p.name.endswith(".tmp") for p in run.iterdir())  # the dead writer's temporaries are cleared
    assert same_weights(run, uninterrupted)
    losses = [r.train_loss for r in sdae.RunFolder.open(run).read_metrics()]
    assert losses == [r.train_loss for r in sdae.RunFolder.open(uninterrupted).read_metrics()]


def test_ctrl_c_saves_and_stops_cleanly(uninterrupted, tmp_path, capsys, monkeypatch):
    run = pretrained(tmp_path / "run", capsys)
    from sdae import progress

    def ctrl_c_in_epoch_4(self, label, done, total, loss):
        if label.startswith("finetune epoch 4/"):
            raise KeyboardInterrupt

    monkeypatch.setattr(progress.ProgressBars, "on_batch", ctrl_c_in_epoch_4)
    code, _, err = run_cli(capsys, "finetune", run, *FINETUNE[:-1])
    assert code == 130, err
    assert f"continue with sdae finetune {run} --resume" in err and err.count("\n") == 1
    assert (run / "checkpoint.pt").exists() and finetune_epochs_done(run) == 3
    monkeypatch.undo()
    code, _, err = run_cli(capsys, "finetune", run, "--resume", "--quiet")
    assert code == 0, err
    assert same_weights(run, uninterrupted)


class PoisonAfter(Corruption):
    """Gaussian noise that turns into NaN after a number of batches."""

    def __init__(self, batches):
        self.batches, self.calls = batches, 0

    def corrupt(self, x, generator, value_range):
        self.calls += 1
        out = Gaussian(0.2)(x, generator, value_range)
        return out * float("nan") if self.calls > self.batches else out

    @property
    def spec(self):
        return "poison"


def test_a_diverging_loss_stops_with_advice_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    config = sdae.RunConfig(data=sdae.DataOptions("digits", limit=320), layers=[16], device="cpu",
                            pretrain=TrainOptions(epochs=1, batch_size=32), save_every=2)
    sdae.run_pretraining(tmp_path / "r", config)
    poison = PoisonAfter(batches=9 * 3 + 4)  # 9 batches an epoch: NaN in the middle of epoch 4
    monkeypatch.setattr("sdae.commands.training.parse_noise", lambda specs: poison)
    with pytest.raises(DivergenceError, match="`lr`") as info:
        sdae.run_finetuning(tmp_path / "r", sdae.FinetuneOptions(TrainOptions(epochs=6, batch_size=32)))
    assert "epoch 4" in str(info.value) and "last good epoch's state is kept" in str(info.value)
    folder = sdae.RunFolder.open(tmp_path / "r")
    state, records = folder.load_checkpoint()
    assert state.epoch == 3  # epoch 3 was never due (save_every=2) but is the last good one
    assert all(torch.isfinite(v).all() for v in state.model.values())
    assert [r.epoch for r in records if r.stage == "finetune"] == [1, 2, 3]
    from safetensors.torch import load_file

    pretrained_weights = load_file(tmp_path / "r" / "pretrained.safetensors")
    assert all(torch.equal(pretrained_weights[k], v) for k, v in weights(tmp_path / "r").items())  # model.pt untouched
    assert folder.status.finetune == "diverged"
    with pytest.raises(sdae.UsageError, match="fine-tuning diverged; pass `overwrite=True`"):
        sdae.run_finetuning(tmp_path / "r")
    with pytest.raises(sdae.UsageError, match="resuming would diverge the same way"):
        sdae.run_finetuning(tmp_path / "r", resume=True)


def test_a_diverging_sgd_run_never_replaces_the_weights(tmp_path, capsys):
    run = pretrained(tmp_path / "run", capsys)
    before = (run / "model.safetensors").read_bytes()
    code, _, err = run_cli(capsys, "finetune", run, "--optimizer", "sgd", "--lr", "1000", "--epochs", "5", "--quiet")
    assert code == 1 and ("exploded" in err or "became" in err) and "--lr" in err and err.count("\n") == 1
    assert (run / "model.safetensors").read_bytes() == before


def test_pretraining_resumes_after_an_interruption_to_the_same_weights(tmp_path):
    def config():
        return sdae.RunConfig(data=sdae.DataOptions("digits", limit=600), layers=[32, 16, 8], device="cpu", seed=5,
                              pretrain=TrainOptions(epochs=3, batch_size=32), save_every=2)

    sdae.run_pretraining(tmp_path / "whole", config())

    def stop_in_pair_2(label, done, total, loss):
        if label.startswith("pretrain pair 2/3 epoch 2") and done == total:
            raise KeyboardInterrupt

    with pytest.raises(sdae.Interrupted, match="`resume_pretraining`"):
        sdae.run_pretraining(tmp_path / "cut", config(), hooks=sdae.Hooks(on_batch=stop_in_pair_2))
    state, _ = sdae.RunFolder.open(tmp_path / "cut").load_checkpoint()
    assert (state.pair, state.epoch) == (2, 1)  # pair 2's first epoch: saved at Ctrl-C although save_every=2
    sdae.resume_pretraining(tmp_path / "cut")
    assert same_weights(tmp_path / "cut", tmp_path / "whole")
    assert [r.train_loss for r in sdae.RunFolder.open(tmp_path / "cut").read_metrics()] == \
        [r.train_loss for r in sdae.RunFolder.open(tmp_path / "whole").read_metrics()]
