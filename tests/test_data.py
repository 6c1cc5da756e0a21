import gzip
import shutil

import numpy as np
import pytest
import torch

import sdae
from sdae.errors import DataError, UsageError

MNIST_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def test_mnist_loads_as_bytes_with_labels(mnist_small):
    assert mnist_small.train.dtype == torch.uint8 and mnist_small.train.shape == (1000, 784)
    assert mnist_small.test.shape == (10000, 784) and mnist_small.test_labels.shape == (10000,)
    assert torch.bincount(mnist_small.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    batch = mnist_small.examples().batch(torch.arange(10))
    assert batch.dtype == torch.float32 and batch.min() >= 0 and batch.max() <= 1 and batch.max() == 1


def copy_mnist(src, dst, gunzip=()):
    dst.mkdir()
    for name in MNIST_NAMES:
        if name in gunzip:
            (dst / name).write_bytes(gzip.decompress((src / f"{name}.gz").read_bytes()))
        else:
            shutil.copy(src / f"{name}.gz", dst / f"{name}.gz")
    return dst


def test_mnist_reads_uncompressed_files_too(mnist_path, tmp_path):
    folder = copy_mnist(mnist_path, tmp_path / "m", gunzip=MNIST_NAMES[2:])
    data = sdae.load_dataset("mnist", folder, limit=5)
    assert data.test.shape == (10000, 784)


def test_data_dir_falls_back_to_the_environment(mnist_path, monkeypatch):
    monkeypatch.setenv("SDAE_DATA_DIR", str(mnist_path))
    assert sdae.load_dataset("mnist", limit=3).train.shape == (3, 784)


def test_offline_with_no_copy_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("SDAE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise RuntimeError("network unreachable")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(DataError, match="downloading it failed.*--data-dir"):
        sdae.load_dataset("mnist")


@pytest.mark.parametrize("damage, words", [
    ("missing", "lacks t10k-labels-idx1-ubyte"),
    ("truncated_gzip", "not a complete gzip file"),
    ("magic", "wrong IDX magic number"),
    ("count", "has 10000 images but"),
    ("size", "MNIST's are 28x28"),
    ("short", "IDX header declares"),
])
def test_damaged_mnist_files_are_named(mnist_path, tmp_path, damage, words):
    folder = copy_mnist(mnist_path, tmp_path / "m")
    labels, images = folder / "t10k-labels-idx1-ubyte.gz", folder / "t10k-images-idx3-ubyte.gz"
    raw_labels = gzip.decompress(labels.read_bytes())
    raw_images = gzip.decompress(images.read_bytes())
    if damage == "missing":
        labels.unlink()
    elif damage == "truncated_gzip":
        data = labels.read_bytes()
        labels.write_bytes(data[: len(data) // 2])
    elif damage == "magic":
        labels.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + raw_labels[4:]))
    elif damage == "count":
        labels.write_bytes(gzip.compress(raw_labels[:4] + (9999).to_bytes(4, "big") + raw_labels[8:-1]))
    elif damage == "size":
        header = raw_images[:4] + (10000).to_bytes(4, "big") + (14).to_bytes(4, "big") + (56).to_bytes(4, "big")
        images.write_bytes(gzip.compress(header + raw_images[16:]))
    elif damage == "short":
        images.write_bytes(gzip.compress(raw_images[:-100]))
    with pytest.raises(DataError, match=words) as info:
        sdae.load_dataset("mnist", folder)
    assert "t10k" in str(info.value)


def test_digits_is_scaled_to_unit_range():
    data = sdae.load_dataset("digits")
    assert data.train.shape == (1437, 64) and data.test.shape == (360, 64)
    x = data.examples().batch(slice(None))
    assert x.min() == 0 and x.max() == 1


def test_user_arrays_npz_and_npy(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 5, size=(50, 6, 6)).astype(np.float64)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=np.arange(50) % 3, x_test=x[:10], y_test=np.zeros(10, int))
    data = sdae.load_dataset(str(tmp_path / "d.npz"))
    assert data.train.shape == (50, 36) and data.image_shape == (6, 6) and data.test.shape == (10, 36)
    batch = data.examples().batch(slice(None))
    assert batch.min().item() == pytest.approx(0) and batch.max().item() == pytest.approx(1)
    np.save(tmp_path / "u.npy", (rng.uniform(size=(20, 25)) * 255).astype(np.uint8))
    data = sdae.load_dataset(str(tmp_path / "u.npy"), limit=5)
    assert data.train.dtype == torch.uint8 and data.train.shape == (5, 25) and data.image_shape == (5, 5)


@pytest.mark.parametrize("arrays, words", [
    ({"x_train": np.zeros((5,))}, "expected \\(examples, features\\)"),
    ({"x_train": np.zeros((0, 4))}, "no examples"),
    ({"x_train": np.array([[0.1, np.nan]])}, "NaN or infinite"),
    ({"x_train": np.array([[0.1, np.inf]])}, "NaN or infinite"),
    ({"x_train": np.array([["a", "b"]])}, "not numeric"),
    ({"x_train": np.zeros((4, 3)), "y_train": np.zeros(3)}, "expected 4 labels"),
    ({"x_train": np.zeros((4, 3)), "y_train": np.array([0.5, 1, 2, 3])}, "labels must be integers"),
    ({"images": np.zeros((4, 3))}, "no array named x_train"),
    ({"x_train": np.ones((4, 3)) * 7}, "all values are 7"),
    ({"x_train": np.zeros((4, 3)), "x_test": np.zeros((2, 5))}, "x_test examples have 5 features"),
    ({"x_train": np.zeros((4, 3), np.uint8), "x_test": np.full((2, 3), 0.5)}, "save both as uint8 or neither"),
])
def test_bad_user_arrays_are_named(tmp_path, arrays, words):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=words) as info:
        sdae.load_dataset(str(tmp_path / "bad.npz"))
    assert "bad.npz" in str(info.value)


def test_pickled_arrays_are_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="unpickling"):
        sdae.load_dataset(str(tmp_path / "obj.npy"))
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DataError, match="junk.npz"):
        sdae.load_dataset(str(tmp_path / "junk.npz"))


def test_bad_dataset_names_and_limits():
    with pytest.raises(UsageError, match="unknown dataset"):
        sdae.load_dataset("cifar")
    with pytest.raises(UsageError, match="--limit"):
        sdae.load_dataset("digits", limit=0)
    with pytest.raises(DataError, match="does not exist"):
        sdae.load_dataset("/nonexistent/file.npz")
