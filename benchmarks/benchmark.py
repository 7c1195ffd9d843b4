"""Same wall-clock budget, three GANs, one table: how fast does each reach recognisable digits?

    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/benchmark.py --seconds 60

Trains, one after the other on the same machine and data (the course's 10,000 digits):
  1. the course default (gan_course.training.course_default()),
  2. the MLP GAN as commonly taught (G 100-256-512-1024-784, D 784-512-256-1, Adam 2e-4, beta1 0.5, batch 128),
  3. the PyTorch tutorial DCGAN at 64x64 (nz 100, ngf = ndf = 64, batch 128, Adam 2e-4, beta1 0.5).
The generator is copied at fixed times during training; afterwards the digit meter scores 1,000 samples of
each copy (outside the timed budget). "Digits at" is the first checkpoint where the meter is confident on
at least half the samples and sees all 10 classes. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import copy
import platform

import torch
import torch.nn.functional as F
from torch import nn

from gan_course.data import training_images
from gan_course.device import get_device, set_threads
from gan_course.models import ModelConfig, sample_noise
from gan_course.quality import load_meter
from gan_course.seeding import seed_everything
from gan_course.training import TrainConfig, course_default, generate, train


class TutorialGenerator(nn.Module):
    """The PyTorch DCGAN tutorial's generator with nc = 1: z (B, 100) -> (B, 1, 64, 64)."""

    def __init__(self, nz: int = 100, ngf: int = 64):
        super().__init__()
        self.latent_dim = nz
        block = lambda i, o, s, p: [nn.ConvTranspose2d(i, o, 4, s, p, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)]
        self.net = nn.Sequential(*block(nz, ngf * 8, 1, 0), *block(ngf * 8, ngf * 4, 2, 1), *block(ngf * 4, ngf * 2, 2, 1),
                                 *block(ngf * 2, ngf, 2, 1), nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.net(z.reshape(len(z), -1, 1, 1))


class TutorialDiscriminator(nn.Module):
    """The tutorial's discriminator, (B, 1, 64, 64) -> logits (B,); its final Sigmoid lives in the BCE-with-logits loss."""

    def __init__(self, ndf: int = 64):
        super().__init__()
        block = lambda i, o: [nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.2, True)]
        self.net = nn.Sequential(nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True), *block(ndf, ndf * 2),
                                 *block(ndf * 2, ndf * 4), *block(ndf * 4, ndf * 8), nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False))

    def forward(self, images):
        return self.net(images).flatten()


def tutorial_models(device):
    from gan_course.models import dcgan_init

    generator, discriminator = TutorialGenerator().to(device), TutorialDiscriminator().to(device)
    generator.apply(dcgan_init)
    discriminator.apply(dcgan_init)
    return generator, discriminator


def run(name: str, config: TrainConfig, images, device, marks, models=None):
    """Train for max(marks) seconds; return steps, seconds and a copy of the generator at each mark."""
    config.seconds, config.epochs, config.steps, config.snapshot_every, config.n_fixed = max(marks), None, None, 10**9, 2
    copies, pending = [], list(marks)

    def keep(result):
        while pending and result.history.seconds[-1] >= pending[0]:
            copies.append((pending.pop(0), result.history.step[-1], copy.deepcopy(result.sampler).cpu()))

    result = train(config, images, device, rng=seed_everything(0), progress=False, models=models, on_step=keep)
    while pending:  # the last step can end a hair before the budget's mark
        copies.append((pending.pop(0), result.history.step[-1], copy.deepcopy(result.sampler).cpu()))
    return {"name": name, "steps": result.history.step[-1], "seconds": result.history.seconds[-1], "copies": copies}


def score(meter, generator, latent_dim, n=1000):
    z = sample_noise(n, latent_dim, torch.Generator().manual_seed(123))
    fake = torch.cat([generate(generator, chunk) for chunk in z.split(250)])
    if fake.shape[-1] != 28:
        fake = F.interpolate(fake, size=(28, 28), mode="area")
    return meter.score(fake)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--marks", default="10,20,30,45,60,90,120", help="checkpoint times in seconds")
    parser.add_argument("--only", help="comma-separated subset: course,common,tutorial")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = get_device(args.device)
    threads = set_threads() if device.type == "cpu" else None
    marks = [m for m in (float(v) for v in args.marks.split(",")) if m < args.seconds] + [args.seconds]
    images = training_images()
    meter = load_meter(verbose=True)
    common = TrainConfig(model=ModelConfig("mlp", latent_dim=100, g_hidden=(256, 512, 1024), d_hidden=(512, 256)),
                         batch_size=128, lr_g=2e-4, lr_d=2e-4, ema=None)  # as taught: samples from G itself
    images64 = F.interpolate(images, size=(64, 64), mode="bilinear", align_corners=False).clamp(-1, 1)
    plans = {
        "course": ("course default", course_default(), images, None),
        "common": ("MLP GAN as commonly taught", common, images, None),
        "tutorial": ("PyTorch tutorial DCGAN 64x64", TrainConfig(model=ModelConfig("dcgan", latent_dim=100), batch_size=128, ema=None), images64, "tutorial"),
    }
    chosen = args.only.split(",") if args.only else list(plans)
    print(f"machine: {platform.processor() or platform.machine()}, {threads or '-'} CPU threads, device {device}, "
          f"torch {torch.__version__}; budget {args.seconds:g} s each; meter accuracy {meter.accuracy:.3f}")
    rows = []
    for key in chosen:
        name, config, data, special = plans[key]
        models = tutorial_models(device) if special == "tutorial" else None
        outcome = run(name, config, data, device, marks, models)
        readings = [(t, step, score(meter, g, config.model.latent_dim)) for t, step, g in outcome["copies"]]
        rows.append((outcome, readings))
        print(f"  {name}: {outcome['steps']} steps in {outcome['seconds']:.1f} s", flush=True)
    print()
    print("| run | steps | ms/step | confident | classes | FD | digits at (confident >= 50%, 10 classes) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for outcome, readings in rows:
        final = readings[-1][2]
        first = next((f"{t:g} s (step {s})" for t, s, q in readings if q.confident >= 0.5 and q.classes == 10), "not within budget")
        print(f"| {outcome['name']} | {outcome['steps']} | {1000 * outcome['seconds'] / outcome['steps']:.1f} | "
              f"{final.confident:.0%} | {final.classes} | {final.fd:.0f} | {first} |")
    print()
    print("Meter over time (confident / classes / FD):")
    for outcome, readings in rows:
        cells = ", ".join(f"{t:g}s: {q.confident:.0%}/{q.classes}/{q.fd:.0f}" for t, _, q in readings)
        print(f"  {outcome['name']}: {cells}")


if __name__ == "__main__":
    main()
