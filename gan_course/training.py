"""The training step and the training run (notebook 05).

One step, as in the lecture: zero D's grads -> D on real -> D on fake (detached) ->
step D; then G through the *updated* D -> step G, k times.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from gan_course.data import check_batch_size, check_images, shuffled_batches
from gan_course.errors import CourseError, TrainingDiverged
from gan_course.losses import check_learning_rate, discriminator_loss, generator_loss, make_optimizers
from gan_course.models import ModelConfig, build_models, sample_noise

STATS = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")


class HealthWarning(UserWarning):
    """A training run looks unhealthy (see `health_warnings`)."""


def train_step(generator: nn.Module, discriminator: nn.Module, opt_g, opt_d, real: torch.Tensor,
               rng: torch.Generator | None = None, k: int = 1) -> dict[str, float]:
    """One discriminator step then `k` generator steps on a batch `real` (B, 1, 28, 28) in [-1, 1].

    Returns loss_d, loss_g, d_x = D(x), d_g_z1 = D(G(z)) before D's step and
    d_g_z2 = D(G(z)) after it (means over the batch; D(.) is a probability).
    """
    b = real.shape[0]
    # (1) discriminator: real images towards 1, fakes towards 0
    opt_d.zero_grad(set_to_none=True)
    real_logits = discriminator(real)
    fake = generator(sample_noise(b, generator.latent_dim, rng, real.device))
    fake_logits = discriminator(fake.detach())  # detach: this step must not change G
    loss_real, loss_fake = discriminator_loss(real_logits, fake_logits)
    loss_d = loss_real + loss_fake
    loss_d.backward()
    opt_d.step()
    # (2) generator, through the updated D, scored against the *real* label
    for i in range(k):
        opt_g.zero_grad(set_to_none=True)
        if i > 0:
            fake = generator(sample_noise(b, generator.latent_dim, rng, real.device))
        fake_logits_after = discriminator(fake)
        loss_g = generator_loss(fake_logits_after)
        loss_g.backward()
        opt_g.step()
    values = torch.stack([loss_d.detach(), loss_g.detach(), torch.sigmoid(real_logits.detach()).mean(),
                          torch.sigmoid(fake_logits.detach()).mean(), torch.sigmoid(fake_logits_after.detach()).mean()])
    return dict(zip(STATS, values.tolist()))


@dataclass
class TrainConfig:
    """A training run: the model, the optimisers' settings and the budget (epochs, steps or seconds)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    k: int = 1  # generator steps per discriminator step
    epochs: float | None = None
    steps: int | None = None
    seconds: float | None = None
    snapshot_every: int = 200
    n_fixed: int = 64  # images in the fixed-noise grid
    ema: float | None = 0.999  # decay of the averaged generator we sample from; None: sample G itself

    def validate(self, n_images: int) -> None:
        """Raise a `CourseError` for settings that cannot train."""
        check_learning_rate(self.lr_g, "generator learning rate")
        check_learning_rate(self.lr_d, "discriminator learning rate")
        check_batch_size(self.batch_size, n_images)
        if self.epochs is None and self.steps is None and self.seconds is None:
            raise CourseError("Give a training budget: epochs, steps or seconds.")
        for name in ("epochs", "steps", "seconds"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0):
                raise CourseError(f"{name} must be positive; got {value!r}. Try {name}=1.")
        for name in ("k", "snapshot_every", "n_fixed"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise CourseError(f"{name} must be a positive integer; got {getattr(self, name)!r}.")
        if not 0 <= self.beta1 < 1:
            raise CourseError(f"beta1 must be in [0, 1); got {self.beta1!r}.")
        if self.ema is not None and not 0 < self.ema < 1:
            raise CourseError(f"ema must be a decay in (0, 1), e.g. 0.999, or None; got {self.ema!r}.")

    def to_dict(self) -> dict:
        return {**asdict(self), "model": self.model.to_dict()}


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
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)  # (step, (n, 1, 28, 28) in [-1, 1])
    warnings: list[str] = field(default_factory=list)
    interrupted: bool = False

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

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw digits from: the averaged one when the run keeps it, else G itself."""
        return self.ema_generator if self.ema_generator is not None else self.generator


@torch.no_grad()
def update_ema(average: nn.Module, generator: nn.Module, decay: float, step: int) -> None:
    """average <- decay * average + (1 - decay) * generator, for every weight; BatchNorm statistics are copied.

    With a high learning rate G's weights jitter from step to step, and so do its digits (speckles, broken
    strokes). The average over roughly the last 1 / (1 - decay) steps keeps what G learnt and irons out the
    jitter; it takes no part in training. Early on the decay is smaller, (1 + step) / (10 + step), so the
    average does not drag G's random start along.
    """
    rate = 1 - min(decay, (1 + step) / (10 + step))
    for averaged, current in zip(average.parameters(), generator.parameters()):
        averaged.lerp_(current, rate)
    for averaged, current in zip(average.buffers(), generator.buffers()):
        averaged.copy_(current)


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Images (B, 1, 28, 28) in [-1, 1] from z, on the CPU.

    Runs G in eval mode on purpose: BatchNorm then uses its running statistics, so an
    image depends only on its own z, not on the other samples in the batch (in train
    mode it would also update the running statistics as a side effect). The previous
    mode is restored afterwards.
    """
    was_training = generator.training
    generator.eval()
    try:
        return generator(z).cpu()
    finally:
        generator.train(was_training)


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


