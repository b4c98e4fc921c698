"""Spectral normalisation (Miyato et al. 2018) of every weight layer in a module."""

from __future__ import annotations

from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

#: Layers whose ``weight`` gets normalised.
SN_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Divide the weight of every conv / transposed conv / linear / embedding layer by its largest
    singular value (one power iteration per training forward pass).

    Uses ``torch.nn.utils.parametrizations.spectral_norm``, so state dicts hold
    ``parametrizations.weight.original`` plus the power-iteration vectors. Call it after the weights
    are initialised: the parametrisation wraps the initialised values.

    Args:
        module: network to modify in place.

    Returns:
        ``module`` (for chaining).
    """
    # Collect first: registering a parametrisation adds submodules while we iterate.
    layers = [m for m in module.modules() if isinstance(m, SN_LAYERS)]
    for layer in layers:
        if not parametrize.is_parametrized(layer, "weight"):
            spectral_norm(layer)
    return module
