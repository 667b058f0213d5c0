"""The composed config checked before anything runs: every key is one that something reads,
and every typed value has its type, reported at the key the user wrote."""

import copy
import difflib
import inspect
from dataclasses import fields
from typing import Any

from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from gan.errors import ConfigError
from gan.run.config import (
    CONF_DIR,
    Config,
    EvalConfig,
    LearningRates,
    TrainConfig,
    options,
)
from gan.run.presets import (
    GROUPS,
    interpolation_source,
    missing_option,
    out_of_range,
    preset_conflict,
    preset_selected,
    remedy_followed,
)

TYPED = {"train": TrainConfig, "eval": EvalConfig, "lr": LearningRates}
SPECIAL = ("_target_", "_partial_", "_recursive_", "_convert_", "_args_")  # Hydra's own keys


def check_config(cfg: DictConfig) -> None:
    """Refuse, in one line, a key that no schema or constructor declares (naming the closest
    valid key, or the remedy that set it), a remedy preset's setting that the config sets
    otherwise, and a typed value of the wrong type or range (naming the key the user set)."""
    refusal = preset_conflict(cfg) or out_of_range(cfg)
    if refusal is not None:
        raise ConfigError(refusal)
    valid = valid_keys(cfg)
    for key in sorted(all_keys(cfg)):
        if key not in valid:
            raise ConfigError(unread_key(cfg, key, valid))
    for group, schema in TYPED.items():
        _check_typed(cfg, group, schema)


def unread_key(cfg: DictConfig, key: str, valid: set[str]) -> str:
    """Why nothing reads `key` in cfg, in one line: its remedy is not selected, it is a setting
    of other options of its group, or it is no setting at all (naming the closest valid key)."""
    reason = (_missing_option(cfg, key) or _unselected_remedy(cfg, key)
              or _of_other_options(cfg, key))
    if reason is not None:
        return reason
    close = closest(key, valid)
    hint = f" (did you mean {close}?)" if close else ""
    return f"{key} is not a setting gan-lab reads{hint}"


def added_key_refusal(cfg: DictConfig, key: str) -> str | None:
    """What `check_config` would say of `+key=...` added to cfg, a config Hydra could not set
    `key` in: None where something would read it (adding it with `+` is then the way), else
    why not. Hydra's own keys (hydra.*) are Hydra's to judge: None."""
    if key.split(".")[0] == "hydra":
        return None
    added = copy.deepcopy(cfg)
    try:
        OmegaConf.update(added, key, None, force_add=True)
    except OmegaConfBaseException:  # under a value, say (train.steps.x): Hydra's line stands
        return None
    valid = valid_keys(added)
    return None if key in valid else unread_key(added, key, valid)


def settings_not_value(key: str, value: str) -> str | None:
    """The line that refuses `key=value` where key holds typed settings (lr, train, eval), not
    one value, naming them and, where they all follow one key (lr: optimizer.lr), that key;
    None for any other key."""
    schema = TYPED.get(key)
    if schema is None:
        return None
    names = [f"{key}.{item.name}" for item in fields(schema)]
    listed = ", ".join(names) if len(names) <= 4 else f"{', '.join(names[:3])}, ..."
    followed = {str(item.default)[2:-1] for item in fields(schema)
                if str(item.default).startswith("${")}
    refusal = (f"{key} is a group of settings ({listed}), not one value: set one of them, as "
               f"{names[0]}={value}")
    if len(followed) == 1:  # lr.*: each follows optimizer.lr unless set
        return f"{refusal}, or {followed.pop()}={value}, which they all follow unless set"
    return refusal


def _unselected_remedy(cfg: DictConfig, key: str) -> str | None:
    """The refusal of a setting of a remedy that is not selected (`+remedy.balance.d_steps=2`
    without remedy=balance), saying how to select it; None for any other key."""
    group, _, rest = key.partition(".")
    name = rest.split(".")[0]
    node = OmegaConf.select(cfg, f"remedy.{name}", throw_on_resolution_failure=False)
    if (group == "remedy" and name in options("remedy") and "_target_" not in (node or {})
            and not preset_selected(cfg, name)):
        return (f"{key}: remedy {name} is not selected; add it with remedy=[...,{name}] (its "
                f"settings are then remedy.{name}.*)")
    return None


def _missing_option(cfg: DictConfig, key: str) -> str | None:
    """The refusal of a part's option that a remedy preset sets (loss.real_target, set by
    remedy=label_smoothing) where the part's class does not take it; None for any other key."""
    part, _, option = key.partition(".")
    node = cfg.get(part) if part in GROUPS else None
    if not isinstance(node, DictConfig) or "." in option or option not in node:
        return None
    remedy = remedy_followed(node, option)
    if remedy is None:
        return None
    return missing_option(remedy, part, option, node.get("_target_"))