def _budget(config: TrainConfig, n_images: int) -> int | None:
    """Steps allowed by the epochs/steps budget (None: only seconds limit the run)."""
    limits = []
    if config.epochs is not None:
        limits.append(max(1, round(config.epochs * (n_images // config.batch_size))))
    if config.steps is not None:
        limits.append(int(config.steps))
    return min(limits) if limits else None


def train(config: TrainConfig, images: torch.Tensor, device: torch.device | str = "cpu",
          rng: torch.Generator | None = None, callback=None, progress: bool = True,
          models: tuple[nn.Module, nn.Module] | None = None, on_step=None) -> TrainResult:
    """Train a GAN on `images` (N, 1, 28, 28) in [-1, 1] until the budget runs out or Ctrl-C.

    `callback(result)` is called after each snapshot (every `snapshot_every` steps) and
    at the end; `on_step(result)`, if given, after every step (keep it cheap). Ctrl-C (or
    the notebook's stop button) ends the run early, keeping the history, the last snapshot
    and usable models.
    """
    check_images(images[:256], size=images.shape[-1] if models else 28)  # own models may use other sizes
    config.validate(len(images))
    device = torch.device(device)
    generator, discriminator = models or build_models(config.model, device)
    opt_g, opt_d = make_optimizers(generator, discriminator, config.lr_g, config.lr_d, (config.beta1, 0.999))
    fixed_noise = sample_noise(config.n_fixed, config.model.latent_dim, rng, device)
    average = copy.deepcopy(generator).requires_grad_(False) if config.ema is not None else None
    result = TrainResult(generator, discriminator, History(), config, fixed_noise, average)
    data, max_steps, step, start = images.to(device), _budget(config, len(images)), 0, time.perf_counter()
    bar = tqdm(total=max_steps, desc=f"training {config.model.model}", unit="step", disable=not progress)
    try:
        while max_steps is None or step < max_steps:
            for real in shuffled_batches(data, config.batch_size, rng):
                stats = train_step(generator, discriminator, opt_g, opt_d, real, rng, config.k)
                step += 1
                if average is not None:
                    update_ema(average, generator, config.ema, step)
                elapsed = time.perf_counter() - start
                _check_finite(stats, step, config)
                result.history.append(step, elapsed, stats)
                bar.update(1)
                if on_step is not None:
                    on_step(result)
                done = (max_steps is not None and step >= max_steps) or (config.seconds is not None and elapsed >= config.seconds)
                if step % config.snapshot_every == 0 or done:
                    _snapshot(result, step, callback, bar)
                if done:
                    return result
    except KeyboardInterrupt:
        result.history.interrupted = True
        if step and (not result.history.snapshots or result.history.snapshots[-1][0] != step):
            _snapshot(result, step, callback, bar)
    finally:
        bar.close()
        generator.train()
        discriminator.train()
    return result


def _snapshot(result: TrainResult, step: int, callback, bar) -> None:
    history = result.history
    history.snapshots.append((step, generate(result.sampler, result.fixed_noise)))
    bar.set_postfix(loss_d=f"{history.loss_d[-1]:.2f}", loss_g=f"{history.loss_g[-1]:.2f}",
                    d_x=f"{history.d_x[-1]:.2f}", d_g_z=f"{history.d_g_z1[-1]:.2f}")
    for message in health_warnings(history):
        if message not in history.warnings:
            history.warnings.append(message)
            warnings.warn(message, HealthWarning, stacklevel=3)
    if callback is not None:
        callback(result)


def course_default(model: str = "mlp") -> TrainConfig:
    """The course's default run: chosen with the benchmark (benchmarks/README.md) for digits within a minute on 2 CPU cores."""
    if model == "mlp":
        return TrainConfig(model=ModelConfig("mlp"), batch_size=32, lr_g=2e-3, lr_d=2e-3, seconds=60.0)
    if model == "dcgan":
        return TrainConfig(model=ModelConfig("dcgan"), batch_size=32, lr_g=1e-3, lr_d=1e-3, seconds=60.0)
    raise CourseError(f"Unknown model {model!r}; choose one of mlp, dcgan.")
