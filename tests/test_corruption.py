
import pytest
import torch

from sdae.corruption import Gaussian, Masking, Mixture, NoNoise, SaltPepper, Speckle, parse_noise
from sdae.errors import UsageError


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gaussian_adds_unclipped_noise_of_the_stated_mean_and_variance():
    x = torch.zeros(500, 400)  # the MNIST background: clipping would turn zero-mean noise into a positive bias
    d = Gaussian(0.5)(x, gen(), (0.0, 1.0)) - x
    assert abs(d.mean().item()) < 0.005 and d.std().item() == pytest.approx(0.5, rel=0.01)
    assert (d < 0).float().mean().item() == pytest.approx(0.5, abs=0.01)
    d = Gaussian(0.1, mean=-0.3)(x, gen(), (0.0, 1.0)) - x
    assert d.mean().item() == pytest.approx(-0.3, abs=0.002) and d.std().item() == pytest.approx(0.1, rel=0.02)


def test_clipping_only_when_asked():
    x = torch.rand(200, 100, generator=gen(1))
    for noise in (Gaussian(0.5), Speckle(2.0), parse_noise(["gaussian:0.5", "speckle:2"])):
        y = noise(x, gen(), (0.0, 1.0))
        assert y.min().item() < 0.0 and y.max().item() > 1.0, noise
    for noise in (Gaussian(0.5, clip=True), Speckle(2.0, clip=True), parse_noise("gaussian:0.5:clip,speckle:2:clip")):
        y = noise(x, gen(), (0.0, 1.0))
        assert y.min().item() >= 0.0 and y.max().item() <= 1.0 and (y == 0).any() and (y == 1).any(), noise
    mixed = parse_noise("gaussian:0.5:clip,speckle:2")  # each row clipped only if its own process clips
    y = mixed(x, gen(), (0.0, 1.0))
    assert 0 < ((y < 0) | (y > 1)).any(1).float().mean().item() < 1


def test_noise_on_codes_is_relative_to_each_units_scale():
    """The rule: Gaussian noise scaled by each unit's scale (high - low unless given), salt-and-pepper to its ends."""
    low, high = torch.tensor([0.0, 0.0, 1.0]), torch.tensor([1.0, 10.0, 1.5])
    x = torch.rand(20000, 3) * (high - low) + low
    d = Gaussian(0.2)(x, gen(), (low, high)) - x
    assert torch.allclose(d.std(0), 0.2 * (high - low), rtol=0.03)
    scale = torch.tensor([0.5, 2.0, 0.1])
    d = Gaussian(0.2)(x, gen(), (low, high, scale)) - x
    assert torch.allclose(d.std(0), 0.2 * scale, rtol=0.03)
    y = SaltPepper(0.5)(x, gen(), (low, high, scale))
    changed = y != x
    for j in range(3):
        assert set(y[changed[:, j], j].unique().tolist()) == {low[j].item(), high[j].item()}
    m = parse_noise("gaussian:0.2,speckle:0.1")(x, gen(), (low, high, scale)) - x
    assert m.std(0)[1] > 5 * m.std(0)[0]  # the wide unit gets the wide noise
    y = Gaussian(5.0, clip=True)(x, gen(), (low, high, scale))
    assert torch.all(y >= low) and torch.all(y <= high)


def test_deeper_pairs_get_noise_relative_to_their_codes_own_statistics(tiny_examples):
    from sdae.codes import unit_range

    codes = torch.rand(500, 4) * torch.tensor([1.0, 5.0, 0.0, 2.0])
    low, high, scale = unit_range(codes)
    assert torch.equal(low, codes.min(0).values) and torch.equal(high, codes.max(0).values)
    assert torch.allclose(scale, codes.std(0, correction=0)) and scale[2] == 0  # a dead unit gets no noise


def test_speckle_is_multiplicative():
    x = torch.zeros(100, 400)
    x[:, 200:] = 0.5
    y = Speckle(0.2)(x, gen(), (0.0, 1.0))
    assert torch.equal(y[:, :200], x[:, :200])  # zeros stay zero
    rel = (y[:, 200:] - 0.5) / 0.5
    assert rel.std().item() == pytest.approx(0.2, rel=0.03)
    assert abs(rel.mean().item()) < 0.005


@pytest.mark.parametrize("nu", [0.0, 0.1, 0.25, 0.5, 1.0])
def test_masking_zeroes_exactly_the_fraction_of_each_example(nu):
    x = torch.rand(64, 784, generator=gen(2)) + 0.1  # no zeros to begin with
    y = Masking(nu)(x, gen(), (0.0, 1.1))
    zeros = (y == 0).sum(dim=1)
    assert torch.all(zeros == round(nu * 784))
    kept = y != 0
    assert torch.equal(y[kept], x[kept])  # survivors are not rescaled


def test_masking_picks_different_components_per_example():
    x = torch.ones(50, 100)
    y = Masking(0.3)(x, gen(), (0.0, 1.0))
    assert len({tuple(row.tolist()) for row in (y == 0)}) == 50
    # every component is masked about 30% of the time over many examples
    many = Masking(0.3)(torch.ones(4000, 100), gen(3), (0.0, 1.0))
    rates = (many == 0).float().mean(0)
    assert rates.min().item() > 0.25 and rates.max().item() < 0.35


