"""The training run (notebook 05): the step of `gan_course.steps`, batch after batch, until the budget runs out.

`train` shuffles the digits into batches epoch after epoch, keeps the running average of G's weights, reads
the step's statistics from the device in batches, and snapshots the fixed noise.
"""

from __future__ import annotations

import copy
import time

import torch
from torch import nn
from tqdm.auto import tqdm

from gan_course.batches import check_images, shuffled_batches
from gan_course.conditional import check_labels, cycling_digits
from gan_course.device import SpeedWatch, choose_threads
from gan_course.errors import CourseError
from gan_course.history import History, TrainResult, health_warnings, is_snapshot_step, warn_health
from gan_course.losses import make_optimizers
from gan_course.models import build_models, sample_noise
from gan_course.piles import nearest_pile
from gan_course.sampling import generate, remeasure_batchnorm, update_ema
from gan_course.settings import TrainConfig, steps_for_epochs
from gan_course.steps import halve_learning_rates, r1_weight, step_on_device

READ_EVERY = 100  # steps between two reads of the statistics from the device (and at every snapshot)


def _budget(config: TrainConfig, n_images: int) -> int | None:
    """Steps allowed by the epochs/steps budget (None: only seconds limit the run)."""
    limits = []
    if config.epochs is not None:
        limits.append(steps_for_epochs(config, n_images, config.epochs))
    if config.steps is not None:
        limits.append(int(config.steps))
    return min(limits) if limits else None


def _epochs(data, config: TrainConfig, rng: torch.Generator | None, device: torch.device, labels=None):
    """(real batch, its labels or None) on `device`, epoch after epoch: shuffled from a tensor (with `labels`,
    shuffled alike), or from a DataLoader of (images, labels); the labels only for a conditional GAN."""
    checked = isinstance(data, torch.Tensor)  # a tensor was checked before training; a loader's first batch is here
    conditional, steps = config.model.conditional, 0
    while True:
        size = config.batch_size_at(steps)  # decided per epoch: one epoch, one batch size
        if isinstance(data, torch.Tensor) and labels is None:
            for real in shuffled_batches(data, size, rng):
                steps += 1
                yield real, None
        elif isinstance(data, torch.Tensor):  # the same shuffle (same random numbers), applied to positions
            for index in shuffled_batches(torch.arange(len(data), device=data.device), size, rng):
                steps += 1
                yield data[index], labels[index]
        else:
            for real, digits in data:
                if not checked:
                    check_images(real)
                    if conditional:
                        check_labels(digits, len(real))
                    checked = True
                yield real.to(device), digits.to(device) if conditional else None


def _check_data(config: TrainConfig, data, size: int, labels=None) -> int:
    """Validate the config and a tensor's images and labels (a DataLoader's are checked as they come); return the image count."""
    if isinstance(data, torch.Tensor):
        check_images(data[:256], size=size)
        n = len(data)
        _check_train_labels(config, labels, n)
    elif labels is not None:
        raise CourseError("labels= goes with a tensor of images; a DataLoader brings its own labels. Drop labels=.")
    else:  # drawing a batch here would move the loader's random state: the run would shuffle differently
        n = len(data.dataset)
        if data.batch_size != config.batch_size:
            raise CourseError(f"the DataLoader's batch size is {data.batch_size} but config.batch_size is "
                              f"{config.batch_size}; make them equal so that epochs count the same steps.")
    config.validate(n)
    budget = _budget(config, n)
    if not isinstance(data, torch.Tensor) and config.model.piles:
        raise CourseError("a GAN with piles sorts its training images into piles before it starts, and a DataLoader "
                          "hands them out one batch at a time. Pass the images as a tensor (training_images()).")
    if not isinstance(data, torch.Tensor) and config.double_batch_at is not None and (
            budget is None or budget > config.double_batch_at):
        raise CourseError(f"this run would double its batch at step {config.double_batch_at}, but a DataLoader's "
                          f"batches keep one size. Pass the images as a tensor (training_images()), stop by step "
                          f"{config.double_batch_at} (steps=...), or set double_batch_at=None.")
    return n


def _check_train_labels(config: TrainConfig, labels, n: int) -> None:
    if config.model.conditional and labels is None:
        raise CourseError(f"a conditional GAN learns from labelled digits: pass labels=, ({n},) digits 0-9, one per image.")
    if config.model.piles and labels is not None:
        raise CourseError("a GAN with piles finds its own labels (the pile of each image); drop labels=, or set "
                          "ModelConfig(piles=0, conditional=True) to train on the digits' labels.")
    if not config.model.conditional and labels is not None:
        raise CourseError("labels were given but config.model.conditional is False: this GAN would ignore them. "
                          "Set ModelConfig(conditional=True), or drop labels=.")
    if labels is not None:
        check_labels(labels, n)


