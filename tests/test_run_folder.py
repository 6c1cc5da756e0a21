import json
import os

import numpy as np
import pytest
import torch
from helpers import run_cli

import sdae
from sdae.errors import RunFolderError, UsageError
from sdae.loop import Hooks
from sdae.options import TrainOptions


def digits_config(**kw):
    base = dict(data=sdae.DataOptions("digits", limit=400), layers=[32, 16], noise=["gaussian:0.3", "speckle:0.3"],
                device="cpu", pretrain=TrainOptions(epochs=1, batch_size=64))
    base.update(kw)
    return sdae.RunConfig(**base)


@pytest.fixture
def finished_run(tmp_path):
    final = {}
    hooks = Hooks(on_state=lambda s: final.update(s.model))
    sdae.run_pretraining(tmp_path / "run", digits_config(), hooks=hooks)
    sdae.run_finetuning(tmp_path / "run", sdae.FinetuneOptions(TrainOptions(epochs=2, batch_size=64)), hooks=hooks)
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
    assert not torch.equal(sdae.load(path, "pretrained.safetensors")(x), model(x))
    assert model.input_scale.item() == 1 / 16  # digits are 0..16: the network knows how its raw inputs scale
    raw = torch.randint(0, 17, (3, 64))
    assert torch.equal(model.prepare(raw), raw.float() / 16)


def test_run_folder_contents(finished_run):
    path, _ = finished_run
    assert sorted(os.listdir(path)) == [".sdae.lock", "checkpoint.pt", "config.json", "metrics.jsonl",
                                        "model.safetensors", "pretrained.safetensors", "sdae-run.json"]
    assert (path / ".sdae.lock").read_text() == ""  # released
    marker = json.loads((path / "sdae-run.json").read_text())
    assert marker["format"] == 3 and len(marker["run_id"]) == 32 and marker["sdae_version"] == sdae.__version__
    meta = json.loads((path / "config.json").read_text())
    assert meta["config"]["layers"] == [32, 16] and meta["config"]["finetune"]["epochs"] == 2
    assert meta["data_facts"]["scaling"] == {"offset": 0.0, "scale": 1 / 16, "rule": "given"}  # digits: 0..16
    assert len(meta["data_facts"]["fingerprint"]) == 32
    assert meta["status"] == {"pretrain": "complete", "finetune": "complete", "finetune_kind": "denoising"}
    records = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    assert [(r["stage"], r["pair"], r["epoch"]) for r in records] == [
        ("pretrain", 1, 1), ("pretrain", 2, 1), ("finetune", None, 1), ("finetune", None, 2)]
    assert all(set(r) >= {"train_loss", "val_loss", "seconds"} and r["val_loss"] > 0 for r in records)


def test_existing_out_is_refused_unless_overwrite_and_foreign_files_survive(finished_run):
    path, _ = finished_run
    (path / "notes.txt").write_text("mine")
    (path / "figures").mkdir()
    (path / "figures" / "old.png").write_bytes(b"png")
    old_id = json.loads((path / "sdae-run.json").read_text())["run_id"]
    with pytest.raises(UsageError, match="`overwrite=True`"):
        sdae.run_pretraining(path, digits_config())
    sdae.run_pretraining(path, digits_config(), overwrite=True)
    assert (path / "notes.txt").read_text() == "mine"
    assert not (path / "figures").exists() and (path / "model.safetensors").stat().st_size > 0
    assert json.loads((path / "sdae-run.json").read_text())["run_id"] != old_id
    status = sdae.RunFolder.open(path).status
    assert (status.pretrain, status.finetune) == ("complete", None)
    assert not [p for p in os.listdir(path) if p.startswith(".sdae-replaced")]


