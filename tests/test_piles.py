"""Piles: k-means on real digits, a G that picks its pile from z, and training told the pile (gan_course.piles)."""

import copy
import json
import re

from dataclasses import replace

import pytest
import torch

from gan_course.__main__ import main
from gan_course.batches import MNISTDigits, make_loader
from gan_course.checkpoint import load_generator, save_generator
from gan_course.console import TrainingConsole
from gan_course.errors import CourseError
from gan_course.models import ModelConfig, build_models, sample_noise
from gan_course.piles import PiledDiscriminator, PiledGenerator, check_piles, find_piles, nearest_pile
from gan_course.sampling import generate
from gan_course.settings import PILES, TRUNCATION, TrainConfig, course_default
from gan_course.steps import STATS
from gan_course.training import train


@pytest.fixture(scope="module")
def piled(digits):
    """A G with 20 piles set from 2,000 real digits, and each digit's pile."""
    torch.manual_seed(0)
    generator = PiledGenerator(piles=20)
    return generator, generator.set_piles(digits)


def test_find_piles_gives_the_same_centres_every_time_and_leaves_the_global_random_state_alone(digits):
    state = torch.get_rng_state()
    first = find_piles(digits, 20)
    assert torch.equal(torch.get_rng_state(), state)
    assert first.shape == (20, 784) and torch.equal(find_piles(digits, 20), first)
    assert not torch.equal(find_piles(digits, 20, seed=1), first)


def test_each_centre_is_the_mean_of_the_digits_nearest_to_it(digits):
    centres = find_piles(digits, 20)
    piles = nearest_pile(digits, centres)
    assert torch.equal(piles, torch.cdist(digits.flatten(1), centres).argmin(1))  # the same as the plain distance
    for pile in range(20):
        members = digits.flatten(1)[piles == pile]
        assert len(members) > 0
        assert torch.allclose(centres[pile], members.mean(0), atol=1e-5)


def test_piles_group_digits_that_look_alike_more_often_than_chance(digits, mnist):
    piles = nearest_pile(digits, find_piles(digits, 20))
    truth = mnist[1][:len(digits)]
    largest = sum(int(torch.bincount(truth[piles == p], minlength=10).max()) for p in range(20))
    assert largest / len(digits) > 0.6  # each pile mostly one digit: chance would be about 0.11


@pytest.mark.parametrize("piles", [1, 0, 2001, 2.5, True])
def test_find_piles_refuses_a_count_it_cannot_make(digits, piles):
    with pytest.raises(CourseError, match=re.escape(f"piles must be a whole number from 2 to the number of images "
                                                    f"(2000); got {piles!r}.")):
        find_piles(digits, piles)


def test_the_generator_picks_each_pile_as_often_as_the_digits_fall_into_it(piled):
    generator, labels = piled
    share = torch.bincount(labels, minlength=20).float() / len(labels)
    assert torch.allclose(generator.share, share)
    z, piles = generator.pick(torch.randn(50_000, 64, generator=torch.Generator().manual_seed(0)))
    assert (torch.bincount(piles, minlength=20).float() / 50_000 - share).abs().max() < 0.01
    # z's first number, spread back, is plain noise again, whatever the pile
    assert abs(float(z[:, 0].mean())) < 0.02 and abs(float(z[:, 0].std()) - 1) < 0.02
    assert abs(float(torch.corrcoef(torch.stack([z[:, 0], piles.float()]))[0, 1])) < 0.02


def test_g_of_z_alone_draws_what_g_draws_when_told_the_pile_z_picked(piled):
    generator, _ = piled
    z = torch.randn(32, 64)
    picked, piles = generator.pick(z)
    assert torch.equal(generate(generator, z), generate(generator, picked, piles))
    assert not torch.equal(generate(generator, picked, piles), generate(generator, picked, (piles + 1) % 20))


def test_truncation_shrinks_the_style_numbers_when_g_draws_and_never_in_training(piled):
    generator, _ = piled
    truncated = copy.deepcopy(generator)
    truncated.truncation = 0.8
    z = torch.randn(32, 64)
    shrunk = torch.cat([z[:, :1], 0.8 * z[:, 1:]], 1)  # the first number, which picks the pile, is left alone
    assert torch.equal(generate(truncated, z), generate(generator, shrunk))
    assert generator.pick(z)[1].tolist() == generator.pick(shrunk)[1].tolist()
    assert not torch.equal(generate(truncated, z), generate(generator, z))
    assert torch.equal(truncated.train()(z), generator.train()(z))  # train mode: training and remeasure_batchnorm


