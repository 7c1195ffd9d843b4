"""The digit meter: the Fréchet distance against closed forms, and what the meter says about real digits, noise,
mode collapse and a short real training run."""

import copy
import math
import re
import statistics

import pytest
import torch

from gan_course.batches import normalise
from gan_course.errors import CourseError
from gan_course.models import build_models, sample_noise
from gan_course.quality import (VERSION, DigitClassifier, Quality, _train_classifier, cache_dir, frechet_distance,
                                load_meter)
from gan_course.sampling import generate
from gan_course.seeding import seed_everything
from gan_course.settings import course_default
from gan_course.training import train

# --- Fréchet distance ------------------------------------------------------------------------------


def test_frechet_distance_of_1d_gaussians_matches_the_closed_form():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(500, 1, generator=g) * 2 + 1, torch.randn(300, 1, generator=g) * 0.5 - 3
    xs, ys = a.flatten().tolist(), b.flatten().tolist()
    # (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2, with the sample (n - 1) variances
    expected = (statistics.mean(xs) - statistics.mean(ys)) ** 2 + (
        math.sqrt(statistics.variance(xs)) - math.sqrt(statistics.variance(ys))) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def grid(xs, ys):
    """Every (x, y) pair: the two columns' sample covariance is exactly zero, so the Gaussian is diagonal."""
    return torch.tensor([[x, y] for x in xs for y in ys], dtype=torch.float64)


def test_frechet_distance_of_diagonal_gaussians_matches_the_closed_form():
    a = grid([0.0, 1.0, 2.0, 5.0], [-1.0, 0.0, 4.0])
    b = grid([3.0, 3.5, 10.0], [2.0, 2.5, 2.7, 3.0, 8.0])
    expected = 0.0
    for column in range(2):
        xs, ys = a[:, column].tolist(), b[:, column].tolist()
        expected += (statistics.mean(xs) - statistics.mean(ys)) ** 2 + (
            math.sqrt(statistics.variance(xs)) - math.sqrt(statistics.variance(ys))) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_a_shifted_set_is_the_squared_shift():
    a = torch.randn(400, 8, generator=torch.Generator().manual_seed(0)) @ torch.randn(8, 8, generator=torch.Generator().manual_seed(1))
    shift = torch.arange(8.0) / 4
    assert frechet_distance(a, a + shift) == pytest.approx(float(shift.square().sum()), rel=1e-6, abs=1e-6)


def test_frechet_distance_is_about_zero_for_identical_sets_and_symmetric():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1000, 16, generator=g), torch.randn(800, 16, generator=g) * 1.5 + 0.2
    assert abs(frechet_distance(a, a)) < 1e-6
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=g, dtype=torch.float64))
    assert frechet_distance(a.double() @ q, b.double() @ q) == pytest.approx(frechet_distance(a, b), rel=1e-6)


# --- the meter on real digits, noise and a collapsed "generator" ------------------------------------


@pytest.fixture(scope="module")
def held_out(mnist):
    """Digits the meter never trained on (it holds out the last 2,000) and their labels."""
    images, labels = mnist
    return normalise(images[-1000:]), labels[-1000:]


def test_meter_is_accurate_on_held_out_real_digits(meter, held_out):
    assert meter.accuracy > 0.95
    images, labels = held_out
    with torch.no_grad():
        assert float((meter.classifier(images).argmax(1) == labels).float().mean()) > 0.95


def test_real_digits_score_confident_with_all_ten_classes(meter, held_out):
    quality = meter.score(held_out[0])
    assert isinstance(quality, Quality) and quality.n == 1000
    assert quality.confident > 0.9 and quality.classes == 10
    assert sum(quality.counts) == round(quality.confident * 1000)
    assert 0 <= quality.fd < 100
    assert re.fullmatch(r"confident \d+%, classes 10/10, FD \d+\.\d", quality.summary())


def test_confident_also_needs_features_typical_of_real_digits_of_that_class(meter, held_out):
    # the thresholds are the 99th percentile of real digits' distances to their class mean...
    predicted = meter.classifier.head(meter.real_features).argmax(1)
    distances = (meter.real_features - meter.class_means[predicted]).norm(dim=1)
    assert 0.985 <= float((distances <= meter.max_distance[predicted]).float().mean()) <= 0.995
    # ...and a sample beyond them is not confident, however sure the classifier is
    strict = copy.copy(meter)
    strict.max_distance = torch.zeros(10)
    assert meter.score(held_out[0][:200]).confident > 0.9
    assert strict.score(held_out[0][:200]).confident == 0 and strict.score(held_out[0][:200]).classes == 0


