"""The conditional GAN: shapes, the label check's messages, that the label matters, training with labels."""

import re

import pytest
import torch

from gan_course.conditional import (ConditionalDiscriminator, ConditionalGenerator, cycling_digits,
                                    digit_match, digit_rows, one_hot)
from gan_course.batches import MNISTDigits, make_loader, normalise
from gan_course.errors import CourseError
from gan_course.models import ModelConfig, build_models
from gan_course.sampling import generate
from gan_course.settings import TrainConfig, course_default
from gan_course.steps import STATS
from gan_course.training import train


@pytest.fixture
def pair():
    torch.manual_seed(0)
    return build_models(ModelConfig(conditional=True))


def test_build_models_makes_the_conditional_pair_and_it_has_the_documented_shapes(pair, real_batch):
    generator, discriminator = pair
    assert isinstance(generator, ConditionalGenerator) and isinstance(discriminator, ConditionalDiscriminator)
    labels = cycling_digits(64)
    fake = generator(torch.randn(64, 64), labels)
    assert fake.shape == (64, 1, 28, 28) and fake.min() >= -1 and fake.max() <= 1
    assert discriminator(real_batch, labels).shape == (64,)


def test_the_label_changes_the_image_and_the_score(pair, real_batch):
    generator, discriminator = pair
    z = torch.randn(1, 64).repeat(10, 1)  # one z, ten digits
    images = generate(generator, z, torch.arange(10))
    assert all(not torch.equal(images[0], images[d]) for d in range(1, 10))
    scores = discriminator(real_batch[:1].repeat(10, 1, 1, 1), torch.arange(10))
    assert len(set(scores.tolist())) == 10


def test_one_hot_times_the_first_layer_picks_one_column_an_embedding(pair):
    generator, _ = pair
    first = generator.mlp.net[0]  # Linear(latent_dim + 10, width)
    digit_part = first.weight[:, 64:] @ one_hot(torch.tensor([7]))[0]
    assert torch.equal(digit_part, first.weight[:, 64 + 7])


@pytest.mark.parametrize("labels, message", [
    ([1, 2], "labels must be a tensor of digits 0-9; got list. Use torch.tensor(labels)."),
    (torch.tensor([1.0, 2.0]), "labels must be whole numbers (torch.long); got dtype torch.float32. Use labels.long()."),
    (torch.zeros(2, 10, dtype=torch.long), "labels must have shape (B,), one digit per image; got (2, 10). "
                                           "Pass digits, not one-hot rows: labels.argmax(1)."),
    (torch.tensor([1, 2, 3]), "got 3 labels for 2 images; give exactly one label per image."),
    (torch.tensor([3, 10]), "labels must be digits 0-9; got values from 3 to 10."),
    (torch.tensor([-1, 4]), "labels must be digits 0-9; got values from -1 to 4."),
])
def test_bad_labels_are_refused_with_a_message_that_says_what_to_do(pair, labels, message):
    generator, discriminator = pair
    with pytest.raises(CourseError, match=re.escape(message)):
        generator(torch.randn(2, 64), labels)
    with pytest.raises(CourseError, match=re.escape(message)):
        discriminator(torch.zeros(2, 1, 28, 28), labels)


def test_a_wrong_z_or_image_shape_is_refused(pair):
    generator, discriminator = pair
    with pytest.raises(CourseError, match=re.escape("z must have shape (B, 64); got (2, 100).")):
        generator(torch.randn(2, 100), torch.tensor([1, 2]))
    with pytest.raises(CourseError, match=re.escape("images must have shape (B, 1, 28, 28); got (2, 28, 28).")):
        discriminator(torch.zeros(2, 28, 28), torch.tensor([1, 2]))


def test_the_conditional_gan_is_an_mlp_only():
    with pytest.raises(CourseError, match=re.escape("the conditional GAN exists as an MLP only; got model 'dcgan'.")):
        build_models(ModelConfig("dcgan", conditional=True))
    with pytest.raises(CourseError, match=re.escape("got model 'dcgan'. Use --model mlp.")):
        course_default("dcgan", conditional=True)


def test_digit_rows_share_one_z_down_each_column():
    z, labels = digit_rows(4, 8, torch.Generator().manual_seed(0))
    assert z.shape == (40, 8) and labels.tolist() == [d for d in range(10) for _ in range(4)]
    assert torch.equal(z[:4], z[36:]) and not torch.equal(z[0], z[1])


def test_digit_match_on_real_digits_is_the_meters_accuracy_per_digit(mnist, meter):
    images, labels = normalise(mnist[0][-500:]), mnist[1][-500:].long()
    shares = digit_match(meter, images, labels)
    assert shares.shape == (10,) and shares.mean() > 0.95 and shares.min() > 0.8
    assert digit_match(meter, images, (labels + 1) % 10).mean() < 0.05  # asked for the wrong digit


def test_train_with_labels_from_a_tensor_and_from_a_dataloader(mnist):
    config = TrainConfig(model=ModelConfig(conditional=True), batch_size=32, steps=12, n_fixed=20)
    images, labels = normalise(mnist[0][:320]), mnist[1][:320]
    result = train(config, images, labels=labels, progress=False, rng=torch.Generator().manual_seed(0))
    assert result.fixed_labels.tolist() == list(range(10)) * 2
    assert len(result.history.step) == 12 and result.history.snapshots[-1][1].shape == (20, 1, 28, 28)
    loader = make_loader(MNISTDigits(mnist[0][:320], mnist[1][:320]), 32, torch.Generator().manual_seed(0))
    assert len(train(config, loader, progress=False).history.step) == 12


def test_a_tensor_run_shuffles_the_labels_with_their_images(mnist, monkeypatch):
    import gan_course.training as training

    seen = []
    monkeypatch.setattr(training, "step_on_device", lambda *args: seen.append((args[4], args[10])) or torch.full((len(STATS),), 0.5))
    images, labels = normalise(mnist[0][:64]), mnist[1][:64]
    train(TrainConfig(model=ModelConfig(conditional=True), batch_size=16, steps=4, ema=None), images, labels=labels,
          progress=False, rng=torch.Generator().manual_seed(0))
    for real, digits in seen:
        rows = [int((images == image).flatten(1).all(1).nonzero()[0]) for image in real]
        assert digits.tolist() == labels[rows].tolist()


def test_labels_must_match_the_kind_of_gan(digits, mnist):
    conditional = TrainConfig(model=ModelConfig(conditional=True), steps=2)
    with pytest.raises(CourseError, match=re.escape("a conditional GAN learns from labelled digits: pass labels=, "
                                                    "(2000,) digits 0-9, one per image.")):
        train(conditional, digits, progress=False)
    with pytest.raises(CourseError, match=re.escape("labels were given but config.model.conditional is False")):
        train(TrainConfig(steps=2), digits, labels=mnist[1][:2000], progress=False)
    with pytest.raises(CourseError, match=re.escape("got 1999 labels for 2000 images")):
        train(conditional, digits, labels=mnist[1][:1999], progress=False)
