"""Figures of the course: digit grids, loss curves, D(x)/D(G(z)), real vs fake, snapshots (notebooks 02-06).

Every helper returns its `Figure` and accepts `ax=` to draw into an existing one.
"""

from __future__ import annotations

import math
import os

import matplotlib

if not os.environ.get("MPLBACKEND") and "ipykernel" not in __import__("sys").modules:
    matplotlib.use("Agg")  # no display outside notebooks; a notebook keeps its inline backend
import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid

from gan_course.batches import denormalise
from gan_course.checkpoint import atomic_write
from gan_course.errors import CourseError
from gan_course.history import is_timeline_step


def _axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def grid_image(images: torch.Tensor, nrow: int | None = None) -> torch.Tensor:
    """images (B, 1, 28, 28) in [-1, 1] -> one (H, W) picture in [0, 1] with a 2-pixel border."""
    nrow = nrow or max(1, math.ceil(math.sqrt(len(images))))
    return make_grid(denormalise(images.detach().cpu()), nrow=nrow, padding=2, pad_value=1.0)[0]


def show_grid(images: torch.Tensor, title: str = "", nrow: int | None = None, labels=None, ax=None,
              figsize=(5, 5)):
    """A grid of digits (B, 1, 28, 28) in [-1, 1], grey on black; `labels` (B,) are written under the title."""
    fig, ax = _axes(ax, figsize)
    ax.imshow(grid_image(images, nrow).numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if labels is not None:
        nrow = nrow or max(1, math.ceil(math.sqrt(len(images))))
        rows = [" ".join(str(int(v)) for v in labels[i:i + nrow]) for i in range(0, len(labels), nrow)]
        title = f"{title}\nlabels, row by row: " + " | ".join(rows) if len(rows) <= 2 else title
    ax.set_title(title)
    return fig


def show_labelled_digits(images: torch.Tensor, labels: torch.Tensor, ncols: int = 8, title: str = "Real MNIST digits"):
    """Each digit (B, 1, 28, 28) in [-1, 1] in its own panel, its label above it."""
    rows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(rows, ncols, figsize=(1.2 * ncols, 1.35 * rows + 0.5), squeeze=False)
    for ax, i in zip(axes.flat, range(rows * ncols)):
        ax.set_axis_off()
        if i < len(images):
            ax.imshow(denormalise(images[i, 0]).numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"label {int(labels[i])}", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_grid(images: torch.Tensor, path, title: str = "") -> None:
    """Save a digit grid as a PNG, atomically."""
    fig = show_grid(images, title)
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight"))
    finally:
        plt.close(fig)


def running_mean(values: list[float], window: int = 50) -> list[float]:
    """Mean of each value and up to `window - 1` before it: the trend of a noisy per-step curve."""
    if not isinstance(window, int) or window < 1:
        raise CourseError(f"window must be a positive integer; got {window!r}.")
    sums = torch.tensor(values, dtype=torch.float64).cumsum(0).tolist()
    return [(sums[i] - (sums[i - window] if i >= window else 0.0)) / min(i + 1, window) for i in range(len(values))]


def plot_trend(ax, steps, values, label: str, color: str, window: int = 50) -> None:
    """Per-step values faint, their running mean bold: small batches make single steps noisy."""
    ax.plot(steps, values, color=color, linewidth=0.5, alpha=0.25)
    ax.plot(steps, running_mean(values, window), color=color, linewidth=1.8, label=label)


def plot_losses(history, ax=None, figsize=(7, 4), window: int = 50):
    """Discriminator and generator losses per step (faint) and their running mean over `window` steps."""
    fig, ax = _axes(ax, figsize)
    plot_trend(ax, history.step, history.loss_d, "discriminator", "tab:blue", window)
    plot_trend(ax, history.step, history.loss_g, "generator", "tab:orange", window)
    ax.set(title="Losses", xlabel="step", ylabel="BCE loss")
    ax.legend()
    return fig


def plot_d_outputs(history, ax=None, figsize=(7, 4), window: int = 50):
    """D(x) on real images and D(G(z)) before/after D's step (running means); 0.5 is 'cannot tell'."""
    fig, ax = _axes(ax, figsize)
    plot_trend(ax, history.step, history.d_x, "D(x), real", "tab:blue", window)
    plot_trend(ax, history.step, history.d_g_z1, "D(G(z)) before D step", "tab:orange", window)
    plot_trend(ax, history.step, history.d_g_z2, "D(G(z)) after D step", "tab:green", window)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set(title="What the discriminator believes", xlabel="step", ylabel="probability 'real'", ylim=(0, 1))
    ax.legend(loc="best")
    return fig


def show_real_vs_fake(real: torch.Tensor, fake: torch.Tensor, title: str = "", figsize=(10, 5)):
    """Real digits next to generated ones, both (B, 1, 28, 28) in [-1, 1]."""
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize)
    show_grid(real, "Real", ax=left)
    show_grid(fake, "Generated", ax=right)
    if title:
        fig.suptitle(title)
    return fig


def show_snapshots(snapshots, n: int = 16, max_panels: int = 12, figsize=None):
    """The same fixed noise through G over time: the snapshots (step, images) at steps 0, 10, 20, 50, 100, ...
    (log-spaced: G changes fastest early on) and the last one, up to `max_panels`, in rows of at most 6."""

    if not snapshots:
        raise CourseError("no snapshots to show: train for at least one step first.")
    timeline = [shot for shot in snapshots[:-1] if is_timeline_step(shot[0])] + [snapshots[-1]]
    if len(timeline) > max_panels:  # spread over the panels actually drawn: first to last
        timeline = [timeline[round(i * (len(timeline) - 1) / (max_panels - 1))] for i in range(max_panels)]
    rows = math.ceil(len(timeline) / 6)
    cols = math.ceil(len(timeline) / rows)
    fig, axes = plt.subplots(rows, cols, figsize=figsize or (2.5 * cols, 2.9 * rows), squeeze=False)
    for ax in axes.flat[len(timeline):]:
        ax.axis("off")
    for ax, (step, images) in zip(axes.flat, timeline):
        show_grid(images[:n], f"step {step:,}", ax=ax)
    fig.suptitle("The same fixed noise through the generator over time", fontsize=14)
    fig.tight_layout()
    return fig


def figure_png(fig, close: bool = True) -> bytes:
    """The figure as PNG bytes (for an ipywidgets.Image); closes it unless `close=False`."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    if close:
        plt.close(fig)
    return buffer.getvalue()


def show_digit_rows(images: torch.Tensor, title: str = "", ax=None, figsize=(7, 7.4)):
    """Images (10 * C, 1, 28, 28) in [-1, 1], row by row for the digits 0-9; each row labelled with its digit."""
    if len(images) % 10:
        raise CourseError(f"need 10 rows of images, a multiple of 10; got {len(images)}.")
    fig, ax = _axes(ax, figsize)
    show_grid(images, title, nrow=len(images) // 10, ax=ax)
    for digit in range(10):  # 30 pixels per row: 28 for the digit, 2 of border
        ax.text(-4, 2 + 30 * digit + 14, str(digit), ha="right", va="center", fontsize=14)
    return fig


def plot_digit_match(shares, ax=None, figsize=(7, 3.5), title: str = "Drawn as the digit asked for"):
    """Ten bars: per digit 0-9, the share (in [0, 1]) of samples the meter reads as the digit asked for."""
    fig, ax = _axes(ax, figsize)
    shares = [float(s) for s in shares]
    ax.bar(range(10), shares, color=["tab:green" if s >= 0.9 else "tab:orange" for s in shares])
    for digit, share in enumerate(shares):
        ax.text(digit, min(share, 1.0) + 0.02, f"{share:.0%}", ha="center", fontsize=10)
    ax.axhline(0.9, color="grey", linestyle=":", linewidth=1)
    ax.set(title=title, xlabel="digit asked for", ylabel="share read as that digit", ylim=(0, 1.12),
           xticks=range(10))
    return fig


def show_nearest(queries: torch.Tensor, neighbours: torch.Tensor, distances, title: str = "",
                 labels: tuple[str, str] = ("generated", "nearest training digit"), figsize=None):
    """Each query digit above its nearest neighbour, the distance between them under it; all (B, 1, 28, 28)."""
    n = len(queries)
    fig, axes = plt.subplots(2, n, figsize=figsize or (1.3 * n + 1.2, 3.6), squeeze=False)
    for i in range(n):
        for row, images in enumerate((queries, neighbours)):
            axes[row, i].imshow(denormalise(images[i, 0].cpu()).numpy(), cmap="gray", vmin=0, vmax=1)
            axes[row, i].set_xticks([])
            axes[row, i].set_yticks([])
        axes[1, i].set_xlabel(f"{float(distances[i]):.1f}", fontsize=13)
    axes[0, 0].set_ylabel(labels[0], fontsize=10)
    axes[1, 0].set_ylabel(labels[1], fontsize=10)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


SPEED_SETTINGS = ("alone", "beside a busy program", "two at once")


def plot_thread_speeds(speed: dict, ax=None, figsize=(10, 5)):
    """Bars of steps per second from benchmarks/results.json's "speed": for each thread policy (e.g. "automatic",
    "2 threads"), the course default alone, beside a busy program, and two at once (the slower of the two)."""
    fig, ax = _axes(ax, figsize)
    policies = list(speed)
    if not policies or any(set(SPEED_SETTINGS) - set(speed[p]) for p in policies):
        raise CourseError(f"speed must map each thread policy to {', '.join(SPEED_SETTINGS)}; got {speed!r:.200}")
    width = 0.8 / len(policies)
    for i, policy in enumerate(policies):
        runs = speed[policy]
        values = [runs["alone"]["steps_per_s"], runs["beside a busy program"]["steps_per_s"],
                  min(r["steps_per_s"] for r in runs["two at once"])]
        threads = runs["alone"]["threads"]
        label = policy if "thread" in policy else f"{policy}: {threads} thread{'s' * (threads > 1)}"
        bars = ax.bar([x + i * width for x in range(3)], values, width, label=label)
        ax.bar_label(bars, fmt="%.0f", fontsize=13)
    ax.set_ylim(top=ax.get_ylim()[1] * 1.3)  # room for the bars' numbers and, above them, the legend
    ax.set_xticks([x + width * (len(policies) - 1) / 2 for x in range(3)], SPEED_SETTINGS, fontsize=13)
    ax.set_ylabel("training steps per second", fontsize=13)
    ax.set_title("The course default on a 2-core machine", fontsize=15)
    ax.legend(fontsize=12, loc="upper center", ncol=len(policies))
    return fig
