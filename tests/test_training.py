import math

import numpy as np
import pytest
import torch

import sdae
from sdae.corruption import Corruption, Gaussian
from sdae.errors import DivergenceError
from sdae.guards import EXPLOSION, guards
from sdae.loop import Hooks, Stage, mean_loss, run_stage
from sdae.objectives import DenoisingObjective, reconstruction_loss, validation_generator
from sdae.options import TrainOptions


class Recording(Corruption):
    """Gaussian noise that remembers every clean batch it was given."""

    def __init__(self, sigma=0.3):
        self.inner = Gaussian(sigma)
        self.seen = []

    def corrupt(self, x, generator, value_range):
        self.seen.append(x.detach().clone())
        return self.inner(x, generator, value_range)

    @property
    def spec(self):
        return "recording"


class AddConstant(Corruption):
    def corrupt(self, x, generator, value_range):
        return x + 0.25

    @property
    def spec(self):
        return "add"


def sorted_rows(x: torch.Tensor) -> np.ndarray:
    """The rows of x in lexicographic order: two batches hold the same rows iff these are equal."""
    a = x.numpy()
    return a[np.lexsort(a.T[::-1])]


def states_at_pair_ends(model, train, noise, epochs=2):
    ends = {}

    def on_state(state):
        if state.epoch == epochs:
            ends[state.pair] = state.model

    sdae.pretrain(model, train, None, noise, TrainOptions(epochs=epochs, batch_size=32),
                  torch.Generator().manual_seed(0), hooks=Hooks(on_state=on_state))
    return ends


