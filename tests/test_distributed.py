"""Data-parallel training: `torchrun --nproc-per-node 2 -m sdae ...` (gloo, on the CPU) against one process."""

import json
import os
import subprocess
import sys
import time

import pytest
import torch
from conftest import ROOT
from safetensors.torch import load_file

import sdae

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


LAUNCHED = []  # every torchrun launcher a test started; the ones still running are killed when it ends


@pytest.fixture(autouse=True)
def no_process_outlives_its_test():
    yield
    while LAUNCHED:
        process = LAUNCHED.pop()
        if process.poll() is None:
            process.kill()  # its workers die with it (PR_SET_PDEATHSIG)
            process.wait()
        process.stdout.close()
        process.stderr.close()


def torchrun(*args, nproc=2, **kwargs):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
               "-m", "sdae", *map(str, args)]
    process = subprocess.Popen(command, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    LAUNCHED.append(process)
    return process


def finished(process, timeout=240):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return out, err


def wait_until(condition, what, seconds=240, launcher=None):
    """Return as soon as `condition()` holds; fail the test, naming `what` it waited for, when `seconds` pass
    first or when `launcher` (a torchrun process that must still be running meanwhile) ends."""
    deadline = time.monotonic() + seconds
    while not condition():
        if launcher is not None and launcher.poll() is not None:
            _, err = launcher.communicate()
            pytest.fail(f"torchrun ended (exit code {launcher.returncode}) before {what}: {err[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds} s for {what}")
        time.sleep(0.05)  # how often to look, not how long things take


def workers_of(launcher):
    """The launcher's worker processes, {rank: pid}, once all of them have started."""
    found = {}

    def started():
        found.clear()
        found.update({int(rank): pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                      if (rank := _rank_of(pid, launcher.pid))})
        return len(found) == 2

    wait_until(started, "torchrun to start its 2 workers", launcher=launcher)
    return dict(found)


def running(pid):
    """Whether process `pid` still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def kill_the_launcher(launcher, run):
    """SIGKILL to torchrun's launcher alone, once the run has its first checkpoint; returns when its workers
    are gone too (they must not train on, orphaned, holding the run folder)."""
    wait_until(lambda: (run / "checkpoint.pt").exists(), f"the first checkpoint in {run}", launcher=launcher)
    workers = workers_of(launcher)
    launcher.kill()
    launcher.wait()  # not communicate(): workers that outlived it would hold its pipes open
    at_kill = len(records(run))
    wait_until(lambda: not any(map(running, workers.values())),
               f"the workers {sorted(workers.values())} to die with their launcher", seconds=30)
    assert len(records(run)) <= at_kill + 1, \
        f"the workers trained on after their launcher was killed: {at_kill} epochs then, {len(records(run))} now"


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
    kill_the_launcher(torchrun(*args, "--out", cut), cut)
    done = [(r["pair"], r["epoch"]) for r in records(cut)]
    assert done and done[-1] != (2, 30), "the run finished before it was killed; make it longer"
    finished(torchrun("pretrain", "--out", cut, "--resume", "--quiet"))
    assert [(r["pair"], r["epoch"]) for r in records(cut)] == [(k, e) for k in (1, 2) for e in range(1, 31)]
    a, b = load_file(whole / "model.safetensors"), load_file(cut / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a), "same world size: the resumed run must equal the uninterrupted one"


def test_a_resume_with_another_world_size_continues(tmp_path):
    run = tmp_path / "run"
    kill_the_launcher(torchrun(*PRETRAIN, "--epochs", "30", "--out", run), run)
    assert [(r["pair"], r["epoch"]) for r in records(run)][-1] != (2, 30), "the run finished before it was killed"
    single = subprocess.run([sys.executable, "-m", "sdae", "pretrain", "--out", run, "--resume", "--quiet"], env=env(),
                            capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    assert [(r["pair"], r["epoch"]) for r in records(run)] == [(k, e) for k in (1, 2) for e in range(1, 31)]
    sdae.load(run)


def test_when_a_worker_dies_the_others_stop_with_a_clear_message(tmp_path):
    run = tmp_path / "run"
    launcher = torchrun(*PRETRAIN, "--epochs", "30", "--out", run)
    wait_until(lambda: (run / "checkpoint.pt").exists(), f"the first checkpoint in {run}", launcher=launcher)
    os.kill(workers_of(launcher)[1], 9)
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
