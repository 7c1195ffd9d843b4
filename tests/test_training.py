"""train_step and train: who changes when, budgets, snapshots, divergence, Ctrl-C, and the health warnings."""

import copy
import json
import math
import os
import sys
import re
import time
from pathlib import Path

import pytest
import torch
from torch.overrides import TorchFunctionMode

import gan_course.training as training
from gan_course.data import normalise
from gan_course.errors import CourseError, TrainingDiverged
from gan_course.losses import discriminator_loss, make_optimizers
from gan_course.models import ModelConfig, build_models, sample_noise
from gan_course.training import (History, TrainConfig, course_default, generate, health_warnings, train,
                                 train_step)


class Recording:
    """Wraps an optimizer: counts its steps, can skip them, and records the network's state around them."""

    def __init__(self, optimizer, module, skip_step=False):
        self.optimizer, self.module, self.skip_step = optimizer, module, skip_step
        self.steps, self.grads_at_zero_grad, self.after_step = 0, [], None

    def zero_grad(self, set_to_none=True):
        self.grads_at_zero_grad.append(any(p.grad is not None for p in self.module.parameters()))
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self):
        self.steps += 1
        if not self.skip_step:
            self.optimizer.step()
        self.after_step = params(self.module)


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def same(module, before):
    return all(torch.equal(p, q) for p, q in zip(module.parameters(), before))


@pytest.fixture
def gan():
    torch.manual_seed(0)
    generator, discriminator = build_models(ModelConfig())
    opt_g, opt_d = make_optimizers(generator, discriminator)
    return generator, discriminator, opt_g, opt_d


# --- one step ---------------------------------------------------------------------------------------


def test_discriminator_step_does_not_touch_the_generator(gan, real_batch):
    generator, discriminator, opt_g, opt_d = gan
    g_before, d_before = params(generator), params(discriminator)
    no_g_step = Recording(opt_g, generator, skip_step=True)
    train_step(generator, discriminator, no_g_step, opt_d, real_batch, torch.Generator().manual_seed(0))
    # the fakes were detached: D's backward left no gradient in G (checked just before G's own zero_grad)
    assert no_g_step.grads_at_zero_grad == [False]
    assert same(generator, g_before)
    assert not same(discriminator, d_before)


def test_generator_step_does_not_touch_the_discriminator(gan, real_batch):
    generator, discriminator, opt_g, opt_d = gan
    g_before = params(generator)
    recording_d = Recording(opt_d, discriminator)
    train_step(generator, discriminator, opt_g, recording_d, real_batch, torch.Generator().manual_seed(0))
    assert recording_d.steps == 1
    assert same(discriminator, recording_d.after_step)  # G's step(s) came after D's and left D as it was
    assert not same(generator, g_before)