@pytest.mark.parametrize("truncation, message", [
    (0, "truncation must be a number above 0 and at most 1"), (1.5, "truncation must be a number above 0"),
    (True, "truncation must be a number above 0"), ("0.8", "truncation must be a number above 0"),
])
def test_model_config_refuses_a_truncation_outside_0_to_1(truncation, message):
    with pytest.raises(CourseError, match=message):
        ModelConfig(piles=50, truncation=truncation)


def test_truncation_goes_with_piles_only():
    with pytest.raises(CourseError, match="truncation is for the GAN with piles"):
        ModelConfig(islands=10, truncation=0.8)


def test_a_generator_whose_piles_are_not_set_says_what_to_do():
    with pytest.raises(CourseError, match="piles are not set: train it first"):
        PiledGenerator(piles=10)(torch.randn(2, 64))


@pytest.mark.parametrize("piles, message", [
    (torch.tensor([0, 1]), "piles must be a (B,) torch.long tensor, one pile per image (3)"),
    (torch.tensor([0.0, 1.0, 2.0]), "piles must be a (B,) torch.long tensor"),
    (torch.tensor([0, 1, 20]), "piles must be numbers from 0 to 19; got 0 to 20."),
])
def test_bad_piles_are_refused(piles, message):
    with pytest.raises(CourseError, match=re.escape(message)):
        check_piles(piles, 20, 3)
    with pytest.raises(CourseError, match=re.escape(message)):
        PiledDiscriminator(piles=20)(torch.zeros(3, 1, 28, 28), piles)


@pytest.mark.parametrize("piles", [1, -1, 2.5, "10", True])
def test_model_config_refuses_piles_that_are_not_a_count(piles):
    with pytest.raises(CourseError, match=re.escape(f"piles must be 0 (none) or a whole number of at least 2, e.g. "
                                                    f"50; got {piles!r}.")):
        ModelConfig(piles=piles)


@pytest.mark.parametrize("changes", [{"model": "dcgan"}, {"conditional": True}, {"islands": 10}])
def test_model_config_refuses_piles_beside_digits_islands_or_the_dcgan(changes):
    with pytest.raises(CourseError, match="piles are for the MLP GAN without digit labels or islands"):
        ModelConfig(**changes, piles=10)


def test_the_course_default_has_piles_and_without_them_is_the_same_run_with_islands_no_penalty_a_shorter_average():
    piled, islands = course_default(), course_default(piles=False)
    assert piled.model == ModelConfig(piles=PILES, truncation=TRUNCATION, projection=True)
    assert (PILES, TRUNCATION, piled.halve_lr_at) == (50, 0.9, 15_000)
    assert course_default(piles=True) == piled
    assert (piled.ema, islands.ema) == (0.9998, 0.999)
    assert replace(piled, model=islands.model, r1=None, ema=0.999, halve_lr_at=None) == islands
    assert islands.model == ModelConfig(islands=10)
    for model, conditional in (("dcgan", False), ("mlp", True)):
        with pytest.raises(CourseError, match="piles go with the unconditional MLP GAN"):
            course_default(model, conditional, piles=True)


def test_a_projection_d_starts_as_the_d_without_and_then_judges_each_pile_by_its_own_direction():
    torch.manual_seed(0)
    plain = PiledDiscriminator(piles=5)
    torch.manual_seed(0)
    projecting = PiledDiscriminator(piles=5, projection=True)
    images, piles = torch.rand(6, 1, 28, 28) * 2 - 1, torch.tensor([0, 1, 2, 3, 4, 1])
    assert projecting.projection.weight.shape == (5, 256) and not projecting.projection.weight.any()
    assert torch.equal(projecting(images, piles), plain(images, piles))  # same weights, e at 0: the same scores
    with torch.no_grad():
        projecting.projection.weight[1] = 0.1
        h = plain.net[:-1](torch.cat([images.flatten(1), torch.eye(5)[piles]], 1))  # D's last hidden layer
    moved = projecting(images, piles) - plain(images, piles)
    assert torch.allclose(moved, torch.where(piles == 1, 0.1 * h.sum(1), 0), atol=1e-5)  # only pile 1's scores move


