"""Steps per second of the course default, alone, beside a busy program, or two at once (benchmark.py runs this).

    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/speed.py --seconds 10 [--threads 2]

Prints one JSON line: {"steps_per_s": ..., "threads": ..., "steps": ...}. Without --threads the run chooses
its thread count itself, as `train()` does for a student (gan_course.device.choose_threads).
--device cuda measures a GPU; --batch B trains on batches of B throughout instead of the default's 32 then 64
(benchmarks/README.md, "GPU": the steps a batch size needs to reach 90% confident, measured on the CPU).
"""

from __future__ import annotations

import argparse
import json

from gan_course.batches import training_images
from gan_course.device import get_device
from gan_course.experiments import variant
from gan_course.seeding import seed_everything
from gan_course.settings import course_default
from gan_course.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, help="fixed thread count (default: the automatic choice)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--batch", type=int, help="one batch size throughout (default: 32, then 64 from step 3,000)")
    args = parser.parse_args()
    device, images = get_device(args.device), training_images()
    config = course_default()
    config.seconds, config.threads, config.snapshot_every = args.seconds, args.threads, 10**9
    if args.batch is not None:
        config = variant(config, batch_size=args.batch, double_batch_at=None)
    history = train(config, images, device, rng=seed_everything(0), progress=False).history
    # the first steps (100, or a fifth of a very slow run) warm up caches and allocators; measure the rest
    first = next(i for i, step in enumerate(history.step) if step >= min(100, history.step[-1] // 5))
    steps, seconds = history.step[-1] - history.step[first], history.seconds[-1] - history.seconds[first]
    print(json.dumps({"steps_per_s": steps / seconds, "threads": history.threads, "steps": history.step[-1]}))


if __name__ == "__main__":
    main()