def test_pretraining_pair_k_changes_pair_k_only(tiny_examples):
    model = sdae.StackedDenoisingAutoencoder([16, 12, 8, 4], generator=torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ends = states_at_pair_ends(model, tiny_examples, Gaussian(0.2))
    previous = before
    for k in (1, 2, 3):
        own = {f"{part}.{i}.linear.{p}" for part, i in (("encoder", k - 1), ("decoder", 3 - k)) for p in ("weight", "bias")}
        changed = {name for name in previous if not torch.equal(previous[name], ends[k][name])}
        assert changed == own, f"pair {k} changed {sorted(changed)}"
        previous = ends[k]


def test_pair_k_plus_1_is_trained_on_the_clean_codes_of_the_pairs_below(tiny_examples):
    model = sdae.StackedDenoisingAutoencoder([16, 12, 8], generator=torch.Generator().manual_seed(0))
    noise = Recording()
    ends = states_at_pair_ends(model, tiny_examples, noise, epochs=1)
    batches = len(noise.seen) // 2
    pair1_inputs, pair2_inputs = torch.cat(noise.seen[:batches]), torch.cat(noise.seen[batches:])
    # pair 1 saw the clean scaled data, every row once; pair 2 the clean codes of pair 1 as it was after training
    assert np.array_equal(sorted_rows(pair1_inputs), sorted_rows(tiny_examples.batch(slice(None))))
    after_pair1 = sdae.StackedDenoisingAutoencoder([16, 12, 8])
    after_pair1.load_state_dict(ends[1])
    with torch.no_grad():
        codes = after_pair1.encode(tiny_examples.batch(slice(None)), layer=1)
    assert pair2_inputs.shape == codes.shape
    assert np.allclose(sorted_rows(pair2_inputs), sorted_rows(codes), atol=1e-6)


def test_denoising_objective_corrupts_the_input_and_reconstructs_the_clean_input(tiny_examples):
    model = sdae.StackedDenoisingAutoencoder([16, 6])
    pair = model.pair(1)
    index = torch.arange(10)
    loss = DenoisingObjective(pair, tiny_examples, AddConstant(), torch.Generator(), "bce")(index)
    clean = tiny_examples.batch(index)
    expected = reconstruction_loss(pair.pre_activation(clean + 0.25), clean, "bce", pair.output_activation)
    assert torch.allclose(loss, expected)
    not_expected = reconstruction_loss(pair.pre_activation(clean + 0.25), clean + 0.25, "bce", pair.output_activation)
    assert not torch.allclose(loss, not_expected)


def test_same_seed_same_weights_and_losses(tiny_examples):
    def once(seed):
        model = sdae.StackedDenoisingAutoencoder([16, 8, 4], generator=torch.Generator().manual_seed(seed))
        noise = sdae.parse_noise(["gaussian:0.3", "speckle:0.3"])
        records = sdae.pretrain(model, tiny_examples, None, noise, TrainOptions(epochs=2, batch_size=50), torch.Generator().manual_seed(seed))
        records += sdae.finetune(model, tiny_examples, None, noise, TrainOptions(epochs=2, batch_size=50), torch.Generator().manual_seed(seed))
        return model.state_dict(), [r.train_loss for r in records]

    (a, la), (b, lb), (_, lc) = once(1), once(1), once(2)
    assert la == lb and all(torch.equal(a[k], b[k]) for k in a)
    assert la != lc


def test_finetuning_lowers_the_denoising_loss(digits_examples):
    train, val = digits_examples.subset(torch.arange(1000)), digits_examples.subset(torch.arange(1000, 1297))
    noise = sdae.parse_noise(["gaussian:0.5", "speckle:0.5"])
    model = sdae.StackedDenoisingAutoencoder([64, 48, 32], generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(0)
    sdae.pretrain(model, train, val, noise, TrainOptions(epochs=1, batch_size=32), generator)

    def val_loss():
        objective = DenoisingObjective(model, val, noise, validation_generator(torch.device("cpu")), "bce")
        return mean_loss(objective, len(val), 32, torch.device("cpu"))

    before = val_loss()
    records = sdae.finetune(model, train, val, noise, TrainOptions(epochs=4, batch_size=32), generator)
    after = val_loss()
    assert after < before - 0.02, (before, after)
    assert abs(records[-1].val_loss - after) < 1e-6  # the reported validation loss is this one
    assert records[-1].train_loss < records[0].train_loss
    assert [(r.stage, r.pair, r.epoch) for r in records] == [("finetune", None, e) for e in (1, 2, 3, 4)]


def test_tied_network_trains_and_stays_tied(tiny_examples):
    model = sdae.StackedDenoisingAutoencoder([16, 8, 4], tied=True, generator=torch.Generator().manual_seed(0))
    w0 = model.encoder[0].linear.weight.clone()
    noise = Gaussian(0.2)
    sdae.pretrain(model, tiny_examples, None, noise, TrainOptions(epochs=1, batch_size=32), torch.Generator().manual_seed(0))
    sdae.finetune(model, tiny_examples, None, noise, TrainOptions(epochs=1, batch_size=32), torch.Generator().manual_seed(0))
    assert not torch.equal(model.encoder[0].linear.weight, w0)
    assert torch.equal(model.decoder[1].linear.weight, model.encoder[0].linear.weight.t())


def linear_stage():
    """A least-squares problem for plain SGD: stable for a small lr, exploding (finitely, at first) for lr 1."""
    torch.manual_seed(0)
    x, w = torch.randn(256, 8), torch.randn(8, 1)
    layer = torch.nn.Linear(8, 1)
    objective = lambda index: ((layer(x[index]) - x[index] @ w) ** 2).mean()  # noqa: E731
    return layer, Stage("finetune", layer, objective, len(x), "mse")


def diverge(stage, layer, options):
    """Run `stage`, with the guards every sdae stage runs with, until it diverges; returns the DivergenceError, the
    epochs it reported, and the running mean losses it reported batch by batch, one list per epoch (these stages
    report every batch)."""
    reported, epochs = [], []

    def on_batch(label, done, total, loss):
        if done == 1:
            epochs.append([])
        epochs[-1].append(loss)

    with pytest.raises(DivergenceError) as info:
        run_stage(stage, layer, options, torch.Generator().manual_seed(0),
                  guards(options).also(Hooks(on_batch=on_batch, on_epoch=reported.append)))
    return info.value, reported, epochs


def test_a_loss_that_explodes_but_stays_finite_stops_training():
    layer, stage = linear_stage()
    records = run_stage(stage, layer, TrainOptions(epochs=3, batch_size=32, optimizer="sgd", lr=0.01, momentum=0),
                        torch.Generator().manual_seed(0))
    assert records[-1].train_loss < records[0].train_loss
    layer, stage = linear_stage()
    error, reported, epochs = diverge(stage, layer, TrainOptions(epochs=50, batch_size=32, optimizer="sgd", lr=1.0,
                                                                 momentum=0, warmup=0))
    first_batch = epochs[0][0]  # the stage's first batch loss, what an explosion is measured against
    # the epoch it names is the first whose mean loss passed EXPLOSION times that: every epoch before it was reported
    assert error.epoch == len(reported) + 1 == len(epochs) >= 2, (error.epoch, len(reported), len(epochs))
    assert all(r.train_loss <= EXPLOSION * first_batch for r in reported), [r.train_loss for r in reported]
    # its loss is that epoch's mean loss: finite here, and past the bound
    assert error.loss == pytest.approx(epochs[-1][-1], rel=1e-6)
    assert math.isfinite(error.loss) and error.loss > EXPLOSION * first_batch, (error.loss, first_batch)
    message = str(error)
    assert "exploded" in message and f"in epoch {error.epoch};" in message and "nan" not in message
    assert "last good epoch's state is kept" in message


def test_an_epoch_diverges_when_its_mean_loss_passes_explosion_times_the_stages_first_batch_loss():
    """A stage whose batch losses are scripted (8 batches an epoch, the weights play no part): epoch 2 ends just
    under the bound though its own first batch is half of it, epochs 3 to 5 just over."""
    weight = torch.nn.Parameter(torch.ones(()))
    holder = torch.nn.Module()
    holder.weight = weight
    losses = iter([1.0] * 8 + [0.5 * EXPLOSION] + [(0.99 * EXPLOSION * 8 - 0.5 * EXPLOSION) / 7] * 7
                  + [1.01 * EXPLOSION] * 8 * 3)  # epochs 3, 4 and 5
    stage = Stage("finetune", holder, lambda index: weight * 0 + next(losses), 64, "mse")
    error, reported, _ = diverge(stage, holder, TrainOptions(epochs=5, batch_size=8, optimizer="sgd", lr=0.01,
                                                             momentum=0, warmup=0))
    assert [r.train_loss for r in reported] == pytest.approx([1.0, 0.99 * EXPLOSION], rel=1e-5)
    assert error.epoch == 3 and error.loss == pytest.approx(1.01 * EXPLOSION, rel=1e-5)
    assert "exploded" in str(error) and "in epoch 3;" in str(error)


def test_divergence_in_the_first_epoch_does_not_claim_a_saved_state():
    layer, stage = linear_stage()
    error, reported, epochs = diverge(stage, layer, TrainOptions(epochs=5, batch_size=32, optimizer="sgd", lr=1e3,
                                                                 momentum=0, warmup=0))
    assert error.epoch == 1 and reported == [] and len(epochs) == 1
    assert not math.isfinite(error.loss) or error.loss > EXPLOSION * epochs[0][0], (error.loss, epochs[0][0])
    assert "in epoch 1;" in str(error) and "nothing of it was saved" in str(error)
    assert "last good" not in str(error)


def test_a_validation_loss_that_is_not_a_number_stops_training_with_that_loss():
    layer, stage = linear_stage()
    stage.evaluate = lambda epoch: (float("nan") if epoch == 3 else 1.0, None)
    error, reported, _ = diverge(stage, layer, TrainOptions(epochs=5, batch_size=32, optimizer="sgd", lr=0.01,
                                                            momentum=0))
    assert error.epoch == 3 and [r.epoch for r in reported] == [1, 2]
    assert math.isnan(error.loss)  # the offending loss, not the (finite) training loss of that epoch
    assert "the loss became nan in epoch 3;" in str(error)


def test_the_python_api_takes_plain_tensors_and_arrays():
    net = sdae.StackedDenoisingAutoencoder([20, 8], generator=torch.Generator().manual_seed(0))
    records = sdae.pretrain(net, torch.rand(200, 20), None, Gaussian(0.1), TrainOptions(epochs=1, batch_size=50),
                            torch.Generator().manual_seed(0))
    assert len(records) == 1
    records = sdae.finetune(net, np.random.default_rng(0).uniform(size=(100, 20)), torch.rand(30, 20), Gaussian(0.1),
                            TrainOptions(epochs=1, batch_size=50), torch.Generator().manual_seed(0))
    assert records[0].val_loss is not None
    with pytest.raises(sdae.DataError, match=r"`train` has values from .* a Sigmoid output reconstructs values in \[0, 1\]"):
        sdae.pretrain(net, torch.rand(50, 20) * 16, None, Gaussian(0.1), TrainOptions(epochs=1), torch.Generator())
    with pytest.raises(sdae.DataError, match="must be \\(examples, features\\)"):
        sdae.finetune(net, torch.rand(20), None, Gaussian(0.1), TrainOptions(epochs=1), torch.Generator())
    with pytest.raises(sdae.DataError, match="`output`='affine'"):  # squared error cannot help a Sigmoid reach 16
        sdae.pretrain(net, torch.rand(50, 20) * 16, None, Gaussian(0.1), TrainOptions(epochs=1, loss="mse"),
                      torch.Generator())
    affine = sdae.StackedDenoisingAutoencoder([20, 8], generator=torch.Generator().manual_seed(0), output="affine")
    assert sdae.pretrain(affine, torch.rand(50, 20) * 16, None, Gaussian(0.1), TrainOptions(epochs=1), torch.Generator())


def test_compiled_training_gives_the_same_losses(digits_examples):
    """`compile=True` (torch.compile, mode reduce-overhead) changes how the step runs, not what it computes."""
    pytest.importorskip("torch._inductor")
    losses = []
    for compiled in (False, True):
        model = sdae.StackedDenoisingAutoencoder([64, 32], generator=torch.Generator().manual_seed(0))
        try:
            records = sdae.finetune(model, digits_examples, None, sdae.parse_noise("masking:0.25"),
                                    TrainOptions(epochs=2, compile=compiled), torch.Generator().manual_seed(0))
        except Exception as e:  # no C++ compiler for inductor on this machine
            if compiled and "compiler" in str(e).lower():
                pytest.skip(f"torch.compile cannot build here: {str(e).splitlines()[0]}")
            raise
        losses.append([r.train_loss for r in records])
    assert losses[1] == pytest.approx(losses[0], rel=1e-4)
    with pytest.raises(sdae.UsageError, match="compile"):
        TrainOptions(compile="yes").validate()
