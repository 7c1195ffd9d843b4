"""The training console: single D and G steps, pause, learning-rate changes, forks, NaN, bad input, the widget."""

import re
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import torch

from gan_course import branch as branch_module
from gan_course.console import TrainingConsole
from gan_course.errors import CourseError
from gan_course.history import is_snapshot_step
from gan_course.seeding import seed_everything
from gan_course.settings import course_default
from gan_course.steps import STATS
from gan_course.training import train


@pytest.fixture
def console(digits):
    torch.set_num_threads(1)
    made = TrainingConsole(digits[:640], every=10)
    yield made
    made.stop()


def parameters(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_step_d_changes_d_and_not_g(console):
    g, d = parameters(console.branch.generator), parameters(console.branch.discriminator)
    stats = console.step_d()
    assert changed(d, console.branch.discriminator) and not changed(g, console.branch.generator)
    assert console.step == 1 and console.branch.kinds == ["D"] and console.branch.history.loss_d == [stats["loss_d"]]


def test_step_g_changes_g_and_not_d(console):
    g, d = parameters(console.branch.generator), parameters(console.branch.discriminator)
    console.step_g()
    assert changed(g, console.branch.generator) and not changed(d, console.branch.discriminator)
    assert console.step == 1 and console.branch.kinds == ["G"]


def test_five_d_steps_lower_d_of_g_z_and_a_g_step_raises_it(console):
    before = console.probe()["d_g_z1"]
    for _ in range(5):
        console.step_d()
    after_d = console.probe()["d_g_z1"]
    console.step_g()
    assert after_d < before and console.probe()["d_g_z1"] > after_d


def test_pause_stops_the_step_counter(console):
    console.run()
    deadline = time.monotonic() + 10
    while console.step < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    console.pause()
    paused_at = console.step
    time.sleep(0.3)
    assert console.state == "paused" and console.step == paused_at >= 3


def test_starting_a_console_pauses_any_other(console, digits):
    console.run()
    other = TrainingConsole(digits[:640])
    other.run(steps=2, wait=True)
    assert console.state == "paused" and other.state == "paused" and other.step == 2


@pytest.mark.parametrize("piles", [False, True], ids=["islands", "piles"])
def test_a_consoles_rounds_are_trains_steps_number_for_number(digits, restore_threads, piles):
    config = replace(course_default(piles=piles), threads=1)
    torch.set_num_threads(1)
    console = TrainingConsole(digits[:640], config, seed=0)
    console.run(steps=30, wait=True)
    result = train(replace(config, seconds=None, steps=30), digits[:640], rng=seed_everything(0), progress=False)
    for name in STATS:
        assert getattr(console.branch.history, name) == getattr(result.history, name), name
    assert all(torch.equal(a, b) for a, b in zip(console.branch.generator.parameters(), result.generator.parameters()))


def test_run_with_wait_trains_exactly_the_steps_and_keeps_timeline_points(console):
    console.run(steps=25, wait=True)
    assert (console.state, console.step) == ("paused", 25)
    assert [p["step"] for p in console.branch.timeline] == [s for s in range(26) if is_snapshot_step(s, 10)]
    assert [s for s, _ in console.branch.history.snapshots] == [0, 10, 20]


def test_timeline_points_draw_from_the_average_with_its_own_batchnorm_statistics(console):
    import copy

    from gan_course.sampling import remeasure_batchnorm

    console.run(steps=20, wait=True)  # a timeline point at step 20, the last step
    ema = console.branch.ema
    again = copy.deepcopy(ema)
    remeasure_batchnorm(again)
    assert all(torch.equal(a, b) for a, b in zip(again.buffers(), ema.buffers()))
    assert not all(torch.equal(a, b) for a, b in zip(console.branch.generator.buffers(), ema.buffers())
                   if a.is_floating_point())


def test_a_learning_rate_change_applies_at_the_next_step_and_is_recorded(console):
    console.step_d()
    console.set_lr(lr_d=1e-3)
    assert [g["lr"] for g in console.branch.opt_d.param_groups] == [1e-3]
    assert console.branch.opt_g.param_groups[0]["lr"] == console.branch.config.lr_g != 1e-3
    console.run(steps=3, wait=True)
    assert console.branch.lr_changes == [(1, "D", 1e-3)] and console.branch.config.lr_d == 1e-3


def test_a_learning_rate_change_while_running_is_recorded_at_its_step(console):
    console.run()
    console.set_lr(lr_g=5e-4)
    console.pause()
    ((step, who, lr),) = console.branch.lr_changes
    assert (who, lr) == ("G", 5e-4) and 0 <= step <= console.step


def test_a_fork_without_changes_repeats_the_original_bit_for_bit(console):
    console.run(steps=20, wait=True)
    original = console.branch
    fork = console.fork(10)
    console.run(steps=10, wait=True)
    assert console.branches == [original, fork] and (fork.forked_at, fork.step, original.step) == (10, 20, 20)
    for name in STATS:
        assert getattr(fork.history, name) == getattr(original.history, name), name
    for a, b in [(fork.generator, original.generator), (fork.discriminator, original.discriminator), (fork.ema, original.ema)]:
        assert not changed(parameters(a), b)


def test_two_forks_from_one_point_both_repeat_the_original(console):
    console.run(steps=20, wait=True)
    for _ in range(2):  # the second fork starts from the checkpoint the first one trained on from
        console.fork(10)
        console.run(steps=10, wait=True)
    assert len({tuple(b.history.loss_d) for b in console.branches}) == 1


def test_a_fork_with_another_learning_rate_diverges_and_keeps_the_original(console):
    console.run(steps=20, wait=True)
    kept = list(console.branches[0].history.loss_d)
    fork = console.fork(15, lr_d=1e-2)  # 15 is no timeline point: the fork starts from the one before
    console.run(steps=5, wait=True)
    assert fork.forked_at == 10 and fork.lr_changes == [(10, "D", 1e-2)]
    assert console.branches[0].history.loss_d == kept and fork.history.loss_d[10:] != kept[10:15]


def test_checkpoints_stay_bounded(digits):
    console = TrainingConsole(digits[:640], every=2, keep=4)
    console.run(steps=30, wait=True)
    saved = sorted(console.branch.checkpoints)
    assert len(saved) <= 4 and saved[0] == 0 and saved[-1] == 30


def test_only_the_latest_branches_keep_checkpoints(console):
    console.run(steps=10, wait=True)
    for _ in range(5):
        console.fork(10)
    assert [sorted(b.checkpoints) for b in console.branches] == [[], []] + [[0, 10]] * 4
    assert len(console.branches[0].history.step) == 10  # the curves stay


def test_a_nan_loss_pauses_the_run_with_a_message(console):
    with torch.no_grad():
        next(console.branch.discriminator.parameters()).fill_(float("nan"))
    console.run(steps=5, wait=True)
    assert (console.state, console.step) == ("paused", 0)
    assert console.message == ("Training diverged at step 1: loss_d=nan, loss_g=nan. Lower the learning rates (now G "
                               "0.002, D 0.002), e.g. to 0.0002. The run is paused: fork from an earlier point of the timeline.")


def test_health_warnings_are_kept_with_their_step(console, monkeypatch):
    monkeypatch.setattr(branch_module, "health_warnings", lambda history: ["D wins."] if history.step else [])
    console.run(steps=12, wait=True)
    assert console.branch.warnings == [(10, "D wins.")] and console.branch.history.warnings == ["D wins."]


@pytest.mark.parametrize("call, message", [
    (lambda c: c.set_delay(-1), "delay must be from 0 to 2; got -1. Use 0 for full speed."),
    (lambda c: c.set_lr(lr_d=0.5), "D's learning rate must be from 1e-05 to 0.1; got 0.5. GANs usually train with 1e-4 to 2e-3."),
    (lambda c: c.set_lr(lr_g=0), "G's learning rate must be from 1e-05 to 0.1; got 0. GANs usually train with 1e-4 to 2e-3."),
    (lambda c: c.run(steps=0), "steps must be a whole number from 1 to 100000; got 0. Try steps=300."),
    (lambda c: c.set_steps(d_steps=0), "D steps per round must be a whole number from 1 to 5; got 0. One of each is the lecture's loop."),
    (lambda c: c.set_steps(g_steps=2.5), "G steps per round must be a whole number from 1 to 5; got 2.5. One of each is the lecture's loop."),
    (lambda c: c.fork(-1), "No checkpoint at or before step -1; forkable steps: [0]."),
])
def test_bad_input_is_refused_with_what_to_do(console, call, message):
    with pytest.raises(CourseError, match=f"^{re.escape(message)}$"):
        call(console)


def test_steps_need_a_paused_run_and_a_stopped_run_needs_a_fork(console):
    console.set_delay(0.05)
    console.run()
    with pytest.raises(CourseError, match=re.escape("Step D works on a paused run; the run is running. Press Pause first.")):
        console.step_d()
    console.stop()
    assert console.state == "stopped" and not console._thread.is_alive()
    with pytest.raises(CourseError, match=re.escape("This run is stopped. Fork from a point of its timeline to train on: console.fork(step).")):
        console.run(steps=1)
    console.fork(0)
    console.run(steps=2, wait=True)
    assert (console.state, console.step) == ("paused", 2)


def test_the_widget_shows_fixed_text_and_its_buttons_work(console, meter, capsys):
    from gan_course.console_view import ConsoleView

    console.meter = meter
    view = ConsoleView(console)
    assert console._repr_mimebundle_()["text/plain"] == "TrainingConsole: run 1, step 0, idle"
    shown = console._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert shown == console._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]["model_id"]  # one widget
    view.buttons["Step D"].click()
    assert "step <b>1</b>" in view.status.value and console.step == 1
    view.sliders["lr_g"].value = 10 ** -2.7  # where the browser's log slider puts 2e-3: no change
    view.sliders["lr_d"].value = 1e-3
    assert console.branch.lr_changes == [(1, "D", 1e-3)] and "learning rate of D set to 1.0e-03" in view.messages.value
    view.sliders["delay"].value = 0.0
    view.buttons["Fork here"].click()
    assert len(console.branches) == 2 and console.branch.forked_at == 0
    assert capsys.readouterr().out == ""
    view.close()
    console._view.close()


