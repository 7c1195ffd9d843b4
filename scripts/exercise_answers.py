"""Run the notebooks' "Try this" exercises whose answers docs/teaching.md gives with figures, and print them.

    GAN_COURSE_DATA=../shared/data .venv/bin/python scripts/exercise_answers.py          # all, about 25 minutes
    GAN_COURSE_DATA=../shared/data .venv/bin/python scripts/exercise_answers.py 05-2 07-8

Each exercise is done as a student would do it: the notebook's own cells (read from its Jupytext `.py`) with
the one change the exercise asks for, or the notebook's own call with the setting the exercise names. It runs
on one CPU thread on the CPU, as the stored outputs were made, so a run on the same kind of machine prints
the same figures. The teacher's guide says "in our run of it" for every figure printed here; when a notebook
changes, run this again and update the guide.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

# Exercises that change a notebook's own cells: (notebook, the cell to stop after, [(text as stored, as changed)]).
# The cells print what the exercise asks about.
CELL_EDITS = {
    "04-3": ("04_losses", "generator_loss(discriminator(generator(z))).backward()",
             [("generator_loss(discriminator(generator(z))).backward()",
               "saturating_generator_loss(discriminator(generator(z))).backward()")]),
    "05-2": ("05_training", "G_losses, D_losses, D_x, D_G_z1, D_G_z2 = [], [], [], [], []",
             [("output = discriminator(fake)  # no detach: the gradient must reach G",
               "output = discriminator(fake.detach())")]),
    # 07, Try this 2: 3,000 steps instead of 15,000, digit by digit
    "07-2": ("07_conditional", 'print(f"overall {float(shares.mean()):.1%}',
             [("STEPS = 15_000", "STEPS = 3_000")]),
    # 07, Try this 5: train on the first 500 digits only; the copying check then searches those 500
    "07-5": ("07_conditional", 'print(f"{space:>8}: generated median',
             [("images, labels = normalise(all_images[:9000]), all_labels[:9000].long()",
               "images, labels = normalise(all_images[:500]), all_labels[:500].long()")]),
    # 07, Try this 7: 10 piles instead of 50, "and 10 for the 50s in the purity cell"
    "07-7": ("07_conditional", "print(f\"digits in a pile whose most common digit is theirs",
             [("centres = find_piles(images, 50)", "centres = find_piles(images, 10)"),
              ("sizes = torch.bincount(piles, minlength=50)", "sizes = torch.bincount(piles, minlength=10)"),
              ('print(f"50 piles of', 'print(f"10 piles of'), ("centres.view(50, 1, 28, 28)", "centres.view(10, 1, 28, 28)"),
              ("for p in range(50))", "for p in range(10))")]),
    # 07, Try this 8: the projection run's G drawn at truncation 0.5 and 0.2 as well, "in the loop above"
    "07-8": ("07_conditional", 'print(f"truncation {psi:g}: {drawn_quality[psi].summary()}")',
             [("for psi in (1.0, TRUNCATION, 0.8):", "for psi in (1.0, TRUNCATION, 0.8, 0.5, 0.2):")]),
}


def check_edits(stem: str, until: str, edits: list[tuple[str, str]]) -> None:
    """Raise SystemExit unless `until` and every line an exercise changes occur exactly once in the notebook."""
    source = (NOTEBOOKS / f"{stem}.py").read_text()
    for text in [until] + [old for old, _ in edits]:
        if source.count(text) != 1:
            raise SystemExit(f"{stem}.py holds {source.count(text)} copies of {text!r}, not one: the notebook changed; "
                             f"update CELL_EDITS in {Path(__file__).name}.")


def run_cells(stem: str, until: str, edits: list[tuple[str, str]]) -> dict:
    """Execute `stem`'s code cells in order, with `edits` applied, up to the cell holding `until`; return its names.

    Error demos (cells tagged raises-exception) may fail, as they do in JupyterLab's Run All; notebook magics
    (`%matplotlib inline`) are left out. The cells run in notebooks/, as a kernel does.
    """
    import jupytext
    import matplotlib

    matplotlib.use("Agg")
    check_edits(stem, until, edits)
    names = {"__name__": stem}
    with contextlib.chdir(NOTEBOOKS):
        for cell in jupytext.read(NOTEBOOKS / f"{stem}.py").cells:
            if cell.cell_type != "code":
                continue
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))
            for old, new in edits:
                source = source.replace(old, new)
            try:
                exec(compile(source, f"{stem}.py", "exec"), names)
            except Exception:
                if "raises-exception" not in cell.metadata.get("tags", []):
                    raise
            if until in cell.source:
                return names
    raise SystemExit(f"{stem}.py has no cell holding {until!r}")


def grad_norm(model) -> float:
    import torch

    return float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm())


def exercise_04_3() -> dict:
    """04, Try this 3: G's gradient norm after backward(), the course's loss against the saturating one."""
    stem, until, edits = CELL_EDITS["04-3"]
    before = run_cells(stem, until, [])
    norms = {"non-saturating": grad_norm(before["generator"])}
    after = run_cells(stem, until, edits)
    norms["saturating"] = grad_norm(after["generator"])
    print(f"04-3: G's gradient norm, non-saturating {norms['non-saturating']:.2f}, saturating {norms['saturating']:.2f}")
    return norms


def exercise_05_2() -> None:
    """05, Try this 2: discriminator(fake.detach()) in G's half of the written-out loop."""
    stem, until, edits = CELL_EDITS["05-2"]
    names = run_cells(stem, until, edits)
    last = slice(-200, None)
    mean = {key: statistics.mean(names[key][last]) for key in ("D_losses", "G_losses", "D_x", "D_G_z1")}
    grids = names["grids"]
    shift = max(float((a - b).abs().max()) for (_, a), (_, b) in zip(grids, grids[1:]))
    no_grad = all(p.grad is None for p in names["generator"].parameters())
    print(f"05-2: last 200 steps: D's loss {mean['D_losses']:.4f}, G's {mean['G_losses']:.2f}, D(x) {mean['D_x']:.2f}, "
          f"D(G(z)) {mean['D_G_z1']:.2f}; G's losses first {names['G_losses'][0]:.2f}, last {names['G_losses'][-1]:.1f}; "
          f"G has no gradients: {no_grad}; largest pixel change between grids {shift:.2f}")


