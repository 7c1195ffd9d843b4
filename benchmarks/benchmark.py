"""Quality against time: the course's presets and the common anchors, scored by the digit meter, as JSON and a plot.

    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/benchmark.py

Trains, one after the other on the same machine and data (the course's 10,000 digits), each for --seconds:
  1. the course default (gan_course.settings.course_default(): 50 piles of similar digits, notebook 07), the
     same with 10 islands in the noise instead (course_default(piles=False), the default before the piles), and
     that with batch 32 throughout, and with plain noise,
  2. the course DCGAN at 28x28 (course_default("dcgan")), for runs of a few minutes,
  3. the MLP GAN as commonly taught (G 100-256-512-1024-784, D 784-512-256-1, Adam 2e-4, beta1 0.5, batch 128),
  4. the PyTorch tutorial DCGAN at 64x64 (nz 100, ngf = ndf = 64, batch 128, Adam 2e-4, beta1 0.5).
The sampled generator is copied at 15, 30, 60, 120 and 300 s of training; afterwards, outside the timed budget,
the digit meter scores --samples (5,000) samples of each copy, and as many real digits for reference (and the
FD of the first 1,000 of each, the count the table read until 2026-12-07). Then the speed of the default alone,
beside a busy program and two at once (benchmarks/speed.py in subprocesses; --speed-seconds 0 keeps the speed
already in --out, with its date). Writes
benchmarks/results.json, docs/quality_vs_time.png and the default's 60 s grid (docs/default_60s.png). Run it on
an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gan_course.batches import training_images
from gan_course.conditional import cycling_digits
from gan_course.data import load_mnist
from gan_course.device import core_gflops, get_device
from gan_course.experiments import variant
from gan_course.models import ModelConfig, sample_noise
from gan_course.quality import load_meter
from gan_course.sampling import generate, remeasure_batchnorm
from gan_course.seeding import seed_everything
from gan_course.settings import TrainConfig, course_default
from gan_course.training import train
from gan_course.visualisation import save_grid

HERE = Path(__file__).resolve().parent
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
    from gan_course.dcgan import dcgan_init

    generator, discriminator = TutorialGenerator().to(device), TutorialDiscriminator().to(device)
    generator.apply(dcgan_init)
    discriminator.apply(dcgan_init)
    return generator, discriminator


def run(config: TrainConfig, images, device, marks, models=None, labels=None, seed: int = 0, by: str = "seconds",
        on_step=None):
    """Train for max(marks) seconds (by="steps": steps); return the history and a copy of the sampled generator at
    each mark. Marks in steps give the same copies (same seed and thread count) on a slow day as on a fast one.
    on_step(result), if given, is called after every step, as `train` calls it (late_average.py)."""
    clock = {"seconds": "seconds", "steps": "step"}[by]  # the TrainResult field the marks are read against
    seconds, steps = (max(marks), None) if clock == "seconds" else (None, int(max(marks)))
    config.seconds, config.epochs, config.steps, config.snapshot_every, config.n_fixed = seconds, None, steps, 10**9, 2
    copies, pending = [], list(marks)

    def keep(result):
        if on_step is not None:
            on_step(result)
        while pending and getattr(result, clock) >= pending[0]:
            copies.append((pending.pop(0), result.step, copy.deepcopy(result.sampler).cpu()))

    result = train(config, images, device, rng=seed_everything(seed), progress=False, models=models, on_step=keep,
                   labels=labels)
    while pending:  # the last step can end a hair before the budget's mark
        copies.append((pending.pop(0), result.step, copy.deepcopy(result.sampler).cpu()))
    if result.ema_generator is not None:  # as train() does at its snapshots and at the end, outside the budget here
        for _, _, generator in copies:
            remeasure_batchnorm(generator)
    return result.history, copies


MAX_SAMPLES = 8000  # the course's 10,000 digits less the digit meter's own 2,000 reference digits


def benchmark_noise(n, latent_dim=64):
    """The benchmark's n noise vectors: one seeded draw, so its first 1,000 are the same for any n."""
    return sample_noise(n, latent_dim, torch.Generator().manual_seed(123))


def real_digits(images, n=1000):
    """n real digits the GANs learn from: a seeded random draw from all but the meter's last 2,000 reference
    digits (its first 1,000 the same for any n). Random, not the first n: the offline split's first and second
    halves come from different groups of writers, and the GANs learn from both."""
    if not 1 <= n <= len(images) - 2000:
        raise ValueError(f"n must be from 1 to {len(images) - 2000:,} (the digits outside the meter's own); got {n}")
    return images[torch.randperm(len(images) - 2000, generator=torch.Generator().manual_seed(0))[:n]]


