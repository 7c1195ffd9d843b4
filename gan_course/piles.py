"""Piles: a conditional GAN without labels (notebook 07).

k-means sorts the real digits into piles of similar-looking ones, with no labels: each pile is the set of
digits nearest to one centre, and each centre is the mean of its pile. G and D are then told the pile, as
the conditional GAN is told the digit, so D judges "is this a real digit *of this pile*?". G picks its
pile from its own noise, as often as the real digits fall into it, so it is still drawn with G(z) alone.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gan_course.conditional import ConditionalDiscriminator, one_hot
from gan_course.errors import CourseError
from gan_course.models import MLPGenerator, check_image_batch

PILE_ROUNDS = 30  # k-means rounds at most; it usually settles sooner


@torch.no_grad()
def find_piles(images: torch.Tensor, piles: int, seed: int = 0) -> torch.Tensor:
    """k-means on `images` (N, 1, 28, 28): returns the centres (piles, 784), on the images' device.

    The first centres are drawn far apart (k-means++: each next one picked with a chance that grows with
    its squared distance from the nearest centre so far), from a generator seeded with `seed`, so the
    same images always give the same piles and the global random state is untouched. Then, until no
    digit changes pile (at most `PILE_ROUNDS` rounds): every digit joins its nearest centre, and every
    centre moves to the mean of its pile.
    """
    flat = images.flatten(1).float()
    if not isinstance(piles, int) or isinstance(piles, bool) or not 2 <= piles <= len(flat):
        raise CourseError(f"piles must be a whole number from 2 to the number of images ({len(flat)}); got {piles!r}.")
    rng = torch.Generator().manual_seed(seed)
    centres = [flat[int(torch.randint(len(flat), (1,), generator=rng))]]
    far, sizes = torch.full((len(flat),), math.inf, device=flat.device), flat.square().sum(1)
    for _ in range(piles - 1):  # k-means++; far: each digit's squared distance to its nearest centre so far
        far = torch.minimum(far, (sizes - 2 * flat @ centres[-1] + centres[-1].square().sum()).clamp(min=0))
        centres.append(flat[int(torch.multinomial(far.cpu() / far.sum().cpu(), 1, generator=rng))])
    centres, assigned = torch.stack(centres), None
    for _ in range(PILE_ROUNDS):
        nearest = nearest_pile(images, centres)
        if assigned is not None and torch.equal(nearest, assigned):
            break
        assigned = nearest
        sums = torch.zeros_like(centres).index_add_(0, nearest, flat)
        counts = torch.bincount(nearest, minlength=piles).unsqueeze(1)
        centres = torch.where(counts > 0, sums / counts.clamp(min=1), centres)  # an empty pile keeps its centre
    return centres


@torch.no_grad()
def nearest_pile(images: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """The pile (B,) int64 of each image (B, 1, 28, 28): the index of its nearest centre."""
    flat = images.flatten(1).float()  # |x - c|² = |x|² - 2 x·c + |c|², and |x|² is the same for every centre
    return (centres.square().sum(1) - 2 * flat @ centres.T).argmin(1)


class PiledGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, 1, 28, 28): the course's MLP G on z ⊕ one-hot(pile).

    `forward(z, piles)` draws the piles asked for (training asks for the real batch's); `forward(z)`
    lets z's first number pick the pile (`pick`). The centres and each pile's share of the digits are
    buffers: saved and loaded with the weights, set once by `set_piles` before training.
    truncation < 1: in eval mode `forward(z)` multiplies z's other numbers, its style, by it (the truncation
    trick: typical styles, clearer digits, less variety); training and `remeasure_batchnorm` run in train mode.
    """

    def __init__(self, latent_dim: int = 64, hidden: tuple[int, ...] = (256, 512), piles: int = 50,
                 truncation: float = 1.0):
        super().__init__()
        self.latent_dim, self.piles, self.truncation = latent_dim, piles, truncation
        self.mlp = MLPGenerator(latent_dim + piles, hidden)
        self.register_buffer("centres", torch.zeros(piles, 28 * 28))
        self.register_buffer("share", torch.zeros(piles))  # all 0 until `set_piles`

    @property
    def ready(self) -> bool:
        return bool(self.share.sum() > 0)

    @torch.no_grad()
    def set_piles(self, images: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """Sort `images` into `self.piles` piles (`find_piles`), keep the centres and shares; return each image's pile."""
        self.centres.copy_(find_piles(images, self.piles, seed))
        labels = nearest_pile(images, self.centres)
        self.share.copy_(torch.bincount(labels, minlength=self.piles).float() / len(labels))
        return labels

    def pick(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, piles) from z alone: z's first number picks the pile, each pile as often as its share.

        Φ(z₀), the normal CDF, spreads z₀ ~ N(0, 1) evenly over (0, 1); each pile owns a slice of (0, 1) as
        wide as its share, and z₀ falls in one. Where in the slice it fell is spread back over N(0, 1), so the
        returned z₀ is again plain noise, independent of the pile, as in training.
        """
        if not self.ready:
            raise CourseError("this generator's piles are not set: train it first (train() sorts the digits into "
                              "piles), or load a trained one with load_generator.")
        u = 0.5 * (1 + torch.erf(z[:, 0] / math.sqrt(2)))
        ends = torch.cumsum(self.share, 0)
        piles = torch.searchsorted(ends, u, right=True).clamp(max=self.piles - 1)
        within = ((u - (ends[piles] - self.share[piles])) / self.share[piles]).clamp(1e-6, 1 - 1e-6)
        return torch.cat([(math.sqrt(2) * torch.erfinv(2 * within - 1)).unsqueeze(1), z[:, 1:]], 1), piles

    def forward(self, z: torch.Tensor, piles: torch.Tensor | None = None) -> torch.Tensor:
        z = z.flatten(1)
        if z.shape[1] != self.latent_dim:
            raise CourseError(f"z must have shape (B, {self.latent_dim}); got {tuple(z.shape)}.")
        if piles is None:
            z, piles = self.pick(z)
            if self.truncation != 1 and not self.training:  # drawing, never training: the truncation trick
                z = torch.cat([z[:, :1], self.truncation * z[:, 1:]], 1)
        check_piles(piles, self.piles, len(z))
        return self.mlp(torch.cat([z, one_hot(piles, self.piles).to(z.device)], 1))  # (B, 1, 28, 28)


class PiledDiscriminator(ConditionalDiscriminator):
    """(images (B, 1, 28, 28), piles (B,)) -> logits (B,): the conditional D, told the pile instead of the digit.

    projection=True (the course default's): told the pile twice, at its input as the conditional D is, and
    again at its output, where each pile has its own direction in D's last hidden layer h (B, width), a
    *projection* (Miyato and Koyama, 2018): logit = w·h + b + e[pile]·h. At the input the pile can only shift
    what D's first layer makes of the pixels; at the output it decides which of D's features count for this
    pile. e starts at 0, so D starts as the one without.
    """

    def __init__(self, hidden: tuple[int, ...] = (256,), piles: int = 50, projection: bool = False):
        super().__init__(hidden, classes=piles)
        self.projection = nn.Embedding(piles, self.net[-1].in_features) if projection else None
        if self.projection is not None:
            nn.init.zeros_(self.projection.weight)

    def forward(self, images: torch.Tensor, piles: torch.Tensor) -> torch.Tensor:
        if self.projection is None:
            return super().forward(images, piles)
        check_image_batch(images)
        self.check(piles, len(images))
        h = self.net[:-1](torch.cat([images.flatten(1), one_hot(piles, self.classes).to(images.device)], dim=1))
        return self.net[-1](h).squeeze(1) + (self.projection(piles) * h).sum(1)  # (B,)

    def check(self, labels: torch.Tensor, n: int) -> None:
        check_piles(labels, self.classes, n)


def check_piles(piles, count: int, n: int) -> None:
    """Raise a `CourseError` unless `piles` is (n,) whole numbers from 0 to count - 1.

    The values are checked on the CPU only: reading a GPU's numbers would make every step wait for the GPU.
    """
    if not isinstance(piles, torch.Tensor) or piles.dtype != torch.long or piles.shape != (n,):
        raise CourseError(f"piles must be a (B,) torch.long tensor, one pile per image ({n}); "
                          f"got {getattr(piles, 'dtype', type(piles).__name__)} {tuple(getattr(piles, 'shape', ()))}.")
    if n and piles.device.type == "cpu" and not 0 <= int(piles.min()) <= int(piles.max()) < count:
        raise CourseError(f"piles must be numbers from 0 to {count - 1}; got {int(piles.min())} to {int(piles.max())}.")
