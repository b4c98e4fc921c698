"""InfoGAN (Chen et al. 2016): the adversarial game plus a mutual-information term for the codes.

G draws ``z = [noise | codes]`` from the ``infogan`` prior (``model.latent.name=infogan``). A Q head
on D's trunk (:class:`~gankit.nn.heads.QHead`, attached with ``Discriminator.attach_head``)
predicts the codes from a sample; ``L_I`` is its loss, which lower-bounds the mutual information
``I(c; G(z, c))`` up to the constant code entropy: cross-entropy for each categorical code, and
for each continuous code the Gaussian negative log-likelihood ``0.5 * (log var + (c - mu)^2 / var)``
(``continuous_loss: nll``) or its fixed-variance form ``0.5 * (c - mu)^2`` (``mse``; constants
dropped). The game is ``min_{G, Q} max_D V(D, G) - lambda L_I`` (the paper's eq. 6), trained as
openai/InfoGAN ``infogan_trainer.py`` does:

* phase ``D`` (player D = trunk + adversarial head + Q head, ``optim.d``): the adversarial D loss
  and regularisers plus ``lambda L_I`` on the same (detached) fake batch, so the Q head and the
  shared trunk learn to read the codes;
* phase ``G`` (player G, ``optim.g``; D and Q frozen): the G loss plus ``lambda L_I`` through the
  frozen Q, so G makes the codes recoverable.

Everything else is the ``adversarial`` game: losses, regularisers, ``train.n_critic``, EMA and
``train.reuse_fake`` (D's first update reuses G's batch together with its latents).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from gankit.nn.heads import QHead
from gankit.nn.options import choice, integer, number
from gankit.objectives import OBJECTIVES, Setup
from gankit.objectives.adversarial import Adversarial
from gankit.priors.infogan import codes_of
from gankit.registry import ConfigError

CONTINUOUS_LOSSES = ("mse", "nll")
_WHERE = "objective.args"
#: D output key of the Q head.
Q_KEY = "q"


@OBJECTIVES.register("infogan")
class InfoGAN(Adversarial):
    """The adversarial game with InfoGAN's Q head and mutual-information loss.

    Args:
        setup: the run's pieces (its prior must be ``infogan``).
        categorical_weight: ``lambda`` of the categorical codes' cross-entropy (the paper: 1).
        continuous_weight: ``lambda`` of the continuous codes' loss. The paper uses a smaller
            ``lambda`` for continuous codes than for categorical ones; PyTorch-GAN's ``infogan.py``
            uses 0.1 (on ``(c - mu)^2``); openai/InfoGAN's MNIST run uses 1 on the fixed-variance
            form ``0.5 * (c - mu)^2`` (the ``infogan-mnist`` preset).
        continuous_loss: ``"mse"`` (fixed variance) or ``"nll"`` (Q also predicts a log-variance).
        q_hidden: width of Q's hidden layer (the paper: 128); 0 = a single linear layer.
    """

    def __init__(self, setup: Setup, categorical_weight: float = 1.0, continuous_weight: float = 0.1,
                 continuous_loss: str = "mse", q_hidden: int = 128):
        cfg = setup.cfg
        self.codes = codes_of(setup.prior)
        if not self.codes:
            raise ConfigError(f"objective.name=infogan needs structured codes in the latent prior, but "
                              f"model.latent.name={cfg.model.latent.name}; set model.latent.name=infogan "
                              "(e.g. model.latent.args.categorical=[10] model.latent.args.continuous=2)")
        self.categorical_weight = number(categorical_weight, f"{_WHERE}.categorical_weight", 0.0, float("inf"))
        self.continuous_weight = number(continuous_weight, f"{_WHERE}.continuous_weight", 0.0, float("inf"))
        self.continuous_loss = choice(continuous_loss, CONTINUOUS_LOSSES, f"{_WHERE}.continuous_loss")
        self.q_hidden = integer(q_hidden, f"{_WHERE}.q_hidden", 0)
        pack = (dict(cfg.model.d.args) or {}).get("pack", 1)
        if pack != 1:
            raise ConfigError(f"model.d.args.pack={pack} gives one D output per {pack} samples, but the InfoGAN "
                              "Q head must read the codes of every sample; use model.d.args.pack=1")
        if "D" in setup.modules:
            self._attach_q(setup.modules["D"])
        super().__init__(setup)
        self.categorical = [c for c in self.codes if c.kind == "categorical"]
        self.continuous = [c for c in self.codes if c.kind == "continuous"]
        if self.categorical and self.num_classes == 0:
            # The preview grid shows the first categorical code by column at fixed noise per row, so
            # samples.png (and the timeline) show whether that code has taken on a meaning.
            k = self.categorical[0].size
            rows = max(1, len(self.fixed_z) // k)
            z = self.fixed_z[:rows].repeat_interleave(k, dim=0)
            values = torch.arange(k, device=z.device).repeat(rows)
            self.fixed_z, self.grid_nrow = self.prior.with_code(z, self.categorical[0].name, values), k

    def build_d(self, setup: Setup) -> torch.nn.Module:
        return self._attach_q(super().build_d(setup))

    def _attach_q(self, D: torch.nn.Module) -> torch.nn.Module:
        if not hasattr(D, "attach_head"):
            raise ConfigError(f"objective.name=infogan puts its Q head on D's trunk features, which the "
                              f"discriminator {type(D).__name__} does not expose (no attach_head); use a gankit "
                              "discriminator (model.d.name=dcgan, resnet or mlp) or subclass "
                              "gankit.nn.base.Discriminator")
        categorical = [c.size for c in self.codes if c.kind == "categorical"]
        continuous = sum(1 for c in self.codes if c.kind == "continuous")
        D.attach_head(Q_KEY, QHead(D.head.features, categorical, continuous, log_var=self.continuous_loss == "nll",
                                   hidden=self.q_hidden))
        return D

    def fake_terms(self, phase: str, z: torch.Tensor, fake_out, run) -> Optional[torch.Tensor]:
        q, codes = fake_out[Q_KEY], self.prior.codes(z)
        terms = self.info_terms(q, codes)
        zero = torch.zeros((), device=z.device)
        total = (self.categorical_weight * sum((terms[c.name] for c in self.categorical), zero)
                 + self.continuous_weight * sum((terms[c.name] for c in self.continuous), zero))
        step = run.step_index
        if phase == "D":
            run.reporter.report("loss/info_D", total, step)
            return total
        for name, value in terms.items():
            run.reporter.report(f"loss/info/{name}", value, step)
        run.reporter.report("loss/info", total, step)
        for c in self.categorical:  # how often Q names the value G was given: a readable sign of learning
            run.reporter.report(f"info/{c.name}_accuracy", (q[c.name].detach().argmax(dim=1) == codes[c.name]).float())
        return total

    def info_terms(self, q: dict, codes: dict) -> dict:
        """Q's loss per code (unweighted), each a scalar: ``L_I`` by name.

        Args:
            q: the Q head's output on the fake batch (see :class:`~gankit.nn.heads.QHead`).
            codes: the codes G was given, ``prior.codes(z)`` (``cat<i>`` int64 ``[N]``, ``cont<i>`` ``[N]``).

        Returns:
            ``{"cat0": cross-entropy, ..., "cont0": Gaussian NLL or 0.5 * squared error, ...}``.
        """
        terms = {c.name: F.cross_entropy(q[c.name].float(), codes[c.name]) for c in self.categorical}
        if self.continuous:
            target = torch.stack([codes[c.name] for c in self.continuous], dim=1)
            err = (target - q["cont_mean"].float()) ** 2
            if self.continuous_loss == "nll":
                log_var = q["cont_log_var"].float()
                per = 0.5 * (log_var + err * torch.exp(-log_var))
            else:
                per = 0.5 * err
            terms.update({c.name: per[:, i].mean() for i, c in enumerate(self.continuous)})
        return terms
