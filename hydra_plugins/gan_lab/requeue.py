"""Hydra's submitit launchers with requeueing at a time limit (`hydra/launcher=slurm` and
`hydra/launcher=local`): `gan.sweep.requeue.Requeueing` mixed in, where Hydra can find them.
Without the submitit extra installed this module defines nothing (Hydra imports every module
here at start-up)."""

from gan.sweep.requeue import Requeueing

try:
    from hydra_plugins.hydra_submitit_launcher import submitit_launcher
except ImportError:  # pip install -e ".[submitit]" for these launchers
    pass
else:
    class SlurmLauncher(Requeueing, submitit_launcher.SlurmLauncher):
        """Hydra's SLURM launcher; a job requeued at its time limit resumes."""

    class LocalLauncher(Requeueing, submitit_launcher.LocalLauncher):
        """Hydra's submitit local launcher; a job requeued at its time limit resumes."""
