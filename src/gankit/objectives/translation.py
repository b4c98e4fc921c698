"""What image-to-image games (``cyclegan``, ``pix2pix``) share: translator players, the two data
domains, fixed preview inputs, and the record that lets ``gankit translate`` rebuild the networks.

The contract a translation objective keeps (``gankit translate``, the report and
:func:`gankit.translate.load_translators` rely on it):

* the class attribute ``directions`` maps a direction name ``"<from>2<to>"`` over the domains
  ``a`` and ``b`` to the player that translates that way, e.g. ``{"a2b": "G_ab", "b2a": "G_ba"}``;
* ``generator()`` is None (there is no noise generator to sample or evaluate);
* ``state_dict()`` holds ``"translators"``: ``{direction: {"player", "network", "args",
  "in_shape", "out_shape"}}`` (:meth:`TranslationGame.translator_state`: the registry name and
  options of the translator and its image shapes, so no config lookup is needed to rebuild it),
  and ``"fixed"``: ``{domain: float [k, C, H, W] in [-1, 1]}``, the inputs of the preview.
"""

from __future__ import annotations

import copy
import math
from typing import Dict, Optional

import torch
from omegaconf import OmegaConf

from gankit.data.batches import to_model_range
from gankit.models import build_translator
from gankit.objectives import Objective, Setup
from gankit.registry import ConfigError

DOMAINS = ("a", "b")


class TranslationGame(Objective):
    """Base of the image-to-image games (see the module docstring for the contract).

    Subclasses set ``directions`` and call :meth:`build_translator` once per direction.
    """

    #: direction name (``"a2b"``) -> name of the player that translates that way.
    directions: Dict[str, str] = {}

    def __init__(self, setup: Setup):
        self.memory_format = setup.memory_format
        self._records: Dict[str, dict] = {}

    def build_translator(self, setup: Setup, direction: str, in_shape, out_shape) -> torch.nn.Module:
        """The translator of ``direction`` from ``model.g`` (a name in ``TRANSLATORS``; the config
        check refuses others before any data is read), recorded for the checkpoint.

        Args:
            setup: the objective's setup.
            direction: a key of ``directions``.
            in_shape: ``(C, H, W)`` of the images it reads.
            out_shape: ``(C, H, W)`` of the images it writes.
        """
        g = setup.cfg.model.g
        # Plain containers: the record goes into checkpoints, which load with weights_only=True.
        args = OmegaConf.to_container(g.args, resolve=True)
        player = self.directions[direction]
        module = setup.modules.get(player) or build_translator(g.name, args, in_shape, out_shape)
        self._records[direction] = {"player": player, "network": g.name, "args": args,
                                    "in_shape": [int(s) for s in in_shape], "out_shape": [int(s) for s in out_shape]}
        return module

    # ---------------------------------------------------------------- contract
    def generator(self) -> Optional[torch.nn.Module]:
        return None

    def translators(self) -> Dict[str, torch.nn.Module]:
        """``{direction: network}`` (the EMA copy when ``train.ema`` keeps one)."""
        return {d: self.players[p].inference for d, p in self.directions.items()}

    def translator_state(self) -> Dict[str, dict]:
        """The ``"translators"`` entry of :meth:`state_dict` (plain values)."""
        return copy.deepcopy(self._records)

    def describe(self) -> dict:
        return {**super().describe(), "translators": self.translator_state()}

    # ---------------------------------------------------------------- inputs
    def image(self, x: torch.Tensor) -> torch.Tensor:
        """A batch in the run's memory format (what every network input goes through, so a resumed
        run, whose stored images come back contiguous, computes on the same layout)."""
        return x.contiguous(memory_format=self.memory_format)


def two_domains(setup: Setup) -> dict:
    """``{"a": Dataset, "b": Dataset}`` of unpaired data, or a ConfigError saying which sources give it."""
    domains = setup.data.domains
    if sorted(domains) != list(DOMAINS):
        cfg = setup.cfg
        raise ConfigError(
            f"objective '{cfg.objective.name}' needs two unpaired image domains (batches {{a, b}}), but data.source="
            f"'{cfg.data.source}' gives one data set; use data.source=unpaired (folders trainA/ and trainB/ under "
            f"data.path, or data.args.a / data.args.b as two sources) or data.source=mnist-pairs with "
            f"data.args.paired=false")
    for name, ds in domains.items():
        if not ds.is_image:
            raise ConfigError(f"domain {name.upper()} of data.source='{setup.cfg.data.source}' holds vectors of shape "
                              f"{tuple(ds.shape)}; translators need images")
    return domains


def fixed_inputs(dataset, n: int, seed: int, device: torch.device) -> torch.Tensor:
    """``n`` seeded images of one domain (fewer if it is smaller), float ``[k, C, H, W]`` in [-1, 1]."""
    k = min(n, len(dataset))
    idx = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:k]
    if dataset.x is not None:
        x = dataset.x[idx]
    else:  # a streamed domain: decode just these files
        x = torch.stack([torch.as_tensor(dataset.stream[i][0]) for i in idx.tolist()])
    return to_model_range(x).to(device)


def preview_count(n_samples: int) -> int:
    """Inputs per domain in a preview row: ``sqrt(train.n_samples)`` (8 for the default 64)."""
    return max(1, int(math.sqrt(n_samples)))
