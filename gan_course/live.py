"""Training live in a notebook: a dashboard that redraws in place, and sliders with a Train button (notebooks 05, 06)."""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import torch

from gan_course.conditional import cycling_digits
from gan_course.errors import CourseError
from gan_course.history import TrainResult
from gan_course.losses import LR_ADVICE
from gan_course.models import MODELS, sample_noise
from gan_course.sampling import generate
from gan_course.seeding import seed_everything
from gan_course.settings import course_default
from gan_course.training import train
from gan_course.visualisation import plot_d_outputs, plot_losses, show_grid

EPOCHS = (1, 200)  # slider ranges: wide enough to explore, narrow enough to stay in a lesson
LR = (1e-5, 1e-2)
K = (1, 5)
PROJECTOR = {"font.size": 14, "axes.titlesize": 16, "axes.labelsize": 14, "legend.fontsize": 12,
             "xtick.labelsize": 12, "ytick.labelsize": 12, "lines.linewidth": 2}


def check_settings(epochs: int, lr: float, model: str = "mlp", k: int = 1) -> None:
    """Raise a `CourseError` naming the allowed range when a setting is outside the sliders' ranges."""
    if not isinstance(epochs, int) or isinstance(epochs, bool) or not EPOCHS[0] <= epochs <= EPOCHS[1]:
        raise CourseError(f"epochs must be a whole number from {EPOCHS[0]} to {EPOCHS[1]}; got {epochs!r}.")
    if not isinstance(lr, (int, float)) or not LR[0] <= lr <= LR[1]:
        raise CourseError(f"learning rate must be between {LR[0]:g} and {LR[1]:g}; got {lr!r}. {LR_ADVICE}")
    if model not in MODELS:
        raise CourseError(f"model must be one of {', '.join(MODELS)}; got {model!r}.")
    if not isinstance(k, int) or isinstance(k, bool) or not K[0] <= k <= K[1]:
        raise CourseError(f"k (generator steps per discriminator step) must be from {K[0]} to {K[1]}; got {k!r}.")


class Dashboard:
    """One figure, redrawn in place at most every `every_s` seconds: losses, D outputs, the fixed-noise grid, the meter."""

    def __init__(self, meter=None, every_s: float = 3.0, n_meter: int = 500, widget: bool = False, panels=()):
        self.meter, self.every_s, self.n_meter = meter, every_s, n_meter
        self.panels = tuple(panels)  # more plots after the four: each `panel(result, ax)` draws one (notebook 07)
        # Inside an ipywidgets.Output (the Train button) JupyterLab drops display updates, so the first
        # picture would stay; widget=True redraws an ipywidgets.Image instead.
        self.widget = widget
        self.handle, self.last, self.readings = None, 0.0, []  # readings: (step, Quality)
        self.z_meter = None  # the meter's own fixed noise, made on first use with its own seed

    def __call__(self, result: TrainResult, force: bool = False) -> None:
        if not force and time.perf_counter() - self.last < self.every_s:
            return
        self.last = time.perf_counter()
        history = result.history
        if self.meter is not None and (not self.readings or self.readings[-1][0] != history.step[-1]):
            if self.z_meter is None or self.z_meter.shape[1] != result.config.model.latent_dim:
                self.z_meter = sample_noise(self.n_meter, result.config.model.latent_dim, torch.Generator().manual_seed(1))
            device = result.fixed_noise.device
            digits = None if result.fixed_labels is None else cycling_digits(self.n_meter, device)  # a conditional G
            self.readings.append((history.step[-1], self.meter.score(generate(result.sampler, self.z_meter.to(device), digits))))
        fig = self.figure(result)
        from IPython.display import display

        if self.widget:
            self.show_in_widget(fig)
        elif self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)

    def show_in_widget(self, fig) -> None:
        import io

        import ipywidgets as w
        from IPython.display import display

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight")
        if self.handle is None:
            self.handle = w.Image(value=buffer.getvalue(), format="png")
            display(self.handle)
        else:
            self.handle.value = buffer.getvalue()

    def figure(self, result: TrainResult):
        history, (step, images) = result.history, result.history.snapshots[-1]
        more = len(self.panels)  # extra panels (notebook 07) go in a third column
        with plt.rc_context(PROJECTOR):  # read from the back of a classroom: two rows, large type
            fig, axes = plt.subplots(2, 2 + (more > 0), figsize=(14 + 6 * (more > 0), 10),
                                     gridspec_kw={"width_ratios": [1.5, 1] + [1] * (more > 0)})
            plot_losses(history, ax=axes[0, 0])
            plot_d_outputs(history, ax=axes[1, 0])
            show_grid(images, f"Fixed noise, step {step:,}", ax=axes[0, 1])
            self.plot_meter(axes[1, 1])
            extra = list(axes[:, 2]) if more else []
            for panel, ax in zip(self.panels, extra):
                panel(result, ax)
            for ax in extra[more:]:
                fig.delaxes(ax)
            title = f"{result.config.model.title}: step {step:,}, {history.seconds[-1]:.0f} s"
            if self.readings:
                title += f"\ndigit meter: {self.readings[-1][1].summary()}"
            fig.suptitle(title, fontsize=18)
            fig.tight_layout()
            if history.machine:  # e.g. another notebook training on the same cores
                fig.subplots_adjust(bottom=0.12)
                fig.text(0.5, 0.01, f"Slow machine: {history.machine}", ha="center", color="firebrick", fontsize=16)
        return fig

    def plot_meter(self, ax) -> None:
        ax.set(title="Digit meter", xlabel="step", ylabel="share / classes ÷ 10", ylim=(0, 1.05))
        if not self.readings:
            ax.text(0.5, 0.5, "no meter", ha="center", transform=ax.transAxes)
            return
        steps = [s for s, _ in self.readings]
        ax.plot(steps, [q.confident for _, q in self.readings], marker="o", label="confident (p ≥ 0.9)")
        ax.plot(steps, [q.classes / 10 for _, q in self.readings], marker="s", label="classes present ÷ 10")
        ax.legend(loc="lower right")


