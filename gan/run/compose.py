"""The composition root of a run: typed settings, the seed, the objects (`gan.run.build`), then
the training loop into the run directory."""

import logging
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from gan.metrics.evaluator import evaluation_noise, real_subset
from gan.run.acceleration import configure_process, threads_for_now
from gan.run.build import build_evaluator, build_source, build_step
from gan.run.checkpoint import CHECKPOINT_NAME, RESUME_KEYS, read_checkpoint
from gan.run.config import EvalConfig, TrainConfig, absolute
from gan.run.data import check_batch_size
from gan.run.device import resolve_device
from gan.run.evaluation import Evaluation, NoEvaluation
from gan.run.files import write_atomically
from gan.run.hparams import HParam, hyperparameters
from gan.run.loop import train
from gan.run.setup import TrainingSetup
from gan.run.sole_writer import sole_writer

log = logging.getLogger(__name__)


def train_settings(cfg: DictConfig) -> TrainConfig:
    """The typed loop settings; `TrainConfig.__post_init__` refuses impossible values."""
    return OmegaConf.to_object(cfg.train)


def eval_settings(cfg: DictConfig) -> EvalConfig:
    """The typed evaluation settings, checked the same way."""
    return OmegaConf.to_object(cfg.eval)


def build_setup(cfg: DictConfig, device: torch.device, images: torch.Tensor | None = None,
                cuda_graph: bool = True) -> TrainingSetup:
    """The step (see `gan.run.build.build_step`) and the device-resident training images (those
    given: stacked runs share one copy); `cuda_graph` false keeps the step eager."""
    cuda_graph = cuda_graph and train_settings(cfg).cuda_graph
    adversarial = build_step(cfg, device, cuda_graph=cuda_graph)
    sampler = next((s for r in adversarial.remedies if (s := r.sampler()) is not None), None)
    images = build_source(cfg.dataset).images(device) if images is None else images
    return TrainingSetup(adversarial=adversarial, images=images, sampler=sampler)


def settle(cfg: DictConfig, run_dir: Path, threads: int) -> tuple[TrainConfig, EvalConfig]:
    """The typed settings; the run directory made; where `train.threads` is 0, a launcher's
    share of the cores or as many as other work leaves free (`threads_for_now`), and the
    absolute data root, written into cfg, as config.yaml keeps them for `gan.evaluate` and
    resume."""
    settings, evaluation_settings = train_settings(cfg), eval_settings(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not settings.threads:  # saved, so a resume computes with as many (rounding)
        # A launcher's share of the cores, else as many as other work leaves free now.
        cfg.train.threads = settings.threads = threads or threads_for_now()
    # The data root the user meant, wherever the job runs (hydra.job.chdir).
    cfg.dataset.root = str(absolute(cfg.dataset.root))
    return settings, evaluation_settings


def build_evaluation(cfg: DictConfig, settings: EvalConfig,
                     setup: TrainingSetup) -> Evaluation | NoEvaluation:
    """Scoring during training, or none when `eval.every=0` turns it off (a search that needs
    a score from every trial refuses that before its first: `EvalConfig.unreachable_objective`)."""
    if settings.every == 0:
        return NoEvaluation()
    started = time.perf_counter()
    device = setup.device
    evaluator = build_evaluator(build_source(cfg.dataset), device, settings.batch_size,
                                settings.seed)
    z = evaluation_noise(settings.n, setup.generator.noise_dim, settings.seed, device)
    real = evaluator.score(real_subset(setup.images, settings.n, settings.seed))
    return Evaluation(evaluator, z, real, settings.every, time.perf_counter() - started,
                      objective=settings.objective)


def run(cfg: DictConfig, run_dir: Path, threads: int = 0,
        hparams: dict[str, HParam] | None = None) -> dict[str, Any]:
    """Settings, seed, objects, then the training loop into run_dir; returns the metrics.
    `threads` applies where `train.threads` is 0 (a launcher's share of the cores); `hparams`
    default to `hyperparameters(cfg)`. Waits while another process trains into run_dir
    (`gan.run.sole_writer`)."""
    started = time.perf_counter()
    with sole_writer(run_dir):  # before the checkpoint is read: the last writer's, complete
        return train_into(cfg, run_dir, threads, hparams, started)


def train_into(cfg: DictConfig, run_dir: Path, threads: int, hparams: dict[str, HParam] | None,
               started: float) -> dict[str, Any]:
    """`run`'s work, once this process is run_dir's only writer."""
    settings, evaluation_settings = settle(cfg, run_dir, threads)
    torch.manual_seed(settings.seed)
    configure_process(settings.threads)  # process-wide: this process is the run
    device = resolve_device(settings.device)
    checkpoint = (None if cfg.get("resume") is None else  # continue it (gan.run.saved)
                  read_checkpoint(Path(cfg.resume) / CHECKPOINT_NAME, device, RESUME_KEYS))
    setup = build_setup(cfg, device)
    check_batch_size(settings.batch_size * setup.adversarial.real_batches, len(setup.images))
    log.info(f"Run directory: {run_dir}")  # once the data is found and the networks built
    evaluation = build_evaluation(cfg, evaluation_settings, setup)
    # The config with every interpolation (data root, ...) resolved, beside Hydra's raw copy,
    # written once the run can start (a refused one leaves an existing run's as it was).
    write_atomically(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    return train(setup, settings, run_dir, started, evaluation,
                 hyperparameters(cfg) if hparams is None else hparams, checkpoint)