def train(config: TrainConfig, images, device: torch.device | str = "cpu",
          rng: torch.Generator | None = None, callback=None, progress: bool = True,
          models: tuple[nn.Module, nn.Module] | None = None, on_step=None,
          labels: torch.Tensor | None = None) -> TrainResult:
    """Train a GAN until the budget runs out or Ctrl-C.

    images: (N, 1, 28, 28) in [-1, 1], shuffled here with `rng`; or a DataLoader of such batches
    (and labels), used as it is. `rng` also draws the noise (None: torch's global generator).
    `callback(result)` is called after each snapshot (see `is_snapshot_step`) and at the end;
    `on_step(result)`, if given, after every step (keep it cheap; `result.step` and `result.seconds` are
    current, while `result.history` is filled every `READ_EVERY` steps and at each snapshot). Ctrl-C (or
    the notebook's stop button) ends the run early, keeping the history, the last snapshot and usable models.
    A conditional GAN (`config.model.conditional`, notebook 07) also needs `labels` (N,) digits 0-9 with
    a tensor of images; a DataLoader gives its own. Its fixed noise asks for the digits 0-9 in turn.
    """
    n_images = _check_data(config, images, images.shape[-1] if isinstance(images, torch.Tensor) and models else 28,
                           labels)
    device = torch.device(device)
    generator, discriminator = models or build_models(config.model, device)
    data = images.to(device) if isinstance(images, torch.Tensor) else images
    labels = labels.to(device) if labels is not None else None
    sorting = time.perf_counter()  # sorting the digits into piles counts as training time
    if config.model.piles:  # each image's pile: G and D are told it as a conditional GAN is told the digit
        labels = nearest_pile(data, generator.centres) if generator.ready else generator.set_piles(data)
    sorting = time.perf_counter() - sorting
    opt_g, opt_d = make_optimizers(generator, discriminator, config.lr_g, config.lr_d, (config.beta1, 0.999))
    fixed_noise = sample_noise(config.n_fixed, config.model.latent_dim, rng, device)
    fixed_labels = cycling_digits(config.n_fixed, device) if config.model.conditional else None
    average = copy.deepcopy(generator).requires_grad_(False) if config.ema is not None else None
    result = TrainResult(generator, discriminator, History(), config, fixed_noise, average, fixed_labels)
    threads_before = torch.get_num_threads()
    if device.type == "cpu":  # decided once, here, and kept: another count sums in another order (other digits)
        torch.set_num_threads(config.threads or choose_threads()[0])
        result.history.threads = torch.get_num_threads()
    result.history.device = str(device)
    result.history.snapshots.append((0, generate(result.sampler, fixed_noise, fixed_labels)))  # before training
    max_steps, step, start, pending = _budget(config, n_images), 0, time.perf_counter() - sorting, []
    speed = SpeedWatch(device)
    bar = tqdm(total=max_steps, desc=f"training {config.model.model}", unit="step", disable=not progress,
               mininterval=0.5)  # a calmer bar: fewer display messages from a busy kernel
    try:
        for real, digits in _epochs(data, config, rng, device, labels):
            began = time.perf_counter()
            halve_learning_rates(config.halve_lr_at, step + 1, opt_g, opt_d)
            stats = step_on_device(generator, discriminator, opt_g, opt_d, real, rng, config.k, config.d_steps,
                                   config.g_first, config.g_loss, digits, r1_weight(config.r1, step + 1))
            step += 1
            if average is not None:
                update_ema(average, generator, config.ema, step)
            elapsed = time.perf_counter() - start
            speed.add(time.perf_counter() - began)
            pending.append((step, elapsed, stats))  # read from the device every READ_EVERY steps, not every step
            result.step, result.seconds = step, elapsed
            bar.update(1)
            if on_step is not None:
                on_step(result)
            done = (max_steps is not None and step >= max_steps) or (config.seconds is not None and elapsed >= config.seconds)
            snapshot = is_snapshot_step(step, config.snapshot_every) or done
            if snapshot or step % READ_EVERY == 0:
                result.history.read(pending, config)
                result.history.machine = speed.note()
            if snapshot:
                _snapshot(result, step, callback, bar)
            if done:
                return result
    except KeyboardInterrupt:
        result.history.interrupted = True
        result.history.read(pending, config)
        if step and result.history.snapshots[-1][0] != step:
            _snapshot(result, step, callback, bar)
    finally:
        bar.close()
        generator.train()
        discriminator.train()
        torch.set_num_threads(threads_before)
    return result


def _snapshot(result: TrainResult, step: int, callback, bar) -> None:
    history = result.history
    if result.ema_generator is not None:
        remeasure_batchnorm(result.ema_generator)  # before anything draws from it
    history.snapshots.append((step, generate(result.sampler, result.fixed_noise, result.fixed_labels)))
    bar.set_postfix(loss_d=f"{history.loss_d[-1]:.2f}", loss_g=f"{history.loss_g[-1]:.2f}",
                    d_x=f"{history.d_x[-1]:.2f}", d_g_z=f"{history.d_g_z1[-1]:.2f}")
    for message in health_warnings(history):
        if message not in history.warnings:
            history.warnings.append(message)
            warn_health(message)
    if callback is not None:
        callback(result)