def live_run(epochs: int, lr: float):
    """Notebook 05's live run (`train_and_show`) with these sliders, without the dashboard's pictures."""
    import matplotlib

    matplotlib.use("Agg")
    from gan_course.batches import training_images
    from gan_course.live import train_and_show
    from gan_course.quality import load_meter

    with contextlib.redirect_stdout(io.StringIO()) as printed:  # outside a notebook each redraw prints "Figure(...)"
        result = train_and_show(training_images(), epochs=epochs, lr=lr, meter=load_meter(), progress=False)
    print("".join(line for line in printed.getvalue().splitlines(keepends=True) if not line.startswith("Figure(")),
          end="")
    return result


def exercise_05_3() -> None:
    """05, Try this 3: EPOCHS = 60 against the stored 30 (the summary lines carry the meter's figures)."""
    for epochs in (30, 60):
        live_run(epochs, 2e-3)


def exercise_05_4() -> None:
    """05, Try this 4: the learning-rate slider at 1e-4 and at 1e-2 (30 epochs)."""
    for lr in (1e-4, 1e-2):
        history = live_run(30, lr).history
        spread = {name: getattr(history, name)[-1000:] for name in ("loss_d", "loss_g")}
        print(f"05-4: lr {lr:g}, last 1,000 steps: " + ", ".join(
            f"{name} {statistics.mean(v):.2f} ± {statistics.pstdev(v):.2f}" for name, v in spread.items()))


def notebook_run(name: str, config, images, steps: int, seed: int = 0):
    from gan_course.experiments import run_config
    from gan_course.quality import load_meter

    began = time.perf_counter()
    run = run_config(name, config, images, steps, load_meter(), seed=seed)
    print(f"{run.summary()}  ({time.perf_counter() - began:.0f} s)")
    return run


def exercise_05_7_8() -> None:
    """05, Try this 7 and 8: 20 and 2 islands, and doubling at step 500, over the notebook's 6,000 steps."""
    from gan_course.batches import training_images
    from gan_course.experiments import variant
    from gan_course.settings import course_default

    images, config = training_images(), course_default(piles=False)
    for name, change in (("20 islands", {"islands": 20}), ("2 islands", {"islands": 2}),
                         ("doubling at step 500", {"double_batch_at": 500})):
        notebook_run(f"05-7/8: {name}", variant(config, **change), images, 6000)


