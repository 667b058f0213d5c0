"""One adversarial training step: how the D and G updates of a step are ordered."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import nn

from gan.losses import GANLoss
from gan.models import Generator

if TYPE_CHECKING:
    from gan.remedies import Remedy


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


class Forward(NamedTuple):
    """Both networks on one batch: what the losses and the remedies' terms read."""

    real: torch.Tensor  # (B, C, H, W)
    fake: torch.Tensor  # (B, C, H, W)
    real_features: torch.Tensor  # (B, F), D's last hidden layer
    fake_features: torch.Tensor  # (B, F)
    real_logits: torch.Tensor  # (B,)
    fake_logits: torch.Tensor  # (B,)


class AdversarialStep(ABC):
    """D and G updates on a batch; subclasses order the joint update.

    Remedies plug in as objects (`gan.remedies.Remedy`): they add terms to either loss and
    update state after the optimizers step. With `d_steps`/`g_steps` above 1 (the balance
    remedy) a call takes `d_steps` real batches and `d_steps + g_steps - 1` noise batches,
    concatenated: D-only updates first, then the joint update, then G-only updates.

    On CUDA the whole call is captured once as a graph and replayed (`gan.acceleration`), so a
    subclass keeps to tensor work: no host reads, no Python branches on tensor values, fixed
    shapes. One that cannot sets `capturable = False` and runs eager, with a logged reason.
    """

    capturable: bool = True

    def __init__(self, generator: Generator, discriminator: nn.Module,
                 g_optimizer: torch.optim.Optimizer, d_optimizer: torch.optim.Optimizer,
                 loss: GANLoss, remedies: Sequence["Remedy"] = (), d_steps: int = 1,
                 g_steps: int = 1) -> None:
        self.generator = generator
        self.discriminator = discriminator
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.loss = loss
        self.remedies = list(remedies)
        self.d_steps, self.g_steps = d_steps, g_steps
        self.g_parameters = list(generator.parameters())
        self.d_parameters = list(discriminator.parameters())

    @property
    def real_batches(self) -> int:
        """Real batches one call consumes."""
        return self.d_steps

    @property
    def noise_batches(self) -> int:
        """Noise batches one call consumes."""
        return self.d_steps + self.g_steps - 1

    def forward(self, real: torch.Tensor, fake: torch.Tensor,
                real_features: torch.Tensor | None = None) -> Forward:
        """D's features and logits on real and generated images (real features reused when
        given: a G update reads them only for remedies such as feature matching)."""
        if real_features is None:
            real_features = self.discriminator.features(real)
        fake_features = self.discriminator.features(fake)
        return Forward(real, fake, real_features, fake_features,
                       self.discriminator.classify(real_features),
                       self.discriminator.classify(fake_features))

    def d_loss(self, forward: Forward) -> torch.Tensor:
        """D's loss, with every remedy's term."""
        loss = self.loss.discriminator_loss(forward.real_logits, forward.fake_logits)
        for remedy in self.remedies:
            loss = remedy.discriminator_loss(forward, loss, self)
        return loss

    def g_loss(self, forward: Forward) -> torch.Tensor:
        """G's loss, with every remedy's term."""
        loss = self.loss.generator_loss(forward.fake_logits)
        for remedy in self.remedies:
            loss = remedy.generator_loss(forward, loss, self)
        return loss

    def update_d(self, real: torch.Tensor, z: torch.Tensor) -> None:
        """One D-only update on real (B, C, H, W) and G(z) held fixed."""
        with torch.no_grad():
            fake = self.generator(z)
        loss = self.d_loss(self.forward(real, fake))
        self.d_optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=self.d_parameters)
        self.d_optimizer.step()

    def update_g(self, real: torch.Tensor, z: torch.Tensor) -> None:
        """One G-only update (real images feed remedies such as feature matching)."""
        loss = self.g_loss(self.forward(real, self.generator(z)))
        self.g_optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=self.g_parameters)
        self.g_optimizer.step()

    def __call__(self, real: torch.Tensor, z: torch.Tensor) -> StepOutput:
        """All of a call's updates on real (d_steps*B, C, H, W) and z (noise_batches*B, nz)."""
        reals, zs = real.chunk(self.real_batches), z.chunk(self.noise_batches)
        for index in range(self.d_steps - 1):
            self.update_d(reals[index], zs[index])
        output = self.joint(reals[-1], zs[self.d_steps - 1])
        for index in range(self.g_steps - 1):
            self.update_g(reals[-1], zs[self.d_steps + index])
        for remedy in self.remedies:
            remedy.after_update(self)
        return output

    @abstractmethod
    def joint(self, real: torch.Tensor, z: torch.Tensor) -> StepOutput:
        """The D and G update on one batch real (B, C, H, W) and noise z (B, noise_dim)."""

    @torch.no_grad()
    def losses(self, real: torch.Tensor, z: torch.Tensor) -> tuple[float, float]:
        """(G loss, D loss) of the current networks on a batch, without updating them."""
        forward = self.forward(real, self.generator(z))
        g_value, d_value = torch.stack([self.g_loss(forward), self.d_loss(forward)]).tolist()
        return g_value, d_value


class SimultaneousStep(AdversarialStep):
    """The seed's step: both gradients from one forward pass, then both updates.

    The seed runs `sess.run([optimizer_gen, optimizer_dis, loss_gen, loss_dis])`: D and G each
    descend their own loss at the same parameters, and the reported losses are those before the
    updates. One G forward and one D forward per batch serve both.
    """

    def joint(self, real: torch.Tensor, z: torch.Tensor) -> StepOutput:
        """Update D and G together on real (B, C, H, W) and noise z (B, noise_dim)."""
        forward = self.forward(real, self.generator(z))
        # D: maximise log D(x) + log(1 - D(G(z))); G: maximise log D(G(z)) (non-saturating).
        d_loss, g_loss = self.d_loss(forward), self.g_loss(forward)
        self.d_optimizer.zero_grad(set_to_none=True)
        self.g_optimizer.zero_grad(set_to_none=True)
        # Each loss reaches only its own network's parameters: no D weight gradients from the
        # G loss, no G gradients from the D loss.
        d_loss.backward(inputs=self.d_parameters, retain_graph=True)
        g_loss.backward(inputs=self.g_parameters)
        self.d_optimizer.step()
        self.g_optimizer.step()
        return StepOutput.detached(g_loss, d_loss, forward.real_logits, forward.fake_logits)


class AlternatingStep(AdversarialStep):
    """Goodfellow et al.'s Algorithm 1: update D, then update G through the updated D."""

    def joint(self, real: torch.Tensor, z: torch.Tensor) -> StepOutput:
        """Update D then G on real (B, C, H, W) and noise z (B, noise_dim)."""
        fake = self.generator(z)  # (B, C, H, W)
        # Update D: maximise log D(x) + log(1 - D(G(z))); G is held fixed by the detach.
        d_forward = self.forward(real, fake.detach())
        d_loss = self.d_loss(d_forward)
        self.d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward(inputs=self.d_parameters)
        self.d_optimizer.step()
        # Update G: maximise log D(G(z)) (non-saturating) through the freshly updated D; the
        # backward pass reaches G's parameters only (D's weight gradients are not needed).
        g_forward = self.forward(real, fake, real_features=d_forward.real_features.detach())
        g_loss = self.g_loss(g_forward)
        self.g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward(inputs=self.g_parameters)
        self.g_optimizer.step()
        return StepOutput.detached(g_loss, d_loss, d_forward.real_logits, d_forward.fake_logits)