def _of_other_options(cfg: DictConfig, key: str) -> str | None:
    """The refusal of a key that only other options of its config group have
    (`discriminator.filters` with discriminator=fc: only cnn has filters), naming the options
    that have it and those that do not; None where no option has it. An option has a key where
    its YAML file sets it or its class takes it as an argument."""
    group, _, rest = key.partition(".")
    if group not in GROUPS or not rest:
        return None
    node = cfg.get(group)
    selected = node.get("_target_") if isinstance(node, DictConfig) else None
    having, lacking = [], []
    for option in options(group):
        yaml = OmegaConf.load(CONF_DIR / group / f"{option}.yaml")
        target = yaml.get("_target_")
        arguments = (_arguments(target) if target else None) or set()
        has = OmegaConf.select(yaml, rest, default=None) is not None or rest in arguments
        name = f"{option} (selected)" if target is not None and target == selected else option
        (having if has else lacking).append(name)
    if not having or not lacking:  # every option has it: not why this one is refused
        return None
    return (f"{key} is a setting of {group}={' and '.join(having)}, not of "
            f"{group}={' or '.join(lacking)}")


def closest(key: str, valid: set[str]) -> str | None:
    """The valid key most like `key`: a sibling with a similar name, else a key elsewhere with
    a similar name (eval.n_samples -> train.n_samples); None when nothing is close."""
    parent, _, leaf = key.rpartition(".")
    siblings = {k.rpartition(".")[2]: k for k in valid if k.rpartition(".")[0] == parent}
    by_leaf = {}
    for k in sorted(valid, key=len, reverse=True):  # the shortest path wins a tie
        by_leaf[k.rpartition(".")[2]] = k
    for names, cutoff in ((siblings, 0.5), (by_leaf, 0.8)):
        match = difflib.get_close_matches(leaf, sorted(names), n=1, cutoff=cutoff)
        if match:
            return names[match[0]]
    return None


def all_keys(cfg: DictConfig, prefix: str = "") -> set[str]:
    """Every key of the config, as dotted paths, down to the leaves and the nodes with a class."""
    keys = set()
    for key in cfg:
        path, child = f"{prefix}{key}", cfg._get_node(key)
        keys.add(path)
        if isinstance(child, DictConfig) and not child._is_none():
            keys |= all_keys(child, f"{path}.")
    return keys


def valid_keys(cfg: DictConfig) -> set[str]:
    """The keys something reads: the schema's fields, each node's class's arguments (with its
    own nested classes), and every key under a node whose class takes **kwargs."""
    valid = {item.name for item in fields(Config)}
    valid |= {f"{group}.{item.name}" for group, schema in TYPED.items() for item in fields(schema)}
    for group in GROUPS:
        valid |= _class_keys(cfg, group)
    for name in (cfg.get("remedy") or {}):
        valid |= {f"remedy.{name}"} | _class_keys(cfg, f"remedy.{name}")
        if "_target_" not in cfg.remedy[name] and preset_selected(cfg, name):
            valid |= all_keys(cfg.remedy[name], f"remedy.{name}.")  # read by the parts
    return valid


def _class_keys(cfg: DictConfig, path: str) -> set[str]:
    """The keys under a node with a `_target_` that its class or function takes."""
    node = OmegaConf.select(cfg, path, throw_on_resolution_failure=False)
    if not isinstance(node, DictConfig) or "_target_" not in node:
        return set()
    accepted = _arguments(node._target_)
    keys = {f"{path}.{key}" for key in SPECIAL}
    for key in node:
        if accepted is None or key in accepted:
            keys.add(f"{path}.{key}")
            keys |= _class_keys(cfg, f"{path}.{key}")
            if accepted is None:  # **kwargs: anything below is passed on
                keys |= {f"{path}.{sub}" for sub in all_keys(node)}
    return keys


def _arguments(target: str) -> set[str] | None:
    """The argument names a `_target_` takes; None where it takes **kwargs or cannot be looked
    up (building it then says what is wrong)."""
    try:
        parameters = inspect.signature(get_object(target)).parameters.values()
    except Exception:  # no such module or name: the builder reports it in one line
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def _check_typed(cfg: DictConfig, group: str, schema: type) -> object:
    """The group as its dataclass; a wrong type names the key that holds the value, the one
    an interpolation (lr.generator: ${optimizer.lr}) points at where there is one."""
    node = cfg[group]
    for item in fields(schema):
        source = interpolation_source(node, item.name) or f"{group}.{item.name}"
        follows = "" if source == f"{group}.{item.name}" else (
            f" ({group}.{item.name} follows it unless set)")
        try:
            value = node[item.name]
        except OmegaConfBaseException:
            raw = OmegaConf.select(node._get_root(), source, throw_on_resolution_failure=False)
            raise ConfigError(f"{source} must be {_type_name(item.type)}, got {raw!r}"
                              f"{follows}") from None
        if follows and group == "lr" and not 0 < value < float("inf"):
            raise ConfigError(f"{source} must be positive and finite, got {value}{follows}")
    return OmegaConf.to_object(node)


def _type_name(kind: Any) -> str:
    """'an int', 'a float', 'a string', 'true or false' for a field's type."""
    names = {int: "an int", float: "a float", str: "a string", bool: "true or false"}
    return names.get(kind, f"a {getattr(kind, '__name__', kind)}")
