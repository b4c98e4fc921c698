"""Weight initialisation schemes named in the papers the families follow."""

from __future__ import annotations

from torch import nn

_WEIGHT_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)
_AFFINE_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)


def on_meta(module: nn.Module) -> bool:
    """Built on the meta device (gankit.models' size probe): there are no values to draw, and
    drawing normals there would import torch's compiler stack (about 1 s of every start-up)."""
    return any(p.is_meta for p in module.parameters())


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation (Radford et al. 2016): weights of conv/linear/embedding layers drawn from
    N(0, 0.02), norm gains from N(1, 0.02), all biases 0. Acts in place on every submodule.

    Args:
        module: the network to initialise.
    """
    if on_meta(module):
        return
    for m in module.modules():
        if isinstance(m, _WEIGHT_LAYERS):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, _AFFINE_NORMS) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
        if isinstance(m, _WEIGHT_LAYERS + _AFFINE_NORMS) and getattr(m, "bias", None) is not None:
            nn.init.zeros_(m.bias)


def xavier_init(module: nn.Module, gain: float = 1.0) -> None:
    """Glorot-uniform weights (``gain`` scales the bound) and zero biases for every conv/linear/
    embedding layer in ``module``; norms keep PyTorch's defaults (gain 1, bias 0).

    Args:
        module: the network or block to initialise.
        gain: the Xavier gain, e.g. ``sqrt(2)`` for convolutions followed by a ReLU.
    """
    if on_meta(module):
        return
    for m in module.modules():
        if isinstance(m, _WEIGHT_LAYERS):
            nn.init.xavier_uniform_(m.weight, gain=gain)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
