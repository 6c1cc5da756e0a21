"""README's commands and code, run as a reader would run them (the set-up lines are what CI runs)."""

from __future__ import annotations

import os
import re
import shlex
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def block(language: str, containing: str) -> str:
    found = [text for kind, text in BLOCKS if kind == language and containing in text]
    assert len(found) == 1, f"README has {len(found)} {language} blocks with {containing!r}"
    return found[0]


def commands(text: str) -> list[list[str]]:
    lines = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        for part in filter(None, (p.strip() for p in line.split("&&"))):
            words = shlex.split(part)
            assert words[0] == "sdae", part
            lines.append(words[1:])
    return lines


def test_the_set_up_lines_come_first_and_the_second_runs_the_tests():
    kind, text = BLOCKS[0]
    first, second = text.strip().splitlines()
    assert "sdae pretrain" in first and "sdae finetune" in first and "pytest" in second


def test_the_quick_start_runs_offline(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for words in commands(block("bash", "--dataset digits")):
        code, _, err = run_cli(capsys, *words, *(["--quiet"] if words[0] in ("pretrain", "finetune") else []))
        assert code == 0, (words, err)
    assert (tmp_path / "runs" / "digits" / "figures").is_dir()


def test_a_trained_network_at_work(tmp_path, capsys, monkeypatch):
    from sklearn.datasets import load_digits

    monkeypatch.chdir(tmp_path)
    digits = (load_digits().images * 255 / 16).astype(np.uint8)  # 8x8 greyscale images, as files would hold them
    for folder, images in (("train_images", digits[:200]), ("scans", digits[200:205])):
        (tmp_path / folder).mkdir()
        for i, image in enumerate(images):
            Image.fromarray(image).save(tmp_path / folder / f"{i}.png")
    code, _, err = run_cli(capsys, "pretrain", "--out", "run", "--dataset", "train_images", "--layers", "16,8",
                           "--epochs", "1", "--quiet", "--device", "cpu")
    assert code == 0, err
    np.savez(tmp_path / "mydata.npz", x=digits[205:225].reshape(20, 64))
    for words in commands(block("bash", "sdae denoise RUN")):
        words = ["run" if w == "RUN" else w for w in words]
        code, _, err = run_cli(capsys, *words)
        assert code == 0, (words, err)
    assert sorted(p.name for p in (tmp_path / "clean").iterdir()) == [f"{i}.png" for i in range(5)]
    assert np.load(tmp_path / "codes.npz")["codes"].shape == (20, 8)
    assert (tmp_path / "encoder.onnx").stat().st_size > 0


def test_the_python_examples_run():
    from sklearn.datasets import load_breast_cancer, load_digits

    images = np.zeros((3, 28, 28), np.uint8)
    images[:, 10:18, 12:16] = 255
    code = block("python", "sdae.pretrained")
    names: dict = {"images": images}
    exec(compile(code, "README.md", "exec"), names)  # noqa: S102 (README's own code)
    assert tuple(names["codes"].shape) == (3, 64) and tuple(names["clean"].shape) == (3, 784)
    x, y = load_digits(return_X_y=True)
    names = {"X": x[:300], "y": y[:300], "X_test": x[300:320], "table": load_breast_cancer().data[:200]}
    code = block("python", "make_pipeline(SDAETransformer()")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "README.md", "exec"), names)  # noqa: S102


@pytest.mark.skipif(os.environ.get("SDAE_README_LINKS") == "skip", reason="asked to skip")
def test_every_local_link_and_picture_exists():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)\)", text)
    assert targets
    missing = [t for t in targets if "://" not in t and not (ROOT / t).exists()]
    assert not missing, missing
