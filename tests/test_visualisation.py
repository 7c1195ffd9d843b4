"""Figures: each helper returns a Figure with a title and labelled axes; grids save as real PNGs."""

import os

import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

import matplotlib.pyplot as plt
from gan_course.errors import CourseError
from gan_course.history import History
from gan_course.visualisation import (grid_image, plot_d_outputs, plot_losses, running_mean, save_grid, show_grid,
                                      show_labelled_digits, show_real_vs_fake, show_snapshots)


@pytest.fixture
def history():
    history = History()
    for step in range(1, 51):
        history.append(step, step / 10, {"loss_d": 1.4 - step / 100, "loss_g": 0.7 + step / 100, "d_x": 0.6,
                                         "d_g_z1": 0.4, "d_g_z2": 0.45, "grad_g": 1.0})
    return history


def test_grid_image_maps_minus_one_one_to_a_bordered_picture(real_batch):
    picture = grid_image(real_batch)
    assert picture.shape == (2 + 8 * 30, 2 + 8 * 30)  # 8 x 8 digits of 28 pixels, 2-pixel borders
    assert picture.min() >= 0 and picture.max() <= 1
    assert grid_image(real_batch[:6], nrow=3).shape == (2 + 2 * 30, 2 + 3 * 30)


def test_show_grid_returns_a_titled_figure_without_axes(real_batch):
    fig = show_grid(real_batch, "Real digits")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_title() == "Real digits" and not ax.axison
    assert ax.images[0].get_cmap().name == "gray"


def test_show_grid_writes_short_label_lists_into_the_title(real_batch):
    fig = show_grid(real_batch[:8], "Batch", nrow=4, labels=torch.tensor([7, 2, 1, 0, 4, 1, 4, 9]))
    assert fig.axes[0].get_title() == "Batch\nlabels, row by row: 7 2 1 0 | 4 1 4 9"


def test_helpers_draw_into_a_given_axes(real_batch, history):
    fig, (left, right) = plt.subplots(1, 2)
    assert show_grid(real_batch, "G", ax=left) is fig
    assert plot_losses(history, ax=right) is fig
    assert len(fig.axes) == 2


def test_plot_losses_has_title_labels_and_a_legend(history):
    fig = plot_losses(history)
    ax = fig.axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Losses", "step", "BCE loss")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["discriminator", "generator"]
    assert list(ax.lines[0].get_ydata()) == history.loss_d


def test_plot_d_outputs_has_title_labels_and_a_legend(history):
    ax = plot_d_outputs(history).axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("What the discriminator believes", "step", "probability 'real'")
    assert len(ax.get_legend().get_texts()) == 3
    assert ax.get_ylim() == (0, 1)


def test_show_real_vs_fake_puts_them_side_by_side(real_batch):
    fig = show_real_vs_fake(real_batch, -real_batch, title="After training")
    assert [ax.get_title() for ax in fig.axes] == ["Real", "Generated"]
    assert fig._suptitle.get_text() == "After training"


def test_show_labelled_digits_titles_each_panel(real_batch):
    labels = torch.tensor([7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
    fig = show_labelled_digits(real_batch[:10], labels, ncols=5)
    assert [ax.get_title() for ax in fig.axes] == [f"label {v}" for v in labels.tolist()]
    assert fig._suptitle.get_text() == "Real MNIST digits"


def test_show_snapshots_shows_the_log_spaced_timeline_and_the_last_step(real_batch):
    snapshots = [(step, real_batch) for step in (0, 10, 20, 50, 100, 200, 300, 400, 500, 600, 700)]
    fig = show_snapshots(snapshots)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["step 0", "step 10", "step 20", "step 50", "step 100", "step 200", "step 500", "step 700"]
    assert len(fig.axes) == 8  # two rows of four
    many = [(step, real_batch) for step in (0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 60000)]
    titles = [ax.get_title() for ax in show_snapshots(many, max_panels=6).axes]
    assert len(titles) == 6 and titles[0] == "step 0" and titles[-1] == "step 60,000"
    assert [ax.get_title() for ax in show_snapshots(snapshots[:2]).axes] == ["step 0", "step 10"]


def test_show_snapshots_of_nothing_is_an_error():
    with pytest.raises(CourseError, match="no snapshots to show: train for at least one step first."):
        show_snapshots([])


def test_save_grid_writes_a_valid_png_atomically(tmp_path, real_batch):
    path = tmp_path / "out" / "grid.png"
    save_grid(real_batch, path, title="step 0")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 200
    assert os.listdir(path.parent) == ["grid.png"]
    assert plt.get_fignums() == []  # the figure was closed


def test_running_mean_averages_each_value_with_the_ones_before_it():
    assert running_mean([1.0, 2.0, 3.0, 4.0], window=2) == pytest.approx([1.0, 1.5, 2.5, 3.5])
    assert running_mean([2.0, 4.0, 9.0], window=10) == pytest.approx([2.0, 3.0, 5.0])
    assert running_mean([], window=3) == []


def test_running_mean_rejects_a_bad_window():
    with pytest.raises(CourseError, match="window must be a positive integer; got 0"):
        running_mean([1.0], window=0)


def test_digit_rows_match_bars_and_nearest_pairs_are_labelled(digits):
    from gan_course.visualisation import figure_png, plot_digit_match, show_digit_rows, show_nearest

    fig = show_digit_rows(digits[:30], "rows")
    assert [t.get_text() for t in fig.axes[0].texts] == [str(d) for d in range(10)]
    fig = plot_digit_match([0.95] * 9 + [0.5])
    assert fig.axes[0].get_xlabel() == "digit asked for" and len(fig.axes[0].patches) == 10
    fig = show_nearest(digits[:3], digits[3:6], [1.0, 2.25, 3.0], "pairs")
    assert [ax.get_xlabel() for ax in fig.axes[3:]] == ["1.0", "2.2", "3.0"]
    assert figure_png(fig)[:4] == b"\x89PNG"
    with pytest.raises(CourseError, match="need 10 rows of images, a multiple of 10; got 7."):
        show_digit_rows(digits[:7])


def test_thread_speeds_are_drawn_as_bars_with_their_values():
    from gan_course.visualisation import plot_thread_speeds

    run = lambda rate, threads: {"steps_per_s": rate, "threads": threads, "steps": 1000}
    speed = {"automatic": {"alone": run(210.0, 1), "beside a busy program": run(205.0, 1), "two at once": [run(200.0, 1), run(190.0, 1)]},
             "2 threads": {"alone": run(260.0, 2), "beside a busy program": run(80.0, 2), "two at once": [run(9.0, 2), run(12.0, 2)]}}
    fig = plot_thread_speeds(speed)
    (ax,) = fig.axes
    assert [round(p.get_height()) for p in ax.patches] == [210, 205, 190, 260, 80, 9]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["automatic: 1 thread", "2 threads"]
    with pytest.raises(CourseError, match="speed must map each thread policy to alone, beside a busy program, two at once"):
        plot_thread_speeds({"automatic": {"alone": run(1.0, 1)}})