def score(meter, generator, latent_dim, n=1000, conditional=False):
    """The meter on n samples of `generator` from `benchmark_noise`, and on their first 1,000."""
    z = benchmark_noise(n, latent_dim)
    chunks = z.split(250)
    asked = cycling_digits(n).split(250) if conditional else [None] * len(chunks)  # a conditional G: 0-9 in turn
    fake = torch.cat([generate(generator, chunk, digits) for chunk, digits in zip(chunks, asked)])
    if fake.shape[-1] != 28:
        fake = F.interpolate(fake, size=(28, 28), mode="area")
    return meter.score(fake), meter.score(fake[:1000])


def score_real(meter, images, n=1000):
    """The meter on n `real_digits`, and on their first 1,000."""
    real = real_digits(images, n)
    return meter.score(real), meter.score(real[:1000])


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def reading(qualities) -> dict:
    """(all samples, the first 1,000) -> the JSON of a reading: the share, classes and FD of all, the FD of 1,000."""
    quality, first = qualities
    return {"confident": round(quality.confident, 4), "classes": quality.classes, "fd": round(quality.fd, 1),
            "fd of the first 1,000": round(first.fd, 1)}


def speeds(seconds: float) -> dict:
    """Steps per second of the default: alone, beside a busy program, two at once; automatic and fixed 2 threads."""
    script = [sys.executable, str(HERE / "speed.py"), "--seconds", str(seconds)]

    def together(commands):
        programs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in commands]
        return [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in programs]

    def beside_busy(command):
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.5)
            return together([command])[0]
        finally:
            busy.kill()
            busy.wait()

    out = {}
    for label, extra in (("automatic", []), ("2 threads", ["--threads", "2"])):
        alone = together([script + extra])[0]
        busy = beside_busy(script + extra)
        pair = together([script + extra, script + extra])
        out[label] = {"alone": alone, "beside a busy program": busy, "two at once": pair,
                      "ratio beside busy": round(busy["steps_per_s"] / alone["steps_per_s"], 2),
                      "ratio two at once": round(min(p["steps_per_s"] for p in pair) / alone["steps_per_s"], 2)}
    return out


def earlier_speed(path: Path) -> dict:
    """The speed runs of the results at `path` with their date ({"speed": ..., "speed date": ...}), or {} if none."""
    before = json.loads(path.read_text()) if path.is_file() else {}
    if "speed" not in before:
        return {}
    return {"speed": before["speed"], "speed date": before.get("speed date", before["date"].split(" (")[0])}


