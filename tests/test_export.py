"""`sdae export` and `sdae.export`: ONNX and TorchScript files and plain torch modules that take raw inputs."""

import importlib.util
import warnings

import numpy as np
import pytest
import torch
from helpers import run_cli
from sklearn.datasets import load_breast_cancer, load_digits

import sdae
from sdae.errors import SDAEWarning, UsageError
from sdae.export import denoiser_network, encoder_network, export_run
from sdae.options import TrainOptions

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit.load: deprecated in favour of torch.export

# Raw digits (0..16) as stored, in a batch size the exports never saw (they trace a batch of 2).
RAW = load_digits().data[:7].astype(np.float32)
ONNX = all(importlib.util.find_spec(name) for name in ("onnx", "onnxruntime"))  # else the ONNX tests skip


def digits_run(path, supervised=False):
    config = sdae.RunConfig(data=sdae.DataOptions("digits"), layers=[16, 8], device="cpu",
                            pretrain=TrainOptions(epochs=1, batch_size=64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SDAEWarning)  # dead units after one epoch
        sdae.run_pretraining(path, config)
        sdae.run_finetuning(path, sdae.FinetuneOptions(TrainOptions(epochs=1, batch_size=64), supervised=supervised))
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return digits_run(tmp_path_factory.mktemp("export") / "R")


def onnx_outputs(path, raw):
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["raw"]
    return session.run(None, {"raw": raw})[0]


def expected(model, raw, part, layer=None):
    with torch.no_grad():
        x01 = model.prepare(torch.from_numpy(raw))
        return (model.encode(x01, layer) if part == "encoder" else model(x01)).numpy()


@pytest.mark.parametrize("part, layer", [("encoder", None), ("encoder", 1), ("denoiser", None)])
def test_onnx_round_trip_matches_torch_on_any_batch_size(run, tmp_path, part, layer):
    pytest.importorskip("onnx")
    path = export_run(run, "onnx", part, tmp_path / "net.onnx", layer=layer)
    model = sdae.load(run)
    for raw in (RAW, RAW[:1]):
        got, want = onnx_outputs(path, raw), expected(model, raw, part, layer)
        assert got.shape == want.shape == (len(raw), {None: 8, 1: 16}[layer] if part == "encoder" else 64)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("part", ["encoder", "denoiser"])
def test_torchscript_round_trip_matches_torch(run, tmp_path, part):
    path = export_run(run, "torchscript", part, tmp_path / "net.pt")
    loaded = torch.jit.load(str(path))
    want = expected(sdae.load(run), RAW, part)
    with torch.no_grad():
        np.testing.assert_allclose(loaded(torch.from_numpy(RAW)).numpy(), want, rtol=0, atol=1e-6)
        np.testing.assert_allclose(loaded(torch.from_numpy(RAW).to(torch.uint8)).numpy(), want, rtol=0, atol=1e-6)


def test_raw_output_gives_the_reconstruction_in_the_datas_units(run, tmp_path):
    model = sdae.load(run)
    with torch.no_grad():
        want = model.to_raw(model(model.prepare(torch.from_numpy(RAW)))).numpy()
    path = export_run(run, "torchscript", "denoiser", tmp_path / "raw.pt", raw_output=True)
    with torch.no_grad():
        np.testing.assert_allclose(torch.jit.load(str(path))(torch.from_numpy(RAW)).numpy(), want, atol=1e-5)
    if ONNX:
        path = export_run(run, "onnx", "denoiser", tmp_path / "raw.onnx", raw_output=True)
        np.testing.assert_allclose(onnx_outputs(path, RAW), want, atol=16e-5)  # 1e-5 in [0, 1] is 16e-5 in 0..16


def test_the_encoder_network_is_a_plain_independent_copy_that_takes_raw_inputs(run):
    model = sdae.load(run)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    net = encoder_network(model, layer=1)
    assert type(net) is torch.nn.Sequential and list(dict(net.named_children())) == ["scaling", "encoder1"]
    raw = torch.from_numpy(RAW)
    with torch.no_grad():
        assert torch.equal(net(raw), model.encode(model.prepare(raw), 1))
        assert torch.equal(encoder_network(model)(raw), model.encode(model.prepare(raw)))
        x01 = model.prepare(raw)
        assert torch.equal(encoder_network(model, raw_input=False)(x01), model.encode(x01))
    mine = torch.nn.Sequential(net, torch.nn.Linear(16, 10)).train()  # dropped into a model of the user's
    optimizer = torch.optim.SGD(mine.parameters(), lr=0.5)
    for _ in range(3):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(mine(raw), torch.arange(7)).backward()
        optimizer.step()
    assert not torch.equal(net.encoder1.linear.weight, before["encoder.0.linear.weight"])  # it did train
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())  # and the model did not change


