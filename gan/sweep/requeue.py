"""Jobs that survive a cluster's time limit: checkpoint at the scheduler's signal, then requeue
as the same job continuing its sweep.

submitit sends a job a USR signal shortly before its time limit (`signal_delay_s`); the run
notes it like SIGTERM (`gan.run.interrupts`), finishes its step, checkpoints, and hands the
signal back to submitit (`train.py`), which asks the launcher to `checkpoint`: here the job is
resubmitted with `resume=SWEEP_DIR`, so the requeued job finds its checkpoint and goes on
(`gan.sweep.continuation`), up to `hydra.launcher.max_num_timeout` requeues.
"""

from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig

from gan.run.directory import is_sweep


def sweep_of(run_dir: Path) -> Path:
    """The sweep directory a job's directory is in (the nearest holding multirun.yaml)."""
    for folder in (run_dir, *run_dir.parents):
        if is_sweep(folder):
            return folder
    raise FileNotFoundError(f"{run_dir} is in no sweep directory (no multirun.yaml above it)")


def requeued(launcher: Any, sweep_overrides: list[str], *args: Any, **kwargs: Any) -> Any:
    """What a submitit launcher's `checkpoint` returns at a time limit (the `Requeueing` mixin
    of `hydra_plugins.gan_lab.requeue`): the same job, to be submitted again, with `resume=` its
    sweep's directory."""
    import submitit  # an optional extra: imported only where submitit runs the job

    sweep_dir = sweep_of(Path(HydraConfig.get().runtime.output_dir))
    overrides = [o for o in sweep_overrides if not o.startswith("resume=")]
    return submitit.helpers.DelayedSubmission(launcher, [*overrides, f"resume={sweep_dir}"],
                                              *args, **kwargs)
