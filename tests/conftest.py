import os
from pathlib import Path

import pytest
import torch

import sdae

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test reaches out for the 2007 problems' original files (tests/test_amat.py serves them locally)."""
    monkeypatch.setenv("SDAE_OFFLINE", "1")


def mnist_dir() -> Path | None:
    for candidate in (os.environ.get("SDAE_DATA_DIR"), ROOT.parent / "shared" / "data" / "mnist"):
        if candidate and (Path(candidate) / "train-images-idx3-ubyte.gz").exists():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = mnist_dir()
    if path is None:
        pytest.skip("MNIST not found: set SDAE_DATA_DIR to a folder with the four IDX files")
    return path


@pytest.fixture(scope="session")
def mnist_small(mnist_path):
    """The first 1,000 MNIST training digits (and the test set)."""
    return sdae.load_dataset("mnist", mnist_path, limit=1000)


@pytest.fixture
def tiny_examples():
    g = torch.Generator().manual_seed(0)
    return sdae.Examples((torch.rand(300, 16, generator=g) * 255).to(torch.uint8), sdae.data.Scaling(0.0, 1 / 255))


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits, as sdae loads them: always available, no download."""
    return sdae.load_dataset("digits")


@pytest.fixture
def digits_examples(digits):
    return digits.examples("train")