def test_a_tied_network_denoises_the_same_once_copied_out():
    model = sdae.StackedDenoisingAutoencoder([64, 16, 8], tied=True, generator=torch.Generator().manual_seed(0))
    model.set_scaling(0.0, 1 / 16)
    raw = torch.from_numpy(RAW)
    net = denoiser_network(model, raw_output=True)
    with torch.no_grad():
        assert torch.allclose(net(raw), model.to_raw(model(model.prepare(raw))), atol=1e-6)


def test_per_feature_scaling_is_exported(tmp_path, capsys):
    x = load_breast_cancer().data.astype(np.float32)
    np.savez(tmp_path / "cancer.npz", x_train=x)
    code, _, err = run_cli(capsys, "pretrain", "--out", tmp_path / "run", "--dataset", tmp_path / "cancer.npz",
                           "--scaling", "feature", "--layers", "8", "--epochs", "1", "--quiet", "--device", "cpu")
    assert code == 0, err
    model = sdae.load(tmp_path / "run")
    assert model.input_scale.shape == (30,) and model.input_offset.shape == (30,)
    raw = x[:5]
    for part in ("encoder", "denoiser"):
        code, out, err = run_cli(capsys, "export", tmp_path / "run", "--format", "torchscript", "--part", part,
                                 "--out", tmp_path / f"{part}.pt")
        assert code == 0 and "wrote the" in out, err
        with torch.no_grad():
            got = torch.jit.load(str(tmp_path / f"{part}.pt"))(torch.from_numpy(raw)).numpy()
        np.testing.assert_allclose(got, expected(model, raw, part), rtol=0, atol=1e-6)
        if ONNX:
            path = export_run(tmp_path / "run", "onnx", part, tmp_path / f"{part}.onnx")
            np.testing.assert_allclose(onnx_outputs(path, raw), expected(model, raw, part), rtol=0, atol=1e-5)


def test_a_supervised_run_exports_its_fine_tuned_encoder_and_its_pretrained_denoiser(tmp_path):
    run = digits_run(tmp_path / "S", supervised=True)
    with pytest.warns(SDAEWarning, match="pretrained weights"):
        path = export_run(run, "torchscript", "denoiser", tmp_path / "d.pt")
    with torch.no_grad():
        got = torch.jit.load(str(path))(torch.from_numpy(RAW)).numpy()
    np.testing.assert_allclose(got, expected(sdae.load(run, which="pretrained"), RAW, "denoiser"), atol=1e-6)
    path = export_run(run, "torchscript", "encoder", tmp_path / "e.pt")
    with torch.no_grad():
        got = torch.jit.load(str(path))(torch.from_numpy(RAW)).numpy()
    np.testing.assert_allclose(got, expected(sdae.load(run), RAW, "encoder"), atol=1e-6)


def test_refusals_leave_every_file_as_it_was(run, tmp_path, capsys):
    weights = (run / "model.safetensors").read_bytes()
    with pytest.raises(UsageError, match="run folder's own files"):
        export_run(run, "torchscript", "encoder", run / "model.safetensors", overwrite=True)
    assert (run / "model.safetensors").read_bytes() == weights
    taken = tmp_path / "taken.pt"
    taken.write_bytes(b"mine")
    with pytest.raises(UsageError, match="already exists.*`overwrite=True`"):
        export_run(run, "torchscript", "encoder", taken)
    assert taken.read_bytes() == b"mine"
    for layer in (0, 3, True, 1.5):
        with pytest.raises(UsageError, match=r"`layer` must be between 1 and 2"):
            export_run(run, "torchscript", "encoder", tmp_path / "x.pt", layer=layer)
    with pytest.raises(UsageError, match="`layer` applies to the encoder"):
        export_run(run, "torchscript", "denoiser", tmp_path / "x.pt", layer=1)
    with pytest.raises(UsageError, match="`raw_output` applies to the denoiser"):
        export_run(run, "torchscript", "encoder", tmp_path / "x.pt", raw_output=True)
    with pytest.raises(UsageError, match="`format` must be"):
        export_run(run, "pickle", "encoder", tmp_path / "x.pt")
    with pytest.raises(UsageError, match="`layer` must be between"):
        encoder_network(sdae.load(run), layer=3)
    assert not (tmp_path / "x.pt").exists()
    code, _, err = run_cli(capsys, "export", run, "--format", "onnx", "--part", "encoder", "--out", taken)
    assert code == 2 and "already exists; pass --overwrite" in err
    code, _, err = run_cli(capsys, "export", run, "--format", "onnx", "--part", "encoder", "--layer", "5",
                           "--out", tmp_path / "y.onnx")
    assert code == 2 and "--layer must be between 1 and 2" in err
    assert taken.read_bytes() == b"mine" and not (tmp_path / "y.onnx").exists()
    code, out, err = run_cli(capsys, "export", run, "--format", "torchscript", "--part", "encoder", "--out", taken,
                             "--overwrite")
    assert code == 0 and "(batch, 64) raw inputs -> (batch, 8) codes" in out, err
    assert taken.read_bytes() != b"mine"
