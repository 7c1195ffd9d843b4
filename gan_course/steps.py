"""One training step, as the lecture writes it (notebook 05).

zero D's grads -> D on real -> D on fake (detached) -> step D; then G through the *updated* D -> step G,
k times. Notebook 05 writes the same step out by hand; `gan_course.training.train` runs it over epochs.
"""

from __future__ import annotations

import torch
from torch import nn

from gan_course.errors import CourseError
from gan_course.losses import discriminator_loss, generator_loss, r1_penalty, saturating_generator_loss
from gan_course.models import sample_noise

STATS = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "grad_g")
GENERATOR_LOSSES = {"non-saturating": generator_loss, "saturating": saturating_generator_loss}
R1_EVERY = 4  # the gradient penalty (notebook 07) on every 4th step, 4 times as strong: lazy, as in StyleGAN2


def _run(network: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """network(x), or network(x, labels) for a conditional GAN (notebook 07)."""
    return network(x) if labels is None else network(x, labels)


def r1_weight(gamma: float | None, step: int) -> float:
    """The weight of the gradient penalty `r1_penalty` in step `step` (1, 2, ...) of a run with `TrainConfig.r1`
    = gamma: gamma / 2 times R1_EVERY on every R1_EVERY-th step, 0 on the others (and without a penalty)."""
    return gamma / 2 * R1_EVERY if gamma and step % R1_EVERY == 0 else 0.0


def halve_learning_rates(at: int | None, step: int, *optimizers) -> bool:
    """Before step `step` (1, 2, ...) of a run with `TrainConfig.halve_lr_at` = at: halve each optimizer's
    learning rate if this is the first step after `at`, and say whether it did (never without `at`)."""
    if at is None or step != at + 1:
        return False
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] / 2
    return True


def discriminator_step(generator: nn.Module, discriminator: nn.Module, opt_d, real: torch.Tensor,
                       rng: torch.Generator | None = None, labels: torch.Tensor | None = None, r1: float = 0.0
                       ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One update of D on `real` (B, 1, 28, 28) in [-1, 1] and B fresh fakes; G is not changed.

    labels (B,) digits 0-9, for a conditional GAN only: the real images' digits, also asked of G for the fakes.
    r1 > 0 adds the gradient penalty `r1_penalty` with that weight to D's loss (notebook 07); 0, the lectures' step.

    Returns the fakes (still attached to G's graph, so G's step can reuse them) and 0-d tensors:
    loss_d, d_x = D(x) and d_g_z1 = D(G(z)) before D's update (means over the batch, probabilities).
    """
    opt_d.zero_grad(set_to_none=True)
    if r1:  # R1, notebook 07: the penalty needs D's slope at the real images
        real = real.detach().requires_grad_(True)
    real_logits = _run(discriminator, real, labels)
    fake = _run(generator, sample_noise(len(real), generator.latent_dim, rng, real.device), labels)
    fake_logits = _run(discriminator, fake.detach(), labels)  # detach: this step must not change G
    loss_real, loss_fake = discriminator_loss(real_logits, fake_logits)
    loss_d = loss_real + loss_fake  # one summed loss, one backward: the same gradient as two backward() calls
    penalty = r1_penalty(real_logits, real, r1) if r1 else 0.0
    (loss_d + penalty).backward()
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
                   g_loss: str = "non-saturating", labels: torch.Tensor | None = None, r1: float = 0.0) -> torch.Tensor:
    """`train_step`, but its statistics stay where the networks are: a (6,) tensor in the order of `STATS`.

    Reading a GPU's number on the CPU (`.item()`, `.tolist()`, `float()`) makes the program wait until the
    GPU has finished everything queued; `train` reads these vectors in batches, every `training.READ_EVERY` steps.
    """
    b, fake, stats = real.shape[0], None, {}
    if g_first:
        for _ in range(k):
            stats |= generator_step(generator, discriminator, opt_g, b, rng, loss=g_loss, labels=labels)
    for _ in range(d_steps):
        fake, d_stats = discriminator_step(generator, discriminator, opt_d, real, rng, labels, r1)
        stats |= d_stats
    if not g_first:
        for i in range(k):
            stats |= generator_step(generator, discriminator, opt_g, b, rng, fake if i == 0 else None, g_loss, labels)
    return torch.stack([stats[name] for name in STATS])


def train_step(generator: nn.Module, discriminator: nn.Module, opt_g, opt_d, real: torch.Tensor,
               rng: torch.Generator | None = None, k: int = 1, d_steps: int = 1, g_first: bool = False,
               g_loss: str = "non-saturating", labels: torch.Tensor | None = None, r1: float = 0.0) -> dict[str, float]:
    """`d_steps` discriminator steps then `k` generator steps on a batch `real` (B, 1, 28, 28) in [-1, 1].

    labels (B,) digits 0-9 of `real`, for a conditional GAN only (G is asked for the same digits).
    r1: the weight of the gradient penalty in D's step(s) (`r1_weight`; 0: none).

    The lecture's order (D first, then G through the *updated* D, reusing D's fakes); `g_first=True`
    swaps the two halves. Returns floats: loss_d, loss_g, d_x = D(x), d_g_z1 = D(G(z)) before D's
    (last) step, d_g_z2 = D(G(z)) in G's (last) step, grad_g = the norm of G's gradient there.
    """
    stats = step_on_device(generator, discriminator, opt_g, opt_d, real, rng, k, d_steps, g_first, g_loss, labels, r1)
    return dict(zip(STATS, stats.tolist()))  # one read of the device: the program waits here for the step to finish
