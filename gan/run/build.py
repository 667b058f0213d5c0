"""The one place where config becomes objects (every `hydra.utils.instantiate` call lives here).

Nothing here trains: `gan.run.loop` joins these objects to the loop, and the commands
(`gan.sample`, `gan.evaluate`) build a saved run's generator with the same functions.
"""

import inspect
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf

from gan.core.conditioning import Conditioning
from gan.core.networks import Discriminator, Generator
from gan.core.objective import Objective
from gan.core.remedies import Remedy
from gan.core.step import AdversarialStep
from gan.errors import ConfigError, UserError, first_line
from gan.metrics.names import CONDITIONAL_SCORES, SCORE_NAMES
from gan.run.acceleration import CudaGraphStep, fast_layout, fast_optimizer
from gan.run.config import RETIRED_CLASSES, LearningRates, missing_option, remedy_followed
from gan.run.data import Scorer, Source

log = logging.getLogger(__name__)


def _instantiate(node: DictConfig, **kwargs: Any) -> Any:
    """`instantiate`, letting our own user-facing errors through unwrapped."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        if isinstance(error.__cause__, UserError):
            raise error.__cause__ from None
        raise


def build_source(dataset: DictConfig) -> Source:
    """Where a dataset lives and how to read it (nothing is loaded yet)."""
    return _instantiate(dataset)


# The networks made for a sample shape other than 28 x 28 grey images, for the refusal's hint.
NETWORKS_FOR = {(2,): "generator=mlp discriminator=maxout",
                (3, 28, 28): "generator=unrolled_dcgan discriminator=unrolled_dcgan"}


def check_shapes(cfg: DictConfig, source: Source) -> None:
    """Refuse, in one line, a network whose `image_shape` is not the dataset's sample shape (a
    28 x 28 network on 2D points, a grey one on three channels), and an image augmentation of
    samples that are no images. A network config without `image_shape` is not checked here."""
    for part in ("generator", "discriminator"):
        shape = OmegaConf.select(cfg, f"{part}.image_shape", default=None)
        if shape is None or tuple(shape) == source.shape:
            continue
        hint = NETWORKS_FOR.get(source.shape, f"{part}.image_shape={list(source.shape)}")
        raise ConfigError(f"{part} {cfg[part]._target_} takes samples of shape {tuple(shape)}, "
                          f"but dataset {source.name} has samples of shape {source.shape}: "
                          f"choose networks made for it ({hint})")
    augment = OmegaConf.select(cfg, "discriminator.augment", default=None)
    if augment is not None and len(source.shape) != 3:  # DiffAugment shifts and cuts (C, H, W)
        raise ConfigError(f"remedy=diff_augment augments images (C, H, W); dataset {source.name} "
                          f"has samples of shape {source.shape}")


def build_remedies(cfg: DictConfig) -> dict[str, Remedy]:
    """The selected remedies that are objects, by name: every node of the `remedy` group with a
    `_target_` names its class; a node without one holds a preset's settings, which the parts
    read (conf/remedy/label_smoothing.yaml: `loss.real_target`)."""
    remedies = {}
    for name, node in (OmegaConf.select(cfg, "remedy", default=None) or {}).items():
        if not isinstance(node, DictConfig) or "_target_" not in node:
            continue
        if node._target_ in RETIRED_CLASSES:  # a config written by hand before they went
            preset = RETIRED_CLASSES[node._target_][0]
            raise ConfigError(f"remedy.{name}: {node._target_} is no class any more; select "
                              f"the preset remedy=[...,{preset}] (conf/remedy/{preset}.yaml), "
                              "whose settings are the same")
        remedies[name] = _instantiate(node)
        if not isinstance(remedies[name], Remedy):
            raise ConfigError(f"remedy.{name}: {node._target_} is not a "
                              "gan.core.remedies.Remedy")
    return remedies


def build_part(cfg: DictConfig, part: str, **overrides: Any) -> Any:
    """A generator, discriminator or loss from its config node (with `overrides` of its
    arguments); a constructor that does not take an option a remedy preset sets refuses the
    remedy in one line, naming the option."""
    node = cfg[part]
    followed = {option: remedy for option in node
                if (remedy := remedy_followed(node, option)) is not None}
    accepted = _arguments(node) if followed else None
    for option, remedy in followed.items():
        if accepted is not None and option not in accepted:
            raise ConfigError(missing_option(remedy, part, option, node._target_))
    return _instantiate(node, **overrides)


def _arguments(node: DictConfig) -> set[str] | None:
    """The keyword arguments a node's `_target_` takes (None: any, it has **kwargs)."""
    try:
        parameters = inspect.signature(get_object(node._target_)).parameters.values()
    except Exception as error:  # no such module or name, or not a callable
        raise ConfigError(f"cannot build {node._target_}: {first_line(error)}") from None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def build_conditioning(cfg: DictConfig) -> Conditioning | None:
    """How labels condition the networks (`conditioning=concat|acgan|projection`), or None
    (`conditioning=none`, the default)."""
    node = OmegaConf.select(cfg, "conditioning", default=None)
    if not isinstance(node, DictConfig) or "_target_" not in node:
        return None
    conditioning = _instantiate(node)
    if not isinstance(conditioning, Conditioning):
        raise ConfigError(f"conditioning: {node._target_} is not a "
                          "gan.core.conditioning.Conditioning")
    return conditioning


