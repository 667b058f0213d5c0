"""Which device a run or a command uses: `auto`, `cpu`, `cuda` or `cuda:N`, checked once."""

import re

import torch

from gan.errors import ConfigError

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device_name(name: str, key: str = "device") -> None:
    """Refuse a device name that is none of the four forms; `key` is the setting it came from."""
    if not DEVICE_PATTERN.fullmatch(name):
        raise ConfigError(f"{key} must be auto, cpu, cuda or cuda:N, got {name!r}")


def resolve_device(name: str, key: str = "train.device") -> torch.device:
    """`auto` is CUDA when available, else the CPU; asking for CUDA without it is refused."""
    check_device_name(name, key)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{key}={name} but CUDA is not available here; use {key}=cpu or auto")
    return device
