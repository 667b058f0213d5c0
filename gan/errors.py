"""Mistakes in a command or its environment, reported as a plain message rather than a traceback."""


class UserError(Exception):
    """Something the user can fix; entry points print its message and exit non-zero."""


class ConfigError(UserError, ValueError):
    """A setting that cannot run (a zero step count, an unknown device, ...)."""


class DataNotFoundError(UserError, RuntimeError):
    """The dataset is not under its root and could not be downloaded."""


def message_lines(error: BaseException | str) -> list[str]:
    """An exception's message (or a text) as its non-empty lines, stripped."""
    return [line.strip() for line in str(error).splitlines() if line.strip()]


def first_line(error: BaseException) -> str:
    """The first non-empty line of an exception's message, or its type's name: how every
    error in this package becomes one line."""
    lines = message_lines(error)
    return lines[0] if lines else type(error).__name__
