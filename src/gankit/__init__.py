"""gankit: train, evaluate and inspect GANs with PyTorch.

Public API::

    import gankit
    result = gankit.train(preset="dcgan-mnist", overrides=["train.steps=500"])
    G = gankit.load_generator("exported/")          # or a run folder / checkpoint
    images = G(torch.randn(16, G.z_dim))            # [16, C, H, W] in [-1, 1]
"""

__version__ = "0.1.0"

from gankit.config import Config, load_config  # noqa: E402
from gankit.registry import ConfigError, Registry  # noqa: E402
from gankit.training.callbacks import Callback  # noqa: E402


def train(*args, **kwargs):
    """Train a GAN; see :func:`gankit.runner.train` for the arguments."""
    from gankit.runner import train as _train

    return _train(*args, **kwargs)


def load_generator(path, device="cpu", ema: bool = True):
    """Load a generator (eval mode) from an export folder, a run folder or a checkpoint file."""
    from gankit.training.checkpoint import load_run_generator

    return load_run_generator(path, ema=ema, device=device)[0]


__all__ = ["Callback", "Config", "ConfigError", "Registry", "load_config", "load_generator", "train", "__version__"]