def test_the_projection_is_for_the_gan_with_piles_only():
    assert build_models(ModelConfig(piles=5))[1].projection is None
    assert isinstance(build_models(ModelConfig(piles=5, projection=True))[1].projection, torch.nn.Embedding)
    with pytest.raises(CourseError, match=re.escape("projection (D told the pile at its output too) is True or False, "
                                                    "and only for the GAN with piles; got projection=True with piles=0.")):
        ModelConfig(islands=10, projection=True)
    with pytest.raises(CourseError, match="got projection=1 with piles=5"):
        ModelConfig(piles=5, projection=1)


@pytest.mark.parametrize("config, title", [
    (ModelConfig(piles=50), "mlp GAN with 50 piles"), (ModelConfig(islands=10), "mlp GAN"),
    (ModelConfig(conditional=True), "conditional mlp GAN"), (ModelConfig("dcgan"), "dcgan GAN"),
])
def test_a_gan_is_named_with_its_piles(config, title):
    assert config.title == title


def test_training_tells_d_the_pile_of_each_real_digit_and_asks_g_for_the_same(digits):
    config = TrainConfig(model=ModelConfig(piles=20), batch_size=32, lr_g=2e-3, lr_d=2e-3, steps=30, n_fixed=16)
    generator, discriminator = build_models(config.model)
    seen = []
    original = discriminator.forward

    def recording(images, piles):
        seen.append((images.detach().clone(), piles.clone()))
        return original(images, piles)

    discriminator.forward = recording
    result = train(config, digits, rng=torch.Generator().manual_seed(0), progress=False,
                   models=(generator, discriminator))
    centres = generator.centres
    assert generator.ready and torch.equal(centres, find_piles(digits, 20))
    real = [(images, piles) for images, piles in seen[0::3]]  # each step: D on real, D on fake, G through D
    assert all(torch.equal(piles, nearest_pile(images, centres)) for images, piles in real)
    assert all(torch.equal(seen[3 * i + 1][1], real[i][1]) and torch.equal(seen[3 * i + 2][1], real[i][1])
               for i in range(30))  # the fakes were asked for the real batch's piles
    assert torch.equal(result.sampler.share, generator.share)  # the average draws its piles alike
    assert result.fixed_labels is None and result.history.snapshots[-1][1].shape == (16, 1, 28, 28)


def test_a_run_on_a_trained_generator_keeps_its_piles(digits):
    config = TrainConfig(model=ModelConfig(piles=20), batch_size=32, steps=2, n_fixed=4)
    first = train(config, digits, rng=torch.Generator().manual_seed(0), progress=False)
    kept = first.generator.centres.clone()
    train(config, digits[:500], rng=torch.Generator().manual_seed(0), progress=False,
          models=(first.generator, first.discriminator))
    assert torch.equal(first.generator.centres, kept)


def test_piles_refuse_labels_and_a_data_loader(digits, mnist):
    config = TrainConfig(model=ModelConfig(piles=20), batch_size=32, steps=2)
    with pytest.raises(CourseError, match="a GAN with piles finds its own labels"):
        train(config, digits, labels=mnist[1][:2000], progress=False)
    loader = make_loader(MNISTDigits(mnist[0][:256], mnist[1][:256]), 32, torch.Generator().manual_seed(0))
    with pytest.raises(CourseError, match=re.escape("Pass the images as a tensor (training_images()).")):
        train(config, loader, progress=False)


@pytest.mark.parametrize("truncation", [1.0, 0.8])
def test_a_saved_piled_generator_loads_with_its_piles_and_draws_the_same_digits(piled, tmp_path, truncation):
    generator = copy.deepcopy(piled[0])
    generator.truncation = truncation
    path = save_generator(generator, ModelConfig(piles=20, truncation=truncation), tmp_path / "g.pt")
    loaded, config = load_generator(path)
    z = torch.randn(16, 64)
    assert config.piles == 20 and config.truncation == truncation and torch.equal(loaded.share, generator.share)
    assert torch.equal(generate(loaded, z), generate(generator, z))


def test_the_console_refuses_a_gan_told_the_digits(digits):
    with pytest.raises(CourseError, match="^the console trains GANs that find their own kinds of digit"):
        TrainingConsole(digits, TrainConfig(model=ModelConfig(conditional=True), batch_size=32))


def test_the_console_plays_the_course_default_without_piles_unless_given_piles(digits):
    branch = TrainingConsole(digits).branch
    assert branch.config.model == course_default(piles=False).model and branch.piles is None


@pytest.fixture
def piled_console(digits):
    torch.set_num_threads(1)
    console = TrainingConsole(digits[:640], replace(course_default(), double_batch_at=None), every=10)
    yield console
    console.stop()


