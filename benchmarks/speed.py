"""Steps per second of the course default, alone, beside a busy program, or two at once (benchmark.py runs this).

    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/speed.py --seconds 10 [--threads 2]

Prints one JSON line: {"steps_per_s": ..., "threads": ..., "steps": ...}. Without --threads the run chooses
its thread count itself, as `train()` does for a student (gan_course.device.choose_threads).
"""

from __future__ import annotations

import argparse
import json

from gan_course.batches import training_images
from gan_course.seeding import seed_everything
from gan_course.settings import course_default
from gan_course.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, help="fixed thread count (default: the automatic choice)")
    args = parser.parse_args()
    images = training_images()
    config = course_default()
    config.seconds, config.threads, config.snapshot_every = args.seconds, args.threads, 10**9
    history = train(config, images, rng=seed_everything(0), progress=False).history
    # the first steps (100, or a fifth of a very slow run) warm up caches and allocators; measure the rest
    first = next(i for i, step in enumerate(history.step) if step >= min(100, history.step[-1] // 5))
    steps, seconds = history.step[-1] - history.step[first], history.seconds[-1] - history.seconds[first]
    print(json.dumps({"steps_per_s": steps / seconds, "threads": history.threads, "steps": history.step[-1]}))


if __name__ == "__main__":
    main()