def test_salt_and_pepper_sets_the_fraction_to_the_range_ends():
    x = torch.full((200, 500), 0.5)
    y = SaltPepper(0.2)(x, gen(), (0.0, 1.0))
    changed = y != 0.5
    assert torch.all(changed.sum(1) == 100)
    assert set(y[changed].unique().tolist()) == {0.0, 1.0}
    assert (y == 1).float().sum().item() / changed.sum().item() == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("noise", [Gaussian(0.3), Speckle(0.3), Masking(0.3), SaltPepper(0.3),
                                   Mixture([Gaussian(0.3), Speckle(0.3)])])
def test_same_seed_same_corruption_other_seed_other(noise):
    x = torch.rand(32, 100, generator=gen(5)) * 0.8 + 0.1
    a, b, c = noise(x, gen(7), (0.0, 1.0)), noise(x, gen(7), (0.0, 1.0)), noise(x, gen(8), (0.0, 1.0))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, x)


def test_corruption_never_modifies_the_clean_batch():
    x = torch.rand(16, 50, generator=gen())
    before = x.clone()
    for noise in (NoNoise(), Gaussian(0.3), Speckle(0.3), Masking(0.3), SaltPepper(0.3)):
        noise(x, gen(), (0.0, 1.0))
    assert torch.equal(x, before)


def test_mixture_gives_each_example_one_process():
    x = torch.full((2000, 300), 0.5)
    y = Mixture([Masking(0.5), SaltPepper(0.5)])(x, gen(), (0.0, 1.0))
    masked_only = ((y == 0) | (y == 0.5)).all(1) & (y == 0).any(1)
    sp = ((y == 0) | (y == 1) | (y == 0.5)).all(1) & (y == 1).any(1)
    assert torch.all(masked_only ^ sp)  # each example got exactly one process
    assert masked_only.float().mean().item() == pytest.approx(0.5, abs=0.04)


def test_corrupt_marked_says_which_components_were_corrupted():
    x = torch.full((50, 40), 0.5)
    y, marked = Masking(0.25).corrupt_marked(x, gen())
    assert torch.equal(marked, y == 0) and torch.all(marked.sum(1) == 10)
    y, marked = SaltPepper(0.5).corrupt_marked(x, gen())
    assert torch.equal(marked, y != 0.5)
    assert Gaussian(0.1).corrupt_marked(x, gen())[1] is None  # every component
    y, marked = parse_noise("masking:0.25,gaussian:0.1").corrupt_marked(x, gen())
    gaussian_rows = ~((y == 0) | (y == 0.5)).all(1)
    assert torch.all(marked[gaussian_rows]) and torch.all(marked[~gaussian_rows].sum(1) == 10)


def test_parse_noise():
    assert parse_noise("gaussian:0.3") == Gaussian(0.3)
    assert parse_noise("gaussian:0.3:mean=-0.1:clip") == Gaussian(0.3, mean=-0.1, clip=True)
    assert parse_noise("speckle:1:clip").spec == "speckle:1:clip"
    assert parse_noise(["gaussian:0.3", "speckle:0.2"]) == Mixture([Gaussian(0.3), Speckle(0.2)])
    assert parse_noise("masking:0.25,saltpepper:0.1").spec == "masking:0.25,saltpepper:0.1"
    assert parse_noise("none") == NoNoise()


@pytest.mark.parametrize("spec, words", [
    ("blur:0.3", "unknown noise"), ("gaussian", "needs a level"), ("gaussian:abc", "not a number"),
    ("masking:1.5", "[0, 1]"), ("gaussian:-1", ">= 0"), ("saltpepper:nan", "not a number"), ("speckle:inf", "finite"),
    ("masking:0.2:clip", "unknown option 'clip'"), ("speckle:0.2:mean=1", "unknown option"), ("none:0.5", "no level"),
    ("gaussian:0.2:mean=x", "mean 'x' is not a number"),
])
def test_bad_noise_specs_are_refused_with_a_reason(spec, words):
    with pytest.raises(UsageError, match=words.replace("[", r"\[").replace("]", r"\]")):
        parse_noise(spec)


def test_gaussian_speckle_mixture_has_each_process_statistics():
    x = torch.full((4000, 200), 0.5)
    y = Mixture([Gaussian(0.1), Speckle(0.4)])(x, gen(), (0.0, 1.0))
    row_std = (y - x).std(dim=1)
    gaussian_rows = (row_std - 0.1).abs() < 0.03
    speckle_rows = (row_std - 0.2).abs() < 0.05  # x * n with n ~ N(0, 0.4^2) at x = 0.5
    assert torch.all(gaussian_rows ^ speckle_rows)
    assert gaussian_rows.float().mean().item() == pytest.approx(0.5, abs=0.03)
    zeros = torch.zeros(100, 50)
    z = Mixture([Gaussian(0.1), Speckle(0.4)])(zeros, gen(), (0.0, 1.0))
    assert 0 < (z.abs().sum(1) == 0).sum().item() < 100  # speckle rows keep zeros, Gaussian rows do not


