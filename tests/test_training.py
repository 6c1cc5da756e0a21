import torch

import sdae
from sdae.corruption import Corruption, Gaussian
from sdae.data import Examples
from sdae.objective import DenoisingObjective, reconstruction_loss, validation_generator
from sdae.train import Hooks, TrainOptions, evaluate


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
    for k in range(3):
        own = {f"encoder.{2 * k}.weight", f"encoder.{2 * k}.bias", f"decoder.{2 * (2 - k)}.weight", f"decoder.{2 * (2 - k)}.bias"}
        changed = {name for name in previous if not torch.equal(previous[name], ends[k][name])}
        assert changed == own, f"pair {k} changed {sorted(changed)}"
        previous = ends[k]


def test_pair_k_plus_1_is_trained_on_the_clean_codes_of_the_pairs_below(tiny_examples):
    model = sdae.StackedDenoisingAutoencoder([16, 12, 8], generator=torch.Generator().manual_seed(0))
    noise = Recording()
    ends = states_at_pair_ends(model, tiny_examples, noise, epochs=1)
    batches = len(noise.seen) // 2
    pair0_inputs, pair1_inputs = torch.cat(noise.seen[:batches]), torch.cat(noise.seen[batches:])
    # pair 0 saw the clean scaled data; pair 1 saw the clean codes of pair 0 (as it was after training)
    assert torch.allclose(pair0_inputs.sum(1).sort().values, tiny_examples.batch(slice(None)).sum(1).sort().values)
    after_pair0 = sdae.StackedDenoisingAutoencoder([16, 12, 8])
    after_pair0.load_state_dict(ends[0])
    with torch.no_grad():
        codes = after_pair0.encode(tiny_examples.batch(slice(None)), layer=1)
    assert pair1_inputs.shape == codes.shape
    assert torch.allclose(pair1_inputs.sum(1).sort().values, codes.sum(1).sort().values, atol=1e-5)


def test_denoising_objective_corrupts_the_input_and_reconstructs_the_clean_input(tiny_examples):
    model = sdae.StackedDenoisingAutoencoder([16, 6])
    pair = model.pair(0)
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
        return model.state_dict(), [r["train_loss"] for r in records]

    (a, la), (b, lb), (c, lc) = once(1), once(1), once(2)
    assert la == lb and all(torch.equal(a[k], b[k]) for k in a)
    assert la != lc


def test_finetuning_lowers_the_denoising_loss_on_mnist(mnist_small):
    examples = mnist_small.examples("train")
    train, val = examples.subset(torch.arange(800)), examples.subset(torch.arange(800, 1000))
    noise = sdae.parse_noise(["gaussian:0.5", "speckle:0.5"])
    model = sdae.StackedDenoisingAutoencoder([784, 128, 64, 32], generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(0)
    sdae.pretrain(model, train, val, noise, TrainOptions(epochs=1, batch_size=32), generator)

    def val_loss():
        objective = DenoisingObjective(model, val, noise, validation_generator(torch.device("cpu")), "bce")
        return evaluate(objective, len(val), 32, torch.device("cpu"))

    before = val_loss()
    records = sdae.finetune(model, train, val, noise, TrainOptions(epochs=4, batch_size=32), generator)
    after = val_loss()
    assert after < before - 0.02, (before, after)
    assert abs(records[-1]["val_loss"] - after) < 1e-6  # the reported validation loss is this one
    assert records[-1]["train_loss"] < records[0]["train_loss"]


def test_tied_network_trains_and_stays_tied(tiny_examples):
    model = sdae.StackedDenoisingAutoencoder([16, 8, 4], tied=True, generator=torch.Generator().manual_seed(0))
    w0 = model.encoder[0].weight.clone()
    noise = Gaussian(0.2)
    sdae.pretrain(model, tiny_examples, None, noise, TrainOptions(epochs=1, batch_size=32), torch.Generator().manual_seed(0))
    sdae.finetune(model, tiny_examples, None, noise, TrainOptions(epochs=1, batch_size=32), torch.Generator().manual_seed(0))
    assert not torch.equal(model.encoder[0].weight, w0)
    assert torch.equal(model.decoder[2].weight, model.encoder[0].weight.t())
