"""Tests for gan_course.experiments: runs side by side with the same seed and budget (notebook 06)."""

import linecache
from dataclasses import replace

import matplotlib.pyplot as plt
import pytest
import torch

from gan_course.batches import training_images
from gan_course.errors import CourseError
from gan_course.experiments import compare_runs, run_config, summary_table, variant
from gan_course.quality import load_meter
from gan_course.settings import course_default

STEPS = 6  # tiny: these tests check the plumbing; notebook 06 runs the real experiments


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return training_images(n=512)  # (512, 1, 28, 28) real digits in [-1, 1]


@pytest.fixture(scope="module")
def meter():
    return load_meter(verbose=False)


@pytest.fixture(scope="module")
def small():
    """The course default with a small batch, so a step is quick."""
    return variant(batch_size=16, snapshot_every=4)


def test_variant_changes_train_and_model_fields_and_leaves_base_alone():
    base = course_default()
    changed = variant(base, lr_g=base.lr_g / 10, k=2, d_hidden=(32,))
    assert (changed.lr_g, changed.k, changed.model.d_hidden) == (base.lr_g / 10, 2, (32,))
    assert (changed.lr_d, changed.model.g_hidden) == (base.lr_d, base.model.g_hidden)
    assert (base.k, base.model.d_hidden) == (course_default().k, course_default().model.d_hidden)


def test_variant_defaults_to_course_default():
    assert variant() == course_default()


def test_variant_rejects_unknown_settings_naming_them():
    with pytest.raises(CourseError, match=r"Unknown setting\(s\) lr\. Choose from: .*lr_d"):
        variant(lr=0.1)


def test_variant_validates_model_fields():
    with pytest.raises(CourseError, match="latent_dim must be a positive integer"):
        variant(latent_dim=0)


def test_run_config_trains_exactly_the_budget_and_is_repeatable(images, small):
    first = run_config("a", small, images, steps=STEPS, seed=3, progress=False)
    again = run_config("a", small, images, steps=STEPS, seed=3, progress=False)
    other = run_config("a", small, images, steps=STEPS, seed=4, progress=False)
    assert first.result.history.step == list(range(1, STEPS + 1))
    assert first.result.history.d_g_z1 == again.result.history.d_g_z1
    assert first.result.history.d_g_z1 != other.result.history.d_g_z1
    assert first.quality is None
    assert small.steps is None and small.seconds == course_default().seconds  # the given config is not changed


def test_run_config_scores_the_samples_with_the_meter(images, small, meter):
    run = run_config("scored", small, images, steps=STEPS, meter=meter, n_meter=50, progress=False)
    assert run.quality.n == 50
    assert 0 <= run.quality.confident <= 1 and 0 <= run.quality.classes <= 10
    assert sum(run.quality.counts) <= 50


def test_run_config_snapshots_even_a_budget_shorter_than_snapshot_every(images):
    run = run_config("short", variant(batch_size=16), images, steps=3, progress=False)
    step, samples = run.result.history.snapshots[-1]
    assert step == 3 and samples.shape == (course_default().n_fixed, 1, 28, 28)


@pytest.mark.parametrize("steps", [0, -5, 2.5, True, None])
def test_run_config_rejects_a_bad_budget(images, small, steps):
    with pytest.raises(CourseError, match="steps must be a positive integer"):
        run_config("bad", small, images, steps=steps)


def test_run_config_rejects_too_few_meter_samples(images, small, meter):
    with pytest.raises(CourseError, match="n_meter must be an integer of at least 2; got 1"):
        run_config("bad", small, images, steps=STEPS, meter=meter, n_meter=1)


def test_run_summary_names_the_run_and_its_figures(images, small, meter):
    run = run_config("balanced", small, images, steps=STEPS, meter=meter, n_meter=50, progress=False)
    d_x, d_g_z = run.d_outputs()
    assert d_x == pytest.approx(sum(run.result.history.d_x) / STEPS)
    assert run.summary().startswith(f"balanced: {STEPS} steps, D(x) {d_x:.2f}, D(G(z)) {d_g_z:.2f}; confident ")


