"""Saving and loading generators; atomic writes leave the old file or the new one, never half of one."""

import json
import os
import re

import pytest
import torch

from gan_course.checkpoint import FORMAT, atomic_save, atomic_write, atomic_write_json, load_generator, save_generator
from gan_course.errors import CourseError
from gan_course.models import ModelConfig, build_models, sample_noise
from gan_course.sampling import generate


class NotAWeight:
    """An arbitrary object: a checkpoint holding one could run code when unpickled."""


def trained_looking(config: ModelConfig):
    """A generator whose weights and BatchNorm statistics differ from a fresh one's."""
    torch.manual_seed(1)
    generator, _ = build_models(config)
    with torch.no_grad():
        for _ in range(3):
            generator(torch.randn(32, config.latent_dim))  # train mode: moves the running statistics
        for p in generator.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return generator


@pytest.mark.parametrize("model, islands", [("mlp", 0), ("mlp", 10), ("dcgan", 0)])
def test_save_and_load_give_identical_samples(tmp_path, model, islands):
    config = ModelConfig(model, latent_dim=16, islands=islands)
    generator = trained_looking(config)
    path = save_generator(generator, config, tmp_path / "run" / "generator.pt")
    assert path == tmp_path / "run" / "generator.pt" and path.is_file()
    loaded, loaded_config = load_generator(path, expect_model=model)
    assert loaded_config == config and not loaded.training and getattr(loaded, "islands", 0) == islands
    z = sample_noise(32, 16, torch.Generator().manual_seed(0))
    assert torch.equal(generate(loaded, z), generate(generator, z))


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CourseError, match=re.escape(f"No checkpoint at {tmp_path / 'nope.pt'}. Train one first")):
        load_generator(tmp_path / "nope.pt")


@pytest.mark.parametrize("content", [{"weights": 1}, torch.zeros(3), {"format": "something-else"}])
def test_torch_file_that_is_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "other.pt"
    torch.save(content, path)
    with pytest.raises(CourseError, match=re.escape(f"{path} is not a gan-course generator checkpoint.")):
        load_generator(path)


@pytest.mark.parametrize("content", [b"", b"garbage" * 100, b"PK\x03\x04" + bytes(100)])
def test_garbage_file_is_not_a_readable_checkpoint(tmp_path, content):
    path = tmp_path / "generator.pt"
    path.write_bytes(content)
    with pytest.raises(CourseError, match=re.escape(f"{path} is not a readable checkpoint (") + r"\w+\)\. Train again"):
        load_generator(path)


def test_a_checkpoint_holding_arbitrary_objects_is_refused(tmp_path):
    config = ModelConfig()
    generator, _ = build_models(config)
    path = tmp_path / "generator.pt"
    torch.save({"format": FORMAT, "config": config.to_dict(), "state_dict": generator.state_dict(),
                "extra": NotAWeight()}, path)
    with pytest.raises(CourseError, match="is not a readable checkpoint"):
        load_generator(path)


def test_checkpoint_of_another_model(tmp_path):
    config = ModelConfig("dcgan", ngf=8)
    path = save_generator(build_models(config)[0], config, tmp_path / "generator.pt")
    with pytest.raises(CourseError, match=re.escape(f"{path} holds a 'dcgan' generator, not 'mlp'. Use --model dcgan.")):
        load_generator(path, expect_model="mlp")


def test_checkpoint_whose_weights_do_not_fit_its_config(tmp_path):
    generator, _ = build_models(ModelConfig(latent_dim=64))
    path = save_generator(generator, ModelConfig(latent_dim=32), tmp_path / "generator.pt")
    with pytest.raises(CourseError, match=re.escape(f"{path} does not match its own config (") + r".*\)\. Train again\."):
        load_generator(path)


# --- atomic writes -------------------------------------------------------------------------------------


def test_a_failing_writer_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "history.json"
    path.write_text("old")

    def half_write(tmp):
        with open(tmp, "w") as f:
            f.write("half of the new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, half_write)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["history.json"]


def test_ctrl_c_during_a_save_keeps_the_old_checkpoint(tmp_path):
    config = ModelConfig()
    path = save_generator(build_models(config)[0], config, tmp_path / "generator.pt")
    before = path.read_bytes()

    def interrupted(tmp):
        with open(tmp, "wb") as f:
            f.write(before[:100])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, interrupted)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["generator.pt"]
    load_generator(path)


def test_a_new_file_gets_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = atomic_save({"a": torch.ones(2)}, tmp_path / "deep" / "x.pt")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))


def test_atomic_write_json_replaces_the_file(tmp_path):
    path = tmp_path / "h.json"
    atomic_write_json({"step": [1]}, path)
    atomic_write_json({"step": [1, 2]}, path)
    assert json.loads(path.read_text()) == {"step": [1, 2]}
    assert os.listdir(tmp_path) == ["h.json"]


def test_writing_under_a_regular_file_is_a_course_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(CourseError, match=re.escape(f"Cannot write to {tmp_path / 'file' / 'sub'}: ") + r".*Choose a writable folder \(--out\)\."):
        atomic_save({}, tmp_path / "file" / "sub" / "x.pt")


def test_a_conditional_generator_round_trips_and_is_not_taken_for_an_unconditional_one(tmp_path):
    config = ModelConfig(latent_dim=16, conditional=True)
    torch.manual_seed(1)
    generator, _ = build_models(config)
    generator(torch.randn(32, 16), torch.arange(32) % 10)  # train mode: moves the BatchNorm statistics
    path = save_generator(generator, config, tmp_path / "generator.pt")
    loaded, loaded_config = load_generator(path, conditional=True)
    z, labels = sample_noise(20, 16, torch.Generator().manual_seed(0)), torch.arange(20) % 10
    assert loaded_config.conditional and torch.equal(generate(loaded, z, labels), generate(generator, z, labels))
    assert load_generator(path, conditional=None)[1].conditional
    with pytest.raises(CourseError, match=re.escape(
            f"{path} holds a conditional generator, G(z, digit): it needs a digit as well as z. "
            "Load it with load_generator(path, conditional=True).")):
        load_generator(path)


def test_an_unconditional_generator_is_not_taken_for_a_conditional_one(tmp_path):
    config = ModelConfig(latent_dim=16)
    path = save_generator(trained_looking(config), config, tmp_path / "generator.pt")
    with pytest.raises(CourseError, match=re.escape(
            f"{path} holds an unconditional generator, G(z): it cannot be told which digit to draw. Load it with "
            "load_generator(path), or train a conditional one: python -m gan_course train --conditional.")):
        load_generator(path, conditional=True)
