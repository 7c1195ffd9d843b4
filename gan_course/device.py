"""Choosing where tensors live and how many CPU threads torch uses (notebook 01)."""

from __future__ import annotations

import os

import torch

from gan_course.errors import CourseError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    """Device names this machine can use, best first, e.g. `['cuda', 'cpu']`."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def get_device(name: str | None = "auto") -> torch.device:
    """Return a `torch.device`: `auto` picks CUDA, else Apple MPS, else the CPU.

    `name` may also be `cpu`, `cuda`, `cuda:1` or `mps`. Asking for a device that is
    not there is an error that lists what is.
    """
    name = (name or "auto").strip().lower()
    available = available_devices()
    if name == "auto":
        return torch.device(available[0])
    kind = name.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise CourseError(
            f"Unknown device {name!r}. Choose one of {', '.join(DEVICE_CHOICES)}; "
            f"this machine has: {', '.join(available)}."
        )
    if kind not in available:
        raise CourseError(
            f"Device {name!r} is not available on this machine; available: "
            f"{', '.join(available)}. Use --device auto (or get_device('auto')) to pick the best one."
        )
    if kind == "cuda" and ":" in name:
        index = int(name.split(":")[1]) if name.split(":")[1].isdigit() else -1
        if not 0 <= index < torch.cuda.device_count():
            raise CourseError(
                f"Device {name!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)."
            )
    return torch.device(name)


def set_threads(n: int | None = None) -> int:
    """Set torch's CPU threads: `n`, else `GAN_COURSE_THREADS`, else the cores this process may use.

    A 2-core Codespace runs fastest with 2 threads; more threads than cores only adds
    switching. Returns the number now in use.
    """
    if n is None:
        env = os.environ.get("GAN_COURSE_THREADS", "").strip()
        if env:
            if not env.isdigit() or int(env) < 1:
                raise CourseError(f"GAN_COURSE_THREADS must be a positive integer; got {env!r}.")
            n = int(env)
        else:
            n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if not isinstance(n, int) or n < 1:
        raise CourseError(f"threads must be a positive integer; got {n!r}.")
    torch.set_num_threads(n)
    return torch.get_num_threads()