def test_a_process_must_implement_corrupt_and_spec():
    """`corrupt_marked` is derived from `corrupt`: a subclass that implements neither cannot be made
    (it would otherwise recurse forever on its first batch)."""
    from sdae.corruption import Corruption

    class Neither(Corruption):
        @property
        def spec(self):
            return "neither"

    class NoSpec(Corruption):
        def corrupt(self, x, generator, value_range=(0.0, 1.0)):
            return x + 1

    class Shift(NoSpec):
        spec = "shift"

    for cls in (Neither, NoSpec):
        with pytest.raises(TypeError, match="abstract"):
            cls()
    x = torch.zeros(3, 4)
    y, marked = Shift().corrupt_marked(x, gen())
    assert torch.equal(y, x + 1) and marked is None and torch.equal(Shift()(x, gen()), x + 1)
    for process in (NoNoise(), Gaussian(0.1), Speckle(0.1), Masking(0.1), SaltPepper(0.1),
                    Mixture([NoNoise(), Masking(0.1)]), Mixture([Gaussian(0.1), Speckle(0.1)])):
        assert torch.equal(process.corrupt(x + 0.5, gen()), process.corrupt_marked(x + 0.5, gen())[0])


def test_mixture_is_a_frozen_value():
    import copy
    import dataclasses

    mixture = Mixture([Gaussian(0.3, clip=True), Masking(0.2)])
    same = Mixture((Gaussian(0.3, clip=True), Masking(0.2)))
    assert dataclasses.is_dataclass(mixture) and type(mixture).__dataclass_params__.frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        mixture.processes = (Gaussian(0.1), Masking(0.1))
    assert mixture.parts == [Gaussian(0.3, clip=True), Masking(0.2)]
    mixture.parts.append(NoNoise())  # a copy of the list: the mixture is unchanged
    assert mixture == same and hash(mixture) == hash(same) and len({mixture, same}) == 1
    mixture(torch.rand(4, 5, generator=gen()), gen())  # using it changes nothing that equality sees
    assert mixture == same and hash(mixture) == hash(same)
    assert mixture == copy.deepcopy(mixture) == dataclasses.replace(mixture)
    assert mixture != Mixture([Masking(0.2), Gaussian(0.3, clip=True)])
    assert mixture != Mixture([Gaussian(0.3), Masking(0.2)])
    assert repr(mixture) == "Mixture('gaussian:0.3:clip,masking:0.2')"
    with pytest.raises(UsageError, match="at least two"):
        Mixture([Gaussian(0.3)])
    with pytest.raises(TypeError, match="Corruption"):
        Mixture([Gaussian(0.3), "masking:0.2"])


MIXTURES = ["gaussian:0.3,speckle:0.5", "gaussian:0.3:mean=0.1:clip,speckle:0.5", "gaussian:0.2:clip,speckle:0.2:clip",
            "masking:0.25,saltpepper:0.1", "none,gaussian:0.3:clip", "masking:0.3,gaussian:0.2,speckle:0.2"]


@pytest.mark.parametrize("spec", MIXTURES)
def test_mixture_does_not_read_tensor_values_on_the_host_per_batch(spec, monkeypatch):
    """No `bool(tensor)`, `.item()` or `.tolist()` on a batch's path: on an accelerator each waits for it."""
    mixture = parse_noise(spec)
    x = torch.rand(16, 30, generator=gen(1))
    low, high = torch.zeros(30), torch.full((30,), 2.0)
    ranges = ((0.0, 1.0), (low, high, high / 4))
    expected = [mixture.corrupt_marked(x, gen(s), r) for s in (0, 1) for r in ranges]

    def refuse(*args, **kwargs):
        raise AssertionError("the mixture read a tensor's value on the host")

    with monkeypatch.context() as patched:
        for name in ("__bool__", "item", "tolist"):
            patched.setattr(torch.Tensor, name, refuse)
        got = [mixture.corrupt_marked(x, gen(s), r) for s in (0, 1) for r in ranges]
        got_plain = [mixture.corrupt(x, gen(s), r) for s in (0, 1) for r in ranges]
    for (a, marks_a), (b, marks_b), plain in zip(expected, got, got_plain, strict=True):
        assert torch.equal(a, b) and torch.equal(a, plain) and (marks_a is None) == (marks_b is None)
        assert marks_a is None or torch.equal(marks_a, marks_b)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("spec", MIXTURES)
def test_mixture_does_not_synchronise_with_the_host_on_cuda(spec):
    mixture = parse_noise(spec)
    x = torch.rand(64, 784, device="cuda")
    g = torch.Generator(device="cuda").manual_seed(0)
    codes = (x.amin(0), x.amax(0), x.std(0))
    for value_range in ((0.0, 1.0), codes):
        mixture.corrupt_marked(x, g, value_range)  # the first batch copies the mixture's coefficients over
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for value_range in ((0.0, 1.0), codes):
            mixture.corrupt_marked(x, g, value_range)
            mixture.corrupt(x, g, value_range)
    finally:
        torch.cuda.set_sync_debug_mode(0)