def balance_runs(*runs: tuple[str, dict, int]) -> list:
    """Notebook 06's runs: `course_default(piles=False)` with the named changes, 3,000 steps from a seed."""
    from gan_course.batches import training_images
    from gan_course.experiments import variant
    from gan_course.settings import course_default

    images, default = training_images(), course_default(piles=False)
    return [notebook_run(name, variant(default, **change), images, 3000, seed) for name, change, seed in runs]


def exercise_06_1() -> None:
    """06, Try this 1: the strong D (4x wider) with 5 D steps per G step instead of 3."""
    run, = balance_runs(("06-1: strong D, d_steps=5", {"d_steps": 5, "d_hidden": (1024, 512)}, 0))
    (d_x, d_g_z), (start, end) = run.d_outputs(), run.gradient_norms()
    print(f"06-1: D(x) {d_x:.2f}, D(G(z)) {d_g_z:.2f}, G's gradient first 100 steps {start:.2f}, last 200 {end:.2f}")


def exercise_06_2() -> None:
    """06, Try this 2: D first and G first with seeds 1 and 2."""
    balance_runs(*[(f"06-2: {who} first, seed {seed}", {"g_first": who == "G"}, seed) for seed in (1, 2) for who in "DG"])


def exercise_06_3() -> None:
    """06, Try this 3: k = 3 G steps per round with the strong D of section 3."""
    balance_runs(("06-3: strong D and k = 3", {"k": 3, "d_steps": 3, "d_hidden": (1024, 512)}, 0))


def exercise_06_4() -> None:
    """06, Try this 4: the mode-collapse setting (G's learning rate x 5) with seeds 1 and 2."""
    from gan_course.settings import course_default

    lr_g = course_default(piles=False).lr_g * 5
    for run in balance_runs(*[(f"06-4: fast G, seed {seed}", {"lr_g": lr_g}, seed) for seed in (1, 2)]):
        print(f"   confident samples per digit 0-9: {run.quality.counts}")


def exercise_06_5() -> None:
    """06, Try this 5: D's hidden layer from 4 units up to the course's 256."""
    balance_runs(*[(f"06-5: d_hidden=({units},)", {"d_hidden": (units,)}, 0) for units in (4, 8, 16, 32, 64, 128)])


def exercise_07_7() -> None:
    """07, Try this 7: 10 piles instead of 50; the notebook's cells print the purity, then which digits share a pile."""
    import torch

    names = run_cells(*CELL_EDITS["07-7"])
    for p in range(10):
        kinds = torch.bincount(names["labels"][names["piles"] == p], minlength=10)
        print("   " + ", ".join(f"{int(d)}s {float(kinds[d] / kinds.sum()):.0%}" for d in kinds.argsort(descending=True)[:3]))


EXERCISES = {"04-3": exercise_04_3, "05-2": exercise_05_2, "05-3": exercise_05_3, "05-4": exercise_05_4,
             "05-7/8": exercise_05_7_8, "06-1": exercise_06_1, "06-2": exercise_06_2, "06-3": exercise_06_3,
             "06-4": exercise_06_4, "06-5": exercise_06_5,
             "07-2": partial(run_cells, *CELL_EDITS["07-2"]), "07-5": partial(run_cells, *CELL_EDITS["07-5"]),
             "07-7": exercise_07_7, "07-8": partial(run_cells, *CELL_EDITS["07-8"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", metavar="EXERCISE", help=f"some of: {', '.join(EXERCISES)} (default: all)")
    args = parser.parse_args()
    unknown = [name for name in args.only if name not in EXERCISES]
    if unknown:
        parser.error(f"no exercise {', '.join(unknown)}; choose from {', '.join(EXERCISES)}.")
    os.environ["GAN_COURSE_DEVICE"] = "cpu"  # the stored outputs are CPU figures
    import torch

    torch.set_num_threads(1)  # the stored outputs' thread count: another one sums in another order
    sys.path.insert(0, str(ROOT))
    for name in args.only or EXERCISES:
        EXERCISES[name]()


if __name__ == "__main__":
    main()
