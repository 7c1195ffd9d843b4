"""The conditional GAN live: training with a per-digit dashboard panel, digit buttons, a latent-walk slider (notebook 07)."""

from __future__ import annotations

import torch

from gan_course.conditional import N_DIGITS, cycling_digits, digit_match
from gan_course.history import TrainResult
from gan_course.live import Dashboard
from gan_course.models import sample_noise
from gan_course.sampling import generate
from gan_course.seeding import seed_everything
from gan_course.settings import course_default
from gan_course.training import train
from gan_course.visualisation import figure_png, plot_digit_match, show_grid


class DigitPanel:
    """A dashboard panel, `Dashboard(meter, panels=[DigitPanel(meter)])`: per digit, the share drawn as asked for."""

    def __init__(self, meter, n: int = 500, seed: int = 2):
        self.meter, self.n, self.seed = meter, n, seed
        self.z, self.shares = None, None  # its own fixed noise; the last reading (10,)

    def __call__(self, result: TrainResult, ax) -> None:
        device = result.fixed_noise.device
        if self.z is None or self.z.shape[1] != result.config.model.latent_dim:
            self.z = sample_noise(self.n, result.config.model.latent_dim, torch.Generator().manual_seed(self.seed))
        labels = cycling_digits(self.n)
        self.shares = digit_match(self.meter, generate(result.sampler, self.z.to(device), labels.to(device)), labels)
        plot_digit_match(self.shares, ax=ax, title=f"Asked-for digit drawn: {float(self.shares.mean()):.0%} of samples")


def train_conditional_and_show(images: torch.Tensor, labels: torch.Tensor, steps: int, meter=None, seed: int = 0,
                               device: torch.device | str = "cpu", progress: bool = True) -> TrainResult:
    """Train the course's conditional GAN for `steps` steps with the live dashboard plus the per-digit panel.

    images (N, 1, 28, 28) in [-1, 1] and their labels (N,) digits 0-9. Prints one summary line.
    """
    config = course_default(conditional=True)
    config.steps, config.seconds = steps, None
    rng = seed_everything(seed)
    panel = DigitPanel(meter) if meter is not None else None
    dashboard = Dashboard(meter, panels=[panel] if panel else ())
    result = train(config, images, device, rng=rng, callback=dashboard, progress=progress, labels=labels)
    dashboard(result, force=True)
    history = result.history
    print(f"{'Stopped early' if history.interrupted else 'Done'}: conditional {config.model.model} GAN, "
          f"{history.step[-1]:,} steps in {history.seconds[-1]:.1f} s"
          + (f"; asked-for digit drawn {float(panel.shares.mean()):.0%}" if panel else ""))
    return result


def digit_buttons(generator: torch.nn.Module, n: int = 16, seed: int = 0, device: torch.device | str = "cpu"):
    """Ten buttons 0-9; each press draws `n` samples of that digit from fresh noise into an image below.

    Returns the widget box to `display`; `box.draw(digit)` does what a press does (e.g. for a first picture).
    """
    import ipywidgets as w

    rng = torch.Generator().manual_seed(seed)
    buttons = [w.Button(description=str(d), layout=w.Layout(width="44px")) for d in range(N_DIGITS)]
    caption, image = w.Label("Press a digit."), w.Image(format="png", width=420)
    presses = [0]

    def draw(digit: int) -> None:
        z = sample_noise(n, generator.latent_dim, rng, device)
        samples = generate(generator, z, torch.full((n,), digit, device=device))
        presses[0] += 1
        caption.value = f"{n} samples of the digit {digit}, fresh noise (picture {presses[0]})"
        image.value = figure_png(show_grid(samples, f"G(z, {digit}) for {n} new z", nrow=int(n ** 0.5)))

    for digit, button in enumerate(buttons):
        button.on_click(lambda _, digit=digit: draw(digit))
    box = w.VBox([w.HBox(buttons), caption, image])
    box.draw = draw
    return box


def latent_slider(images: torch.Tensor, title: str = "A walk through the latent space"):
    """A slider along a path of generated images (T, 1, 28, 28): the current one large, the strip below it.

    Returns the widget box to `display`; `box.show(i)` does what moving the slider to i does.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    slider = w.IntSlider(value=0, min=0, max=len(images) - 1, description="step on the path")
    image = w.Image(format="png", width=700)

    def show(i: int) -> None:
        fig, (big, strip) = plt.subplots(2, 1, figsize=(8, 5.2), gridspec_kw={"height_ratios": [3, 1]})
        show_grid(images[i:i + 1], f"{title}: step {i} of {len(images) - 1}", ax=big)
        show_grid(images, "", nrow=len(images), ax=strip)
        strip.add_patch(plt.Rectangle((30 * i + 0.5, 0.5), 30, 30, fill=False, edgecolor="red", linewidth=2.5))
        image.value = figure_png(fig)

    slider.observe(lambda change: show(change["new"]), names="value")
    box = w.VBox([slider, image])
    box.show = show
    return box
