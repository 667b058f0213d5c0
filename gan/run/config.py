"""What a config may say: the typed schema of the composed config, registered in Hydra's
ConfigStore with the resolvers its paths use; then the composed config checked before anything
runs (`check_config`): every key is one that something reads, and every typed value has its
type, reported at the key the user wrote.

Remedy presets: conf/remedy/<name>.yaml files (`# @package _global_`) that set an option of
another part (the loss's `real_target`, D's `packing`, the step's `d_steps`) to follow their own
settings, `remedy.<name>.*`. What the checks and the builder ask of them: which remedy a
part's value follows, whether a preset is selected, and what the config sets otherwise."""

import copy
import difflib
import inspect
import math
import os
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_object
from omegaconf import II, MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from gan.errors import ConfigError, UserError
from gan.metrics.manifold import MIN_N
from gan.metrics.names import (
    CONDITIONAL_SCORES,
    FINAL_LOSSES,
    MANIFOLD,
    OBJECTIVES,
    SCORE_NAMES,
)
from gan.run.acceleration import check_device_name
from gan.run.data import DATA_ENV
from gan.run.directory import CHECKPOINT_NAME, is_sweep, job_dir_name, resume_command, run_files

CHECKOUT = Path(__file__).resolve().parents[2]  # the repository this package runs from
CONF_DIR = CHECKOUT / "conf"  # train.py's config groups, one folder each


def options(group: str) -> list[str]:
    """The options of a config group (its YAML files), e.g. options("remedy")."""
    return sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))


def absolute(path: str | Path) -> Path:
    """path against the directory the command was started from (Hydra's `hydra.job.chdir`
    moves the process into the run directory; a relative path still means the user's)."""
    start = HydraConfig.get().runtime.cwd if HydraConfig.initialized() else os.getcwd()
    return Path(os.path.abspath(Path(start, path)))  # symbolic links kept as written


def data_root(dataset: str) -> str:
    """Where a dataset is read from: $GAN_DATA_DIR when set, else the first of ./data and a
    `shared/data` folder beside the checkout that holds <dataset>/raw, else ./data (where
    torchvision downloads it). Always an absolute path."""
    if os.environ.get(DATA_ENV):
        return str(absolute(os.environ[DATA_ENV]))
    candidates = [absolute("data"), CHECKOUT.parent / "shared" / "data"]
    found = next((root for root in candidates if (root / dataset / "raw").is_dir()), None)
    return str(found or candidates[0])


def resumable_run_dir(resume: str | None, fresh: str, mode: Any = None) -> str:
    """hydra.run.dir: `fresh`, or with `resume=RUN_DIR` that run's directory (absolute, so it
    holds wherever the job then runs), refused before Hydra creates anything in it when it
    holds no run to continue, or is a sweep's directory (which `-m resume=` continues)."""
    if resume is None:
        return fresh
    path = absolute(resume)
    if is_sweep(path):
        if str(mode).endswith("MULTIRUN"):  # -m resume=SWEEP_DIR: each job finds its own
            return fresh
        raise UserError(f"resume={resume}: {path} is a sweep's directory, not a run's: continue "
                        f"the whole sweep with `{resume_command(path, sweep=True)}`, or one of "
                        f"its jobs with `{resume_command(path / 'JOB_DIR')}`")
    if not path.is_dir():
        raise UserError(f"resume={resume}: run directory {path} does not exist")
    if not (path / CHECKPOINT_NAME).is_file():
        raise UserError(f"resume={resume}: {path} has no {CHECKPOINT_NAME} to continue from")
    return str(path)


def hydra_subdir(resume: str | None, output_dir: str, stamp: str) -> str:
    """hydra.output_subdir: `.hydra`, or `.hydra/resumed-<stamp>` where a resume finds the
    run's first record there (a job a continued sweep starts anew gets `.hydra`). Hydra
    resolves it after making the run directory and before writing anything into it, so here a
    run that is not a resume refuses a directory that holds a run already (`refuse_used`)."""
    if resume is None:
        refuse_used(Path(output_dir))
    elif (Path(output_dir) / ".hydra" / "hydra.yaml").is_file():
        return f".hydra/resumed-{stamp}"
    return ".hydra"


