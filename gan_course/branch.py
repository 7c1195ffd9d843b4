"""One branch of a training console's run: its networks, optimizers, data, steps, history and checkpoints (notebook 05).

A checkpoint is a deep copy of every state that decides the next steps (G, D, both optimizers, the averaged G,
the random generator, the epoch's data order); `fork` turns one into a new branch that repeats the original's
next steps bit for bit on the CPU when nothing is changed. Used by `gan_course.console`.

A GAN with piles (`ModelConfig.piles`, notebook 07) is told each real image's pile, as `train` tells it; a lone
G step has no real batch, so it asks for piles as often as the digits fall into them (`PiledGenerator.pick`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import torch

from gan_course.history import History, health_warnings
from gan_course.losses import discriminator_loss, make_optimizers
from gan_course.models import sample_noise
from gan_course.sampling import generate, remeasure_batchnorm
from gan_course.settings import TrainConfig
from gan_course.steps import (GENERATOR_LOSSES, STATS, _run, discriminator_step, generator_step, halve_learning_rates,
                              r1_weight, train_step)


@dataclass
class Branch:
    """One line of training: its networks, optimizers, data position, history and timeline."""

    name: str
    config: TrainConfig
    generator: torch.nn.Module
    discriminator: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    ema: torch.nn.Module | None
    rng: torch.Generator
    history: History = field(default_factory=History)
    kinds: list[str] = field(default_factory=list)  # per step: "round", "D" or "G"
    order: torch.Tensor | None = None  # this epoch's shuffled image indices
    pos: int = 0
    last: dict = field(default_factory=dict)  # the latest value of each statistic
    timeline: list[dict] = field(default_factory=list)  # {"step", "stats", "reading"}; grids in history.snapshots
    checkpoints: dict[int, dict] = field(default_factory=dict)  # step -> deep copies of every state
    lr_changes: list[tuple[int, str, float]] = field(default_factory=list)  # (step, "D" or "G", new lr)
    warnings: list[tuple[int, str]] = field(default_factory=list)  # (step, message)
    parent: Branch | None = None
    forked_at: int | None = None
    size: int = 0  # this epoch's batch size (`next_batch`)
    piles: torch.Tensor | None = None  # a GAN with piles: each training image's pile (shared by the forks)

    @property
    def step(self) -> int:
        return len(self.history.step)

    @property
    def sampler(self) -> torch.nn.Module:
        return self.ema if self.ema is not None else self.generator

    def advance(self, kind: str, images: torch.Tensor) -> dict[str, float]:
        """One step: a whole round ("round": k_D D steps, k_G G steps), one D update ("D") or one G update ("G").

        Returns every statistic of `STATS` as floats; those of the player that did not move are its latest values.
        """
        c = self.config
        if halve_learning_rates(c.halve_lr_at, self.step + 1, self.opt_g, self.opt_d):  # as train() does; drawn as a mark
            lr_d, lr_g = self.opt_d.param_groups[0]["lr"], self.opt_g.param_groups[0]["lr"]
            self.lr_changes += [(self.step, "D", lr_d), (self.step, "G", lr_g)]
            self.config = replace(c, lr_d=lr_d, lr_g=lr_g)
        if kind == "G":
            n = self.size or c.batch_size_at(self.step)  # as many fakes as this epoch's real batches
            fake = piles = None
            if self.piles is not None:  # no real batch to take piles from: each pile as often as its share
                z, piles = self.generator.pick(sample_noise(n, self.generator.latent_dim, self.rng, images.device))
                fake = self.generator(z, piles)
            stats = generator_step(self.generator, self.discriminator, self.opt_g, n, self.rng, fake, c.g_loss, piles)
            stats["d_g_z1"] = stats["d_g_z2"]  # D is unchanged: G's view of D is D's view before a D step
        elif kind == "D":
            real, piles = self.next_batch_and_piles(images)
            fake, stats = discriminator_step(self.generator, self.discriminator, self.opt_d, real, self.rng, piles,
                                             r1_weight(c.r1, self.step + 1))
            with torch.no_grad():  # how G now fares against the updated D; G is not stepped
                logits = _run(self.discriminator, fake, piles)
            stats |= {"loss_g": GENERATOR_LOSSES[c.g_loss](logits), "d_g_z2": torch.sigmoid(logits).mean()}
        else:
            real, piles = self.next_batch_and_piles(images)
            stats = train_step(self.generator, self.discriminator, self.opt_g, self.opt_d, real,
                               self.rng, c.k, c.d_steps, c.g_first, c.g_loss, piles, r1_weight(c.r1, self.step + 1))
        return self.last | {name: float(value) for name, value in stats.items()}

    def next_batch(self, images: torch.Tensor) -> torch.Tensor:
        """The next real batch (B, 1, 28, 28) of `images`: shuffled per epoch with `rng`, last partial batch dropped;
        B is the batch size of the current epoch (`TrainConfig.batch_size_at`)."""
        return self.next_batch_and_piles(images)[0]

    def next_batch_and_piles(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`next_batch`, and its images' piles (B,) for a GAN with piles (None without)."""
        size = self.size
        if self.order is None or self.pos + size > len(images):
            self.order, self.pos = torch.randperm(len(images), generator=self.rng), 0
            self.size = size = self.config.batch_size_at(self.step)
        self.pos += size
        index = self.order[self.pos - size:self.pos].to(images.device)
        return images[index], None if self.piles is None else self.piles[index]

    @torch.no_grad()
    def probe(self, real: torch.Tensor, z: torch.Tensor) -> dict[str, float]:
        """The statistics of a step, measured without one: D on `real` and on G(z), nothing changed.
        `real` is the first images of the branch's data (a GAN with piles tells D their piles).

        G runs as a training step runs it (train mode, BatchNorm on the batch's statistics), because that is
        what D's and G's steps see; the BatchNorm running averages that this forward pass moves are put back.
        """
        saved = [buffer.clone() for buffer in self.generator.buffers()]
        was_training = self.discriminator.training
        self.discriminator.eval()
        z, real_piles, fake_piles = z.to(real.device), None, None
        if self.piles is not None:  # the first images' own piles; z's first number picks the fakes' (as G draws)
            real_piles = self.piles[:len(real)]
            z, fake_piles = self.generator.pick(z)
        try:
            real_logits = _run(self.discriminator, real, real_piles)
            fake = _run(self.generator.train(), z, fake_piles)
            fake_logits = _run(self.discriminator, fake, fake_piles)
        finally:
            self.discriminator.train(was_training)
            for buffer, value in zip(self.generator.buffers(), saved):
                buffer.copy_(value)
        fake = torch.sigmoid(fake_logits).mean().item()
        return {"loss_d": sum(discriminator_loss(real_logits, fake_logits)).item(),
                "loss_g": GENERATOR_LOSSES[self.config.g_loss](fake_logits).item(),
                "d_x": torch.sigmoid(real_logits).mean().item(), "d_g_z1": fake, "d_g_z2": fake, "grad_g": 0.0}

    def add_timeline_point(self, fixed_noise: torch.Tensor, meter, z_meter: torch.Tensor, keep: int) -> None:
        """The fixed-noise grid, the meter's reading (if a meter is given), new health warnings and a checkpoint."""
        if self.ema is not None:
            remeasure_batchnorm(self.ema)
        self.history.snapshots.append((self.step, generate(self.sampler, fixed_noise)))
        reading = meter.score(generate(self.sampler, z_meter)) if meter is not None else None
        self.timeline.append({"step": self.step, "stats": dict(self.last), "reading": reading})
        for message in health_warnings(self.history):
            if all(message != m for _, m in self.warnings):
                self.warnings.append((self.step, message))
                self.history.warnings.append(message)
        self.save_checkpoint(keep)

    def save_checkpoint(self, keep: int) -> None:
        """Keep a deep copy of every state at this step; past `keep` checkpoints, thin out the older ones."""
        self.checkpoints[self.step] = copy.deepcopy({
            "generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None, "rng": self.rng.get_state(),
            "order": self.order, "pos": self.pos, "size": self.size, "config": self.config, "last": self.last})
        if len(self.checkpoints) > keep:  # drop every second one between the first and the latest
            for dropped in sorted(self.checkpoints)[1:-1:2]:
                del self.checkpoints[dropped]

    def fork(self, step: int, name: str) -> Branch:
        """A new branch from the checkpoint at `step`, sharing this branch's history, timeline and marks up to it."""
        saved = self.checkpoints[step]
        generator, discriminator = copy.deepcopy(self.generator), copy.deepcopy(self.discriminator)
        generator.load_state_dict(saved["generator"])
        discriminator.load_state_dict(saved["discriminator"])
        config = saved["config"]
        opt_g, opt_d = make_optimizers(generator, discriminator, config.lr_g, config.lr_d, (config.beta1, 0.999))
        opt_g.load_state_dict(copy.deepcopy(saved["opt_g"]))  # a copy: Adam would update the saved moments in place
        opt_d.load_state_dict(copy.deepcopy(saved["opt_d"]))
        ema = None
        if self.ema is not None:
            ema = copy.deepcopy(self.ema)
            ema.load_state_dict(saved["ema"])
        warnings = [w for w in self.warnings if w[0] <= step]
        history = history_until(self.history, step)
        history.warnings = [m for _, m in warnings]
        return Branch(name, config, generator, discriminator, opt_g, opt_d, ema, torch.Generator().set_state(saved["rng"]),
                      history, self.kinds[:step], saved["order"], saved["pos"], dict(saved["last"]),
                      [p for p in self.timeline if p["step"] <= step],
                      {s: c for s, c in self.checkpoints.items() if s <= step},
                      [c for c in self.lr_changes if c[0] <= step], warnings, self, step, saved["size"], self.piles)


def history_until(history: History, step: int) -> History:
    """A copy of `history` up to and including `step` (snapshots too; warnings are left empty)."""
    rows = [getattr(history, name)[:step] for name in ("step", "seconds", *STATS)]
    return History(*rows, [s for s in history.snapshots if s[0] <= step], [])
