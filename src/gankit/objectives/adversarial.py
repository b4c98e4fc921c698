"""The adversarial game (Goodfellow et al. 2014): ``train.n_critic`` D updates, then one G update.

D sees real and generated batches through the run's augmentation; the loss is ``loss.name``
(a pure function of logits) plus the regularisers, which this objective calls without knowing
them by name (lazy ones every ``every``-th D update). G's update goes through a frozen D. With
``train.reuse_fake`` (default) D's first update of a step trains on the batch G made in its last
update, as the reference DCGAN loops do, instead of spending another G forward pass.
"""

from __future__ import annotations

import math
from typing import Optional

import torch

from gankit.losses import build_loss
from gankit.models import build_discriminator, build_generator
from gankit.objectives import OBJECTIVES, Objective, Phase, Setup
from gankit.regularizers import StepContext, build_regularizers, logits_of


def build_augment(policy: str):
    """The DiffAugment function of ``train.augment`` (applied to every D input), or None."""
    if not policy:
        return None
    from gankit.augment import diff_augment, parse_policy

    parse_policy(policy)
    return lambda x: diff_augment(x, policy)


class NoiseGame(Objective):
    """Shared by games whose G maps the prior's latents (and labels) to samples: G, D players,
    noise and label draws, the fixed preview inputs and D's input path."""

    def __init__(self, setup: Setup):
        cfg, t = setup.cfg, setup.cfg.train
        self.cfg, self.prior, self.num_classes = cfg, setup.prior, setup.num_classes
        self.is_image, self.memory_format = setup.data.is_image, setup.memory_format
        G = setup.modules.get("G") or build_generator(cfg.model.g.name, dict(cfg.model.g.args), self.prior.dim,
                                                      setup.data.shape, self.num_classes)
        D = setup.modules.get("D") or self.build_d(setup)
        G.prior = self.prior  # sampling, evaluation and exports draw through the run's prior
        self.players = {"G": setup.player("G", G, "g", ema=True), "D": setup.player("D", D, "d")}
        self.augment = build_augment(t.augment)
        self.d_updates = 0
        g = torch.Generator(device="cpu").manual_seed(t.seed + 2)
        self.fixed_z = self.prior.sample(t.n_samples, g).to(setup.device)
        self.fixed_y, self.grid_nrow = self._fixed_labels(t.n_samples, g, setup.device)

    def build_d(self, setup: Setup) -> torch.nn.Module:
        cfg = setup.cfg
        return build_discriminator(cfg.model.d.name, dict(cfg.model.d.args), setup.data.shape, self.num_classes)

    def _fixed_labels(self, n: int, g: torch.Generator, device):
        if self.num_classes == 0:
            return None, max(1, int(math.sqrt(n)))
        if self.num_classes <= 20:  # one row per class
            per_class = max(1, round(n / self.num_classes))
            self.fixed_z = self.fixed_z[:per_class].repeat(self.num_classes, 1)
            y = torch.arange(self.num_classes).repeat_interleave(per_class)
            return y.to(device), per_class
        return torch.randint(self.num_classes, (n,), generator=g).to(device), max(1, int(math.sqrt(n)))

    # ---------------------------------------------------------------- pieces for the phases
    def latents(self, n: int, run) -> tuple:
        """``(z [n, prior.dim], labels [n] or None)``: this process's rows of the step's draw."""
        z = run.draw_rows(self.prior.sample, n)
        y = (run.draw_rows(lambda m, g: torch.randint(self.num_classes, (m,), device=run.device, generator=g), n)
             if self.num_classes else None)
        return z, y

    def real_batch(self, run) -> tuple:
        batch = run.batches.next()
        x = batch["x"]
        if self.is_image:
            x = x.contiguous(memory_format=self.memory_format)
        return x, batch.get("y")

    def generate(self, z, y, forward=None):
        G = forward or self.players["G"].forward
        fake = G(z, y) if self.num_classes else G(z)
        return fake.contiguous(memory_format=self.memory_format) if self.is_image else fake

    def d_forward(self, x: torch.Tensor, y: Optional[torch.Tensor]):
        """D's raw output on ``x`` after the run's augmentation (what losses and penalties see)."""
        if self.augment is not None:
            x = self.augment(x)
        D = self.players["D"].forward
        return D(x, y) if self.num_classes else D(x)

    # ---------------------------------------------------------------- outputs
    def generator(self) -> torch.nn.Module:
        return self.players["G"].inference

    @torch.no_grad()
    def preview(self) -> dict:
        G = self.generator()
        was_training = G.training
        G.eval()
        ys = self.fixed_y.split(256) if self.fixed_y is not None else [None] * math.ceil(len(self.fixed_z) / 256)
        out = torch.cat([(G(z, y) if self.num_classes else G(z)).float().cpu()
                         for z, y in zip(self.fixed_z.split(256), ys)])
        G.train(was_training)
        return {"images": out, "nrow": self.grid_nrow}


def _cpu(tensors: tuple) -> tuple:
    return tuple(t.cpu() if t is not None else None for t in tensors)


