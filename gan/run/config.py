"""Typed schema of the composed config, registered in Hydra's ConfigStore."""

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import II, MISSING, OmegaConf

from gan.errors import ConfigError, UserError
from gan.metrics.names import OBJECTIVES
from gan.run.checkpoint import CHECKPOINT_NAME
from gan.run.device import check_device_name


def resumable_run_dir(resume: str | None, fresh: str) -> str:
    """hydra.run.dir: `fresh`, or with `resume=RUN_DIR` that run's directory, refused before
    Hydra creates anything in it when it holds no run to continue."""
    if resume is None:
        return fresh
    if not Path(resume).is_dir():
        raise UserError(f"resume={resume}: run directory {resume} does not exist")
    if not (Path(resume) / CHECKPOINT_NAME).is_file():
        raise UserError(f"resume={resume}: {resume} has no {CHECKPOINT_NAME} to continue from")
    return resume


def if_set(value: Any, then: Any, otherwise: Any) -> Any:
    """`then` when value is set (not None), else `otherwise`."""
    return then if value is not None else otherwise


# Registered on import, so every process that composes or resolves the config has them: the
# launchers' worker processes import this module with the task, not through train.py.
OmegaConf.register_new_resolver("run_dir", resumable_run_dir, replace=True)
OmegaConf.register_new_resolver("if_set", if_set, replace=True)


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
    threads: int = 0  # CPU intra-op threads; 0 = PyTorch's default, one per physical core
    cuda_graph: bool = True  # on CUDA, capture the whole step once and replay it

    def __post_init__(self) -> None:
        """Refuse values that cannot run, before any work starts."""
        for name in ("steps", "batch_size", "log_every", "print_every", "sample_every",
                     "checkpoint_every", "n_samples"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train.{name} must be positive, got {getattr(self, name)}")
        if self.threads < 0:
            raise ConfigError(f"train.threads must be >= 0 (0 = PyTorch's default), got "
                              f"{self.threads}")
        check_device_name(self.device, "train.device")


@dataclass
class LearningRates:
    """Each network's learning rate; both follow `optimizer.lr` unless set (two time scales)."""

    generator: float = II("optimizer.lr")
    discriminator: float = II("optimizer.lr")

    def __post_init__(self) -> None:
        """Refuse a rate that cannot train, before any work starts."""
        for name in ("generator", "discriminator"):
            value = getattr(self, name)  # a str while it is the schema's interpolation
            if not isinstance(value, str) and not 0 < value < math.inf:  # NaN too
                raise ConfigError(f"lr.{name} must be positive and finite, got {value} (it "
                                  "follows optimizer.lr unless set)")


@dataclass
class EvalConfig:
    """Mode-collapse metrics during training: how often, on how many samples, what to return."""

    every: int = 5000  # steps between evaluations (and one after the last); 0 turns them off
    n: int = 10000  # generated samples per evaluation, from one fixed noise
    seed: int = 0  # of the evaluation noise and of the real-data reference subset
    objective: str = "fid"  # the metric the run returns, for sweepers to minimise or maximise
    batch_size: int = 500  # images per classifier call (500 ran fastest on the CPU here)

    def __post_init__(self) -> None:
        """Refuse values that cannot run, before any work starts."""
        if self.every < 0:
            raise ConfigError(f"eval.every must be >= 0 (0 turns evaluation off), got "
                              f"{self.every}")
        if self.n < 2 or self.batch_size <= 0:
            raise ConfigError(f"eval.n must be >= 2 and eval.batch_size positive, got "
                              f"n={self.n}, batch_size={self.batch_size}")
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"eval.objective must be one of {', '.join(OBJECTIVES)}, got "
                              f"{self.objective!r}")


@dataclass
class Config:
    """The whole composed config: one node per config group plus the loop settings."""

    generator: Any = MISSING
    discriminator: Any = MISSING
    optimizer: Any = MISSING
    dataset: Any = MISSING
    loss: Any = MISSING
    step: Any = MISSING
    remedy: Any = field(default_factory=dict)  # the selected remedies, each under its name
    lr: LearningRates = field(default_factory=LearningRates)
    resume: str | None = None  # a run directory to continue in place, with its saved config
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


@dataclass
class ClassifierConfig:
    """How `python -m gan.train_classifier` fits a dataset's evaluator classifier."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.002  # Adam's, cosine-decayed to 0 over the epochs
    shift: int = 2  # random translation of up to this many pixels (augmentation)
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse values that cannot run, before any work starts."""
        for name in ("epochs", "batch_size", "lr"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"classifier.{name} must be positive, got "
                                  f"{getattr(self, name)}")
        if self.shift < 0:
            raise ConfigError(f"classifier.shift must be >= 0, got {self.shift}")


@dataclass
class ClassifierRunConfig:
    """The composed config of a classifier-training run."""

    dataset: Any = MISSING
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    out: str | None = None  # folder for <dataset>.pt and .json; None = the package's weights


def register_configs() -> None:
    """Store the schemas that `config.yaml` and `classifier.yaml` extend (`- base_...`)."""
    ConfigStore.instance().store(name="base_config", node=Config)
    ConfigStore.instance().store(name="base_classifier_config", node=ClassifierRunConfig)
