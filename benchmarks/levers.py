"""Which levers make the course default's digits cleaner sooner? Each lever against the plain default, 3 seeds.

    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/levers.py --seconds 60 --seeds 0,1,2

Every run trains the course default's MLP GAN with plain noise (batch 32, Adam 2e-3, beta1 0.5, EMA; the
islands of course_default(piles=False) are the levers "10-way code in z, ...", the piles of the course
default the levers "piles ...") for the same wall-clock
budget on one torch thread, with one lever changed, and copies the sampled generator at fixed times; afterwards
the digit meter scores 1,000 samples of each copy. Runs go one after the other, seeds interleaved, so that a
noisy machine hurts every lever alike. Prints a table of the median and the range over the seeds.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import time

import torch

from gan_course.batches import shuffled_batches, training_images
from gan_course.losses import make_optimizers
from gan_course.models import ModelConfig, build_models, sample_noise, to_islands
from gan_course.quality import load_meter
from gan_course.sampling import generate, remeasure_batchnorm, update_ema
from gan_course.seeding import seed_everything
from gan_course.steps import train_step

LEVERS = {  # name: changes from the plain default
    "plain": {},
    "lr decay 1/sqrt(1+s/2000)": {"decay": 2000},
    "lr decay 1/sqrt(1+s/500)": {"decay": 500},
    "EMA over last 20% of steps": {"ema_share": 0.2},
    "lr decay 2000 + EMA 20%": {"decay": 2000, "ema_share": 0.2},
    "TTUR: G 1e-3, D 2e-3": {"lr_g": 1e-3},
    "batch 64, lr 2e-3": {"batch": 64},
    "G 256-512-1024": {"g_hidden": (256, 512, 1024)},
    "small conv D (32-32)": {"conv_d": (32, 32)},
    "small conv D (16-32)": {"conv_d": (16, 32)},
    "small conv D 16-32 + lr decay 500": {"conv_d": (16, 32), "decay": 500},
    "small conv D (32-32), D at 5e-4": {"conv_d": (32, 32), "lr_d": 5e-4},
    "DCGAN 28x28 ngf=ndf=32, 1e-3": {"model": "dcgan", "lr_g": 1e-3, "lr_d": 1e-3},
    "DCGAN 28x28 ngf=ndf=16, 2e-3": {"model": "dcgan", "width": 16},
    "batch 64 + TTUR + lr decay 500": {"batch": 64, "lr_g": 1e-3, "decay": 500},
    "spectral norm in D": {"spectral": True},
    "batch 64 + lr decay 500": {"batch": 64, "decay": 500},
    "10-way code in z": {"code": 10},
    "20-way code in z": {"code": 20},
    "10-way code in z, scale 3": {"code": 10, "code_scale": 3.0},
    "10-way code in z, scale 6": {"code": 10, "code_scale": 6.0},
    "20-way code in z, scale 6": {"code": 20, "code_scale": 6.0},
    "InfoGAN 10-way code scale 3, lambda 1": {"code": 10, "code_scale": 3.0, "info": 1.0},
    "islands 10x3 + batch 64": {"code": 10, "code_scale": 3.0, "batch": 64},
    "islands 20x3": {"code": 20, "code_scale": 3.0},
    "islands 10x4": {"code": 10, "code_scale": 4.0},
    "islands 10x3 + lr decay 2000": {"code": 10, "code_scale": 3.0, "decay": 2000},
    "islands 10x3 + TTUR G 1e-3": {"code": 10, "code_scale": 3.0, "lr_g": 1e-3},
    "islands 10x3 + EMA 20%": {"code": 10, "code_scale": 3.0, "ema_share": 0.2},
    "islands 20x3 + batch 64": {"code": 20, "code_scale": 3.0, "batch": 64},
    "islands 10x3 + batch 64 + InfoGAN": {"code": 10, "code_scale": 3.0, "batch": 64, "info": 1.0},
    "islands 10x3 + batch 32 then 64 at step 3000": {"code": 10, "code_scale": 3.0, "batch_steps": {3000: 64}},
    "islands 10x3 + batch 32 then 64 at step 1500": {"code": 10, "code_scale": 3.0, "batch_steps": {1500: 64}},
    "islands 10x3 + batch 32, 64 at 3000, 128 at 12000": {"code": 10, "code_scale": 3.0,
                                                           "batch_steps": {3000: 64, 12000: 128}},
    "islands 10x3 + batch 64, lr 3e-3": {"code": 10, "code_scale": 3.0, "batch": 64, "lr_g": 3e-3, "lr_d": 3e-3},
    "islands 10x3 + one-sided label smoothing 0.9": {"code": 10, "code_scale": 3.0, "smooth": 0.9},
    "islands 10x3 + instance noise 0.1 over 5000 steps": {"code": 10, "code_scale": 3.0, "inst_noise": (0.1, 5000)},
    "islands 10x3 + top-k: G learns from D's best half": {"code": 10, "code_scale": 3.0, "topk": 0.5},
    "islands 10x3 + D 512": {"code": 10, "code_scale": 3.0, "d_hidden": (512,)},
    "islands 10x3 + minibatch std in D": {"code": 10, "code_scale": 3.0, "mbstd": True},
    "islands 10x3 + batch 32 then 64 + translate 2 px (DiffAugment)": {"code": 10, "code_scale": 3.0,
                                                                        "batch_steps": {3000: 64}, "shift": 2},
    "islands 10x3 + batch 32 then 64 + Adam beta2 0.99": {"code": 10, "code_scale": 3.0,
                                                           "batch_steps": {3000: 64}, "betas": (0.5, 0.99)},
    "islands 10x3 + batch 32 then 64 + Adam betas 0, 0.99": {"code": 10, "code_scale": 3.0,
                                                              "batch_steps": {3000: 64}, "betas": (0.0, 0.99)},
    "islands 10x3 + batch 32 then 64 + D dropout 0.3": {"code": 10, "code_scale": 3.0,
                                                         "batch_steps": {3000: 64}, "d_dropout": 0.3},
    "islands 10x3 + batch 32 then 64 + EMA 0.9995": {"code": 10, "code_scale": 3.0,
                                                      "batch_steps": {3000: 64}, "ema": 0.9995},
    "islands 10x3 + batch 32 then 64 + EMA 0.998": {"code": 10, "code_scale": 3.0,
                                                     "batch_steps": {3000: 64}, "ema": 0.998},
    "islands 10x3 + batch 32 then 64 + InfoGAN": {"code": 10, "code_scale": 3.0, "batch_steps": {3000: 64},
                                                   "info": 1.0},
    "islands 10x3 + batch 32 then 64 + D at 1e-3": {"code": 10, "code_scale": 3.0, "batch_steps": {3000: 64},
                                                     "lr_d": 1e-3},
    "islands 10x3 + batch 32 then 64 + lr to 0.1x from step 15000 to 45000": {
        "code": 10, "code_scale": 3.0, "batch_steps": {3000: 64}, "late_decay": (15000, 45000, 0.1)},
    "islands 10x3 + batch 32 then 64 + lr to 0.25x from step 10000 to 30000": {
        "code": 10, "code_scale": 3.0, "batch_steps": {3000: 64}, "late_decay": (10000, 30000, 0.25)},
    "islands 10x3 + batch 32, 64 at 3000, 128 at 12000 + D 512": {
        "code": 10, "code_scale": 3.0, "batch_steps": {3000: 64, 12000: 128}, "d_hidden": (512,)},
    "islands 10x3 + batch 32 then 64 + G 256-512-1024 + D 512": {
        "code": 10, "code_scale": 3.0, "batch_steps": {3000: 64}, "g_hidden": (256, 512, 1024), "d_hidden": (512,)},
    "piles 100 + batch 32 then 64 at step 3000": {"piles": 100, "batch_steps": {3000: 64}},
    "piles 50 + batch 32 then 64 at step 3000 (course_default())": {"piles": 50, "batch_steps": {3000: 64}},
    "piles 50 + batch 32 throughout": {"piles": 50},
    "piles 50 + batch 32 then 64 at step 6000": {"piles": 50, "batch_steps": {6000: 64}},
    "piles 50 + batch 32 then 64 at step 10000": {"piles": 50, "batch_steps": {10000: 64}},
    "piles 50 + batch 32 then 64 + G 256-256": {"piles": 50, "batch_steps": {3000: 64}, "g_hidden": (256, 256)},
    "piles 50 + batch 32 then 64 + G 512-256": {"piles": 50, "batch_steps": {3000: 64}, "g_hidden": (512, 256)},
    "piles 50 + batch 32 then 64 + D 512": {"piles": 50, "batch_steps": {3000: 64}, "d_hidden": (512,)},
    "piles 50 + batch 32 then 64 + EMA 0.9995": {"piles": 50, "batch_steps": {3000: 64}, "ema": 0.9995},
    "piles 50 + batch 32, 64 at 3000, 128 at 12000 + D 512": {"piles": 50, "batch_steps": {3000: 64, 12000: 128},
                                                               "d_hidden": (512,)},
    "piles 50 + batch 32 then 64 + D 512 + G 256-512-1024": {"piles": 50, "batch_steps": {3000: 64}, "d_hidden": (512,),
                                                            "g_hidden": (256, 512, 1024)},
    "piles 50 + batch 32 then 64 + D 512 + EMA 0.9995": {"piles": 50, "batch_steps": {3000: 64}, "d_hidden": (512,),
                                                        "ema": 0.9995},
    "piles 50 + batch 32 then 64 + lr to 0.25x from step 10000 to 30000": {
        "piles": 50, "batch_steps": {3000: 64}, "late_decay": (10000, 30000, 0.25)},
    "InfoGAN 10-way code, lambda 1": {"code": 10, "info": 1.0},
    "InfoGAN 10-way code, lambda 0.3": {"code": 10, "info": 0.3},
}


def info_step(generator, discriminator, q_head, opt_g, opt_d, real, rng, lam):
    """The lecture's step plus InfoGAN's: a head on D's last hidden layer guesses G's code; both learn to make it right."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    body, out = discriminator.net[:-1], discriminator.net[-1]
    z = sample_noise(len(real), generator.latent_dim, rng)
    code = z[:, :generator.ways].argmax(1)
    opt_d.zero_grad(set_to_none=True)
    fake = generator(z)
    h_real, h_fake = body(real.flatten(1)), body(fake.detach().flatten(1))
    real_logits, fake_logits = out(h_real).flatten(), out(h_fake).flatten()
    loss_d = (bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
              + lam * torch.nn.functional.cross_entropy(q_head(h_fake), code))
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    h = body(fake.flatten(1))
    logits = out(h).flatten()
    loss_g = bce(logits, torch.ones_like(logits)) + lam * torch.nn.functional.cross_entropy(q_head(h), code)
    loss_g.backward()
    opt_g.step()