def test_k_generator_steps_per_discriminator_step(gan, real_batch):
    generator, discriminator, opt_g, opt_d = gan
    counting_g, counting_d = Recording(opt_g, generator), Recording(opt_d, discriminator)
    stats = train_step(generator, discriminator, counting_g, counting_d, real_batch, torch.Generator().manual_seed(0), k=3)
    assert (counting_g.steps, counting_d.steps) == (3, 1)
    assert set(stats) == {"loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "grad_g"}


def test_one_step_lowers_the_discriminators_loss_on_a_fixed_batch(gan, real_batch):
    generator, discriminator, opt_g, opt_d = gan
    with torch.no_grad():
        fake = generator(sample_noise(64, 64, torch.Generator().manual_seed(1)))

    def d_loss():
        with torch.no_grad():
            return float(sum(discriminator_loss(discriminator(real_batch), discriminator(fake))))

    before = d_loss()
    stats = train_step(generator, discriminator, opt_g, opt_d, real_batch, torch.Generator().manual_seed(1))
    assert d_loss() < before
    assert stats["loss_d"] == pytest.approx(before, abs=1e-5)  # the step reported the loss it started from
    assert 0 < stats["d_x"] < 1 and 0 < stats["d_g_z1"] < 1 and 0 < stats["d_g_z2"] < 1


def test_d_steps_per_round_and_generator_first(gan, real_batch):
    generator, discriminator, opt_g, opt_d = gan
    order = []

    class Logged(Recording):
        def step(self):
            order.append(self.name)
            super().step()

    counting_g, counting_d = Logged(opt_g, generator), Logged(opt_d, discriminator)
    counting_g.name, counting_d.name = "G", "D"
    train_step(generator, discriminator, counting_g, counting_d, real_batch, torch.Generator().manual_seed(0), k=2, d_steps=3)
    assert order == ["D", "D", "D", "G", "G"]
    order.clear()
    train_step(generator, discriminator, counting_g, counting_d, real_batch, torch.Generator().manual_seed(0), g_first=True)
    assert order == ["G", "D"]


def test_generator_step_reports_the_norm_of_gs_gradient_and_knows_both_losses(gan):
    generator, discriminator, opt_g, _ = gan
    norms = {}
    for loss in ("non-saturating", "saturating"):
        skipping = Recording(opt_g, generator, skip_step=True)
        stats = training.generator_step(generator, discriminator, skipping, 64, torch.Generator().manual_seed(0), loss=loss)
        by_hand = torch.cat([p.grad.flatten() for p in generator.parameters()]).norm()
        assert stats["grad_g"].item() == pytest.approx(by_hand.item(), rel=1e-5)
        norms[loss] = stats["grad_g"].item()
    d_g_z = stats["d_g_z2"].item()
    assert stats["loss_g"].item() == pytest.approx(math.log(1 - d_g_z), abs=0.05)  # saturating: log(1 - D(G(z)))
    assert norms["saturating"] != norms["non-saturating"]
    with pytest.raises(CourseError, match=re.escape("generator loss must be one of non-saturating, saturating; got 'wgan'.")):
        training.generator_step(generator, discriminator, opt_g, 4, loss="wgan")


def test_snapshot_steps_are_log_spaced_early_and_regular_later():
    assert [s for s in range(0, 12001) if training.is_timeline_step(s)] == [0, 10, 20, 50, 100, 200, 500, 1000, 2000,
                                                                         5000, 10000]
    steps = [s for s in range(0, 2001) if training.is_snapshot_step(s, 300)]
    assert steps == [0, 10, 20, 50, 100, 200, 300, 500, 600, 900, 1000, 1200, 1500, 1800, 2000]


# --- whole runs -------------------------------------------------------------------------------------


def run(digits, progress=False, callback=None, models=None, seed=0, **settings):
    settings.setdefault("snapshot_every", 10)
    return train(TrainConfig(**settings), digits, rng=torch.Generator().manual_seed(seed), progress=progress,
                 callback=callback, models=models)


class DeviceReads(TorchFunctionMode):
    """Records each read of a tensor's values into Python (what makes a program wait for a GPU) made by gan_course."""

    READS = {"tolist", "item", "__float__", "__bool__", "__int__", "__index__", "numpy", "cpu"}

    def __init__(self):
        super().__init__()
        self.reads = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        caller = sys._getframe(1).f_code.co_filename
        if name in self.READS and f"{os.sep}gan_course{os.sep}" in caller:
            self.reads.append((name, Path(caller).name))
        return func(*args, **(kwargs or {}))


def test_the_training_loop_reads_the_device_only_every_read_every_steps_and_at_snapshots(digits):
    reads_per_step = []
    with DeviceReads() as mode:
        def on_step(result):
            reads_per_step.append((result.step, len(mode.reads)))
        result = train(TrainConfig(steps=250, snapshot_every=10**6, ema=0.999), digits, progress=False,
                       rng=torch.Generator().manual_seed(0), on_step=on_step)
    before = 0
    reading_steps = []
    for step, total in reads_per_step:  # reads after step s's on_step belong to the end of step s
        if total > before:
            reading_steps.append(step - 1)
        before = total
    if len(mode.reads) > before:
        reading_steps.append(250)
    read_steps = [s for s in range(1, 251) if s % training.READ_EVERY == 0 or training.is_snapshot_step(s, 10**6)] + [250]
    assert set(reading_steps) <= set(read_steps) | {0}, reading_steps
    assert result.history.step == list(range(1, 251))  # and still every step's numbers are there
    assert len(mode.reads) <= 3 * len(read_steps) + 5, mode.reads


def test_a_run_records_its_device_and_threads_and_notices_a_busy_machine(digits, busy_program, restore_threads):
    torch.set_num_threads(2)
    history = run(digits, steps=300, threads=1).history
    assert (history.device, history.threads) == ("cpu", 1)
    assert torch.get_num_threads() == 2  # the caller's thread count is back after the run
    assert history.machine.startswith("another program is using the CPU ("), history.machine
    assert {"device": "cpu", "threads": 1}.items() <= history.to_dict().items()


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2"])
def test_a_bad_thread_count_is_refused_before_training(digits, threads):
    with pytest.raises(CourseError, match=re.escape(f"threads must be a positive integer or None (automatic); got {threads!r}.")):
        run(digits, steps=1, threads=threads)


def test_history_has_one_entry_per_step(digits):
    history = run(digits, steps=25).history
    assert history.step == list(range(1, 26))
    for name in ("seconds", "loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"):
        assert len(getattr(history, name)) == 25
    assert history.seconds == sorted(history.seconds)
    assert all(math.isfinite(v) for v in history.loss_d + history.loss_g)
    assert not history.interrupted


def test_snapshots_every_n_steps_and_at_the_end(digits):
    calls = []
    result = run(digits, steps=25, n_fixed=16, callback=lambda r: calls.append(r.history.step[-1]))
    assert [s for s, _ in result.history.snapshots] == [0, 10, 20, 25] and calls == [10, 20, 25]  # 0: before training
    for _, images in result.history.snapshots:
        assert images.shape == (16, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert torch.equal(result.history.snapshots[-1][1], generate(result.sampler, result.fixed_noise))
    assert [s for s, _ in run(digits, steps=20).history.snapshots] == [0, 10, 20]  # no duplicate at the end


def test_epochs_budget_counts_full_batches(digits):
    images = digits[:650]  # 650 // 64 = 10 full batches an epoch
    assert len(run(images, epochs=1).history.step) == 10
    assert len(run(images, epochs=2).history.step) == 20
    assert len(run(images, epochs=0.5).history.step) == 5
    assert len(run(images, epochs=2, steps=13).history.step) == 13  # the smaller budget wins


def test_seconds_budget_stops_the_run(digits):
    start = time.perf_counter()
    history = run(digits, seconds=0.5, snapshot_every=1000).history
    assert time.perf_counter() - start < 15
    assert history.seconds[-1] >= 0.5 and history.seconds[:-1] == [t for t in history.seconds if t < 0.5]
    assert [s for s, _ in history.snapshots][-1] == history.step[-1]


@pytest.mark.parametrize("settings, message", [
    ({}, "Give a training budget: epochs, steps or seconds."),
    ({"epochs": 0}, "epochs must be positive; got 0. Try epochs=1."),
    ({"steps": -5}, "steps must be positive; got -5. Try steps=1."),
    ({"steps": 5, "lr_g": 0}, "generator learning rate must be a number in (0, 1]; got 0."),
    ({"steps": 5, "lr_d": float("nan")}, "discriminator learning rate must be a number in (0, 1]; got nan."),
    ({"steps": 5, "batch_size": 128}, "batch size 128 is larger than the data (100 images). Use --batch-size 64 or less."),
    ({"steps": 5, "k": 0}, "k must be a positive integer; got 0."),
    ({"steps": 5, "d_steps": 0}, "d_steps must be a positive integer; got 0."),
    ({"steps": 5, "g_loss": "minimax"}, "g_loss must be one of non-saturating, saturating; got 'minimax'."),
    ({"steps": 5, "beta1": 1.0}, "beta1 must be in [0, 1); got 1.0."),
])
def test_train_config_validate_errors(settings, message):
    with pytest.raises(CourseError, match=re.escape(message)):
        TrainConfig(**settings).validate(100)


def test_train_refuses_bad_settings_and_bad_images_before_training(digits):
    with pytest.raises(CourseError, match=re.escape("epochs must be positive; got 0.")):
        train(TrainConfig(epochs=0), digits, progress=False)
    with pytest.raises(CourseError, match=r"not \[-1, 1\]"):
        train(TrainConfig(steps=1), digits * 0.5 + 0.5, progress=False)


def test_nan_in_the_discriminator_stops_training_with_advice(digits):
    torch.manual_seed(0)
    generator, discriminator = build_models(ModelConfig())
    with torch.no_grad():
        discriminator.net[0].weight[0, 0] = float("nan")
    with pytest.raises(TrainingDiverged, match=re.escape(
            "Training diverged at step 1: loss_d=nan, loss_g=nan. Lower the learning rates (now G 0.0002, D 0.0002), e.g. to 2e-05.")):
        run(digits, steps=50, models=(generator, discriminator))


def test_a_poisoned_batch_makes_training_diverge(mnist):
    images = normalise(mnist[0][:640])
    images[300:] = float("nan")  # past the first 256 that train() checks
    with pytest.raises(TrainingDiverged, match=r"Training diverged at step \d+: .* Lower the learning rates \(now G 0\.001, D 0\.001\)"):
        run(images, steps=100, lr_g=1e-3, lr_d=1e-3)
    assert issubclass(TrainingDiverged, CourseError)


def test_ctrl_c_in_a_callback_keeps_history_snapshot_and_models(digits):
    calls = []

    def stop_at_second_snapshot(result):
        calls.append(result.history.step[-1])
        if len(calls) == 2:
            raise KeyboardInterrupt

    result = run(digits, steps=100, callback=stop_at_second_snapshot)
    history = result.history
    assert history.interrupted and calls == [10, 20]
    assert history.step == list(range(1, 21)) and len(history.loss_g) == 20
    assert [s for s, _ in history.snapshots] == [0, 10, 20]
    assert result.generator.training and result.discriminator.training
    images = generate(result.sampler, result.fixed_noise)
    assert torch.isfinite(images).all() and torch.equal(images, history.snapshots[-1][1])
    assert result.discriminator(images).shape == (64,)


def test_ctrl_c_between_snapshots_takes_a_last_snapshot(digits, monkeypatch):
    real_step, count = training.step_on_device, []

    def interrupted_step(*args, **kwargs):  # Ctrl-C arrives during the 15th step
        count.append(1)
        if len(count) == 15:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(training, "step_on_device", interrupted_step)
    history = run(digits, steps=100).history
    assert history.interrupted and history.step[-1] == 14
    assert [s for s, _ in history.snapshots] == [0, 10, 14]


def test_generate_uses_eval_mode_and_restores_the_mode(gan, real_batch):
    generator, *_ = gan
    z = sample_noise(8, 64, torch.Generator().manual_seed(0))
    buffers = [b.clone() for b in generator.buffers()]
    images = generate(generator, z)
    assert generator.training
    assert all(torch.equal(b, c) for b, c in zip(generator.buffers(), buffers))  # running stats untouched
    assert torch.allclose(generate(generator, z[:2]), images[:2], atol=1e-6)  # each image depends on its z only
    assert not torch.allclose(generator(z[:2]), generator(z)[:2], atol=1e-4)  # unlike train mode
    generator.eval()
    generate(generator, z)
    assert not generator.training
    assert images.shape == (8, 1, 28, 28) and not images.requires_grad


def test_history_to_dict_is_json_ready(digits):
    result = run(digits, steps=12)
    saved = json.loads(json.dumps(result.history.to_dict()))
    assert saved["step"] == list(range(1, 13)) and saved["snapshot_steps"] == [0, 10, 12]
    assert "snapshots" not in saved
    assert json.loads(json.dumps(result.config.to_dict()))["model"]["model"] == "mlp"


# --- health warnings --------------------------------------------------------------------------------


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


def test_course_default_configs_are_valid():
    for model in ("mlp", "dcgan"):
        config = course_default(model)
        config.validate(10_000)
        assert config.model.model == model and config.seconds is not None
    with pytest.raises(CourseError, match=re.escape("Unknown model 'gan'; choose one of mlp, dcgan.")):
        course_default("gan")


def test_the_mlp_default_doubles_its_batch_after_3000_steps_and_the_others_keep_theirs():
    assert course_default().double_batch_at == 3000
    assert course_default("dcgan").double_batch_at is None and course_default(conditional=True).double_batch_at is None
    config = TrainConfig(batch_size=32, double_batch_at=3000)
    assert [config.batch_size_at(s) for s in (0, 2999, 3000, 10**6)] == [32, 32, 64, 64]
    assert TrainConfig(batch_size=32).batch_size_at(10**6) == 32


def test_steps_for_epochs_counts_each_epoch_at_its_own_batch_size():
    config = TrainConfig(batch_size=32, double_batch_at=20)
    # 320 images: epochs of 10 steps at 32 until one starts at step 20 or later, then 5 steps at 64
    assert [training.steps_for_epochs(config, 320, e) for e in (1, 2, 3, 4, 2.5, 3.6)] == [10, 20, 25, 30, 22, 28]
    assert training.steps_for_epochs(TrainConfig(batch_size=32), 320, 2.5) == 25
    assert training.steps_for_epochs(config, 10_000, 1e9) == 156 * (10**9 - 1) + 312  # no loop over a billion epochs


class BatchSizes(torch.nn.Module):
    """Wraps D and records the size of every batch it sees."""

    def __init__(self, discriminator):
        super().__init__()
        self.discriminator, self.sizes = discriminator, []

    def forward(self, images, *labels):
        self.sizes.append(len(images))
        return self.discriminator(images, *labels)


@pytest.mark.parametrize("conditional", [False, True])
def test_train_doubles_the_batch_from_the_first_epoch_after_double_batch_at(digits, mnist, conditional):
    generator, discriminator = build_models(ModelConfig(latent_dim=8, conditional=conditional))
    recorder = BatchSizes(discriminator)
    config = TrainConfig(model=ModelConfig(latent_dim=8, conditional=conditional), batch_size=32, double_batch_at=15,
                         epochs=3, snapshot_every=10)
    labels = mnist[1][:320] if conditional else None
    history = train(config, digits[:320], models=(generator, recorder), progress=False, labels=labels).history
    real_sizes = recorder.sizes[::3]  # D sees real, fake (for D's step) and fake (for G's step) each step
    assert len(history.step) == 25 and real_sizes == [32] * 20 + [64] * 5  # epochs 1, 2 at 32; epoch 3 starts at step 20


def test_double_batch_at_is_checked():
    for bad in (0, -5, 2.5, True, "3000"):
        with pytest.raises(CourseError, match=re.escape(f"double_batch_at must be a step number (a positive integer) "
                                                        f"or None (one batch size throughout); got {bad!r}.")):
            TrainConfig(steps=1, double_batch_at=bad).validate(100)
    with pytest.raises(CourseError, match=re.escape("the batch doubles to 128 at step 3000, more than the data (100 "
                                                    "images). Use a batch size of at most 50, or never double it (double_batch_at=None")):
        TrainConfig(steps=1, double_batch_at=3000).validate(100)


def test_a_dataloader_cannot_double_its_batch_but_may_stop_before(mnist):
    from gan_course.data import MNISTDigits, make_loader

    loader = make_loader(MNISTDigits(mnist[0][:320], mnist[1][:320]), 32)
    for budget in ({"seconds": 5.0}, {"steps": 11}, {"epochs": 2}):
        with pytest.raises(CourseError, match=re.escape("this run would double its batch at step 10, but a DataLoader's "
                                                        "batches keep one size. Pass the images as a tensor")):
            train(TrainConfig(batch_size=32, double_batch_at=10, **budget), loader, progress=False)
    result = train(TrainConfig(batch_size=32, double_batch_at=10, steps=10), loader, progress=False)
    assert len(result.history.step) == 10


def test_dcgan_trains_a_few_steps(digits):
    result = train(TrainConfig(model=ModelConfig("dcgan", ngf=8, ndf=8), steps=3, snapshot_every=2), digits,
                   rng=torch.Generator().manual_seed(0), progress=False)
    assert [s for s, _ in result.history.snapshots] == [0, 2, 3]


def test_update_ema_moves_the_average_towards_the_generator_and_copies_batchnorm_statistics():
    from gan_course.models import MLPGenerator
    from gan_course.training import update_ema

    torch.manual_seed(0)
    average, generator = MLPGenerator(8, (16, 16)), MLPGenerator(8, (16, 16))
    before = [p.clone() for p in average.parameters()]
    generator.net[3].running_mean.fill_(3.0)  # the BatchNorm after the second linear layer
    update_ema(average, generator, decay=0.999, step=10**6)  # late in training: rate 1 - 0.999
    for old, new, target in zip(before, average.parameters(), generator.parameters()):
        assert torch.allclose(new, 0.999 * old + 0.001 * target, atol=1e-6)
    assert torch.equal(average.net[3].running_mean, generator.net[3].running_mean)
    middle = [p.clone() for p in average.parameters()]
    update_ema(average, generator, decay=0.999, step=0)  # first step: rate 1 - 1/10, far from 0.001
    for old, new, target in zip(middle, average.parameters(), generator.parameters()):
        assert torch.allclose(new, 0.1 * old + 0.9 * target, atol=1e-6)


def _eval_and_batch_outputs(generator, conditional, n=1024):
    """G in eval mode (running statistics) and in train mode (this batch's statistics) on remeasure_batchnorm's
    noise (and digits, for a conditional G)."""
    from gan_course.conditional import cycling_digits

    inputs = [sample_noise(n, generator.latent_dim, torch.Generator().manual_seed(0))]
    inputs += [cycling_digits(n)] if conditional else []
    with torch.no_grad():
        return generator.eval()(*inputs), generator.train()(*inputs)


@pytest.mark.parametrize("conditional", [False, True])
def test_remeasure_batchnorm_gives_the_average_its_own_statistics(conditional):
    from gan_course.conditional import build_conditional_models
    from gan_course.models import MLPGenerator
    from gan_course.training import remeasure_batchnorm, update_ema

    torch.manual_seed(0)
    generator = build_conditional_models(ModelConfig())[0] if conditional else MLPGenerator(64, (32, 32), islands=10)
    average = copy.deepcopy(generator)
    with torch.no_grad():  # G moves away from its average and measures its running statistics on its own weights
        for p in generator.parameters():
            p.add_(0.3 * torch.randn_like(p))
        _eval_and_batch_outputs(generator, conditional, n=256)
    update_ema(average, generator, 0.9, step=10**6)  # copies G's running statistics into the average
    global_rng = torch.random.get_rng_state()
    remeasure_batchnorm(average.eval())
    assert torch.equal(torch.random.get_rng_state(), global_rng)  # its noise has its own generator
    assert not average.training  # its mode and momentum are put back
    assert all(m.momentum == 0.1 for m in average.modules() if isinstance(m, torch.nn.BatchNorm1d))
    with_own, on_batch = _eval_and_batch_outputs(average, conditional)  # eval mode now normalises as train mode
    assert torch.allclose(with_own, on_batch, atol=1e-2)
    average.load_state_dict({**average.state_dict(), **{k: v for k, v in generator.state_dict().items()
                                                          if "running" in k}})
    with_g_stats, on_batch = _eval_and_batch_outputs(average, conditional)  # with G's statistics it does not
    assert not torch.allclose(with_g_stats, on_batch, atol=1e-2)


def test_remeasure_batchnorm_leaves_a_network_without_batchnorm_alone():
    from gan_course.models import MLPDiscriminator
    from gan_course.training import remeasure_batchnorm

    network = MLPDiscriminator().eval()
    before = copy.deepcopy(network.state_dict())
    remeasure_batchnorm(network)
    assert all(torch.equal(before[k], v) for k, v in network.state_dict().items()) and not network.training


def test_a_run_ends_with_the_averages_batchnorm_statistics_remeasured(digits):
    from gan_course.training import remeasure_batchnorm

    result = run(digits, steps=30)
    again = copy.deepcopy(result.ema_generator)
    remeasure_batchnorm(again)
    assert all(torch.equal(a, b) for a, b in zip(again.buffers(), result.ema_generator.buffers()))
    assert not all(torch.equal(a, b) for a, b in zip(result.generator.buffers(), result.ema_generator.buffers())
                   if a.is_floating_point())


def test_a_run_samples_from_its_averaged_generator_unless_ema_is_off(digits):
    result = run(digits, steps=20)
    assert result.ema_generator is not None and result.sampler is result.ema_generator
    assert not any(p.requires_grad for p in result.ema_generator.parameters())
    assert not torch.equal(generate(result.sampler, result.fixed_noise), generate(result.generator, result.fixed_noise))
    plain = run(digits, steps=20, ema=None)
    assert plain.ema_generator is None and plain.sampler is plain.generator


def test_ema_must_be_a_decay_between_0_and_1(digits):
    with pytest.raises(CourseError, match=r"ema must be a decay in \(0, 1\), e.g. 0.999, or None; got 1.5"):
        run(digits, steps=5, ema=1.5)


# --- a DataLoader, and the loop of notebook 05 written out --------------------------------------------


def hand_loop(generator, discriminator, loader, steps, lr, latent_dim=64):
    """The training loop as notebook 05 writes it out (global RNG for the noise), for `steps` steps."""
    criterion = torch.nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999), fused=True)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999), fused=True)
    _fixed_noise = sample_noise(64, latent_dim)  # train() draws its fixed noise first too
    losses = []
    while len(losses) < steps:
        for real, _ in loader:
            ones, zeros = torch.ones(len(real)), torch.zeros(len(real))
            discriminator.zero_grad(set_to_none=True)
            out_real = discriminator(real)
            fake = generator(sample_noise(len(real), latent_dim))
            out_fake = discriminator(fake.detach())
            loss_d = criterion(out_real, ones) + criterion(out_fake, zeros)
            loss_d.backward()
            opt_d.step()
            generator.zero_grad(set_to_none=True)
            loss_g = criterion(discriminator(fake), ones)
            loss_g.backward()
            opt_g.step()
            losses.append((loss_d.item(), loss_g.item(), torch.sigmoid(out_real).mean().item()))
            if len(losses) == steps:
                break
    return losses


