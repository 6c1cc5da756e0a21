import gzip
import shutil
import subprocess
import sys

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
    with pytest.raises(DataError, match="downloading it failed.*`data_dir`"):
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
    assert data.train.dtype == np.uint8 and data.train.shape == (5, 25) and data.image_shape == (5, 5)


def test_npy_is_memory_mapped_and_shards_read_as_one(tmp_path):
    from sdae.data.mapped import MappedRows

    rng = np.random.default_rng(1)
    x = (rng.uniform(size=(300, 16)) * 255).astype(np.uint8)
    np.save(tmp_path / "whole.npy", x)
    (tmp_path / "shards").mkdir()
    for i, (a, b) in enumerate([(0, 100), (100, 130), (130, 300)]):
        np.save(tmp_path / "shards" / f"part-{i:02d}.npy", x[a:b])
    whole = sdae.load_dataset(str(tmp_path / "whole.npy"))
    shards = sdae.load_dataset(str(tmp_path / "shards"))
    assert isinstance(whole.train, MappedRows) and isinstance(whole.train.parts[0], np.memmap)
    in_memory = sdae.Dataset("x", torch.from_numpy(x), None, None, None, whole.scaling, None)
    assert whole.fingerprint() == shards.fingerprint() == in_memory.fingerprint()  # runs recorded before still match
    index = torch.tensor([299, 0, 150, 100, 99, 130])
    scale = whole.scaling.apply
    expected = scale(torch.from_numpy(x[index.numpy()]))
    for data in (whole, shards):
        examples = data.examples("train")
        assert examples.streamed and len(examples) == 300
        assert torch.equal(examples.batch(index), expected)
        part = examples.subset(torch.tensor([5, 150, 299]))
        assert isinstance(part.values, MappedRows)  # a subset is positions in the map, not a copy
        assert torch.equal(part.batch(torch.tensor([2, 0])), scale(torch.from_numpy(x[[299, 5]])))
    np.save(tmp_path / "shards" / "part-03.npy", np.zeros((3, 9), np.uint8))
    with pytest.raises(DataError, match="does not match the first shard"):
        sdae.load_dataset(str(tmp_path / "shards"))


def test_a_run_trains_on_shards_through_the_map(tmp_path, capsys):
    x = (np.random.default_rng(2).uniform(size=(400, 64)) * 255).astype(np.uint8)
    (tmp_path / "shards").mkdir()
    np.save(tmp_path / "shards" / "a.npy", x[:250])
    np.save(tmp_path / "shards" / "b.npy", x[250:])
    from helpers import run_cli

    code, _, err = run_cli(capsys, "pretrain", "--dataset", tmp_path / "shards", "--layers", "32,16", "--epochs", "2",
                           "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    assert sdae.load(tmp_path / "run").sizes == [64, 32, 16]
    assert run_cli(capsys, "finetune", tmp_path / "run", "--epochs", "1", "--quiet")[0] == 0
    np.savez(tmp_path / "whole.npz", x_train=x)  # the same examples, read into memory
    code, _, err = run_cli(capsys, "pretrain", "--dataset", tmp_path / "whole.npz", "--layers", "32,16", "--epochs", "2",
                           "--out", tmp_path / "memory", "--quiet")
    assert code == 0, err
    mapped, memory = (sdae.RunFolder.open(tmp_path / name).read_metrics() for name in ("run", "memory"))
    first = [(r.train_loss, r.val_loss) for r in mapped if r.pair == 1]
    assert first == [(r.train_loss, r.val_loss) for r in memory if r.pair == 1]  # the same batches, bit for bit
    second = [r.val_loss for r in mapped if r.pair == 2], [r.val_loss for r in memory if r.pair == 2]
    assert second[0] == pytest.approx(second[1], rel=1e-4)  # codes computed per batch instead of all at once


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
    with pytest.raises(DataError, match="pickled"):
        sdae.load_dataset(str(tmp_path / "obj.npy"))
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DataError, match="junk.npz"):
        sdae.load_dataset(str(tmp_path / "junk.npz"))


def test_bad_dataset_names_and_limits():
    with pytest.raises(UsageError, match="unknown dataset"):
        sdae.load_dataset("cifar")
    with pytest.raises(UsageError, match="`limit`"):
        sdae.load_dataset("digits", limit=0)
    with pytest.raises(DataError, match="does not exist"):
        sdae.load_dataset("/nonexistent/file.npz")


def test_files_that_are_not_what_their_name_says_get_honest_messages(tmp_path):
    (tmp_path / "text.npy").write_text("hello\n1,2,3\n")
    np.save(tmp_path / "good.npy", np.zeros((100, 10)))
    whole = (tmp_path / "good.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "dir.npy").mkdir()
    cases = {"text.npy": "not a .npy file", "cut.npy": "damaged or truncated", "dir.npy": "holds no .npy shards"}
    for name, words in cases.items():
        with pytest.raises(DataError, match=words) as info:
            sdae.load_dataset(str(tmp_path / name))
        assert "pickled" not in str(info.value) and "does not exist" not in str(info.value), name
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DataError, match="is a file, not a folder"):
        sdae.load_dataset("mnist", tmp_path / "afile")


def test_values_beyond_float32_are_refused_as_data(tmp_path):
    np.savez(tmp_path / "big.npz", x_train=np.array([[1.0, 1e300], [0.0, 2.0]]))
    with pytest.raises(DataError, match="beyond float32's range"):
        sdae.load_dataset(str(tmp_path / "big.npz"))


def test_a_gzip_bomb_behind_valid_images_is_refused_without_decompressing_it(mnist_path, tmp_path):
    folder = copy_mnist(mnist_path, tmp_path / "m")
    images = folder / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(images.read_bytes())
    with gzip.open(images, "wb", compresslevel=1) as f:
        f.write(raw)
        zeros = bytes(1 << 24)
        for _ in range(32):  # 512 MiB of zeros after the images the header declares
            f.write(zeros)
    probe = (  # in a child process, so that its peak memory is this load's alone
        "import resource, sdae\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    sdae.load_dataset('mnist', {folder!r})\nexcept sdae.DataError as e:\n    print(e)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    ).format(folder=str(folder))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    message, grown_kib = result.stdout.strip().splitlines()
    assert "holds more than that" in message and "t10k-images" in message, result.stderr
    assert int(grown_kib) < 150 * 1024, f"peak memory grew by {int(grown_kib) / 1024:.0f} MiB"


def test_an_mnist_file_with_no_images_is_refused(mnist_path, tmp_path):
    folder = copy_mnist(mnist_path, tmp_path / "m")
    header = (2051).to_bytes(4, "big") + (0).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header))
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress((2049).to_bytes(4, "big") + bytes(4)))
    with pytest.raises(DataError, match="holds no images"):
        sdae.load_dataset("mnist", folder)
