"""CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks"): two translators and two critics on unpaired domains A and B.

Players: ``G_ab`` (A -> B) and ``G_ba`` (B -> A), translators from ``model.g`` (CycleGAN's
``resnet`` in the presets) with ``optim.g``; ``D_a`` (judges domain A images) and ``D_b`` (domain
B), critics from ``model.d`` (PatchGAN in the presets) with ``optim.d``. One step, as
junyanz/pytorch-CycleGAN-and-pix2pix ``models/cycle_gan_model.py`` does it:

* phase ``G`` (updates ``G_ab`` and ``G_ba``, critics frozen), on one batch ``{a, b}``::

      loss/G_ab    = g_loss(D_b(G_ab(a)))                      # adversarial, via loss.name
      loss/G_ba    = g_loss(D_a(G_ba(b)))
      loss/cycle_a = cycle_weight * |G_ba(G_ab(a)) - a|_1      # A -> B -> A
      loss/cycle_b = cycle_weight * |G_ab(G_ba(b)) - b|_1      # B -> A -> B
      loss/idt_a   = cycle_weight * identity_weight * |G_ba(a) - a|_1   # G_ba leaves A images alone
      loss/idt_b   = cycle_weight * identity_weight * |G_ab(b) - b|_1
      loss/G       = the sum

  (the reference's ``loss_idt_A`` is this ``idt_b``: it names the generator, gankit the domain);
* phase ``D`` (updates ``D_a`` and ``D_b``): ``loss/D_a = d_loss(D_a(a), D_a(pool_a(G_ba(b))))``
  and ``loss/D_b`` likewise, on the same batch and the G phase's fakes drawn through two
  :class:`~gankit.objectives.history_pool.HistoryPool` of ``pool_size`` images. The pools draw from
  the run's noise stream, so a resumed run repeats their choices.

Losses are gankit's pure functions of (patch-map) logits. gankit's ``lsgan`` is Mao et al.'s form
with the 1/2 factors: its D loss, ``0.5 (D(real) - 1)^2 + 0.5 D(fake)^2``, is exactly the
reference's halved D loss, while its G term ``0.5 (D(fake) - 1)^2`` is half the reference's, so
against ``cycle_weight=10`` the adversarial terms weigh half as much as in the reference
(``cycle_weight=5`` gives the reference's exact balance; Adam does not care about the overall
scale of a player's loss). The reference's linear LR decay over the second half of training is
``optim.*.lr_decay=linear_second_half``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gankit.losses import build_loss
from gankit.models import build_discriminator
from gankit.nn.options import integer, number
from gankit.objectives import OBJECTIVES, Phase, Setup
from gankit.objectives.adversarial import build_augment
from gankit.objectives.history_pool import HistoryPool
from gankit.objectives.translation import DOMAINS, TranslationGame, fixed_inputs, preview_count, two_domains
from gankit.registry import ConfigError
from gankit.regularizers import logits_of

_WHERE = "objective.args"


@OBJECTIVES.register("cyclegan")
class CycleGAN(TranslationGame):
    """CycleGAN's game (see the module docstring).

    Args:
        setup: the run's pieces; the data must be two unpaired image domains (``unpaired``,
            ``mnist-pairs`` with ``paired: false``).
        cycle_weight: weight of each cycle-consistency L1 term (the paper's lambda, 10).
        identity_weight: the identity L1 terms' weight as a fraction of ``cycle_weight`` (the
            reference's ``lambda_identity``, 0.5); 0 drops them (and their two translator passes).
        pool_size: fakes each critic's history pool keeps (50); 0 trains the critics on the
            latest fakes only.
    """

    directions = {"a2b": "G_ab", "b2a": "G_ba"}

    def __init__(self, setup: Setup, cycle_weight: float = 10.0, identity_weight: float = 0.5, pool_size: int = 50):
        super().__init__(setup)
        cfg = setup.cfg
        self.cycle_weight = number(cycle_weight, f"{_WHERE}.cycle_weight", 0.0, math.inf)
        self.identity_weight = number(identity_weight, f"{_WHERE}.identity_weight", 0.0, math.inf)
        pool_size = integer(pool_size, f"{_WHERE}.pool_size", 0)
        _refuse_unused_settings(cfg)
        foreign = sorted(set(setup.modules) - {*self.directions.values(), "D_a", "D_b"})
        if foreign:
            raise ConfigError(f"objective cyclegan has the players G_ab, G_ba, D_a, D_b, but networks were given for "
                              f"{', '.join(foreign)} (gankit.train's generator= / discriminator= are G and D of the "
                              f"adversarial game); pass yours as Trainer(..., modules={{'G_ab': ..., 'D_b': ...}})")
        domains = two_domains(setup)
        shape = {k: tuple(domains[k].shape) for k in DOMAINS}
        if self.identity_weight and shape["a"] != shape["b"]:
            raise ConfigError(f"{_WHERE}.identity_weight={identity_weight} feeds each translator images of its own "
                              f"output domain, which needs both domains of one shape, but A has {shape['a']} and B "
                              f"{shape['b']}; set {_WHERE}.identity_weight=0 or make them match (data.channels)")
        G_ab = self.build_translator(setup, "a2b", shape["a"], shape["b"])
        G_ba = self.build_translator(setup, "b2a", shape["b"], shape["a"])
        d = cfg.model.d
        # Each critic judges one domain: D_a real A images against G_ba's fakes, D_b likewise.
        D_a = setup.modules.get("D_a") or build_discriminator(d.name, dict(d.args), shape["a"], 0)
        D_b = setup.modules.get("D_b") or build_discriminator(d.name, dict(d.args), shape["b"], 0)
        self.players = {"G_ab": setup.player("G_ab", G_ab, "g", ema=True),
                        "G_ba": setup.player("G_ba", G_ba, "g", ema=True),
                        "D_a": setup.player("D_a", D_a, "d"), "D_b": setup.player("D_b", D_b, "d")}
        self.phases = [Phase("G", ("G_ab", "G_ba")), Phase("D", ("D_a", "D_b"))]
        self.loss_fn = build_loss(cfg.loss.name, dict(cfg.loss.args))
        self.augment = build_augment(cfg.train.augment)
        self.pools = {k: HistoryPool(pool_size) for k in DOMAINS}
        n, seed = preview_count(cfg.train.n_samples), cfg.train.seed + 2
        self.fixed = {k: fixed_inputs(domains[k], n, seed + i, setup.device) for i, k in enumerate(DOMAINS)}

    # ---------------------------------------------------------------- phases
    def loss(self, phase, repeat, run):
        return self.g_loss(run) if phase.name == "G" else self.d_loss(run)

    def critic(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """Critic ``name``'s logits (``[N]`` or a patch map ``[N, h, w]``) of ``x`` after the run's augmentation."""
        if self.augment is not None:
            x = self.augment(x)
        return logits_of(self.players[name].forward(self.image(x))).float()

    def g_loss(self, run) -> torch.Tensor:
        step, report = run.step_index, run.reporter.report
        batch = run.batches.next()
        real_a, real_b = self.image(batch["a"]), self.image(batch["b"])
        G_ab, G_ba = self.players["G_ab"].forward, self.players["G_ba"].forward
        with run.autocast():
            fake_b, fake_a = G_ab(real_a), G_ba(real_b)
            rec_a, rec_b = G_ba(self.image(fake_b)), G_ab(self.image(fake_a))
            with torch.no_grad():  # the loss contract passes real logits to g_loss (relativistic losses)
                real_logits = {"a": self.critic("D_a", real_a), "b": self.critic("D_b", real_b)}
            terms = {"G_ab": self.loss_fn.g_loss(self.critic("D_b", fake_b), real_logits["b"]),
                     "G_ba": self.loss_fn.g_loss(self.critic("D_a", fake_a), real_logits["a"]),
                     "cycle_a": self.cycle_weight * F.l1_loss(rec_a.float(), real_a),
                     "cycle_b": self.cycle_weight * F.l1_loss(rec_b.float(), real_b)}
            if self.identity_weight:
                w = self.cycle_weight * self.identity_weight
                terms["idt_a"] = w * F.l1_loss(G_ba(real_a).float(), real_a)
                terms["idt_b"] = w * F.l1_loss(G_ab(real_b).float(), real_b)
        total = sum(terms.values())
        for name, value in terms.items():
            report(f"loss/{name}", value, step)
        report("loss/G", total, step)
        # The batch and (detached) fakes the D phase of the same step trains on.
        self.hand_on("for_d", run, (real_a, real_b, fake_a.detach(), fake_b.detach()))
        return total

    def d_loss(self, run) -> torch.Tensor:
        step, report = run.step_index, run.reporter.report
        real_a, real_b, fake_a, fake_b = self.take("for_d", run)
        pooled = {"a": self.pools["a"].query(fake_a, run.noise), "b": self.pools["b"].query(fake_b, run.noise)}
        total = 0.0
        with run.autocast():
            for k, real in (("a", real_a), ("b", real_b)):
                name = f"D_{k}"
                real_logits, fake_logits = self.critic(name, real), self.critic(name, pooled[k])
                loss = self.loss_fn.d_loss(real_logits, fake_logits)
                report(f"loss/{name}", loss, step)
                report(f"{name}/real", real_logits.detach())
                report(f"{name}/fake", fake_logits.detach())
                total = total + loss
        return total

    # ---------------------------------------------------------------- outputs
    @torch.no_grad()
    def preview(self) -> dict:
        """Rows A, G_ab(A), G_ba(G_ab(A)), B, G_ba(B), G_ab(G_ba(B)) on the fixed inputs."""
        nets = self.translators()
        modes = {d: net.training for d, net in nets.items()}
        for net in nets.values():
            net.eval()
        rows = []
        for there, back, x in (("a2b", "b2a", self.fixed["a"]), ("b2a", "a2b", self.fixed["b"])):
            y = nets[there](self.image(x))
            rows += [x, y, nets[back](self.image(y))]
        for d, net in nets.items():
            net.train(modes[d])
        k = max(len(self.fixed["a"]), len(self.fixed["b"]))
        # Pad a smaller domain's rows so that every row starts at the left edge of the grid.
        rows = [torch.cat([r, r.new_ones((k - len(r), *r.shape[1:]))]) if len(r) < k else r for r in rows]
        return {"images": torch.cat(rows).float().cpu(), "nrow": k}

    def state_dict(self) -> dict:
        return {"translators": self.translator_state(), "fixed": {k: v.cpu() for k, v in self.fixed.items()},
                "pools": {k: p.state_dict() for k, p in self.pools.items()}}

    def load_state_dict(self, state: dict) -> None:
        device = self.fixed["a"].device
        self.fixed = {k: v.to(device) for k, v in state["fixed"].items()}
        for k, pool in self.pools.items():
            pool.load_state_dict(state["pools"][k])


def _refuse_unused_settings(cfg) -> None:
    """Settings of the adversarial game that CycleGAN's step has no place for: an error, not a no-op."""
    active = [name for name, options in dict(cfg.regularizers).items() if options not in (None, False)]
    if active:
        raise ConfigError(f"objective cyclegan does not apply regularizers (the critics' losses are only "
                          f"loss.name), but {', '.join(f'regularizers.{n}' for n in active)} is set; remove it "
                          f"(e.g. regularizers.{active[0]}=null)")
    if cfg.train.n_critic != 1:
        raise ConfigError(f"objective cyclegan updates the critics once per step on the generators' fakes, as the "
                          f"reference does; train.n_critic={cfg.train.n_critic} has no meaning here, set "
                          f"train.n_critic=1")
