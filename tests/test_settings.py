"""TrainConfig's checks, the course's defaults, the batch that doubles and the steps an epoch budget allows."""

import re

import pytest

from gan_course.errors import CourseError
from gan_course.settings import HALVE_LR_AT, R1_GAMMA, TrainConfig, course_default, steps_for_epochs


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


def test_only_the_default_with_piles_penalises_d():
    assert course_default().r1 == R1_GAMMA == 0.3
    others = (course_default(piles=False), course_default("dcgan"), course_default(conditional=True), TrainConfig())
    assert all(config.r1 is None for config in others)  # the lectures' GAN, the DCGAN, the conditional GAN, the plain config


def test_only_the_default_with_piles_halves_its_learning_rates():  # kept with the projection D (benchmarks/README.md)
    assert course_default().halve_lr_at == HALVE_LR_AT == 15_000
    others = (course_default(piles=False), course_default("dcgan"), course_default(conditional=True), TrainConfig())
    assert all(config.halve_lr_at is None for config in others)


def test_steps_for_epochs_counts_each_epoch_at_its_own_batch_size():
    config = TrainConfig(batch_size=32, double_batch_at=20)
    # 320 images: epochs of 10 steps at 32 until one starts at step 20 or later, then 5 steps at 64
    assert [steps_for_epochs(config, 320, e) for e in (1, 2, 3, 4, 2.5, 3.6)] == [10, 20, 25, 30, 22, 28]
    assert steps_for_epochs(TrainConfig(batch_size=32), 320, 2.5) == 25
    assert steps_for_epochs(config, 10_000, 1e9) == 156 * (10**9 - 1) + 312  # no loop over a billion epochs


def test_double_batch_at_is_checked():
    for bad in (0, -5, 2.5, True, "3000"):
        with pytest.raises(CourseError, match=re.escape(f"double_batch_at must be a step number (a positive integer) "
                                                        f"or None (one batch size throughout); got {bad!r}.")):
            TrainConfig(steps=1, double_batch_at=bad).validate(100)
    with pytest.raises(CourseError, match=re.escape("the batch doubles to 128 at step 3000, more than the data (100 "
                                                    "images). Use a batch size of at most 50, or never double it (double_batch_at=None")):
        TrainConfig(steps=1, double_batch_at=3000).validate(100)


def test_halve_lr_at_is_checked():
    for bad in (0, -1, 2.5, True, "100"):
        with pytest.raises(CourseError, match=re.escape(f"halve_lr_at must be a step number (a positive integer) or None "
                                                        f"(the same learning rates throughout); got {bad!r}.")):
            TrainConfig(steps=1, halve_lr_at=bad).validate(100)
    TrainConfig(steps=1, halve_lr_at=100).validate(100)


def test_r1_is_checked():
    for bad in (0, -0.3, float("nan"), float("inf"), True, "0.3"):
        with pytest.raises(CourseError, match=re.escape(f"r1 must be a positive number, the penalty's gamma (e.g. 0.3), "
                                                        f"or None (no penalty); got {bad!r}.")):
            TrainConfig(steps=1, r1=bad).validate(100)
    TrainConfig(steps=1, r1=0.3).validate(100)
