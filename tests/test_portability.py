"""A run goes on where its checkpoint can be read: CPU and GPU both ways, and a command that fails changes nothing.

No GPU is needed: a GPU checkpoint is made by hand from a CPU one, its generator state replaced by a CUDA
generator's (16 bytes: seed and offset; a CPU generator's is 5056). Every failure is injected on purpose,
one step at a time, and the run folder is compared byte for byte before and after.
"""

import re
import shutil
import warnings

import pytest
import torch
from helpers import run_cli
from safetensors.torch import load_file

import sdae
from sdae import distributed
from sdae.distributed import World, fresh_seed
from sdae.errors import SDAEError, SDAEWarning
from sdae.schedule import make_optimizer
from sdae.options import TrainOptions
from sdae.records import TrainingState

PRETRAIN = ["pretrain", "--dataset", "digits", "--limit", "300", "--layers", "16,8", "--epochs", "1", "--batch-size",
            "32", "--seed", "3", "--device", "cpu", "--quiet"]
QUIET = ["--batch-size", "32", "--quiet"]
NOT_IDENTICAL = "cannot move to cpu.*not bit-identical"


class Injected(SDAEError):
    """The failure a test puts into one step of a command."""


def cuda_generator_state(seed: int = 3, offset: int = 4096) -> torch.Tensor:
    return torch.tensor(list(seed.to_bytes(8, "little") + offset.to_bytes(8, "little")), dtype=torch.uint8)


def as_if_from_a_gpu(run, rank_generators: bool = False) -> None:
    """Give the run's checkpoint the generator state a CUDA generator saves (its other tensors stay on the CPU)."""
    checkpoint = torch.load(run / "checkpoint.pt", weights_only=True)
    checkpoint["generator"] = cuda_generator_state()
    if rank_generators:
        checkpoint["extra"]["rank_generators"] = [cuda_generator_state(offset=8192)]
    torch.save(checkpoint, run / "checkpoint.pt")


def snapshot(run) -> dict:
    """Every file's bytes and every folder, by path inside the run."""
    return {str(p.relative_to(run)): (p.read_bytes() if p.is_file() else None) for p in sorted(run.rglob("*"))}


def cli(capsys, *args) -> str:
    """Run a command that must succeed; returns its stderr, warnings included."""
    code, _, err = run_cli(capsys, *args, warnings=True)
    assert code == 0, err
    return err


def notices(err: str) -> list[str]:
    """The warning lines that say a continuation is not bit-identical."""
    return [line for line in err.splitlines() if line.startswith("sdae: warning: ") and "bit-identical" in line]


def epochs_of(run, stage: str) -> list:
    records = sdae.RunFolder.open(run).read_metrics()
    return [(r.pair, r.epoch) if r.pair else r.epoch for r in records if r.stage == stage]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs to copy: fine-tuned 2 epochs (denoising, supervised), and a pretraining stopped in pair 2."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SDAEWarning)  # dead units, which these tiny runs may have
        return make_runs(tmp_path_factory.mktemp("runs"))


def make_runs(base):
    config = sdae.RunConfig(data=sdae.DataOptions("digits", limit=300), layers=[16, 8], device="cpu", seed=3,
                            pretrain=TrainOptions(epochs=1, batch_size=32))
    sdae.run_pretraining(base / "pretrained", config)
    made = {"pretrained": base / "pretrained"}
    for name, supervised in (("denoising", False), ("supervised", True)):
        made[name] = base / name
        shutil.copytree(base / "pretrained", made[name])
        options = sdae.FinetuneOptions(TrainOptions(epochs=2, batch_size=32), supervised=supervised)
        sdae.run_finetuning(made[name], options)
        (made[name] / "evaluation.json").write_text("{}\n")  # an output that describes the fine-tuned weights

    def stop_in_pair_2(label, done, total, loss):
        if label.startswith("pretrain pair 2/2 epoch 2") and done == total:
            raise KeyboardInterrupt

    made["stopped"] = base / "stopped"
    config.pretrain.epochs = 2
    with pytest.raises(sdae.Interrupted):
        sdae.run_pretraining(made["stopped"], config, hooks=sdae.Hooks(on_batch=stop_in_pair_2))
    return made


@pytest.fixture
def copy_of(runs, tmp_path):
    def copy(name):
        shutil.copytree(runs[name], tmp_path / name)
        return tmp_path / name

    return copy


# ----------------------------------------------------------------------------- (a) a GPU checkpoint goes on on a CPU
@pytest.mark.parametrize("kind", ["denoising", "supervised"])
def test_a_gpu_fine_tuning_goes_on_on_the_cpu_reproducibly(kind, copy_of, capsys):
    ends = []
    for copy in ("one", "two"):
        run = copy_of(kind)
        run = run.rename(run.parent / f"{kind}-{copy}")
        as_if_from_a_gpu(run, rank_generators=copy == "two")
        [notice] = notices(cli(capsys, "finetune", run, "--resume", "--epochs", "4", "--quiet"))
        assert re.search(NOT_IDENTICAL, notice) and f"{run / 'checkpoint.pt'}: " in notice
        folder = sdae.RunFolder.open(run)
        stage = "supervised" if kind == "supervised" else "finetune"
        assert epochs_of(run, stage) == [1, 2, 3, 4]
        assert folder.status.finetune == "complete" and folder.config.finetune.epochs == 4
        ends.append(load_file(run / "model.safetensors"))
    # the fresh stream comes from the run's seed and the epoch: the same continuation every time
    assert ends[0].keys() == ends[1].keys() and all(torch.equal(ends[0][k], ends[1][k]) for k in ends[0])


