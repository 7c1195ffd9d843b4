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

from gan_course.conditional import ConditionalGenerator, check_labels, cycling_digits
from gan_course.data import check_batch_size, check_images, shuffled_batches
from gan_course.device import SpeedWatch, choose_threads
from gan_course.errors import CourseError, TrainingDiverged
from gan_course.losses import (PAPER_LR, check_learning_rate, discriminator_loss, generator_loss, make_optimizers,
                               saturating_generator_loss)
from gan_course.models import ModelConfig, build_models, sample_noise
from gan_course.piles import nearest_pile

PILES = 50  # course_default(): 100 were no better after 60 s and slower at 15 s (benchmarks/README.md)
TRUNCATION = 0.8  # course_default(): 1 to 3 points more confident digits at every mark, FD within 4 (benchmarks/README.md)
READ_EVERY = 100  # steps between two reads of the statistics from the device (and at every snapshot)
STATS = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "grad_g")
GENERATOR_LOSSES = {"non-saturating": generator_loss, "saturating": saturating_generator_loss}


class HealthWarning(UserWarning):
    """A training run looks unhealthy (see `health_warnings`)."""


def _run(network: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """network(x), or network(x, labels) for a conditional GAN (notebook 07)."""
    return network(x) if labels is None else network(x, labels)


def discriminator_step(generator: nn.Module, discriminator: nn.Module, opt_d, real: torch.Tensor,
                       rng: torch.Generator | None = None, labels: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One update of D on `real` (B, 1, 28, 28) in [-1, 1] and B fresh fakes; G is not changed.

    labels (B,) digits 0-9, for a conditional GAN only: the real images' digits, also asked of G for the fakes.

    Returns the fakes (still attached to G's graph, so G's step can reuse them) and 0-d tensors:
    loss_d, d_x = D(x) and d_g_z1 = D(G(z)) before D's update (means over the batch, probabilities).
    """
    opt_d.zero_grad(set_to_none=True)
    real_logits = _run(discriminator, real, labels)
    fake = _run(generator, sample_noise(len(real), generator.latent_dim, rng, real.device), labels)
    fake_logits = _run(discriminator, fake.detach(), labels)  # detach: this step must not change G
    loss_real, loss_fake = discriminator_loss(real_logits, fake_logits)
    loss_d = loss_real + loss_fake  # one summed loss, one backward: the same gradient as two backward() calls
    loss_d.backward()
    opt_d.step()
    return fake, {"loss_d": loss_d.detach(), "d_x": torch.sigmoid(real_logits.detach()).mean(),
                  "d_g_z1": torch.sigmoid(fake_logits.detach()).mean()}


def generator_step(generator: nn.Module, discriminator: nn.Module, opt_g, n: int, rng: torch.Generator | None = None,
                   fake: torch.Tensor | None = None, loss: str = "non-saturating",
                   labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """One update of G through the current D: `fake` (n, 1, 28, 28), not detached, or n fresh fakes.

    The fakes are scored against the *real* label (`loss="non-saturating"`, the course's) or with the
    original minimax loss (`"saturating"`). D's parameters get gradients but are not stepped.
    labels (n,) digits 0-9, for a conditional GAN only: the digits G was (or is) asked for.
    Returns 0-d tensors: loss_g, d_g_z2 = D(G(z)) as G saw it, grad_g = the norm of G's whole gradient.
    """
    if loss not in GENERATOR_LOSSES:
        raise CourseError(f"generator loss must be one of {', '.join(GENERATOR_LOSSES)}; got {loss!r}.")
    opt_g.zero_grad(set_to_none=True)
    if fake is None:
        fake = _run(generator, sample_noise(n, generator.latent_dim, rng, next(generator.parameters()).device), labels)
    fake_logits = _run(discriminator, fake, labels)
    loss_g = GENERATOR_LOSSES[loss](fake_logits)
    loss_g.backward()
    grad_g = nn.utils.get_total_norm([p.grad for p in generator.parameters() if p.grad is not None])
    opt_g.step()
    return {"loss_g": loss_g.detach(), "d_g_z2": torch.sigmoid(fake_logits.detach()).mean(), "grad_g": grad_g}


def step_on_device(generator: nn.Module, discriminator: nn.Module, opt_g, opt_d, real: torch.Tensor,
                   rng: torch.Generator | None = None, k: int = 1, d_steps: int = 1, g_first: bool = False,
                   g_loss: str = "non-saturating", labels: torch.Tensor | None = None) -> torch.Tensor:
    """`train_step`, but its statistics stay where the networks are: a (6,) tensor in the order of `STATS`.

    Reading a GPU's number on the CPU (`.item()`, `.tolist()`, `float()`) makes the program wait until the
    GPU has finished everything queued; `train` reads these vectors in batches, every `READ_EVERY` steps.
    """
    b, fake, stats = real.shape[0], None, {}
    if g_first:
        for _ in range(k):
            stats |= generator_step(generator, discriminator, opt_g, b, rng, loss=g_loss, labels=labels)
    for _ in range(d_steps):
        fake, d_stats = discriminator_step(generator, discriminator, opt_d, real, rng, labels)
        stats |= d_stats
    if not g_first:
        for i in range(k):
            stats |= generator_step(generator, discriminator, opt_g, b, rng, fake if i == 0 else None, g_loss, labels)
    return torch.stack([stats[name] for name in STATS])


def train_step(generator: nn.Module, discriminator: nn.Module, opt_g, opt_d, real: torch.Tensor,
               rng: torch.Generator | None = None, k: int = 1, d_steps: int = 1, g_first: bool = False,
               g_loss: str = "non-saturating", labels: torch.Tensor | None = None) -> dict[str, float]:
    """`d_steps` discriminator steps then `k` generator steps on a batch `real` (B, 1, 28, 28) in [-1, 1].

    labels (B,) digits 0-9 of `real`, for a conditional GAN only (G is asked for the same digits).

    The lecture's order (D first, then G through the *updated* D, reusing D's fakes); `g_first=True`
    swaps the two halves. Returns floats: loss_d, loss_g, d_x = D(x), d_g_z1 = D(G(z)) before D's
    (last) step, d_g_z2 = D(G(z)) in G's (last) step, grad_g = the norm of G's gradient there.
    """
    stats = step_on_device(generator, discriminator, opt_g, opt_d, real, rng, k, d_steps, g_first, g_loss, labels)
    return dict(zip(STATS, stats.tolist()))  # one read of the device: the program waits here for the step to finish


@dataclass
class TrainConfig:
    """A training run: the model, the optimisers' settings and the budget (epochs, steps or seconds)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    batch_size: int = 64
    double_batch_at: int | None = None  # from the first epoch that starts at or after this step, batches twice as big
    lr_g: float = PAPER_LR  # the plain config's defaults are the textbook's; course_default() has the course's
    lr_d: float = PAPER_LR
    beta1: float = 0.5
    k: int = 1  # generator steps per round
    d_steps: int = 1  # discriminator steps per round, each on the same real batch with fresh fakes
    g_first: bool = False  # True: G's step(s) before D's, instead of the lecture's D first
    g_loss: str = "non-saturating"  # or "saturating", the original minimax loss (notebook 06)
    epochs: float | None = None
    steps: int | None = None
    seconds: float | None = None
    snapshot_every: int = 200  # and at steps 0, 10, 20, 50, 100, 200, 500, ... (see `is_timeline_step`)
    n_fixed: int = 64  # images in the fixed-noise grid
    ema: float | None = 0.999  # decay of the averaged generator we sample from; None: sample G itself
    threads: int | None = None  # CPU threads for this run; None: `choose_threads` decides when the run starts

    def validate(self, n_images: int) -> None:
        """Raise a `CourseError` for settings that cannot train."""
        check_learning_rate(self.lr_g, "generator learning rate")
        check_learning_rate(self.lr_d, "discriminator learning rate")
        check_batch_size(self.batch_size, n_images)
        if self.double_batch_at is not None:
            if not isinstance(self.double_batch_at, int) or isinstance(self.double_batch_at, bool) or self.double_batch_at < 1:
                raise CourseError(f"double_batch_at must be a step number (a positive integer) or None (one batch size "
                                  f"throughout); got {self.double_batch_at!r}.")
            if 2 * self.batch_size > n_images:
                raise CourseError(f"the batch doubles to {2 * self.batch_size} at step {self.double_batch_at}, more than "
                                  f"the data ({n_images} images). Use a batch size of at most {n_images // 2}, or never "
                                  f"double it (double_batch_at=None; --double-batch-at 0 on the command line).")
        if self.epochs is None and self.steps is None and self.seconds is None:
            raise CourseError("Give a training budget: epochs, steps or seconds.")
        for name in ("epochs", "steps", "seconds"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0):
                raise CourseError(f"{name} must be positive; got {value!r}. Try {name}=1.")
        if self.g_loss not in GENERATOR_LOSSES:
            raise CourseError(f"g_loss must be one of {', '.join(GENERATOR_LOSSES)}; got {self.g_loss!r}.")
        for name in ("k", "d_steps", "snapshot_every", "n_fixed"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise CourseError(f"{name} must be a positive integer; got {getattr(self, name)!r}.")
        if not 0 <= self.beta1 < 1:
            raise CourseError(f"beta1 must be in [0, 1); got {self.beta1!r}.")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise CourseError(f"threads must be a positive integer or None (automatic); got {self.threads!r}.")
        if self.ema is not None and not 0 < self.ema < 1:
            raise CourseError(f"ema must be a decay in (0, 1), e.g. 0.999, or None; got {self.ema!r}.")

    def batch_size_at(self, step: int) -> int:
        """The batch size of an epoch that starts after `step` steps: doubled once `double_batch_at` is reached."""
        return self.batch_size * (2 if self.double_batch_at is not None and step >= self.double_batch_at else 1)

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
    step: int = 0  # steps done: up to date after every step, while `history` is read every READ_EVERY steps
    seconds: float = 0.0  # training time so far, likewise

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw digits from: the averaged one when the run keeps it, else G itself."""
        return self.ema_generator if self.ema_generator is not None else self.generator


@torch.no_grad()
def update_ema(average: nn.Module, generator: nn.Module, decay: float, step: int) -> None:
    """average <- decay * average + (1 - decay) * generator, for every weight; BatchNorm statistics are copied
    (`train` measures the average's own with `remeasure_batchnorm` before it draws from it).

    With a high learning rate G's weights jitter from step to step, and so do its digits (speckles, broken
    strokes). The average over roughly the last 1 / (1 - decay) steps keeps what G learnt and irons out the
    jitter; it takes no part in training. Early on the decay is smaller, (1 + step) / (10 + step), so the
    average does not drag G's random start along.
    """
    rate = 1 - min(decay, (1 + step) / (10 + step))
    torch._foreach_lerp_(list(average.parameters()), list(generator.parameters()), rate)  # all weights in one call
    buffers = list(average.buffers())
    if buffers:
        torch._foreach_copy_(buffers, list(generator.buffers()))


@torch.no_grad()
def remeasure_batchnorm(average: nn.Module, n: int = 1024) -> None:
    """Measure the BatchNorm statistics of `average` on its own weights, in place: one pass of n fixed noises.

    `update_ema` averages G's weights but copies G's running means and variances, which were measured on
    G's weights, not on the average's; the average's layers give slightly different numbers. BigGAN's
    "standing statistics" re-measure them for the network that draws. The noise comes from its own seeded
    generator, so training draws the same random numbers with or without this; a network without
    BatchNorm is left as it is. A conditional G is asked for the digits 0-9 in turn.
    """
    norms = [m for m in average.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    device = next(average.parameters()).device
    z = sample_noise(n, average.latent_dim, torch.Generator().manual_seed(0), device)
    labels = cycling_digits(n, device) if isinstance(average, ConditionalGenerator) else None
    momenta, was_training = [m.momentum for m in norms], average.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = 1.0  # running statistics := this one batch's
    average.train()
    try:
        _run(average, z, labels)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        average.train(was_training)


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Images (B, 1, 28, 28) in [-1, 1] from z (and, for a conditional G, labels (B,) digits 0-9), on the CPU.

    Runs G in eval mode on purpose: BatchNorm then uses its running statistics, so an
    image depends only on its own z, not on the other samples in the batch (in train
    mode it would also update the running statistics as a side effect). The previous
    mode is restored afterwards.
    """
    was_training = generator.training
    generator.eval()
    try:
        return _run(generator, z, labels).cpu()
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


def steps_for_epochs(config: TrainConfig, n_images: int, epochs: float) -> int:
    """How many steps `epochs` passes over `n_images` take: n_images // batch size per epoch, with the batch
    size of each epoch (`TrainConfig.batch_size_at`); a fraction of an epoch is rounded to whole steps."""
    steps, whole = 0, int(epochs)
    while whole and config.batch_size_at(steps) != config.batch_size_at(math.inf):  # epochs before the doubling
        steps, whole = steps + n_images // config.batch_size_at(steps), whole - 1
    steps += whole * (n_images // config.batch_size_at(steps))
    steps += round((epochs - int(epochs)) * (n_images // config.batch_size_at(steps)))
    return max(1, steps)


def _budget(config: TrainConfig, n_images: int) -> int | None:
    """Steps allowed by the epochs/steps budget (None: only seconds limit the run)."""
    limits = []
    if config.epochs is not None:
        limits.append(steps_for_epochs(config, n_images, config.epochs))
    if config.steps is not None:
        limits.append(int(config.steps))
    return min(limits) if limits else None


def is_timeline_step(step: int) -> bool:
    """Steps 0 and 10, 20, 50, 100, 200, 500, 1000, ...: log-spaced, because G changes fastest early on."""
    leading = step
    while leading >= 10 and leading % 10 == 0:
        leading //= 10
    return step == 0 or (step >= 10 and leading in (1, 2, 5))


def is_snapshot_step(step: int, every: int) -> bool:
    """A snapshot of the fixed noise is kept on the timeline (`is_timeline_step`) and every `every` steps."""
    return is_timeline_step(step) or step % every == 0


def _epochs(data, config: TrainConfig, rng: torch.Generator | None, device: torch.device, labels=None):
    """(real batch, its labels or None) on `device`, epoch after epoch: shuffled from a tensor (with `labels`,
    shuffled alike), or from a DataLoader of (images, labels); the labels only for a conditional GAN."""
    checked = isinstance(data, torch.Tensor)  # a tensor was checked before training; a loader's first batch is here
    conditional, steps = config.model.conditional, 0
    while True:
        size = config.batch_size_at(steps)  # decided per epoch: one epoch, one batch size
        if isinstance(data, torch.Tensor) and labels is None:
            for real in shuffled_batches(data, size, rng):
                steps += 1
                yield real, None
        elif isinstance(data, torch.Tensor):  # the same shuffle (same random numbers), applied to positions
            for index in shuffled_batches(torch.arange(len(data), device=data.device), size, rng):
                steps += 1
                yield data[index], labels[index]
        else:
            for real, digits in data:
                if not checked:
                    check_images(real)
                    if conditional:
                        check_labels(digits, len(real))
                    checked = True
                yield real.to(device), digits.to(device) if conditional else None


def _check_data(config: TrainConfig, data, size: int, labels=None) -> int:
    """Validate the config and a tensor's images and labels (a DataLoader's are checked as they come); return the image count."""
    if isinstance(data, torch.Tensor):
        check_images(data[:256], size=size)
        n = len(data)
        _check_train_labels(config, labels, n)
    elif labels is not None:
        raise CourseError("labels= goes with a tensor of images; a DataLoader brings its own labels. Drop labels=.")
    else:  # drawing a batch here would move the loader's random state: the run would shuffle differently
        n = len(data.dataset)
        if data.batch_size != config.batch_size:
            raise CourseError(f"the DataLoader's batch size is {data.batch_size} but config.batch_size is "
                              f"{config.batch_size}; make them equal so that epochs count the same steps.")
    config.validate(n)
    budget = _budget(config, n)
    if not isinstance(data, torch.Tensor) and config.model.piles:
        raise CourseError("a GAN with piles sorts its training images into piles before it starts, and a DataLoader "
                          "hands them out one batch at a time. Pass the images as a tensor (training_images()).")
    if not isinstance(data, torch.Tensor) and config.double_batch_at is not None and (
            budget is None or budget > config.double_batch_at):
        raise CourseError(f"this run would double its batch at step {config.double_batch_at}, but a DataLoader's "
                          f"batches keep one size. Pass the images as a tensor (training_images()), stop by step "
                          f"{config.double_batch_at} (steps=...), or set double_batch_at=None.")
    return n


def _check_train_labels(config: TrainConfig, labels, n: int) -> None:
    if config.model.conditional and labels is None:
        raise CourseError(f"a conditional GAN learns from labelled digits: pass labels=, ({n},) digits 0-9, one per image.")
    if config.model.piles and labels is not None:
        raise CourseError("a GAN with piles finds its own labels (the pile of each image); drop labels=, or set "
                          "ModelConfig(piles=0, conditional=True) to train on the digits' labels.")
    if not config.model.conditional and labels is not None:
        raise CourseError("labels were given but config.model.conditional is False: this GAN would ignore them. "
                          "Set ModelConfig(conditional=True), or drop labels=.")
    if labels is not None:
        check_labels(labels, n)


def train(config: TrainConfig, images, device: torch.device | str = "cpu",
          rng: torch.Generator | None = None, callback=None, progress: bool = True,
          models: tuple[nn.Module, nn.Module] | None = None, on_step=None,
          labels: torch.Tensor | None = None) -> TrainResult:
    """Train a GAN until the budget runs out or Ctrl-C.

    images: (N, 1, 28, 28) in [-1, 1], shuffled here with `rng`; or a DataLoader of such batches
    (and labels), used as it is. `rng` also draws the noise (None: torch's global generator).
    `callback(result)` is called after each snapshot (see `is_snapshot_step`) and at the end;
    `on_step(result)`, if given, after every step (keep it cheap; `result.step` and `result.seconds` are
    current, while `result.history` is filled every `READ_EVERY` steps and at each snapshot). Ctrl-C (or
    the notebook's stop button) ends the run early, keeping the history, the last snapshot and usable models.
    A conditional GAN (`config.model.conditional`, notebook 07) also needs `labels` (N,) digits 0-9 with
    a tensor of images; a DataLoader gives its own. Its fixed noise asks for the digits 0-9 in turn.
    """
    n_images = _check_data(config, images, images.shape[-1] if isinstance(images, torch.Tensor) and models else 28,
                           labels)
    device = torch.device(device)
    generator, discriminator = models or build_models(config.model, device)
    data = images.to(device) if isinstance(images, torch.Tensor) else images
    labels = labels.to(device) if labels is not None else None
    sorting = time.perf_counter()  # sorting the digits into piles counts as training time
    if config.model.piles:  # each image's pile: G and D are told it as a conditional GAN is told the digit
        labels = nearest_pile(data, generator.centres) if generator.ready else generator.set_piles(data)
    sorting = time.perf_counter() - sorting
    opt_g, opt_d = make_optimizers(generator, discriminator, config.lr_g, config.lr_d, (config.beta1, 0.999))
    fixed_noise = sample_noise(config.n_fixed, config.model.latent_dim, rng, device)
    fixed_labels = cycling_digits(config.n_fixed, device) if config.model.conditional else None
    average = copy.deepcopy(generator).requires_grad_(False) if config.ema is not None else None
    result = TrainResult(generator, discriminator, History(), config, fixed_noise, average, fixed_labels)
    threads_before = torch.get_num_threads()
    if device.type == "cpu":  # decided once, here, and kept: another count sums in another order (other digits)
        torch.set_num_threads(config.threads or choose_threads()[0])
        result.history.threads = torch.get_num_threads()
    result.history.device = str(device)
    result.history.snapshots.append((0, generate(result.sampler, fixed_noise, fixed_labels)))  # before training
    max_steps, step, start, pending = _budget(config, n_images), 0, time.perf_counter() - sorting, []
    speed = SpeedWatch(device)
    bar = tqdm(total=max_steps, desc=f"training {config.model.model}", unit="step", disable=not progress,
               mininterval=0.5)  # a calmer bar: fewer display messages from a busy kernel
    try:
        for real, digits in _epochs(data, config, rng, device, labels):
            began = time.perf_counter()
            stats = step_on_device(generator, discriminator, opt_g, opt_d, real, rng, config.k, config.d_steps,
                                   config.g_first, config.g_loss, digits)
            step += 1
            if average is not None:
                update_ema(average, generator, config.ema, step)
            elapsed = time.perf_counter() - start
            speed.add(time.perf_counter() - began)
            pending.append((step, elapsed, stats))  # read from the device every READ_EVERY steps, not every step
            result.step, result.seconds = step, elapsed
            bar.update(1)
            if on_step is not None:
                on_step(result)
            done = (max_steps is not None and step >= max_steps) or (config.seconds is not None and elapsed >= config.seconds)
            snapshot = is_snapshot_step(step, config.snapshot_every) or done
            if snapshot or step % READ_EVERY == 0:
                result.history.read(pending, config)
                result.history.machine = speed.note()
            if snapshot:
                _snapshot(result, step, callback, bar)
            if done:
                return result
    except KeyboardInterrupt:
        result.history.interrupted = True
        result.history.read(pending, config)
        if step and result.history.snapshots[-1][0] != step:
            _snapshot(result, step, callback, bar)
    finally:
        bar.close()
        generator.train()
        discriminator.train()
        torch.set_num_threads(threads_before)
    return result


def _snapshot(result: TrainResult, step: int, callback, bar) -> None:
    history = result.history
    if result.ema_generator is not None:
        remeasure_batchnorm(result.ema_generator)  # before anything draws from it
    history.snapshots.append((step, generate(result.sampler, result.fixed_noise, result.fixed_labels)))
    bar.set_postfix(loss_d=f"{history.loss_d[-1]:.2f}", loss_g=f"{history.loss_g[-1]:.2f}",
                    d_x=f"{history.d_x[-1]:.2f}", d_g_z=f"{history.d_g_z1[-1]:.2f}")
    for message in health_warnings(history):
        if message not in history.warnings:
            history.warnings.append(message)
            warnings.warn(message, HealthWarning, stacklevel=3)
    if callback is not None:
        callback(result)


def course_default(model: str = "mlp", conditional: bool = False, piles: bool | None = None) -> TrainConfig:
    """The course's default run: chosen with the benchmark (benchmarks/README.md) for digits within a minute on 2 CPU cores.

    The MLP trains at 2e-3, ten times the DCGAN paper's 2e-4: at batch 32 the small MLP GAN stays stable
    there, learns digits in seconds instead of a minute, and the averaged generator (`ema`) smooths the jitter.
    Before the first step it sorts the digits into `PILES` piles of similar ones (k-means, no labels;
    `gan_course.piles`, notebook 07), and G and D are told each image's pile: fewer half-way shapes. When it
    draws (never in training) G shrinks the noise's style numbers to `TRUNCATION` of their size, the truncation
    trick: steadier strokes for a little less variety (notebook 07).
    After 3,000 steps (about 15 s) its batches double to 64 (`double_batch_at`): many quick steps while G is
    far from digits, steadier gradients once it is near them (notebook 05).
    piles=False: the same run without piles, its noise in 10 islands instead (`ModelConfig.islands`,
    `to_islands`): D judges an image alone, as in the lectures' loop, notebook 06 and the training console's default.
    conditional=True: the conditional MLP GAN of notebook 07, with a 10 x 10 fixed-noise grid (a column per digit).
    """
    if piles and (model != "mlp" or conditional):
        raise CourseError("piles go with the unconditional MLP GAN; use model 'mlp' without conditional.")
    if conditional:
        if model != "mlp":
            raise CourseError(f"the conditional GAN exists as an MLP only; got model {model!r}. Use --model mlp.")
        return TrainConfig(model=ModelConfig("mlp", conditional=True), batch_size=32, lr_g=2e-3, lr_d=2e-3,
                           seconds=120.0, n_fixed=100)
    if model == "mlp":
        told = ModelConfig("mlp", islands=10) if piles is False else ModelConfig("mlp", piles=PILES, truncation=TRUNCATION)
        return TrainConfig(model=told, batch_size=32, double_batch_at=3000, lr_g=2e-3, lr_d=2e-3, seconds=60.0)
    if model == "dcgan":
        return TrainConfig(model=ModelConfig("dcgan"), batch_size=32, lr_g=1e-3, lr_d=1e-3, seconds=60.0)
    raise CourseError(f"Unknown model {model!r}; choose one of mlp, dcgan.")
