"""Mistakes in a command or its environment, reported as a plain message rather than a traceback."""

import os
import sys
from collections.abc import Callable
from typing import Any

from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException


class UserError(Exception):
    """Something the user can fix; entry points print its message and exit non-zero."""


class ConfigError(UserError, ValueError):
    """A setting that cannot run (a zero step count, an unknown device, ...)."""


class DataNotFoundError(UserError, RuntimeError):
    """The dataset is not under its root and could not be downloaded."""


def first_line(error: BaseException) -> str:
    """The first non-empty line of an exception's message, or its type's name."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


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


def _user_error(error: BaseException | None) -> UserError | None:
    """The first UserError in an exception's chain of causes, if any."""
    while error is not None and not isinstance(error, UserError):
        error = error.__cause__ or error.__context__
    return error


def compose_message(error: BaseException) -> str:
    """Hydra's multi-line message and its cause's first line as one line, a listing such as
    "Available options in 'discriminator':" joined with commas."""
    text = str(error).split("Config search path:")[0]  # where Hydra looked: not the mistake
    lines = [line.strip() for line in text.splitlines() if line.strip()]
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
