"""Shared fixtures for the unit tests: the real MNIST digits, a cached batch of 64 and the digit meter.

The data comes from `gan_course.data.load_mnist()`, so `GAN_COURSE_DATA` is honoured exactly as in the
course (set it to the offline copy, e.g. `GAN_COURSE_DATA=../shared/data`, where nothing can be downloaded).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: tests never open windows

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gan_course.batches import normalise
from gan_course.data import data_root, load_mnist  # noqa: E402


def pytest_configure(config):
    # One torch thread for every run the tests start (scripts/test.sh sets OMP_NUM_THREADS=1 too): the automatic
    # choice would depend on how busy the machine is, and another thread count sums in another order.
    os.environ.setdefault("GAN_COURSE_THREADS", "1")
    # A relative GAN_COURSE_DATA (CI uses ../shared/data) must keep working in tests that chdir into tmp_path.
    env = os.environ.get("GAN_COURSE_DATA", "").strip()
    if env:
        os.environ["GAN_COURSE_DATA"] = str(Path(env).expanduser().resolve())
    # The digit meter caches itself in <data root>/cache when that folder is writable. Running as root,
    # os.access() calls a read-only offline copy (mode r-x) writable too; keep the cache out of it and use the
    # per-user cache a normal user would get, so the meter is still trained only once across runs.
    root = data_root()
    if not os.environ.get("GAN_COURSE_CACHE", "").strip() and root.is_dir() and not root.stat().st_mode & stat.S_IWUSR:
        os.environ["GAN_COURSE_CACHE"] = str(Path.home() / ".cache" / "gan-course")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """All the digits `load_mnist()` finds: images (N, 28, 28) uint8, labels (N,) int64."""
    return load_mnist()


@pytest.fixture(scope="session")
def digits(mnist) -> torch.Tensor:
    """The first 2,000 real digits as (2000, 1, 28, 28) float32 in [-1, 1]: enough for short training runs."""
    return normalise(mnist[0][:2000])


@pytest.fixture(scope="session")
def _real_batch(mnist) -> torch.Tensor:
    return normalise(mnist[0][:64])


@pytest.fixture
def real_batch(_real_batch) -> torch.Tensor:
    """64 real digits (64, 1, 28, 28) float32 in [-1, 1]; a fresh copy per test."""
    return _real_batch.clone()


@pytest.fixture
def gan():
    """A seeded default MLP GAN and its two optimizers: (generator, discriminator, opt_g, opt_d)."""
    from gan_course.losses import make_optimizers
    from gan_course.models import ModelConfig, build_models

    torch.manual_seed(0)
    generator, discriminator = build_models(ModelConfig())
    opt_g, opt_d = make_optimizers(generator, discriminator)
    return generator, discriminator, opt_g, opt_d


@pytest.fixture(scope="session")
def meter():
    """The course's digit meter, from its cache (trained once, in seconds, the first time)."""
    from gan_course.quality import load_meter

    return load_meter(verbose=False)


@pytest.fixture
def restore_threads():
    """Put torch's thread count back after a test that changes it."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def busy_program():
    """Another process that keeps one core busy for a few seconds."""
    program = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 20\nwhile time.time() < end: pass"])
    time.sleep(0.3)  # let it start spinning
    yield program
    program.kill()
    program.wait()
