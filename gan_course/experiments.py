"""Training runs side by side: the same seed, the same budget, one setting changed (notebook 06).

    base = course_default(piles=False)  # D judges an image alone, as in the lectures' loop
    runs = {"balanced": run_config("balanced", base, images, steps=3000, meter=meter),
            "strong D": run_config("strong D", variant(base, lr_g=base.lr_g / 1000), images, 3000, meter)}
    fig = compare_runs(runs.values())
    print(summary_table(runs.values(), base))
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import matplotlib.pyplot as plt
import torch

from gan_course.errors import CourseError
from gan_course.history import TrainResult
from gan_course.models import ModelConfig, sample_noise
from gan_course.quality import DigitMeter, Quality
from gan_course.sampling import generate
from gan_course.seeding import seed_everything
from gan_course.settings import TrainConfig, course_default
from gan_course.steps import STATS
from gan_course.training import train
from gan_course.visualisation import plot_trend, running_mean, show_grid

METER_SEED = 1  # the meter's noise: the same 500 z for every run, so readings are comparable
WINDOW = 200  # the last steps averaged by `Run.d_outputs`


@dataclass
class Run:
    """A named, finished run and the digit meter's reading of its samples."""

    name: str
    result: TrainResult
    quality: Quality | None  # None when no meter was given

    def d_outputs(self, window: int = WINDOW) -> tuple[float, float]:
        """Mean D(x) and D(G(z)) (before D's step) over the last `window` steps."""
        history = self.result.history
        d_x, d_g_z = history.d_x[-window:], history.d_g_z1[-window:]
        return sum(d_x) / len(d_x), sum(d_g_z) / len(d_g_z)

    def gradient_norms(self, first: int = 100, last: int = WINDOW) -> tuple[float, float]:
        """The typical norm of the gradient reaching G, the median over the first `first` steps and over the
        last `last` steps (a median, because a few steps' bursts would dominate a mean)."""
        norms = torch.tensor(self.result.history.grad_g)
        return norms[:first].median().item(), norms[-last:].median().item()

    def summary(self) -> str:
        d_x, d_g_z = self.d_outputs()
        text = f"{self.name}: {self.result.history.step[-1]:,} steps, D(x) {d_x:.2f}, D(G(z)) {d_g_z:.2f}"
        text += f"; {self.quality.summary()}" if self.quality is not None else ""
        return text + "".join(f"\n  warning: {message}" for message in self.result.history.warnings)


def variant(base: TrainConfig | None = None, **changes) -> TrainConfig:
    """A copy of `base` (default: `course_default()`) with some fields changed.

    Accepts TrainConfig fields (lr_g, lr_d, beta1, k, batch_size, ...) and ModelConfig
    fields (g_hidden, d_hidden, latent_dim, ...); `base` itself is left unchanged.
    """
    base = base if base is not None else course_default()
    train_names = {f.name for f in fields(TrainConfig)} - {"model"}
    model_names = {f.name for f in fields(ModelConfig)} - {"model"}
    unknown = sorted(set(changes) - train_names - model_names)
    if unknown:
        raise CourseError(f"Unknown setting(s) {', '.join(unknown)}. Choose from: {', '.join(sorted(train_names | model_names))}.")
    model = replace(base.model, **{k: v for k, v in changes.items() if k in model_names})
    return replace(base, model=model, **{k: v for k, v in changes.items() if k in train_names})


def run_config(name: str, config: TrainConfig, images: torch.Tensor, steps: int, meter: DigitMeter | None = None,
               seed: int = 0, device: torch.device | str = "cpu", n_meter: int = 500, progress: bool = True) -> Run:
    """Train `config` for exactly `steps` steps from `seed` and score `n_meter` samples with `meter`.

    images: (N, 1, 28, 28) in [-1, 1]. The budget is steps, never seconds, so the same seed gives
    the same run on any machine speed; the meter's noise is the same for every run.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise CourseError(f"steps must be a positive integer; got {steps!r}. Try steps=3000.")
    if not isinstance(n_meter, int) or n_meter < 2:
        raise CourseError(f"n_meter must be an integer of at least 2; got {n_meter!r}. A few hundred give stable figures.")
    config = replace(config, steps=steps, epochs=None, seconds=None, snapshot_every=min(config.snapshot_every, steps))
    rng = seed_everything(seed)
    result = train(config, images, device, rng=rng, progress=progress)
    quality = None
    if meter is not None:
        z = sample_noise(n_meter, config.model.latent_dim, torch.Generator().manual_seed(METER_SEED), device)
        quality = meter.score(generate(result.sampler, z))  # (n_meter, 1, 28, 28) in [-1, 1]
    return Run(name, result, quality)


def _as_list(runs) -> list[Run]:
    runs = list(runs.values() if isinstance(runs, dict) else runs)
    if not runs or not all(isinstance(run, Run) for run in runs):
        raise CourseError("Give one or more Run objects (what run_config returns), e.g. compare_runs([balanced, strong_d]).")
    return runs


def compare_runs(runs, n_images: int = 36, title: str = "Same seed, same budget"):
    """One row per run: D(x) and D(G(z)) over the steps, its last fixed-noise samples, and the
    meter's confident samples per digit (an empty bar is a missing digit: mode collapse)."""
    runs = _as_list(runs)
    fig, axes = plt.subplots(len(runs), 3, figsize=(15, 3.6 * len(runs)), squeeze=False,
                             gridspec_kw={"width_ratios": [1.6, 1, 1.3]})
    for (curves, grid, bars), run in zip(axes, runs):
        _plot_curves(run, curves)
        step, images = run.result.history.snapshots[-1]
        show_grid(images[:n_images], f"{run.name}: samples at step {step:,}", ax=grid)
        _plot_counts(run, bars)
    fig.suptitle(title, fontsize=14)
    fig.tight_layout()
    return fig


