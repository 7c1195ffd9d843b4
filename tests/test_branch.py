"""A console branch: its batches, its history copies and its checkpoints (the forks are tested in test_console.py)."""

from dataclasses import replace

import torch

from gan_course.branch import history_until
from gan_course.console import TrainingConsole
from gan_course.history import History
from gan_course.settings import TrainConfig


def test_next_batch_covers_an_epoch_without_repeats(digits):
    branch = TrainingConsole(digits[:320]).branch  # batch size 32: ten batches an epoch
    batches = [branch.next_batch(digits[:320]) for _ in range(10)]
    assert all(b.shape == (32, 1, 28, 28) for b in batches)
    assert sorted(branch.order.tolist()) == list(range(320))
    assert torch.equal(torch.cat(batches), digits[:320][branch.order])  # every image once, in the shuffled order
    assert branch.pos == 320 and not torch.equal(branch.next_batch(digits[:320]), batches[0])


def test_the_console_doubles_the_batch_from_the_first_epoch_after_double_batch_at(digits):
    console = TrainingConsole(digits[:320], replace(TrainConfig(batch_size=32), double_batch_at=15))
    console.run(steps=20, wait=True)  # epochs 1 and 2: 10 batches of 32 each
    assert console.branch.size == 32 and console.branch.pos == 320
    console.run(steps=1, wait=True)  # epoch 3 starts at step 20
    assert console.branch.size == 64 and console.branch.pos == 64
    sizes = []
    console.branch.generator.register_forward_hook(lambda module, inputs, output: sizes.append(len(output)))
    console.step_g()  # a lone G step draws as many fakes as the epoch's real batches
    assert sizes == [64]
    fork = console.branch.fork(20, "again")
    assert fork.size == 32 and fork.next_batch(digits[:320]).shape == (64, 1, 28, 28)


def test_history_until_copies_rows_and_snapshots_up_to_a_step():
    history = History()
    for step in range(1, 6):
        history.append(step, step * 0.1, dict.fromkeys(("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "grad_g"), step))
    history.snapshots = [(0, "a"), (3, "b"), (5, "c")]
    copy = history_until(history, 3)
    assert copy.step == [1, 2, 3] and copy.loss_g == [1, 2, 3] and copy.snapshots == [(0, "a"), (3, "b")]
    copy.step.append(4)
    assert history.step == [1, 2, 3, 4, 5]


def test_a_checkpoint_is_a_copy_not_a_view(digits):
    console = TrainingConsole(digits[:320])
    saved = console.branch.checkpoints[0]["generator"]
    before = {name: t.clone() for name, t in saved.items()}
    console.run(steps=3, wait=True)
    assert all(torch.equal(before[name], saved[name]) for name in before)


def test_the_console_penalises_d_on_the_same_steps_as_train(digits, monkeypatch):
    import gan_course.branch as branch
    import gan_course.steps as steps

    asked = []
    monkeypatch.setattr(branch, "r1_weight", lambda gamma, step: asked.append((gamma, step)) or steps.r1_weight(gamma, step))
    console = TrainingConsole(digits[:320], replace(TrainConfig(batch_size=32), r1=0.3))
    console.run(steps=1, wait=True)
    console.step_d()
    console.step_g()
    console.run(steps=1, wait=True)
    assert asked == [(0.3, 1), (0.3, 2), (0.3, 4)]  # steps 1 to 4: a round, a D step, a G step (not D's), a round


def test_the_console_halves_the_learning_rates_on_the_same_step_as_train_and_marks_it(digits):
    console = TrainingConsole(digits[:320], replace(TrainConfig(batch_size=32), lr_g=2e-3, lr_d=1e-3, halve_lr_at=2))
    console.run(steps=1, wait=True)
    console.step_d()  # step 2: the last at the first rates
    branch = console.branch
    assert (branch.opt_g.param_groups[0]["lr"], branch.opt_d.param_groups[0]["lr"]) == (2e-3, 1e-3)
    console.step_g()  # step 3, the first after halve_lr_at
    assert (branch.opt_g.param_groups[0]["lr"], branch.opt_d.param_groups[0]["lr"]) == (1e-3, 5e-4)
    assert branch.lr_changes == [(2, "D", 5e-4), (2, "G", 1e-3)] and (branch.config.lr_g, branch.config.lr_d) == (1e-3, 5e-4)
    console.run(steps=2, wait=True)
    assert branch.opt_g.param_groups[0]["lr"] == 1e-3 and len(branch.lr_changes) == 2  # once
