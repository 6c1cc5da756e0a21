import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import sdae
from conftest import ROOT
from sdae.corruption import Corruption, Gaussian
from sdae.errors import DivergenceError
from sdae.train import TrainOptions

PRETRAIN = ["pretrain", "--dataset", "digits", "--layers", "256,128", "--epochs", "1", "--batch-size", "16", "--seed", "3",
            "--device", "cpu", "--quiet"]
FINETUNE_EPOCHS = "12"


def sdae_process(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "cli.main", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finetune_epochs_done(run):
    path = run / "metrics.jsonl"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if line and json.loads(line)["stage"] == "finetune")


def interrupt_midway(run, sig):
    """Start `sdae finetune`, send `sig` once two epochs are saved, and return the finished process."""
    process = sdae_process("finetune", run, "--epochs", FINETUNE_EPOCHS, "--batch-size", "16", "--quiet")
    deadline = time.monotonic() + 120
    while finetune_epochs_done(run) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(sig)
    out, err = process.communicate(timeout=60)
    return process, err


def weights(run):
    return torch.load(run / "model.pt", weights_only=True)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run = tmp_path_factory.mktemp("whole") / "run"
    for args in (PRETRAIN + ["--out", run], ["finetune", run, "--epochs", FINETUNE_EPOCHS, "--batch-size", "16", "--quiet"]):
        process = sdae_process(*args)
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    return run


def pretrained_copy(tmp_path):
    run = tmp_path / "run"
    process = sdae_process(*PRETRAIN, "--out", run)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return run


def test_sigkill_then_resume_ends_with_the_same_weights(uninterrupted, tmp_path):
    run = pretrained_copy(tmp_path)
    process, _ = interrupt_midway(run, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert (run / "checkpoint.pt").exists() and not any(p.name.endswith(".tmp") for p in run.iterdir())
    assert 2 <= finetune_epochs_done(run) < int(FINETUNE_EPOCHS)
    resumed = sdae_process("finetune", run, "--resume", "--quiet")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    a, b = weights(run), weights(uninterrupted)
    assert all(torch.equal(a[k], b[k]) for k in a)
    losses = [r["train_loss"] for r in sdae.RunFolder.open(run).read_metrics()]
    assert losses == [r["train_loss"] for r in sdae.RunFolder.open(uninterrupted).read_metrics()]


def test_ctrl_c_saves_and_stops_cleanly(uninterrupted, tmp_path):
    run = pretrained_copy(tmp_path)
    process, err = interrupt_midway(run, signal.SIGINT)
    assert process.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err and err.count("\n") == 1
    assert (run / "checkpoint.pt").exists()
    resumed = sdae_process("finetune", run, "--resume", "--quiet")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    a, b = weights(run), weights(uninterrupted)
    assert all(torch.equal(a[k], b[k]) for k in a)


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
    config = sdae.RunConfig(data=sdae.DataOptions("digits", limit=320), hidden=[16], device="cpu",
                            pretrain=TrainOptions(epochs=1, batch_size=32), save_every=2)
    sdae.run_pretraining(tmp_path / "r", config)
    poison = PoisonAfter(batches=9 * 3 + 4)  # 9 batches an epoch: NaN in the middle of epoch 4
    monkeypatch.setattr("sdae.workflow.parse_noise", lambda specs: poison)
    with pytest.raises(DivergenceError, match="--lr") as info:
        sdae.run_finetuning(tmp_path / "r", TrainOptions(epochs=6, batch_size=32))
    assert "epoch 4" in str(info.value)
    state, records = sdae.RunFolder.open(tmp_path / "r").load_checkpoint()
    assert state.epoch == 3  # epoch 3 was never due (save_every=2) but is the last good one
    assert all(torch.isfinite(v).all() for v in state.model.values())
    assert [r["epoch"] for r in records if r["stage"] == "finetune"] == [1, 2, 3]
    pretrained = torch.load(tmp_path / "r" / "pretrained.pt", weights_only=True)
    assert all(torch.equal(pretrained[k], v) for k, v in weights(tmp_path / "r").items())  # model.pt untouched


def test_pretraining_resumes_after_an_interruption_to_the_same_weights(tmp_path):
    def config():
        return sdae.RunConfig(data=sdae.DataOptions("digits", limit=600), hidden=[32, 16, 8], device="cpu", seed=5,
                              pretrain=TrainOptions(epochs=3, batch_size=32), save_every=2)

    sdae.run_pretraining(tmp_path / "whole", config())
    seen = []

    def stop_in_pair_2(label, done, total, loss):
        seen.append(label)
        if label.startswith("pretrain pair 2/3 epoch 2") and done == total:
            raise KeyboardInterrupt

    with pytest.raises(sdae.Interrupted, match="--resume"):
        sdae.run_pretraining(tmp_path / "cut", config(), hooks=sdae.Hooks(on_batch=stop_in_pair_2))
    state, _ = sdae.RunFolder.open(tmp_path / "cut").load_checkpoint()
    assert (state.pair, state.epoch) == (1, 1)  # pair 2's first epoch: saved at Ctrl-C although save_every=2
    sdae.resume_pretraining(tmp_path / "cut")
    a, b = weights(tmp_path / "cut"), weights(tmp_path / "whole")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["train_loss"] for r in sdae.RunFolder.open(tmp_path / "cut").read_metrics()] == \
        [r["train_loss"] for r in sdae.RunFolder.open(tmp_path / "whole").read_metrics()]
