"""Shared fixtures: the real config composed with overrides, and the real data root."""

import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig

from gan.metrics.evaluator import Evaluator
from gan.run.config import register_configs
from gan.run.data import ImageSource

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"
SHARED_DATA = REPO.parent / "shared" / "data"
# torchvision's MNIST/FashionMNIST check for all four uncompressed files.
RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")

register_configs()

# A test run started in the background by a shell without job control (`nohup .ci/run &`)
# inherits SIGINT ignored, and so would every train.py it starts: the tests of Ctrl-C would then
# wait on runs that never hear it. Tests run as if started from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def find_data_root() -> Path | None:
    """GAN_DATA_DIR when set, else the shared data folder beside the checkout."""
    for candidate in (os.environ.get("GAN_DATA_DIR"), SHARED_DATA):
        if candidate and all((Path(candidate) / name / "raw" / file).exists()
                             for name in ("MNIST", "FashionMNIST") for file in RAW_FILES):
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The folder holding MNIST/raw and FashionMNIST/raw (real data, never downloaded here)."""
    root = find_data_root()
    if root is None:
        pytest.skip("real MNIST/FashionMNIST not found: set GAN_DATA_DIR (CI: ../shared/data)")
    return root


def compose_config(*overrides: str, hydra: bool = False) -> DictConfig:
    """Compose conf/config.yaml as `python train.py OVERRIDES` would; tests never download, and
    evaluate only where they say so (`eval.every=N`), to keep short runs short. `hydra=True`
    keeps the `hydra` node, as `@hydra.main` sees it."""
    root = find_data_root() or Path("no-data-found")
    local = [f"dataset.root={root}", "dataset.download=false"]  # never downloaded
    evaluation = [] if any(o.startswith("eval.every=") for o in overrides) else ["eval.every=0"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        try:
            return compose("config", overrides=[*local, *evaluation, *overrides],
                           return_hydra_config=hydra)
        except ConfigCompositionException as error:
            if "dataset.root" not in str(error.__cause__):
                raise
            # A dataset that is drawn, not read from disk (the 2D mixtures): no root.
            return compose("config", overrides=[*evaluation, *overrides],
                           return_hydra_config=hydra)


@pytest.fixture(scope="session", autouse=True)
def real_reference_once() -> Iterator[None]:
    """Every run that evaluates in this test session shares one evaluator per dataset (and
    device, batch size, seed, thread count): the real test set's classifier features and their
    statistics, seconds a run, are computed once per session, not once per run. The same
    inputs on as many threads give the same numbers, so no score changes. Patched into
    `ImageSource.scorer`, which builds every image evaluator."""
    original = ImageSource.scorer
    made: dict[tuple, Evaluator] = {}

    def shared(source: ImageSource, device: torch.device, batch_size: int,
               seed: int = 0) -> Evaluator:
        key = (source.name, os.path.abspath(source.root), str(device), batch_size, seed,
               torch.get_num_threads())
        if key not in made:
            made[key] = original(source, device, batch_size, seed)
        return made[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ImageSource, "scorer", shared)  # what every evaluator is built by
        yield


@pytest.fixture
def make_cfg() -> Callable[..., DictConfig]:
    """`compose_config` as a fixture."""
    return compose_config


def train_command(*args: str) -> str | int | None:
    """`python train.py ARGS` run in this process (train.command_line: the argv rewriting, Hydra,
    the refusals), from the current directory; its exit: None where it ended normally, else
    SystemExit's code (`error: ...` for a refusal). Seconds cheaper than a subprocess."""

    import train as entry  # the module `python train.py` runs

    argv = sys.argv
    sys.argv = ["train.py", *args]
    try:
        entry.command_line()
    except SystemExit as stop:
        return stop.code
    finally:
        sys.argv = argv
    return None
