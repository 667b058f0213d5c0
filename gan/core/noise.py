"""The generator's input: the seed's uniform(-1, 1) noise."""

import torch


def uniform_noise(n: int, noise_dim: int, device: torch.device) -> torch.Tensor:
    """A fresh (n, noise_dim) draw from uniform(-1, 1)."""
    return torch.empty(n, noise_dim, device=device).uniform_(-1.0, 1.0)


def seeded_uniform_noise(n: int, noise_dim: int, seed: int, device: torch.device) -> torch.Tensor:
    """A fixed (n, noise_dim) uniform(-1, 1) draw from its own CPU stream: the same on every
    device for a given seed, and the global random state is left as it was."""
    stream = torch.Generator().manual_seed(seed)
    return (torch.rand(n, noise_dim, generator=stream) * 2 - 1).to(device)


class UniformNoise:
    """Per-step noise refilled in place in one buffer, so the loop allocates nothing for it."""

    def __init__(self, batch_size: int, noise_dim: int, device: torch.device) -> None:
        self.buffer = torch.empty(batch_size, noise_dim, device=device)  # (B, noise_dim)

    def next(self) -> torch.Tensor:
        """Redraw the buffer from uniform(-1, 1) and return it."""
        return self.buffer.uniform_(-1.0, 1.0)