def table(results: dict) -> str:
    """The README's tables (markdown) from the results."""
    real, marks = results["real digits"], [m["seconds"] for m in results["runs"][0]["marks"]]
    lines = ["| run | threads | GFLOP/s | ms/step | " + " | ".join(f"{t:g} s" for t in marks) + " |",
             "| --- | ---: | ---: | ---: |" + " --- |" * len(marks)]
    for run in results["runs"]:  # GFLOP/s: the core's pace just before the run (older results: none recorded)
        cells = [f"{m['confident']:.0%}, {m['classes']}, FD {m['fd']:.0f}" for m in run["marks"]]
        pace = f"{run['core GFLOP/s']:.0f}" if "core GFLOP/s" in run else ""
        lines.append(f"| {run['name']} | {run['threads']} | {pace} | {run['ms_per_step']:.1f} | " + " | ".join(cells) + " |")
    lines.append(f"| real digits ({results.get('samples', 1000):,}) | | | | {real['confident']:.0%}, {real['classes']}, FD {real['fd']:.0f} |" + " |" * (len(marks) - 1))
    if "speed" in results:
        lines += ["", "| threads | alone | beside a busy program | two at once (slower) | ratio beside busy | ratio two at once |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for policy, runs in results["speed"].items():
            pair = min(r["steps_per_s"] for r in runs["two at once"])
            lines.append(f"| {policy} ({runs['alone']['threads']}) | {runs['alone']['steps_per_s']:.0f} | "
                         f"{runs['beside a busy program']['steps_per_s']:.0f} | {pair:.0f} | "
                         f"{runs['ratio beside busy']:.2f} | {runs['ratio two at once']:.2f} |")
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gan_course.live import PROJECTOR

    real = results["real digits"]
    with plt.rc_context(PROJECTOR):
        fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6.5))
        for run in results["runs"]:
            t = [m["seconds"] for m in run["marks"]]
            left.plot(t, [100 * m["confident"] for m in run["marks"]], marker="o", label=run["name"])
            right.plot(t, [m["fd"] for m in run["marks"]], marker="o", label=run["name"])
        left.axhline(100 * real["confident"], color="k", ls="--", label="real digits")
        right.axhline(real["fd"], color="k", ls="--", label="real digits")
        left.set(xscale="log", xlabel="seconds of training", ylabel="confident digits (%)", ylim=(0, 100),
                 title="Digits the meter reads with confidence")
        right.set(xscale="log", yscale="log", xlabel="seconds of training", ylabel="FD (lower is better)",
                  title=f"Distance to real digits (FD, {results.get('samples', 1000):,} samples)")
        for ax in (left, right):
            ax.set_xticks([m["seconds"] for m in results["runs"][0]["marks"]])
            ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
            ax.get_xaxis().set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.grid(alpha=0.3)
        paces = sorted({r["core GFLOP/s"] for r in results["runs"] if "core GFLOP/s" in r}
                       | ({results["core GFLOP/s"]} if "core GFLOP/s" in results else set()))
        upto = f" to {paces[-1]:g}" if len(paces) > 1 else ""
        pace = f" ({paces[0]:g}{upto} GFLOP/s on one core)" if paces else ""
        fig.suptitle(f"{results['machine']}{pace}\n{results['date']}", fontsize=13)  # two lines: a merged date is long
        fig.tight_layout(rect=(0, 0.16, 1, 1))  # the legend below both panels, where it hides no line
        fig.legend(*left.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=12, frameon=False)
        fig.savefig(path, dpi=80)
        plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--marks", default="15,30,60,120,300", help="checkpoint times in seconds")
    parser.add_argument("--only", help="comma-separated subset: default,islands,one-batch,plain,dcgan,conditional,common,"
                                       "tutorial")
    parser.add_argument("--merge", action="store_true", help="add these runs to the existing --out (same preset: replaced)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--speed-seconds", type=float, default=15.0,
                        help="length of each speed run (0: skip them, and keep the speed already in --out)")
    parser.add_argument("--samples", type=int, default=5000,
                        help=f"samples scored per copy, and real digits (1,000 to {MAX_SAMPLES:,})")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    parser.add_argument("--plot", default=str(HERE.parent / "docs" / "quality_vs_time.png"))
    parser.add_argument("--grid", default=str(HERE.parent / "docs" / "default_60s.png"))
    parser.add_argument("--table", action="store_true", help="only print the tables and redraw the plot from --out")
    parser.add_argument("--rescore-real", action="store_true", help="with --table: score the real digits again")
    args = parser.parse_args()
    if not 1000 <= args.samples <= MAX_SAMPLES:
        parser.error(f"--samples must be from 1000 to {MAX_SAMPLES} (the real digits outside the meter's own); "
                     f"got {args.samples}")
    if args.merge and Path(args.out).is_file():  # checked before the hour of training, not after it
        counted = json.loads(Path(args.out).read_text()).get("samples", 1000)
        if counted != args.samples:
            parser.error(f"{args.out} scored {counted:,} samples a copy and this run would score {args.samples:,}: "
                         f"merge with --samples {counted}, or write a new file (--out).")
    if args.table:
        results = json.loads(Path(args.out).read_text())
        if args.rescore_real:
            results["real digits"] = reading(score_real(load_meter(verbose=False), training_images(),
                                                        results.get("samples", 1000)))
            Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
        plot(results, Path(args.plot))
        print(table(results))
        return
    device = get_device(args.device)
    marks = [m for m in (float(v) for v in args.marks.split(",")) if m < args.seconds] + [args.seconds]
    images = training_images()
    labels = load_mnist()[1][:len(images)]
    meter = load_meter(verbose=True)
    common = TrainConfig(model=ModelConfig("mlp", latent_dim=100, g_hidden=(256, 512, 1024), d_hidden=(512, 256)),
                         batch_size=128, lr_g=2e-4, lr_d=2e-4, ema=None)  # as taught: samples from G itself
    images64 = F.interpolate(images, size=(64, 64), mode="bilinear", align_corners=False).clamp(-1, 1)
    plans = {
        "default": ("course default (50 piles)", course_default(), images, None),
        "islands": ("course default with 10 islands instead of piles", course_default(piles=False), images, None),
        "one-batch": ("islands, batch 32 throughout", variant(course_default(piles=False), double_batch_at=None),
                      images, None),
        "plain": ("plain noise, batch 32 throughout", variant(course_default(piles=False), islands=0, double_batch_at=None),
                  images, None),
        "dcgan": ("course DCGAN 28x28", course_default("dcgan"), images, None),
        "conditional": ("course conditional MLP (notebook 07)", course_default(conditional=True), images, "conditional"),
        "common": ("MLP GAN as commonly taught", common, images, None),
        "tutorial": ("PyTorch tutorial DCGAN 64x64", TrainConfig(model=ModelConfig("dcgan", latent_dim=100), batch_size=128, ema=None), images64, "tutorial"),
    }
    grids = {"default": (Path(args.grid), "course default (50 piles)")}
    chosen = args.only.split(",") if args.only else list(plans)
    real = score_real(meter, images, args.samples)
    results = {"machine": f"{cpu_name()}, {len(os.sched_getaffinity(0))} cores, "
                          f"{device}, torch {torch.__version__}", "core GFLOP/s": core_gflops(),
               "cpu capability": torch.backends.cpu.get_cpu_capability(),  # AVX2 or AVX512: the pace moves with it
               "date": date.today().isoformat(), "meter accuracy": round(meter.accuracy, 4),
               "samples": args.samples, "real digits": reading(real), "runs": []}
    print(f"{results['machine']} ({results['core GFLOP/s']:g} GFLOP/s on one core); {args.seconds:g} s each; "
          f"real digits ({args.samples:,}): {real[0].summary()}", flush=True)
    for key in chosen:
        name, config, data, special = plans[key]
        models = tutorial_models(device) if special == "tutorial" else None
        pace = core_gflops()  # this run's own: a neighbour on the host can slow one run and not the next
        history, copies = run(config, data, device, marks, models, labels if special == "conditional" else None)
        marks_out = [{"seconds": t, "step": step, **reading(score(meter, g, config.model.latent_dim, args.samples,
                                                                   special == "conditional"))}
                     for t, step, g in copies]
        if key in grids and any(t == 60 for t, _, _ in copies):  # the README's pictures: 64 digits after 60 s
            (step60, g60), = [(step, g) for t, step, g in copies if t == 60]
            z = benchmark_noise(64, config.model.latent_dim)
            save_grid(generate(g60, z), grids[key][0], f"{grids[key][1]} after 60 s ({step60:,} steps)")
        results["runs"].append({"name": name, "preset": key, "threads": history.threads, "steps": history.step[-1],
                                "core GFLOP/s": pace, "marks": marks_out,
                                "ms_per_step": round(1000 * history.seconds[-1] / history.step[-1], 2)})
        print(f"  {name} ({history.threads} threads, {pace:g} GFLOP/s): " + ", ".join(
            f"{m['seconds']:g}s: {m['confident']:.0%}/{m['classes']}/{m['fd']:.0f}" for m in marks_out), flush=True)
    if args.speed_seconds > 0 and device.type == "cpu":
        results["speed"] = speeds(args.speed_seconds)
        results["speed date"] = date.today().isoformat()
        print(json.dumps(results["speed"], indent=1))
    elif args.speed_seconds == 0 and not args.merge:  # keep the speed measured before
        results |= earlier_speed(Path(args.out))
    if args.merge and Path(args.out).is_file():
        before = json.loads(Path(args.out).read_text())
        new = {run["preset"] for run in results["runs"]}
        results = before | {"runs": [r for r in before["runs"] if r["preset"] not in new] + results["runs"]}
        first, today = results["date"].split(" (")[0], date.today().isoformat()  # the first full run's date
        if first != today:  # and which runs are newer, with their dates
            newer = {k: d for k, d in results.get("newer", {}).items() if k not in new} | dict.fromkeys(new, today)
            days = {d: ", ".join(sorted(k for k in newer if newer[k] == d)) for d in sorted(set(newer.values()))}
            results |= {"newer": newer, "date": f"{first} ({'; '.join(f'{ks}: {d}' for d, ks in days.items())})"}
        results["runs"].sort(key=lambda r: list(plans).index(r["preset"]) if r["preset"] in plans else len(plans))
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    plot(results, Path(args.plot))
    print(table(results))
    print(f"wrote {args.out} and {args.plot}")


if __name__ == "__main__":
    main()
