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

from gankit.registry import Registry

GENERATORS = Registry("generator")
DISCRIMINATORS = Registry("discriminator")
TRANSLATORS = Registry("translator")


def load_builtin_models() -> None:
    """Import the model families so that they register themselves."""
    import importlib
    import pkgutil

    import gankit.models as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"gankit.models.{mod.name}")


def build_generator(name: str, options: dict, z_dim: int, out_shape: tuple, num_classes: int):
    load_builtin_models()
    return GENERATORS.build(name, options, where="model.g.args", z_dim=z_dim, out_shape=tuple(out_shape),
                            num_classes=num_classes)


def build_discriminator(name: str, options: dict, in_shape: tuple, num_classes: int):
    load_builtin_models()
    return DISCRIMINATORS.build(name, options, where="model.d.args", in_shape=tuple(in_shape),
                                num_classes=num_classes)


def build_translator(name: str, options: dict, in_shape: tuple, out_shape: tuple, where: str = "model.g.args"):
    load_builtin_models()
    return TRANSLATORS.build(name, options, where=where, in_shape=tuple(in_shape), out_shape=tuple(out_shape))
