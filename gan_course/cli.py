"""What the command line does (`python -m gan_course ...`), as plain functions over the library."""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from gan_course.batches import normalise
from gan_course.checkpoint import atomic_save, atomic_write_json, load_generator, save_generator
from gan_course.conditional import cycling_digits, digit_match
from gan_course.data import data_root, load_mnist, verify_files
from gan_course.device import choose_threads, get_device
from gan_course.errors import CourseError
from gan_course.models import ModelConfig, sample_noise
from gan_course.seeding import seed_everything
from gan_course import training
from gan_course.sampling import generate
from gan_course.settings import PILES, course_default
from gan_course.visualisation import save_grid


def check_writable(folder: Path) -> None:
    """Fail before training, not after, when the output folder cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise CourseError(f"Cannot write to the output folder {folder}: {err.strerror or err}. Choose another with --out.") from err


def write_samples(generator, latent_dim: int, n: int, seed: int, out: Path, title: str,
                  labels: torch.Tensor | None = None) -> torch.Tensor:
    """samples.pt: (n, 1, 28, 28) float32 in [-1, 1] from noise seeded by `seed`; grid.png of the first 64.

    labels (n,) int64 digits 0-9, for a conditional generator: the digit asked for each sample, saved
    in the same order as labels.pt.
    """
    device = next(generator.parameters()).device
    z = sample_noise(n, latent_dim, torch.Generator().manual_seed(seed), device)
    asked = labels.split(500) if labels is not None else [None] * len(z.split(500))
    samples = torch.cat([generate(generator, chunk, digits) for chunk, digits in zip(z.split(500), asked)])
    atomic_save(samples, out / "samples.pt")
    if labels is not None:
        atomic_save(labels.cpu(), out / "labels.pt")
    save_grid(samples[:64], out / "grid.png", title=title)
    return samples


def model_from_flags(model: ModelConfig, args: argparse.Namespace) -> ModelConfig:
    """The preset's model with --piles, --islands, --truncation and --projection; combinations that cannot train are refused
    in the flags' own words, before anything is written."""
    islands, piles = args.islands or 0, args.piles
    other = "--model dcgan" if model.model != "mlp" else "--conditional" if model.conditional else None
    for flag, value in (("--piles", piles), ("--islands", islands)):
        if value and other == "--model dcgan":
            raise CourseError(f"{flag} works with the MLP GAN only; the DCGAN has none. Drop {flag}, or --model dcgan.")
        if value and other:
            raise CourseError(f"{flag} gives G kinds of digit without labels, and --conditional tells G the digit "
                              f"itself: choose one. Drop {flag}, or --conditional.")
    if islands and piles:
        raise CourseError(f"--islands and --piles are two ways of giving G kinds of digit: choose one (--islands "
                          f"{islands} alone replaces the default's piles).")
    if islands > model.latent_dim:
        raise CourseError(f"--islands must be at most {model.latent_dim}, the size of the MLP's noise; got {islands}.")
    piles = piles if piles is not None else (0 if islands else model.piles)  # islands replace the default's piles
    truncation = args.truncation if args.truncation is not None else (model.truncation if piles else 1.0)
    if truncation != 1 and not piles:
        flag = "--islands" if islands else "--piles"
        why = other or f"{flag} {islands or 0}"
        undo = "" if other else f", or drop {flag} (the MLP's default has {PILES} piles)"
        raise CourseError(f"--truncation shrinks the style numbers of the GAN with piles, and {why} trains one "
                          f"without piles. Drop --truncation{undo}.")
    if args.projection and not piles:  # asked for by name, with no piles to tell D
        flag = "--islands" if islands else "--piles"
        raise CourseError(f"--projection tells D the pile at its output, and {other or f'{flag} {islands or 0}'} "
                          f"trains a GAN without piles. Drop --projection.")
    projection = bool(args.projection) if args.projection is not None else model.projection and bool(piles)
    return replace(model, islands=islands, piles=piles, truncation=truncation, projection=projection)