def test_uniform_noise_scores_low(meter, held_out):
    noise = torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    quality, real = meter.score(noise), meter.score(held_out[0])
    assert quality.confident < 0.5 and quality.classes <= 2
    assert quality.fd > 20 * real.fd


def test_one_repeated_digit_shows_as_one_class(meter, held_out):
    images, labels = held_out
    quality = meter.score(images[:1].repeat(500, 1, 1, 1))
    assert quality.classes == 1
    assert quality.counts[int(labels[0])] == 500
    assert quality.fd > 10 * meter.score(images).fd


def test_meter_needs_at_least_two_images_of_the_right_shape(meter, real_batch):
    with pytest.raises(CourseError, match=re.escape("The digit meter needs at least 2 images; got 1.")):
        meter.score(real_batch[:1])
    with pytest.raises(CourseError, match=re.escape("images must have shape (B, 1, 28, 28); got (64, 28, 28).")):
        meter.score(real_batch.squeeze(1))


def test_meter_loads_from_its_cache_without_retraining(meter, capsys):
    again = load_meter()
    assert "Training the digit meter" not in capsys.readouterr().out
    for p, q in zip(meter.classifier.state_dict().values(), again.classifier.state_dict().values()):
        assert torch.equal(p, q)
    assert again.accuracy == meter.accuracy and torch.equal(again.real_features, meter.real_features)


def test_classifier_training_is_deterministic_and_leaves_the_global_rng_alone(real_batch):
    labels = torch.arange(64) % 10
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    first = _train_classifier(real_batch, labels, steps=3)
    assert torch.equal(torch.rand(3), expected)
    second = _train_classifier(real_batch, labels, steps=3)
    for p, q in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(p, q)
    assert isinstance(first, DigitClassifier) and not first.training


def test_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_COURSE_CACHE", str(tmp_path / "cache-here"))
    assert cache_dir() == tmp_path / "cache-here"
    monkeypatch.delenv("GAN_COURSE_CACHE")
    assert cache_dir(tmp_path) == tmp_path / "cache"
    assert cache_dir(tmp_path / "missing").parts[-2:] == (".cache", "gan-course")


@pytest.mark.slow
def test_a_broken_meter_cache_is_rebuilt(tmp_path, monkeypatch, mnist, meter, capsys):
    monkeypatch.setenv("GAN_COURSE_CACHE", str(tmp_path))
    kernels = torch.backends.cpu.get_cpu_capability().lower()  # AVX2 and AVX-512 kernels: two meters
    path = tmp_path / f"digit-meter-v{VERSION}-{len(mnist[0])}-{kernels}.pt"
    path.write_bytes(b"not a torch file" * 10)
    rebuilt = load_meter()
    assert "Training the digit meter" in capsys.readouterr().out
    assert rebuilt.accuracy == meter.accuracy  # trained on one thread: the same meter whatever the thread count
    assert path.stat().st_size > 1000  # the broken file was replaced by a good one
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


# --- a short real training run -----------------------------------------------------------------------


@pytest.mark.slow
def test_short_real_training_beats_untrained_generator(mnist, meter):
    images = normalise(mnist[0][:10_000])
    config = course_default()
    config.seconds, config.steps = None, 1500
    rng = seed_everything(0)
    z = sample_noise(1000, config.model.latent_dim, torch.Generator().manual_seed(1))
    untrained = build_models(config.model)[0]
    untrained.set_piles(images)  # the course default's G draws from piles of the digits (notebook 07)
    before = meter.score(generate(untrained, z))
    result = train(config, images, rng=rng, progress=False)
    after = meter.score(generate(result.sampler, z))
    assert len(result.history.step) == 1500
    assert after.confident > before.confident + 0.3, (before.summary(), after.summary())
    assert after.classes >= 5 and after.classes > before.classes, (before.summary(), after.summary())
    assert after.fd < before.fd / 2, (before.summary(), after.summary())
