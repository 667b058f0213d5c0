"""The one place where config becomes objects (every `hydra.utils.instantiate` call lives here)."""

from pathlib import Path
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from gan.config import TrainConfig
from gan.errors import UserError
from gan.training import Experiment, train


def train_settings(cfg: DictConfig) -> TrainConfig:
    """The typed loop settings; `TrainConfig.__post_init__` refuses impossible values."""
    return OmegaConf.to_object(cfg.train)


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when available, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _instantiate(node: DictConfig, **kwargs: Any) -> Any:
    """`instantiate`, letting our own user-facing errors through unwrapped."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        if isinstance(error.__cause__, UserError):
            raise error.__cause__ from None
        raise


def build(cfg: DictConfig, device: torch.device) -> Experiment:
    """Networks, optimizers, loss and device-resident data from the composed config."""
    generator = _instantiate(cfg.generator).to(device)
    discriminator = _instantiate(cfg.discriminator).to(device)
    optimizer = _instantiate(cfg.optimizer)  # a partial: completed with each network's parameters
    return Experiment(
        generator=generator,
        discriminator=discriminator,
        g_optimizer=optimizer(generator.parameters()),
        d_optimizer=optimizer(discriminator.parameters()),
        loss=_instantiate(cfg.loss),
        images=_instantiate(cfg.dataset, device=device),
    )


def run(cfg: DictConfig, run_dir: Path) -> dict[str, float]:
    """The composition root: settings, seed, objects, then the training loop into run_dir."""
    settings = train_settings(cfg)
    torch.manual_seed(settings.seed)
    experiment = build(cfg, resolve_device(settings.device))
    return train(experiment, settings, run_dir)