def unmeasured_objective(cfg: DictConfig) -> str | None:
    """Why `eval.objective` names a score this run's dataset never measures (`fid` on ring8,
    `intra_fid` on a conditional Stacked MNIST run), or None. Asked where the objective was
    set on purpose (a run left at the default is kept by its scorer's own objective,
    `gan.run.evaluation.Evaluation`) or a search needs it from every trial. Builds nothing but
    the dataset's description; None where that cannot be built (the run says why itself), where
    the dataset does not say what it measures (`measures`), or where a conditional run's dataset
    has no labels (refused for that)."""
    objective = cfg.eval.objective
    if objective not in (*SCORE_NAMES, *CONDITIONAL_SCORES):  # a final loss: every run has it
        return None
    try:
        source = build_source(cfg.dataset)
    except UserError:
        return None
    conditioning = OmegaConf.select(cfg, "conditioning", default=None)
    conditional = isinstance(conditioning, DictConfig) and "_target_" in conditioning
    if conditional and not getattr(source, "classes", 0):
        return None
    measured = getattr(source, "measures", None)
    if measured is None:
        return None
    measured = (*measured, *(getattr(source, "conditional_measures", ()) if conditional else ()))
    if objective in measured:
        return None
    run = f"{'a conditional' if conditional else 'a'} run on dataset {source.name}"
    return (f"eval.objective={objective} is never measured by {run}, which scores "
            f"{', '.join(measured)}; choose one of them (or a final loss)")


def labelled_source(cfg: DictConfig, conditioning: Conditioning) -> Source:
    """The dataset of a conditional run, refused in one line where it has no labels."""
    source = build_source(cfg.dataset)
    if not source.classes:
        raise ConfigError(f"conditioning={conditioning.name} needs labels from the dataset, "
                          f"and dataset {source.name} serves none (use dataset=mnist, "
                          "fashion_mnist or stacked_mnist)")
    return source


def build_generator(cfg: DictConfig, device: torch.device) -> Generator:
    """The generator alone (for sampling from a saved run), as its config and remedy presets
    shape it; a conditional run's takes z and the label (`ConditionalGenerator`)."""
    conditioning = build_conditioning(cfg)
    if conditioning is None:
        return build_part(cfg, "generator").to(device)
    classes = labelled_source(cfg, conditioning).classes
    noise_dim = cfg.generator.noise_dim
    generator = build_part(cfg, "generator",
                           noise_dim=conditioning.generator_input(noise_dim, classes))
    return conditioning.wrap_generator(generator, noise_dim, classes).to(device)


def build_discriminator(cfg: DictConfig, conditioning: Conditioning | None) -> Discriminator:
    """The discriminator (on the CPU), with a conditional run's label modules in place: a
    `concat` D is built for its wider input."""
    if conditioning is None:
        return build_part(cfg, "discriminator")
    source = labelled_source(cfg, conditioning)
    extra = conditioning.discriminator_channels(source.classes)
    overrides = {}
    if extra:
        shape = OmegaConf.select(cfg, "discriminator.image_shape", default=None)
        if shape is None:
            raise ConfigError(f"conditioning={conditioning.name} widens D's input, and "
                              f"discriminator {cfg.discriminator._target_} has no image_shape")
        overrides["image_shape"] = [shape[0] + extra, *shape[1:]]
    discriminator = build_part(cfg, "discriminator", **overrides)
    conditioning.attach(discriminator, source.classes, source.shape)
    return discriminator


def conditioning_of(adversarial: AdversarialStep | CudaGraphStep) -> Conditioning | None:
    """A built step's conditioning (a term of its objective), or None."""
    return next((term for term in adversarial.objective.terms
                 if isinstance(term, Conditioning)), None)


def build_evaluator(source: Source, device: torch.device, batch_size: int,
                    seed: int = 0) -> Scorer:
    """What scores the dataset's samples (`Source.scorer`: for images, the shipped classifier
    with the statistics of its real test set; `seed` orders the test images that precision and
    recall compare with fewer samples)."""
    return source.scorer(device, batch_size, seed)


def learning_rates(cfg: DictConfig) -> LearningRates:
    """Each network's learning rate; `LearningRates.__post_init__` refuses impossible ones."""
    return OmegaConf.to_object(cfg.lr)


def build_step(cfg: DictConfig, device: torch.device,
               cuda_graph: bool = True) -> AdversarialStep | CudaGraphStep:
    """Networks, optimizers and objective joined in the configured step, on the fast path: fused
    optimizers, channels-last networks and, on CUDA (unless `cuda_graph` is off), replay."""
    optimizer = _instantiate(cfg.optimizer)  # a partial: completed with each network's parameters
    make_step = _instantiate(cfg.step)  # a partial: completed with everything it updates
    capture = cuda_graph and device.type == "cuda" and _capturable(make_step, optimizer)
    remedies, lr = list(build_remedies(cfg).values()), learning_rates(cfg)
    conditioning = build_conditioning(cfg)
    generator = fast_layout(build_generator(cfg, device), device)
    discriminator = fast_layout(build_discriminator(cfg, conditioning).to(device), device)
    for remedy in remedies:
        remedy.attach(generator, discriminator)
    if conditioning is not None:
        conditioning.check_terms(remedies)
    terms = remedies if conditioning is None else [conditioning, *remedies]
    adversarial = make_step(
        generator=generator, discriminator=discriminator,
        objective=Objective(build_part(cfg, "loss"), terms),
        g_optimizer=fast_optimizer(partial(optimizer, lr=lr.generator),
                                   generator.parameters(), capture),
        d_optimizer=fast_optimizer(partial(optimizer, lr=lr.discriminator),
                                   discriminator.parameters(), capture),
        remedies=remedies)
    return CudaGraphStep(adversarial, device) if capture else adversarial


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
