"""One job of `python train.py`, from its run directory's lock to its metrics: the config
checked once, the directory locked once, the run trained (`gan.run.loop.run`), and a failure
recorded in metrics.json, as the sweep summary reads it. A sweep's job goes through the same
`train_job` (`gan.sweep.job` adds what a sweep needs); a single run never loads sweep code.

The lock: one process at a time trains into a run directory, holding an exclusive lock (POSIX
`flock`) on RUN_DIR/.writer for as long as it does. A second one (a sweep continued while the
stopped sweep's last jobs still write their checkpoints, the same `resume=RUN_DIR` typed twice)
waits for the first to end, then reads what it left; one that waits too long is refused. The
lock is the process's: a block that asks again for a directory this process already holds (a
stack of runs, then each run) goes straight in."""

import contextlib
import json
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from gan.errors import ConfigError, UserError, message_lines
from gan.run.build import unmeasured_objective
from gan.run.config import absolute, check_choices, check_config
from gan.run.directory import CHECKPOINT_NAME, made_by_hydra_now, remove_traces, stopped
from gan.run.divergence import Diverged
from gan.run.files import write_atomically
from gan.run.interrupts import Interrupted, orphaned
from gan.run.loop import run
from gan.run.monitor import HParam, hyperparameters
from gan.run.saved import resumed_config

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not guarded
    fcntl = None

log = logging.getLogger(__name__)



Prepare = Callable[[DictConfig, DictConfig],
                   tuple[DictConfig, dict[str, "HParam"], dict[str, Any] | None]]


def single_job(cfg: DictConfig, hydra_cfg: DictConfig, started: float) -> float | None:
    """`python train.py` without `-m`: the run trained into Hydra's run directory; returns the
    metric its `eval.objective` names (None when evaluation is off and it is a score). A refusal
    leaves nothing behind and exits with one `error:` line; a run stopped by a signal prints
    the command that resumes it and exits with the signal's code; any other failure is raised,
    after its record in metrics.json."""
    run_dir = Path(hydra_cfg.runtime.output_dir)
    made_now = made_by_hydra_now(run_dir)  # only then may a refusal remove the directory
    try:
        cfg, metrics = train_job(cfg, hydra_cfg, run_dir, threads=0, started=started)
        return metrics.get(cfg.eval.objective)
    except Interrupted as stop:
        print(stopped(stop, run_dir), file=sys.stderr)
        stop.hand_back()  # a scheduler's time-limit signal (srun without a sweep)
        sys.exit(stop.exit_code)
    except Exception as error:
        failure = classify(error)
        if failure.status == "bad_input":  # refused: leave no trace
            # Only a resume has a subdir of its own to take back (.hydra/resumed-*).
            subdir = hydra_cfg.output_subdir if cfg.get("resume") is not None else ".hydra"
            remove_traces(run_dir, subdir, made_now, Path(hydra_cfg.runtime.cwd))
        if failure.expected:
            sys.exit(f"error: {failure.reason}")  # one line and a non-zero exit, no traceback
        raise


def train_job(cfg: DictConfig, hydra_cfg: DictConfig, run_dir: Path, threads: int,
              started: float, in_sweep: bool = False, prepare: Prepare | None = None,
              after: Callable[[], None] | None = None) -> tuple[DictConfig, dict[str, Any]]:
    """The job's config as it trained, and its metrics (a continued sweep's done job: the
    metrics it has). The config is checked before the lock (a mistyped setting is refused at
    once, not after a wait); `prepare` (default `prepared`) reads the directory only once the
    process that trained there last has let go, so a resume goes on from that process's last
    checkpoint, not from step 0 over it. A failure is recorded (`record_failure`) before the
    lock is let go, then raised: Busy where another process held the directory too long,
    Interrupted where a signal or a time limit stopped the run, or what ended the run. `after`
    runs however the job ended (a sweep's summary: Hydra's on_job_end never sees a job stopped
    by a signal)."""
    with ExitStack() as held:
        try:
            cfg, hparams, done = claimed(cfg, hydra_cfg, run_dir, held, prepare)
            return cfg, done or run(cfg, run_dir, threads, hparams)  # done: nothing to train
        except Exception as error:
            record_failure(error, run_dir, time.perf_counter() - started, in_sweep)
            raise
        finally:
            if after is not None:
                after()


def claimed(cfg: DictConfig, hydra_cfg: DictConfig, run_dir: Path, held: ExitStack,
            prepare: Prepare | None = None
            ) -> tuple[DictConfig, dict[str, HParam], dict[str, Any] | None]:
    """A job before it trains (`train_job`'s, and each job of a stack's: `gan.sweep.
    stacked_launcher`): its config checked, its directory locked into `held` (let go when
    `held` closes), then prepared (`prepare`, default `prepared`: its config, hyper-parameters,
    and the metrics of a job that is done already). Raises UserError for a mistyped setting
    or an `eval.objective` typed on the command line that the job's dataset never measures
    (`unmeasured_objective`), Busy where another process holds the directory too long."""
    check_choices(hydra_cfg.runtime.choices)  # contradicting presets, before what they leave
    check_config(cfg)  # a mistyped setting is refused at once, not after a wait
    held.enter_context(sole_writer(run_dir))  # before `prepare` reads the directory
    job = (prepare or prepared)(cfg, hydra_cfg)
    # Of the config the job runs (a resumed run's own), where the command set the objective:
    # left at the default, a run is kept by its scorer's own (`Evaluation`).
    if objective_typed(hydra_cfg.overrides.task):
        refusal = unmeasured_objective(job[0])
        if refusal is not None:
            raise ConfigError(refusal)
    return job


