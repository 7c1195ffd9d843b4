"""seed_everything: one call makes Python, NumPy and torch repeat themselves; training runs repeat bit for bit."""

import random

import numpy as np
import pytest
import torch

from gan_course.errors import CourseError
from gan_course.seeding import seed_everything, seed_worker
from gan_course.settings import TrainConfig
from gan_course.training import train


def draws(seed: int):
    rng = seed_everything(seed)
    return (random.random(), random.randint(0, 10**9), np.random.rand(3).tolist(), torch.rand(3).tolist(),
            torch.randn(4, generator=rng).tolist())


def test_same_seed_gives_same_draws_from_python_numpy_and_torch():
    assert draws(123) == draws(123)


def test_different_seeds_give_different_draws_from_each_source():
    a, b = draws(123), draws(124)
    for first, second in zip(a, b):
        assert first != second


def test_returns_a_seeded_torch_generator_independent_of_the_global_rng():
    rng = seed_everything(7)
    assert isinstance(rng, torch.Generator)
    expected = torch.randn(5, generator=torch.Generator().manual_seed(7))
    torch.rand(100)  # draws from the global RNG must not move the returned one
    assert torch.equal(torch.randn(5, generator=rng), expected)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", None, True])
def test_bad_seed_is_a_course_error(seed):
    with pytest.raises(CourseError, match=rf"seed must be a non-negative integer; got {seed!r}\."):
        seed_everything(seed)


def test_seed_worker_passes_torch_seed_on_to_python_and_numpy():
    torch.manual_seed(2024)
    seed_worker(0)
    got = (np.random.rand(), random.random())
    np.random.seed(2024)
    random.seed(2024)
    assert got == (np.random.rand(), random.random())


def short_run(digits, seed: int):
    rng = seed_everything(seed)
    return train(TrainConfig(steps=30, snapshot_every=10), digits, rng=rng, progress=False)


def test_two_short_training_runs_with_the_same_seed_are_bit_identical(digits):
    first, second = short_run(digits, 0), short_run(digits, 0)
    a, b = first.history, second.history
    assert len(a.step) == 30
    for name in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"):
        assert getattr(a, name) == getattr(b, name), name
    assert [s for s, _ in a.snapshots] == [s for s, _ in b.snapshots] == [0, 10, 20, 30]
    for (_, x), (_, y) in zip(a.snapshots, b.snapshots):
        assert torch.equal(x, y)
    for p, q in zip(first.generator.state_dict().values(), second.generator.state_dict().values()):
        assert torch.equal(p, q)


def test_a_different_seed_gives_a_different_run(digits):
    assert short_run(digits, 0).history.loss_d != short_run(digits, 1).history.loss_d
