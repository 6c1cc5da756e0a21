import json
import os

import pytest
import torch

import sdae
from sdae.errors import RunFolderError, UsageError
from sdae.train import Hooks, TrainOptions


def digits_config(**kw):
    base = dict(data=sdae.DataOptions("digits", limit=400), hidden=[32, 16], noise=["gaussian:0.3", "speckle:0.3"],
                device="cpu", pretrain=TrainOptions(epochs=1, batch_size=64))
    base.update(kw)
    return sdae.RunConfig(**base)


@pytest.fixture
def finished_run(tmp_path):
    final = {}
    hooks = Hooks(on_state=lambda s: final.update(s.model))
    sdae.run_pretraining(tmp_path / "run", digits_config(), hooks=hooks)
    sdae.run_finetuning(tmp_path / "run", TrainOptions(epochs=2, batch_size=64), hooks=hooks)
    return tmp_path / "run", final


def test_run_folder_round_trips(finished_run):
    path, final_state = finished_run
    model = sdae.load(path)
    trained = sdae.StackedDenoisingAutoencoder([64, 32, 16])
    trained.load_state_dict(final_state)
    x = torch.rand(7, 64)
    assert torch.equal(model(x), trained(x))
    assert torch.equal(model.encode(x), trained.encode(x))
    assert isinstance(model.encoder, torch.nn.Sequential) and isinstance(model.decoder, torch.nn.Sequential)
    assert not torch.equal(sdae.load(path, "pretrained.pt")(x), model(x))


def test_run_folder_contents(finished_run):
    path, _ = finished_run
    assert sorted(os.listdir(path)) == ["config.json", "metrics.jsonl", "model.pt", "pretrained.pt"]
    meta = json.loads((path / "config.json").read_text())
    assert meta["sdae_version"] == sdae.__version__
    assert meta["config"]["hidden"] == [32, 16] and meta["config"]["finetune"]["epochs"] == 2
    assert meta["data_facts"]["scaling"] == {"offset": 0.0, "scale": 1 / 16}
    assert meta["status"] == {"pretrain": "complete", "finetune": "complete", "finetune_kind": "denoising"}
    records = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    assert [(r["stage"], r["pair"], r["epoch"]) for r in records] == [
        ("pretrain", 1, 1), ("pretrain", 2, 1), ("finetune", None, 1), ("finetune", None, 2)]
    assert all(set(r) >= {"train_loss", "val_loss", "seconds"} and r["val_loss"] > 0 for r in records)


def test_existing_out_is_refused_unless_overwrite_and_foreign_files_survive(finished_run):
    path, _ = finished_run
    (path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="--overwrite"):
        sdae.run_pretraining(path, digits_config())
    sdae.run_pretraining(path, digits_config(), overwrite=True)
    assert (path / "notes.txt").read_text() == "mine"
    assert sdae.RunFolder.open(path).status == {"pretrain": "complete", "finetune": None}


def test_a_non_run_folder_is_never_overwritten(tmp_path):
    (tmp_path / "precious.txt").write_text("x")
    with pytest.raises(UsageError, match="not an sdae run folder"):
        sdae.run_pretraining(tmp_path, digits_config(), overwrite=True)
    assert os.listdir(tmp_path) == ["precious.txt"]


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ['SDAE_TEST_MARKER']}",))


@pytest.mark.parametrize("name", ["model.pt", "checkpoint.pt"])
def test_a_pickle_payload_is_refused_and_never_runs(finished_run, tmp_path, monkeypatch, name):
    path, _ = finished_run
    marker = tmp_path / "payload-ran"
    monkeypatch.setenv("SDAE_TEST_MARKER", str(marker))
    state = torch.load(path / "model.pt", weights_only=True)
    state["evil"] = Payload()
    torch.save(state, path / name)
    with pytest.raises(RunFolderError, match="refused"):
        sdae.load(path) if name == "model.pt" else sdae.RunFolder.open(path).load_checkpoint()
    assert not marker.exists()


def test_damaged_runs_give_clear_errors(finished_run, tmp_path):
    path, _ = finished_run
    with pytest.raises(RunFolderError, match="not an sdae run folder"):
        sdae.load(tmp_path)
    with pytest.raises(RunFolderError, match="does not exist"):
        sdae.load(tmp_path / "nowhere")
    good = (path / "model.pt").read_bytes()
    (path / "model.pt").write_bytes(good[: len(good) // 2])
    with pytest.raises(RunFolderError, match="corrupt or truncated"):
        sdae.load(path)
    other = sdae.StackedDenoisingAutoencoder([64, 20, 16])
    torch.save(other.state_dict(), path / "model.pt")
    with pytest.raises(RunFolderError, match="do not match the configuration"):
        sdae.load(path)
    (path / "model.pt").unlink()
    with pytest.raises(RunFolderError, match="missing"):
        sdae.load(path)


def test_a_newer_run_format_is_refused(finished_run):
    path, _ = finished_run
    meta = json.loads((path / "config.json").read_text())
    meta["format"], meta["sdae_version"] = 99, "9.0"
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(RunFolderError, match="upgrade sdae"):
        sdae.load(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(RunFolderError, match="not valid JSON"):
        sdae.load(path)


def test_finetuning_twice_needs_overwrite(finished_run):
    path, _ = finished_run
    with pytest.raises(UsageError, match="already fine-tuned"):
        sdae.run_finetuning(path, TrainOptions(epochs=1))
    sdae.run_finetuning(path, TrainOptions(epochs=1, batch_size=64), overwrite=True)
    stages = [(r["stage"], r["epoch"]) for r in sdae.RunFolder.open(path).read_metrics()]
    assert stages[-1] == ("finetune", 1) and ("finetune", 2) not in stages