def test_a_folder_sdae_did_not_make_is_never_overwritten(tmp_path, capsys):
    """The issue's reproduction: a foreign config.json, model.pt and figures/ survive --overwrite."""
    foreign = tmp_path / "other"
    (foreign / "figures").mkdir(parents=True)
    (foreign / "config.json").write_text('{"model_type": "bert"}')
    (foreign / "model.pt").write_bytes(b"their weights")
    (foreign / "figures" / "f.png").write_bytes(b"their figure")
    before = {p: p.read_bytes() for p in foreign.rglob("*") if p.is_file()}
    code, _, err = run_cli(capsys, "pretrain", "--dataset", "digits", "--layers", "32,16", "--epochs", "1",
                           "--out", foreign, "--overwrite")
    assert code == 2 and "not an sdae run folder" in err and err.count("\n") == 1
    assert {p: p.read_bytes() for p in foreign.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in foreign.iterdir()) == ["config.json", "figures", "model.pt"]


def test_a_failed_overwrite_leaves_the_previous_run_whole(finished_run, monkeypatch):
    path, _ = finished_run
    (path / "figures").mkdir()
    before = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    real_rename = os.rename

    def failing_rename(src, dst):
        if str(src).endswith("figures"):
            raise PermissionError(1, "Operation not permitted")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(sdae.WriteError, match="the previous run is intact"):
        sdae.run_pretraining(path, digits_config(), overwrite=True)
    assert {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()} == before
    assert (path / "figures").is_dir() and sdae.load(path) is not None


def test_a_symlinked_figures_folder_is_replaced_without_following_it(finished_run, tmp_path):
    path, _ = finished_run
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.png").write_bytes(b"keep")
    (path / "figures").symlink_to(elsewhere)
    sdae.run_pretraining(path, digits_config(), overwrite=True)
    assert (elsewhere / "keep.png").read_bytes() == b"keep" and not (path / "figures").exists()
    assert sdae.RunFolder.open(path).status.pretrain == "complete"


def test_outputs_never_overwrite_a_runs_own_files_or_unknown_files(finished_run, tmp_path, capsys):
    path, _ = finished_run
    config = (path / "config.json").read_bytes()
    code, _, err = run_cli(capsys, "encode", path, "--out", path / "config.json", "--overwrite")
    assert code == 2 and "run folder's own files" in err and (path / "config.json").read_bytes() == config
    (tmp_path / "mine.npz").write_bytes(b"precious")
    code, _, err = run_cli(capsys, "encode", path, "--out", tmp_path / "mine.npz")
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert (tmp_path / "mine.npz").read_bytes() == b"precious"
    code, _, err = run_cli(capsys, "encode", path, "--out", tmp_path / "mine.npz", "--overwrite")
    assert code == 0, err
    with np.load(tmp_path / "mine.npz") as data:
        assert data["codes"].shape == (360, 16)


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ['SDAE_TEST_MARKER']}",))


@pytest.mark.parametrize("name", ["model.safetensors", "checkpoint.pt"])
def test_a_pickle_payload_is_refused_and_never_runs(finished_run, tmp_path, monkeypatch, name):
    path, _ = finished_run
    marker = tmp_path / "payload-ran"
    monkeypatch.setenv("SDAE_TEST_MARKER", str(marker))
    state = dict(sdae.load(path).state_dict())
    state["evil"] = Payload()
    torch.save(state, path / name)
    with pytest.raises(RunFolderError, match="refused" if name == "checkpoint.pt" else "corrupt"):
        sdae.load(path) if name == "model.safetensors" else sdae.RunFolder.open(path).load_checkpoint()
    assert not marker.exists()


