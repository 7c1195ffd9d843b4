"""Where does a training step of the course default spend its time? torch's profiler on the library's own step.

    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/step_profile.py --batch 64 --steps 200

Builds the course default (50 piles, sorted first, outside the measurement) and runs `step_on_device` and
`update_ema` as `train` runs them, on one torch thread, on random batches of the course's digits. After
--warm steps it times --steps steps, then profiles as many and prints the operations with the most time
of their own. Then it times the step's matrix products alone, with their inner size equal to the batch:
the weight gradients (the batch is their inner size) against the forward products of the same arithmetic.
--compare instead times two changes to the step against the library's, in blocks of 400 steps, one block of
each in turn (--blocks pairs): D left out of G's backward pass ("frozen"), D on the real batch and the fakes
in one call ("together"), both, the library's step on G and D
compiled by `torch.compile` ("compiled"; the time its first steps take to compile is printed), or the library's
step with the gradient penalty R1 at --gamma ("r1", on every `R1_EVERY`-th step as `train` applies it; the
library's step it is compared with has none), or the library's step on half the batch ("half": how much dearer
the default's batches of 64 are than its first 32), or the library's step with a D told the pile once, beside
the pixels only ("once": the default's D without its projection). Run it on an otherwise idle machine; benchmarks/README.md says what it showed.
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import replace

import torch
from torch.profiler import ProfilerActivity, profile

from gan_course.batches import training_images
from gan_course.losses import discriminator_loss, generator_loss, make_optimizers
from gan_course.models import build_models, sample_noise
from gan_course.sampling import update_ema
from gan_course.seeding import seed_everything
from gan_course.settings import course_default
from gan_course.steps import STATS, discriminator_step, r1_weight, step_on_device

CHANGES = ("frozen", "together", "both", "compiled", "r1", "half", "once")


def gflops(a: torch.Tensor, b: torch.Tensor, repeats: int = 300) -> tuple[float, float]:
    """(microseconds per a @ b, GFLOP/s), after 20 untimed products."""
    for _ in range(20):
        a @ b
    began = time.perf_counter()
    for _ in range(repeats):
        a @ b
    seconds = (time.perf_counter() - began) / repeats
    return seconds * 1e6, 2 * a.shape[0] * a.shape[1] * b.shape[1] / seconds / 1e9


def changed_step(g, d, opt_g, opt_d, real, piles, rng, change: str) -> torch.Tensor:
    """The library's step (`step_on_device`, k = 1) with one or both changes; the same statistics, as a (6,) tensor."""
    n = len(real)
    if change in ("together", "both"):  # one call of D on real and fake: one product of 2n rows per layer
        opt_d.zero_grad(set_to_none=True)
        fake = g(sample_noise(n, g.latent_dim, rng), piles)
        logits = d(torch.cat([real, fake.detach()]), torch.cat([piles, piles]))
        loss_d = sum(discriminator_loss(logits[:n], logits[n:]))
        loss_d.backward()
        opt_d.step()
        stats = {"loss_d": loss_d.detach(), "d_x": torch.sigmoid(logits[:n].detach()).mean(),
                 "d_g_z1": torch.sigmoid(logits[n:].detach()).mean()}
    else:
        fake, stats = discriminator_step(g, d, opt_d, real, rng, piles)
    opt_g.zero_grad(set_to_none=True)
    frozen = change in ("frozen", "both")
    d.requires_grad_(not frozen)  # frozen: G's backward pass computes no gradients for D's weights
    fake_logits = d(fake, piles)
    loss_g = generator_loss(fake_logits)
    loss_g.backward()
    d.requires_grad_(True)
    grad_g = torch.nn.utils.get_total_norm([p.grad for p in g.parameters() if p.grad is not None])
    opt_g.step()
    stats |= {"loss_g": loss_g.detach(), "d_g_z2": torch.sigmoid(fake_logits.detach()).mean(), "grad_g": grad_g}
    return torch.stack([stats[name] for name in STATS])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="real images per step (the default: 32, then 64)")
    parser.add_argument("--steps", type=int, default=200, help="steps timed, then as many profiled")
    parser.add_argument("--warm", type=int, default=300, help="untimed steps first")
    parser.add_argument("--rows", type=int, default=15, help="operations listed")
    parser.add_argument("--compare", choices=CHANGES, help="time this change against the library's step instead")
    parser.add_argument("--blocks", type=int, default=10, help="--compare: pairs of 400-step blocks")
    parser.add_argument("--gamma", type=float, default=0.3, help="--compare r1: the penalty's gamma")
    args = parser.parse_args()
    if min(args.batch, args.steps, args.rows, args.blocks) < 1 or args.warm < 0 or not args.gamma > 0:
        parser.error("--batch, --steps, --rows and --blocks must be at least 1, --warm at least 0, --gamma above 0")
    torch.set_num_threads(1)
    config, rng, images = course_default(), seed_everything(0), training_images()
    generator, discriminator = build_models(config.model, torch.device("cpu"))
    piles = generator.set_piles(images)
    opt_g, opt_d = make_optimizers(generator, discriminator, config.lr_g, config.lr_d, (config.beta1, 0.999))
    average = copy.deepcopy(generator).requires_grad_(False)
    step, compiled = 0, (torch.compile(generator), torch.compile(discriminator))
    once = build_models(replace(config.model, projection=False), torch.device("cpu"))[1]  # "once": its own D and Adam
    opt_once = make_optimizers(generator, once, config.lr_d, config.lr_d, (config.beta1, 0.999))[1]

    def one(change: str | None = None) -> None:
        nonlocal step
        index = torch.randint(0, len(images), (args.batch // 2 if change == "half" else args.batch,), generator=rng)
        if change in (None, "compiled", "r1", "half", "once"):
            g, d = compiled if change == "compiled" else (generator, discriminator)  # the same weights either way
            d, d_optimiser = (once, opt_once) if change == "once" else (d, opt_d)
            r1 = r1_weight(args.gamma, step + 1) if change == "r1" else 0.0
            step_on_device(g, d, opt_g, d_optimiser, images[index], rng, labels=piles[index], r1=r1)
        else:
            changed_step(generator, discriminator, opt_g, opt_d, images[index], piles[index], rng, change)
        step += 1
        update_ema(average, generator, config.ema, step)

    for _ in range(args.warm):
        one()
    if args.compare == "compiled":
        began = time.perf_counter()
        for _ in range(3):
            one("compiled")
        print(f"compiling G and D with torch.compile: the first 3 steps took {time.perf_counter() - began:.1f} s")
    if args.compare:
        compare(one, args.compare, args.blocks, args.batch)
        return
    began = time.perf_counter()
    for _ in range(args.steps):
        one()
    print(f"batch {args.batch}, 1 thread: {1000 * (time.perf_counter() - began) / args.steps:.2f} ms a step")
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(args.steps):
            one()
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows, max_name_column_width=40))

    k, inputs = args.batch, config.model.latent_dim + config.model.piles
    print(f"matrix products with inner size {k} (weight gradients) against forward products, 1 thread:")
    for name, (rows, cols) in {"G's last layer": (28 * 28, config.model.g_hidden[-1]),
                               "D's first layer": (config.model.d_hidden[0], 28 * 28 + config.model.piles),
                               "G's first layer": (config.model.g_hidden[0], inputs)}.items():
        grad_out, layer_in, weight = torch.randn(k, rows), torch.randn(k, cols), torch.randn(rows, cols)
        backward, forward = gflops(grad_out.t(), layer_in), gflops(layer_in, weight.t())
        print(f"  {name} ({rows}x{cols}): weight gradient {backward[0]:.0f} us ({backward[1]:.0f} GFLOP/s), "
              f"forward {forward[0]:.0f} us ({forward[1]:.0f} GFLOP/s)")
    square = torch.randn(1024, 1024)
    print(f"  1024 x 1024 by 1024 x 1024: {gflops(square, square, 20)[1]:.0f} GFLOP/s (about this core's best)")


def compare(one, change: str, blocks: int, batch: int) -> None:
    """Blocks of 400 steps, the library's then the changed one, `blocks` times; print ms a step and the ratios."""
    times = {None: [], change: []}
    for _ in range(blocks):
        for kind in times:
            began = time.perf_counter()
            for _ in range(400):
                one(kind)
            times[kind].append((time.perf_counter() - began) / 400 * 1000)
    ratios = sorted(b / a for a, b in zip(times[None], times[change]))
    median = (ratios[(blocks - 1) // 2] + ratios[blocks // 2]) / 2
    print(f"batch {batch}, 1 thread, ms a step: library {min(times[None]):.1f}-{max(times[None]):.1f}, {change} "
          f"{min(times[change]):.1f}-{max(times[change]):.1f}; {change} / library, median of {blocks} pairs: {median:.2f}")


if __name__ == "__main__":
    main()
