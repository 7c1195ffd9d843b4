"""Does drawing with the truncation trick lift the course default's confident share? One run per seed, scored at several truncations.

    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/truncation.py --seeds 0,1,2

Trains the course default (50 piles) for --seconds of wall-clock time on one torch thread, one seed after
the other, and copies the sampled generator at each mark (its BatchNorm statistics re-measured, as `train`
does). Afterwards the digit meter scores 1,000 samples of each copy (the benchmark's noise) drawn with each
truncation: the style numbers of z times psi (`ModelConfig.truncation`, `PiledGenerator`). Training is the
same for every psi: only the drawing changes. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import copy

import torch

from gan_course.data import training_images
from gan_course.models import sample_noise
from gan_course.quality import load_meter
from gan_course.seeding import seed_everything
from gan_course.training import course_default, generate, remeasure_batchnorm, train


def copies_at(seed: int, marks: list[float], images: torch.Tensor) -> list[tuple[float, int, torch.nn.Module]]:
    """Train the course default from `seed` for max(marks) seconds; (mark, step, sampler copy) at each mark."""
    config = course_default()
    config.seconds, config.epochs, config.steps, config.snapshot_every, config.n_fixed = max(marks), None, None, 10**9, 2
    copies, pending = [], list(marks)

    def keep(result):
        while pending and result.seconds >= pending[0]:
            copies.append((pending.pop(0), result.step, copy.deepcopy(result.sampler).cpu()))

    result = train(config, images, rng=seed_everything(seed), progress=False, on_step=keep)
    while pending:  # the last step can end a hair before the budget's mark
        copies.append((pending.pop(0), result.step, copy.deepcopy(result.sampler).cpu()))
    for _, _, generator in copies:
        remeasure_batchnorm(generator)
    return copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--marks", default="60,120,300", help="seconds of training at which to copy G")
    parser.add_argument("--psi", default="1,0.9,0.8,0.7", help="truncations to score each copy with")
    args = parser.parse_args()
    torch.set_num_threads(1)
    marks = [float(m) for m in args.marks.split(",")]
    images, meter = training_images(), load_meter(verbose=False)
    z = sample_noise(1000, 64, torch.Generator().manual_seed(123))  # the benchmark's noise
    for seed in (int(s) for s in args.seeds.split(",")):
        for mark, step, generator in copies_at(seed, marks, images):
            for psi in (float(p) for p in args.psi.split(",")):
                generator.truncation = psi
                quality = meter.score(torch.cat([generate(generator, chunk) for chunk in z.split(250)]))
                print(f"seed {seed}, {mark:g} s ({step:,} steps), truncation {psi:g}: {quality.summary()}", flush=True)


if __name__ == "__main__":
    main()
