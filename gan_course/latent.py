"""Walking the latent space: straight-line and spherical paths between two noise vectors (notebook 07).

Gaussian noise z ~ N(0, I) in d dimensions almost always has a norm close to sqrt(d): G was trained on
such vectors only. The midpoint of a straight line between two of them has a norm of about sqrt(d / 2),
a place G never saw; the spherical path (slerp) keeps the norm and stays where G was trained.
"""

from __future__ import annotations

import torch

from gan_course.errors import CourseError

METHODS = ("linear", "spherical")


def _check_pair(z0: torch.Tensor, z1: torch.Tensor) -> None:
    if z0.shape != z1.shape or z0.dim() != 1:
        raise CourseError(f"z0 and z1 must be two vectors (latent_dim,) of the same size; got {tuple(z0.shape)} "
                          f"and {tuple(z1.shape)}. Take single rows: z[0], z[1].")


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points (T, latent_dim) on the straight line (1 - t) z0 + t z1, for t (T,) in [0, 1]."""
    _check_pair(z0, z1)
    t = t.reshape(-1, 1).to(z0)
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points (T, latent_dim) on the great-circle arc from z0 to z1, for t (T,) in [0, 1].

    The angle turns evenly from z0's direction to z1's while the norm goes evenly from |z0| to |z1|: for
    two typical Gaussian vectors every point keeps a typical norm. Nearly parallel vectors fall back to `lerp`.
    """
    _check_pair(z0, z1)
    t = t.reshape(-1, 1).to(z0)
    n0, n1 = z0.norm(), z1.norm()
    if n0 == 0 or n1 == 0:
        raise CourseError("slerp needs two non-zero vectors: a zero vector has no direction. Use lerp instead.")
    u0, u1 = z0 / n0, z1 / n1
    omega = torch.arccos((u0 @ u1).clamp(-1, 1))  # the angle between the two directions
    if omega < 1e-4:
        return lerp(z0, z1, t)
    direction = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / torch.sin(omega)  # unit vectors
    return direction * ((1 - t) * n0 + t * n1)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 8, method: str = "spherical") -> torch.Tensor:
    """`steps` evenly spaced points (steps, latent_dim) from z0 to z1 (both included), along `method`'s path."""
    if method not in METHODS:
        raise CourseError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
    if not isinstance(steps, int) or steps < 2:
        raise CourseError(f"steps must be a whole number of at least 2 (the two ends); got {steps!r}.")
    t = torch.linspace(0, 1, steps)
    return (lerp if method == "linear" else slerp)(z0, z1, t)
