"""Defaults of the projection and inpainting search, shared by :mod:`gankit.tools.projection` and the
`project` / `inpaint` commands (no torch import here: the CLI's parser reads them at start-up)."""

#: Adam steps on z, starting latents per image (per class when classes are searched), learning rate.
STEPS = 300
RESTARTS = 4
LR = 0.05
#: Inpainting: weight of D's prior loss, context-weight neighbourhood, blend band in pixels.
PRIOR_WEIGHT = 0.003
WINDOW = 7
FEATHER = 2