def objective_typed(overrides: list[str]) -> bool:
    """Whether the command line sets `eval.objective` (a sweep's job: its own overrides)."""
    return any(o.split("=", 1)[0].lstrip("+~") == "eval.objective" for o in overrides)


def prepared(cfg: DictConfig, hydra_cfg: DictConfig
             ) -> tuple[DictConfig, dict[str, HParam], dict[str, Any] | None]:
    """A checked job's hyper-parameters for TensorBoard and, for `resume=RUN_DIR`, the run's own
    saved config in its place (checked as it is read back); nothing is done already (None)."""
    hparams = hyperparameters(cfg, hydra_cfg.runtime.choices, hydra_cfg.overrides.task)
    if cfg.resume is None:
        return cfg, hparams, None
    return resumed_config(absolute(cfg.resume), hydra_cfg.overrides.task), hparams, None


@dataclass
class Failure:
    """Why a job stopped: a status for the sweep summary and a one-line reason."""

    status: str  # interrupted, diverged, out_of_memory, bad_input, busy or crashed
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
    if isinstance(error, Busy):  # before UserError: not this run's settings, not final
        return Failure("busy", text, expected=True)
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
    existing = path.exists() or (run_dir / CHECKPOINT_NAME).exists()
    if keeps_record(failure.status, in_sweep, existing):
        with contextlib.suppress(OSError):  # an unwritable run directory may be the failure
            write_atomically(path, json.dumps(record, indent=2) + "\n")
    if in_sweep:
        log.error(f"job {failure.status}: {failure.reason}", exc_info=not failure.expected)
    return failure


def keeps_record(status: str, in_sweep: bool, existing: bool) -> bool:
    """Whether a failure goes into metrics.json. A refused single run leaves nothing (its traces
    are removed); a refused sweep job keeps its record for the summary unless it would
    overwrite a run's (a resume refused); a job refused because another process trains in its
    directory writes nothing there: the files are that process's."""
    if status == "busy":
        return False
    return status != "bad_input" or (in_sweep and not existing)


# The lock: one writer per run directory.

class Busy(UserError):
    """Another process trains into the run directory: a refusal that says nothing of this
    run's settings (a sweep's job refused so writes nothing there and runs again when the sweep
    is continued)."""


LOCK_NAME = ".writer"  # holds the writing process's pid, for the message of whoever waits
_held: dict[Path, int] = {}  # resolved run directory -> pid that holds it (a fork copies this)


@contextmanager
def sole_writer(run_dir: Path, wait_s: float = 120.0, poll_s: float = 0.1) -> Iterator[None]:
    """Make run_dir and hold its lock while the block runs; the lock file goes with it. Where
    this process holds it already, the block just runs (the outer block lets go).

    Waits while another live process holds the lock (it is let go when that process ends, even
    by SIGKILL), saying once who; raises Busy (a UserError) after `wait_s` seconds of that, or
    at once where this process is a worker whose sweep's process has gone."""
    run_dir.mkdir(parents=True, exist_ok=True)
    key = run_dir.resolve()
    if fcntl is None or _held.get(key) == os.getpid():
        yield
        return
    descriptor = acquire(run_dir / LOCK_NAME, wait_s, poll_s)
    _held[key] = os.getpid()
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, str(os.getpid()).encode())
        yield
    finally:
        del _held[key]
        with contextlib.suppress(FileNotFoundError):  # before letting go: a waiter then
            os.unlink(run_dir / LOCK_NAME)  # finds it gone and opens the next holder's file
        os.close(descriptor)


def acquire(path: Path, wait_s: float, poll_s: float) -> int:
    """An open descriptor of `path` holding its exclusive lock; the file is the one at `path`
    now (not one its last holder unlinked while this process waited on it). Raises Busy after
    `wait_s` seconds of another holder, or once this worker's parent has gone."""
    deadline, said = time.monotonic() + wait_s, False
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            holder = holder_of(path)
            if parent_gone():
                raise Busy(f"{path.parent} is being trained by another process (pid "
                           f"{holder}) and this worker's sweep has ended; continuing the sweep "
                           "runs this job") from None
            if time.monotonic() > deadline:
                raise Busy(f"{path.parent} is being trained by another process (pid "
                           f"{holder}); stop it, or wait for it to end") from None
            if not said:
                log.warning(f"waiting for process {holder} to finish writing {path.parent}")
                said = True
            time.sleep(poll_s)
            continue
        if same_file(path, descriptor):
            return descriptor
        os.close(descriptor)  # locked a file its holder had already removed: try the new one


def same_file(path: Path, descriptor: int) -> bool:
    """Whether `path` still names the file open at `descriptor` (not removed, not replaced)."""
    try:
        return os.stat(path).st_ino == os.fstat(descriptor).st_ino
    except FileNotFoundError:  # its holder removed it between our open and this look
        return False


def parent_gone() -> bool:
    """Whether this is a worker process (joblib's loky) whose parent, the sweep, has ended: the
    job it waits for was stopped with the sweep, and the continued sweep will run it."""
    parent = multiprocessing.parent_process()
    return parent is not None and orphaned(parent.pid)


def holder_of(path: Path) -> str:
    """The pid the lock's holder wrote, or "?" (not written yet, or just removed)."""
    try:
        return path.read_text().strip() or "?"
    except OSError:
        return "?"