def _plot_curves(run: Run, ax) -> None:
    """D(x) and D(G(z)) (before D's step) per step, faint, with their running means on top."""
    history = run.result.history
    plot_trend(ax, history.step, history.d_x, "D(x), real (running mean)", "tab:blue")
    plot_trend(ax, history.step, history.d_g_z1, "D(G(z)), fake (running mean)", "tab:orange")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set(title=f"{run.name}: what D believes", xlabel="step", ylabel="probability 'real'", ylim=(0, 1.22),
           yticks=[0, 0.25, 0.5, 0.75, 1])
    ax.legend(loc="upper center", ncol=2, fontsize=8)  # above the curves, which stay in [0, 1]


def _plot_counts(run: Run, ax) -> None:
    ax.set(title=f"{run.name}: digit meter", xlabel="digit", ylabel="confident samples", xticks=range(10))
    if run.quality is None:
        ax.text(0.5, 0.5, "no meter", ha="center", transform=ax.transAxes)
        return
    ax.bar(range(10), run.quality.counts, color="tab:green")
    ax.set_ylim(0, 1.35 * max(max(run.quality.counts), 1))  # headroom: the summary sits above the bars, not on them
    ax.text(0.02, 0.97, run.quality.summary().replace(", FD", "\nFD"), transform=ax.transAxes, va="top", fontsize=10)


def changes(config: TrainConfig, base: TrainConfig | None = None) -> str:
    """The settings in which `config` differs from `base` (default: the course default), e.g. "d_steps=5, lr_g=0.01"."""
    given, base, found = base is not None, base if base is not None else course_default(), []
    for owner, other in ((config, base), (config.model, base.model)):
        for f in fields(owner):
            value = getattr(owner, f.name)
            if f.name not in ("model", "steps", "epochs", "seconds", "snapshot_every") and value != getattr(other, f.name):
                found.append(f"{f.name}={value:g}" if isinstance(value, float) else f"{f.name}={value}")
    return ", ".join(found) or ("unchanged" if given else "course default")


def summary_table(runs, base: TrainConfig | None = None) -> str:
    """A text table: what each run changed from `base` (see `changes`), D's outputs and |grad G| (see `Run`), and
    the meter's figures."""
    runs = _as_list(runs)
    width = max(len(run.name) for run in runs) + 2
    header = (f"{'run':<{width}}{'D(x)':>6}{'D(G(z))':>9}{'|grad G| start':>15}{'end':>7}{'confident':>11}{'classes':>9}"
              f"{'FD':>7}{'warn':>6}  changed")
    lines = [header, "-" * len(header)]
    for run in runs:
        (d_x, d_g_z), (start, end), q = run.d_outputs(), run.gradient_norms(), run.quality
        meter = f"{q.confident:>11.0%}{q.classes:>6}/10{q.fd:>7.0f}" if q is not None else f"{'-':>11}{'-':>9}{'-':>7}"
        lines.append(f"{run.name:<{width}}{d_x:>6.2f}{d_g_z:>9.2f}{start:>15.2f}{end:>7.2f}{meter}"
                     f"{len(run.result.history.warnings):>6}  {changes(run.result.config, base)}")
    return "\n".join(lines)


def compare_curves(runs, stat: str = "grad_g", title: str = "", ylabel: str = "", log: bool = False, window: int = 50):
    """One bold line per run: the running mean of a per-step statistic of its history (`grad_g`, `d_g_z1`, ...)."""
    runs = _as_list(runs)
    if stat not in ("seconds", *STATS):
        raise CourseError(f"stat must be one of {', '.join(STATS)}; got {stat!r}.")
    fig, ax = plt.subplots(figsize=(12, 5))
    for run, color in zip(runs, plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        history = run.result.history
        ax.plot(history.step, running_mean(getattr(history, stat), window), color=color, linewidth=2, label=run.name)
    ax.set(title=title or f"{stat} per step (running mean over {window} steps)", xlabel="step", ylabel=ylabel or stat)
    if log:
        ax.set_yscale("log")
    ax.legend()
    return fig