def test_damaged_runs_give_clear_errors(finished_run, tmp_path):
    path, _ = finished_run
    with pytest.raises(RunFolderError, match="not an sdae run folder"):
        sdae.load(tmp_path)
    with pytest.raises(RunFolderError, match="does not exist"):
        sdae.load(tmp_path / "nowhere")
    from safetensors.torch import save_file

    good = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(good[: len(good) // 2])
    with pytest.raises(RunFolderError, match="corrupt or truncated"):
        sdae.load(path)
    other = sdae.StackedDenoisingAutoencoder([64, 20, 16])
    save_file(other.state_dict(), path / "model.safetensors")
    with pytest.raises(RunFolderError, match="do not match the configuration"):
        sdae.load(path)
    (path / "model.safetensors").unlink()
    with pytest.raises(RunFolderError, match="missing"):
        sdae.load(path)


def test_a_newer_run_format_is_refused(finished_run):
    path, _ = finished_run
    marker = json.loads((path / "sdae-run.json").read_text())
    marker["format"], marker["sdae_version"] = 99, "9.0"
    (path / "sdae-run.json").write_text(json.dumps(marker))
    with pytest.raises(RunFolderError, match="upgrade sdae"):
        sdae.load(path)
    (path / "sdae-run.json").write_text("{not json")
    with pytest.raises(RunFolderError, match="not valid JSON"):
        sdae.load(path)


@pytest.mark.parametrize("field, value, words", [
    (("config", "layers"), ["abc", 16], "`layers` must be one or more positive whole numbers"),
    (("config", "pretrain", "lr"), "fast", "`lr` must be a positive number, got 'fast'"),
    (("config", "pretrain", "epoch"), 3, "field 'pretrain.epoch' is unknown"),
    (("config", "seed"), 10**30, "`seed` must be a whole number"),
    (("data_facts", "input_dim"), None, "'input_dim' must be a whole number"),
    (("status", "pretrain"), "maybe", "'pretrain' must be running or complete"),
])
def test_config_fields_are_checked_on_load(finished_run, field, value, words):
    path, _ = finished_run
    meta = json.loads((path / "config.json").read_text())
    target = meta
    for key in field[:-1]:
        target = target[key]
    if value is None:
        del target[field[-1]]
    else:
        target[field[-1]] = value
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(RunFolderError, match=words) as info:
        sdae.RunFolder.open(path)
    assert "config.json" in str(info.value)


def test_absurd_files_are_refused_by_name(finished_run):
    path, _ = finished_run
    (path / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RunFolderError, match="config.json: nested too deeply"):
        sdae.RunFolder.open(path)


def test_metrics_lines_are_checked(finished_run):
    path, _ = finished_run
    lines = (path / "metrics.jsonl").read_text().splitlines()
    (path / "metrics.jsonl").write_text("\n".join([lines[0], "[1, 2]", *lines[2:]]) + "\n")
    with pytest.raises(RunFolderError, match=r"metrics.jsonl, line 2: expected a JSON object"):
        sdae.RunFolder.open(path).read_metrics()


@pytest.mark.parametrize("damage, words", [
    (lambda c: c["model"]["encoder.0.linear.weight"], "holds a Tensor, not a dictionary"),
    (lambda c: {**c, "optimizer": {}}, "holds no optimizer state"),
    (lambda c: {**c, "pair": 99}, "field 'pair' is 99; this run has pairs 1..2"),
])
def test_checkpoints_are_checked(finished_run, damage, words):
    path, _ = finished_run
    state = sdae.TrainingState.capture("pretrain", 2, 1, sdae.load(path, "pretrained.safetensors"),
                                       torch.optim.Adam(torch.nn.Linear(1, 1).parameters()),
                                       torch.Generator().manual_seed(0))
    raw = {**state.to_dict(), "metrics": "[]"}
    torch.save(damage(raw), path / "checkpoint.pt")
    with pytest.raises(RunFolderError, match=words) as info:
        sdae.RunFolder.open(path).load_checkpoint()
    assert "checkpoint.pt" in str(info.value)


def test_finetuning_twice_needs_overwrite(finished_run):
    path, _ = finished_run
    with pytest.raises(UsageError, match="already fine-tuned"):
        sdae.run_finetuning(path, sdae.FinetuneOptions(TrainOptions(epochs=1)))
    sdae.run_finetuning(path, sdae.FinetuneOptions(TrainOptions(epochs=1, batch_size=64)), overwrite=True)
    stages = [(r.stage, r.epoch) for r in sdae.RunFolder.open(path).read_metrics()]
    assert stages[-1] == ("finetune", 1) and ("finetune", 2) not in stages


def test_a_config_written_before_layers_was_named_so_still_opens(finished_run):
    """Runs written when the hidden sizes were saved as `hidden` open with the same sizes."""
    path, _ = finished_run
    meta = json.loads((path / "config.json").read_text())
    meta["config"]["hidden"] = meta["config"].pop("layers")
    (path / "config.json").write_text(json.dumps(meta))
    assert sdae.RunFolder.open(path).config.layers == [32, 16]
