"""The course's GAN for 28x28 digits: an MLP pair, its settings and its noise (notebook 03).

Discriminators return raw scores (logits), not probabilities: the losses apply the
sigmoid inside `binary_cross_entropy_with_logits`, which is the numerically safe form. The convolutional
pair, DCGAN, is in `gan_course.dcgan`; `build_models` builds either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from gan_course.errors import CourseError

MODELS = ("mlp", "dcgan")
ISLAND_HEIGHT = 3.0  # the islands' coordinate: 1 was no better than plain noise in benchmarks/levers.py, 6 no better than 3


@dataclass
class ModelConfig:
    """Everything needed to rebuild a generator/discriminator pair (stored in checkpoints)."""

    model: str = "mlp"
    latent_dim: int = 64
    g_hidden: tuple[int, ...] = (256, 512)  # MLP generator widths
    d_hidden: tuple[int, ...] = (256,)  # MLP discriminator widths: deliberately smaller
    ngf: int = 32  # DCGAN generator feature maps
    ndf: int = 32  # DCGAN discriminator feature maps
    conditional: bool = False  # True: G(z, y) and D(x, y) are told the digit (gan_course.conditional, notebook 07)
    islands: int = 0  # MLP G only: > 1 turns the noise's first numbers into that many islands (`to_islands`, notebook 05)
    piles: int = 0  # MLP only: > 1 sorts the digits into that many piles, and G and D are told the pile (notebook 07)
    # piles only: < 1 shrinks the noise's style numbers when G draws, never in training (the truncation trick,
    # notebook 07; the course default draws at 0.9)
    truncation: float = 1.0
    projection: bool = False  # piles only: D is told the pile at its output too (`PiledDiscriminator`, notebook 07)

    def __post_init__(self):
        if self.model not in MODELS:
            raise CourseError(f"Unknown model {self.model!r}; choose one of {', '.join(MODELS)}.")
        if not isinstance(self.latent_dim, int) or self.latent_dim < 1:
            raise CourseError(f"latent_dim must be a positive integer; got {self.latent_dim!r}.")
        self.g_hidden, self.d_hidden = tuple(self.g_hidden), tuple(self.d_hidden)
        if any(w < 1 for w in (*self.g_hidden, *self.d_hidden, self.ngf, self.ndf)):
            raise CourseError("layer widths must be positive integers.")
        if not isinstance(self.islands, int) or self.islands == 1 or not 0 <= self.islands <= self.latent_dim:
            raise CourseError(f"islands must be 0 (plain noise) or a whole number from 2 to latent_dim "
                              f"({self.latent_dim}); got {self.islands!r}.")
        if self.islands and (self.model != "mlp" or self.conditional):
            raise CourseError("islands are for the unconditional MLP generator only (a DCGAN has none; a conditional "
                              "G is told its digit instead); set islands=0.")
        if not isinstance(self.piles, int) or isinstance(self.piles, bool) or self.piles == 1 or self.piles < 0:
            raise CourseError(f"piles must be 0 (none) or a whole number of at least 2, e.g. 50; got {self.piles!r}.")
        if self.piles and (self.model != "mlp" or self.conditional or self.islands):
            raise CourseError("piles are for the MLP GAN without digit labels or islands (G is told its pile "
                              "instead); set islands=0 and conditional=False, or piles=0.")
        if isinstance(self.truncation, bool) or not isinstance(self.truncation, (int, float)) \
                or not 0 < self.truncation <= 1:
            raise CourseError(f"truncation must be a number above 0 and at most 1 (1: draw with the noise as it is, "
                              f"0.8: shrink its style numbers by a fifth); got {self.truncation!r}.")
        if not isinstance(self.projection, bool) or (self.projection and not self.piles):
            raise CourseError(f"projection (D told the pile at its output too) is True or False, and only for the GAN "
                              f"with piles; got projection={self.projection!r} with piles={self.piles}.")
        if self.truncation != 1 and not self.piles:
            raise CourseError("truncation is for the GAN with piles (its G picks the pile from z's first number and "
                              "draws with the rest shrunk); set truncation=1, or piles=50 on the unconditional MLP.")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def title(self) -> str:
        """The GAN's name in print lines and grid titles, e.g. "mlp GAN with 50 piles" or "conditional mlp GAN"."""
        return ("conditional " if self.conditional else "") + f"{self.model} GAN" \
            + (f" with {self.piles} piles" if self.piles else "")


