"""train: budgets, snapshots, device reads, divergence, Ctrl-C, the doubling batch, the average, a DataLoader and the loop of notebook 05."""

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
from gan_course.batches import normalise
from gan_course.errors import CourseError, TrainingDiverged
from gan_course.models import ModelConfig, build_models, sample_noise
from gan_course.sampling import generate
from gan_course.settings import TrainConfig
from gan_course.training import train


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


def test_history_to_dict_is_json_ready(digits):
    result = run(digits, steps=12)
    saved = json.loads(json.dumps(result.history.to_dict()))
    assert saved["step"] == list(range(1, 13)) and saved["snapshot_steps"] == [0, 10, 12]
    assert "snapshots" not in saved
    assert json.loads(json.dumps(result.config.to_dict()))["model"]["model"] == "mlp"


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


def test_a_dataloader_cannot_double_its_batch_but_may_stop_before(mnist):
    from gan_course.batches import MNISTDigits, make_loader

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


def test_a_run_ends_with_the_averages_batchnorm_statistics_remeasured(digits):
    from gan_course.sampling import remeasure_batchnorm

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
    from gan_course.batches import MNISTDigits, make_loader

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
    from gan_course.batches import MNISTDigits, make_loader

    loader = make_loader(MNISTDigits(mnist[0][:100], mnist[1][:100]), 16)
    with pytest.raises(CourseError, match=re.escape("the DataLoader's batch size is 16 but config.batch_size is 64")):
        train(TrainConfig(steps=2), loader, progress=False)


# --- the gradient penalty (R1, notebook 07) -------------------------------------------------------------


@pytest.mark.parametrize("gamma, penalised", [(None, []), (0.3, [4, 8])])
def test_train_penalises_d_lazily_on_every_r1_every_th_step(digits, monkeypatch, gamma, penalised):
    import gan_course.steps as steps

    real_penalty, calls = steps.r1_penalty, []

    def counting(real_logits, real, weight):
        calls.append((len(calls), weight))
        return real_penalty(real_logits, real, weight)

    monkeypatch.setattr(steps, "r1_penalty", counting)
    seen = []
    monkeypatch.setattr(training, "r1_weight", lambda g, step: seen.append(step) or steps.r1_weight(g, step))
    run(digits[:320], steps=9, batch_size=32, r1=gamma)
    assert seen == list(range(1, 10))  # asked once a step, for steps 1 to 9
    assert [step for step in seen if steps.r1_weight(gamma, step)] == penalised
    assert [weight for _, weight in calls] == [0.3 / 2 * steps.R1_EVERY] * len(penalised)


# --- halving the learning rates (notebook 07, Try this 10) ----------------------------------------------


@pytest.mark.parametrize("at, halved_from", [(None, None), (5, 6)])
def test_train_halves_both_learning_rates_once_after_halve_lr_at(digits, monkeypatch, at, halved_from):
    seen, real_step = [], training.step_on_device

    def recording(g, d, opt_g, opt_d, *args):
        seen.append((opt_g.param_groups[0]["lr"], opt_d.param_groups[0]["lr"]))
        return real_step(g, d, opt_g, opt_d, *args)

    monkeypatch.setattr(training, "step_on_device", recording)
    run(digits[:320], steps=9, batch_size=32, lr_g=2e-3, lr_d=1e-3, halve_lr_at=at)
    halved = [step for step in range(1, 10) if seen[step - 1] == (1e-3, 5e-4)]
    assert halved == (list(range(halved_from, 10)) if halved_from else [])
    assert all(lrs in ((2e-3, 1e-3), (1e-3, 5e-4)) for lrs in seen)  # halved once, never again
