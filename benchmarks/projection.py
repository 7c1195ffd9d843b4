"""The course default, or a variant of it, counted in steps and read on 5,000 samples at several truncations.

    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/projection.py --seeds 0,1,2 --marks 2510,4428,7930,36273
    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/projection.py --set projection=False --set halve_lr_at=None

Trains `course_default()`, with each --set NAME=VALUE changed (`gan_course.experiments.variant`; a value is a
Python literal: False, None, 15000), by steps with the benchmark's settings (`benchmark.run`, one torch thread:
the same seed gives the same digits at a step whatever the machine's pace), and copies its sampled generator
at each of --marks. The digit meter reads each copy drawn at each of --psi (the truncation: only how G draws,
the same weights) on --samples samples of the benchmark's noise against as many real digits' FD, as
`benchmark.py` reads its table. benchmarks/README.md, *Told the pile twice*, says what it showed.
"""

from __future__ import annotations

import argparse
import ast

import torch

from benchmark import MAX_SAMPLES, benchmark_noise, real_digits, run  # this script's folder is on sys.path
from gan_course.batches import training_images
from gan_course.experiments import variant
from gan_course.quality import load_meter
from gan_course.sampling import generate
from gan_course.settings import course_default


def change(text: str) -> tuple[str, object]:
    """'halve_lr_at=None' -> ('halve_lr_at', None): one setting of `variant`, its value a Python literal."""
    name, sep, value = text.partition("=")
    try:
        return name.strip(), ast.literal_eval(value.strip()) if sep else None
    except (ValueError, SyntaxError):
        raise argparse.ArgumentTypeError(f"--set takes NAME=VALUE with a Python literal value, e.g. "
                                         f"projection=False or halve_lr_at=None; got {text!r}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--marks", default="2510,4428,7930,36273", help="steps at which to copy the generator")
    parser.add_argument("--psi", default="0.8,0.9,1", help="truncations to draw each copy with")
    parser.add_argument("--samples", type=int, default=5000, help=f"samples read per copy (at most {MAX_SAMPLES:,})")
    parser.add_argument("--set", type=change, action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of course_default() to change, e.g. projection=False (repeat for more)")
    args = parser.parse_args()
    if not 2 <= args.samples <= MAX_SAMPLES:
        parser.error(f"--samples must be from 2 to {MAX_SAMPLES:,}; got {args.samples}")
    marks = sorted(int(m) for m in args.marks.split(","))
    torch.set_num_threads(1)
    images, meter = training_images(), load_meter(verbose=False)
    z, real = benchmark_noise(args.samples), meter.score(real_digits(images, args.samples))
    changes = dict(args.set)
    print(f"real digits ({args.samples:,}): {real.confident:.1%}, FD {real.fd:.1f}; changed: {changes or 'nothing'}")
    for seed in (int(s) for s in args.seeds.split(",")):
        config = variant(course_default(), **changes)
        config.threads = 1
        _, copies = run(config, images, torch.device("cpu"), marks, seed=seed, by="steps")
        for _, step, generator in copies:
            for psi in (float(p) for p in args.psi.split(",")):
                generator.truncation = psi
                quality = meter.score(torch.cat([generate(generator, chunk) for chunk in z.split(1000)]))
                print(f"seed {seed}, step {step:,}, truncation {psi:g}: {quality.confident:.1%}, {quality.classes} "
                      f"classes, FD {quality.fd:.1f} ({quality.fd / real.fd:.2f}x real digits')", flush=True)


if __name__ == "__main__":
    main()
