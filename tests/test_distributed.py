"""Data-parallel training: `torchrun --nproc-per-node 2 -m sdae ...` (gloo, on the CPU) against one process."""

import json
import os
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

import sdae
from conftest import ROOT

PRETRAIN = ["pretrain", "--dataset", "digits", "--layers", "256,128", "--batch-size", "32", "--seed", "5", "--device",
            "cpu", "--quiet"]
# The contract: N processes end within 1% of one process's final validation loss (the difference is that
# of another draw of the order and the noise). Measured on 10,000 MNIST digits (1,000 validation ones);
# on scikit-learn's digits (144 validation examples) two draws differ by up to 1.5% by themselves.
MNIST = ["pretrain", "--dataset", "mnist", "--limit", "10000", "--layers", "64", "--seed", "5", "--device", "cpu",
         "--quiet", "--epochs", "6"]
TOLERANCE = 0.01


def env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "SDAE_DIST_TIMEOUT": "60"}


def torchrun(*args, nproc=2, **kwargs):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
               "-m", "sdae", *map(str, args)]
    return subprocess.Popen(command, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def finished(process, timeout=240):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return out, err


def wait_for_checkpoint(run, seconds=240):
    deadline = time.time() + seconds
    while time.time() < deadline and not (run / "checkpoint.pt").exists():
        time.sleep(0.2)


def records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]


def final_val(run, stage="pretrain"):
    return [r for r in records(run) if r["stage"] == stage][-1]["val_loss"]


@pytest.fixture(scope="module")
def two_and_one(tmp_path_factory, mnist_path):
    root = tmp_path_factory.mktemp("ddp")
    two, one = root / "two", root / "one"
    out, _ = finished(torchrun(*MNIST, "--data-dir", mnist_path, "--out", two))
    single = subprocess.run([sys.executable, "-m", "sdae", *MNIST, "--data-dir", mnist_path, "--out", one], env=env(),
                            capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    return two, one, out


def test_two_processes_train_like_one_and_only_rank_0_writes(two_and_one):
    two, one, out = two_and_one
    assert out.count("pretrained 784-64 into") == 1  # rank 1 prints nothing
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())
    assert [r["epoch"] for r in records(two)] == list(range(1, 7))  # one writer: each epoch once
    a, b = final_val(two), final_val(one)
    assert abs(a - b) / b < TOLERANCE, (a, b)
    assert sdae.load(two).sizes == [784, 64]
    assert not torch.equal(load_file(two / "model.safetensors")["encoder.0.linear.weight"],
                           load_file(one / "model.safetensors")["encoder.0.linear.weight"])  # a different draw


def test_fine_tuning_both_ways_with_two_processes(two_and_one, tmp_path):
    _, one, _ = two_and_one
    for name in ("two", "one"):  # the same pretrained network, fine-tuned by two processes and by one
        subprocess.run(["cp", "-r", str(one), str(tmp_path / name)], check=True)
    finished(torchrun("finetune", tmp_path / "two", "--epochs", "6", "--quiet"))
    single = subprocess.run([sys.executable, "-m", "sdae", "finetune", tmp_path / "one", "--epochs", "6", "--quiet"],
                            env=env(), capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    a, b = final_val(tmp_path / "two", "finetune"), final_val(tmp_path / "one", "finetune")
    assert abs(a - b) / b < TOLERANCE, (a, b)
    out, _ = finished(torchrun("finetune", tmp_path / "two", "--supervised", "--epochs", "3", "--overwrite", "--quiet"))
    assert "validation error" in out
    assert sdae.load(tmp_path / "two").head is not None


def test_resume_after_sigkill_of_the_launcher_continues_exactly(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    args = [*PRETRAIN, "--epochs", "30"]
    finished(torchrun(*args, "--out", whole))
    launcher = torchrun(*args, "--out", cut)
    wait_for_checkpoint(cut)
    time.sleep(0.5)
    launcher.kill()  # SIGKILL to the launcher alone: its workers must not train on, orphaned
    launcher.wait()
    time.sleep(1)
    done = [(r["pair"], r["epoch"]) for r in records(cut)]
    assert done and done[-1] != (2, 30), "the run finished before it was killed; make it longer"
    finished(torchrun("pretrain", "--out", cut, "--resume", "--quiet"))
    assert [(r["pair"], r["epoch"]) for r in records(cut)] == [(k, e) for k in (1, 2) for e in range(1, 31)]
    a, b = load_file(whole / "model.safetensors"), load_file(cut / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a), "same world size: the resumed run must equal the uninterrupted one"


def test_a_resume_with_another_world_size_continues(tmp_path):
    run = tmp_path / "run"
    launcher = torchrun(*PRETRAIN, "--epochs", "30", "--out", run)
    wait_for_checkpoint(run)
    launcher.kill()
    launcher.wait()
    time.sleep(1)
    single = subprocess.run([sys.executable, "-m", "sdae", "pretrain", "--out", run, "--resume", "--quiet"], env=env(),
                            capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    assert [(r["pair"], r["epoch"]) for r in records(run)] == [(k, e) for k in (1, 2) for e in range(1, 31)]
    sdae.load(run)


def test_when_a_worker_dies_the_others_stop_with_a_clear_message(tmp_path):
    run = tmp_path / "run"
    launcher = torchrun(*PRETRAIN, "--epochs", "30", "--out", run)
    wait_for_checkpoint(run)
    workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _rank_of(int(p), launcher.pid) == "1"]
    assert len(workers) == 1, workers
    os.kill(workers[0], 9)
    _, err = launcher.communicate(timeout=120)
    assert launcher.returncode != 0
    assert "sdae: error: process 0 of 2 lost the others" in err
    assert sdae.RunFolder.open(run).load_checkpoint() is not None  # the last checkpoint is intact


def _rank_of(pid: int, launcher: int) -> str | None:
    """The RANK in the environment of a worker of this launcher, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            parent = int(f.read().rsplit(")", 1)[1].split()[1])
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    except (OSError, ValueError, IndexError):
        return None
    return environ.get(b"RANK", b"").decode() if parent == launcher else None
