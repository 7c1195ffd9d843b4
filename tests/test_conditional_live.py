"""The conditional GAN live: the dashboard's per-digit panel, the digit buttons and the latent slider."""

import matplotlib.pyplot as plt
import torch

from gan_course.conditional_live import DigitPanel, digit_buttons, latent_slider, train_conditional_and_show
from gan_course.live import Dashboard
from gan_course.models import ModelConfig, build_models


def test_a_short_run_shows_the_per_digit_panel_and_prints_the_share(digits, mnist, meter, capsys, monkeypatch):
    figures = []
    monkeypatch.setattr(Dashboard, "__call__", lambda self, result, force=False: figures.append(self.figure(result)))
    result = train_conditional_and_show(digits[:640], mnist[1][:640], steps=20, meter=meter, progress=False)
    out = capsys.readouterr().out.strip()
    assert out.startswith("Done: conditional mlp GAN, 20 steps in ") and "; asked-for digit drawn " in out
    assert result.fixed_labels is not None and len(figures[-1].axes) == 5
    (panel,) = [ax for ax in figures[-1].axes if ax.get_title().startswith("Asked-for digit drawn: ")]
    assert len(panel.patches) == 10  # one bar per digit


def test_the_panel_reads_its_own_fixed_noise(meter):
    panel = DigitPanel(meter, n=100)

    class Result:  # what the panel uses of a TrainResult
        generator, _ = build_models(ModelConfig(conditional=True))
        sampler, fixed_noise, config = generator, torch.zeros(1, 64), type("C", (), {"model": ModelConfig()})()

    _, ax = plt.subplots()
    panel(Result, ax)
    first = panel.shares.clone()
    panel(Result, ax)
    assert panel.shares.shape == (10,) and torch.equal(first, panel.shares)


def test_each_digit_button_draws_that_digit_from_fresh_noise():
    generator, _ = build_models(ModelConfig(conditional=True))
    box = digit_buttons(generator.eval(), n=4)
    buttons, caption, image = box.children[0].children, box.children[1], box.children[2]
    assert [b.description for b in buttons] == [str(d) for d in range(10)] and image.value == b""
    buttons[7].click()
    first = image.value
    assert caption.value == "4 samples of the digit 7, fresh noise (picture 1)" and first[:4] == b"\x89PNG"
    buttons[7].click()
    assert caption.value.endswith("(picture 2)") and image.value != first


def test_the_slider_redraws_the_point_it_is_on():
    box = latent_slider(torch.rand(5, 1, 28, 28) * 2 - 1)
    slider, image = box.children
    assert (slider.min, slider.max) == (0, 4)
    slider.value = 3
    third = image.value
    slider.value = 1
    assert third[:4] == b"\x89PNG" and image.value != third
