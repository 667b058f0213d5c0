"""Remedy presets: conf/remedy/<name>.yaml files (`# @package _global_`) that set an option of
another part (the loss's `real_target`, D's `packing`, the step's `d_steps`) to follow their own
settings, `remedy.<name>.*`. What the checks and the builder ask of them: which remedy a
part's value follows, whether a preset is selected, and what the config sets otherwise."""

from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from gan.run.config import CONF_DIR

GROUPS = ("generator", "discriminator", "optimizer", "dataset", "loss", "step")  # one class each
_ABSENT = object()  # OmegaConf.select's default where a key is not there
# The shipped presets' settings that have a range narrower than their part's option: the
# loss takes any real target, a smoothed one is below 1; D takes packing 1, which packs nothing.
RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "remedy.label_smoothing.real_target": (lambda value: 0.0 < value <= 1.0, "in (0, 1]"),
    "remedy.packing.samples": (lambda value: value >= 2, ">= 2"),
    "remedy.balance.d_steps": (lambda value: value >= 1, ">= 1"),
    "remedy.balance.g_steps": (lambda value: value >= 1, ">= 1"),
}


def missing_option(remedy: str, part: str, option: str, target: str) -> str:
    """The one line that refuses a remedy whose part lacks the option it sets."""
    return (f"remedy={remedy} needs the {part}'s {option} option, which {part} {target} does "
            "not have")


def remedy_followed(node: DictConfig, key: str) -> str | None:
    """The remedy whose setting node[key], or the first value below it, follows
    (`label_smoothing` for `real_target: ${remedy.label_smoothing.real_target}`, as a preset
    writes it); None where none does (a value set directly, or a saved config, whose values
    are resolved)."""
    return next(iter(remedies_followed(node, key)), None)


def remedies_followed(node: DictConfig, key: str) -> list[str]:
    """Every remedy whose settings node[key] or the values below it follow, in order."""
    source = interpolation_source(node, key)
    if source is not None and source.startswith("remedy."):
        return [source.split(".")[1]]
    child = node._get_node(key)
    if not isinstance(child, DictConfig) or child._is_none():
        return []
    return [name for sub in child for name in remedies_followed(child, sub)]


def preset_file(name: str) -> DictConfig | None:
    """conf/remedy/<name>.yaml where it is a preset (it sets other parts: `_global_`), else
    None (a remedy class, or a preset from another config folder)."""
    path = CONF_DIR / "remedy" / f"{name}.yaml"
    if not path.is_file():
        return None
    preset = OmegaConf.load(path)
    return preset if "remedy" in preset else None


def preset_settings(preset: DictConfig) -> dict[str, Any]:
    """Each value a preset sets outside `remedy`, by key (`loss.real_target`), as written
    (`${remedy.label_smoothing.real_target}`)."""
    settings = {}
    for key in _leaves(preset):
        if key.split(".")[0] not in ("remedy", "defaults"):
            parent, _, leaf = key.rpartition(".")
            settings[key] = OmegaConf.select(preset, parent)._get_node(leaf)._value()
    return settings


def preset_selected(cfg: DictConfig, name: str) -> bool:
    """Whether the remedy preset `name` is part of cfg: a value of another part follows one of
    its settings, or (a shipped preset) every key it sets is there."""
    if any(name in remedies_followed(cfg, part) for part in GROUPS if part in cfg):
        return True
    preset = preset_file(name)
    return preset is not None and all(
        OmegaConf.select(cfg, key, default=_ABSENT, throw_on_resolution_failure=False)
        is not _ABSENT for key in preset_settings(preset))


def preset_conflict(cfg: DictConfig) -> str | None:
    """The refusal of a value that the config sets otherwise than a selected remedy preset
    does (`loss.real_target=0.8` with remedy=label_smoothing, which sets 0.9): the preset's
    setting would be silently unused. None where there is none."""
    for name, node in (cfg.get("remedy") or {}).items():
        preset = preset_file(name)
        if preset is None or "_target_" in node or not preset_selected(cfg, name):
            continue
        for key, written in preset_settings(preset).items():
            source = str(written)[2:-1] if str(written).startswith("${") else None
            wanted = written if source is None else OmegaConf.select(cfg, source, default=None)
            actual = OmegaConf.select(cfg, key, default=None)
            if actual != wanted:
                return (f"remedy={name} sets {key}={wanted!r}, but the config sets "
                        f"{key}={actual!r}; drop one of them")
    return None


