"""A training console, GAN Lab style, on real MNIST: train in the background, pause, step D or G, fork (notebooks 05, 06).

The run lives in a background thread (torch releases the GIL), so the notebook stays responsive. States:
idle -> running <-> paused (a single D or G step runs while paused: "stepping"), and stopped, the end of a
branch. `fork(step)` restores a point of the timeline (G, D, both optimizers, the averaged G, the random
state, the data order) as a new branch; the old branch stays for comparison. The widget is in `console_view`.
"""

from __future__ import annotations

import atexit
import copy
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import replace

import torch

from gan_course.batches import check_images
from gan_course.branch import Branch, history_until
from gan_course.errors import CourseError, TrainingDiverged
from gan_course.history import _check_finite, is_snapshot_step
from gan_course.losses import make_optimizers
from gan_course.models import build_models, sample_noise
from gan_course.sampling import update_ema
from gan_course.settings import TrainConfig, course_default

LR = (1e-5, 1e-1)  # the learning-rate sliders' range
STEPS_PER_ROUND = (1, 5)
DELAY = (0.0, 2.0)  # seconds of slow motion after each step
N_METER = 256  # samples the digit meter reads at each timeline point
FORKABLE = 4  # branches that keep checkpoints (an MLP checkpoint is about 11 MB); older ones keep their curves
CONSOLES = weakref.WeakSet()  # every console alive: starting one pauses the others


def check_range(name: str, value, low, high, hint: str, whole: bool = False) -> None:
    """Raise a `CourseError` unless low <= value <= high (a whole number if `whole`)."""
    kinds = (int,) if whole else (int, float)
    if not isinstance(value, kinds) or isinstance(value, bool) or not low <= value <= high:
        raise CourseError(f"{name} must be {'a whole number ' if whole else ''}from {low:g} to {high:g}; "
                          f"got {value!r}. {hint}")