def refuse_used(run_dir: Path) -> None:
    """Raise UserError where run_dir holds what a run wrote (`gan.run.directory.run_files`):
    a new run there would mix its files, checkpoint and TensorBoard curves with that run's.
    The message names the command that continues the run, where it can be continued."""
    found = run_files(run_dir)
    if not found:
        return
    if (run_dir / CHECKPOINT_NAME).is_file():
        advice = (f"continue it with `{resume_command(run_dir)}` (with a larger train.steps to "
                  "extend a finished run), or choose another directory")
    else:
        advice = "it has no checkpoint to continue from: remove it or choose another directory"
    named = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
    raise UserError(f"{run_dir} already holds a run ({named}); a new run would replace it: "
                    f"{advice}")


def continued_subdir(sweep_dir: str, number: int, fresh: str) -> str:
    """hydra.sweep.subdir of a continued sweep's job: the directory job `number` already has
    (`<number>_...`), else `fresh`."""
    found = sorted(Path(sweep_dir).glob(f"{number}_*"))
    return found[0].name if len(found) == 1 and found[0].is_dir() else fresh


def if_set(value: Any, then: Any, otherwise: Any) -> Any:
    """`then` when value is set (not None), else `otherwise`."""
    return then if value is not None else otherwise


# Registered on import, so every process that composes or resolves the config has them: the
# launchers' worker processes import this module with the task, not through train.py.
OmegaConf.register_new_resolver("run_dir", resumable_run_dir, replace=True)
OmegaConf.register_new_resolver("if_set", if_set, replace=True)
OmegaConf.register_new_resolver("hydra_subdir", hydra_subdir, replace=True)
OmegaConf.register_new_resolver("continued_subdir", continued_subdir, replace=True)
OmegaConf.register_new_resolver("job_dir", job_dir_name, replace=True)
OmegaConf.register_new_resolver("data_root", data_root, replace=True)


@dataclass
class TrainConfig:
    """Loop settings: how long, how big, how often to log, sample and save."""

    steps: int = 40001  # optimisation steps (the seed's "training_epochs")
    batch_size: int = 128  # real images (and noise vectors) per update
    seed: int = 0  # of the weights, the data order and the noise
    device: str = "auto"  # auto = CUDA when available, else CPU; also cpu, cuda, cuda:N
    log_every: int = 100  # steps between TensorBoard scalars
    print_every: int = 2000  # steps between console lines, as the seed
    sample_every: int = 2000  # steps between sample grids from the fixed noise
    checkpoint_every: int = 5000  # steps between checkpoints (and one after the last)
    n_samples: int = 64  # size of the fixed noise batch behind every grid
    threads: int = 0  # CPU threads; 0 = PyTorch's default, or a sweep launcher's share
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

    generator: float = II("optimizer.lr")  # G's learning rate; follows optimizer.lr unless set
    discriminator: float = II("optimizer.lr")  # D's; follows optimizer.lr unless set

    def __post_init__(self) -> None:
        """Refuse a rate that cannot train, before any work starts."""
        for name in ("generator", "discriminator"):
            value = getattr(self, name)  # a str while it is the schema's interpolation
            if not isinstance(value, str) and not 0 < value < math.inf:  # NaN too
                raise ConfigError(f"lr.{name} must be positive and finite, got {value}")


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
        if self.n < 2 or self.batch_size <= 0:  # FID's covariance needs two samples
            raise ConfigError(f"eval.n must be >= 2 and eval.batch_size positive, got "
                              f"n={self.n}, batch_size={self.batch_size}")
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"eval.objective must be one of {', '.join(OBJECTIVES)}, got "
                              f"{self.objective!r}")
        if self.objective in MANIFOLD and self.n < MIN_N:  # it would return None every time
            raise ConfigError(f"eval.objective={self.objective} needs eval.n >= {MIN_N}, got "
                              f"eval.n={self.n}: precision and recall of fewer samples are not "
                              "computed (see gan/metrics/manifold.py)")

    def unreachable_objective(self) -> str | None:
        """Why a run with these settings can never return `eval.objective`, or None where it
        can: a score needs an evaluation, which `eval.every=0` turns off. A sweeper that reads
        the value (the Optuna search) refuses such a sweep before its first trial."""
        if self.every == 0 and self.objective in (*SCORE_NAMES, *CONDITIONAL_SCORES):
            return (f"eval.objective={self.objective} is a score and eval.every=0 turns "
                    f"evaluation off; set eval.every > 0, or eval.objective="
                    f"{' or '.join(FINAL_LOSSES)}")
        return None


