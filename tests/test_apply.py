"""A run at work: image folders as data, codes of new data, cleaned images out (issue "A run at work: new data in,
codes and clean images out")."""

import json
import shutil
import warnings
from importlib import import_module

import numpy as np
import pytest
import torch
from helpers import run_cli
from PIL import Image
from sklearn.datasets import load_digits

import sdae
from sdae.errors import DataError, SDAEWarning
from sdae.options import TrainOptions
from sdae.records import DataFacts


def save_pngs(folder, images, names):
    folder.mkdir(parents=True, exist_ok=True)
    for image, name in zip(images, names):
        Image.fromarray(image).save(folder / name)


@pytest.fixture(scope="module")
def digit_bytes():
    """The first 90 scikit-learn digits as 8x8 bytes (0..16 stretched to 0..255), and their labels."""
    bunch = load_digits()
    return np.round(bunch.images[:90] * 255 / 16).astype(np.uint8), bunch.target[:90]


@pytest.fixture(scope="module")
def root(tmp_path_factory, digit_bytes):
    """A class-folder dataset of 60 digits (subfolders 0..9), a run pretrained on it, and 30 other digits as
    an .npz file (x, y) and as a flat image folder."""
    root = tmp_path_factory.mktemp("apply")
    images, labels = digit_bytes
    for k in range(60):
        save_pngs(root / "classes" / str(labels[k]), [images[k]], [f"{k:03d}.png"])
    np.savez(root / "new.npz", x=images[60:], y=labels[60:])
    save_pngs(root / "flat", images[60:], [f"d{k:02d}.png" for k in range(30)])
    config = sdae.RunConfig(data=sdae.DataOptions(str(root / "classes")), layers=[16, 8], device="cpu",
                            pretrain=TrainOptions(epochs=1, batch_size=16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SDAEWarning)
        sdae.run_pretraining(root / "run", config)
    return root


# ---------------------------------------------------------------------------------------- image folders as data
def test_a_flat_folder_of_pngs_is_a_dataset_of_bytes(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (5, 6, 4), dtype=np.uint8)
    save_pngs(tmp_path / "f", pixels, [f"{k}.png" for k in range(5)])
    (tmp_path / "f" / ".DS_Store").write_bytes(b"\0")  # hidden: ignored without a word
    with warnings.catch_warnings():
        warnings.simplefilter("error", SDAEWarning)
        data = sdae.load_dataset(str(tmp_path / "f"))
    assert data.train.dtype == torch.uint8 and tuple(data.train.shape) == (5, 24)
    assert np.array_equal(data.train.numpy(), pixels.reshape(5, -1))
    assert data.image_shape == (6, 4) and data.scaling == sdae.Scaling(0.0, 1 / 255, "bytes")
    assert data.train_labels is None and data.test is None and data.classes is None
    before = data.fingerprint()
    assert sdae.load_dataset(str(tmp_path / "f")).fingerprint() == before
    pixels[2, 0, 0] ^= 1
    save_pngs(tmp_path / "f", pixels[2:3], ["2.png"])
    assert sdae.load_dataset(str(tmp_path / "f")).fingerprint() != before


def test_class_subfolders_are_labels_in_the_sorted_order_of_their_names(tmp_path):
    grey = np.zeros((4, 4), np.uint8)
    for name, count in (("cat", 2), ("ant", 1), ("dog", 3)):
        save_pngs(tmp_path / "c" / name, [grey + count] * count, [f"{k}.png" for k in range(count)])
    (tmp_path / "c" / "notes.txt").write_text("not an image")
    with pytest.warns(SDAEWarning, match=r"skipped 1 entries that are not images.*notes.txt"):
        data = sdae.load_dataset(str(tmp_path / "c"))
    assert data.classes == ("ant", "cat", "dog")
    assert data.train_labels.tolist() == [0, 1, 1, 2, 2, 2]
    assert data.train[:, 0].tolist() == [1, 2, 2, 3, 3, 3]


def test_colour_images_become_grey_by_pillows_rule_with_one_warning(tmp_path):
    colour = np.random.default_rng(1).integers(0, 256, (3, 5, 5, 3), dtype=np.uint8)
    save_pngs(tmp_path / "c", colour, ["a.png", "b.png", "c.png"])
    grey_rgb = np.repeat(colour[:1, ..., :1], 3, axis=-1)  # an RGB file whose channels are equal is grey already
    save_pngs(tmp_path / "c", grey_rgb, ["d.png"])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        data = sdae.load_dataset(str(tmp_path / "c"))
    messages = [str(w.message) for w in seen if issubclass(w.category, SDAEWarning)]
    assert len(messages) == 1 and "converted 3 of 4 colour images to greyscale" in messages[0], messages
    expected = np.stack([np.asarray(Image.fromarray(c).convert("L")) for c in colour]).reshape(3, -1)
    assert np.array_equal(data.train[:3].numpy(), expected)
    assert np.array_equal(data.train[3].numpy(), colour[0, ..., 0].ravel())


def test_images_of_another_size_are_refused_by_name_with_both_sizes(tmp_path):
    save_pngs(tmp_path / "m", [np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8)], ["a.png", "b.png"])
    save_pngs(tmp_path / "m", [np.zeros((9, 8), np.uint8)], ["c.png"])
    with pytest.raises(DataError, match=r"c\.png: 8x9 pixels \(width x height\), but the first image, a\.png, is 8x8"):
        sdae.load_dataset(str(tmp_path / "m"))


