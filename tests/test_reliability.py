"""Failures that must lose nothing: full disks, failing writes, data that changed, hostile values."""

import errno
import json
import os
import subprocess

import numpy as np
import pytest
import torch
from helpers import run_cli

import sdae

SMALL = ["--layers", "32", "--epochs", "1", "--quiet"]


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def digits_run(tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "pretrain", "--dataset", "digits", *SMALL, "--out", run)
    assert code == 0, err
    return run


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MiB tmpfs where the test can mount one (root on Linux), else None."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                                 capture_output=True).returncode == 0
    except OSError:  # no mount command here
        mounted = False
    yield disk if mounted else None
    if mounted:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_fails_in_one_line_and_the_old_files_stay(tiny_disk, tmp_path, capsys, monkeypatch):
    run = (tiny_disk or tmp_path) / "run"
    code, _, err = run_cli(capsys, "pretrain", "--dataset", "digits", "--layers", "300", "--epochs", "1", "--quiet",
                           "--out", run)
    assert code == 0, err
    before = snapshot(run)
    if tiny_disk is not None:  # fill what is left of the real disk
        with open(tiny_disk / "filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(bytes(4096))
            except OSError as e:
                assert e.errno == errno.ENOSPC
    else:  # no tmpfs here: the same failure, injected where the bytes reach the disk
        real_fsync = os.fsync

        def full(fd):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "fsync", full)
    code, _, err = run_cli(capsys, "finetune", run, "--epochs", "2")
    assert code == 1 and "No space left on device" in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert "cannot write" in err
    if tiny_disk is None:
        monkeypatch.setattr(os, "fsync", real_fsync)
    else:
        (tiny_disk / "filler").unlink()
    after = snapshot(run)
    assert {k: v for k, v in after.items() if k.name != "config.json"} == \
        {k: v for k, v in before.items() if k.name != "config.json"}  # weights, metrics: untouched
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]
    sdae.load(run)  # the run still opens and loads


@pytest.mark.parametrize("call, error", [("fsync", errno.EIO), ("replace", errno.EPERM)])
def test_failing_writes_keep_the_previous_file(digits_run, capsys, monkeypatch, call, error):
    before = snapshot(digits_run)
    real = getattr(os, call)

    def failing(*args, **kwargs):
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(os, call, failing)
    code, _, err = run_cli(capsys, "evaluate", digits_run)
    monkeypatch.setattr(os, call, real)
    assert code == 1 and os.strerror(error) in err and "evaluation.json" in err and err.count("\n") == 1, err
    assert snapshot(digits_run) == before and not (digits_run / "evaluation.json").exists()


def test_unreadable_and_unwritable_places_are_one_line(digits_run, tmp_path, capsys):
    long_name = tmp_path / ("x" * 300)
    code, _, err = run_cli(capsys, "pretrain", "--dataset", "digits", *SMALL, "--out", long_name)
    assert code == 1 and "File name too long" in err and err.count("\n") == 1, err
    (digits_run / "config.json").rename(digits_run / "config.json.bak")
    (digits_run / "config.json").mkdir()
    code, _, err = run_cli(capsys, "info", digits_run)
    assert code == 1 and "config.json: cannot read" in err and err.count("\n") == 1, err


def test_data_that_changed_after_pretraining_is_refused_by_name(tmp_path, capsys):
    data = tmp_path / "data.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x_train=rng.uniform(size=(300, 20)))
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "pretrain", "--dataset", data, *SMALL, "--out", run)
    assert code == 0, err
    np.savez(data, x_train=rng.uniform(size=(300, 24)))
    code, _, err = run_cli(capsys, "finetune", run, "--epochs", "1", "--quiet")
    assert code == 1 and "now has 24 features per example" in err and str(data) in err, err
    np.savez(data, x_train=rng.uniform(size=(300, 20)))
    code, _, err = run_cli(capsys, "finetune", run, "--epochs", "1", "--quiet")
    assert code == 1 and "has changed since the run was trained" in err, err
    assert json.loads((run / "config.json").read_text())["status"]["finetune"] is None  # nothing was started


@pytest.mark.parametrize("labels, words", [
    (np.arange(200) % 3 - 1, "labels must be classes 0..K-1"),
    (np.where(np.arange(200) % 2, 10**15, 0), "labels must be classes 0..K-1"),
    (np.zeros(200, int), "at least 2 classes"),
])
def test_labels_a_classifier_cannot_use_are_a_data_error(tmp_path, capsys, labels, words):
    data = tmp_path / "labelled.npz"
    np.savez(data, x_train=np.random.default_rng(0).uniform(size=(200, 12)), y_train=labels)
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "pretrain", "--dataset", data, *SMALL, "--out", run)
    assert code == 0, err
    code, _, err = run_cli(capsys, "finetune", run, "--supervised", "--epochs", "1", "--quiet")
    assert code == 1 and words in err and err.count("\n") == 1, err


def test_data_beyond_float32_leaves_no_half_made_run(tmp_path, capsys):
    np.savez(tmp_path / "huge.npz", x_train=np.array([[0.0, 1e300], [1.0, 2.0], [3.0, 4.0]]))
    code, _, err = run_cli(capsys, "pretrain", "--dataset", tmp_path / "huge.npz", *SMALL, "--out", tmp_path / "run")
    assert code == 1 and "beyond float32's range" in err and "--lr" not in err
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_that_is_not_one_is_refused_on_resume(digits_run, capsys):
    code, _, err = run_cli(capsys, "finetune", digits_run, "--epochs", "1", "--quiet")
    assert code == 0, err
    meta = json.loads((digits_run / "config.json").read_text())
    meta["status"]["finetune"] = "running"  # as if killed
    (digits_run / "config.json").write_text(json.dumps(meta))
    torch.save(torch.zeros(3), digits_run / "checkpoint.pt")
    code, _, err = run_cli(capsys, "finetune", digits_run, "--resume")
    assert code == 1 and "checkpoint.pt: not a checkpoint of this run" in err and err.count("\n") == 1, err