def translate(images, pixels, rng):
    """DiffAugment's translation: each image moved by up to `pixels` in x and y, the gap filled with background
    (-1); differentiable, so G's step sees D through the same augmentation."""
    b, _, h, w = images.shape
    padded = torch.nn.functional.pad(images, (pixels,) * 4, value=-1.0)
    dy = torch.randint(0, 2 * pixels + 1, (b, 1, 1), generator=rng)
    dx = torch.randint(0, 2 * pixels + 1, (b, 1, 1), generator=rng)
    rows = (torch.arange(h).view(1, h, 1) + dy).expand(b, h, w)
    cols = (torch.arange(w).view(1, 1, w) + dx).expand(b, h, w)
    return padded[torch.arange(b).view(b, 1, 1), 0, rows, cols].unsqueeze(1)


def lever_step(generator, discriminator, opt_g, opt_d, real, rng, lever, step):
    """The lecture's step with the issue's D-side levers: one-sided label smoothing (real target < 1),
    instance noise (N(0, sigma) added to every image D sees, sigma falling to 0), top-k (G's loss over only
    the fakes D scores highest), DiffAugment's translation of every image D sees."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    sigma, fade = lever.get("inst_noise", (0.0, 1))
    sigma *= max(0.0, 1 - step / fade)
    if "shift" in lever:
        noisy = lambda x: translate(x, lever["shift"], rng)  # noqa: E731
    else:
        noisy = (lambda x: x + sigma * torch.randn_like(x)) if sigma else (lambda x: x)
    opt_d.zero_grad(set_to_none=True)
    fake = generator(sample_noise(len(real), generator.latent_dim, rng))
    real_logits, fake_logits = discriminator(noisy(real)), discriminator(noisy(fake.detach()))
    loss_d = (bce(real_logits, torch.full_like(real_logits, lever.get("smooth", 1.0)))
              + bce(fake_logits, torch.zeros_like(fake_logits)))
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    logits = discriminator(noisy(fake))
    if "topk" in lever:
        logits = logits.topk(max(1, int(len(logits) * lever["topk"]))).values
    loss_g = bce(logits, torch.ones_like(logits))
    loss_g.backward()
    opt_g.step()


class MinibatchStdD(torch.nn.Module):
    """The MLP D with one more feature before its read-out: how much its hidden features vary across the batch
    (ProGAN's minibatch standard deviation), so D can see a batch of too-similar fakes."""

    def __init__(self, discriminator):
        super().__init__()
        self.body, out = discriminator.net[:-1], discriminator.net[-1]
        self.out = torch.nn.Linear(out.in_features + 1, 1)

    def forward(self, images):
        h = self.body(images.flatten(1))
        spread = h.std(0).mean().expand(len(h), 1)
        return self.out(torch.cat([h, spread], 1)).flatten()


class CodedGenerator(torch.nn.Module):
    """G fed `to_islands(z, ways, scale)`: the library's islands with any count and height (the default: 10 and 3)."""

    def __init__(self, generator, ways=10, scale=1.0):
        super().__init__()
        self.generator, self.ways, self.scale, self.latent_dim = generator, ways, scale, generator.latent_dim

    def forward(self, z):
        return self.generator(to_islands(z.flatten(1), self.ways, self.scale))


class SmallConvD(torch.nn.Module):
    """(B, 1, 28, 28) -> logits (B,): two strided 4x4 convolutions (28 -> 14 -> 7) and a linear read-out."""

    def __init__(self, widths=(32, 32)):
        super().__init__()
        a, b = widths
        self.net = torch.nn.Sequential(torch.nn.Conv2d(1, a, 4, 2, 1), torch.nn.LeakyReLU(0.2),
                                       torch.nn.Conv2d(a, b, 4, 2, 1), torch.nn.LeakyReLU(0.2),
                                       torch.nn.Flatten(), torch.nn.Linear(b * 49, 1))

    def forward(self, images):
        return self.net(images).flatten()


def ema_decay(step: int, share: float | None) -> float:
    if share is None:
        return 0.999
    return 1 - 1 / max(10.0, share * step)


def run(lever: dict, images, seed: int, marks: list[float]):
    rng = seed_everything(seed)
    config = ModelConfig(lever.get("model", "mlp"), g_hidden=lever.get("g_hidden", (256, 512)),
                         d_hidden=lever.get("d_hidden", (256,)),
                         ngf=lever.get("width", 32), ndf=lever.get("width", 32), piles=lever.get("piles", 0))
    generator, discriminator = build_models(config)
    if "code" in lever:
        generator = CodedGenerator(generator, lever["code"], lever.get("code_scale", 1.0))
    if "d_dropout" in lever:  # dropout after each hidden layer of D
        layers = []
        for layer in discriminator.net:
            layers.append(layer)
            if isinstance(layer, torch.nn.LeakyReLU):
                layers.append(torch.nn.Dropout(lever["d_dropout"]))
        discriminator.net = torch.nn.Sequential(*layers)
    if lever.get("mbstd"):
        discriminator = MinibatchStdD(discriminator)
    if "conv_d" in lever:
        discriminator = SmallConvD(lever["conv_d"])
    if lever.get("spectral"):
        for module in discriminator.modules():
            if isinstance(module, torch.nn.Linear):
                torch.nn.utils.parametrizations.spectral_norm(module)
    lr_g, lr_d = lever.get("lr_g", 2e-3), lever.get("lr_d", 2e-3)
    q_head = None
    if "info" in lever:
        q_head = torch.nn.Linear(discriminator.net[-1].in_features, lever["code"])
        discriminator.q_head = q_head  # registered, so D's optimiser trains it too
    opt_g, opt_d = make_optimizers(generator, discriminator, lr_g, lr_d, lever.get("betas", (0.5, 0.999)))
    average = copy.deepcopy(generator).requires_grad_(False)
    batch, decay, share = lever.get("batch", 32), lever.get("decay"), lever.get("ema_share")
    custom = any(name in lever for name in ("smooth", "inst_noise", "topk", "shift"))
    copies, pending, step, start = [], list(marks), 0, time.perf_counter()
    piles = generator.set_piles(images) if "piles" in lever else None  # k-means: inside the timed budget
    while pending:
        for when, size in lever.get("batch_steps", {}).items():  # a batch-size schedule, applied per epoch
            batch = size if step >= when else batch
        for index in shuffled_batches(torch.arange(len(images)), batch, rng):  # the same shuffle as of the images
            real, labels = images[index], None if piles is None else piles[index]
            if decay or "late_decay" in lever:
                scale = 1 / math.sqrt(1 + step / decay) if decay else 1.0
                if "late_decay" in lever:  # lr falls linearly from `first` to `last` step, down to `floor` times
                    first, last, floor = lever["late_decay"]
                    scale *= 1 - (1 - floor) * min(1.0, max(0.0, (step - first) / (last - first)))
                opt_g.param_groups[0]["lr"], opt_d.param_groups[0]["lr"] = lr_g * scale, lr_d * scale
            if custom:
                lever_step(generator, discriminator, opt_g, opt_d, real, rng, lever, step)
            elif q_head is None:
                train_step(generator, discriminator, opt_g, opt_d, real, rng, labels=labels)
            else:
                info_step(generator, discriminator, q_head, opt_g, opt_d, real, rng, lever["info"])
            step += 1
            if share is None:
                update_ema(average, generator, lever.get("ema", 0.999), step)
            else:
                update_ema(average, generator, ema_decay(step, share), step)
            elapsed = time.perf_counter() - start
            while pending and elapsed >= pending[0]:
                copies.append((pending.pop(0), step, copy.deepcopy(average), copy.deepcopy(discriminator)))
            if not pending:
                break
    return copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--marks", default="15,30")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", help="lever names separated by semicolons")
    parser.add_argument("--json", help="write all readings here")
    parser.add_argument("--standing", action="store_true",
                        help="also score the average with its BatchNorm statistics re-measured (remeasure_batchnorm)")
    parser.add_argument("--filter", type=float, help="also score D-filtered samples: the share of fakes D keeps")
    args = parser.parse_args()
    torch.set_num_threads(1)
    images, meter = training_images(), load_meter(verbose=True)
    marks = [float(m) for m in args.marks.split(",") if float(m) < args.seconds] + [args.seconds]
    names = args.only.split(";") if args.only else list(LEVERS)
    z = sample_noise(1000, 64, torch.Generator().manual_seed(123))
    wide = sample_noise(10000, 64, torch.Generator().manual_seed(321))
    readings = {name: [] for name in names}
    for seed in (int(s) for s in args.seeds.split(",")):
        for name in names:
            copies = run(LEVERS[name], images, seed, marks)
            scores = [(t, s, meter.score(generate(g, z))) for t, s, g, _ in copies]
            readings[name].append(scores)
            print(f"seed {seed} {name}: " + ", ".join(f"{t:g}s/{s}: {q.confident:.0%} {q.classes} {q.fd:.0f}"
                                                        for t, s, q in scores), flush=True)
            if args.standing:  # the library's BatchNorm statistics re-measured on the average (train() does this)
                for _, _, g, _ in copies:
                    remeasure_batchnorm(g)
                again = [(t, s, meter.score(generate(g, z))) for t, s, g, _ in copies]
                print(f"seed {seed} {name}, BatchNorm re-measured: " + ", ".join(
                    f"{t:g}s/{s}: {q.confident:.0%} {q.classes} {q.fd:.0f}" for t, s, q in again), flush=True)
            if args.filter:  # D-filtered sampling: of 1000 / share fakes, keep the 1000 D scores highest
                kept = []
                for t, s, g, d in copies:
                    fakes = generate(g, wide[:int(1000 / args.filter)])
                    with torch.no_grad():
                        d.eval()
                        best = d(fakes).topk(1000).indices
                    kept.append((t, s, meter.score(fakes[best])))
                print(f"seed {seed} {name}, D keeps {args.filter:.0%}: " + ", ".join(
                    f"{t:g}s/{s}: {q.confident:.0%} {q.classes} {q.fd:.0f}" for t, s, q in kept), flush=True)
    print("\n| lever | " + " | ".join(f"{m:g} s confident (FD)" for m in marks) + " |")
    print("| --- |" + " ---: |" * len(marks))
    for name in names:
        cells = []
        for i in range(len(marks)):
            conf = [r[i][2].confident for r in readings[name]]
            fd = [r[i][2].fd for r in readings[name]]
            cells.append(f"{statistics.median(conf):.0%} ({min(conf):.0%}-{max(conf):.0%}), FD {statistics.median(fd):.0f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({name: [[(t, s, q.confident, q.classes, q.fd) for t, s, q in r] for r in rs]
                       for name, rs in readings.items()}, f, indent=1)


if __name__ == "__main__":
    main()
