"""get_device picks or checks a device; set_threads sets torch's CPU threads."""

import os
import re

import pytest
import torch

from gan_course.device import available_devices, get_device, set_threads
from gan_course.errors import CourseError

AVAILABLE = available_devices()


def test_available_devices_end_with_the_cpu():
    assert AVAILABLE[-1] == "cpu"
    assert set(AVAILABLE) <= {"cuda", "mps", "cpu"}


@pytest.mark.parametrize("name", ["auto", None, "", " AUTO "])
def test_auto_returns_the_best_available_device(name):
    device = get_device(name)
    assert isinstance(device, torch.device)
    assert device.type == AVAILABLE[0]
    torch.zeros(1, device=device)  # usable


@pytest.mark.parametrize("name", ["cpu", " CPU "])
def test_cpu_always_works(name):
    assert get_device(name) == torch.device("cpu")


def test_unknown_device_lists_the_choices_and_what_is_available():
    message = f"Unknown device 'tpu'. Choose one of auto, cpu, cuda, mps; this machine has: {', '.join(AVAILABLE)}."
    with pytest.raises(CourseError, match=re.escape(message)):
        get_device("tpu")


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps"])
def test_unavailable_device_says_what_is_available(name):
    if name.split(":")[0] in AVAILABLE:
        pytest.skip(f"{name} is available on this machine")
    with pytest.raises(CourseError, match=re.escape(
            f"Device {name!r} is not available on this machine; available: {', '.join(AVAILABLE)}. "
            "Use --device auto")):
        get_device(name)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_missing_cuda_index_is_a_course_error():
    with pytest.raises(CourseError, match=r"does not exist; this machine has \d+ CUDA device"):
        get_device(f"cuda:{torch.cuda.device_count()}")


def test_set_threads_uses_an_explicit_number(restore_threads, monkeypatch):
    monkeypatch.setenv("GAN_COURSE_THREADS", "2")
    assert set_threads(1) == 1 == torch.get_num_threads()


def test_set_threads_reads_the_environment(restore_threads, monkeypatch):
    monkeypatch.setenv("GAN_COURSE_THREADS", " 1 ")
    assert set_threads() == 1 == torch.get_num_threads()


def test_set_threads_defaults_to_the_usable_cores(restore_threads, monkeypatch):
    monkeypatch.delenv("GAN_COURSE_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert set_threads() == cores


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_set_threads_rejects_a_bad_environment_value(restore_threads, monkeypatch, value):
    monkeypatch.setenv("GAN_COURSE_THREADS", value)
    with pytest.raises(CourseError, match=re.escape(f"GAN_COURSE_THREADS must be a positive integer; got {value!r}.")):
        set_threads()


@pytest.mark.parametrize("n", [0, -2, 1.5, "2"])
def test_set_threads_rejects_a_bad_number(restore_threads, n):
    with pytest.raises(CourseError, match=re.escape(f"threads must be a positive integer; got {n!r}.")):
        set_threads(n)
