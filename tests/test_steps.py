"""One training step: who changes when, k and d_steps, G's gradient norm and both generator losses."""

import copy
import math
import re

import pytest
import torch

from gan_course.errors import CourseError
from gan_course.losses import discriminator_loss, make_optimizers, r1_penalty
from gan_course.models import sample_noise
from gan_course.steps import R1_EVERY, generator_step, halve_learning_rates, r1_weight, train_step


class Recording:
    """Wraps an optimizer: counts its steps, can skip them, and records the network's state around them."""

    def __init__(self, optimizer, module, skip_step=False):
        self.optimizer, self.module, self.skip_step = optimizer, module, skip_step
        self.steps, self.grads_at_zero_grad, self.after_step = 0, [], None

    def zero_grad(self, set_to_none=True):
        self.grads_at_zero_grad.append(any(p.grad is not None for p in self.module.parameters()))
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self):
        self.steps += 1
        if not self.skip_step:
            self.optimizer.step()
        self.after_step = params(self.module)


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def same(module, before):
    return all(torch.equal(p, q) for p, q in zip(module.parameters(), before))


def test_discriminator_step_does_not_touch_the_generator(gan, real_batch):
    generator, discriminator, opt_g, opt_d = gan
    g_before, d_before = params(generator), params(discriminator)
    no_g_step = Recording(opt_g, generator, skip_step=True)
    train_step(generator, discriminator, no_g_step, opt_d, real_batch, torch.Generator().manual_seed(0))
    # the fakes were detached: D's backward left no gradient in G (checked just before G's own zero_grad)
    assert no_g_step.grads_at_zero_grad == [False]
    assert same(generator, g_before)
    assert not same(discriminator, d_before)


def test_generator_step_does_not_touch_the_discriminator(gan, real_batch):
    generator, discriminator, opt_g, opt_d = gan
    g_before = params(generator)
    recording_d = Recording(opt_d, discriminator)
    train_step(generator, discriminator, opt_g, recording_d, real_batch, torch.Generator().manual_seed(0))
    assert recording_d.steps == 1
    assert same(discriminator, recording_d.after_step)  # G's step(s) came after D's and left D as it was
    assert not same(generator, g_before)


