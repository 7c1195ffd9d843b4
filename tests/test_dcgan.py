"""DCGAN (gan_course.dcgan): the paper's initialisation, N(0, 0.02). Shapes and errors: test_models, for both pairs."""

import torch
from torch import nn

from gan_course.dcgan import dcgan_init
from gan_course.models import ModelConfig, build_models


@torch.no_grad()
def test_dcgan_init_gives_the_papers_weights():
    torch.manual_seed(0)
    generator, discriminator = build_models(ModelConfig("dcgan"))
    convs = [m.weight.flatten() for net in (generator, discriminator) for m in net.modules()
             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    norms = [m for net in (generator, discriminator) for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    conv = torch.cat(convs)
    assert abs(float(conv.std()) - 0.02) < 0.001 and abs(float(conv.mean())) < 0.001
    bn = torch.cat([m.weight for m in norms])
    assert abs(float(bn.mean()) - 1) < 0.01 and 0.01 < float(bn.std()) < 0.03
    assert all(torch.equal(m.bias, torch.zeros_like(m.bias)) for m in norms)


@torch.no_grad()
def test_dcgan_init_applies_to_a_module_tree():
    net = nn.Sequential(nn.Conv2d(1, 64, 3), nn.BatchNorm1d(64), nn.Linear(3, 3))
    linear_before = net[2].weight.clone()
    net.apply(dcgan_init)
    assert abs(float(net[0].weight.std()) - 0.02) < 0.003
    assert abs(float(net[1].weight.mean()) - 1) < 0.01
    assert torch.equal(net[2].weight, linear_before)  # only conv and BatchNorm layers are touched
