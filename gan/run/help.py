"""`python train.py --help`: the commands, the config groups train.py accepts with their options,
and every typed setting with its default and the one-line comment the schema gives it."""

import inspect
import re
import textwrap
from dataclasses import MISSING, fields

from omegaconf import OmegaConf

from gan.run.config import CONF_DIR, Config, EvalConfig, LearningRates, TrainConfig, options

USAGE = """\
python train.py [group=option ...] [key=value ...]   train one run into outputs/DATE/TIME
python train.py -m key=a,b [key=c,d ...]             a sweep: a job per combination, multirun/
python train.py resume=RUN_DIR [train.steps=N]       continue a run where it stopped
python train.py -m hydra/launcher=joblib ...         the jobs in parallel here (also
                                                     submitit_local; slurm for a cluster)
python train.py -m hparams_search=optuna_lr          an Optuna search of the learning rates
python -m gan.runs | gan.sample | gan.evaluate | gan.study   find, sample, score, compare runs"""
COMMENT = re.compile(r"^\s+(\w+):[^=]+=.*?#\s*(.+)$")


def groups() -> dict[str, list[str]]:
    """The config groups train.py composes (config.yaml's defaults), each with its options."""
    defaults = OmegaConf.load(CONF_DIR / "config.yaml").defaults
    names = [next(iter(item)) for item in defaults if not isinstance(item, str)]
    return {name: options(name) for name in names}


def comments(schema: type) -> dict[str, str]:
    """Each field's trailing `# comment` in the schema's source: its one-line description."""
    found = (COMMENT.match(line) for line in inspect.getsource(schema).splitlines())
    return {match[1]: match[2] for match in found if match}


TOP_LEVEL = ("resume",)  # Config's fields that are settings, not config groups


def settings() -> list[tuple[str, str]]:
    """(key=default, description) for every typed setting, the default as it is typed on the
    command line (null, true; an interpolation as what it follows)."""
    rows = []
    for prefix, schema in (("train.", TrainConfig), ("eval.", EvalConfig), ("lr.", LearningRates),
                           ("", Config)):
        said = comments(schema)
        for item in fields(schema):
            if prefix or item.name in TOP_LEVEL:
                rows.append((f"{prefix}{item.name}={_typed(item.default)}",
                             said.get(item.name, "")))
    return rows


def _typed(default: object) -> str:
    """A default as the command line writes it."""
    if default is MISSING:
        return "..."
    if isinstance(default, str) and default.startswith("${"):
        return f"(as {default[2:-1]})"
    if default is None or isinstance(default, bool):  # not 0 and 1: they equal False, True
        return {None: "null", True: "true", False: "false"}[default]
    return str(default)


def train_help() -> str:
    """The whole help text."""
    lines = [USAGE, "", "Config groups (group=option; remedy takes a list: 'remedy=[a,b]'):"]
    for name, choices in groups().items():
        lines += textwrap.wrap(", ".join(choices), width=96, initial_indent=f"  {name}: ",
                               subsequent_indent=" " * (len(name) + 4))
    lines += ["", "Settings (key=value; shown with the default):"]
    rows = settings()
    width = max(len(key) for key, _ in rows) + 2
    lines += [f"  {key:<{width}}{text}" for key, text in rows]
    lines += ["", "A group's own settings (remedy.feature_matching.weight, optimizer.lr, ...): "
              "python train.py GROUP=OPTION --cfg job", "Hydra's own flags: --hydra-help. "
              "More in README.md."]
    return "\n".join(lines).replace("$", "$$")  # the template is a string.Template


def register_help() -> None:
    """Make `${train_help:}` (conf/config.yaml's hydra.help.template) this text."""
    OmegaConf.register_new_resolver("train_help", train_help, replace=True)
