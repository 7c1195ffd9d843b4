"""What a training run keeps (notebook 05): each step's statistics, the fixed-noise snapshots, health warnings."""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from gan_course.errors import TrainingDiverged
from gan_course.settings import TrainConfig
from gan_course.steps import STATS


class HealthWarning(UserWarning):
    """A training run looks unhealthy (see `health_warnings`)."""


def warn_health(message: str) -> None:
    """Warn with `message`, shown at the first line outside the library: the student's own call of `train`,
    `run_config`, ... (Python would otherwise show a line of the library, which says nothing to its reader)."""
    frame, level = sys._getframe(1), 2  # level 2: the caller of warn_health
    while frame is not None and frame.f_globals.get("__name__", "").startswith("gan_course."):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, HealthWarning, stacklevel=level)


@dataclass
class History:
    """Per-step statistics of a run, plus the fixed-noise snapshots and any health warnings."""

    step: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    loss_d: list[float] = field(default_factory=list)
    loss_g: list[float] = field(default_factory=list)
    d_x: list[float] = field(default_factory=list)
    d_g_z1: list[float] = field(default_factory=list)
    d_g_z2: list[float] = field(default_factory=list)
    grad_g: list[float] = field(default_factory=list)  # norm of G's gradient in its (last) step
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)  # (step, (n, 1, 28, 28) in [-1, 1])
    warnings: list[str] = field(default_factory=list)
    interrupted: bool = False
    device: str = ""  # where it trained, e.g. "cpu" or "cuda:0"
    threads: int | None = None  # torch's CPU threads (on the CPU): with the seed, what reproduces the run exactly
    machine: str | None = None  # the last word on the machine's speed, e.g. another program using the CPU

    def read(self, pending: list, config: TrainConfig) -> None:
        """Append the steps in `pending`, [(step, seconds, stats (6,) on the device)], reading the device once; empties it."""
        if not pending:
            return
        rows = torch.stack([stats for _, _, stats in pending]).tolist()
        try:
            for (step, seconds, _), row in zip(pending, rows):
                stats = dict(zip(STATS, row))
                _check_finite(stats, step, config)
                self.append(step, seconds, stats)
        finally:
            pending.clear()

    def append(self, step: int, seconds: float, stats: dict[str, float]) -> None:
        self.step.append(step)
        self.seconds.append(seconds)
        for name in STATS:
            getattr(self, name).append(stats[name])

    def to_dict(self) -> dict:
        """JSON-ready: every list but the snapshot images."""
        return {k: v for k, v in asdict(self).items() if k != "snapshots"} | {
            "snapshot_steps": [s for s, _ in self.snapshots]}


@dataclass
class TrainResult:
    generator: nn.Module
    discriminator: nn.Module
    history: History
    config: TrainConfig
    fixed_noise: torch.Tensor
    ema_generator: nn.Module | None = None  # the running average of G's weights (see `update_ema`)
    fixed_labels: torch.Tensor | None = None  # conditional GAN: the digit asked for each fixed-noise image
    step: int = 0  # steps done: up to date after every step, while `history` is read every `training.READ_EVERY` steps
    seconds: float = 0.0  # training time so far, likewise

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw digits from: the averaged one when the run keeps it, else G itself."""
        return self.ema_generator if self.ema_generator is not None else self.generator


def health_warnings(history: History, window: int = 200) -> list[str]:
    """Messages for the last `window` steps: a discriminator that wins outright, or no progress."""
    if len(history.step) < window:
        return []
    d_x, d_g_z = history.d_x[-window:], history.d_g_z1[-window:]
    found = []
    if max(d_g_z) < 0.05:
        found.append(f"D(G(z)) has stayed below 0.05 for {window} steps: the discriminator rejects every fake and the "
                     "generator gets almost no signal. Usually D learns too fast for G: lower D's learning rate or use "
                     "k > 1 generator steps. If G's learning rate is very high, G may have broken down instead: lower it.")
    if all(abs(v - 0.5) < 0.05 for v in (*d_x, *d_g_z)):
        found.append(f"D(x) and D(G(z)) have both stayed near 0.5 for {window} steps: the discriminator cannot tell "
                     "real from fake. If the samples do not look like digits, the discriminator is too weak.")
    return found


def _check_finite(stats: dict[str, float], step: int, config: TrainConfig) -> None:
    if not all(math.isfinite(stats[name]) for name in ("loss_d", "loss_g")):
        raise TrainingDiverged(
            f"Training diverged at step {step}: loss_d={stats['loss_d']}, loss_g={stats['loss_g']}. "
            f"Lower the learning rates (now G {config.lr_g:g}, D {config.lr_d:g}), e.g. to {min(config.lr_g, config.lr_d) / 10:g}.")


def is_timeline_step(step: int) -> bool:
    """Steps 0 and 10, 20, 50, 100, 200, 500, 1000, ...: log-spaced, because G changes fastest early on."""
    leading = step
    while leading >= 10 and leading % 10 == 0:
        leading //= 10
    return step == 0 or (step >= 10 and leading in (1, 2, 5))


def is_snapshot_step(step: int, every: int) -> bool:
    """A snapshot of the fixed noise is kept on the timeline (`is_timeline_step`) and every `every` steps."""
    return is_timeline_step(step) or step % every == 0