def test_a_gpu_pretraining_goes_on_on_the_cpu(copy_of, capsys):
    run = copy_of("stopped")
    state, _ = sdae.RunFolder.open(run).load_checkpoint()
    assert (state.pair, state.epoch) == (2, 1)
    as_if_from_a_gpu(run)
    [notice] = notices(cli(capsys, "pretrain", "--out", run, "--resume", "--quiet"))
    assert re.search(NOT_IDENTICAL, notice)
    assert epochs_of(run, "pretrain") == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert sdae.RunFolder.open(run).status.pretrained and not (run / "checkpoint.pt").exists()


def test_a_state_that_fits_goes_on_exactly_without_a_notice(copy_of, capsys):
    run = copy_of("denoising")
    assert notices(cli(capsys, "finetune", run, "--resume", "--epochs", "3", "--quiet")) == []


def test_every_process_generator_state_from_a_gpu_becomes_its_own_fresh_stream():
    cpu_state = torch.Generator().manual_seed(1).get_state()
    state = TrainingState("finetune", None, 5, {}, {}, cuda_generator_state(),
                          {"rank_generators": [cuda_generator_state(), cpu_state]})
    with pytest.warns(SDAEWarning, match="16 bytes; a cpu generator's is 5056") as caught:
        moved = state.portable(torch.device("cpu"), seed=7, where="RUN/checkpoint.pt")
    assert len(caught) == 1 and str(caught[0].message).startswith("RUN/checkpoint.pt: ")
    expected = [torch.Generator().manual_seed(fresh_seed(7, rank, 5)).get_state() for rank in (0, 1)]
    assert torch.equal(moved.generator, expected[0])
    assert torch.equal(moved.extra["rank_generators"][0], expected[0])
    assert torch.equal(moved.extra["rank_generators"][1], cpu_state)  # it fits: kept, so it continues exactly
    with pytest.warns(SDAEWarning):
        assert state.portable(torch.device("cpu"), seed=7).extra["rank_generators"][0].numel() == 5056
    fitting = TrainingState("finetune", None, 5, {}, {}, cpu_state)
    assert fitting.portable(torch.device("cpu"), seed=7) is fitting


def test_a_library_restore_of_a_gpu_state_on_the_cpu_warns_instead_of_failing():
    net = torch.nn.Linear(4, 3)
    state = TrainingState.capture("finetune", None, 2, net, torch.optim.Adam(net.parameters()), torch.Generator())
    state.generator = cuda_generator_state()
    generator = torch.Generator().manual_seed(5)
    with pytest.warns(SDAEWarning, match="not one a cpu generator takes.*not bit-identical"):
        assert state.restore(torch.nn.Linear(4, 3), None, generator) == 2
    assert torch.equal(generator.get_state(), torch.Generator().manual_seed(5).get_state())  # its own stream


def test_restore_generator_takes_a_fresh_stream_for_a_state_from_another_device():
    generator = torch.Generator()
    world = World(rank=1, size=2, seed=7)
    with pytest.warns(SDAEWarning, match="process 1's saved random-generator state"):
        exact = distributed.restore_generator(generator, [cuda_generator_state(), cuda_generator_state()], 3, world)
    assert not exact
    assert torch.equal(generator.get_state(), torch.Generator().manual_seed(fresh_seed(7, 1, 3)).get_state())
    saved = torch.Generator().manual_seed(11).get_state()
    assert distributed.restore_generator(generator, [saved, saved], 3, world)
    assert torch.equal(generator.get_state(), saved)


def test_optimizer_state_loads_onto_the_parameters_device_with_this_optimizers_kernels():
    """A fused optimizer's state (as a GPU run saves it) goes on in one that is not fused, and the other way."""
    for saved_fused, fused in ((True, False), (False, True)):
        net = torch.nn.Linear(4, 3)
        options = TrainOptions(epochs=1, batch_size=4)
        first = torch.optim.Adam(net.parameters(), lr=1e-3, fused=saved_fused)
        net(torch.randn(8, 4)).sum().backward()
        first.step()
        state = TrainingState.capture("finetune", None, 1, net, first, torch.Generator())
        again = torch.nn.Linear(4, 3)
        optimizer = make_optimizer(again.parameters(), options) if fused else torch.optim.Adam(again.parameters())
        state.restore(again, optimizer, torch.Generator())
        assert bool(optimizer.param_groups[0]["fused"]) == fused  # its own kernels, not the saved ones
        for saved, param in zip(net.parameters(), again.parameters()):
            assert all(v.device == param.device for k, v in optimizer.state[param].items() if k != "step")
            assert torch.equal(optimizer.state[param]["exp_avg"], first.state[saved]["exp_avg"])
        again(torch.randn(8, 4)).sum().backward()
        optimizer.step()  # the loaded state works with these kernels


