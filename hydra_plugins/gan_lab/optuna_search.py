"""The Optuna search sweeper, where Hydra can find it (`hydra/sweeper=optuna_search`)."""

from typing import Any

from hydra.plugins.sweeper import Sweeper


class OptunaSearch(Sweeper):
    """`gan.sweep.optuna_search.OptunaSearch` under the name Hydra accepts.

    Hydra 1.3 instantiates a sweeper only if its class is registered from a module under
    `hydra_plugins.` (hydra/core/plugins.py, `_instantiate`), and it imports every such module
    at start-up, a single run's too. So this class only hands its work to the search in
    `gan.sweep`, imported when a sweep makes one (as Hydra's own Optuna plugin does with its
    `_impl`): a single run never loads the sweep's code.
    """

    def __init__(self, **settings: Any) -> None:
        from gan.sweep.optuna_search import OptunaSearch as Search

        self.search = Search(**settings)

    def setup(self, **kwargs: Any) -> None:
        """The search's own set-up (Hydra's context, the task, the config)."""
        self.search.setup(**kwargs)

    def sweep(self, arguments: list[str]) -> Any:
        """The search's trials, as `gan.sweep.optuna_search.OptunaSearch.sweep` runs them."""
        return self.search.sweep(arguments)
