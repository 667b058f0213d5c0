"""Typed schema of the composed config, registered in Hydra's ConfigStore."""

import re
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from gan.errors import ConfigError

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclass
class TrainConfig:
    """Loop settings: how long, how big, how often to log, sample and save."""

    steps: int = 40001  # optimisation steps (the seed's "training_epochs")
    batch_size: int = 128
    seed: int = 0
    device: str = "auto"  # auto = CUDA when available, else CPU; also cpu, cuda, cuda:N
    log_every: int = 100  # TensorBoard scalars
    print_every: int = 2000  # console line, as the seed
    sample_every: int = 2000  # sample grid from the fixed noise
    checkpoint_every: int = 5000
    n_samples: int = 64  # size of the fixed noise batch behind every grid

    def __post_init__(self) -> None:
        """Refuse values that cannot run, before any work starts."""
        for name in ("steps", "batch_size", "log_every", "print_every", "sample_every",
                     "checkpoint_every", "n_samples"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train.{name} must be positive, got {getattr(self, name)}")
        if not DEVICE_PATTERN.fullmatch(self.device):
            raise ConfigError(f"train.device must be auto, cpu, cuda or cuda:N, got "
                              f"{self.device!r}")


@dataclass
class Config:
    """The whole composed config: one node per config group plus the loop settings."""

    generator: Any = MISSING
    discriminator: Any = MISSING
    optimizer: Any = MISSING
    dataset: Any = MISSING
    loss: Any = MISSING
    step: Any = MISSING
    train: TrainConfig = field(default_factory=TrainConfig)


def register_configs() -> None:
    """Store the schema so that `config.yaml` can extend it (`- base_config` in its defaults)."""
    ConfigStore.instance().store(name="base_config", node=Config)
