"""The stacked launcher, where Hydra can find it (`hydra/launcher=stacked`)."""

from collections.abc import Sequence
from typing import Any

from hydra.plugins.launcher import Launcher


class StackedLauncher(Launcher):
    """`gan.sweep.stacked_launcher.StackedLauncher` under the name Hydra accepts (Hydra 1.3
    instantiates a launcher only from a module under `hydra_plugins.`, and imports every such
    module at start-up): it hands its work to the launcher in `gan.sweep`, imported when a sweep
    makes one, so a single run never loads the sweep's code."""

    def __init__(self, **settings: Any) -> None:
        from gan.sweep.stacked_launcher import StackedLauncher as Stacked

        self.launcher = Stacked(**settings)

    def setup(self, **kwargs: Any) -> None:
        """The launcher's own set-up (Hydra's context, the task, the config)."""
        self.launcher.setup(**kwargs)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
        """The jobs, stacked as `gan.sweep.stacked_launcher.StackedLauncher.launch` runs them."""
        return self.launcher.launch(job_overrides, initial_job_idx)
