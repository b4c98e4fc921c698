"""Generator and discriminator families, chosen by name.

Contract (see DESIGN.md):

* A generator builder is registered in ``GENERATORS`` with the signature
  ``fn(z_dim: int, out_shape: tuple, num_classes: int, **options) -> nn.Module``. The module has
  attributes ``z_dim``, ``num_classes`` and ``out_shape`` and ``forward(z [N, z_dim], y [N] | None)``
  returns ``[N, *out_shape]``: images in [-1, 1] (tanh), vectors in natural units (linear output).
* A discriminator builder is registered in ``DISCRIMINATORS`` with the signature
  ``fn(in_shape: tuple, num_classes: int, **options) -> nn.Module`` whose ``forward(x, y=None)``
  returns raw logits ``[N]`` (never a sigmoid), or a dict with key ``"logits"`` plus extra heads
  (e.g. ``"class_logits"`` ``[N, num_classes]`` for AC-GAN).
* A translator (image-to-image generator: CycleGAN, pix2pix) is registered in ``TRANSLATORS``
  with the signature ``fn(in_shape: tuple, out_shape: tuple, **options) -> nn.Module`` whose
  ``forward(x [N, *in_shape])`` returns ``[N, *out_shape]`` in [-1, 1]; it has attributes
  ``in_shape`` and ``out_shape``.
* A discriminator may return a patch map ``[N, h, w]`` of logits (PatchGAN); losses average it.
* An unsupported resolution raises ``ConfigError`` naming ``data.resolution`` and the valid sizes.
"""

from typing import Optional

from gankit.registry import ConfigError, Registry

GENERATORS = Registry("generator")
DISCRIMINATORS = Registry("discriminator")
TRANSLATORS = Registry("translator")

# Training keeps about four copies of every parameter: weights, gradients and Adam's two moments.
TRAINING_COPIES = 4


def load_builtin_models() -> None:
    """Import the model families so that they register themselves."""
    import importlib
    import pkgutil

    import gankit.models as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"gankit.models.{mod.name}")


def available_memory() -> Optional[int]:
    """Bytes of memory this process can still get: the host's available memory, capped by a
    cgroup limit (containers), or the largest GPU's when that is larger; None when unknown."""
    import os

    best = None
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in fh if line.split()[1:]}
        best = info.get("MemAvailable")
    except (OSError, ValueError, IndexError):
        try:
            best = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            best = None
    try:  # cgroup v2: the container's limit, when it is tighter than the machine's free memory
        with open("/sys/fs/cgroup/memory.max") as fh:
            limit = fh.read().strip()
        with open("/sys/fs/cgroup/memory.current") as fh:
            used = int(fh.read().strip())
        if limit != "max" and best is not None:
            best = min(best, int(limit) - used)
    except (OSError, ValueError):
        pass
    import torch

    if torch.cuda.is_available():  # the networks train there; the host holds the weights once
        gpu = max(torch.cuda.get_device_properties(i).total_memory for i in range(torch.cuda.device_count()))
        best = gpu if best is None else max(best, gpu)
    return best


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"


def _build_checked(registry: Registry, name: str, options: dict, where: str, size_hint: str, **fixed):
    """Build ``name`` once on the meta device (no memory, no random numbers) to count its
    parameters, refuse a network that cannot fit, then build it for real.

    Args:
        registry: the family registry.
        name, options, where, fixed: as for :meth:`Registry.build`.
        size_hint: other settings that scale the network (``"model.z_dim=64"``), for the message.
    """
    import torch

    try:
        with torch.device("meta"):
            probe = registry.build(name, options, where=where, **fixed)
    except ConfigError:
        raise
    except Exception:  # noqa: BLE001  (a family whose construction needs real data: build it and see)
        probe = None
    if probe is not None:
        tensors = [*probe.parameters(), *probe.buffers()]
        weights = sum(t.numel() * t.element_size() for t in tensors)
        count = sum(p.numel() for p in probe.parameters())
        del probe
        budget = available_memory()
        if budget is not None and weights * TRAINING_COPIES > budget:
            sizes = [f"{where}.{k}={v}" for k, v in options.items()
                     if isinstance(v, (int, list)) and not isinstance(v, bool)] + [size_hint]
            raise ConfigError(
                f"the {registry.kind} '{name}' would have {count:.3g} parameters: {_bytes(weights)} of weights and "
                f"about {_bytes(weights * TRAINING_COPIES)} to train (weights, gradients, Adam state), but only "
                f"{_bytes(budget)} of memory is available; lower its size ({', '.join(s for s in sizes if s)})")
    return registry.build(name, options, where=where, **fixed)


def build_generator(name: str, options: dict, z_dim: int, out_shape: tuple, num_classes: int):
    load_builtin_models()
    return _build_checked(GENERATORS, name, options, "model.g.args", f"model.z_dim={z_dim}", z_dim=z_dim,
                          out_shape=tuple(out_shape), num_classes=num_classes)


def build_discriminator(name: str, options: dict, in_shape: tuple, num_classes: int):
    load_builtin_models()
    return _build_checked(DISCRIMINATORS, name, options, "model.d.args", "", in_shape=tuple(in_shape),
                          num_classes=num_classes)


def build_translator(name: str, options: dict, in_shape: tuple, out_shape: tuple, where: str = "model.g.args"):
    load_builtin_models()
    return _build_checked(TRANSLATORS, name, options, where, "", in_shape=tuple(in_shape),
                          out_shape=tuple(out_shape))
