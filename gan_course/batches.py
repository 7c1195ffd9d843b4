"""From digits to batches (notebook 02): a Dataset and DataLoader, the checks, and the course's fast path in memory.

`MNISTDigits` serves item i as `(transform(PIL image), label)`, as torchvision does, and `make_loader`
batches it. `normalise` does the same arithmetic on the whole uint8 tensor at once, and `training_images`
keeps the course's 10,000 digits in memory in [-1, 1]; `train` draws its batches from them with
`shuffled_batches`. Where the digits come from (files, download, torchvision) is `gan_course.data`.
"""

from __future__ import annotations

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from gan_course.data import load_mnist, mnist_transform
from gan_course.errors import CourseError
from gan_course.seeding import seed_worker


class MNISTDigits(Dataset):
    """MNIST as torchvision serves it: item i is (transform(PIL image), label)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform=None):
        self.images, self.labels = images, labels
        self.transform = transform if transform is not None else mnist_transform()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        image = Image.fromarray(self.images[i].numpy())  # uint8 (28, 28) -> a greyscale "L" image
        return self.transform(image), int(self.labels[i])


def load_dataset(root=None, split: str = "auto", transform=None, n: int | None = None) -> MNISTDigits:
    """`MNISTDigits` over `load_mnist(root, split)` (its first `n` digits; all if None), the course's transform by default."""
    images, labels = load_mnist(root, split)
    _check_count(n)
    return MNISTDigits(images[:n], labels[:n], transform=transform)


def _check_count(n) -> None:
    """Raise a `CourseError` unless n is None (all digits) or a positive whole number."""
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise CourseError(f"n must be a positive number of digits; got {n!r}.")


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) in [0, 255] -> float32 (N, 1, 28, 28) in [-1, 1]; same numbers as `mnist_transform`."""
    if images.dtype != torch.uint8:
        raise CourseError(f"normalise expects uint8 pixels in [0, 255]; got dtype {images.dtype}.")
    return images.float().div(255).sub(0.5).div(0.5).unsqueeze(1)


def denormalise(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] for display (the inverse of Normalize(0.5, 0.5)), clamped."""
    return images.mul(0.5).add(0.5).clamp(0, 1)


def make_loader(dataset, batch_size: int, rng: torch.Generator | None = None, num_workers: int = 0,
                device: torch.device | str = "cpu") -> DataLoader:
    """A shuffling DataLoader that drops the last partial batch; seeded through `rng`.

    `num_workers=0` is the course default: worker processes crash notebooks on some
    platforms, and MNIST in memory needs none.
    """
    check_batch_size(batch_size, len(dataset))
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, generator=rng,
                      num_workers=num_workers, worker_init_fn=seed_worker,
                      pin_memory=torch.device(device).type == "cuda")


def check_batch_size(batch_size: int, n: int) -> None:
    """Raise a `CourseError` unless 1 <= batch_size <= n."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise CourseError(f"batch size must be a positive integer; got {batch_size!r}.")
    if batch_size > n:
        raise CourseError(f"batch size {batch_size} is larger than the data ({n} images). Use --batch-size {min(n, 64)} or less.")


def check_images(images: torch.Tensor, size: int = 28) -> None:
    """Catch the classic data mistakes before training: wrong shape, channels or range.

    images: (B, 1, size, size) float, expected in [-1, 1] to match the generator's Tanh.
    """
    if images.dim() != 4 or images.shape[1:] != (1, size, size):
        hint = (" Three channels, as Grayscale(3) makes them: MNIST is grey, so drop Grayscale(3) and use "
                "Normalize((0.5,), (0.5,)).") if images.dim() == 4 and images.shape[1] == 3 else ""
        hint = hint or (" Add a channel with images.unsqueeze(1)." if images.dim() == 3 else "")
        raise CourseError(f"images must have shape (B, 1, {size}, {size}); got {tuple(images.shape)}.{hint}")
    if not torch.isfinite(images).all():
        raise CourseError("images contain NaN or infinite values; check the data loading and transforms.")
    low, high = float(images.min()), float(images.max())
    if high > 1.001 or low < -1.001:
        raise CourseError(
            f"images must lie in [-1, 1] to match the generator's Tanh; got [{low:.3f}, {high:.3f}]. "
            "Normalising with MNIST's mean/std (0.1307, 0.3081) gives about [-0.42, 2.82]: use Normalize((0.5,), (0.5,))."
        )
    if low >= -0.001:
        raise CourseError(
            f"images lie in [{low:.3f}, {high:.3f}], not [-1, 1]: the generator's Tanh can draw values the data never has. "
            "Add Normalize((0.5,), (0.5,)) after ToTensor()."
        )


def shuffled_batches(images: torch.Tensor, batch_size: int, rng: torch.Generator | None = None):
    """Yield shuffled (batch_size, ...) slices of an in-memory tensor: one epoch, last partial batch dropped.

    The fast path for training: the same batches a DataLoader gives, without the
    per-image PIL round trip.
    """
    check_batch_size(batch_size, len(images))
    order = torch.randperm(len(images), generator=rng).to(images.device)
    for start in range(0, len(images) - batch_size + 1, batch_size):
        yield images[order[start:start + batch_size]]


COURSE_SIZE = 10_000  # digits the course trains on: the same on every machine (the offline copy has exactly this many)


def training_images(root=None, n: int | None = COURSE_SIZE) -> torch.Tensor:
    """The course's training set in memory: the first `n` digits (all if None) as (n, 1, 28, 28) float32 in [-1, 1].

    Taking the same number of digits everywhere makes an epoch the same length on a
    student's machine (60,000 downloaded digits) and in CI (the 10,000 offline ones).
    """
    images, _ = load_mnist(root)
    _check_count(n)
    return normalise(images[:n])
