"""The one place where config becomes objects (every `hydra.utils.instantiate` call lives here)."""

import time
from pathlib import Path
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from gan.config import TrainConfig
from gan.errors import ConfigError, UserError
from gan.training import Experiment, train


def train_settings(cfg: DictConfig) -> TrainConfig:
    """The typed loop settings; `TrainConfig.__post_init__` refuses impossible values."""
    return OmegaConf.to_object(cfg.train)


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when available, else the CPU; asking for CUDA without it is refused."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but CUDA is not available here; use "
                          "train.device=cpu or auto")
    return device


def _instantiate(node: DictConfig, **kwargs: Any) -> Any:
    """`instantiate`, letting our own user-facing errors through unwrapped."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        if isinstance(error.__cause__, UserError):
            raise error.__cause__ from None
        raise


def build(cfg: DictConfig, device: torch.device) -> Experiment:
    """Networks, optimizers, loss, the step that joins them, and device-resident data."""
    generator = _instantiate(cfg.generator).to(device)
    discriminator = _instantiate(cfg.discriminator).to(device)
    optimizer = _instantiate(cfg.optimizer)  # a partial: completed with each network's parameters
    make_step = _instantiate(cfg.step)  # a partial: completed with everything it updates
    step = make_step(generator=generator, discriminator=discriminator,
                     g_optimizer=optimizer(generator.parameters()),
                     d_optimizer=optimizer(discriminator.parameters()),
                     loss=_instantiate(cfg.loss))
    return Experiment(step=step, images=_instantiate(cfg.dataset, device=device))


def run(cfg: DictConfig, run_dir: Path) -> dict[str, float]:
    """The composition root: settings, seed, objects, then the training loop into run_dir."""
    started = time.perf_counter()
    settings = train_settings(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    # The config with every interpolation (data root, ...) resolved, beside Hydra's raw copy.
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    torch.manual_seed(settings.seed)
    experiment = build(cfg, resolve_device(settings.device))
    return train(experiment, settings, run_dir, started)
