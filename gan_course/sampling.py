"""Drawing digits from G, and the running average of G's weights that the course draws from (notebook 05)."""

from __future__ import annotations

import torch
from torch import nn

from gan_course.conditional import ConditionalGenerator, cycling_digits
from gan_course.models import sample_noise
from gan_course.steps import _run


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


def ema_rate(decay: float, step: int, warmup: int = 10) -> float:
    """How far `update_ema` moves the average towards G after `step`: 1 - the decay used then.

    Early on the decay is smaller, (1 + step) / (warmup + step): with the default 10 the average covers roughly
    the last ninth of the steps (1 / rate; warmup 6: the last fifth), so it does not drag G's random start
    along. `decay` caps it: at 0.999 the average stops growing at 1,000 steps (from step 8,990 on), at 0.9998
    at 5,000 (from step 44,990 on).
    """
    return 1 - min(decay, (1 + step) / (warmup + step))


@torch.no_grad()
def update_ema(average: nn.Module, generator: nn.Module, decay: float, step: int, warmup: int = 10) -> None:
    """average <- decay * average + (1 - decay) * generator, for every weight; BatchNorm statistics are copied
    (`train` measures the average's own with `remeasure_batchnorm` before it draws from it).

    With a high learning rate G's weights jitter from step to step, and so do its digits (speckles, broken
    strokes). The average over roughly the last 1 / (1 - decay) steps keeps what G learnt and irons out the
    jitter; it takes no part in training. Early on it covers fewer steps (`ema_rate`).
    """
    rate = ema_rate(decay, step, warmup)
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
