"""A conditional GAN: G(z, y) and D(x, y), both told which digit y it is about (notebook 07).

The label goes in as a one-hot vector concatenated to each network's input. A one-hot vector times the
first layer's weights picks one column of them, so this *is* a learned embedding of the digit (one vector
per digit, as wide as the first layer), added to what the layer makes of z or of the pixels.
D now judges "is this a real *7*?", so a G that draws a fine 3 when asked for a 7 is caught.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gan_course.errors import CourseError
from gan_course.models import MLPGenerator, ModelConfig, check_image_batch

N_DIGITS = 10


def check_labels(labels, n: int | None = None) -> None:
    """Raise a `CourseError` unless `labels` is a 1-D integer tensor of digits 0-9 (and `n` long, if given)."""
    if not isinstance(labels, torch.Tensor):
        raise CourseError(f"labels must be a tensor of digits 0-9; got {type(labels).__name__}. Use torch.tensor(labels).")
    if labels.is_floating_point() or labels.dtype == torch.bool or labels.is_complex():
        raise CourseError(f"labels must be whole numbers (torch.long); got dtype {labels.dtype}. Use labels.long().")
    if labels.dim() != 1:
        hint = " Pass digits, not one-hot rows: labels.argmax(1)." if labels.dim() == 2 else ""
        raise CourseError(f"labels must have shape (B,), one digit per image; got {tuple(labels.shape)}.{hint}")
    if n is not None and len(labels) != n:
        raise CourseError(f"got {len(labels)} labels for {n} images; give exactly one label per image.")
    if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < N_DIGITS:
        raise CourseError(f"labels must be digits 0-9; got values from {int(labels.min())} to {int(labels.max())}.")


def one_hot(labels: torch.Tensor, classes: int = N_DIGITS) -> torch.Tensor:
    """labels (B,) int64 in 0..9 (0..classes-1) -> (B, classes) float32 rows of zeros with a single 1."""
    return F.one_hot(labels.long(), classes).float()


class ConditionalGenerator(nn.Module):
    """(z (B, latent_dim), labels (B,) digits 0-9) -> images (B, 1, 28, 28) in [-1, 1]: the course's MLP G on z ⊕ one-hot."""

    def __init__(self, latent_dim: int = 64, hidden: tuple[int, ...] = (256, 512)):
        super().__init__()
        self.latent_dim = latent_dim
        self.mlp = MLPGenerator(latent_dim + N_DIGITS, hidden)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        z = z.flatten(1)
        if z.shape[1] != self.latent_dim:
            raise CourseError(f"z must have shape (B, {self.latent_dim}); got {tuple(z.shape)}.")
        check_labels(labels, len(z))
        return self.mlp(torch.cat([z, one_hot(labels).to(z.device)], dim=1))  # (B, 1, 28, 28)


class ConditionalDiscriminator(nn.Module):
    """(images (B, 1, 28, 28), labels (B,)) -> logits (B,): an MLP on the pixels ⊕ one-hot, one raw score out.

    classes: how many labels there are (10 digits; `gan_course.piles` tells it a pile instead).
    """

    def __init__(self, hidden: tuple[int, ...] = (256,), classes: int = N_DIGITS):
        super().__init__()
        self.classes = classes
        layers, width = [], 28 * 28 + classes
        for out in hidden:
            layers += [nn.Linear(width, out), nn.LeakyReLU(0.2)]
            width = out
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_image_batch(images)
        self.check(labels, len(images))
        return self.net(torch.cat([images.flatten(1), one_hot(labels, self.classes).to(images.device)], dim=1)).squeeze(1)

    def check(self, labels: torch.Tensor, n: int) -> None:
        check_labels(labels, n)


def build_conditional_models(config: ModelConfig, device: torch.device | str = "cpu") -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) of the conditional MLP GAN for `config` (its `model` must be "mlp")."""
    if config.model != "mlp":
        raise CourseError(f"the conditional GAN exists as an MLP only; got model {config.model!r}. Use model='mlp'.")
    return (ConditionalGenerator(config.latent_dim, config.g_hidden).to(device),
            ConditionalDiscriminator(config.d_hidden).to(device))


def cycling_digits(n: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """labels (n,) int64: 0, 1, ..., 9, 0, 1, ...: every digit equally often (the CLI's and the meter's order)."""
    return torch.arange(n, device=device) % N_DIGITS


def digit_rows(columns: int, latent_dim: int, rng: torch.Generator | None = None,
               device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs for a grid with a row per digit 0-9 and one noise per column, shared down the column.

    Returns z (10 * columns, latent_dim) and labels (10 * columns,), row by row: a column keeps its z (its
    "style") while the digit changes from row to row.
    """
    z = torch.randn(columns, latent_dim, generator=rng).to(device).repeat(N_DIGITS, 1)  # row after row
    return z, torch.arange(N_DIGITS, device=device).repeat_interleave(columns)


@torch.no_grad()
def digit_match(meter, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per digit 0-9, the share of `images` (B, 1, 28, 28) in [-1, 1] the meter reads as the digit asked for.

    labels (B,): the digit each image was asked for. Returns (10,) float shares in [0, 1]; NaN for a digit
    not asked for.
    """
    check_image_batch(images)
    check_labels(labels, len(images))
    labels = labels.cpu()
    read = meter.classifier(images.detach().float().cpu()).argmax(1)
    hits = torch.bincount(labels[read == labels], minlength=N_DIGITS).float()
    asked = torch.bincount(labels, minlength=N_DIGITS).float()
    return hits / asked
