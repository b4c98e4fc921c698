"""Facts about where a run executes: the training device and the library versions it records."""

from __future__ import annotations

import platform

import torch

from gankit.registry import ConfigError


def resolve_device(name: str) -> torch.device:
    """``train.device`` -> a torch device (``auto``: the GPU when one is visible)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but no CUDA GPU is visible; use train.device=cpu (or auto)")
    return torch.device(name)


def library_versions() -> dict:
    import numpy
    import omegaconf

    import gankit

    return {"gankit": gankit.__version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "omegaconf": omegaconf.__version__, "python": platform.python_version(),
            "cuda": torch.version.cuda, "platform": platform.platform()}
