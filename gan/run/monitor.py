"""TensorBoard's HParams records, written into a run's own event file (no extra run per job).

What a run shows while it trains: TensorBoard scalars and images, console lines, progress."""

import logging
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeAlias

import torch
from omegaconf import DictConfig, OmegaConf
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams
from tqdm import tqdm

HParam: TypeAlias = bool | int | float | str
HPARAM_KEYS = ("lr.generator", "lr.discriminator", "train.batch_size", "train.steps",
               "train.seed")


def hyperparameters(cfg: DictConfig, choices: Mapping[str, Any] | None = None,
                    overrides: Sequence[str] = ()) -> dict[str, HParam]:
    """What tells this run from others, for TensorBoard's HParams dashboard: the config groups'
    choices, the remedies, the learning rates and the loop's size, then every override."""
    values: dict[str, HParam] = {group: str(choice) for group, choice in (choices or {}).items()
                                 if choice is not None and not group.startswith("hydra/")}
    values["remedy"] = ",".join(cfg.get("remedy") or {}) or "none"
    values |= {key: OmegaConf.select(cfg, key) for key in HPARAM_KEYS}
    for override in overrides:
        key, _, text = override.partition("=")
        key = key.lstrip("+")
        if key != "dataset.root" and not key.startswith("~"):  # not where, nor a deletion
            value = OmegaConf.select(cfg, key, default=None)
            values[key] = value if isinstance(value, bool | int | float | str) else text
    return values


def session_start(values: dict[str, HParam]) -> Summary:
    """This run's hyper-parameter values. No experiment record: from the runs' values and
    scalar tags, the dashboard works out which hyper-parameters differ across the sweep and
    offers every scalar as a metric (the last value of the run's scalar with that tag)."""
    return hparams(values, {})[1]


def session_end(status: str) -> Summary:
    """How the run ended: "STATUS_SUCCESS" or "STATUS_FAILURE"."""
    info = plugin_data_pb2.SessionEndInfo(status=api_pb2.Status.Value(status),
                                          end_time_secs=time.time())
    content = plugin_data_pb2.HParamsPluginData(session_end_info=info,
                                                version=metadata.PLUGIN_DATA_VERSION)
    plugin = SummaryMetadata.PluginData(plugin_name=metadata.PLUGIN_NAME,
                                        content=content.SerializeToString())
    return Summary(value=[Summary.Value(tag=metadata.SESSION_END_INFO_TAG,
                                        metadata=SummaryMetadata(plugin_data=plugin))])


log = logging.getLogger(__name__)


class Monitor:
    """Writes a run's TensorBoard events into its directory and reports progress."""

    def __init__(self, run_dir: Path, total_steps: int, start_step: int = 0,
                 logger: logging.Logger | None = None) -> None:
        """`logger`: where console lines go (a stacked run's own, with no progress bar: K runs
        share the terminal); by default this module's, beside a bar on a terminal."""
        # A resumed run first marks its start step: TensorBoard then drops what the interrupted
        # run logged from that step on, so each curve goes on once, with no duplicated steps.
        self.writer = SummaryWriter(log_dir=str(run_dir), purge_step=start_step or None)
        # A bar only on a terminal: non-interactive logs get the seed's periodic lines instead.
        self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True,
                        disable=logger is not None or not sys.stderr.isatty())
        self.log = logger or log
        self.session = False  # whether hyper-parameters were recorded, so an end is due

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Record how the run ended (for the HParams dashboard), then close."""
        if self.session:
            status = "STATUS_SUCCESS" if kind is None else "STATUS_FAILURE"
            self.writer.file_writer.add_summary(session_end(status))
        self.close()

    def hyperparameters(self, values: dict[str, HParam], new_session: bool = True) -> None:
        """This run's hyper-parameters, for TensorBoard's HParams dashboard, which then compares
        every run under a logdir (a sweep) by them and by the runs' scalars. A resumed run
        (`new_session` false) keeps the ones it recorded first and only records its end."""
        if new_session:
            self.writer.file_writer.add_summary(session_start(values))
        self.session = True

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Log each scalar under its tag at this step."""
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def image(self, tag: str, picture: torch.Tensor, step: int) -> None:
        """Log a (C, H, W) picture in [0, 1]."""
        self.writer.add_image(tag, picture, step)

    def advance(self, steps: int = 1) -> None:
        """Move the progress bar on."""
        self.bar.update(steps)

    def losses(self, g_loss: float, d_loss: float) -> None:
        """Show the latest losses beside the bar's steps/s."""
        self.bar.set_postfix(g_loss=f"{g_loss:.4f}", d_loss=f"{d_loss:.4f}", refresh=False)

    def print(self, message: str) -> None:
        """A console (and run log) line that does not tear the progress bar."""
        if self.bar.disable:
            self.log.info(message)
        else:
            self.bar.clear()
            self.log.info(message)
            self.bar.refresh()

    def flush(self) -> None:
        """Write the pending TensorBoard events to disk."""
        self.writer.flush()

    def close(self) -> None:
        """Flush events and close the bar."""
        self.bar.close()
        self.writer.flush()
        self.writer.close()
