"""Seeding every source of randomness with one call (notebook 01)."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from gan_course.errors import CourseError


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CUDA too, when present); return an RNG for shuffling.

    The returned `torch.Generator` is meant for `DataLoader(generator=...)` and
    `sample_noise(rng=...)`, so data order and noise do not depend on how many other
    random numbers were drawn before.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise CourseError(f"seed must be a non-negative integer; got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses started later
    rng = torch.Generator()
    rng.manual_seed(seed)
    return rng


def seed_worker(worker_id: int) -> None:
    """`DataLoader(worker_init_fn=seed_worker)`: derive each worker's seeds from torch's.

    torch seeds each worker itself; this passes that seed on to Python and NumPy,
    which would otherwise repeat the parent's state in every worker.
    """
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)
