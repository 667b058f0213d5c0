"""The Optuna search sweeper, where Hydra can find it (`hydra/sweeper=optuna_search`)."""

from gan.sweep import optuna_search


class OptunaSearch(optuna_search.OptunaSearch):
    """`gan.sweep.optuna_search.OptunaSearch` under the name Hydra accepts.

    Hydra 1.3 instantiates a sweeper only if its class is registered from a module under
    `hydra_plugins.` (hydra/core/plugins.py, `_instantiate`), so the class in `gan.sweep` cannot
    be a `_target_` itself. This subclass adds nothing; the search and its tests live in `gan`.
    """
