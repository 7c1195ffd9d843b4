"""What a run keeps: the snapshot timeline and the health warnings."""

from gan_course.history import History, health_warnings, is_snapshot_step, is_timeline_step


def test_snapshot_steps_are_log_spaced_early_and_regular_later():
    assert [s for s in range(0, 12001) if is_timeline_step(s)] == [0, 10, 20, 50, 100, 200, 500, 1000, 2000,
                                                                         5000, 10000]
    steps = [s for s in range(0, 2001) if is_snapshot_step(s, 300)]
    assert steps == [0, 10, 20, 50, 100, 200, 300, 500, 600, 900, 1000, 1200, 1500, 1800, 2000]


def history_of(d_x: float, d_g_z: float, steps: int = 200) -> History:
    history = History()
    for i in range(steps):
        history.append(i + 1, 0.01 * i, {"loss_d": 1.0, "loss_g": 1.0, "d_x": d_x, "d_g_z1": d_g_z, "d_g_z2": d_g_z,
                                         "grad_g": 1.0})
    return history


def test_health_warning_for_a_discriminator_that_wins_outright():
    (message,) = health_warnings(history_of(0.99, 0.01))
    assert message.startswith("D(G(z)) has stayed below 0.05 for 200 steps: the discriminator rejects every fake")
    assert "lower D's learning rate or use k > 1 generator steps" in message


def test_health_warning_when_neither_can_tell():
    (message,) = health_warnings(history_of(0.51, 0.48))
    assert message.startswith("D(x) and D(G(z)) have both stayed near 0.5 for 200 steps")


def test_no_health_warning_for_a_healthy_or_short_run():
    assert health_warnings(history_of(0.7, 0.3)) == []
    assert health_warnings(history_of(0.99, 0.01, steps=199)) == []
    assert len(health_warnings(history_of(0.99, 0.01, steps=60), window=50)) == 1
    history = history_of(0.99, 0.01)
    history.d_g_z1[-1] = 0.2  # one step where G got through is enough
    assert health_warnings(history) == []
