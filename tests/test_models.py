"""The MLP and DCGAN pairs: shapes, ranges, sizes and the errors for wrong shapes (DCGAN's initialisation: test_dcgan)."""

import re

import pytest
import torch

from gan_course.errors import CourseError
from gan_course.models import ISLAND_HEIGHT, ModelConfig, build_models, count_parameters, sample_noise, to_islands
from gan_course.settings import course_default


@pytest.fixture(params=["mlp", "dcgan"])
def pair(request):
    torch.manual_seed(0)
    return build_models(ModelConfig(request.param))


def test_generator_draws_batches_of_digits_in_minus_one_one(pair):
    generator, _ = pair
    images = generator(torch.randn(16, 64))
    assert images.shape == (16, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1


def test_generator_also_accepts_dcgan_style_noise(pair):
    generator, _ = pair
    generator.eval()
    z = torch.randn(4, 64)
    assert torch.allclose(generator(z.view(4, 64, 1, 1)), generator(z))


def test_discriminator_gives_one_logit_per_image(pair, real_batch):
    generator, discriminator = pair
    logits = discriminator(real_batch)
    assert logits.shape == (64,) and logits.dtype == torch.float32
    assert discriminator(generator(torch.randn(8, 64))).shape == (8,)
    assert logits.requires_grad


def test_course_default_generator_is_larger_than_its_discriminator():
    generator, discriminator = build_models(ModelConfig("mlp"))
    assert count_parameters(generator) > count_parameters(discriminator)
    # 64->256, 256->512 (+BatchNorm), 512->784 versus 784->256->1
    assert count_parameters(generator) == (64 * 256 + 256) + (256 * 512 + 512) + 2 * 512 + (512 * 784 + 784)
    assert count_parameters(discriminator) == (784 * 256 + 256) + (256 + 1)


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_wrong_latent_shape_names_the_shape(model):
    generator, _ = build_models(ModelConfig(model))
    with pytest.raises(CourseError, match=re.escape("z must have shape (B, 64); got (4, 10).")):
        generator(torch.randn(4, 10))


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_discriminator_rejects_images_without_a_channel(model, real_batch):
    _, discriminator = build_models(ModelConfig(model))
    with pytest.raises(CourseError, match=re.escape("images must have shape (B, 1, 28, 28); got (64, 28, 28). Add a channel with images.unsqueeze(1).")):
        discriminator(real_batch.squeeze(1))
    with pytest.raises(CourseError, match=re.escape("got (2, 784)")):
        discriminator(torch.zeros(2, 784))


def test_model_config_errors():
    with pytest.raises(CourseError, match=re.escape("Unknown model 'gan'; choose one of mlp, dcgan.")):
        ModelConfig("gan")
    with pytest.raises(CourseError, match=re.escape("latent_dim must be a positive integer; got 0.")):
        ModelConfig(latent_dim=0)
    with pytest.raises(CourseError, match="layer widths must be positive integers"):
        ModelConfig(g_hidden=(256, 0))


@pytest.mark.parametrize("islands", [1, -1, 65, 2.5, "10"])
def test_islands_must_be_zero_or_a_count_that_fits_the_noise(islands):
    with pytest.raises(CourseError, match=re.escape(f"islands must be 0 (plain noise) or a whole number from 2 to "
                                                    f"latent_dim (64); got {islands!r}.")):
        ModelConfig(islands=islands)


@pytest.mark.parametrize("changes", [{"model": "dcgan"}, {"conditional": True}])
def test_islands_are_refused_where_they_do_not_belong(changes):
    with pytest.raises(CourseError, match="islands are for the unconditional MLP generator only"):
        ModelConfig(**changes, islands=10)


def test_to_islands_makes_the_first_numbers_one_hot_at_the_largest_and_keeps_the_rest():
    z = sample_noise(20_000, 64, torch.Generator().manual_seed(0))
    islanded = to_islands(z, 10)
    assert islanded.shape == z.shape and torch.equal(islanded[:, 10:], z[:, 10:])
    head = islanded[:, :10]
    assert torch.equal(head.argmax(1), z[:, :10].argmax(1))
    assert set(head.unique().tolist()) == {0.0, ISLAND_HEIGHT} and torch.equal((head > 0).sum(1), torch.ones(20_000, dtype=torch.long))
    assert torch.equal(to_islands(z, 10, height=1.0)[:, :10], head / ISLAND_HEIGHT)
    share = (head > 0).float().mean(0)  # each island is picked about one time in ten
    assert share.min() > 0.09 and share.max() < 0.11


def test_a_generator_with_islands_draws_the_same_image_for_every_z_of_one_island_and_rest():
    torch.manual_seed(0)
    generator, _ = build_models(ModelConfig(islands=10))
    plain = build_models(ModelConfig())[0]
    plain.load_state_dict(generator.state_dict())  # the same weights: islands add none
    generator.eval(), plain.eval()
    z = sample_noise(8, 64, torch.Generator().manual_seed(1))
    moved = z.clone()
    moved[:, :10] *= 2  # a different point, but the same largest number: the same island
    assert torch.equal(generator(z), generator(moved))
    assert not torch.allclose(generator(z), plain(z))
    assert torch.equal(generator(z), plain(to_islands(z, 10)))


def test_the_course_default_has_fifty_piles_and_without_them_ten_islands():
    assert (course_default().model.piles, course_default().model.islands) == (50, 0)
    assert (course_default(piles=False).model.piles, course_default(piles=False).model.islands) == (0, 10)
    for other in (course_default("dcgan"), course_default(conditional=True), course_default("dcgan", piles=False)):
        assert (other.model.piles, other.model.islands) == (0, 0)
    assert ModelConfig().islands == 0 and ModelConfig().piles == 0


def test_model_config_round_trips_through_a_dict():
    config = ModelConfig("dcgan", latent_dim=16, ngf=8)
    assert config.to_dict()["g_hidden"] == [256, 512]
    assert ModelConfig(**config.to_dict()) == config


def test_custom_widths_build_working_models():
    generator, discriminator = build_models(ModelConfig(latent_dim=8, g_hidden=(32,), d_hidden=(16, 8)))
    assert discriminator(generator(torch.randn(3, 8))).shape == (3,)


def test_sample_noise_is_seeded_and_shaped():
    z = sample_noise(5, 64, torch.Generator().manual_seed(0))
    assert z.shape == (5, 64) and z.dtype == torch.float32
    assert torch.equal(z, sample_noise(5, 64, torch.Generator().manual_seed(0)))
    assert not torch.equal(z, sample_noise(5, 64, torch.Generator().manual_seed(1)))
    with pytest.raises(CourseError, match=re.escape("number of samples must be a positive integer; got 0.")):
        sample_noise(0, 64)
