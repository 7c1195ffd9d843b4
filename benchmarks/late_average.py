"""Does a longer average of G's weights, late in a long run, lift the course default's five-minute digits? One run per seed, several averages side by side.

    GAN_COURSE_DATA=../shared/data .venv/bin/python benchmarks/late_average.py --seeds 0,1,2 --decays 0.9995,0.9998

Trains the course default by steps, as `truncation.py --by steps` does (the benchmark's settings, one torch
thread), so a seed gives the benchmark day's digits at the same step whatever the machine's pace, with the
shorter average of G's weights it had before this measurement: decay 0.999 (`TrainConfig.ema`, notebook 05's;
up to the last 1,000 steps). From --from-step on, this script keeps more averages beside it, each starting
from that average at that step and then averaging with its own decay (--decays; 0.9998, the course default's
now: up to the last 5,000 steps). With --from-step 1 an average is the one `train` keeps with that decay as
its `ema`, to the last bit (the same update at every step). --warmups gives each decay other warm-ups too:
the 10 of the rate's early (1 + step) / (10 + step), `ema_rate` (6: the average covers the last fifth of the
steps instead of the last ninth, until the decay caps it). Training is the same for all of them: only what
G draws from changes. At each of --marks (steps) every average, its BatchNorm statistics re-measured as
`train` does, is scored at each truncation on --samples samples of the benchmark's noise (the first 1,000
are the benchmark's own 1,000), and the FD also on the first 1,000 alone, as the benchmark reads it.
--double-at N doubles the batch from step N instead of the default's 3,000, as `truncation.py --double-at` does,
and --g-hidden 512,256 trains G with other hidden widths, as `truncation.py --g-hidden` does.
"""

from __future__ import annotations

import argparse
import copy

import torch

from benchmark import run  # the benchmark's own run, by steps (this script's folder is on sys.path)
from truncation import widths
from gan_course.batches import training_images
from gan_course.experiments import variant
from gan_course.models import sample_noise
from gan_course.quality import load_meter
from gan_course.sampling import generate, remeasure_batchnorm, update_ema
from gan_course.settings import course_default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--marks", default="7930,15000,25000,36273", help="steps at which to score every average")
    parser.add_argument("--from-step", type=int, default=1, help="the step from which the longer averages start")
    parser.add_argument("--decays", default="0.9995,0.9998", help="decays of the longer averages")
    parser.add_argument("--warmups", default="10", help="warm-ups of the longer averages (ema_rate's; 10: the library's)")
    parser.add_argument("--psi", default="0.8", help="truncations to draw each average with")
    parser.add_argument("--samples", type=int, default=5000, help="samples scored per average (at least 1,000)")
    parser.add_argument("--double-at", type=int, help="the step from which batches double (default: the course default's)")
    parser.add_argument("--g-hidden", type=widths, help="the generator's hidden widths instead of the default's, e.g. 512,256")
    args = parser.parse_args()
    marks = sorted(int(m) for m in args.marks.split(","))
    kinds = [(float(d), int(w)) for d in args.decays.split(",") for w in args.warmups.split(",")]  # (decay, warm-up)
    if args.samples < 1000:
        parser.error("--samples must be at least 1000 (the benchmark's 1,000 come first)")
    if marks[0] <= args.from_step:
        parser.error(f"every mark must come after --from-step {args.from_step}")
    torch.set_num_threads(1)
    images, meter = training_images(), load_meter(verbose=False)
    z = sample_noise(args.samples, 64, torch.Generator().manual_seed(123))  # its first 1,000: the benchmark's noise
    for seed in (int(s) for s in args.seeds.split(",")):
        config = course_default() if args.g_hidden is None else variant(course_default(), g_hidden=args.g_hidden)
        config.ema, config.threads = 0.999, 1  # the shorter average, beside which the longer ones are kept
        if args.double_at is not None:
            config.double_batch_at = args.double_at or None  # 0: never
        longer, copies = {}, []

        def on_step(result):
            if result.step == args.from_step:
                longer.update({kind: copy.deepcopy(result.ema_generator) for kind in kinds})
            if result.step > args.from_step:
                for (decay, warmup), average in longer.items():
                    update_ema(average, result.generator, decay, result.step, warmup)
            if result.step in marks:
                copies.extend((result.step, kind, copy.deepcopy(average)) for kind, average in longer.items())

        _, shorter = run(config, images, torch.device("cpu"), marks, seed=seed, by="steps", on_step=on_step)
        for generator in (g for _, _, g in copies):
            remeasure_batchnorm(generator)  # as `run` does for the default's own
        for step, (decay, warmup), generator in [(step, (config.ema, 10), g) for _, step, g in shorter] + copies:
            for psi in (float(p) for p in args.psi.split(",")):
                generator.truncation = psi
                fake = torch.cat([generate(generator, chunk) for chunk in z.split(250)])
                every, first = meter.score(fake), meter.score(fake[:1000])
                name = f"{decay:g}" + ("" if warmup == 10 else f", warm-up {warmup}")
                print(f"seed {seed}, step {step:,}, average {name}, truncation {psi:g}: "
                      f"{every.confident:.1%} of {len(fake):,}, FD {every.fd:.1f}; "
                      f"first 1,000: {first.confident:.1%}, FD {first.fd:.1f}", flush=True)

if __name__ == "__main__":
    main()