def train(args: argparse.Namespace) -> int:
    device = get_device(args.device)
    threads, why = None, ""
    if device.type == "cpu":  # decided here, printed, and stored in history.json: seed + threads reproduce the run
        threads, why = (args.threads, "--threads") if args.threads else choose_threads()
    out = Path(args.out)
    config = course_default(args.model, args.conditional)
    config.model = model_from_flags(config.model, args)
    config.batch_size, config.k, config.threads = args.batch_size, args.k, threads
    if args.double_batch_at is not None:  # else the preset's: 3000 for the MLP, never for the DCGAN and conditional GAN
        config.double_batch_at = args.double_batch_at or None
    if args.halve_lr_at is not None:  # else the preset's: after step 15,000 for the MLP with piles
        config.halve_lr_at = args.halve_lr_at or None
    elif not config.model.piles:  # without piles, as course_default(piles=False): no halving either
        config.halve_lr_at = None
    if args.r1 is not None:  # else the preset's
        config.r1 = args.r1 or None
    elif not config.model.piles:  # without piles, as course_default(piles=False): without the penalty too
        config.r1 = None
    if args.ema is not None:  # else the preset's
        config.ema = args.ema or None
    elif not config.model.piles:  # and with the lectures' shorter average
        config.ema = course_default(piles=False).ema
    if args.lr is not None:
        config.lr_g = config.lr_d = args.lr
    if args.epochs or args.steps or args.seconds:
        config.epochs, config.steps, config.seconds = args.epochs, args.steps, args.seconds
    rng = seed_everything(args.seed)
    images, labels = load_mnist(args.data)
    images = normalise(images)
    config.validate(len(images))  # before the output folder is made
    check_writable(out)
    meter = None if args.no_meter else _meter(args.data)
    kind = config.model.title
    print(f"Training the {kind} on {len(images):,} digits on {device}"
          + (f" ({threads} threads: {why})" if threads else "") + f", budget: {_budget_text(config)}")
    result = training.train(config, images, device, rng=rng, labels=labels if args.conditional else None)
    history = result.history
    save_generator(result.sampler, config.model, out / "generator.pt")
    atomic_write_json({"config": config.to_dict(), "history": history.to_dict()}, out / "history.json")
    asked = cycling_digits(args.samples) if args.conditional else None
    samples = write_samples(result.sampler, config.model.latent_dim, args.samples, args.seed, out,
                            f"{kind} after {history.step[-1]} steps", asked)
    for message in history.warnings:
        print(f"warning: {message}")
    if history.machine:
        print(f"note: {history.machine}")
    seconds = history.seconds[-1]
    summary = f"{'Interrupted' if history.interrupted else 'Trained'} {history.step[-1]:,} steps in {seconds:.1f} s ({1000 * seconds / history.step[-1]:.1f} ms/step)"
    if meter is not None:
        summary += f"; digit meter: {meter.score(samples).summary()}"
        if asked is not None:
            summary += f", asked-for digit drawn {float(digit_match(meter, samples, asked).mean()):.0%}"
    written = "samples.pt, labels.pt" if asked is not None else "samples.pt"
    print(f"{summary}; wrote {out}/generator.pt, {written}, history.json, grid.png")
    return 0


def _meter(root):
    from gan_course.quality import load_meter

    return load_meter(root)


def _budget_text(config) -> str:
    parts = [f"{v:g} {k}" for k, v in (("epochs", config.epochs), ("steps", config.steps), ("seconds", config.seconds)) if v]
    return ", ".join(parts)


def sample(args: argparse.Namespace) -> int:
    device = get_device(args.device)
    checkpoint, out = _sample_paths(args)
    generator, config = load_generator(checkpoint, device, conditional=None)
    if args.digit is not None and not config.conditional:
        raise CourseError(f"--digit needs a conditional run, but {checkpoint} holds an unconditional generator, which "
                          "cannot be told the digit. Drop --digit, or train one: python -m gan_course train --conditional.")
    check_writable(out)
    labels, what = None, f"{config.title} samples"
    if config.conditional:
        labels = torch.full((args.samples,), args.digit) if args.digit is not None else cycling_digits(args.samples)
        what = f"{config.title}: " + (f"digit {args.digit}" if args.digit is not None else "digits 0-9 in turn")
    write_samples(generator, config.latent_dim, args.samples, args.seed, out, what, labels)
    also = f", the digits asked for to {out}/labels.pt" if labels is not None else ""
    print(f"Wrote {args.samples} samples to {out}/samples.pt{also} and the first 64 to {out}/grid.png")
    return 0


def _sample_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """(checkpoint, output folder) from `sample RUN` or `sample --checkpoint FILE --out DIR`."""
    if (args.run is None) == (args.checkpoint is None):
        raise CourseError("Name the generator once: a run folder (python -m gan_course sample runs/default) "
                          "or --checkpoint FILE --out DIR.")
    if args.run is not None:
        return Path(args.run) / "generator.pt", Path(args.out or Path(args.run) / "sample")
    if args.out is None:
        raise CourseError("--checkpoint needs --out DIR, the folder for samples.pt and grid.png.")
    return Path(args.checkpoint), Path(args.out)


def data(args: argparse.Namespace) -> int:
    root = data_root(args.data)
    images, labels = load_mnist(args.data)
    checks = verify_files(args.data)
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise CourseError(f"{', '.join(bad)} in {root / 'MNIST' / 'raw'} failed the md5 check: the files are corrupt. "
                          "Delete them and run this again to download them afresh.")
    split = "training" if len(images) == 60000 else "test"
    print(f"MNIST ready in {root.resolve()}: {len(images):,} {split} digits; "
          f"{len(checks)} .gz file(s) match torchvision's md5s" + (" (uncompressed files only)" if not checks else ""))
    return 0
