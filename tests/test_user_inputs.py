"""A loaded model takes data as the user has it; notices are warnings the user controls (issue "Your data, read
right", parts 4 and 5)."""

import re
import shutil
import warnings

import numpy as np
import pytest
import torch
from helpers import run_cli
from sklearn.datasets import load_digits

import sdae
from sdae.errors import DataError, SDAEWarning, UsageError
from sdae.options import TrainOptions


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A pretrained digits run and a copy of it fine-tuned on the labels."""
    root = tmp_path_factory.mktemp("runs")
    config = sdae.RunConfig(data=sdae.DataOptions("digits", limit=300), layers=[16], device="cpu",
                            pretrain=TrainOptions(epochs=1, batch_size=64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SDAEWarning)
        sdae.run_pretraining(root / "pretrained", config)
        shutil.copytree(root / "pretrained", root / "supervised")
        sdae.run_finetuning(root / "supervised", sdae.FinetuneOptions(TrainOptions(epochs=1, batch_size=64),
                                                                      supervised=True))
    return root


@pytest.fixture(scope="module")
def images():
    """Ten digits as scikit-learn has them: (10, 8, 8) values 0..16."""
    return load_digits().images[:10]


def sdae_warnings(seen) -> list[str]:
    return [str(w.message) for w in seen if issubclass(w.category, SDAEWarning)]


# --------------------------------------------------------------------------------------- 4. inputs as the user has them

def test_uint8_images_go_through_prepare_and_encode(runs, images):
    model = sdae.load(runs / "pretrained")
    raw = images.astype(np.uint8)  # (10, 8, 8) uint8, as training accepted it
    flat = torch.from_numpy(raw.reshape(10, 64))
    prepared = model.prepare(raw)
    assert isinstance(prepared, torch.Tensor) and prepared.dtype == torch.float32 and prepared.shape == (10, 64)
    assert torch.equal(prepared, (flat.float() - model.input_offset) * model.input_scale)
    assert torch.equal(prepared, flat.float() / 16)  # digits are 0..16
    codes = model.encode(prepared)
    assert isinstance(codes, torch.Tensor) and codes.shape == (10, 16)
    assert torch.equal(codes, model.encode(flat.float() / 16))
    assert torch.equal(model(prepared), model(flat.float() / 16))


def test_float64_arrays_and_tensors_of_every_accepted_shape(runs, images):
    model = sdae.load(runs / "pretrained")
    expected = model.prepare(torch.from_numpy(images.reshape(10, 64)).float())
    for raw in (images, images.reshape(10, 64), torch.from_numpy(images), torch.from_numpy(images).to(torch.uint8),
                images.reshape(10, 64).tolist()):
        prepared = model.prepare(raw)
        assert prepared.dtype == torch.float32 and torch.equal(prepared, expected), type(raw)
    # the network's own entry points take float64 arrays (cast to the weights' float32) and images
    x01 = images / 16.0
    codes = model.encode(torch.from_numpy(x01.reshape(10, 64)).float())
    assert torch.equal(model.encode(x01), codes)
    assert torch.equal(model.encode(x01.astype(np.float32)), codes)
    assert model(x01).shape == (10, 64) and model(x01).dtype == torch.float32
    assert model.encode(x01, layer=0).shape == (10, 64)


def test_a_single_example_is_a_batch_of_one(runs, images):
    model = sdae.load(runs / "pretrained")
    batch = model.encode(model.prepare(images))
    for one in (images[3], images[3].reshape(64), torch.from_numpy(images[3])):
        prepared = model.prepare(one)
        assert prepared.shape == (1, 64)
        code = model.encode(prepared)
        assert code.shape == (1, 16) and torch.allclose(code[0], batch[3], atol=1e-6)
    assert model.encode(images[3] / 16.0).shape == (1, 16) and model(images[3] / 16.0).shape == (1, 64)


@pytest.mark.parametrize("shape", [(5, 10), (5, 7, 7), (63,), (2, 2, 4, 4)])
def test_a_wrong_shape_is_refused_naming_it(runs, shape):
    model = sdae.load(runs / "pretrained")
    for call in (model.prepare, model.encode, model):
        with pytest.raises(DataError) as info:
            call(np.zeros(shape, dtype=np.float32))
        assert str(shape) in str(info.value) and "(examples, 64)" in str(info.value), str(info.value)


def test_raw_integers_and_foreign_devices_are_refused_with_the_fix(runs, images):
    model = sdae.load(runs / "pretrained")
    with pytest.raises(UsageError, match=r"input x holds uint8 values, raw data as stored.*pass model.prepare\(x\)"):
        model.encode(images.astype(np.uint8))
    with pytest.raises(UsageError, match="input raw is on meta but this network's weights are on cpu"):
        model.prepare(torch.zeros(2, 64, device="meta"))
    with pytest.raises(DataError, match="real numbers"):
        model.prepare(np.array([["a"] * 64]))


def test_classify_takes_arrays_and_images(runs, images):
    model = sdae.load(runs / "supervised")
    logits = model.classify(images / 16.0)
    assert isinstance(logits, torch.Tensor) and logits.shape == (10, 10)
    assert torch.equal(logits, model.classify(model.prepare(images)))


# -------------------------------------------------------------------------------- 4. which weights `sdae.load` returns

def test_load_chooses_the_weights_of_a_supervised_run(runs, images):
    run = runs / "supervised"
    latest, pretrained = sdae.load(run), sdae.load(run, which="pretrained")
    assert latest.head is not None and pretrained.head is None
    assert torch.equal(sdae.load(run, which="finetuned").encoder[0].linear.weight, latest.encoder[0].linear.weight)
    original = sdae.load(runs / "pretrained")  # the run before supervised fine-tuning
    for name, tensor in pretrained.state_dict().items():
        assert torch.equal(tensor, original.state_dict()[name]), name
    assert not torch.equal(latest.encoder[0].linear.weight, pretrained.encoder[0].linear.weight)
    x = latest.prepare(images)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        latest.encode(x), latest.classify(x), pretrained(x)  # what was trained: no notice
        assert sdae_warnings(seen) == []
        latest(x)  # the supervised encoder through a decoder it was not trained with
    [notice] = sdae_warnings(seen)
    assert "supervised fine-tuning" in notice and 'which="pretrained"' in notice


def test_load_refuses_a_meaningless_choice(runs):
    with pytest.raises(UsageError, match="cannot load which='finetuned': the run's fine-tuning is not started"):
        sdae.load(runs / "pretrained", which="finetuned")
    with pytest.raises(UsageError, match="cannot load which='best': choose one of latest, finetuned, pretrained"):
        sdae.load(runs / "pretrained", which="best")
    model = sdae.load(runs / "pretrained")  # "latest": the pretrained weights until fine-tuning completes
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        model(torch.rand(3, 64))
    assert sdae_warnings(seen) == [] and model.head is None


# ------------------------------------------------------------------------------------------- 5. notices a user controls

def tiny_transformer(verbose):
    from sdae.sklearn import SDAETransformer

    return SDAETransformer(hidden_layer_sizes=(8,), pretrain_epochs=1, batch_size=100, random_state=0, verbose=verbose)


@pytest.fixture
def every_layer_dies(monkeypatch):
    """Every layer counts as having too many dead units, so that each stage warns."""
    monkeypatch.setattr("sdae.guards.DEAD_WARNING", -1.0)


def test_a_quiet_pipeline_shows_no_notices(every_layer_dies, capsys):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    X, y = load_digits(return_X_y=True)
    X, y = X[:200], y[:200]
    for verbose in (False, True):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            cross_val_score(make_pipeline(tiny_transformer(verbose), LogisticRegression(max_iter=50)), X, y, cv=2)
        notices = sdae_warnings(seen)
        if verbose:  # one per fold, in the words of the run at hand: no validation examples are held out
            assert len(notices) == 2 and all("units are dead on the training examples" in n for n in notices), notices
        else:
            assert notices == []
    assert "units are dead" not in capsys.readouterr().err  # not printed some other way either


def test_a_warnings_filter_silences_the_notice(every_layer_dies):
    X = load_digits().data[:200]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=SDAEWarning)
        tiny_transformer(True).fit(X)
    assert sdae_warnings(seen) == []


def test_dead_units_are_counted_on_the_examples_the_message_names(every_layer_dies):
    x = torch.rand(100, 64, generator=torch.Generator().manual_seed(0))
    for val, words in ((None, "training examples"), (x[:20], "validation examples")):
        model = sdae.StackedDenoisingAutoencoder([64, 8], generator=torch.Generator().manual_seed(0))
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            sdae.pretrain(model, x, val, sdae.Gaussian(0.3), TrainOptions(epochs=1, batch_size=50),
                          torch.Generator().manual_seed(0))
            sdae.finetune(model, x, val, sdae.Gaussian(0.3), TrainOptions(epochs=1, batch_size=50),
                          torch.Generator().manual_seed(0))
        notices = sdae_warnings(seen)
        assert len(notices) == 2 and all(n.endswith(f"units are dead on the {words}") for n in notices), notices


def test_the_cli_shows_a_notice_as_one_line_in_its_words(every_layer_dies, tmp_path, capsys):
    code, _, err = run_cli(capsys, "pretrain", "--dataset", "digits", "--limit", "200", "--layers", "8", "--epochs",
                           "1", "--val-fraction", "0", "--out", tmp_path / "r", "--quiet", warnings=True)
    assert code == 0, err
    assert re.fullmatch(r"sdae: warning: pretrain pair 1/1, epoch 1: \d+% of layer 1's units are dead on the training "
                        r"examples\n", err), err


def test_the_cli_translates_sdae_notices_and_leaves_other_warnings_alone(monkeypatch, capsys):
    import sdae_cli.main as cli_main

    def command(**kwargs):
        warnings.warn(SDAEWarning("lower `lr`"))
        warnings.warn(UserWarning("another library's notice"))
        return 0

    monkeypatch.setattr(cli_main.cli, "main", command)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        before = warnings.showwarning
        code, _, err = run_cli(capsys, "info", "x", warnings=True)
        assert warnings.showwarning is before  # put back when the command ends
    assert code == 0 and err == "sdae: warning: lower --lr\n"
    assert [(w.category, str(w.message)) for w in seen] == [(UserWarning, "another library's notice")]


def test_taking_over_a_dead_writers_lock_is_a_notice(tmp_path):
    from sdae.files import FolderLock

    (tmp_path / FolderLock.NAME).write_text("process 999999999 (fine-tuning, since 2024-01-01 00:00:00)")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        FolderLock(tmp_path, "testing").acquire().release()
    assert sdae_warnings(seen) == [f"{tmp_path}: took over the lock left by process 999999999 (fine-tuning, since "
                                   "2024-01-01 00:00:00), which is no longer running"]
