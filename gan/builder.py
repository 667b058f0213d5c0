"""The one place where config becomes objects (every `hydra.utils.instantiate` call lives here)."""

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from gan.acceleration import CudaGraphStep, configure_process, fast_layout, fast_optimizer
from gan.checkpoint import CHECKPOINT_NAME, RESUME_KEYS, read_checkpoint, write_atomically
from gan.config import DEVICE_PATTERN, EvalConfig, LearningRates, TrainConfig
from gan.data import ImageSource
from gan.errors import ConfigError, UserError
from gan.hparams import HParam
from gan.metrics.classifier import load_classifier
from gan.metrics.evaluator import SCORE_NAMES, Evaluator, evaluation_noise, real_subset
from gan.models import Generator
from gan.remedies import Remedy
from gan.step import AdversarialStep
from gan.training import Evaluation, Experiment, NoEvaluation, train

log = logging.getLogger(__name__)


def train_settings(cfg: DictConfig) -> TrainConfig:
    """The typed loop settings; `TrainConfig.__post_init__` refuses impossible values."""
    return OmegaConf.to_object(cfg.train)


def eval_settings(cfg: DictConfig) -> EvalConfig:
    """The typed evaluation settings, checked the same way."""
    return OmegaConf.to_object(cfg.eval)


def learning_rates(cfg: DictConfig) -> LearningRates:
    """Each network's learning rate, checked the same way."""
    return OmegaConf.to_object(cfg.lr)


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when available, else the CPU; asking for CUDA without it is refused."""
    if not DEVICE_PATTERN.fullmatch(name):
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}")
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


def build_source(dataset: DictConfig) -> ImageSource:
    """Where a dataset lives and how to read it (nothing is loaded yet)."""
    return _instantiate(dataset)


def build_generator(cfg: DictConfig, device: torch.device) -> Generator:
    """The generator alone (for sampling from a saved run)."""
    return _instantiate(cfg.generator).to(device)


def build_evaluator(source: ImageSource, device: torch.device, batch_size: int) -> Evaluator:
    """The dataset's shipped classifier, with the statistics of its real test set."""
    classifier = load_classifier(source.name, device)
    return Evaluator(classifier, source.images(device, train=False), batch_size)


def build_evaluation(cfg: DictConfig, settings: EvalConfig,
                     experiment: Experiment) -> Evaluation | NoEvaluation:
    """Scoring during training, or none when `eval.every=0` turns it off."""
    if settings.every == 0:
        if settings.objective in SCORE_NAMES:
            log.warning(f"eval.every=0: no evaluation, so this run returns no "
                        f"eval.objective={settings.objective} (a sweeper needs eval.every > 0 "
                        "or eval.objective=final_loss_g/final_loss_d)")
        return NoEvaluation()
    started = time.perf_counter()
    device = experiment.device
    evaluator = build_evaluator(build_source(cfg.dataset), device, settings.batch_size)
    z = evaluation_noise(settings.n, experiment.generator.noise_dim, settings.seed, device)
    real = evaluator.score(real_subset(experiment.images, settings.n, settings.seed))
    return Evaluation(evaluator, z, real, settings.every, time.perf_counter() - started)


def build_step(cfg: DictConfig, device: torch.device,
               cuda_graph: bool = True) -> AdversarialStep | CudaGraphStep:
    """Networks, optimizers and loss joined in the configured step, on the fast path: fused
    optimizers, channels-last networks and, on CUDA (unless `cuda_graph` is off), replay."""
    optimizer = _instantiate(cfg.optimizer)  # a partial: completed with each network's parameters
    make_step = _instantiate(cfg.step)  # a partial: completed with everything it updates
    capture = cuda_graph and device.type == "cuda" and _capturable(make_step, optimizer)
    remedies, lr = build_remedies(cfg), learning_rates(cfg)
    generator = fast_layout(build_generator(cfg, device), device)
    discriminator = _instantiate(cfg.discriminator).to(device)
    for remedy in remedies:
        discriminator = remedy.discriminator(discriminator)
    discriminator = fast_layout(discriminator, device)
    step = make_step(
        generator=generator, discriminator=discriminator, loss=_instantiate(cfg.loss),
        g_optimizer=fast_optimizer(partial(optimizer, lr=lr.generator),
                                   generator.parameters(), capture),
        d_optimizer=fast_optimizer(partial(optimizer, lr=lr.discriminator),
                                   discriminator.parameters(), capture),
        remedies=remedies, d_steps=max([1, *(r.d_steps for r in remedies)]),
        g_steps=max([1, *(r.g_steps for r in remedies)]))
    for remedy in remedies:
        remedy.attach(step)
    return CudaGraphStep(step, device) if capture else step


def build_remedies(cfg: DictConfig) -> list[Remedy]:
    """The selected remedies that act through an object (batch norm and label smoothing act
    through the network and loss settings their config files set)."""
    nodes = (OmegaConf.select(cfg, "remedy", default=None) or {}).values()
    return [_instantiate(node) for node in nodes if "_target_" in node]


def _capturable(make_step: Callable[..., AdversarialStep],
                make_optimizer: Callable[..., torch.optim.Optimizer]) -> bool:
    """Whether the step and the optimizer config allow capture; if not, say why in the log."""
    step_class = getattr(make_step, "func", make_step)
    if not getattr(step_class, "capturable", True):
        log.info(f"{step_class.__name__} is not capturable: eager steps on CUDA")
        return False
    if getattr(make_optimizer, "keywords", {}).get("capturable") is False:
        log.info("optimizer.capturable=false: eager steps on CUDA")
        return False
    return True


def build(cfg: DictConfig, device: torch.device) -> Experiment:
    """The step (see `build_step`) and the device-resident training images."""
    step = build_step(cfg, device, cuda_graph=train_settings(cfg).cuda_graph)
    sampler = next((s for r in step.remedies if (s := r.sampler()) is not None), None)
    return Experiment(step=step, images=build_source(cfg.dataset).images(device),
                      sampler=sampler)


def run(cfg: DictConfig, run_dir: Path, threads: int = 0,
        hparams: dict[str, HParam] | None = None) -> dict[str, Any]:
    """The composition root: settings, seed, objects, then the training loop into run_dir.
    `threads` applies where `train.threads` is 0 (a launcher's share of the cores); `hparams`
    default to `hyperparameters(cfg)`."""
    started = time.perf_counter()
    settings, evaluation_settings = train_settings(cfg), eval_settings(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    if threads and not settings.threads:  # a launcher's share: saved, so a resume uses it too
        cfg.train.threads = settings.threads = threads
    # The config with every interpolation (data root, ...) resolved, beside Hydra's raw copy.
    write_atomically(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    torch.manual_seed(settings.seed)
    configure_process(settings.threads)  # process-wide: this process is the run
    device = resolve_device(settings.device)
    checkpoint = (None if cfg.get("resume") is None else  # continue it (gan.saved.resumed_config)
                  read_checkpoint(Path(cfg.resume) / CHECKPOINT_NAME, device, RESUME_KEYS))
    experiment = build(cfg, device)
    evaluation = build_evaluation(cfg, evaluation_settings, experiment)
    return train(experiment, settings, run_dir, started, evaluation,
                 hyperparameters(cfg) if hparams is None else hparams, checkpoint)


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
