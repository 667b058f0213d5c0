"""The commands' edge: `key=value` arguments for the small commands (gan.sample, gan.evaluate),
checked by type, and one-line errors for `train.py`'s Hydra entry."""

import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from hydra.errors import HydraException, MissingConfigException
from omegaconf import OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from gan.errors import UserError, first_line, message_lines
from gan.run.config import added_key_refusal, options, settings_not_value
from gan.run.directory import hydra_quoted

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
        return f"{key}: {first_line(error)}"
    return first_line(error)


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


def repeated(argv: list[str]) -> list[str]:
    """A note for each key the command line sets twice: Hydra keeps the last, as it should for
    a script's base command with an override appended, but `experiment=ring8
    experiment=r3gan` then runs r3gan on MNIST, where the user meant both presets; a config
    group takes a list for that (`experiment=[ring8,r3gan]`)."""
    seen: dict[str, str] = {}
    notes = []
    for word in argv[1:]:
        key, equals, _ = word.partition("=")
        if not equals or word.startswith("-"):
            continue
        name = key.lstrip("+~")
        if name in seen:
            notes.append(f"note: {name} is given twice ({seen[name]} and {word}): Hydra keeps "
                         f"the last; to apply both options of a config group, give it a list, "
                         f"{name}=[a,b]")
        seen[name] = word
    return notes


PATH_KEYS = ("resume",)  # overrides whose value is a path, taken as typed


def literal_paths(argv: list[str]) -> list[str]:
    """train.py's arguments with each path-valued override (`resume=PATH`) quoted for Hydra, so
    a path works as printed: a sweep job's directory holds `=` and `,`, which Hydra's grammar
    would read as syntax. A value already quoted, and `null`, are left as they are."""
    return [_literal(word) for word in argv]


def _literal(word: str) -> str:
    """One argument, its value quoted where its key is a path's (`PATH_KEYS`)."""
    key, equals, value = word.partition("=")
    if not equals or key.lstrip("+") not in PATH_KEYS or value[:1] in ("'", '"', "") \
            or value == "null":
        return word
    return f"{key}={hydra_quoted(value)}"


def one_line_errors(entry: Callable[[], Any]) -> None:
    """Run a `@hydra.main` entry so that a command Hydra cannot compose (an unknown option, a
    wrongly typed value, an unknown key) or an output directory it cannot create ends with one
    `error:` line and exit code 1. With HYDRA_FULL_ERROR=1 the traceback shows, as usual."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        entry()
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra then raises what it would print in pieces
    try:
        entry()
    except (HydraException, OmegaConfBaseException) as error:
        ours = _user_error(error)  # raised by one of our resolvers: its message says it all
        sys.exit(f"error: {ours if ours is not None else compose_message(error)}")
    except OSError as error:  # creating the run directory, say
        where = "" if error.filename is None else f" {error.filename}"
        sys.exit(f"error: cannot write{where}: {error.strerror or error}")
    except KeyboardInterrupt:  # before training started or after it ended: nothing to save
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    finally:  # as it was, for the next command in this process (the tests run several)
        os.environ.pop("HYDRA_FULL_ERROR", None)


def _user_error(error: BaseException | None) -> UserError | None:
    """The first UserError in an exception's chain of causes, if any."""
    while error is not None and not isinstance(error, UserError):
        error = error.__cause__ or error.__context__
    return error


def compose_message(error: BaseException) -> str:
    """Hydra's multi-line message and its cause's first line as one line, a listing such as
    "Available options in 'discriminator':" joined with commas (added where Hydra gives none,
    as for an option of a list such as remedy=[feature_match]). A key Hydra cannot set is
    explained as `check_config` would (`_unknown_key`)."""
    explained = _unknown_key(error)
    if explained is not None:
        return explained
    text = str(error).split("Config search path:")[0]  # where Hydra looked: not the mistake
    missing = getattr(error, "missing_cfg_file", None) or ""
    if isinstance(error, MissingConfigException) and not error.options and "/" in missing:
        group = missing.rsplit("/", 1)[0]
        text += f"\nAvailable options in '{group}':\n" + "\n".join(options(group))
    lines = message_lines(text)
    if error.__cause__ is not None:
        lines.append(first_line(error.__cause__))
    sentences: list[str] = []
    listing = False
    for line in lines:
        if listing and ":" not in line:  # an item of the listing above
            sentences[-1] += (" " if sentences[-1].endswith(":") else ", ") + line
        else:
            sentences.append(line.rstrip("."))
            listing = line.endswith(":")
    return ". ".join(sentences)


def _unknown_key(error: BaseException) -> str | None:
    """Hydra's refusal of `key=value` in gan-lab's words, or None where Hydra's own stands.
    Hydra advises `+key=value` for a key the config lacks, which `check_config` then refuses
    unless something reads the key: say instead why nothing does (a setting of another option
    of the group, a remedy not selected, no setting at all). A plain value for a group of
    settings (`lr=1e-4`) names the settings instead of "float is not a subclass of ..."."""
    cause, text = error.__cause__, str(error)
    absent = re.match(r"Could not override '([^']+)'\.\nTo append to your config use \+", text)
    if absent and isinstance(cause, ConfigKeyError | ConfigAttributeError) and (
            cause.parent_node is not None):  # the config as composed so far
        return added_key_refusal(cause.parent_node._get_root(), absent.group(1))
    merging = re.match(r"Error merging override \+*([^=\n]+)=(.*)", text)
    if merging and isinstance(cause, ValidationError):
        return settings_not_value(*merging.groups())
    return None
