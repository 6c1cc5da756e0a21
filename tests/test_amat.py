"""The 2007 problems' original files: `.amat` text in the published zips, read, checked, downloaded once."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import zipfile

import numpy as np
import pytest
from helpers import run_cli

import sdae
from sdae.data import amat, benchmark_store
from sdae.errors import DataError


def amat_text(n: int, classes: int, seed: int) -> tuple[str, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (n, 784)) / 255
    labels = rng.integers(0, classes, n)
    lines = [" ".join(f"{v:.6g}" for v in row) + f" {label}" for row, label in zip(pixels, labels, strict=True)]
    return "\n".join(lines) + "\n", pixels, labels


def published_zip(folder, name: str, n_train: int = 12, n_test: int = 5, classes: int = 2):
    """A zip laid out as the published one (convex's test file sits in a subfolder there, as here)."""
    zip_name, train_name, test_name = amat.ORIGINALS[name]
    train, x, y = amat_text(n_train, classes, 0)
    test, x_test, y_test = amat_text(n_test, classes, 1)
    with zipfile.ZipFile(folder / zip_name, "w") as archive:
        archive.writestr(train_name, train)
        archive.writestr(f"50k/{test_name}", test)
    return (x, y), (x_test, y_test)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SDAE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_original_files_are_read_with_the_published_split_and_say_so(tmp_path, cache):
    (x, y), (x_test, y_test) = published_zip(tmp_path, "convex")
    with pytest.warns(sdae.SDAEWarning, match="12 training and 5 test examples, where the published files hold 8000"):
        data = sdae.load_dataset("convex", tmp_path)
    assert benchmark_store.origin(data.source) == "original" and data.source.startswith(str(tmp_path / "convex.zip"))
    assert tuple(data.train.shape) == (12, 784) and tuple(data.test.shape) == (5, 784)
    assert data.val_count == 3  # convex's 2,000 validation examples of 8,000: the last quarter
    np.testing.assert_allclose(data.examples("train").batch(slice(None)).numpy(), x, atol=1e-6)
    np.testing.assert_array_equal(data.train_labels.numpy(), y)
    np.testing.assert_array_equal(data.test_labels.numpy(), y_test)
    assert not (cache / "original").exists() or not any((cache / "original").iterdir())  # nothing downloaded


def test_two_problems_stored_sideways_are_read_upright(tmp_path, cache):
    published_zip(tmp_path, "mnist-bg-rand", classes=10)
    text = (zipfile.ZipFile(tmp_path / "mnist_background_random.zip").read("mnist_background_random_train.amat"))
    first = np.array(text.decode().splitlines()[0].split()[:784], dtype=np.float32).reshape(28, 28)
    data = sdae.load_dataset("mnist-bg-rand", tmp_path)
    np.testing.assert_allclose(data.examples("train").batch(slice(0, 1)).numpy().reshape(28, 28), first.T, atol=1e-6)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda lines: lines[:3] + [lines[3].rsplit(" ", 5)[0]] + lines[4:], "the file is damaged"),
        (lambda lines: lines[:2] + [lines[2].replace(" ", " x ", 1)] + lines[3:], "the file is damaged"),
        (lambda lines: lines[:1] + [lines[1].rsplit(" ", 1)[0] + " 7"] + lines[2:], "label 7 is not a class 0..1"),
        (lambda lines: lines[:1] + ["2.5 " + lines[1].split(" ", 1)[1]] + lines[2:], "line 2: a pixel value outside"),
    ],
)
def test_a_damaged_file_is_refused_naming_it(tmp_path, cache, damage, message):
    text, *_ = amat_text(8, 2, 0)
    damaged = "\n".join(damage(text.splitlines())) + "\n"
    (tmp_path / "rectangles_train.amat").write_text(damaged)
    (tmp_path / "rectangles_test.amat").write_text(amat_text(4, 2, 1)[0])
    with pytest.raises(DataError, match=message) as caught:
        sdae.load_dataset("rectangles", tmp_path)
    assert "rectangles_train.amat" in str(caught.value)


def test_without_the_files_and_offline_the_generated_stand_in_is_used_and_the_row_says_so(cache, tmp_path, capsys):
    out = tmp_path / "bench.json"
    code, text, err = run_cli(capsys, "bench", "--problems", "rectangles", "--scale", "0.05", "--models", "svm",
                              "--quiet", "--out", out)
    assert code == 0, err
    assert "rectangles: generated data" in text and json.loads(out.read_text())["rows"][0]["data"] == "generated"


def test_an_online_machine_downloads_the_zip_once_records_its_checksum_and_refuses_a_changed_copy(
    tmp_path, cache, monkeypatch
):
    served = tmp_path / "served"
    served.mkdir()
    published_zip(served, "rectangles")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(amat, "BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/")
        monkeypatch.delenv("SDAE_OFFLINE")
        monkeypatch.delenv("SDAE_DATA_DIR", raising=False)
        data = sdae.load_dataset("rectangles")
    finally:
        server.shutdown()
    assert benchmark_store.origin(data.source) == "original" and len(data.train) == 12
    folder = cache / "original"
    recorded = json.loads((folder / "checksums.json").read_text())
    assert set(recorded) == {"rectangles.zip"}
    published_zip(folder, "rectangles", n_train=10)  # a different copy where the downloaded one was
    with pytest.raises(DataError, match="differs from the .* recorded in .* when sdae downloaded it; to accept"):
        sdae.load_dataset("rectangles")
    recorded.pop("rectangles.zip")  # as the message says
    (folder / "checksums.json").write_text(json.dumps(recorded))
    assert len(sdae.load_dataset("rectangles").train) == 10


def test_a_run_keeps_the_data_it_was_trained_on_when_the_original_files_arrive(tmp_path, cache, capsys, monkeypatch):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "pretrain", "--out", run, "--dataset", "rectangles", "--scale", "0.02", "--layers",
                           "8", "--epochs", "1", "--quiet")  # fmt: skip
    assert code == 0, err
    assert "generated stand-in" in run_cli(capsys, "info", run)[1]
    (cache / "original").mkdir(parents=True)
    published_zip(cache / "original", "rectangles")  # the originals turn up later
    code, _, err = run_cli(capsys, "finetune", run, "--supervised", "--epochs", "1", "--quiet")
    assert code == 0, err
    original = tmp_path / "original-run"  # and a run on the originals needs them
    code, _, err = run_cli(capsys, "pretrain", "--out", original, "--dataset", "rectangles", "--layers", "8",
                           "--epochs", "1", "--quiet")  # fmt: skip
    assert code == 0, err
    monkeypatch.setenv("SDAE_CACHE_DIR", str(tmp_path / "elsewhere"))
    code, _, err = run_cli(capsys, "evaluate", original)
    assert code != 0 and "original files (rectangles.zip), which are not found now" in err


def test_an_unreachable_server_is_not_asked_again_for_a_day(tmp_path, cache, monkeypatch):
    calls = []

    def unreachable(*args, **kwargs):
        calls.append(args)
        raise OSError("no route to host")

    monkeypatch.setattr(amat.urllib.request, "urlopen", unreachable)
    monkeypatch.delenv("SDAE_OFFLINE")
    monkeypatch.delenv("SDAE_DATA_DIR", raising=False)
    assert amat.find("rectangles", None, cache / "original") is None
    assert amat.find("rectangles", None, cache / "original") is None
    assert len(calls) == 1