def test_compare_runs_draws_one_row_of_three_panels_per_run(images, small, meter):
    runs = [run_config(name, small, images, steps=STEPS, meter=meter, n_meter=50, progress=False) for name in "ab"]
    runs.append(run_config("no meter", small, images, steps=STEPS, progress=False))
    fig = compare_runs(runs)
    assert len(fig.axes) == 9
    assert [ax.get_title() for ax in fig.axes[::3]] == ["a: what D believes", "b: what D believes", "no meter: what D believes"]
    plt.close(fig)


def test_the_meters_summary_sits_above_its_bars(images, small, meter):
    run = run_config("a", small, images, steps=STEPS, meter=meter, n_meter=50, progress=False)
    counts = [56, 62, 37, 33, 34, 25, 46, 62, 33, 28]  # notebook 05's 6,800-step run: the tallest bars at 1 and 7
    fig = compare_runs([replace(run, quality=replace(run.quality, counts=counts))])
    fig.canvas.draw()
    panel = fig.axes[2]
    summary, tallest = panel.texts[0].get_window_extent(), max(bar.get_window_extent().y1 for bar in panel.patches)
    assert summary.y0 > tallest, f"the summary's bottom ({summary.y0:.0f} px) is below the tallest bar's top ({tallest:.0f} px)"
    plt.close(fig)


def test_summary_table_has_a_row_per_run_with_what_it_changed(images, small):
    runs = {name: run_config(name, variant(small, lr_g=lr, d_steps=d_steps), images, steps=STEPS, progress=False)
            for name, lr, d_steps in (("slow G", 1e-5, 1), ("strong D", small.lr_g, 3))}
    lines = summary_table(runs).splitlines()
    assert len(lines) == 4 and lines[0].startswith("run") and set(lines[1]) == {"-"}
    assert lines[2].startswith("slow G") and lines[2].endswith("batch_size=16, lr_g=1e-05")
    assert lines[3].startswith("strong D") and lines[3].endswith("batch_size=16, d_steps=3")
    from_small = summary_table(runs, base=small).splitlines()
    assert from_small[2].endswith("  lr_g=1e-05") and from_small[3].endswith("  d_steps=3")
    start, end = runs["strong D"].gradient_norms(first=3, last=3)
    norms = runs["strong D"].result.history.grad_g
    assert (start, end) == (pytest.approx(sorted(norms[:3])[1]), pytest.approx(sorted(norms[-3:])[1])) and start > 0


def test_changes_names_the_settings_that_differ_from_the_course_default():
    from gan_course.experiments import changes

    assert changes(course_default()) == "course default"
    assert changes(variant(g_loss="saturating", d_hidden=(1024, 512), k=2)) == "k=2, g_loss=saturating, d_hidden=(1024, 512)"
    islands = course_default(piles=False)
    assert changes(islands) == "halve_lr_at=None, ema=0.999, r1=None, islands=10, piles=0, truncation=1, projection=False"
    assert changes(islands, base=islands) == "unchanged"
    assert changes(variant(islands, k=2), base=islands) == "k=2"


def test_compare_curves_draws_one_line_per_run_and_names_bad_stats(images, small):
    from gan_course.experiments import compare_curves

    runs = [run_config(name, small, images, steps=STEPS, progress=False) for name in ("a", "b")]
    fig = compare_curves(runs, "grad_g", log=True)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["a", "b"]
    assert fig.axes[0].get_yscale() == "log"
    with pytest.raises(CourseError, match="stat must be one of loss_d, loss_g, d_x, d_g_z1, d_g_z2, grad_g; got 'fd'."):
        compare_curves(runs, "fd")


@pytest.mark.parametrize("runs", [[], ["not a run"], {}])
def test_compare_and_table_reject_anything_but_runs(runs):
    with pytest.raises(CourseError, match="Give one or more Run objects"):
        compare_runs(runs)
    with pytest.raises(CourseError, match="Give one or more Run objects"):
        summary_table(runs)


def test_a_health_warning_points_at_the_students_own_line_not_the_library(images, small, monkeypatch):
    import gan_course.training as training
    from gan_course.history import HealthWarning

    monkeypatch.setattr(training, "health_warnings", lambda history: ["D wins."])  # any run's warning, at once
    with pytest.warns(HealthWarning, match="D wins.") as record:
        run = run_config("a", small, images, steps=STEPS, progress=False)  # run_config -> train -> the warning
    (warning,) = record
    assert warning.filename == __file__ and "run_config(" in linecache.getline(__file__, warning.lineno)
    assert run.result.history.warnings == ["D wins."]  # once, however many snapshots repeat it
