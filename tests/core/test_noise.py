"""The generator's noise."""

import torch

from gan.core.networks import UniformNoise, uniform_noise


def test_noise_is_uniform_minus_one_to_one_in_one_buffer() -> None:
    noise = UniformNoise(batch_size=512, noise_dim=100, device=torch.device("cpu"))
    first = noise.next()
    pointer, values = first.data_ptr(), first.clone()
    second = noise.next()
    assert second.data_ptr() == pointer and not torch.equal(values, second)
    assert second.min() >= -1 and second.max() < 1 and abs(second.mean()) < 0.01
    assert second.min() < -0.99 and second.max() > 0.99


def test_fresh_draws_have_the_asked_shape() -> None:
    assert uniform_noise(3, 100, torch.device("cpu")).shape == (3, 100)