# --------------------------------------------------------------- (b) a command that fails leaves the folder as it was
def fail(*args, **kwargs):
    raise Injected("injected failure")


# Each step of each command, from reading the run to the first epoch's end; a failure anywhere there changes nothing.
BEFORE_TRAINING = ["sdae.commands.training.prepare", "sdae.commands.training.parse_noise",
                   "sdae.commands.training._generator", "sdae.loop.make_optimizer", "sdae.loop.train_epoch",
                   "sdae.stages.dead_units"]
STEPS = {
    "pretrain": ["sdae.commands.training.check_fits", "sdae.commands.training.StackedDenoisingAutoencoder",
                 "sdae.runfolder.RunFolder.create", "sdae.commands.training.pretrain", *BEFORE_TRAINING],
    "finetune": ["sdae.commands.training.load_model", "sdae.commands.training.finetune",
                 "sdae.runfolder.RunFolder.write_meta", *BEFORE_TRAINING],
    "resume": ["sdae.runfolder.RunFolder.load_checkpoint", "sdae.records.TrainingState.portable",
               "sdae.records.TrainingState.restore", "sdae.distributed.restore_generator",
               "sdae.commands.training.load_model", "sdae.commands.training.finetune", *BEFORE_TRAINING],
    "supervised": ["sdae.commands.rundata.RunData.class_count", "sdae.commands.training.head_generator",
                   "sdae.commands.training.supervised_finetune", "sdae.stages.classification_scores",
                   "sdae.records.TrainingState.restore", "sdae.loop.train_epoch"],
}


def command(name, run):
    return {"pretrain": [*PRETRAIN, "--epochs", "2", "--overwrite", "--out", run],
            "finetune": ["finetune", run, "--overwrite", "--epochs", "3", *QUIET],
            "resume": ["finetune", run, "--resume", "--epochs", "4", "--quiet"],
            "supervised": ["finetune", run, "--resume", "--epochs", "4", "--quiet"]}[name]


@pytest.mark.parametrize(("name", "step"), [(name, step) for name, steps in STEPS.items() for step in steps])
def test_a_command_that_fails_changes_nothing_and_a_second_try_succeeds(name, step, copy_of, capsys, monkeypatch):
    run = copy_of("supervised" if name == "supervised" else "denoising")
    if name != "pretrain":
        as_if_from_a_gpu(run)  # the case of the report: a GPU run continued on a CPU
    before = snapshot(run)
    with monkeypatch.context() as patch, warnings.catch_warnings():
        warnings.simplefilter("ignore", SDAEWarning)
        patch.setattr(step, fail)
        code, _, err = run_cli(capsys, *command(name, run))
    assert code == 1 and "injected failure" in err and err.count("\n") == 1, err
    assert snapshot(run) == before
    # the same command again, nothing failing this time
    assert len(notices(cli(capsys, *command(name, run)))) == (name in ("resume", "supervised"))
    folder = sdae.RunFolder.open(run)
    if name == "pretrain":
        assert epochs_of(run, "pretrain") == [(1, 1), (1, 2), (2, 1), (2, 2)] and folder.status.finetune is None
        assert not (run / "evaluation.json").exists()
    else:
        stage = "supervised" if name == "supervised" else "finetune"
        assert epochs_of(run, stage) == ([1, 2, 3] if name == "finetune" else [1, 2, 3, 4])
        assert folder.status.finetune == "complete"
        assert not (run / "evaluation.json").exists()  # removed once new weights are trained (extended too)


def test_ctrl_c_before_an_epoch_has_completed_changes_nothing(copy_of, capsys, monkeypatch):
    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    run = copy_of("denoising")
    before = snapshot(run)
    monkeypatch.setattr("sdae.loop.train_epoch", ctrl_c)
    for args in (command("finetune", run), command("resume", run), command("pretrain", run)):
        code, _, err = run_cli(capsys, *args)
        assert code == 130 and err.strip() == "sdae: interrupted", err  # not "the last completed epoch is saved"
        assert snapshot(run) == before


@pytest.mark.parametrize("exists", [False, True])
def test_a_pretraining_that_fails_before_its_first_epoch_leaves_no_run_folder(exists, tmp_path, capsys, monkeypatch):
    out = tmp_path / "new" / "run"
    if exists:
        out.mkdir(parents=True)
    monkeypatch.setattr("sdae.loop.train_epoch", fail)
    code, _, err = run_cli(capsys, *PRETRAIN, "--out", out)
    assert code == 1 and "injected failure" in err, err
    assert (out.is_dir() and not any(out.iterdir())) if exists else not (tmp_path / "new").exists()


def test_an_existing_run_is_still_refused_before_training(copy_of, capsys, monkeypatch):
    run = copy_of("denoising")
    before = snapshot(run)
    code, _, err = run_cli(capsys, *PRETRAIN, "--out", run)
    assert code == 2 and "already holds a run" in err and "--overwrite" in err, err
    assert snapshot(run) == before
