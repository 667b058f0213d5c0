"""Train a GAN: `python train.py [group=option ...] [key=value ...]` (see README.md)."""

# Ctrl-C while the heavy imports below load: one line and exit 130, not a traceback of them.
import os
import signal
import sys

_previous = signal.getsignal(signal.SIGINT)
if _previous is signal.default_int_handler:  # not where the caller ignores it (nohup, ...)
    signal.signal(signal.SIGINT, lambda *_: (sys.stderr.write("interrupted\n"), os._exit(130)))

from gan.errors import require_torch  # noqa: E402

require_torch()  # a broken torch or torchvision: one line naming it and the fix, no traceback

import time  # noqa: E402

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from gan.cli import literal_paths, one_line_errors, repeated  # noqa: E402
from gan.errors import UserError  # noqa: E402
from gan.run.config import CONF_DIR, register_configs  # noqa: E402
from gan.run.help import register_help  # noqa: E402
from gan.run.job import single_job  # noqa: E402

signal.signal(signal.SIGINT, _previous)  # from here on: KeyboardInterrupt, as before
register_configs()
register_help()
MULTIRUN_FLAGS = ("-m", "--multirun")


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    """Compose, check, build, train; every output goes to Hydra's run directory. Returns the
    metric named by `eval.objective`, for sweepers (None when evaluation is off and it is a
    score).

    A single run (`gan.run.job.single_job`) refused before its first step leaves nothing behind
    and exits with one `error:` line. A sweep's job (`gan.sweep.job.sweep_job`) that fails
    returns NaN, a failed trial, and the sweep goes on; its metrics.json says why, and so does
    the sweep's summary.
    """
    started, hydra_cfg = time.perf_counter(), HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
        from gan.sweep.job import sweep_job  # here: a single run never loads the sweep's code

        return sweep_job(cfg, hydra_cfg, started)
    return single_job(cfg, hydra_cfg, started)


def command_line() -> None:
    """`python train.py ARGS` (sys.argv): a key set twice noted, a path given to `resume=`
    read as typed, a continued sweep's command rebuilt (`-m resume=SWEEP_DIR`), then `main`
    through Hydra, every refusal one `error:` line."""
    try:  # resume=PATH as typed; -m resume=SWEEP_DIR: the sweep's own command, continued
        for note in repeated(sys.argv):  # as typed: a continued sweep's may restate a key
            print(note, file=sys.stderr)
        sys.argv = literal_paths(sys.argv)
        if any(flag in sys.argv for flag in MULTIRUN_FLAGS):
            from gan.sweep.continuation import continued_argv  # a sweep's own code

            sys.argv = continued_argv(sys.argv)
    except UserError as error:
        sys.exit(f"error: {error}")
    one_line_errors(main)


if __name__ == "__main__":
    command_line()