def test_folders_without_images_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images .it is empty"):
        sdae.load_dataset(str(tmp_path / "empty"))
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.txt").write_text("hello")
    with pytest.raises(DataError, match=r"holds no images \(1 other files, e\.g\. a\.txt\)"):
        sdae.load_dataset(str(tmp_path / "text"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.png").write_text("not a png")
    with pytest.raises(DataError, match=r"a\.png: not an image Pillow can read"):
        sdae.load_dataset(str(tmp_path / "bad"))


def test_a_folder_is_images_or_npy_shards_never_both(tmp_path):
    np.save(tmp_path / "part0.npy", np.zeros((4, 16), np.uint8) + 3)
    assert sdae.load_dataset(str(tmp_path)).input_dim == 16  # shards, as before
    save_pngs(tmp_path, [np.zeros((4, 4), np.uint8)], ["a.png"])
    with pytest.raises(DataError, match=r"both \.npy shards \(part0\.npy\) and images \(a\.png\)"):
        sdae.load_dataset(str(tmp_path))


def test_images_beside_class_subfolders_are_refused(tmp_path):
    save_pngs(tmp_path / "x", [np.zeros((4, 4), np.uint8)], ["loose.png"])
    save_pngs(tmp_path / "x" / "cat", [np.zeros((4, 4), np.uint8)], ["a.png"])
    with pytest.raises(DataError, match=r"images \(loose\.png\) beside class subfolders \(cat/\)"):
        sdae.load_dataset(str(tmp_path / "x"))


def test_pretrain_on_a_folder_records_the_classes_and_old_facts_still_read(root, tmp_path, capsys):
    code, out, err = run_cli(capsys, "pretrain", "--out", tmp_path / "R", "--dataset", root / "classes", "--layers",
                             "8", "--epochs", 1, "--quiet", "--device", "cpu")
    assert code == 0, err
    facts = json.loads((tmp_path / "R" / "config.json").read_text())["data_facts"]
    assert facts["classes"] == [str(k) for k in range(10)] and facts["image_shape"] == [8, 8]
    assert facts["scaling"] == {"offset": 0.0, "scale": 1 / 255, "rule": "bytes"}
    assert sdae.RunFolder.open(tmp_path / "R").facts.classes == tuple(str(k) for k in range(10))
    old = {k: v for k, v in facts.items() if k != "classes"}  # a run written before image folders
    assert DataFacts.from_dict(old).classes is None and "classes" not in DataFacts.from_dict(old).to_dict()
    code, out, err = run_cli(capsys, "info", tmp_path / "R")
    assert code == 0 and "54 training, 6 validation" in out, err


# ------------------------------------------------------------------------------------------------ encode --input
def test_encode_input_gives_the_codes_of_an_image_folder_and_of_an_array(root, digit_bytes, tmp_path, capsys):
    model = sdae.load(root / "run")
    images, labels = digit_bytes
    code, out, err = run_cli(capsys, "encode", root / "run", "--input", root / "classes", "--out", tmp_path / "c.npz",
                             "--quiet")
    assert code == 0 and "wrote 60 codes of width 8" in out, err
    with np.load(tmp_path / "c.npz") as saved:
        files, got = saved["files"], saved["codes"]
        assert saved["classes"].tolist() == [str(k) for k in range(10)]
        assert saved["labels"].tolist() == [int(f.split("/")[0]) for f in files]
    order = [int(f.split("/")[1][:3]) for f in files]
    assert files[0].startswith("0/") and sorted(order) == list(range(60))
    with torch.no_grad():
        expected = model.encode(model.prepare(images[order].reshape(60, -1)))
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-6)

    code, out, err = run_cli(capsys, "encode", root / "run", "--input", root / "new.npz", "--layer", 1, "--out",
                             tmp_path / "a.npz")
    assert code == 0 and "wrote 30 codes of width 16" in out, err
    with np.load(tmp_path / "a.npz") as saved:
        assert saved["labels"].tolist() == labels[60:].tolist() and "files" not in saved.files
        with torch.no_grad():
            np.testing.assert_allclose(saved["codes"], model.encode(model.prepare(images[60:]), 1).numpy(), atol=1e-6)
    result = sdae.encode_input(root / "run", root / "flat", device="cpu")  # a plain folder: files, no labels
    assert result["files"].tolist() == [f"d{k:02d}.png" for k in range(30)] and "labels" not in result
    np.testing.assert_allclose(result["codes"], expected_codes(model, images[60:]), atol=1e-6)


def expected_codes(model, raw):
    with torch.no_grad():
        return model.encode(model.prepare(raw.reshape(len(raw), -1))).numpy()


def test_encode_input_takes_x_then_x_test_then_x_train(root, digit_bytes, tmp_path):
    images = digit_bytes[0]
    np.savez(tmp_path / "split.npz", x_train=images[:5], x_test=images[5:8])
    result = sdae.encode_input(root / "run", tmp_path / "split.npz", device="cpu")
    np.testing.assert_allclose(result["codes"], expected_codes(sdae.load(root / "run"), images[5:8]), atol=1e-6)


def test_encode_input_refuses_what_the_run_cannot_take(root, tmp_path, capsys):
    np.savez(tmp_path / "wide.npz", x=np.zeros((4, 10), np.uint8))
    code, _, err = run_cli(capsys, "encode", root / "run", "--input", tmp_path / "wide.npz", "--out",
                           tmp_path / "o.npz")
    assert code == 1 and "10 features per example" in err and "takes 64 (8x8 images)" in err, err
    np.savez(tmp_path / "far.npz", x=np.linspace(0, 1000, 4 * 64).reshape(4, 64))
    code, _, err = run_cli(capsys, "encode", root / "run", "--input", tmp_path / "far.npz", "--out",
                           tmp_path / "o.npz")
    assert code == 1 and "it was not scaled as the run's training data was" in err, err
    np.savez(tmp_path / "near.npz", x=np.linspace(0, 300, 4 * 64).reshape(4, 64))
    code, _, err = run_cli(capsys, "encode", root / "run", "--input", tmp_path / "near.npz", "--out",
                           tmp_path / "o.npz", warnings=True)
    assert code == 0 and "sdae: warning: " in err and "puts them at 0 to 1.18" in err, err
    save_pngs(tmp_path / "big", [np.zeros((4, 16), np.uint8)], ["a.png"])  # 64 pixels, but not 8x8
    code, _, err = run_cli(capsys, "encode", root / "run", "--input", tmp_path / "big", "--out", tmp_path / "o2.npz")
    assert code == 1 and "images of 16x4 pixels" in err and "trained on 8x8" in err, err
    code, _, err = run_cli(capsys, "encode", root / "run", "--input", root / "new.npz", "--split", "test", "--out",
                           tmp_path / "o3.npz")
    assert code == 2 and "--input gives new data to encode, and --split" in err, err
    code, _, err = run_cli(capsys, "encode", root / "run", "--input", tmp_path / "near.npz", "--out",
                           tmp_path / "near.npz", "--overwrite")
    assert code == 2 and "is the --input file itself" in err, err


# ------------------------------------------------------------------------------------------------------ denoise
def reconstructed_bytes(model, raw):
    with torch.no_grad():
        values = model.to_raw(model(model.prepare(raw.reshape(len(raw), -1)))).numpy()
    return np.clip(np.rint(values), 0, 255).astype(np.uint8).reshape(raw.shape)


def test_denoise_writes_a_png_per_png_with_the_same_names_and_size(root, digit_bytes, tmp_path, capsys):
    code, out, err = run_cli(capsys, "denoise", root / "run", "--input", root / "classes", "--out", tmp_path / "clean",
                             "--device", "cpu", "--quiet")
    assert code == 0 and "wrote 60 cleaned images" in out, err
    written = sorted(p.relative_to(tmp_path / "clean").as_posix() for p in (tmp_path / "clean").rglob("*.png"))
    assert written == sorted(p.relative_to(root / "classes").as_posix() for p in (root / "classes").rglob("*.png"))
    model, images = sdae.load(root / "run"), digit_bytes[0]
    for name in written[:5]:
        with Image.open(tmp_path / "clean" / name) as image:
            assert image.mode == "L" and image.size == (8, 8)
            k = int(name.split("/")[1][:3])
            assert np.array_equal(np.asarray(image), reconstructed_bytes(model, images[k : k + 1])[0])
    code, _, err = run_cli(capsys, "denoise", root / "run", "--input", root / "classes", "--out", tmp_path / "clean")
    assert code == 2 and "already holds 60 of the files to write" in err and "--overwrite" in err, err
    code, out, err = run_cli(capsys, "denoise", root / "run", "--input", root / "flat", "--out", tmp_path / "noisy",
                             "--noise", "masking:0.5", "--seed", 3)
    assert code == 0 and "masking:0.5, seed 3" in out and "the corrupted inputs'" in out, err
    assert len(list((tmp_path / "noisy").glob("*.noisy.png"))) == 30 and len(list((tmp_path / "noisy").iterdir())) == 60
    with Image.open(tmp_path / "noisy" / "d00.noisy.png") as image:
        assert (np.asarray(image) == 0).mean() >= 0.5  # half the pixels masked (some were black already)


def test_denoise_an_array_gives_an_array_in_the_datas_units(root, digit_bytes, tmp_path, capsys):
    model, images = sdae.load(root / "run"), digit_bytes[0]
    code, out, err = run_cli(capsys, "denoise", root / "run", "--input", root / "new.npz", "--out", tmp_path / "x.npz")
    assert code == 0 and "wrote 30 cleaned examples" in out, err
    with np.load(tmp_path / "x.npz") as saved, torch.no_grad():
        assert saved.files == ["x"] and saved["x"].shape == (30, 8, 8)
        expected = model.to_raw(model(model.prepare(images[60:]))).numpy().reshape(30, 8, 8)
        np.testing.assert_allclose(saved["x"], expected, rtol=1e-5, atol=1e-3)
    first = sdae.denoise_input(root / "run", root / "new.npz", tmp_path / "n1.npz", noise="gaussian:0.3", seed=5)
    sdae.denoise_input(root / "run", root / "new.npz", tmp_path / "n2.npz", noise="gaussian:0.3", seed=5)
    assert first["noise"] == "gaussian:0.3" and first["input_mse"] > 0.05
    with np.load(tmp_path / "n1.npz") as one, np.load(tmp_path / "n2.npz") as two:
        assert sorted(one.files) == ["corrupted", "x"]
        assert np.array_equal(one["corrupted"], two["corrupted"]) and np.array_equal(one["x"], two["x"])
        assert np.abs(one["corrupted"] - images[60:]).mean() > 10  # sigma 0.3 of the 0..255 range


def test_denoise_never_writes_over_its_input_or_into_a_run(root, tmp_path, capsys):
    cases = [
        (["--input", root / "flat", "--out", root / "flat"], "is the --input folder or inside it"),
        (["--input", root / "flat", "--out", root / "flat" / "clean"], "is the --input folder or inside it"),
        (["--input", root / "flat", "--out", root / "run"], "is a run folder"),
        (["--input", root / "new.npz", "--out", root / "new.npz", "--overwrite"], "is the --input file itself"),
        (["--input", root / "new.npz", "--out", root / "run" / "config.json"], "give an .npz file name"),
        (["--input", root / "new.npz", "--out", root / "run" / "x.npz", "--noise", "nonsense:1"], "nonsense"),
        (["--input", root / "flat", "--out", tmp_path / "x.npz"], "images in, images out"),
    ]
    for args, words in cases:
        code, _, err = run_cli(capsys, "denoise", root / "run", *args)
        assert code == 2 and words in err, (args, err)
    assert not (root / "flat" / "clean").exists() and not (root / "run" / "x.npz").exists()
    with pytest.raises(sdae.UsageError, match="one of the run folder's own files"):
        sdae.encode_input(root / "run", root / "new.npz", out=root / "run" / "config.json")


def test_a_supervised_run_denoises_with_its_pretrained_weights(root, digit_bytes, tmp_path, capsys):
    run = tmp_path / "sup"
    shutil.copytree(root / "run", run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SDAEWarning)
        sdae.run_finetuning(run, sdae.FinetuneOptions(TrainOptions(epochs=1, batch_size=16), supervised=True))
    code, out, err = run_cli(capsys, "denoise", run, "--input", root / "flat", "--out", tmp_path / "clean",
                             warnings=True)
    assert code == 0 and "reconstructions by the pretrained weights" in out and "warning" not in err, (out, err)
    with Image.open(tmp_path / "clean" / "d00.png") as image:
        expected = reconstructed_bytes(sdae.load(run, which="pretrained"), digit_bytes[0][60:61])[0]
        assert np.array_equal(np.asarray(image), expected)


# ------------------------------------------------------------------------------------ a shipped network by name
def test_a_shipped_networks_name_stands_in_for_a_run(tmp_path, monkeypatch, capsys):
    run = tmp_path / "digits"
    config = sdae.RunConfig(data=sdae.DataOptions("digits", limit=200), layers=[16], device="cpu",
                            pretrain=TrainOptions(epochs=1, batch_size=64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SDAEWarning)
        sdae.run_pretraining(run, config)
        sdae.run_finetuning(run, sdae.FinetuneOptions(TrainOptions(epochs=1, batch_size=64)))
        sdae.evaluate_run(run)
    shipped = import_module("sdae.shipped")
    shipped.package(run, tmp_path / "weights", "mnist", ["sdae pretrain ..."])
    monkeypatch.setattr(shipped, "FOLDER", tmp_path / "weights")
    monkeypatch.chdir(tmp_path)  # no path called mnist here
    digits = load_digits().images[:12].astype(np.uint8)  # 0..16, as the stand-in was trained
    np.save(tmp_path / "d.npy", digits)
    code, out, err = run_cli(capsys, "encode", "mnist", "--input", tmp_path / "d.npy", "--out", tmp_path / "c.npz",
                             "--device", "cpu")
    assert code == 0 and "wrote 12 codes of width 16" in out, err
    with np.load(tmp_path / "c.npz") as saved:
        np.testing.assert_allclose(saved["codes"], expected_codes(sdae.load(run), digits), atol=1e-6)
    code, out, err = run_cli(capsys, "denoise", "mnist", "--input", tmp_path / "d.npy", "--out", tmp_path / "x.npz",
                             "--device", "cpu")
    assert code == 0 and "wrote 12 cleaned examples" in out, err
    code, _, err = run_cli(capsys, "encode", "mnist", "--out", tmp_path / "c2.npz")
    assert code == 2 and "mnist is a network shipped with sdae" in err and "--input" in err, err
    code, _, err = run_cli(capsys, "encode", "mnist", "--input", tmp_path / "d.npy", "--layer", 1, "--out",
                           tmp_path / "c3.npz", warnings=True)
    assert code == 0, err
    save_pngs(tmp_path / "bytes", [np.full((8, 8), 200, np.uint8)], ["a.png"])  # bytes beside digits' 0..16
    code, _, err = run_cli(capsys, "denoise", "mnist", "--input", tmp_path / "bytes", "--out", tmp_path / "o")
    assert code == 1 and "not scaled as mnist's training data was" in err, err


def test_codes_of_some_classes_keep_the_runs_numbering_of_the_classes(root, digit_bytes, tmp_path):
    """Class folders 3 and 5 alone are labelled 3 and 5, as the run knows them, not 0 and 1 by their own order."""
    images, labels = digit_bytes
    picks = [k for k in range(60, 90) if labels[k] in (3, 5)]
    for k in picks:
        save_pngs(tmp_path / "some" / str(labels[k]), [images[k]], [f"{k}.png"])
    result = sdae.encode_input(root / "run", tmp_path / "some")
    assert sorted(result["labels"].tolist()) == sorted(int(labels[k]) for k in picks)
    assert list(result["classes"]) == [str(c) for c in range(10)]
    save_pngs(tmp_path / "other" / "cat", [images[60]], ["x.png"])
    with pytest.raises(sdae.DataError, match="class folder 'cat' is not one of the run's classes"):
        sdae.encode_input(root / "run", tmp_path / "other")