class TrainingConsole:
    """Train, pause, step D or G, change learning rates, scrub the timeline and fork, from code or the widget.

    images: (N, 1, 28, 28) in [-1, 1]. `config` defaults to the course's without piles,
    `course_default(piles=False)`, whose D judges an image alone as in the lectures' loop; `course_default()`
    plays the course's GAN with piles (sorted here, before the first step; a lone Step G asks for each pile as
    often as the digits fall into it). Its budget is ignored: `run` sets one. A timeline point (grid, statistics,
    meter reading, checkpoint) is kept at `is_snapshot_step(step, every)`; at most `keep` checkpoints per
    branch (older ones are thinned out).
    """

    def __init__(self, images: torch.Tensor, config: TrainConfig | None = None, meter=None,
                 device: torch.device | str = "cpu", seed: int = 0, every: int = 100, keep: int = 16):
        # the lectures' game by default: D judges an image alone
        config = replace(config or course_default(piles=False), epochs=None, seconds=None, steps=None)
        replace(config, steps=1).validate(len(images))
        if config.model.conditional:
            raise CourseError("the console trains GANs that find their own kinds of digit (islands or piles); this "
                              "config is told the digits' labels. Train it with train() or train_and_show() "
                              "(notebook 07), or give the console course_default() or course_default(piles=False).")
        check_images(images[:256])
        check_range("every", every, 1, 10_000, "Try every=100.", whole=True)
        check_range("keep", keep, 2, 1000, "Try keep=16.", whole=True)
        self.device, self.meter, self.every, self.keep = torch.device(device), meter, every, keep
        self.images = images.to(self.device)
        rng = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):  # the weights come from `seed`; the global RNG is left alone
            torch.manual_seed(seed)
            generator, discriminator = build_models(config.model, self.device)
        piles = generator.set_piles(self.images) if config.model.piles else None  # each image's pile, as train() does
        self.fixed_noise = sample_noise(config.n_fixed, config.model.latent_dim, rng, self.device)
        self.z_meter = sample_noise(N_METER, config.model.latent_dim, torch.Generator().manual_seed(1), self.device)
        ema = copy.deepcopy(generator).requires_grad_(False) if config.ema is not None else None
        self.branches = [Branch("run 1", config, generator, discriminator,
                                *make_optimizers(generator, discriminator, config.lr_g, config.lr_d, (config.beta1, 0.999)),
                                ema, rng, piles=piles)]
        self.state, self.message, self.delay, self.version = "idle", "", 0.0, 0
        self._until, self._busy, self._requests, self._thread, self._view = None, False, 0, None, None
        self._cond = threading.Condition()  # guards all of the above and the branches
        CONSOLES.add(self)
        self.branch.last = self.probe()
        self._timeline_point()

    def __repr__(self) -> str:
        return f"TrainingConsole: {self.branch.name}, step {self.step:,}, {self.state}"

    @property
    def branch(self) -> Branch:
        """The branch that trains now: the latest fork, or the first run."""
        return self.branches[-1]

    @property
    def step(self) -> int:
        return self.branch.step

    # --- commands ------------------------------------------------------------------------------------
    def run(self, steps: int | None = None, wait: bool = False, timeout: float | None = None) -> None:
        """Train in the background: `steps` more steps then pause (None: until `pause` or `stop`)."""
        if steps is not None:
            check_range("steps", steps, 1, 100_000, "Try steps=300.", whole=True)
        for other in list(CONSOLES):  # one run at a time: a re-run cell's old console must not compete for the cores
            if other is not self:
                other.pause()
        with self._exclusive():
            if self.state == "stopped":
                raise CourseError("This run is stopped. Fork from a point of its timeline to train on: console.fork(step).")
            self._until = None if steps is None else self.step + steps
            self.state, self.message = "running", ""
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="gan-console", daemon=True)
                self._thread.start()
        if wait:
            self.wait(timeout)

    def wait(self, timeout: float | None = None) -> str:
        """Block until the run is no longer running (its steps are done, it paused or stopped); return the state.

        Ctrl-C (the notebook's ■ button) pauses the run, keeping what it has learnt, as it ends `train()`.
        """
        try:
            with self._cond:
                self._cond.wait_for(lambda: self.state != "running", timeout)
        except KeyboardInterrupt:
            self.pause()
        return self.state

    def pause(self) -> None:
        """Pause after the current step; when this returns, the step counter stands still."""
        with self._exclusive():
            if self.state == "running":
                self.state = "paused"

    def stop(self) -> None:
        """End this branch: keep a last timeline point, let the thread finish. `fork` continues from its timeline."""
        with self._exclusive():
            self.state = "stopped"
            if self.branch.timeline[-1]["step"] != self.step:
                self._timeline_point(force=True)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def step_d(self) -> dict[str, float]:
        """Exactly one discriminator update (G unchanged) on a fresh batch, while paused; returns its statistics."""
        return self._single_step("D")

    def step_g(self) -> dict[str, float]:
        """Exactly one generator update (D unchanged), while paused; returns its statistics."""
        return self._single_step("G")

    def set_lr(self, lr_d: float | None = None, lr_g: float | None = None) -> None:
        """New learning rates, effective from the next step; each change is recorded with its step."""
        for who, lr in (("D", lr_d), ("G", lr_g)):
            if lr is not None:
                check_range(f"{who}'s learning rate", lr, *LR, "GANs usually train with 1e-4 to 2e-3.")
        with self._exclusive():
            b = self.branch
            for who, lr, opt in (("D", lr_d, b.opt_d), ("G", lr_g, b.opt_g)):
                if lr is not None and lr != opt.param_groups[0]["lr"]:
                    for group in opt.param_groups:
                        group["lr"] = lr
                    b.lr_changes.append((self.step, who, lr))
            b.config = replace(b.config, lr_d=b.opt_d.param_groups[0]["lr"], lr_g=b.opt_g.param_groups[0]["lr"])
            self.version += 1

    def set_steps(self, d_steps: int | None = None, g_steps: int | None = None) -> None:
        """Discriminator and generator steps per round (k_D, k_G), from the next round."""
        for name, value in (("D steps per round", d_steps), ("G steps per round", g_steps)):
            if value is not None:
                check_range(name, value, *STEPS_PER_ROUND, "One of each is the lecture's loop.", whole=True)
        with self._exclusive():
            b = self.branch
            b.config = replace(b.config, d_steps=d_steps or b.config.d_steps, k=g_steps or b.config.k)

    def set_delay(self, seconds: float) -> None:
        """Slow motion: wait `seconds` after each step."""
        check_range("delay", seconds, *DELAY, "Use 0 for full speed.")
        with self._cond:
            self.delay = float(seconds)

    def fork(self, step: int, lr_d: float | None = None, lr_g: float | None = None) -> Branch:
        """Continue from the latest checkpoint at or before `step` as a new, paused branch; the old one stays."""
        with self._exclusive():
            old = self.branch
            saved = [s for s in old.checkpoints if s <= step]
            if not saved:
                raise CourseError(f"No checkpoint at or before step {step!r}; forkable steps: {sorted(old.checkpoints)}.")
            at = max(saved)
            new = old.fork(at, f"run {len(self.branches) + 1}")
            self.branches.append(new)
            for older in self.branches[:-FORKABLE]:  # memory: only the latest branches keep their checkpoints
                older.checkpoints.clear()
            if self.state in ("running", "stopped"):
                self.state = "paused"
            self.message = f"{new.name}: forked from {old.name} at step {at}."
            self.version += 1
        self.set_lr(lr_d, lr_g)
        return new

    def probe(self) -> dict[str, float]:
        """D's verdicts now, changing nothing: D(x) on the first 64 images, D(G(z)) on the fixed noise (eval mode)."""
        with self._exclusive():
            return self.branch.probe(self.images[:64], self.fixed_noise)

    def view(self) -> tuple[str, list[dict]]:
        """A consistent copy for drawing: (state, one dict per branch with its history, marks and timeline)."""
        with self._cond:
            return self.state, [{"name": b.name, "history": history_until(b.history, b.step), "lr": list(b.lr_changes),
                                 "warnings": list(b.warnings), "timeline": list(b.timeline), "forked_at": b.forked_at,
                                 "step": b.step, "last": dict(b.last), "config": b.config} for b in self.branches]

    # --- the worker ----------------------------------------------------------------------------------
    @contextmanager
    def _exclusive(self):
        """Hold the lock while no step is in progress: the worker waits for us before its next step."""
        with self._cond:
            self._requests += 1
            try:
                self._cond.wait_for(lambda: not self._busy)
                yield
            finally:
                self._requests -= 1
                self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self.state != "paused" and not self._requests)
                if self.state != "running":
                    return
                self._busy = True
            try:
                self._advance("round")
            except Exception as err:  # a failed step pauses the run with the reason, instead of a silent dead thread
                with self._cond:
                    self.state, self.message = "paused", f"The step failed and the run is paused: {err!r}"
            finally:
                with self._cond:
                    self._busy = False
                    if self._until is not None and self.step >= self._until and self.state == "running":
                        self.state = "paused"
                    self._cond.notify_all()
                    if self.delay:
                        self._cond.wait_for(lambda: self.state != "running", self.delay)

    def _single_step(self, kind: str) -> dict[str, float]:
        with self._exclusive():
            if self.state not in ("idle", "paused"):
                raise CourseError(f"Step {kind} works on a paused run; the run is {self.state}. Press Pause first.")
            previous, self.state = self.state, "stepping"
            try:
                return self._advance(kind)
            finally:
                self.state = previous if self.state == "stepping" else self.state

    def _advance(self, kind: str) -> dict[str, float]:
        """One step of `kind`: a whole round, one D update or one G update; record it or pause on NaN."""
        b, start = self.branch, time.perf_counter()
        stats = b.advance(kind, self.images)
        with self._cond:
            return self._record(b, kind, stats, time.perf_counter() - start)

    def _record(self, b: Branch, kind: str, stats: dict[str, float], seconds: float) -> dict[str, float]:
        try:
            _check_finite(stats, b.step + 1, b.config)
        except TrainingDiverged as err:
            self.state = "paused"
            self.message = f"{err} The run is paused: fork from an earlier point of the timeline."
            self.version += 1
            return stats
        if b.ema is not None:
            update_ema(b.ema, b.generator, b.config.ema, b.step + 1)
        b.history.append(b.step + 1, (b.history.seconds or [0.0])[-1] + seconds, stats)
        b.kinds.append(kind)
        b.last = stats
        self._timeline_point()
        self.version += 1
        return stats

    def _timeline_point(self, force: bool = False) -> None:
        if force or is_snapshot_step(self.step, self.every):
            self.branch.add_timeline_point(self.fixed_noise, self.meter, self.z_meter, self.keep)

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """`display(console)` shows its widget (see `console_view`): one per console, however often it is shown."""
        from gan_course.console_view import ConsoleView  # local import: the view builds on this module

        if self._view is None or self._view.box.comm is None:
            self._view = ConsoleView(self)
        return self._view._repr_mimebundle_(**kwargs)


@atexit.register
def _pause_all() -> None:
    """At exit, let a training thread finish its step: Python stopping one inside a step aborts the process."""
    for console in list(CONSOLES):
        console.pause()
