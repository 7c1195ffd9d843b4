"""Binary cross-entropy, the two players' losses and their optimizers (notebook 04).

The discriminator D outputs a logit; D(x) = sigmoid(logit) is its belief that x is real.
    D maximises  log D(x) + log(1 - D(G(z)))   -> BCE with targets real = 1, fake = 0
    G minimises  -log D(G(z))                   -> BCE of D(G(z)) against the *real* label
The second line is the non-saturating generator loss: log(1 - D(G(z))) has almost no
gradient when D confidently rejects fakes, which is exactly where G starts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gan_course.errors import CourseError

REAL, FAKE = 1.0, 0.0
PAPER_LR = 2e-4  # the DCGAN paper's learning rate: the textbook choice, and make_optimizers' default
# The one sentence every message about learning rates uses (the course's own rate is in settings.course_default).
LR_ADVICE = "GANs usually train with 1e-4 to 2e-3: the DCGAN paper uses 2e-4, the course's MLP default 2e-3."


def bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of raw scores against 0/1 targets: -[t log s + (1-t) log(1-s)], s = sigmoid."""
    return F.binary_cross_entropy_with_logits(logits, targets)


def targets_like(logits: torch.Tensor, value: float) -> torch.Tensor:
    """A target tensor shaped like `logits`, filled with REAL (1) or FAKE (0)."""
    return torch.full_like(logits, value)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss on real, loss on fake): real images should score 1, generated ones 0. D's loss is their sum."""
    return bce(real_logits, targets_like(real_logits, REAL)), bce(fake_logits, targets_like(fake_logits, FAKE))


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating loss -log D(G(z)): the fakes scored against the *real* label."""
    return bce(fake_logits, targets_like(fake_logits, REAL))


def saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The original minimax loss log(1 - D(G(z))), for comparison only: it stalls early in training."""
    return -bce(fake_logits, targets_like(fake_logits, FAKE))


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor, weight: float) -> torch.Tensor:
    """R1, a gradient penalty on the real images (Mescheder and others, 2018; notebook 07): weight (gamma / 2)
    times the mean over the batch of |dD(x)/dx|^2, the squared slope of D's score at each real image.

    A D that is steep at the real digits is too sure of them: it turns on a pixel's worth of change, and
    its gradients send G jumping. Penalising the slope keeps D smooth where the real digits are.
    `real` must require gradients and `real_logits` come from it; the result is added to D's loss.
    """
    (slope,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)  # a graph: the penalty's own gradient reaches D
    return weight * slope.pow(2).flatten(1).sum(1).mean()


def make_optimizers(generator: nn.Module, discriminator: nn.Module, lr_g: float = PAPER_LR, lr_d: float = PAPER_LR,
                    betas: tuple[float, float] = (0.5, 0.999)) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """One Adam per network, each over that network's parameters only: (opt_g, opt_d).

    `fused=True` updates all of a network's weights in one pass instead of a loop of small operations per
    weight: the same rule, about a quarter more steps per second for the course's MLP on a CPU (benchmarks/).
    """
    for name, lr in (("generator learning rate", lr_g), ("discriminator learning rate", lr_d)):
        check_learning_rate(lr, name)
    fused = next(generator.parameters()).device.type in ("cpu", "cuda")  # where torch has the fused Adam
    return (torch.optim.Adam(generator.parameters(), lr=lr_g, betas=betas, fused=fused),
            torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=betas, fused=fused))


def check_learning_rate(lr: float, name: str = "learning rate") -> None:
    """Raise a `CourseError` unless 0 < lr <= 1 (see `LR_ADVICE` for the usual range)."""
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not 0 < lr <= 1 or lr != lr:
        raise CourseError(f"{name} must be a number in (0, 1]; got {lr!r}. {LR_ADVICE}")
