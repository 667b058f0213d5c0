"""Mistakes in the environment: a broken torch or torchvision install is one line."""

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

import pytest

from gan.errors import require_torch


class BrokenTorchvision(importlib.abc.MetaPathFinder):
    """Imports torchvision as a CPU torch beside a CUDA torchvision does: it raises."""

    def find_spec(self, name: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        """Raise for torchvision; leave every other module to the next finder."""
        if name == "torchvision":
            raise RuntimeError("operator torchvision::nms does not exist")
        return None


def break_torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next `import torchvision` raise, until the test ends."""
    for name in [name for name in sys.modules if name.partition(".")[0] == "torchvision"]:
        monkeypatch.delitem(sys.modules, name)  # put back after the test
    monkeypatch.setattr(sys, "meta_path", [BrokenTorchvision(), *sys.meta_path])


def test_a_broken_torchvision_is_one_line_naming_it_and_the_fix(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    break_torchvision(monkeypatch)
    with pytest.raises(SystemExit) as stop:
        require_torch()
    message = str(stop.value.code)
    assert message.startswith("error: torchvision cannot be imported (RuntimeError: operator "
                              "torchvision::nms does not exist; installed: torch ")
    assert message.endswith("reinstall torch and torchvision together, from the same index, "
                            "e.g. pip install --force-reinstall torch torchvision --index-url "
                            "https://download.pytorch.org/whl/cpu (CPU only), or without "
                            "--index-url for CUDA")
    assert "\n" not in message


def test_a_working_install_passes() -> None:
    require_torch()


def test_hydra_full_error_shows_what_the_import_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    break_torchvision(monkeypatch)
    with pytest.raises(RuntimeError, match="operator torchvision::nms does not exist"):
        require_torch()
