"""Paths through the latent space: both end at their endpoints; the spherical one keeps Gaussian noise's norm."""

import math
import re

import pytest
import torch

from gan_course.errors import CourseError
from gan_course.latent import interpolate, lerp, slerp


@pytest.fixture
def ends():
    z = torch.randn(2, 64, generator=torch.Generator().manual_seed(0))
    return z[0], z[1]


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_a_path_starts_and_ends_at_its_endpoints(ends, method):
    path = interpolate(*ends, steps=9, method=method)
    assert path.shape == (9, 64)
    assert torch.allclose(path[0], ends[0], atol=1e-5) and torch.allclose(path[-1], ends[1], atol=1e-5)


def test_slerp_keeps_the_norm_and_lerp_shrinks_it_in_the_middle(ends):
    t = torch.linspace(0, 1, 11)
    norms = slerp(*ends, t).norm(dim=1)
    expected = (1 - t) * ends[0].norm() + t * ends[1].norm()
    assert torch.allclose(norms, expected, rtol=1e-5)
    # two independent Gaussian vectors are nearly orthogonal: the straight midpoint has about 1/sqrt(2) the norm
    middle = lerp(*ends, torch.tensor([0.5]))[0].norm() / expected[5]
    assert abs(middle - 1 / math.sqrt(2)) < 0.1


def test_slerp_of_a_vector_with_itself_stays_put(ends):
    assert torch.allclose(slerp(ends[0], ends[0], torch.linspace(0, 1, 5)), ends[0].repeat(5, 1))


def test_slerp_turns_at_an_even_angle():
    path = slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]), torch.tensor([0.5]))[0]
    assert torch.allclose(path, 1.5 * torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))


@pytest.mark.parametrize("call, message", [
    (lambda z: interpolate(z[0], z[1], method="straight"), "method must be one of linear, spherical; got 'straight'."),
    (lambda z: interpolate(z[0], z[1], steps=1), "steps must be a whole number of at least 2 (the two ends); got 1."),
    (lambda z: lerp(z, z, torch.tensor([0.5])), "z0 and z1 must be two vectors (latent_dim,) of the same size; got (2, 64)"),
    (lambda z: slerp(z[0], torch.zeros(64), torch.tensor([0.5])), "slerp needs two non-zero vectors"),
])
def test_mistakes_are_refused_with_a_message(call, message):
    with pytest.raises(CourseError, match=re.escape(message)):
        call(torch.randn(2, 64))
