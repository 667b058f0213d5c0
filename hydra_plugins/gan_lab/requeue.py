"""Hydra's submitit launchers with requeueing at a time limit (`hydra/launcher=slurm` and
`hydra/launcher=local`): `gan.sweep.requeue.Requeueing` mixed in, where Hydra can find them.
Without the submitit extra installed this module defines nothing (Hydra imports every module
here at start-up, so submitit itself is imported only where a launch needs it)."""

from collections.abc import Sequence
from typing import Any

from gan.run.config import absolute


class Requeueing:
    """Mixed into Hydra's submitit launchers: the job that submitit resubmits at a time limit
    continues its run instead of starting it again (`gan.sweep.requeue`, imported only there:
    Hydra imports this module at every start-up, a single run's too)."""

    def checkpoint(self, sweep_overrides: list[str], *args: Any, **kwargs: Any) -> Any:
        """The same job, to be submitted again, with `resume=` its sweep's directory."""
        from gan.sweep.requeue import requeued

        return requeued(self, sweep_overrides, *args, **kwargs)


try:
    from hydra_plugins.hydra_submitit_launcher import submitit_launcher
except ImportError:  # pip install -e ".[submitit]" for these launchers
    pass
else:
    class SlurmLauncher(Requeueing, submitit_launcher.SlurmLauncher):
        """Hydra's SLURM launcher; a job requeued at its time limit resumes; the jobs are
        followed with squeue where the cluster keeps no accounting for sacct, submitit's log
        lines are printed once, and a job cancelled stops the sweep as a signal would."""

        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
            """Hydra's launch, its jobs followed by `gan.sweep.slurm_states`."""
            from submitit.core.utils import UncompletedJobError

            from gan.sweep.slurm_states import follow_slurm_jobs, one_line_each, stop_sweep

            one_line_each()
            follow_slurm_jobs()
            try:
                return super().launch(job_overrides, initial_job_idx)
            except UncompletedJobError as error:  # cancelled or killed: no result
                stop_sweep(error, absolute(str(self.config.hydra.sweep.dir)),
                           str(self.config.eval.objective))

    class LocalLauncher(Requeueing, submitit_launcher.LocalLauncher):
        """Hydra's submitit local launcher; a job requeued at its time limit resumes;
        submitit's log lines are printed once."""

        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
            """Hydra's launch, with submitit's log lines printed once."""
            from gan.sweep.slurm_states import one_line_each

            one_line_each()
            return super().launch(job_overrides, initial_job_idx)