def told(module) -> list:
    """The piles told to `module` at each of its calls from now on (each call must pass them)."""
    calls = []
    module.register_forward_hook(lambda m, inputs, output: calls.append(inputs[1]))
    return calls


def test_the_console_sorts_its_digits_into_piles_as_train_does(piled_console, digits):
    branch = piled_console.branch
    assert branch.generator.ready and torch.equal(branch.piles, nearest_pile(digits[:640], branch.generator.centres))
    assert torch.equal(branch.ema.centres, branch.generator.centres)  # the average draws from the same piles


def test_a_console_d_step_tells_d_the_real_images_piles_and_g_the_same(piled_console):
    branch = piled_console.branch
    asked, judged = told(branch.generator), told(branch.discriminator)
    assert branch.order is None
    piled_console.step_d()  # the first batch: the first 32 of the epoch's order
    assert torch.equal(asked[0], branch.piles[branch.order[:32]]) and len(asked) == 1
    assert len(judged) == 3 and all(torch.equal(piles, asked[0]) for piles in judged)  # real, fake, G's view


def test_a_lone_console_g_step_asks_for_the_piles_its_noise_picks(piled_console):
    branch = piled_console.branch  # pick gives each pile its share (tested above)
    asked, judged = told(branch.generator), told(branch.discriminator)
    state = branch.rng.get_state()
    piled_console.step_g()
    _, picked = branch.generator.pick(sample_noise(32, 64, torch.Generator().set_state(state)))
    assert len(asked) == len(judged) == 1 and torch.equal(asked[0], picked) and torch.equal(judged[0], picked)


def test_a_piled_console_trains_probes_and_forks_bit_for_bit(piled_console):
    piled_console.step_d()
    piled_console.step_g()
    piled_console.run(steps=18, wait=True)
    probe = piled_console.probe()
    assert set(probe) == set(STATS) and 0 < probe["d_x"] < 1 and 0 < probe["d_g_z1"] < 1
    assert [s for s, _ in piled_console.branch.history.snapshots] == [0, 10, 20]
    original = piled_console.branch
    fork = piled_console.fork(10)
    piled_console.run(steps=10, wait=True)
    assert fork.piles is original.piles and fork.history.loss_d == original.history.loss_d
    assert all(torch.equal(a, b) for a, b in zip(fork.generator.parameters(), original.generator.parameters()))


def test_cli_trains_with_piles_and_records_them(tmp_path, restore_threads, capsys):
    assert main(["train", "--steps", "3", "--no-meter", "--samples", "10", "--piles", "20", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("Training the mlp GAN with 20 piles on ")
    model = json.loads((tmp_path / "history.json").read_text())["config"]["model"]
    assert (model["piles"], model["islands"], model["projection"]) == (20, 0, True)  # the default's D, 20 piles
    loaded, _ = load_generator(tmp_path / "generator.pt")
    assert isinstance(loaded, PiledGenerator) and loaded.ready
    assert main(["sample", str(tmp_path), "--samples", "10", "--device", "cpu"]) == 0  # G(z): the piles come from z
    assert torch.equal(torch.load(tmp_path / "sample" / "samples.pt", weights_only=True),
                       torch.load(tmp_path / "samples.pt", weights_only=True))


@pytest.mark.parametrize("args, projection", [([], True), (["--projection", "0"], False), (["--projection", "1"], True),
                                              (["--islands", "10"], False), (["--islands", "10", "--projection", "0"], False)])
def test_cli_tells_d_the_pile_at_its_output_as_asked_and_records_it(tmp_path, restore_threads, args, projection):
    assert main(["train", "--steps", "2", "--no-meter", "--samples", "10", *args, "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "history.json").read_text())["config"]["model"]["projection"] is projection


@pytest.mark.parametrize("args, truncation", [
    ([], 0.9),  # the default's
    (["--truncation", "0.6"], 0.6),
    (["--truncation", "1"], 1.0),  # none
    (["--piles", "20"], 0.9),  # other piles keep the default's drawing
    (["--piles", "0"], 1.0),  # without piles, nothing to truncate
    (["--islands", "10"], 1.0),
])
def test_cli_draws_with_the_truncation_asked_for_and_records_it(tmp_path, restore_threads, args, truncation):
    assert main(["train", "--steps", "3", "--no-meter", "--samples", "10", *args, "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "history.json").read_text())["config"]["model"]["truncation"] == truncation
    assert load_generator(tmp_path / "generator.pt")[1].truncation == truncation
