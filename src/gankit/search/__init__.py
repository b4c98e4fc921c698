"""Hyper-parameter search on Optuna (``gankit tune``).

- :mod:`gankit.search.space`: the space file (dotted config keys -> distributions), validated
  against the config schema before the first trial.
- :mod:`gankit.search.study`: storage, sampler, pruner, worker processes and the trials (each an
  ordinary run folder under the study folder).
- :mod:`gankit.search.pruning`: the callback that reports evaluations to Optuna and stops pruned trials.
- :mod:`gankit.search.report`: the study's HTML report and ``best.yaml``.

Optuna is imported inside functions only (``gankit --help`` stays fast).
"""

from gankit.search.space import Space, load_space  # noqa: F401
from gankit.search.study import TuneSettings, tune  # noqa: F401