@dataclass
class Config:
    """The whole composed config: one node per config group plus the loop settings."""

    generator: Any = MISSING
    discriminator: Any = MISSING
    optimizer: Any = MISSING
    dataset: Any = MISSING
    loss: Any = MISSING
    step: Any = MISSING
    remedy: Any = field(default_factory=dict)  # group: the selected remedies, each by name
    conditioning: Any = field(default_factory=dict)  # group: none ({}), concat, acgan, ...
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


TYPED = {"train": TrainConfig, "eval": EvalConfig, "lr": LearningRates}
SPECIAL = ("_target_", "_partial_", "_recursive_", "_convert_", "_args_")  # Hydra's own keys


def check_config(cfg: DictConfig) -> None:
    """Refuse, in one line, a key that no schema or constructor declares (naming the closest
    valid key, or the remedy that set it), a remedy preset's setting that the config sets
    otherwise, and a typed value of the wrong type or range (naming the key the user set)."""
    refusal = (preset_conflict(cfg) or out_of_range(cfg) or loss_conflict(cfg)
               or unconditional_objective(cfg) or mistyped_argument(cfg))
    if refusal is not None:
        raise ConfigError(refusal)
    valid = valid_keys(cfg)
    for key in sorted(all_keys(cfg)):
        if key not in valid:
            raise ConfigError(unread_key(cfg, key, valid))
    for group, schema in TYPED.items():
        _check_typed(cfg, group, schema)


def check_choices(choices: Mapping[str, Any]) -> None:
    """Refuse, in one line (ConfigError), config-group choices that contradict each other
    before their merged settings are checked (`setup_conflict`); Hydra's runtime choices."""
    refusal = setup_conflict(choices)
    if refusal is not None:
        raise ConfigError(refusal)


def setup_conflict(choices: Mapping[str, Any]) -> str | None:
    """Why `experiment=X setup=Y` cannot run, where the experiment's preset includes another
    set-up (experiment=r3gan is conf/setup/r3gan's objective): both would be merged, and the
    refusal of what is left over (a remedy's settings without the remedy) would not name the
    cause. None where there is no conflict."""
    experiment, setup = choices.get("experiment"), choices.get("setup")
    path = CONF_DIR / "experiment" / f"{experiment}.yaml"
    if not experiment or not setup or not path.is_file():
        return None
    for entry in OmegaConf.load(path).get("defaults", []):
        if not (isinstance(entry, str) and entry.startswith("/setup/")):
            continue
        included = entry.removeprefix("/setup/")
        if included == setup:
            continue
        if included in _included_setups(setup):
            return (f"setup={setup} already includes setup={included}, the objective "
                    f"experiment={experiment} sets; drop experiment={experiment} "
                    f"(setup={setup} alone)")
        return (f"experiment={experiment} sets the objective as setup={included} does, and "
                f"setup={setup} sets another; drop one of them (setup={setup} alone, or "
                f"experiment={experiment} alone)")
    return None


def _included_setups(setup: str) -> set[str]:
    """The set-ups conf/setup/<setup>.yaml builds on through its defaults list, transitively
    (setup=r3gan_adam: {"r3gan"}); empty for an unknown set-up."""
    included: set[str] = set()
    pending = [setup]
    while pending:
        path = CONF_DIR / "setup" / f"{pending.pop()}.yaml"
        if not path.is_file():
            continue
        for entry in OmegaConf.load(path).get("defaults", []):
            name = entry.removeprefix("/setup/") if isinstance(entry, str) else None
            if name and name != "_self_" and "/" not in name and name not in included:
                included.add(name)
                pending.append(name)
    return included