@OBJECTIVES.register("adversarial")
class Adversarial(NoiseGame):
    """G against D with ``loss.name`` and ``regularizers`` (the default game; no options)."""

    def __init__(self, setup: Setup):
        super().__init__(setup)
        cfg = setup.cfg
        self.loss_fn = build_loss(cfg.loss.name, dict(cfg.loss.args))
        self.regs = build_regularizers(dict(cfg.regularizers))
        self.reuse_fake = cfg.train.reuse_fake
        self.phases = [Phase("D", ("D",), repeat=cfg.train.n_critic), Phase("G", ("G",))]
        # The fake batch of G's last update (samples, labels, latents) per micro-batch, for D's
        # next first update (train.reuse_fake).
        self.carried: dict = {}

    def loss(self, phase, repeat, run):
        return self.d_loss(run, repeat) if phase.name == "D" else self.g_loss(run)

    def d_loss(self, run, repeat: int) -> torch.Tensor:
        step, reporter = run.step_index, run.reporter
        real, y_real = self.real_batch(run)
        carried = self.carried.get(run.micro) if repeat == 0 and self.reuse_fake else None
        if carried is not None and carried[0].shape[0] == real.shape[0]:
            fake, y_fake, z = carried
        else:
            z, y_fake = self.latents(real.shape[0], run)
            with torch.no_grad(), run.autocast():
                fake = self.generate(z, y_fake)
        active = {n: r for n, r in self.regs.items() if self.d_updates % r.every == 0}
        if any(r.needs_real_grad for r in active.values()):
            real.requires_grad_(True)
        with run.autocast():
            real_out = self.d_forward(real, y_real)
            fake_out = self.d_forward(fake, y_fake)
        real_logits, fake_logits = logits_of(real_out).float(), logits_of(fake_out).float()
        loss = self.loss_fn.d_loss(real_logits, fake_logits)
        reporter.report("loss/D", loss, step)
        total = loss
        if active:
            ctx = self._context(real, y_real, fake, y_fake, real_out, fake_out, step)
            for name, reg in active.items():
                penalty = reg.d_penalty(ctx)
                if penalty is not None:
                    reporter.report(f"penalty/{name}", penalty, step)
                    total = total + penalty
        extra = self.fake_terms("D", z, fake_out, run)
        if extra is not None:
            total = total + extra
        reporter.report("D/real", real_logits.detach())
        reporter.report("D/fake", fake_logits.detach())
        if self.loss_fn.probabilities:
            reporter.report("D/real_prob", torch.sigmoid(real_logits.detach()))
            reporter.report("D/fake_prob", torch.sigmoid(fake_logits.detach()))
        # G's update reuses this real batch (for losses and penalties that compare with it).
        self.hand_on("g_inputs", run, (real.detach(), y_real, real_logits.detach(), real_out))
        return total

    def g_loss(self, run) -> torch.Tensor:
        step, reporter = run.step_index, run.reporter
        real, y_real, real_logits, real_out = self.take("g_inputs", run)
        z, y_fake = self.latents(real.shape[0], run)
        with run.autocast():
            fake = self.generate(z, y_fake)
            fake_out = self.d_forward(fake, y_fake)
        loss = self.loss_fn.g_loss(logits_of(fake_out).float(), real_logits)
        reporter.report("loss/G", loss, step)
        total = loss
        ctx = self._context(real, y_real, fake, y_fake, real_out, fake_out, step)
        for name, reg in self.regs.items():
            penalty = reg.g_penalty(ctx)
            if penalty is not None:
                reporter.report(f"penalty_G/{name}", penalty, step)
                total = total + penalty
        extra = self.fake_terms("G", z, fake_out, run)
        if extra is not None:
            total = total + extra
        self.carried[run.micro] = (fake.detach(), y_fake, z)
        return total

    def _context(self, real, y_real, fake, y_fake, real_out, fake_out, step: int) -> StepContext:
        """What a regulariser may look at in this update (see :class:`gankit.regularizers.StepContext`)."""
        return StepContext(self.players["D"].module, self.players["G"].module, self.d_forward, real, y_real, fake,
                           y_fake, real_out, fake_out, step)

    def fake_terms(self, phase: str, z: torch.Tensor, fake_out, run) -> Optional[torch.Tensor]:
        """A subclass's extra loss on the fake batch of a ``"D"`` or ``"G"`` update (InfoGAN's
        mutual-information term), or None (this game has none).

        Args:
            phase: ``"D"`` or ``"G"``.
            z: ``[N, prior.dim]`` latents of the fake batch.
            fake_out: D's output on it (a dict when D has extra heads).
            run: the loop (for ``run.reporter`` and ``run.step_index``).
        """
        return None

    def after_update(self, phase, run) -> None:
        if phase.name == "D":
            for reg in self.regs.values():
                reg.after_d_step(self.players["D"].module)
            self.d_updates += 1

    def state_dict(self) -> dict:
        return {"d_updates": self.d_updates, "fixed": {"z": self.fixed_z.cpu(), "y": None if self.fixed_y is None
                                                       else self.fixed_y.cpu()},
                # micro-batch 0's as a tuple (the format before train.accumulate), any others after it
                "carried": None if not self.carried else _cpu(self.carried[0]),
                "carried_more": [_cpu(self.carried[k]) for k in sorted(self.carried) if k > 0]}

    def load_state_dict(self, state: dict) -> None:
        device = self.fixed_z.device
        self.d_updates = state["d_updates"]
        self.fixed_z = state["fixed"]["z"].to(device)
        self.fixed_y = state["fixed"]["y"].to(device) if state["fixed"]["y"] is not None else None
        carried = state.get("carried")
        if carried is not None and len(carried) == 2:  # checkpoints before the latents were carried too
            carried = (*carried, None)
        self.carried = {}
        for k, c in enumerate([carried, *state.get("carried_more", [])] if carried is not None else []):
            c = tuple(t.to(device) if t is not None else None for t in c)
            self.carried[k] = (c[0].contiguous(memory_format=self.memory_format), *c[1:]) if self.is_image else c
