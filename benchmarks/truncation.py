"""How much does drawing with the truncation trick lift the course default's confident share? One run per seed, scored at several truncations.

    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/truncation.py --seeds 0,1,2

Trains the course default (50 piles; it draws at 0.8, `TRUNCATION`, which this script overrides) with the
benchmark's `run`, up to the last of --marks (seconds of wall-clock time) on one torch thread, one seed
after the other, and copies the sampled generator at each mark (its BatchNorm statistics re-measured, as
`train` does). Afterwards the digit meter scores 1,000 samples of each copy (the benchmark's noise) drawn
with each truncation: the style numbers of z times psi (`ModelConfig.truncation`, `PiledGenerator`).
Training is the same for every psi: only the drawing changes. Run it on an otherwise idle machine.
--g-hidden 512,256 trains the default with other widths of G's hidden layers (benchmarks/README.md).
--by steps reads --marks as steps instead: the same seed and thread count give the same copies at a step whatever
the machine's pace, so a slow day measures what a fast one would draw (only later). --double-at N doubles
the batch from step N instead of the default's 3,000 (0: never); --batch B starts at batches of B instead of 32,
--lr both networks' learning rate instead of 2e-3, --r1 GAMMA the gradient penalty's gamma (0: none), and
--halve-lr-at N halves both learning rates after step N (the default never does).
--grid PATH saves 64 digits of the first seed's copy at --grid-at (default: the last mark), as benchmark.py saves
the README's grid.
"""

from __future__ import annotations

import argparse
import torch

from benchmark import run  # the benchmark's own timed run (this script's folder is on sys.path)
from gan_course.batches import training_images
from gan_course.experiments import variant
from gan_course.models import sample_noise
from gan_course.quality import load_meter
from gan_course.sampling import generate
from gan_course.settings import course_default
from gan_course.visualisation import save_grid


def widths(text: str) -> tuple[int, ...]:
    """"512,256" -> (512, 256); argparse turns the ValueError of anything else into a usage error (exit 2)."""
    return tuple(int(w) for w in text.split(","))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--marks", default="60,120,300", help="seconds (or steps, with --by steps) at which to copy G")
    parser.add_argument("--by", choices=("seconds", "steps"), default="seconds")
    parser.add_argument("--double-at", type=int, help="the step from which batches double (0: never)")
    parser.add_argument("--batch", type=int, help="the first batch size (default 32)")
    parser.add_argument("--lr", type=float, help="both networks' learning rate (default 2e-3)")
    parser.add_argument("--r1", type=float, help="the gradient penalty's gamma (0: none; TrainConfig.r1)")
    parser.add_argument("--halve-lr-at", type=int, help="the step after which both learning rates halve (default: never)")
    parser.add_argument("--psi", default="1,0.9,0.8,0.7", help="truncations to score each copy with")
    parser.add_argument("--grid", help="save 64 digits of the first seed's copy at --grid-at here (a PNG), "
                                       "drawn at the config's own truncation from the benchmark's grid noise")
    parser.add_argument("--grid-at", type=float, help="the mark of --grid (default: the last mark)")
    parser.add_argument("--g-hidden", type=widths, help="the generator's hidden widths instead of the default's, e.g. 512,256")
    args = parser.parse_args()
    torch.set_num_threads(1)
    marks = [float(m) for m in args.marks.split(",")]
    if args.grid_at is not None and args.grid_at not in marks:
        parser.error(f"--grid-at {args.grid_at:g} is not one of --marks {args.marks}")
    images, meter = training_images(), load_meter(verbose=False)
    z = sample_noise(1000, 64, torch.Generator().manual_seed(123))  # the benchmark's noise
    changes = {"g_hidden": args.g_hidden, "batch_size": args.batch, "lr_g": args.lr, "lr_d": args.lr,
               "double_batch_at": args.double_at, "r1": args.r1, "halve_lr_at": args.halve_lr_at}
    changes = {name: value for name, value in changes.items() if value is not None}
    for name in ("double_batch_at", "r1"):
        if changes.get(name) == 0:
            changes[name] = None  # 0: never, none
    config = variant(course_default(), **changes)  # train() checks the values and says what is wrong
    print(config, flush=True)
    def label(mark: float, step: int) -> str:
        return f"{mark:g} s ({step:,} steps)" if args.by == "seconds" else f"step {step:,}"

    for seed in (int(s) for s in args.seeds.split(",")):
        _, copies = run(config, images, torch.device("cpu"), marks, seed=seed, by=args.by)
        if args.grid and seed == int(args.seeds.split(",")[0]):  # as benchmark.py draws the README's 60 s grid
            mark, step, generator = next((c for c in copies if c[0] == args.grid_at), copies[-1])
            grid_z = sample_noise(64, 64, torch.Generator().manual_seed(123))
            save_grid(generate(generator, grid_z), args.grid, f"course default at {label(mark, step)}")
        for mark, step, generator in copies:
            for psi in (float(p) for p in args.psi.split(",")):
                generator.truncation = psi
                quality = meter.score(torch.cat([generate(generator, chunk) for chunk in z.split(250)]))
                print(f"seed {seed}, {label(mark, step)}, truncation {psi:g}: {quality.summary()} ({quality.confident:.1%})", flush=True)


if __name__ == "__main__":
    main()
