"""Saving and loading a trained generator with its config; every file written atomically (notebook 05)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from gan_course.errors import CourseError
from gan_course.models import ModelConfig, build_models

FORMAT = "gan-course-generator-v1"


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call `write(tmp_path)` on a temporary file in the same folder, then rename it to `path`.

    A crash or Ctrl-C mid-write leaves the old file (or none), never a half-written one.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise CourseError(f"Cannot write to {path.parent}: {err.strerror or err}. Choose a writable folder (--out).") from err
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's permissions
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """`torch.save(obj, path)`, atomically."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def atomic_write_json(obj, path: str | os.PathLike) -> Path:
    """Write `obj` as indented JSON, atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=1)))


def save_generator(generator: nn.Module, config: ModelConfig, path: str | os.PathLike) -> Path:
    """Save G's weights together with the `ModelConfig` that rebuilds it."""
    state = {k: v.cpu() for k, v in generator.state_dict().items()}
    return atomic_save({"format": FORMAT, "config": config.to_dict(), "state_dict": state}, path)


def load_generator(path: str | os.PathLike, device: torch.device | str = "cpu", expect_model: str | None = None,
                   conditional: bool | None = False) -> tuple[nn.Module, ModelConfig]:
    """Rebuild a saved generator (in eval mode) and its config; `weights_only=True`, so no code runs on load.

    conditional: False expects G(z), True a conditional G(z, digit) (notebook 07), None takes either.
    """
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"No checkpoint at {path}. Train one first: python -m gan_course train --out DIR.")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a broken file
        raise CourseError(f"{path} is not a readable checkpoint ({type(err).__name__}). Train again to recreate it.") from err
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise CourseError(f"{path} is not a gan-course generator checkpoint. Use the generator.pt that `train` wrote.")
    config = ModelConfig(**saved["config"])
    if expect_model is not None and config.model != expect_model:
        raise CourseError(f"{path} holds a {config.model!r} generator, not {expect_model!r}. Use --model {config.model}.")
    _check_conditional(path, config, conditional)
    generator, _ = build_models(config)
    try:
        generator.load_state_dict(saved["state_dict"])
    except RuntimeError as err:
        raise CourseError(f"{path} does not match its own config ({str(err).splitlines()[0]}). Train again.") from err
    return generator.to(device).eval(), config


def _check_conditional(path: Path, config: ModelConfig, conditional: bool | None) -> None:
    if conditional is False and config.conditional:
        raise CourseError(f"{path} holds a conditional generator, G(z, digit): it needs a digit as well as z. "
                          "Load it with load_generator(path, conditional=True).")
    if conditional and not config.conditional:
        raise CourseError(f"{path} holds an unconditional generator, G(z): it cannot be told which digit to draw. "
                          "Load it with load_generator(path), or train a conditional one: python -m gan_course train --conditional.")
