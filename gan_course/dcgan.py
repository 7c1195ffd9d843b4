"""DCGAN for 28x28 digits (notebook 03): transposed convolutions up from the noise, strided ones down to a score.

The layout of the PyTorch DCGAN tutorial, sized for MNIST's 28x28 instead of 64x64, and the DCGAN paper's
initialisation, N(0, 0.02). `gan_course.models.build_models(ModelConfig("dcgan"))` builds and initialises a pair.
"""

from __future__ import annotations

import torch
from torch import nn

from gan_course.errors import CourseError
from gan_course.models import check_image_batch


class DCGANGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, 1, 28, 28): transposed convolutions + BatchNorm + ReLU, Tanh out."""

    def __init__(self, latent_dim: int = 64, ngf: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, ngf * 4, 7, 1, 0, bias=False),  # (ngf*4) x 7 x 7
            nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # (ngf*2) x 14 x 14
            nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias=False),  # 1 x 28 x 28
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.flatten(1).shape[1] != self.latent_dim:
            raise CourseError(f"z must have shape (B, {self.latent_dim}); got {tuple(z.shape)}.")
        return self.net(z.reshape(len(z), self.latent_dim, 1, 1))  # (B, 1, 28, 28)


class DCGANDiscriminator(nn.Module):
    """images (B, 1, 28, 28) -> logits (B,): strided convolutions + LeakyReLU(0.2)."""

    def __init__(self, ndf: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),  # ndf x 14 x 14
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # (ndf*2) x 7 x 7
            nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False),  # 1 x 1 x 1
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_image_batch(images)
        return self.net(images).flatten()  # (B,)


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's init, for `model.apply(dcgan_init)`: conv weights ~ N(0, 0.02), BatchNorm weights ~ N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
