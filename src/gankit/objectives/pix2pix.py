"""pix2pix (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks").

A translator G maps an input image ``x`` to an output; a discriminator D judges (input, output)
pairs, so it learns whether an output fits *its* input, not only whether it looks real: D sees
``concat(x, output)`` along the channels and is built with ``C_in + C_out`` input channels. One
training step, in the order of junyanz/pytorch-CycleGAN-and-pix2pix ``models/pix2pix_model.py``:

1. phase D (``train.n_critic`` updates, each on a new batch):
   ``loss/D = 0.5 * loss.d_loss(D(x, target), D(x, G(x)))``; the paper (section 3.3) halves D's
   objective, which slows D's learning relative to G's;
2. phase G (on the last D batch, through the updated D):
   ``loss/G = adversarial_weight * loss.g_loss(D(x, G(x))) + l1_weight * |G(x) - target|_1``.

``loss.name`` is the adversarial loss (the paper's is the vanilla GAN loss, ``bce``). The noise is
the U-Net's dropout, as in the paper (it found input noise z ignored by G). ``adversarial_weight: 0``
is the paper's "L1 alone" ablation: D would have no effect on G, so it is neither built nor
trained (the run has one player, ``G``, and one phase).

D's fake batch is a fresh ``G(x)`` of the current G on the current batch, as in the reference; it
is computed without gradients in D's phase and again with gradients in G's (the loop freezes G
while D trains), which costs one extra G forward pass per step, draws another dropout mask and
moves G's batch-norm running statistics twice per step. ``train.reuse_fake`` does not apply.

Training and inference differ from the paper in one respect: the paper runs G at test time in
training mode (dropout on, batch-norm statistics of the test batch); gankit's previews and
``gankit translate`` use eval mode (running statistics, no dropout), so a translation does not
depend on the other images of its batch and is repeatable.

Statistics: ``loss/D``, ``D/real`` and ``D/fake`` (mean logits), ``D/real_prob`` / ``D/fake_prob``
for probability losses, ``loss/G`` (the total), ``loss/G_gan`` (unweighted) and ``loss/G_l1``
(the unweighted mean absolute error in [-1, 1] units).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gankit.data.batches import to_model_range
from gankit.losses import build_loss
from gankit.models import build_discriminator
from gankit.nn.options import number
from gankit.objectives import OBJECTIVES, Phase, Setup
from gankit.objectives.translation import TranslationGame, preview_count
from gankit.registry import ConfigError


def pair_input(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """D's input for a pair: ``[N, C_in, R, R]`` and ``[N, C_out, R, R]`` -> ``[N, C_in + C_out, R, R]``."""
    assert x.shape[0] == y.shape[0] and x.shape[2:] == y.shape[2:], (tuple(x.shape), tuple(y.shape))
    return torch.cat([x, y], dim=1)


def _check_setup(setup: Setup) -> tuple:
    """Refuse settings pix2pix cannot honour; return ``(input shape, target shape)``."""
    cfg, data = setup.cfg, setup.data
    if "target" not in data.fields:
        raise ConfigError(f"objective pix2pix needs paired data (batches with an input x and its target), but "
                          f"data.source={cfg.data.source} gives {'two unpaired domains' if data.domains else 'one'}"
                          f"; use data.source=paired (folders A/ and B/, or an npz with x and target) or "
                          f"data.source=mnist-pairs with data.args.paired=true")
    if not data.is_image:
        raise ConfigError(f"objective pix2pix translates images, but data.source={cfg.data.source} gives vectors "
                          f"of shape {tuple(data.shape)}")
    if setup.num_classes:
        raise ConfigError("objective pix2pix conditions on the input image, not on class labels; set "
                          "model.conditional=false")
    if cfg.train.augment:
        raise ConfigError(f"objective pix2pix does not apply train.augment={cfg.train.augment} (D's inputs are "
                          f"(input, output) pairs that an augmentation would have to transform together); set "
                          f"train.augment=''")
    active = [name for name, options in dict(cfg.regularizers).items() if options not in (None, False)]
    if active:
        raise ConfigError(f"objective pix2pix applies no regularizers (its G loss has the L1 term, "
                          f"objective.args.l1_weight), but {', '.join(f'regularizers.{n}' for n in active)} is set; "
                          f"remove it (e.g. regularizers.{active[0]}=null)")
    return tuple(data.shape), tuple(data.fields["target"].shape[1:])


