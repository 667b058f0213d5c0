"""Device-resident data: loading, batches by index, the missing-data error."""

from functools import partial
from pathlib import Path

import pytest
import torch
import torchvision

from gan.errors import ConfigError, DataNotFoundError
from gan.run.data import DeviceBatcher, ImageSource


def test_every_image_is_seen_once_per_pass_across_the_wrap() -> None:
    torch.manual_seed(0)
    images = torch.arange(10, dtype=torch.float32).view(10, 1, 1, 1)
    batcher = DeviceBatcher(images, batch_size=4)
    seen = torch.cat([batcher.next().flatten().clone() for _ in range(5)])  # 20 = two passes
    assert sorted(seen[:10].tolist()) == list(range(10))
    assert sorted(seen[10:].tolist()) == list(range(10))


def test_passes_are_reshuffled() -> None:
    torch.manual_seed(0)
    images = torch.arange(100, dtype=torch.float32).view(100, 1, 1, 1)
    batcher = DeviceBatcher(images, batch_size=100)
    assert not torch.equal(batcher.next().clone(), batcher.next())


def test_batches_reuse_one_buffer() -> None:
    batcher = DeviceBatcher(torch.rand(50, 1, 28, 28), batch_size=8)
    pointers = {batcher.next().data_ptr() for _ in range(20)}
    assert len(pointers) == 1


def test_batch_larger_than_the_dataset_is_refused() -> None:
    with pytest.raises(ConfigError, match="batch_size=11"):
        DeviceBatcher(torch.rand(10, 1, 28, 28), batch_size=11)


def test_state_dict_and_rng_state_continue_the_same_batches() -> None:
    images = torch.arange(30, dtype=torch.float32).view(30, 1, 1, 1)
    first = DeviceBatcher(images, batch_size=7)
    first.next()
    second = DeviceBatcher(images, batch_size=7)
    second.load_state_dict(first.state_dict())
    rng = torch.get_rng_state()  # the next pass's shuffle comes from the global generator
    expected = torch.cat([first.next().clone() for _ in range(9)])  # crosses two passes
    torch.set_rng_state(rng)
    torch.testing.assert_close(torch.cat([second.next().clone() for _ in range(9)]), expected)


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST"])
def test_real_training_set_loads_as_one_tensor(data_root: Path, name: str) -> None:
    source = ImageSource(name.lower(), partial(getattr(torchvision.datasets, name)),
                         str(data_root), download=False)
    images = source.images(torch.device("cpu"))
    assert images.shape == (60_000, 1, 28, 28)
    assert images.dtype == torch.float32
    assert images.min() == 0 and images.max() == 1


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST"])
def test_real_test_set_loads_with_its_labels(data_root: Path, name: str) -> None:
    source = ImageSource(name.lower(), partial(getattr(torchvision.datasets, name)),
                         str(data_root), download=False)
    images, labels = source.labelled(torch.device("cpu"), train=False)
    assert images.shape == (10_000, 1, 28, 28) and labels.shape == (10_000,)
    assert labels.dtype == torch.long and set(labels.tolist()) == set(range(10))


def test_missing_data_names_the_path_and_the_variable(tmp_path: Path) -> None:
    source = ImageSource("mnist", partial(torchvision.datasets.MNIST), str(tmp_path / "nowhere"),
                         download=False)
    with pytest.raises(DataNotFoundError) as raised:
        source.images(torch.device("cpu"))
    message = str(raised.value)
    assert str(tmp_path / "nowhere") in message
    assert "GAN_DATA_DIR" in message and "MNIST/raw" in message