def test_k_generator_steps_per_discriminator_step(gan, real_batch):
    generator, discriminator, opt_g, opt_d = gan
    counting_g, counting_d = Recording(opt_g, generator), Recording(opt_d, discriminator)
    stats = train_step(generator, discriminator, counting_g, counting_d, real_batch, torch.Generator().manual_seed(0), k=3)
    assert (counting_g.steps, counting_d.steps) == (3, 1)
    assert set(stats) == {"loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "grad_g"}


def test_one_step_lowers_the_discriminators_loss_on_a_fixed_batch(gan, real_batch):
    generator, discriminator, opt_g, opt_d = gan
    with torch.no_grad():
        fake = generator(sample_noise(64, 64, torch.Generator().manual_seed(1)))

    def d_loss():
        with torch.no_grad():
            return float(sum(discriminator_loss(discriminator(real_batch), discriminator(fake))))

    before = d_loss()
    stats = train_step(generator, discriminator, opt_g, opt_d, real_batch, torch.Generator().manual_seed(1))
    assert d_loss() < before
    assert stats["loss_d"] == pytest.approx(before, abs=1e-5)  # the step reported the loss it started from
    assert 0 < stats["d_x"] < 1 and 0 < stats["d_g_z1"] < 1 and 0 < stats["d_g_z2"] < 1


def test_d_steps_per_round_and_generator_first(gan, real_batch):
    generator, discriminator, opt_g, opt_d = gan
    order = []

    class Logged(Recording):
        def step(self):
            order.append(self.name)
            super().step()

    counting_g, counting_d = Logged(opt_g, generator), Logged(opt_d, discriminator)
    counting_g.name, counting_d.name = "G", "D"
    train_step(generator, discriminator, counting_g, counting_d, real_batch, torch.Generator().manual_seed(0), k=2, d_steps=3)
    assert order == ["D", "D", "D", "G", "G"]
    order.clear()
    train_step(generator, discriminator, counting_g, counting_d, real_batch, torch.Generator().manual_seed(0), g_first=True)
    assert order == ["G", "D"]


def test_generator_step_reports_the_norm_of_gs_gradient_and_knows_both_losses(gan):
    generator, discriminator, opt_g, _ = gan
    norms = {}
    for loss in ("non-saturating", "saturating"):
        skipping = Recording(opt_g, generator, skip_step=True)
        stats = generator_step(generator, discriminator, skipping, 64, torch.Generator().manual_seed(0), loss=loss)
        by_hand = torch.cat([p.grad.flatten() for p in generator.parameters()]).norm()
        assert stats["grad_g"].item() == pytest.approx(by_hand.item(), rel=1e-5)
        norms[loss] = stats["grad_g"].item()
    d_g_z = stats["d_g_z2"].item()
    assert stats["loss_g"].item() == pytest.approx(math.log(1 - d_g_z), abs=0.05)  # saturating: log(1 - D(G(z)))
    assert norms["saturating"] != norms["non-saturating"]
    with pytest.raises(CourseError, match=re.escape("generator loss must be one of non-saturating, saturating; got 'wgan'.")):
        generator_step(generator, discriminator, opt_g, 4, loss="wgan")


# --- the gradient penalty on real images (R1, notebook 07) ---------------------------------------------------


def test_r1_penalty_is_the_weighted_mean_squared_slope_of_d_at_the_real_images():
    d = torch.nn.Linear(4, 1)  # a linear D has the same slope, its weight vector, at every image
    real = torch.randn(3, 4, requires_grad=True)
    penalty = r1_penalty(d(real).squeeze(1), real, 0.6)
    assert torch.allclose(penalty, 0.6 * d.weight.pow(2).sum())
    penalty.backward()  # its own gradient reaches D's weights: d/dw of 0.6 |w|^2 is 1.2 w
    assert torch.allclose(d.weight.grad, 1.2 * d.weight)


def test_r1_weight_is_lazy_every_r1_every_steps_and_as_strong_on_average():
    weights = [r1_weight(0.3, step) for step in range(1, 4 * R1_EVERY + 1)]
    assert [w > 0 for w in weights] == [step % R1_EVERY == 0 for step in range(1, 4 * R1_EVERY + 1)]
    assert math.isclose(sum(weights) / len(weights), 0.3 / 2)  # gamma / 2 per step, on average
    assert r1_weight(None, R1_EVERY) == 0.0 and r1_weight(0.0, R1_EVERY) == 0.0


def test_halve_learning_rates_halves_every_group_once_on_the_step_after_at(gan):
    _, _, opt_g, opt_d = gan
    before = [group["lr"] for opt in (opt_g, opt_d) for group in opt.param_groups]
    assert [halve_learning_rates(3, step, opt_g, opt_d) for step in range(1, 7)] == [False, False, False, True, False, False]
    assert [group["lr"] for opt in (opt_g, opt_d) for group in opt.param_groups] == [lr / 2 for lr in before]
    assert not halve_learning_rates(None, 4, opt_g, opt_d)


def test_the_penalty_changes_d_and_only_d_and_is_not_in_the_reported_loss(gan, real_batch):
    generator, discriminator, opt_g, opt_d = gan
    runs = []
    for weight in (0.0, 0.6):
        g, d = copy.deepcopy(generator), copy.deepcopy(discriminator)
        o_g, o_d = make_optimizers(g, d, 2e-3, 2e-3)
        stats = train_step(g, d, o_g, o_d, real_batch, torch.Generator().manual_seed(0), r1=weight)
        runs.append((params(d), stats))
    (d_plain, plain), (d_penalised, penalised) = runs
    assert not all(torch.equal(p, q) for p, q in zip(d_plain, d_penalised))  # D took another step
    assert plain["loss_d"] == penalised["loss_d"] and plain["d_x"] == penalised["d_x"]  # reported: the lectures' loss
    assert not real_batch.requires_grad  # the caller's batch is untouched
