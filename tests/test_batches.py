"""From digits to batches: [-1, 1] against torchvision's transform, the data checks, loaders and in-memory batches."""

import re

import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import transforms

from gan_course.batches import (MNISTDigits, check_images, denormalise, load_dataset, make_loader, normalise,
                                shuffled_batches, training_images)
from gan_course.data import mnist_transform
from gan_course.errors import CourseError


# --- [-1, 1] ---------------------------------------------------------------------------------------


def test_normalise_matches_the_torchvision_transform_per_image(mnist):
    images, labels = mnist[0][:256], mnist[1][:256]
    dataset = MNISTDigits(images, labels)  # the DataLoader path: PIL image -> ToTensor -> Normalize
    batch, batch_labels = next(iter(DataLoader(dataset, batch_size=256, shuffle=False)))
    assert torch.allclose(normalise(images), batch, atol=1e-6, rtol=0)
    assert torch.equal(batch_labels, labels)
    assert torch.allclose(mnist_transform()(Image.fromarray(images[0].numpy(), mode="L")), normalise(images[:1])[0], atol=1e-6)


def test_normalise_maps_0_and_255_exactly_to_minus_one_and_one(mnist):
    x = normalise(mnist[0][:500])
    assert x.shape == (500, 1, 28, 28) and x.dtype == torch.float32
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    assert normalise(torch.tensor([[[0, 255]]], dtype=torch.uint8)).flatten().tolist() == [-1.0, 1.0]


def test_denormalise_inverts_normalise(mnist):
    images = mnist[0][:64]
    back = denormalise(normalise(images))
    assert back.min() >= 0 and back.max() <= 1
    assert torch.equal((back * 255).round().to(torch.uint8).squeeze(1), images)
    assert denormalise(torch.tensor([-3.0, 3.0])).tolist() == [0.0, 1.0]  # clamped for display


def test_normalise_rejects_floats():
    with pytest.raises(CourseError, match=re.escape("normalise expects uint8 pixels in [0, 255]; got dtype torch.float32.")):
        normalise(torch.zeros(2, 28, 28))


# --- check_images catches the classic mistakes -------------------------------------------------------


def pil_images(mnist, n=8):
    return [Image.fromarray(image.numpy(), mode="L") for image in mnist[0][:n]]


def test_check_images_accepts_real_normalised_digits(real_batch):
    check_images(real_batch)


def test_check_images_catches_data_left_in_0_1(mnist):
    images = torch.stack([transforms.ToTensor()(im) for im in pil_images(mnist)])
    with pytest.raises(CourseError, match=r"images lie in \[0\.000, 1\.000\], not \[-1, 1\].*Add Normalize\(\(0\.5,\), \(0\.5,\)\) after ToTensor\(\)"):
        check_images(images)


def test_check_images_catches_mean_std_normalisation(mnist):
    t = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    images = torch.stack([t(im) for im in pil_images(mnist)])
    with pytest.raises(CourseError, match=r"must lie in \[-1, 1\].*got \[-0\.424, 2\.821\].*use Normalize\(\(0\.5,\), \(0\.5,\)\)"):
        check_images(images)


def test_check_images_catches_three_channels(mnist):
    t = transforms.Compose([transforms.Grayscale(3), transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])
    images = torch.stack([t(im) for im in pil_images(mnist)])
    with pytest.raises(CourseError, match=re.escape("got (8, 3, 28, 28). Three channels, as Grayscale(3) makes them: MNIST is grey, so drop "
                                                     "Grayscale(3) and use Normalize((0.5,), (0.5,)).")):
        check_images(images)


def test_check_images_catches_a_missing_channel(real_batch):
    with pytest.raises(CourseError, match=re.escape("images must have shape (B, 1, 28, 28); got (64, 28, 28). Add a channel with images.unsqueeze(1).")):
        check_images(real_batch.squeeze(1))


# --- batching --------------------------------------------------------------------------------------


def test_make_loader_gives_full_shuffled_batches(mnist):
    dataset = MNISTDigits(mnist[0][:300], mnist[1][:300])
    loader = make_loader(dataset, 64, rng=torch.Generator().manual_seed(0))
    batches = list(loader)
    assert len(batches) == 4  # 300 // 64: the last partial batch is dropped
    for images, labels in batches:
        assert images.shape == (64, 1, 28, 28) and images.dtype == torch.float32
        assert images.min() >= -1 and images.max() <= 1
        assert labels.shape == (64,)
    assert torch.cat([labels for _, labels in batches]).tolist() != mnist[1][:256].tolist()  # shuffled


def test_make_loader_order_is_reproducible_with_a_seeded_rng(mnist):
    dataset = MNISTDigits(mnist[0][:300], mnist[1][:300])
    order = [torch.cat([y for _, y in make_loader(dataset, 50, rng=torch.Generator().manual_seed(s))]) for s in (1, 1, 2)]
    assert torch.equal(order[0], order[1]) and not torch.equal(order[0], order[2])


def test_batch_larger_than_the_data_is_a_course_error(mnist):
    dataset = MNISTDigits(mnist[0][:100], mnist[1][:100])
    with pytest.raises(CourseError, match=re.escape("batch size 128 is larger than the data (100 images). Use --batch-size 64 or less.")):
        make_loader(dataset, 128)
    with pytest.raises(CourseError, match=re.escape("batch size must be a positive integer; got 0.")):
        make_loader(dataset, 0)


def test_training_images_takes_the_first_n_digits_in_minus_one_one(mnist):
    images = training_images(n=500)
    assert images.shape == (500, 1, 28, 28) and images.dtype == torch.float32
    assert torch.equal(images, normalise(mnist[0][:500]))
    assert training_images(n=None).shape == (len(mnist[0]), 1, 28, 28)
    for bad in (0, True, 2.5):
        with pytest.raises(CourseError, match=re.escape(f"n must be a positive number of digits; got {bad!r}.")):
            training_images(n=bad)


def test_shuffled_batches_drop_the_last_partial_batch_and_cover_each_image_once():
    images = torch.arange(100.0).view(100, 1)
    batches = list(shuffled_batches(images, 32, torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [32, 32, 32]
    seen = torch.cat(batches).flatten()
    assert len(set(seen.tolist())) == 96
    assert seen.tolist() != sorted(seen.tolist())


def test_shuffled_batches_order_follows_the_seed():
    images = torch.arange(100.0).view(100, 1)
    run = [torch.cat(list(shuffled_batches(images, 10, torch.Generator().manual_seed(s)))) for s in (3, 3, 4)]
    assert torch.equal(run[0], run[1]) and not torch.equal(run[0], run[2])
    with pytest.raises(CourseError, match="larger than the data"):
        list(shuffled_batches(images, 101))



def test_load_dataset_takes_the_first_n_digits_and_refuses_a_bad_n():
    dataset = load_dataset(n=100)
    assert len(dataset) == 100 and torch.equal(dataset.labels, load_dataset().labels[:100])
    with pytest.raises(CourseError, match=re.escape("n must be a positive number of digits; got 0.")):
        load_dataset(n=0)
