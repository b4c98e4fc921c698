"""Layers and blocks shared by the model families (one concept per module).

* :mod:`gankit.nn.options` -- validation of family options (``ConfigError`` naming the setting).
* :mod:`gankit.nn.resolution` -- supported image sizes and the number of up/down blocks.
* :mod:`gankit.nn.norm` -- batch/layer/instance norm, optionally class-conditional.
* :mod:`gankit.nn.init` -- DCGAN and Xavier weight initialisation.
* :mod:`gankit.nn.spectral_norm` -- spectral normalisation of every weight layer of a module.
* :mod:`gankit.nn.minibatch_std` -- the minibatch standard-deviation feature (Karras et al. 2018).
* :mod:`gankit.nn.pack` -- PacGAN sample packing (Lin et al. 2018).
* :mod:`gankit.nn.conditioning` -- label inputs: concatenation, one-hot maps, conditioning checks.
* :mod:`gankit.nn.heads` -- the discriminator output head (linear, projection, auxiliary classifier).
* :mod:`gankit.nn.base` -- ``Generator`` / ``Discriminator`` base classes that enforce the model
  contract and implement the options every family shares.
"""