@OBJECTIVES.register("pix2pix")
class Pix2Pix(TranslationGame):
    """Conditional GAN + L1 for paired translation (``x`` -> ``target``).

    Args:
        setup: the run's config and data (paired: ``x`` and ``fields["target"]``).
        l1_weight: weight of the L1 term (the paper's lambda: 100).
        adversarial_weight: weight of the adversarial term; 0 = the paper's "L1 alone" (no D).

    Players: ``G`` (``model.g``, ``optim.g``; a translator ``[N, C_in, R, R] -> [N, C_out, R, R]``)
    and, unless ``adversarial_weight`` is 0, ``D`` (``model.d``, ``optim.d``; built for
    ``(C_in + C_out, R, R)``).
    """

    #: ``gankit translate --direction NAME`` -> the player that translates (pix2pix has only A -> B).
    directions = {"a2b": "G"}

    def __init__(self, setup: Setup, l1_weight: float = 100.0, adversarial_weight: float = 1.0):
        super().__init__(setup)
        cfg = setup.cfg
        in_shape, out_shape = _check_setup(setup)
        self.l1_weight = number(l1_weight, "objective.args.l1_weight", 0.0, math.inf)
        self.adversarial_weight = number(adversarial_weight, "objective.args.adversarial_weight", 0.0, math.inf)
        if self.l1_weight == 0 and self.adversarial_weight == 0:
            raise ConfigError("objective.args.l1_weight and objective.args.adversarial_weight are both 0, so G "
                              "has no loss; set l1_weight=100 (the paper's) or adversarial_weight=1")
        G = self.build_translator(setup, "a2b", in_shape, out_shape)
        self.players = {"G": setup.player("G", G, "g", ema=True)}
        self.phases = [Phase("G", ("G",))]
        if self.adversarial_weight > 0:
            pair_shape = (in_shape[0] + out_shape[0], *in_shape[1:])
            D = setup.modules.get("D") or build_discriminator(cfg.model.d.name, dict(cfg.model.d.args), pair_shape, 0)
            self.players["D"] = setup.player("D", D, "d")
            self.loss_fn = build_loss(cfg.loss.name, dict(cfg.loss.args))
            self.phases.insert(0, Phase("D", ("D",), repeat=cfg.train.n_critic))
        # Fixed preview pairs (inputs "a", their targets "b"): rows of the training data drawn once by
        # a seeded generator and kept in the state, so a resumed run previews the same pairs.
        n = min(preview_count(cfg.train.n_samples), len(setup.data))
        rows = torch.randperm(len(setup.data), generator=torch.Generator().manual_seed(cfg.train.seed + 2))[:n]
        self.fixed = {"a": to_model_range(setup.data.x[rows]).to(setup.device),
                      "b": to_model_range(setup.data.fields["target"][rows]).to(setup.device)}

    # ---------------------------------------------------------------- phases
    def loss(self, phase, repeat, run):
        return self.d_loss(run) if phase.name == "D" else self.g_loss(run)

    def _batch(self, run) -> tuple:
        batch = run.batches.next()
        return self.image(batch["x"]), self.image(batch["target"])

    def _d(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """D's logits for pairs ``(x, y)``, as float32 (``[N]`` or a patch map ``[N, h, w]``)."""
        return self.players["D"].forward(self.image(pair_input(x, y))).float()

    def d_loss(self, run) -> torch.Tensor:
        step, reporter = run.step_index, run.reporter
        x, target = self._batch(run)
        with torch.no_grad(), run.autocast():
            fake = self.players["G"].forward(x)
        with run.autocast():
            real_logits, fake_logits = self._d(x, target), self._d(x, fake)
        loss = 0.5 * self.loss_fn.d_loss(real_logits, fake_logits)
        reporter.report("loss/D", loss, step)
        reporter.report("D/real", real_logits.detach())
        reporter.report("D/fake", fake_logits.detach())
        if self.loss_fn.probabilities:
            reporter.report("D/real_prob", torch.sigmoid(real_logits.detach()))
            reporter.report("D/fake_prob", torch.sigmoid(fake_logits.detach()))
        self.hand_on("pair", run, (x, target))  # G's update uses D's batch (the reference's one batch per step)
        return loss

    def g_loss(self, run) -> torch.Tensor:
        step, reporter = run.step_index, run.reporter
        # Without D (L1 alone) there is no D phase to draw the step's batch.
        pair = self.take("pair", run)
        x, target = pair if pair is not None else self._batch(run)
        with run.autocast():
            fake = self.players["G"].forward(x)
        l1 = F.l1_loss(fake.float(), target)
        reporter.report("loss/G_l1", l1, step)
        total = self.l1_weight * l1
        if "D" in self.players:
            with run.autocast():
                fake_logits = self._d(x, fake)
            gan = self.loss_fn.g_loss(fake_logits, None)
            reporter.report("loss/G_gan", gan, step)
            total = total + self.adversarial_weight * gan
        reporter.report("loss/G", total, step)
        return total

    # ---------------------------------------------------------------- outputs
    @torch.no_grad()
    def preview(self) -> dict:
        """Rows: the fixed inputs, G's outputs (eval mode), the targets.

        Returns:
            ``{"images": [3 * k, C, R, R] on the CPU, "nrow": k}`` (``k = sqrt(train.n_samples)``
            pairs); a 1-channel side is repeated to 3 channels when the other side is RGB.
        """
        G = self.translators()["a2b"]
        was_training = G.training
        G.eval()
        x, target = self.fixed["a"], self.fixed["b"]
        rows = [t.float().cpu() for t in (x, G(self.image(x)), target)]
        G.train(was_training)
        if len({r.shape[1] for r in rows}) > 1:  # grey input, colour target (or the reverse)
            rows = [r.expand(-1, 3, -1, -1) if r.shape[1] == 1 else r for r in rows]
        return {"images": torch.cat(rows), "nrow": len(x)}

    def state_dict(self) -> dict:
        return {"translators": self.translator_state(), "fixed": {k: v.cpu() for k, v in self.fixed.items()}}

    def load_state_dict(self, state: dict) -> None:
        device = self.fixed["a"].device
        self.fixed = {k: v.to(device) for k, v in state["fixed"].items()}