def train_and_show(images: torch.Tensor, epochs: int, lr: float, model: str = "mlp", k: int = 1, meter=None,
                   seed: int = 0, device: torch.device | str = "cpu", progress: bool = True,
                   widget: bool = False) -> TrainResult:
    """Train the course default for `epochs` at learning rate `lr` (both networks), with a live dashboard.

    images: (N, 1, 28, 28) in [-1, 1]. Prints a one-line summary naming the settings used.
    widget=True draws the dashboard as an ipywidgets.Image (needed inside an ipywidgets.Output).
    """
    check_settings(epochs, lr, model, k)
    config = course_default(model)
    config.epochs, config.seconds, config.lr_g, config.lr_d, config.k = epochs, None, lr, lr, k
    rng = seed_everything(seed)
    dashboard = Dashboard(meter, widget=widget)
    result = train(config, images, device, rng=rng, callback=dashboard, progress=progress)
    dashboard(result, force=True)
    history = result.history
    done = "Stopped early" if history.interrupted else "Done"
    print(f"{done}: {config.model.title}, epochs={epochs}, lr={lr:.2g}, k={k}: "
          f"{history.step[-1]:,} steps in {history.seconds[-1]:.1f} s on {torch.device(device).type}"
          + (f"; digit meter: {dashboard.readings[-1][1].summary()}" if dashboard.readings else ""))
    for message in history.warnings:
        print(f"Warning: {message}")
    return result


def training_controls(images: torch.Tensor, epochs: int, lr: float, meter=None, device="cpu", on_result=None):
    """Sliders (epochs, learning rate, model, k) and a Train button; returns the widget box to `display`.

    Each click trains afresh with the slider values into the box's output area; `on_result(result)` is
    called after each run (e.g. to keep the result for later cells).
    """
    import ipywidgets as w

    check_settings(epochs, lr)
    style = {"description_width": "initial"}
    sliders = {
        "epochs": w.IntSlider(value=epochs, min=EPOCHS[0], max=EPOCHS[1], description="epochs", style=style),
        "lr": w.FloatLogSlider(value=lr, base=10, min=-5, max=-2, step=0.1, description="learning rate",
                               readout_format=".1e", style=style),
        "model": w.Dropdown(options=list(MODELS), value="mlp", description="model", style=style),
        "k": w.IntSlider(value=1, min=K[0], max=K[1], description="G steps per D step", style=style),
    }
    button = w.Button(description="Train", button_style="primary", icon="play")
    output = w.Output()

    def on_click(_):
        button.disabled = True
        output.clear_output()
        with output:
            try:
                values = {name: s.value for name, s in sliders.items()}
                result = train_and_show(images, meter=meter, device=device, widget=True, **values)
                if on_result is not None:
                    on_result(result)
            except CourseError as err:
                print(f"Error: {err}")
            finally:
                button.disabled = False

    button.on_click(on_click)
    return w.VBox([w.HBox([sliders["epochs"], sliders["lr"]]), w.HBox([sliders["model"], sliders["k"], button]), output])
