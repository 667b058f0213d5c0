"""TensorBoard's HParams records, written into a run's own event file (no extra run per job)."""

import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from omegaconf import DictConfig, OmegaConf
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from torch.utils.tensorboard.summary import hparams

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
