"""Drawing from G in eval mode, the running average of G's weights and its own BatchNorm statistics."""

import copy

import pytest
import torch

from gan_course.models import ModelConfig, sample_noise
from gan_course.sampling import generate


def test_generate_uses_eval_mode_and_restores_the_mode(gan, real_batch):
    generator, *_ = gan
    z = sample_noise(8, 64, torch.Generator().manual_seed(0))
    buffers = [b.clone() for b in generator.buffers()]
    images = generate(generator, z)
    assert generator.training
    assert all(torch.equal(b, c) for b, c in zip(generator.buffers(), buffers))  # running stats untouched
    assert torch.allclose(generate(generator, z[:2]), images[:2], atol=1e-6)  # each image depends on its z only
    assert not torch.allclose(generator(z[:2]), generator(z)[:2], atol=1e-4)  # unlike train mode
    generator.eval()
    generate(generator, z)
    assert not generator.training
    assert images.shape == (8, 1, 28, 28) and not images.requires_grad


def test_update_ema_moves_the_average_towards_the_generator_and_copies_batchnorm_statistics():
    from gan_course.models import MLPGenerator
    from gan_course.sampling import update_ema

    torch.manual_seed(0)
    average, generator = MLPGenerator(8, (16, 16)), MLPGenerator(8, (16, 16))
    before = [p.clone() for p in average.parameters()]
    generator.net[3].running_mean.fill_(3.0)  # the BatchNorm after the second linear layer
    update_ema(average, generator, decay=0.999, step=10**6)  # late in training: rate 1 - 0.999
    for old, new, target in zip(before, average.parameters(), generator.parameters()):
        assert torch.allclose(new, 0.999 * old + 0.001 * target, atol=1e-6)
    assert torch.equal(average.net[3].running_mean, generator.net[3].running_mean)
    middle = [p.clone() for p in average.parameters()]
    update_ema(average, generator, decay=0.999, step=0)  # first step: rate 1 - 1/10, far from 0.001
    for old, new, target in zip(middle, average.parameters(), generator.parameters()):
        assert torch.allclose(new, 0.1 * old + 0.9 * target, atol=1e-6)
    middle = [p.clone() for p in average.parameters()]
    update_ema(average, generator, decay=0.999, step=0, warmup=4)  # another warm-up: rate 1 - 1/4
    for old, new, target in zip(middle, average.parameters(), generator.parameters()):
        assert torch.allclose(new, 0.25 * old + 0.75 * target, atol=1e-6)


def test_the_decay_caps_how_many_steps_the_average_covers():
    from gan_course.sampling import ema_rate

    for step in (0, 100, 8_000):  # before the cap: about the last ninth of the steps, whatever the decay
        assert ema_rate(0.999, step) == ema_rate(0.9998, step) == pytest.approx(9 / (10 + step))
    assert 1 / ema_rate(0.999, 36_000) == pytest.approx(1_000)  # capped from step 8,990 on
    assert 1 / ema_rate(0.9998, 36_000) == pytest.approx(36_010 / 9)  # still growing
    assert 1 / ema_rate(0.9998, 10**6) == pytest.approx(5_000)
    assert 1 / ema_rate(0.9998, 6_000, warmup=6) == pytest.approx(6_006 / 5)  # a shorter warm-up: the last fifth
    assert ema_rate(0.9998, 10**6, warmup=6) == ema_rate(0.9998, 10**6)  # the same cap


def _eval_and_batch_outputs(generator, conditional, n=1024):
    """G in eval mode (running statistics) and in train mode (this batch's statistics) on remeasure_batchnorm's
    noise (and digits, for a conditional G)."""
    from gan_course.conditional import cycling_digits

    inputs = [sample_noise(n, generator.latent_dim, torch.Generator().manual_seed(0))]
    inputs += [cycling_digits(n)] if conditional else []
    with torch.no_grad():
        return generator.eval()(*inputs), generator.train()(*inputs)


@pytest.mark.parametrize("conditional", [False, True])
def test_remeasure_batchnorm_gives_the_average_its_own_statistics(conditional):
    from gan_course.conditional import build_conditional_models
    from gan_course.models import MLPGenerator
    from gan_course.sampling import remeasure_batchnorm, update_ema

    torch.manual_seed(0)
    generator = build_conditional_models(ModelConfig())[0] if conditional else MLPGenerator(64, (32, 32), islands=10)
    average = copy.deepcopy(generator)
    with torch.no_grad():  # G moves away from its average and measures its running statistics on its own weights
        for p in generator.parameters():
            p.add_(0.3 * torch.randn_like(p))
        _eval_and_batch_outputs(generator, conditional, n=256)
    update_ema(average, generator, 0.9, step=10**6)  # copies G's running statistics into the average
    global_rng = torch.random.get_rng_state()
    remeasure_batchnorm(average.eval())
    assert torch.equal(torch.random.get_rng_state(), global_rng)  # its noise has its own generator
    assert not average.training  # its mode and momentum are put back
    assert all(m.momentum == 0.1 for m in average.modules() if isinstance(m, torch.nn.BatchNorm1d))
    with_own, on_batch = _eval_and_batch_outputs(average, conditional)  # eval mode now normalises as train mode
    assert torch.allclose(with_own, on_batch, atol=1e-2)
    average.load_state_dict({**average.state_dict(), **{k: v for k, v in generator.state_dict().items()
                                                          if "running" in k}})
    with_g_stats, on_batch = _eval_and_batch_outputs(average, conditional)  # with G's statistics it does not
    assert not torch.allclose(with_g_stats, on_batch, atol=1e-2)


def test_remeasure_batchnorm_leaves_a_network_without_batchnorm_alone():
    from gan_course.models import MLPDiscriminator
    from gan_course.sampling import remeasure_batchnorm

    network = MLPDiscriminator().eval()
    before = copy.deepcopy(network.state_dict())
    remeasure_batchnorm(network)
    assert all(torch.equal(before[k], v) for k, v in network.state_dict().items()) and not network.training
