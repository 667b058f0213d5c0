"""`key=value` arguments for the small commands (gan.sample, gan.evaluate), checked by type."""

import sys
from collections.abc import Callable
from typing import TypeVar

from omegaconf import OmegaConf
from omegaconf.errors import (
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from gan.errors import UserError

Args = TypeVar("Args")


def parse_args(schema: type[Args], argv: list[str], usage: str) -> Args:
    """The dataclass `schema` filled from `key=value` words; a UserError names a bad one."""
    bad = [word for word in argv if "=" not in word]
    if bad:
        raise UserError(f"expected key=value arguments, got {' '.join(bad)!r}; usage: {usage}")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), OmegaConf.from_dotlist(argv))
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        raise UserError(f"{_explain(error)}; usage: {usage}") from None


def _explain(error: OmegaConfBaseException) -> str:
    """OmegaConf's complaint in the command's terms."""
    key = getattr(error, "full_key", None) or "an argument"
    if isinstance(error, MissingMandatoryValue):
        return f"{key}= is required"
    if isinstance(error, ConfigKeyError):
        return f"unknown argument {key}"
    if isinstance(error, ValidationError):
        return f"{key}: {str(error).splitlines()[0]}"
    return str(error).splitlines()[0]


def run_command(command: Callable[[list[str]], None], usage: str, doc: str) -> None:
    """Run a command on sys.argv: --help prints its doc; a UserError becomes one line and exit 1."""
    argv = sys.argv[1:]
    if any(word in ("-h", "--help") for word in argv):
        print(doc.strip())
        return
    try:
        command(argv)
    except UserError as error:
        sys.exit(f"error: {error}")
