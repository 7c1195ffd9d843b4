"""BCE against references, the players' targets, the non-saturating gradient, one optimizer per network."""

import math
import re

import pytest
import torch
import torch.nn.functional as F

from gan_course.errors import CourseError
from gan_course.losses import (bce, discriminator_loss, generator_loss, make_optimizers, saturating_generator_loss)
from gan_course.models import ModelConfig, build_models


def test_bce_matches_pytorch_on_probabilities_and_the_formula_by_hand():
    logits = torch.tensor([-3.0, -0.5, 0.0, 0.7, 4.0])
    targets = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
    ours = bce(logits, targets)
    assert torch.allclose(ours, F.binary_cross_entropy(torch.sigmoid(logits), targets), atol=1e-6)
    by_hand = 0.0
    for z, t in zip(logits.tolist(), targets.tolist()):
        s = 1 / (1 + math.exp(-z))
        by_hand -= t * math.log(s) + (1 - t) * math.log(1 - s)
    assert float(ours) == pytest.approx(by_hand / len(logits), abs=1e-6)


def test_bce_stays_finite_for_confident_logits():
    assert torch.isfinite(bce(torch.tensor([200.0, -200.0]), torch.tensor([0.0, 1.0])))


def test_discriminator_loss_scores_real_against_one_and_fake_against_zero():
    real, fake = torch.randn(8), torch.randn(8)
    loss_real, loss_fake = discriminator_loss(real, fake)
    assert torch.allclose(loss_real, -torch.log(torch.sigmoid(real)).mean(), atol=1e-6)
    assert torch.allclose(loss_fake, -torch.log(1 - torch.sigmoid(fake)).mean(), atol=1e-5)
    confident_right = discriminator_loss(torch.full((8,), 10.0), torch.full((8,), -10.0))
    confident_wrong = discriminator_loss(torch.full((8,), -10.0), torch.full((8,), 10.0))
    assert all(float(v) < 1e-4 for v in confident_right)
    assert all(float(v) > 9 for v in confident_wrong)


def test_generator_loss_scores_fakes_against_the_real_label():
    fake = torch.randn(8)
    assert torch.allclose(generator_loss(fake), -torch.log(torch.sigmoid(fake)).mean(), atol=1e-6)
    assert torch.allclose(generator_loss(fake), discriminator_loss(fake, fake)[0])
    assert torch.allclose(saturating_generator_loss(fake), torch.log(1 - torch.sigmoid(fake)).mean(), atol=1e-5)


def test_non_saturating_loss_has_a_much_larger_gradient_where_d_rejects_fakes():
    logits = torch.full((16,), -8.0, requires_grad=True)  # D(G(z)) = sigmoid(-8) ~ 0.0003
    (grad_ns,) = torch.autograd.grad(generator_loss(logits), logits)
    (grad_sat,) = torch.autograd.grad(saturating_generator_loss(logits), logits)
    assert (grad_ns < 0).all() and (grad_sat < 0).all()  # both push the logits up, towards "real"
    assert grad_ns.abs().sum() > 1000 * grad_sat.abs().sum()


def test_non_saturating_loss_gives_the_generator_a_larger_gradient():
    torch.manual_seed(0)
    generator, discriminator = build_models(ModelConfig())
    with torch.no_grad():
        discriminator.net[-1].bias.fill_(-10.0)  # a discriminator that confidently rejects everything
    z = torch.randn(32, 64)

    def grad_norm(loss_fn):
        generator.zero_grad()
        loss_fn(discriminator(generator(z))).backward()
        return torch.sqrt(sum(p.grad.square().sum() for p in generator.parameters()))

    with torch.no_grad():
        assert float(torch.sigmoid(discriminator(generator(z))).max()) < 0.01
    assert grad_norm(generator_loss) > 100 * grad_norm(saturating_generator_loss)


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def unchanged(module, before):
    return all(torch.equal(p, q) for p, q in zip(module.parameters(), before))


def test_each_optimizer_steps_only_its_own_network():
    torch.manual_seed(0)
    generator, discriminator = build_models(ModelConfig())
    opt_g, opt_d = make_optimizers(generator, discriminator)
    z = torch.randn(16, 64)

    g_before, d_before = params(generator), params(discriminator)
    generator_loss(discriminator(generator(z))).backward()  # gradients reach both networks
    assert all(p.grad is not None for p in discriminator.parameters())
    opt_g.step()
    assert not unchanged(generator, g_before) and unchanged(discriminator, d_before)

    opt_g.zero_grad(), opt_d.zero_grad()
    g_before = params(generator)
    sum(discriminator_loss(discriminator(generator(z)), discriminator(generator(z)))).backward()
    opt_d.step()
    assert unchanged(generator, g_before) and not unchanged(discriminator, d_before)


def test_optimizers_are_adam_with_the_given_settings():
    generator, discriminator = build_models(ModelConfig())
    opt_g, opt_d = make_optimizers(generator, discriminator, lr_g=1e-3, lr_d=5e-4, betas=(0.5, 0.99))
    assert isinstance(opt_g, torch.optim.Adam)
    assert opt_g.param_groups[0]["lr"] == 1e-3 and opt_d.param_groups[0]["lr"] == 5e-4
    assert opt_d.param_groups[0]["betas"] == (0.5, 0.99)
    assert opt_g.defaults["fused"] and opt_d.defaults["fused"]  # one pass over all weights (benchmarks/README.md)


@pytest.mark.parametrize("lr", [0, -1e-4, float("nan"), 2.0, True, "1e-3"])
@pytest.mark.parametrize("which", ["generator", "discriminator"])
def test_bad_learning_rates_are_course_errors(lr, which):
    generator, discriminator = build_models(ModelConfig())
    kwargs = {"lr_g": lr} if which == "generator" else {"lr_d": lr}
    message = f"{which} learning rate must be a number in (0, 1]; got {lr!r}. GANs usually train with 1e-4 to 2e-3: the DCGAN paper uses 2e-4, the course's MLP default 2e-3."
    with pytest.raises(CourseError, match=re.escape(message)):
        make_optimizers(generator, discriminator, **kwargs)
