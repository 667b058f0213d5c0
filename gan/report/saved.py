"""A run directory's YAML files (config.yaml, .hydra/*.yaml, multirun.yaml) read as plain data,
without Hydra or OmegaConf, so the report commands start at once.

Values read as OmegaConf reads them: `1e-4` is a float (YAML 1.1 alone reads it as a string)
and a date-like value stays a string.
"""

import re
from pathlib import Path
from typing import Any

import yaml

# Floats with an exponent but no dot (`1e-4`), as well as YAML 1.1's own forms.
FLOAT = re.compile(r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                        |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
                        |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
                        |[-+]?\.(?:inf|Inf|INF)
                        |\.(?:nan|NaN|NAN))$""", re.X)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with OmegaConf's reading of floats and without timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT, list("-+0123456789."))


def read_yaml(path: Path) -> Any:
    """A YAML file's data (dicts, lists, scalars); None for an empty file. Raises OSError where
    it cannot be read and yaml.YAMLError where it is not YAML."""
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (a safe loader)


def select(data: Any, dotted: str, default: Any = None) -> Any:
    """The value at `a.b.c` in nested mappings; `default` where a key is missing."""
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return default
        data = data[part]
    return data
