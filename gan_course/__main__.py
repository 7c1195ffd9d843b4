"""Command line: `python -m gan_course train | sample | data`. It parses arguments and calls the library.

User errors (bad arguments, missing data, unwritable folders) print one message and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from gan_course.errors import CourseError


def parsed(text: str, kind: type) -> int | float:
    """text as an int or a float, or the usage message argparse prints."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}, got {text!r}") from None


def positive_float(text: str) -> float:
    value = parsed(text, float)
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def step_or_never(text: str) -> int:
    """A step number, or 0 for never."""
    if text.strip() == "0":
        return 0
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a step number, or 0 for never, got {text!r}") from None


def positive_int(text: str) -> int:
    value = parsed(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def count_or_none(text: str) -> int:
    """0 for none, or a whole number of at least 2 (one pile or one island sorts nothing)."""
    value = parsed(text, int)
    if value == 1 or value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 for none or at least 2, got {text!r}")
    return value


def shrink_factor(text: str) -> float:
    """The truncation: above 0 and at most 1."""
    value = parsed(text, float)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1 (1 for none), got {text!r}")
    return value


def gamma_or_none(text: str) -> float:
    """The gradient penalty's gamma: 0 for none, or a positive number."""
    value = parsed(text, float)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 for none or a positive number such as 0.3, got {text!r}")
    return value


def decay_or_none(text: str) -> float:
    """The decay of the average of G's weights: 0 for none (draw from G itself), or a number in (0, 1)."""
    value = parsed(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be 0 for none or a decay below 1 such as 0.999, got {text!r}")
    return value


def digit(text: str) -> int:
    if text.strip() not in {str(d) for d in range(10)}:
        raise argparse.ArgumentTypeError(f"must be a digit from 0 to 9, got {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    from gan_course.settings import course_default

    default = course_default()
    p = argparse.ArgumentParser(prog="python -m gan_course", description="Train and sample the course's GANs on MNIST.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a GAN and write weights, samples, history and a grid into --out")
    t.add_argument("--model", choices=("mlp", "dcgan"), default=default.model.model)
    budget = t.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=positive_float, help="passes over the data")
    budget.add_argument("--steps", type=positive_int, help="discriminator steps")
    budget.add_argument("--seconds", type=positive_float, help=f"wall-clock training budget (default {default.seconds:g})")
    t.add_argument("--lr", type=positive_float, help="learning rate of both networks (default: the course's)")
    t.add_argument("--batch-size", type=positive_int, default=default.batch_size)
    t.add_argument("--double-batch-at", type=step_or_never, metavar="STEP",
                   help=f"double the batch from the first epoch at or after this step, 0 for never (default "
                        f"{default.double_batch_at} for the MLP; notebook 05)")
    t.add_argument("--halve-lr-at", type=step_or_never, metavar="STEP",
                   help=f"halve both learning rates after this step, 0 for never (default: {default.halve_lr_at} for "
                        f"the MLP with piles, never without; notebook 07)")
    t.add_argument("--r1", type=gamma_or_none, metavar="GAMMA",
                   help=f"gamma of the gradient penalty on real digits, R1 (0 for none; default: "
                        f"{default.r1 or 0:g} for the MLP with piles, none without; notebook 07)")
    t.add_argument("--ema", type=decay_or_none, metavar="DECAY",
                   help=f"decay of the average of G's weights that draws the digits (0: draw from G itself; "
                        f"default: {default.ema:g} for the MLP with piles, {course_default(piles=False).ema:g} "
                        f"otherwise; notebooks 05 and 07)")
    t.add_argument("--k", type=positive_int, default=1, help="generator steps per discriminator step")
    t.add_argument("--piles", type=count_or_none, metavar="N",
                   help=f"sort the digits into N piles of similar ones (k-means) and tell G and D the pile "
                        f"(default {default.model.piles} for the MLP; notebook 07); 0 for none")
    t.add_argument("--truncation", type=shrink_factor, metavar="PSI",
                   help=f"with piles: draw with the noise's style numbers times PSI (the truncation trick; default "
                        f"{default.model.truncation:g} with the default's piles; notebook 07); 1 for none")
    t.add_argument("--projection", type=int, choices=(0, 1),
                   help="with piles: 1 tells D the pile at its output too, a projection (the default's), 0 only "
                        "beside the pixels; notebook 07")
    t.add_argument("--islands", type=count_or_none, help="islands in the MLP's noise instead of the piles (10 before the "
                                               "piles came; notebook 05), 0 for plain noise")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    t.add_argument("--threads", type=positive_int, help="CPU threads (default: GAN_COURSE_THREADS, else half the cores no other program is busy on)")
    t.add_argument("--data", help="folder holding MNIST/raw/ (default: $GAN_COURSE_DATA, else ./data)")
    t.add_argument("--out", default="runs/default", help="output folder (default runs/default)")
    t.add_argument("--samples", type=positive_int, default=2000, help="digits to write to samples.pt")
    t.add_argument("--no-meter", action="store_true", help="skip the digit meter's summary")
    t.add_argument("--conditional", action="store_true",
                   help="train a conditional GAN that draws the digit asked for; also writes labels.pt")
    s = sub.add_parser("sample", help="draw digits from a trained generator")
    s.add_argument("run", nargs="?", help="a folder written by train (holding generator.pt)")
    s.add_argument("--checkpoint", help="generator.pt written by train (instead of RUN)")
    s.add_argument("--out", help="output folder for samples.pt and grid.png (default: RUN/sample)")
    s.add_argument("--samples", "--n", dest="samples", type=positive_int, default=2000, help="how many digits to draw")
    s.add_argument("--digit", type=digit, help="conditional runs only: the digit to draw (default: 0-9 in turn)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="auto")
    d = sub.add_parser("data", help="download MNIST into ./data if needed, then check the files")
    d.add_argument("--data", help="folder holding MNIST/raw/ (default: $GAN_COURSE_DATA, else ./data)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from gan_course import cli

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torchvision/torch chatter; our health warnings are printed
            return {"train": cli.train, "sample": cli.sample, "data": cli.data}[args.command](args)
    except CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
