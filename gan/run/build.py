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

from gan.core.networks import Discriminator, Generator
from gan.core.objective import Objective
from gan.core.remedies import PARTS, Remedy
from gan.core.step import AdversarialStep
from gan.errors import ConfigError, UserError, first_line
from gan.metrics.classifier import load_classifier
from gan.metrics.evaluator import Evaluator
from gan.run.acceleration import CudaGraphStep, fast_layout, fast_optimizer
from gan.run.config import LearningRates
from gan.run.data import ImageSource

log = logging.getLogger(__name__)
Options = dict[str, dict[str, tuple[str, Any]]]  # part -> option -> (remedy's name, value)


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


def build_remedies(cfg: DictConfig) -> dict[str, Remedy]:
    """The selected remedies by name; every node of the `remedy` group names its class."""
    remedies = {}
    for name, node in (OmegaConf.select(cfg, "remedy", default=None) or {}).items():
        if not isinstance(node, DictConfig) or "_target_" not in node:
            raise ConfigError(f"remedy.{name} is not a remedy: it has no _target_ (a subclass "
                              "of gan.core.remedies.Remedy)")
        remedies[name] = _instantiate(node)
        if not isinstance(remedies[name], Remedy):
            raise ConfigError(f"remedy.{name}: {node._target_} is not a "
                              "gan.core.remedies.Remedy")
    return remedies


def remedy_options(remedies: dict[str, Remedy]) -> Options:
    """What the remedies ask of each part's constructor; two asking one option differently
    are refused."""
    options: Options = {part: {} for part in PARTS}
    for name, remedy in remedies.items():
        for part, asked in remedy.options().items():
            if part not in options:
                raise ConfigError(f"remedy={name} asks an option of {part!r}; a remedy may ask "
                                  f"only the {', '.join(PARTS)}")
            for option, value in asked.items():
                other = options[part].get(option)
                if other is not None and other[1] != value:
                    raise ConfigError(f"remedy={name} and remedy={other[0]} set {part}'s "
                                      f"{option} differently ({value!r} and {other[1]!r})")
                options[part][option] = (name, value)
    return options


def build_part(cfg: DictConfig, part: str, options: Options) -> Any:
    """A generator, discriminator or loss from its config node with what the remedies ask of
    it; a constructor that does not take an option, or a value the config sets otherwise,
    refuses the remedy in one line, naming the option."""
    node, asked = cfg[part], options[part]
    accepted = _arguments(node) if asked else None
    for option, (remedy, value) in asked.items():
        if accepted is not None and option not in accepted:
            raise ConfigError(f"remedy={remedy} needs the {part}'s {option} option, which "
                              f"{part} {node._target_} does not have")
        if option in node and node[option] != value:
            raise ConfigError(f"remedy={remedy} sets {part}.{option}={value!r}, but the config "
                              f"sets {part}.{option}={node[option]!r}; drop one of them")
    return _instantiate(node, **{option: value for option, (_, value) in asked.items()})


def _arguments(node: DictConfig) -> set[str] | None:
    """The keyword arguments a node's `_target_` takes (None: any, it has **kwargs)."""
    try:
        parameters = inspect.signature(get_object(node._target_)).parameters.values()
    except Exception as error:  # no such module or name, or not a callable
        raise ConfigError(f"cannot build {node._target_}: {first_line(error)}") from None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def build_generator(cfg: DictConfig, device: torch.device,
                    options: Options | None = None) -> Generator:
    """The generator alone (for sampling from a saved run), as its remedies shape it."""
    options = remedy_options(build_remedies(cfg)) if options is None else options
    return build_part(cfg, "generator", options).to(device)


def build_evaluator(source: ImageSource, device: torch.device, batch_size: int,
                    seed: int = 0) -> Evaluator:
    """The dataset's shipped classifier, with the statistics of its real test set (`seed`
    orders the test images that precision and recall compare with fewer samples)."""
    classifier = load_classifier(source.name, device)
    return Evaluator(classifier, source.images(device, train=False), batch_size, seed)


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
    named, lr = build_remedies(cfg), learning_rates(cfg)
    remedies, options = list(named.values()), remedy_options(named)
    generator = fast_layout(build_generator(cfg, device, options), device)
    discriminator = _discriminator(cfg, device, options, remedies)
    for remedy in remedies:
        remedy.attach(generator, discriminator)
    adversarial = make_step(
        generator=generator, discriminator=discriminator,
        objective=Objective(build_part(cfg, "loss", options), remedies),
        g_optimizer=fast_optimizer(partial(optimizer, lr=lr.generator),
                                   generator.parameters(), capture),
        d_optimizer=fast_optimizer(partial(optimizer, lr=lr.discriminator),
                                   discriminator.parameters(), capture),
        remedies=remedies, d_steps=max([1, *(r.d_steps for r in remedies)]),
        g_steps=max([1, *(r.g_steps for r in remedies)]))
    return CudaGraphStep(adversarial, device) if capture else adversarial


def _discriminator(cfg: DictConfig, device: torch.device, options: Options,
                   remedies: list[Remedy]) -> Discriminator:
    """The discriminator with the remedies' layers, channels-last on the device."""
    discriminator = build_part(cfg, "discriminator", options).to(device)
    for remedy in remedies:
        discriminator = remedy.discriminator(discriminator)
    return fast_layout(discriminator, device)


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
