"""One Hydra job's side of a sweep: its share of the CPU, and how it ended when it failed."""

import contextlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gan.errors import UserError, message_lines
from gan.run.checkpoint import CHECKPOINT_NAME
from gan.run.divergence import Diverged
from gan.run.files import write_atomically
from gan.run.interrupts import Interrupted

log = logging.getLogger(__name__)


@dataclass
class Failure:
    """Why a job stopped: a status for the sweep summary and a one-line reason."""

    status: str  # interrupted, diverged, out_of_memory, bad_input or crashed
    reason: str
    expected: bool  # the reason says it all; no traceback is needed


def classify(error: Exception) -> Failure:
    """The status and reason of an exception that ended a job."""
    text = " ".join(message_lines(error)) or type(error).__name__  # all of it, on one line
    if isinstance(error, Interrupted):
        return Failure("interrupted", text, expected=True)
    if isinstance(error, Diverged):
        return Failure("diverged", text, expected=True)
    if _out_of_memory(error):
        return Failure("out_of_memory", f"{text[:300]} (try a smaller train.batch_size or "
                       "eval.batch_size)", expected=True)
    if isinstance(error, UserError):
        return Failure("bad_input", text, expected=True)
    return Failure("crashed", f"{type(error).__name__}: {text}", expected=False)


def _out_of_memory(error: Exception) -> bool:
    """Whether the device or the host ran out of memory (PyTorch reports the CPU's case as a
    plain RuntimeError)."""
    if isinstance(error, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and ("out of memory" in text
                                                or "can't allocate memory" in text)


def record_failure(error: Exception, run_dir: Path, seconds: float, in_sweep: bool) -> Failure:
    """Write the failure into the job's metrics.json (what the sweep summary reads) and, in a
    sweep, into its log, where a crash keeps its traceback."""
    failure = classify(error)
    record = {"status": failure.status, "reason": failure.reason, "wall_seconds": seconds}
    path = run_dir / "metrics.json"
    # A refused command (a resume with nothing to do, say) leaves an existing run as it was.
    if failure.status != "bad_input" or not (path.exists() or (run_dir / CHECKPOINT_NAME).exists()):
        with contextlib.suppress(OSError):  # an unwritable run directory may be the failure
            write_atomically(path, json.dumps(record, indent=2) + "\n")
    if in_sweep:
        log.error(f"job {failure.status}: {failure.reason}", exc_info=not failure.expected)
    return failure


def threads_per_job(launcher: Mapping[str, Any], sweeper: Mapping[str, Any] | None = None,
                    cores: int | None = None) -> int:
    """CPU threads for each job, so concurrent jobs share the cores instead of fighting over
    them; 0 (PyTorch's default) where jobs run one at a time."""
    cores = cores or _cores()
    n_jobs = launcher.get("n_jobs")  # joblib: n_jobs at once; -1 all cores, -2 all but one
    if n_jobs is not None:
        concurrent = n_jobs if n_jobs > 0 else cores + 1 + n_jobs
        # A sweeper that hands the launcher fewer jobs at a time caps it (Optuna's n_jobs).
        batch = (sweeper or {}).get("n_jobs") or (sweeper or {}).get("max_batch_size")
        concurrent = min(concurrent, batch) if batch else concurrent
        return max(1, cores // max(1, concurrent))
    return launcher.get("cpus_per_task") or 0  # submitit: what each task was given


def _cores() -> int:
    """The cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere all the machine's
    return len(affinity(0)) if affinity else os.cpu_count() or 1
