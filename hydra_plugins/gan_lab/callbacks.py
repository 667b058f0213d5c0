"""The sweep's Hydra callbacks (conf/config.yaml, `hydra.callbacks`), as Hydra makes them for
every command, a single run's too: each hands a sweep's start and end to its class in
`gan.sweep`, imported only when a sweep starts, so a single run never loads the sweep's code."""

import importlib
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class _ForSweeps(Callback):
    """A callback whose work is all in a sweep's start and end, done by `target`'s class."""

    target = ""  # module.Class of the callback that does the work

    def __init__(self) -> None:
        self.callback: Callback | None = None

    def _made(self) -> Callback:
        """The class that does the work, imported and made the first time a sweep needs it."""
        if self.callback is None:
            module, name = self.target.rsplit(".", 1)
            self.callback = getattr(importlib.import_module(module), name)()
        return self.callback

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """The sweep starts: `target`'s `on_multirun_start`."""
        self._made().on_multirun_start(config, **kwargs)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """The sweep returned: `target`'s `on_multirun_end`."""
        self._made().on_multirun_end(config, **kwargs)


class SweepSummary(_ForSweeps):
    """summary.csv and summary.md in the sweep directory (`gan.sweep.summary.SweepSummary`)."""

    target = "gan.sweep.summary.SweepSummary"


class LeaveJobsToCheckpoint(_ForSweeps):
    """A joblib sweep stopped by a signal leaves its jobs to checkpoint
    (`gan.sweep.workers.LeaveJobsToCheckpoint`)."""

    target = "gan.sweep.workers.LeaveJobsToCheckpoint"
