"""The naive training loop the speed benchmark measures gan-lab against.

A typical tutorial GAN loop, as pytorch/examples and PyTorch-GAN write it: a torchvision-style
dataset that turns each uint8 image into a PIL image and then a tensor (`ToTensor`), a
`DataLoader` with shuffling, a `.to(device)` of every batch, the seed's layers in the seed's
order (ReLU before pooling, NCHW), default Adam, D then G updated in turn (Goodfellow's
Algorithm 1, three D forwards), and `loss.item()` read every step. It starts from the same
weights as the project's networks. Written here, in the benchmark, on purpose.
"""

import math
from collections.abc import Iterator

import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import functional as TF


class MNISTLike(Dataset):
    """What torchvision.datasets.MNIST does per item: uint8 -> PIL image -> float tensor."""

    def __init__(self, pixels: torch.Tensor) -> None:
        self.pixels = pixels  # (N, 28, 28) uint8

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> torch.Tensor:
        return TF.to_tensor(Image.fromarray(self.pixels[index].numpy(), mode="L"))  # (1, 28, 28)


def batches(pixels: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    """Shuffled CPU batches (B, 1, 28, 28) for ever, as a tutorial's DataLoader gives them."""
    loader = DataLoader(MNISTLike(pixels), batch_size=batch_size, shuffle=True, drop_last=True)
    while True:
        yield from loader


def seed_discriminator(project: nn.Module) -> nn.Module:
    """The project's discriminator rebuilt as the seed wrote it (conv, ReLU, then pool), with
    the same weights; an FC discriminator is already in the seed's order."""
    body = project.body
    if not isinstance(body[0], nn.Conv2d):
        return project
    conv, pool, relu, _, linear, last_relu = body
    plain = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, padding="same")
    plain.load_state_dict(conv.state_dict())  # PyTorch's own convolution, the same weights
    # nn.Flatten's (C, H, W) order: the hidden layer's columns permuted from the project's
    # (H, W, C) order, so the function is the same.
    hidden = nn.Linear(linear.in_features, linear.out_features)
    side = int((linear.in_features // conv.out_channels) ** 0.5)
    columns = torch.arange(linear.in_features).view(side, side, conv.out_channels)
    hidden.weight.data = linear.weight.data[:, columns.permute(2, 0, 1).flatten()].clone()
    hidden.bias.data = linear.bias.data.clone()
    return nn.Sequential(plain, relu, pool, nn.Flatten(), hidden, last_relu, project.head,
                         nn.Flatten(0))  # (B,) logits


class NaiveLoop:
    """One textbook step at a time, with every habit the benchmark is there to price."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, pixels: torch.Tensor,
                 batch_size: int, lr: float, device: torch.device) -> None:
        self.generator = generator.to(device)
        self.discriminator = seed_discriminator(discriminator).to(device)
        self.g_optimizer = torch.optim.Adam(self.generator.parameters(), lr=lr)
        self.d_optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=lr)
        self.criterion = nn.BCEWithLogitsLoss()
        self.data = batches(pixels, batch_size)
        self.batch_size, self.device = batch_size, device
        self.noise_dim = generator.noise_dim
        assert math.prod(generator.image_shape) == pixels[0].numel()

    def step(self) -> tuple[float, float]:
        """D update on real and detached fake, then G update; both losses read to the host."""
        real = next(self.data).to(self.device)
        z = torch.rand(self.batch_size, self.noise_dim, device=self.device) * 2 - 1
        ones = torch.ones(self.batch_size, device=self.device)
        zeros = torch.zeros(self.batch_size, device=self.device)
        fake = self.generator(z)
        d_loss = (self.criterion(self.discriminator(real), ones)
                  + self.criterion(self.discriminator(fake.detach()), zeros))
        self.d_optimizer.zero_grad()
        d_loss.backward()
        self.d_optimizer.step()
        g_loss = self.criterion(self.discriminator(fake), ones)
        self.g_optimizer.zero_grad()
        g_loss.backward()
        self.g_optimizer.step()
        return g_loss.item(), d_loss.item()
