"""A training run's settings, `TrainConfig`, and the course's own, `course_default()`.

Notebook 01 prints the course's settings; notebook 05 trains with them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from gan_course.batches import check_batch_size
from gan_course.errors import CourseError
from gan_course.losses import PAPER_LR, check_learning_rate
from gan_course.models import ModelConfig
from gan_course.steps import GENERATOR_LOSSES

PILES = 50  # course_default(): 100 were no better after 60 s and slower at 15 s (benchmarks/README.md)
TRUNCATION = 0.9  # course_default(): with the projection D, 0.8 cost the 60 s FD its target on 3 seeds (benchmarks/README.md)
R1_GAMMA = 0.3  # course_default(): the gradient penalty's gamma; a lower FD from 30 s on, over 3 seeds (benchmarks/README.md)
HALVE_LR_AT = 15_000  # course_default(): with the projection D, a lower FD after 5 minutes on 3 seeds (benchmarks/README.md)
EMA_DECAY = 0.9998  # course_default(): its average of G grows past 1,000 steps; half a point more confident digits at 5 minutes (benchmarks/README.md)


def check_step(name: str, value, none_means: str) -> None:
    """A setting that names a step: a positive whole number, or None for `none_means`."""
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise CourseError(f"{name} must be a step number (a positive integer) or None ({none_means}); got {value!r}.")


@dataclass
class TrainConfig:
    """A training run: the model, the optimisers' settings and the budget (epochs, steps or seconds)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    batch_size: int = 64
    double_batch_at: int | None = None  # from the first epoch that starts at or after this step, batches twice as big
    halve_lr_at: int | None = None  # after this step, both learning rates are half what they were (once; notebook 07)
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
    r1: float | None = None  # gamma of the gradient penalty on real images (R1, notebook 07); None: none
    threads: int | None = None  # CPU threads for this run; None: `choose_threads` decides when the run starts

    def validate(self, n_images: int) -> None:
        """Raise a `CourseError` for settings that cannot train."""
        check_learning_rate(self.lr_g, "generator learning rate")
        check_learning_rate(self.lr_d, "discriminator learning rate")
        check_batch_size(self.batch_size, n_images)
        check_step("double_batch_at", self.double_batch_at, "one batch size throughout")
        check_step("halve_lr_at", self.halve_lr_at, "the same learning rates throughout")
        if self.double_batch_at is not None and 2 * self.batch_size > n_images:
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
        if self.r1 is not None and (not isinstance(self.r1, (int, float)) or isinstance(self.r1, bool)
                                    or not 0 < self.r1 < math.inf):
            raise CourseError(f"r1 must be a positive number, the penalty's gamma (e.g. 0.3), or None (no penalty); "
                              f"got {self.r1!r}.")

    def batch_size_at(self, step: int) -> int:
        """The batch size of an epoch that starts after `step` steps: doubled once `double_batch_at` is reached."""
        return self.batch_size * (2 if self.double_batch_at is not None and step >= self.double_batch_at else 1)

    def to_dict(self) -> dict:
        return {**asdict(self), "model": self.model.to_dict()}


def steps_for_epochs(config: TrainConfig, n_images: int, epochs: float) -> int:
    """How many steps `epochs` passes over `n_images` take: n_images // batch size per epoch, with the batch
    size of each epoch (`TrainConfig.batch_size_at`); a fraction of an epoch is rounded to whole steps."""
    steps, whole = 0, int(epochs)
    while whole and config.batch_size_at(steps) != config.batch_size_at(math.inf):  # epochs before the doubling
        steps, whole = steps + n_images // config.batch_size_at(steps), whole - 1
    steps += whole * (n_images // config.batch_size_at(steps))
    steps += round((epochs - int(epochs)) * (n_images // config.batch_size_at(steps)))
    return max(1, steps)


def course_default(model: str = "mlp", conditional: bool = False, piles: bool | None = None) -> TrainConfig:
    """The course's default run: chosen with the benchmark (benchmarks/README.md) for digits within a minute on 2 CPU cores.

    The MLP trains at 2e-3, ten times the DCGAN paper's 2e-4: at batch 32 the small MLP GAN stays stable
    there, learns digits in seconds instead of a minute, and the averaged generator (`ema`) smooths the jitter.
    Before the first step it sorts the digits into `PILES` piles of similar ones (k-means, no labels;
    `gan_course.piles`, notebook 07), and G and D are told each image's pile: fewer half-way shapes (D at its
    output too, `projection`: a lower FD from 15 s on). When it
    draws (never in training) G shrinks the noise's style numbers to `TRUNCATION` of their size, the truncation
    trick: steadier strokes for a little less variety (notebook 07). D's step adds the gradient penalty R1 with
    gamma `R1_GAMMA` (`r1`, every 4th step): D stays smooth at the real digits, and G's digits sharpen sooner (notebook 07).
    After 3,000 steps (about 15 s) its batches double to 64 (`double_batch_at`): many quick steps while G is
    far from digits, steadier gradients once it is near them (notebook 05). After `HALVE_LR_AT` steps (about 2
    minutes) both learning rates halve (`halve_lr_at`): smaller steps once the digits are nearly there (notebook 07).
    piles=False: the same run without piles, the penalty or the halving, its noise in 10 islands instead
    (`ModelConfig.islands`, `to_islands`): D judges an image alone, as in the lectures' loop, notebook 06 and the
    training console's default.
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
        if piles is False:  # the lectures' GAN: no penalty either
            return TrainConfig(model=ModelConfig("mlp", islands=10), batch_size=32, double_batch_at=3000, lr_g=2e-3,
                               lr_d=2e-3, seconds=60.0)
        return TrainConfig(model=ModelConfig("mlp", piles=PILES, truncation=TRUNCATION, projection=True), batch_size=32,
                           double_batch_at=3000, lr_g=2e-3, lr_d=2e-3, seconds=60.0, r1=R1_GAMMA, ema=EMA_DECAY,
                           halve_lr_at=HALVE_LR_AT)
    if model == "dcgan":
        return TrainConfig(model=ModelConfig("dcgan"), batch_size=32, lr_g=1e-3, lr_d=1e-3, seconds=60.0)
    raise CourseError(f"Unknown model {model!r}; choose one of mlp, dcgan.")