def test_train_on_a_dataloader_does_the_same_arithmetic_as_the_loop_written_out(mnist):
    from gan_course.data import MNISTDigits, make_loader

    dataset = MNISTDigits(mnist[0][:320], mnist[1][:320])
    results = []
    for by_hand in (True, False):
        torch.manual_seed(3)
        generator, discriminator = build_models(ModelConfig())
        loader = make_loader(dataset, 32, torch.Generator().manual_seed(4))
        if by_hand:
            results.append(hand_loop(generator, discriminator, loader, 25, lr=2e-3))
        else:
            config = TrainConfig(batch_size=32, lr_g=2e-3, lr_d=2e-3, steps=25)
            history = train(config, loader, models=(generator, discriminator), progress=False).history
            results.append(list(zip(history.loss_d, history.loss_g, history.d_x)))
    assert results[0] == results[1]  # bit for bit, over more than two epochs of 10 batches


def test_a_dataloader_with_another_batch_size_is_refused(mnist):
    from gan_course.data import MNISTDigits, make_loader

    loader = make_loader(MNISTDigits(mnist[0][:100], mnist[1][:100]), 16)
    with pytest.raises(CourseError, match=re.escape("the DataLoader's batch size is 16 but config.batch_size is 64")):
        train(TrainConfig(steps=2), loader, progress=False)
