"""Live training: the settings check, train_and_show's summary and dashboard, and the slider controls."""

import re

import pytest
import torch

from gan_course.errors import CourseError
from gan_course.live import Dashboard, check_settings, train_and_show, training_controls


def test_settings_inside_the_ranges_pass():
    check_settings(1, 1e-5)
    check_settings(200, 1e-2, "dcgan", 5)


@pytest.mark.parametrize("epochs", [0, 201, 1.5, "3"])
def test_epochs_out_of_range(epochs):
    with pytest.raises(CourseError, match=re.escape(f"epochs must be a whole number from 1 to 200; got {epochs!r}.")):
        check_settings(epochs, 1e-3)


@pytest.mark.parametrize("lr", [0, 1e-6, 0.1, "0.001"])
def test_learning_rate_out_of_range(lr):
    with pytest.raises(CourseError, match=re.escape(f"learning rate must be between 1e-05 and 0.01; got {lr!r}.")):
        check_settings(5, lr)


def test_unknown_model_and_k_out_of_range():
    with pytest.raises(CourseError, match=re.escape("model must be one of mlp, dcgan; got 'gan'.")):
        check_settings(5, 1e-3, "gan")
    for k in (0, 6):
        with pytest.raises(CourseError, match=re.escape(f"k (generator steps per discriminator step) must be from 1 to 5; got {k}.")):
            check_settings(5, 1e-3, "mlp", k)


def test_train_and_show_one_epoch_prints_its_settings(digits, meter, capsys):
    result = train_and_show(digits, epochs=1, lr=2e-3, meter=meter, progress=False)
    out = capsys.readouterr().out
    steps = len(digits) // result.config.batch_size
    assert len(result.history.step) == steps
    (summary,) = [line for line in out.splitlines() if line.startswith("Done:")]
    assert summary.startswith(f"Done: mlp GAN with 50 piles, epochs=1, lr=0.002, k=1: {steps} steps in ")
    assert re.search(r"on cpu; digit meter: confident \d+%, classes \d+/10, FD \d+\.\d$", summary)
    assert "Figure" in out  # the dashboard was displayed (as text outside a notebook)


def test_train_and_show_refuses_bad_settings_before_training(digits):
    with pytest.raises(CourseError, match="epochs must be a whole number from 1 to 200; got 0"):
        train_and_show(digits, epochs=0, lr=1e-3)


def test_dashboard_figure_has_four_panels(digits, meter, capsys):
    dashboard = Dashboard(meter, n_meter=100)
    result = train_and_show(digits[:320], epochs=1, lr=1e-3, progress=False)
    dashboard(result, force=True)
    assert [step for step, _ in dashboard.readings] == [result.history.step[-1]]
    fig = dashboard.figure(result)
    assert [ax.get_title() for ax in fig.axes] == ["Losses", f"Fixed noise, step {result.history.step[-1]}",
                                                   "What the discriminator believes", "Digit meter"]  # two rows
    assert fig._suptitle.get_text().startswith(f"mlp GAN with 50 piles: step {result.history.step[-1]:,}, ")
    assert "digit meter: confident" in fig._suptitle.get_text()
    width, height = fig.get_size_inches()
    assert width >= 12 and height >= 8, "the dashboard must read on a projector"
    assert min(ax.title.get_fontsize() for ax in fig.axes) >= 14


def test_dashboard_says_when_another_program_slows_the_run(digits, meter):
    dashboard = Dashboard(meter, n_meter=100)
    result = train_and_show(digits[:320], epochs=1, lr=1e-3, progress=False)
    assert not any("Slow machine" in t.get_text() for t in dashboard.figure(result).texts)
    result.history.machine = "another program is using the CPU (1.0 cores): 120 steps/s instead of 300"
    (note,) = [t for t in dashboard.figure(result).texts if "Slow machine" in t.get_text()]
    assert note.get_text() == "Slow machine: " + result.history.machine and note.get_fontsize() >= 14


def widgets_by_description(box):
    found, todo = {}, [box]
    while todo:
        widget = todo.pop()
        todo.extend(getattr(widget, "children", ()))
        if getattr(widget, "description", ""):
            found[widget.description] = widget
    return found


def test_training_controls_carry_the_given_values(digits):
    box = training_controls(digits, epochs=3, lr=1e-3)
    found = widgets_by_description(box)
    assert found["epochs"].value == 3 and (found["epochs"].min, found["epochs"].max) == (1, 200)
    assert found["learning rate"].value == pytest.approx(1e-3)
    assert list(found["model"].options) == ["mlp", "dcgan"] and found["model"].value == "mlp"
    assert found["G steps per D step"].value == 1
    assert found["Train"].description == "Train"


def test_training_controls_refuse_values_outside_the_sliders():
    with pytest.raises(CourseError, match="learning rate must be between"):
        training_controls(torch.zeros(64, 1, 28, 28), epochs=3, lr=0.5)


def test_clicking_train_trains_with_the_slider_values(digits, capsys):
    results = []
    box = training_controls(digits[:320], epochs=1, lr=1e-3, on_result=results.append)
    found = widgets_by_description(box)
    found["epochs"].value = 2
    found["Train"].click()
    (result,) = results
    assert result.config.epochs == 2 and result.config.lr_g == result.config.lr_d == pytest.approx(1e-3)
    assert len(result.history.step) == 2 * (320 // result.config.batch_size)
    assert not found["Train"].disabled
    assert "Done: mlp GAN with 50 piles, epochs=2, lr=0.001, k=1" in capsys.readouterr().out
