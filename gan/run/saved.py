"""A run directory read back: its config and checkpoint, to sample from, evaluate or resume."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, InstantiationException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, OmegaConfBaseException

from gan.core.networks import Generator
from gan.core.remedies.ema import standing_statistics
from gan.errors import UserError, first_line, message_lines
from gan.run.build import build_generator
from gan.run.checkpoint import BEST_NAME, RESUME_KEYS, generator_state, read_checkpoint, steps_done
from gan.run.config import RETIRED_CLASSES, Config
from gan.run.directory import CHECKPOINT_NAME, RESUME_FIXED, RESUME_FREE

CONFIG_NAME = "config.yaml"  # the run's config with every interpolation resolved
# Where classes named in the configs of runs written before the layered layout now live.
# (Runs from before label smoothing and batch norm were classes wrote them into the loss and
# networks, as the presets do now: their configs read as they are.)
MOVED = {"gan.models.": "gan.core.networks.", "gan.losses.": "gan.core.losses.",
         "gan.step.": "gan.core.step.", "gan.remedies.": "gan.core.remedies.",
         "gan.data.": "gan.run.data."}


@dataclass
class SavedRun:
    """A run directory's config and its generator with the checkpoint's weights loaded."""

    cfg: DictConfig  # the run's resolved config.yaml
    generator: Generator  # in eval mode
    step: int  # steps completed when the checkpoint was written


CHECKPOINTS = {"last": CHECKPOINT_NAME, "best": BEST_NAME}  # what `checkpoint=` may name


def load_run(run_dir: Path, device: torch.device, checkpoint: str = "last") -> SavedRun:
    """Read run_dir/config.yaml and its generator: the last one (checkpoint.pt) or, with
    `checkpoint="best"`, where the run's evaluation scored its best (best.pt). A clear
    UserError for each way that can fail (no such directory, no config, no or unreadable
    checkpoint, no best.pt, mismatched weights, another `checkpoint`)."""
    if checkpoint not in CHECKPOINTS:
        raise UserError(f"checkpoint must be one of {', '.join(CHECKPOINTS)}, got {checkpoint!r}")
    cfg = read_config(run_dir)
    path = run_dir / CHECKPOINTS[checkpoint]
    if checkpoint == "best" and not path.is_file():
        evaluated = bool(cfg.get("eval", {}).get("every", 0))
        why = ("none of its evaluations scored its objective (eval.objective; on the 2D "
               "mixtures reverse KL is missing while no sample lands within 3 std of a mode)"
               if evaluated else
               "it keeps its best generator only where it evaluates (eval.every > 0)")
        raise UserError(f"{run_dir} has no {BEST_NAME}: {why}; use checkpoint=last")
    state = read_checkpoint(path, device)
    generator = rebuild(run_dir / CONFIG_NAME, lambda: build_generator(cfg, device))
    try:
        generator.load_state_dict(generator_state(state))
    except (TypeError, RuntimeError) as error:
        raise UserError(f"{path} does not fit the generator that "
                        f"{run_dir / CONFIG_NAME} describes (incompatible config): "
                        f"{_detail(error)}") from None
    if "sampler" in state:  # the ema remedy's average: its own batch-norm statistics, also
        standing_statistics(generator)  # for checkpoints saved with the trained generator's
    return SavedRun(cfg=cfg, generator=generator.eval(), step=int(state.get("step", 0)))


def read_config(run_dir: Path) -> DictConfig:
    """A run directory's config.yaml, or a UserError when there is no readable one."""
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist")
    path = run_dir / CONFIG_NAME
    if not path.is_file():
        raise UserError(f"{run_dir} is not a run directory: it has no {CONFIG_NAME}")
    try:
        cfg = OmegaConf.load(path)
    except (yaml.YAMLError, OmegaConfBaseException, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not a readable config: {first_line(error)}") from None
    if not isinstance(cfg, DictConfig) or "generator" not in cfg:
        raise UserError(f"{path} is not a run's config: it has no generator node")
    return upgraded(cfg)


def upgraded(cfg: DictConfig) -> DictConfig:
    """A run config written by an earlier gan-lab in today's terms, in place: classes at their
    new module paths, and each retired remedy class's settings where its preset puts them (the
    remedy's node keeps its settings, without a class, as a preset's does)."""
    for node in _nodes(cfg):
        target = node.get("_target_")
        for old, new in MOVED.items():
            if isinstance(target, str) and target.startswith(old):
                node._target_ = new + target[len(old):]
    for node in (cfg.get("remedy") or {}).values():
        if node.get("_target_") in RETIRED_CLASSES:
            _, write_settings = RETIRED_CLASSES[node._target_]
            write_settings(cfg, node)
            del node["_target_"]
    return cfg


def _nodes(cfg: DictConfig) -> list[DictConfig]:
    """cfg and every mapping inside it."""
    found = [cfg]
    for value in cfg.values():
        if isinstance(value, DictConfig):
            found += _nodes(value)
    return found


def resumed_config(run_dir: Path, overrides: Sequence[str]) -> DictConfig:
    """The config a run resumes with: its own saved one, typed, with this command's overrides
    of when to stop and what to report (`train.steps=...` extends it). Everything that could
    make it a different run is refused, as is a directory with no checkpoint to continue."""
    try:
        cfg = OmegaConf.merge(OmegaConf.structured(Config), read_config(run_dir))
    except OmegaConfBaseException as error:
        raise UserError(f"{run_dir / CONFIG_NAME} has settings this gan-lab does not know (a "
                        f"config from another version?): {first_line(error)}") from None
    state = read_checkpoint(run_dir / CHECKPOINT_NAME, required=RESUME_KEYS)  # refuse early
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as error:
        raise UserError(first_line(error)) from None
    for override in parsed:
        key = override.key_or_group
        if key == "resume":
            continue
        if not key.startswith(RESUME_FREE) or key in RESUME_FIXED:
            raise UserError(f"resume={run_dir} continues that run with its saved config; "
                            f"{override.input_line} would make it another run (only train.* "
                            f"and eval.* settings other than {', '.join(RESUME_FIXED)}, and "
                            "dataset.root and dataset.download, may change)")
        OmegaConf.update(cfg, key, override.value())  # typed: a bad value fails here
    steps_done(state, cfg.train.steps)
    cfg.resume = str(run_dir)
    return cfg


def rebuild(config_path: Path, make: Callable[[], Any]) -> Any:
    """An object built from a saved config, or a UserError when this version cannot build it
    (a config from an older or newer gan-lab, or edited by hand)."""
    try:
        return make()
    except (InstantiationException, ConfigAttributeError) as error:
        detail = first_line(error).split(", set env var HYDRA_FULL_ERROR")[0]
        raise UserError(f"{config_path} describes objects this gan-lab cannot build (a config "
                        f"from another version?): {detail}") from None


def _detail(error: BaseException) -> str:
    """The first specific line of a load_state_dict error (size mismatch for ..., missing ...)."""
    lines = message_lines(error)
    return lines[1] if len(lines) > 1 and lines[0].startswith("Error(s)") else first_line(error)
