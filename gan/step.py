"""One adversarial training step: how the D and G updates of a step are ordered."""

from abc import ABC, abstractmethod
from typing import NamedTuple

import torch
from torch import nn

from gan.losses import GANLoss
from gan.models import Generator


class StepOutput(NamedTuple):
    """What a step leaves behind, detached and still on the device (reading them syncs)."""

    g_loss: torch.Tensor  # ()
    d_loss: torch.Tensor  # ()
    real_logits: torch.Tensor  # (B,)
    fake_logits: torch.Tensor  # (B,)

    @classmethod
    def detached(cls, g_loss: torch.Tensor, d_loss: torch.Tensor, real_logits: torch.Tensor,
                 fake_logits: torch.Tensor) -> "StepOutput":
        """The step's tensors cut from the graph, so holding them keeps no activations alive."""
        return cls(g_loss.detach(), d_loss.detach(), real_logits.detach(), fake_logits.detach())

    def scalars(self) -> dict[str, float]:
        """The logged values, read from the device in one transfer."""
        values = torch.stack([
            self.g_loss, self.d_loss,
            torch.sigmoid(self.real_logits).mean(), torch.sigmoid(self.fake_logits).mean(),
        ]).tolist()
        return dict(zip(("loss/generator", "loss/discriminator", "d/real", "d/fake"), values,
                        strict=True))


class AdversarialStep(ABC):
    """One D update and one G update on the same real batch and noise; subclasses order them.

    On CUDA the whole call is captured once as a graph and replayed (`gan.acceleration`), so a
    subclass keeps to tensor work: no host reads, no Python branches on tensor values, fixed
    shapes. One that cannot sets `capturable = False` and runs eager, with a logged reason.
    """

    capturable: bool = True

    def __init__(self, generator: Generator, discriminator: nn.Module,
                 g_optimizer: torch.optim.Optimizer, d_optimizer: torch.optim.Optimizer,
                 loss: GANLoss) -> None:
        self.generator = generator
        self.discriminator = discriminator
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.loss = loss
        self.g_parameters = list(generator.parameters())
        self.d_parameters = list(discriminator.parameters())

    @abstractmethod
    def __call__(self, real: torch.Tensor, z: torch.Tensor) -> StepOutput:
        """Update D and G on real (B, C, H, W) and noise z (B, noise_dim)."""

    @torch.no_grad()
    def losses(self, real: torch.Tensor, z: torch.Tensor) -> tuple[float, float]:
        """(G loss, D loss) of the current networks on a batch, without updating them."""
        fake_logits = self.discriminator(self.generator(z))
        d_loss = self.loss.discriminator_loss(self.discriminator(real), fake_logits)
        g_loss = self.loss.generator_loss(fake_logits)
        g_value, d_value = torch.stack([g_loss, d_loss]).tolist()
        return g_value, d_value


class SimultaneousStep(AdversarialStep):
    """The seed's step: both gradients from one forward pass, then both updates.

    The seed runs `sess.run([optimizer_gen, optimizer_dis, loss_gen, loss_dis])`: D and G each
    descend their own loss at the same parameters, and the reported losses are those before the
    updates. One G forward and one D forward per batch serve both.
    """

    def __call__(self, real: torch.Tensor, z: torch.Tensor) -> StepOutput:
        """Update D and G together on real (B, C, H, W) and noise z (B, noise_dim)."""
        fake = self.generator(z)  # (B, C, H, W)
        real_logits = self.discriminator(real)  # (B,)
        fake_logits = self.discriminator(fake)  # (B,)
        # D: maximise log D(x) + log(1 - D(G(z))); G: maximise log D(G(z)) (non-saturating).
        d_loss = self.loss.discriminator_loss(real_logits, fake_logits)
        g_loss = self.loss.generator_loss(fake_logits)
        self.d_optimizer.zero_grad(set_to_none=True)
        self.g_optimizer.zero_grad(set_to_none=True)
        # Each loss reaches only its own network's parameters: no D weight gradients from the
        # G loss, no G gradients from the D loss.
        d_loss.backward(inputs=self.d_parameters, retain_graph=True)
        g_loss.backward(inputs=self.g_parameters)
        self.d_optimizer.step()
        self.g_optimizer.step()
        return StepOutput.detached(g_loss, d_loss, real_logits, fake_logits)


class AlternatingStep(AdversarialStep):
    """Goodfellow et al.'s Algorithm 1: update D, then update G through the updated D."""

    def __call__(self, real: torch.Tensor, z: torch.Tensor) -> StepOutput:
        """Update D then G on real (B, C, H, W) and noise z (B, noise_dim)."""
        fake = self.generator(z)  # (B, C, H, W)
        # Update D: maximise log D(x) + log(1 - D(G(z))); G is held fixed by the detach.
        real_logits = self.discriminator(real)  # (B,)
        fake_logits = self.discriminator(fake.detach())  # (B,)
        d_loss = self.loss.discriminator_loss(real_logits, fake_logits)
        self.d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward(inputs=self.d_parameters)
        self.d_optimizer.step()
        # Update G: maximise log D(G(z)) (non-saturating) through the freshly updated D; the
        # backward pass reaches G's parameters only (D's weight gradients are not needed).
        g_loss = self.loss.generator_loss(self.discriminator(fake))
        self.g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward(inputs=self.g_parameters)
        self.g_optimizer.step()
        return StepOutput.detached(g_loss, d_loss, real_logits, fake_logits)
