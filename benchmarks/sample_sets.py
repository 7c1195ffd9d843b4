"""How much does an FD read on 1,000 samples move with the sample? The course default and real digits on separate sets.

    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/sample_sets.py --seed 0 --marks 7930,36273

Trains the course default by steps with the benchmark's settings (`benchmark.run`, one torch thread: the same
seed gives the benchmark day's digits at a step whatever the machine's pace) and copies its sampled generator
at each of --marks. The digit meter then reads --sets sets of 1,000: the real digits outside the meter's own
2,000 (`benchmark.real_digits`) and samples from the benchmark's noise (`benchmark.benchmark_noise`; the first
set of each is the benchmark's 1,000), and the first 5,000 and all of them together. benchmarks/README.md,
*One reading of 1,000 samples*, says what it showed.
"""

from __future__ import annotations

import argparse

import torch

from benchmark import MAX_SAMPLES, benchmark_noise, real_digits, run  # this script's folder is on sys.path
from gan_course.batches import training_images
from gan_course.quality import load_meter
from gan_course.sampling import generate
from gan_course.settings import course_default


def read_sets(meter, images: torch.Tensor, sets: int) -> str:
    """The FD of each set of 1,000 of `images`, then of the first 5,000 (when there are as many) and of all."""
    fds = [meter.score(chunk).fd for chunk in images.split(1000)[:sets]]
    whole = [f"5,000: {meter.score(images[:5000]).fd:.1f}"] if len(images) >= 5000 else []
    return (f"sets of 1,000: {', '.join(f'{fd:.1f}' for fd in fds)} (mean {sum(fds) / len(fds):.1f}); "
            + "; ".join(whole + [f"{len(images):,}: {meter.score(images).fd:.1f}"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--marks", default="7930,36273", help="steps at which to copy the generator")
    most = MAX_SAMPLES // 1000
    parser.add_argument("--sets", type=int, default=most, help=f"sets of 1,000 (at most {most}: the real digits "
                                                                f"outside the meter's)")
    args = parser.parse_args()
    if not 1 <= args.sets <= most:
        parser.error(f"--sets must be from 1 to {most} ({MAX_SAMPLES:,} real digits lie outside the meter's own); "
                     f"got {args.sets}")
    torch.set_num_threads(1)
    images, meter = training_images(), load_meter(verbose=False)
    print(f"real digits: {read_sets(meter, real_digits(images, 1000 * args.sets), args.sets)}", flush=True)
    z = benchmark_noise(1000 * args.sets)
    config = course_default()
    config.threads = 1
    _, copies = run(config, images, torch.device("cpu"), [int(m) for m in args.marks.split(",")], seed=args.seed,
                    by="steps")
    for _, step, generator in copies:
        fake = torch.cat([generate(generator, chunk) for chunk in z.split(250)])
        print(f"seed {args.seed}, step {step:,}: {read_sets(meter, fake, args.sets)}", flush=True)


if __name__ == "__main__":
    main()
