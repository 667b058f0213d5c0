"""Shared fixtures: the real config composed with overrides, and the real data root."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from gan.config import register_configs

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"
SHARED_DATA = REPO.parent / "shared" / "data"

register_configs()


def find_data_root() -> Path | None:
    """GAN_DATA_DIR when set, else the shared data folder beside the checkout."""
    for candidate in (os.environ.get("GAN_DATA_DIR"), SHARED_DATA):
        if candidate and (Path(candidate) / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The folder holding MNIST/raw and FashionMNIST/raw (real data, never downloaded here)."""
    root = find_data_root()
    if root is None:
        pytest.skip("real MNIST not found: set GAN_DATA_DIR (CI points it at ../shared/data)")
    return root


@pytest.fixture
def make_cfg(data_root: Path) -> Callable[..., DictConfig]:
    """Compose conf/config.yaml with overrides, as `python train.py OVERRIDES` would."""

    def _compose(*overrides: str) -> DictConfig:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose("config", overrides=[f"dataset.root={data_root}", *overrides])

    return _compose
