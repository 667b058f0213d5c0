"""Remedy presets: conf/remedy/<name>.yaml files (`# @package _global_`) that set an option of
another part (the loss's `real_target`, D's `packing`, the step's `d_steps`) to follow their own
settings, `remedy.<name>.*`. What the checks and the builder ask of them: which remedy a
part's value follows, whether a preset is selected, and what the config sets otherwise."""

from typing import Any

from omegaconf import DictConfig, OmegaConf

from gan.run.config import CONF_DIR

GROUPS = ("generator", "discriminator", "optimizer", "dataset", "loss", "step")  # one class each
_ABSENT = object()  # OmegaConf.select's default where a key is not there


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
