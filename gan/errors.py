"""Mistakes in a command or its environment, reported as a plain message rather than a traceback."""

import importlib
import os
from importlib import metadata

TORCH_PACKAGES = ("torch", "torchvision")  # imported by every command, in this order
CPU_INDEX = "https://download.pytorch.org/whl/cpu"  # the README's set-up without a GPU


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


def require_torch() -> None:
    """Import torch and torchvision, which every training command needs, before anything else
    does: where one of them cannot be imported (a broken install, or a CPU torch beside a
    torchvision built for another: `operator torchvision::nms does not exist`), exit with one
    `error:` line naming the package, its error and the fix, instead of a long traceback from
    inside it (with HYDRA_FULL_ERROR=1 the traceback, as for every other refusal). Raises
    SystemExit."""
    for package in TORCH_PACKAGES:
        try:
            importlib.import_module(package)
        except Exception as error:  # whatever a broken install raises: ImportError, RuntimeError
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            raise SystemExit(f"error: {broken_install(package, error)}") from None


def broken_install(package: str, error: BaseException) -> str:
    """One line on a package of TORCH_PACKAGES that cannot be imported: which, why, the
    installed versions, and how to reinstall the two as a matching pair."""
    versions = []
    for name in TORCH_PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"no {name}")
    return (f"{package} cannot be imported ({type(error).__name__}: {first_line(error)}; "
            f"installed: {', '.join(versions)}): reinstall torch and torchvision together, "
            f"from the same index, e.g. pip install --force-reinstall torch torchvision "
            f"--index-url {CPU_INDEX} (CPU only), or without --index-url for CUDA")
