"""Put a trained generator to work and look inside it (the library behind the CLI commands of the
same names):

* :mod:`~gankit.tools.sensitivity`: how much each latent dimension (or InfoGAN code) moves the output,
  and where in the image (``gankit sensitivity``).
* :mod:`~gankit.tools.saliency`: what the discriminator looks at: input gradients of its logit,
  gradient x input and SmoothGrad (``gankit saliency``).
* :mod:`~gankit.tools.arithmetic`: latent vector arithmetic, A - B + C (``gankit arithmetic``).
* :mod:`~gankit.tools.projection`: GAN inversion and image completion (``gankit project``,
  ``gankit inpaint``).
* :mod:`~gankit.tools.generate`: synthetic data sets written atomically with a manifest
  (``gankit generate``); the ``cas`` metric (:mod:`gankit.metrics.cas`) scores them.

Pictures of these results are drawn by :mod:`gankit.viz.sensitivity` and :mod:`gankit.viz.saliency`
(plots) or :func:`gankit.viz.grid.save_grid` (image grids).
"""