def to_islands(z: torch.Tensor, islands: int, height: float = ISLAND_HEIGHT) -> torch.Tensor:
    """z (B, latent_dim) ~ N(0, 1) -> a copy whose first `islands` numbers are one-hot: `height` at the
    largest of them, 0 at the others. The rest of z stays as it is.

    Plain Gaussian noise is one connected cloud, and G maps it smoothly, so between two kinds of digit it
    must also draw the half-way shapes. Ten separate islands of noise (each picked by one in ten draws, as
    the largest of ten numbers is equally likely to be any of them) let G keep some kinds of digit apart
    without drawing what lies between them. No digit labels are involved: G decides what each island draws.
    """
    pick = z[:, :islands].argmax(1)
    return torch.cat([nn.functional.one_hot(pick, islands).to(z.dtype) * height, z[:, islands:]], 1)


class MLPGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, 1, 28, 28) in [-1, 1]: Linear + BatchNorm + LeakyReLU blocks, Tanh out.

    islands > 1: z goes through `to_islands` first (the course default's G, notebook 05).
    """

    def __init__(self, latent_dim: int = 64, hidden: tuple[int, ...] = (256, 512), islands: int = 0):
        super().__init__()
        self.latent_dim, self.islands = latent_dim, islands
        layers, width = [], latent_dim
        for i, out in enumerate(hidden):
            layers.append(nn.Linear(width, out))
            if i > 0:  # no BatchNorm straight on the noise
                layers.append(nn.BatchNorm1d(out))  # BatchNorm1d(n, 0.8) would set eps, not momentum
            layers.append(nn.LeakyReLU(0.2))
            width = out
        layers += [nn.Linear(width, 28 * 28), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z.flatten(1)  # accept (B, latent_dim) or DCGAN-style (B, latent_dim, 1, 1)
        if z.shape[1] != self.latent_dim:
            raise CourseError(f"z must have shape (B, {self.latent_dim}); got {tuple(z.shape)}.")
        if self.islands:
            z = to_islands(z, self.islands)
        return self.net(z).view(-1, 1, 28, 28)  # (B, 1, 28, 28)


class MLPDiscriminator(nn.Module):
    """images (B, 1, 28, 28) -> logits (B,): Linear + LeakyReLU(0.2) blocks, one raw score out."""

    def __init__(self, hidden: tuple[int, ...] = (256,)):
        super().__init__()
        layers, width = [], 28 * 28
        for out in hidden:
            layers += [nn.Linear(width, out), nn.LeakyReLU(0.2)]
            width = out
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_image_batch(images)
        return self.net(images.flatten(1)).squeeze(1)  # (B,)


def check_image_batch(images: torch.Tensor) -> None:
    """Raise a `CourseError` unless `images` is (B, 1, 28, 28)."""
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        hint = " Add a channel with images.unsqueeze(1)." if images.dim() == 3 else ""
        raise CourseError(f"images must have shape (B, 1, 28, 28); got {tuple(images.shape)}.{hint}")


def build_models(config: ModelConfig | None = None, device: torch.device | str = "cpu") -> tuple[nn.Module, nn.Module]:
    """Return (generator, discriminator) for `config`, initialised and moved to `device`."""
    config = config or ModelConfig()
    if config.conditional:
        from gan_course.conditional import build_conditional_models  # local import: conditional builds on this module

        return build_conditional_models(config, device)
    if config.piles:
        from gan_course.piles import PiledDiscriminator, PiledGenerator  # local import: piles build on this module

        return (PiledGenerator(config.latent_dim, config.g_hidden, config.piles, config.truncation).to(device),
                PiledDiscriminator(config.d_hidden, config.piles, config.projection).to(device))
    if config.model == "mlp":
        generator = MLPGenerator(config.latent_dim, config.g_hidden, config.islands)
        discriminator = MLPDiscriminator(config.d_hidden)
    else:
        from gan_course.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_init  # local: dcgan builds on models

        generator = DCGANGenerator(config.latent_dim, config.ngf)
        discriminator = DCGANDiscriminator(config.ndf)
        generator.apply(dcgan_init)
        discriminator.apply(dcgan_init)
    return generator.to(device), discriminator.to(device)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def sample_noise(n: int, latent_dim: int, rng: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """z: (n, latent_dim) float32 ~ N(0, 1), drawn on the CPU from `rng` (reproducible on any device)."""
    if not isinstance(n, int) or n < 1:
        raise CourseError(f"number of samples must be a positive integer; got {n!r}.")
    return torch.randn(n, latent_dim, generator=rng).to(device)