def out_of_range(cfg: DictConfig) -> str | None:
    """The refusal of a selected preset's setting outside its range (`RANGES`), naming the
    setting; None where every one is in range."""
    for key, (allowed, rule) in RANGES.items():
        name = key.split(".")[1]
        value = OmegaConf.select(cfg, key, default=None)
        if value is None or not preset_selected(cfg, name):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{key} must be a number {rule}, got {value!r}"
        if not allowed(value):
            return f"{key} must be {rule}, got {value}"
    return None


def interpolation_source(node: DictConfig, key: str) -> str | None:
    """The key an interpolation `${a.b}` at node[key] refers to, if it is one."""
    if not OmegaConf.is_interpolation(node, key):
        return None
    text = str(node._get_node(key)._value())
    return text[2:-1] if text.startswith("${") and text.endswith("}") else None


def _leaves(cfg: DictConfig, prefix: str = "") -> list[str]:
    """The dotted keys of cfg's values that are not mappings."""
    keys = []
    for key in cfg:
        child = cfg._get_node(key)
        if isinstance(child, DictConfig) and not child._is_none():
            keys += _leaves(child, f"{prefix}{key}.")
        else:
            keys.append(f"{prefix}{key}")
    return keys


def _label_smoothing(cfg: DictConfig, node: DictConfig) -> None:
    """The loss's real_target."""
    cfg.loss.real_target = node.get("real_target", 0.9)


def _balance(cfg: DictConfig, node: DictConfig) -> None:
    """The step's D and G updates per call."""
    cfg.step.d_steps, cfg.step.g_steps = node.get("d_steps", 1), node.get("g_steps", 1)


def _batch_norm(cfg: DictConfig, node: DictConfig) -> None:
    """batch_norm for each network it was on for."""
    for network in ("generator", "discriminator"):
        if node.get(network, True):
            cfg[network].batch_norm = True


def _packing(cfg: DictConfig, node: DictConfig) -> None:
    """D's packing."""
    cfg.discriminator.packing = node.get("samples", 2)


def _diff_augment(cfg: DictConfig, node: DictConfig) -> None:
    """D's augmentation."""
    cfg.discriminator.augment = {"_target_": "gan.core.remedies.DiffAugmentLayer",
                                 "translation": node.get("translation", 0.125),
                                 "cutout": node.get("cutout", 0.5)}


def _minibatch_discrimination(cfg: DictConfig, node: DictConfig) -> None:
    """D's minibatch layer."""
    cfg.discriminator.batch_layer = {"_target_": "gan.core.remedies.minibatch_layer",
                                     "_partial_": True, "kind": node.get("kind", "learned"),
                                     "kernels": node.get("kernels", 50),
                                     "dims": node.get("dims", 5)}


# The remedy classes that only set an option of another part, now presets: each class with its
# preset's name and what the preset sets (runs written while they were classes name them as
# `_target_`; `gan.run.saved.upgraded` reads those configs in today's terms).
RETIRED_CLASSES: dict[str, tuple[str, Callable[[DictConfig, DictConfig], None]]] = {
    "gan.core.remedies.LabelSmoothing": ("label_smoothing", _label_smoothing),
    "gan.core.remedies.Balance": ("balance", _balance),
    "gan.core.remedies.BatchNorm": ("batch_norm", _batch_norm),
    "gan.core.remedies.Packing": ("packing", _packing),
    "gan.core.remedies.DiffAugment": ("diff_augment", _diff_augment),
    "gan.core.remedies.MinibatchDiscrimination": ("minibatch_discrimination",
                                                  _minibatch_discrimination),
}