def unconditional_objective(cfg: DictConfig) -> str | None:
    """Why an unconditional run cannot return `eval.objective` (a conditional run's score:
    conditional accuracy, intra-FID, ...), or None."""
    objective = OmegaConf.select(cfg, "eval.objective", default=None)
    conditioning = OmegaConf.select(cfg, "conditioning", default=None)
    if OmegaConf.select(cfg, "resume", default=None) is not None:
        return None  # the run's own saved config decides (`gan.run.build.unmeasured_objective`)
    if objective not in CONDITIONAL_SCORES or (
            isinstance(conditioning, DictConfig) and "_target_" in conditioning):
        return None
    return (f"eval.objective={objective} scores a conditional run, and this one is "
            "unconditional; choose conditioning=concat, acgan or projection, or another "
            "objective")


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
    return (f"{key} is a setting of {group}={spoken(having, 'and')}, not of "
            f"{group}={spoken(lacking, 'or')}")


def spoken(items: list[str], last: str) -> str:
    """Items as a sentence lists them: `a`, `a and b`, `a, b and c` (`last`: and, or)."""
    return f"{', '.join(items[:-1])} {last} {items[-1]}" if len(items) > 1 else items[0]


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


GROUPS = ("generator", "discriminator", "optimizer", "dataset", "loss", "step",
          "conditioning")  # one class each (conditioning=none: none)
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


def loss_conflict(cfg: DictConfig) -> str | None:
    """The refusal of a remedy that takes G's adversarial loss away (feature matching with
    `replace: true`, or a class that says `replaces_generator_loss`) under a loss that pairs
    D(x) with D(G(z)) (`pairs_real_and_fake`, the relativistic loss): G would never descend the
    pairing the loss is chosen for. (label_smoothing, which sets BCE's real_target, is refused
    where the loss lacks that option, `missing_option`.) None where there is none."""
    loss = _target_object(OmegaConf.select(cfg, "loss._target_", default=None))
    if not getattr(loss, "pairs_real_and_fake", False):
        return None
    for name, node in (cfg.get("remedy") or {}).items():
        if not isinstance(node, DictConfig) or "_target_" not in node:
            continue
        remedy = _target_object(node._target_)
        if getattr(remedy, "replaces_generator_loss", False) or node.get("replace") is True:
            return (f"remedy={name} replaces G's adversarial loss, so the loss "
                    f"{cfg.loss._target_} would never train G on its pairs of real and "
                    f"generated samples; drop one of them"
                    + (f" (or set remedy.{name}.replace=false)" if "replace" in node else ""))
    return None


def _target_object(target: str | None) -> object:
    """The class or function a `_target_` names; None where it names none (building it then
    says what is wrong)."""
    try:
        return get_object(target) if target else None
    except Exception:  # no such module or name: the builder reports it in one line
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


SIMPLE = (bool, int, float, str)  # argument types a setting is checked against


def mistyped_argument(cfg: DictConfig) -> str | None:
    """The refusal of a setting whose value is not of the type its gan-lab class's argument
    declares (`conditioning.weight=abc` where `weight: float`; an int where a float is
    declared is fine), naming the setting; None where every one fits. Arguments of other
    types, and classes outside the package (torch's optimizers), are not checked here."""
    paths = [*GROUPS, *(f"remedy.{name}" for name in (cfg.get("remedy") or {}))]
    for path in paths:
        node = OmegaConf.select(cfg, path, default=None, throw_on_resolution_failure=False)
        if not isinstance(node, DictConfig) or "_target_" not in node:
            continue
        declared = _declared_types(node._target_)
        for key, kind in declared.items():
            if key not in node:
                continue
            value = OmegaConf.select(node, key, throw_on_resolution_failure=False)
            if not _fits(value, kind):
                return f"{path}.{key} must be {_type_name(kind)}, got {value!r}"
    return None


def _declared_types(target: str) -> dict[str, type]:
    """The simple declared type (SIMPLE, optionally None) of each argument of a gan-lab class
    or function; empty for anything else or where the hints cannot be read."""
    if not target.startswith("gan."):
        return {}
    try:
        made = get_object(target)
        hints = typing.get_type_hints(made.__init__ if inspect.isclass(made) else made)
    except Exception:  # no such object, or hints it cannot resolve: the builder says why
        return {}
    declared = {}
    for name, hint in hints.items():
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)  # X | None
        kinds = [k for k in typing.get_args(hint) if k is not type(None)] if union else [hint]
        if len(kinds) == 1 and kinds[0] in SIMPLE:
            declared[name] = kinds[0]
    return declared


def _fits(value: Any, kind: type) -> bool:
    """Whether value may be passed where `kind` (or None) is declared; an int fits a float."""
    if value is None:
        return True
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


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