def test_the_dashboard_redraws_at_most_once_per_period_however_many_steps(console, monkeypatch):
    from gan_course import console_view

    monkeypatch.setattr(console_view, "REDRAW_S", 0.25)
    view = console_view.ConsoleView(console)
    spans, real_redraw = [], view.redraw

    def timed_redraw():  # the real redraw, timed: the throttle is the pause between one and the next
        begin = time.monotonic()
        real_redraw()
        spans.append((begin, time.monotonic()))

    monkeypatch.setattr(view, "redraw", timed_redraw)
    start = time.monotonic()
    console.run()
    while time.monotonic() - start < 1.5 or console.step < 40:  # at least 1.5 s and 40 steps, however busy
        time.sleep(0.05)
    console.pause()
    deadline = time.monotonic() + 10
    while len(spans) < 2 and time.monotonic() < deadline:  # the first redraw saw an earlier step: a second follows
        time.sleep(0.05)
    seconds = time.monotonic() - start
    view.close()
    assert not view._drawer.is_alive()  # close waits for the frame being drawn
    assert 2 <= len(spans) <= seconds / 0.25 + 1, (console.step, seconds, spans)
    assert all(begin - end >= 0.25 for (_, end), (begin, _) in zip(spans, spans[1:])), spans


def test_python_exits_cleanly_while_a_console_trains_and_draws():
    script = ("import time; from gan_course.batches import normalise; from gan_course.console import TrainingConsole; "
              "from gan_course.console_view import ConsoleView; from gan_course.data import load_mnist; "
              "c = TrainingConsole(normalise(load_mnist()[0][:640])); v = ConsoleView(c); "
              "c.run(); time.sleep(2); print('leaving at step', c.step)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("leaving at step"), (done.returncode, done.stderr[-2000:])


def test_steps_per_round_take_effect_from_the_next_round(console):
    console.set_steps(d_steps=3, g_steps=2)
    console.run(steps=2, wait=True)

    def updates(optimizer, module):  # Adam counts its updates per parameter
        return int(optimizer.state[next(module.parameters())]["step"])

    b = console.branch
    assert console.step == 2 and (updates(b.opt_d, b.discriminator), updates(b.opt_g, b.generator)) == (6, 4)


def test_slow_motion_waits_after_each_step(console):
    console.set_delay(0.2)
    start = time.monotonic()
    console.run(steps=3, wait=True)
    assert console.step == 3 and time.monotonic() - start >= 0.4  # 0.2 s after steps 1 and 2; after 3 it pauses
