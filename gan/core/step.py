"""One adversarial training step: how the D and G updates of a step are ordered."""

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch

from gan.core.networks import Discriminator, Generator
from gan.core.objective import Forward, Labels, Loss, Objective, Terms
from gan.core.remedies.base import Remedy
from gan.errors import ConfigError


def given(labels: Labels | None) -> tuple[Labels, ...]:
    """A conditional run's labels as the trailing arguments of a `compute` call, none for an
    unconditional run: `compute` may vmap every argument (stacked runs), and vmap maps
    tensors, not None."""
    return () if labels is None else (labels,)


class StepOutput(NamedTuple):
    """What a step leaves behind, detached and still on the device (reading them syncs).

    `g_loss`, `d_loss` are the whole losses; `g_adversarial`, `d_adversarial` the adversarial
    losses alone, comparable between runs whatever their extra terms; `terms` the objective's
    named extra terms (feature matching, a penalty, ...) of both networks.
    """

    g_loss: torch.Tensor  # ()
    d_loss: torch.Tensor  # ()
    g_adversarial: torch.Tensor  # ()
    d_adversarial: torch.Tensor  # ()
    real_logits: torch.Tensor  # (B,)
    fake_logits: torch.Tensor  # (B,)
    terms: dict[str, torch.Tensor]  # name -> ()

    @classmethod
    def detached(cls, g_loss: Loss, d_loss: Loss, real_logits: torch.Tensor,
                 fake_logits: torch.Tensor) -> "StepOutput":
        """The step's tensors cut from the graph, so holding them keeps no activations alive;
        a term name on both networks' sides is a mistake in a term."""
        terms: dict[str, torch.Tensor] = {}
        if d_loss.terms or g_loss.terms:  # none in the seed's objective: nothing to merge
            repeated = d_loss.terms.keys() & g_loss.terms.keys()
            if repeated:
                raise ValueError(f"two terms of the objective are named "
                                 f"{', '.join(sorted(repeated))}")
            terms = {name: value.detach() for name, value in (d_loss.terms | g_loss.terms).items()}
        return cls(g_loss.total.detach(), d_loss.total.detach(), g_loss.adversarial.detach(),
                   d_loss.adversarial.detach(), real_logits.detach(), fake_logits.detach(), terms)

    def scalars(self, probability: Callable[[torch.Tensor], torch.Tensor] | None = None
                ) -> dict[str, float]:
        """The logged values by tag, read from the device in one transfer: the adversarial
        losses as `loss/generator` and `loss/discriminator` (the same in every run), each term
        as `loss/<name>` and, where `probability` maps D's logits to D(x) (a loss whose D outputs
        a probability), the means `d/real` and `d/fake`."""
        tags = ["loss/generator", "loss/discriminator", *(f"loss/{name}" for name in self.terms)]
        values = [self.g_adversarial, self.d_adversarial, *self.terms.values()]
        if probability is not None:
            tags += ["d/real", "d/fake"]
            values += [probability(self.real_logits).mean(), probability(self.fake_logits).mean()]
        return dict(zip(tags, torch.stack(values).tolist(), strict=True))

class AdversarialStep(ABC):
    """D and G updates on a batch; subclasses order the joint update.

    The objective (`gan.core.objective`) gives each network's loss: the adversarial loss plus
    every term. Remedies (`gan.core.remedies`) update their state after each call's updates.
    With `d_steps`/`g_steps` above 1 (remedy=balance sets them) a call takes `d_steps` real batches
    and `d_steps + g_steps - 1` noise batches, concatenated: D-only updates first, then the
    joint update, then G-only updates.

    On CUDA the whole call is captured once as a graph and replayed (`gan.run.acceleration`),
    so a subclass keeps to tensor work: no host reads, no Python branches on tensor values,
    fixed shapes. One that cannot sets `capturable = False` and runs eager, with a logged reason.
    """

    capturable: bool = True
    batch_dim: int = 0  # of real and z: the batch (K stacked runs put theirs first)

    def __init__(self, generator: Generator, discriminator: Discriminator,
                 g_optimizer: torch.optim.Optimizer, d_optimizer: torch.optim.Optimizer,
                 objective: Objective, remedies: Sequence[Remedy] = (), d_steps: int = 1,
                 g_steps: int = 1) -> None:
        self.generator = generator
        self.discriminator = discriminator
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.objective = objective
        self.remedies = list(remedies)
        if d_steps < 1 or g_steps < 1:
            raise ConfigError(f"step.d_steps and step.g_steps must be >= 1, got {d_steps} and "
                              f"{g_steps}")
        self.d_steps, self.g_steps = d_steps, g_steps
        self.g_parameters = list(generator.parameters())
        self.d_parameters = list(discriminator.parameters())
        # Whether G's loss reads D(x) (the relativistic loss pairs it with D(G(z))): read once
        # here, so the losses that do not (BCE, ...) run the same code as before.
        self.pairs_real_and_fake = getattr(objective.loss, "pairs_real_and_fake", False)

    @property
    def real_batches(self) -> int:
        """Real batches one call consumes."""
        return self.d_steps

    @property
    def noise_batches(self) -> int:
        """Noise batches one call consumes."""
        return self.d_steps + self.g_steps - 1

    def forward(self, real: torch.Tensor, fake: torch.Tensor,
                real_features: torch.Tensor | None = None, draws: Terms | None = None,
                labels: Labels | None = None) -> Forward:
        """D's features and logits on real and generated images (real features reused when
        given: a G update reads them only for terms such as feature matching); `draws` are the
        terms' random tensors, drawn beforehand (`draws`); `labels`, a conditional run's, go
        with them into D.

        A D that normalises by batch statistics sees real and generated images as one batch
        (2B): normalised apart, everything a whole generated batch shares (its brightness, a
        collapse onto one digit) would be divided out before D could see it."""
        if labels is not None:
            return self.conditional_forward(real, fake, real_features, draws, labels)
        if self.discriminator.batch_statistics:
            both = self.discriminator.features(torch.cat([real, fake]))  # (2B / packing, F)
            real_features, fake_features = both.chunk(2)  # real and fake batches are one size
        else:
            if real_features is None:
                real_features = self.discriminator.features(real)
            fake_features = self.discriminator.features(fake)
        return Forward(real, fake, real_features, fake_features,
                       self.discriminator.classify(real_features),
                       self.discriminator.classify(fake_features), self.discriminator,
                       {} if draws is None else draws)

    def conditional_forward(self, real: torch.Tensor, fake: torch.Tensor,
                            real_features: torch.Tensor | None, draws: Terms | None,
                            labels: Labels) -> Forward:
        """`forward` of a conditional run: D reads each batch with its labels (B,)."""
        discriminator = self.discriminator
        if discriminator.batch_statistics:
            both = discriminator.features(torch.cat([real, fake]),
                                          torch.cat([labels.real, labels.fake]))  # (2B, F)
            real_features, fake_features = both.chunk(2)
        else:
            if real_features is None:
                real_features = discriminator.features(real, labels.real)
            fake_features = discriminator.features(fake, labels.fake)
        return Forward(real, fake, real_features, fake_features,
                       discriminator.classify(real_features, labels.real),
                       discriminator.classify(fake_features, labels.fake), discriminator,
                       {} if draws is None else draws, labels)

    def generate(self, z: torch.Tensor, labels: Labels | None) -> torch.Tensor:
        """G(z) (B, C, H, W), of the requested classes where the run is conditional."""
        return self.generator(z) if labels is None else self.generator(z, labels.fake)

    # The three hooks below are where K stacked runs differ from one run
    # (`gan.core.stacking.step`); everything else is the same code for both.

    def compute(self, function: Callable[..., Any], *tensors: Any) -> Any:
        """function(*tensors): the networks' forward and the losses of one phase of the step."""
        return function(*tensors)

    def draws(self, real: torch.Tensor) -> Terms:
        """The random tensors D's terms use on the real batch (B, C, H, W), drawn before the
        forward, in the order the terms come (a gradient penalty's interpolation weights)."""
        return self.objective.draws(real)

    def backward(self, total: torch.Tensor, parameters: list[torch.Tensor],
                 retain_graph: bool = False) -> None:
        """Gradients of a network's whole loss () into its parameters only."""
        total.backward(inputs=parameters, retain_graph=retain_graph)

    def d_loss(self, real: torch.Tensor, z: torch.Tensor, draws: Terms,
               labels: Labels | None = None) -> Loss:
        """D's loss on real (B, C, H, W) and G(z), G held fixed."""
        with torch.no_grad():
            fake = self.generate(z, labels)
        return self.objective.discriminator_loss(self.forward(real, fake, draws=draws,
                                                              labels=labels))

    def g_loss(self, real: torch.Tensor, z: torch.Tensor, labels: Labels | None = None) -> Loss:
        """G's loss on G(z) (the real batch feeds terms such as feature matching)."""
        return self.objective.generator_loss(self.forward(real, self.generate(z, labels),
                                                          labels=labels))

    def both_losses(self, real: torch.Tensor, z: torch.Tensor, draws: Terms,
                    labels: Labels | None = None
                    ) -> tuple[Loss, Loss, torch.Tensor, torch.Tensor]:
        """D's and G's losses from one forward, and D's logits on real and generated (B,)."""
        forward = self.forward(real, self.generate(z, labels), draws=draws, labels=labels)
        return (self.objective.discriminator_loss(forward),
                self.objective.generator_loss(forward), forward.real_logits, forward.fake_logits)

    def update_d(self, real: torch.Tensor, z: torch.Tensor, labels: Labels | None = None
                 ) -> None:
        """One D-only update on real (B, C, H, W) and G(z) held fixed."""
        loss = self.compute(self.d_loss, real, z, self.draws(real), *given(labels))
        self.d_optimizer.zero_grad(set_to_none=True)
        self.backward(loss.total, self.d_parameters)
        self.d_optimizer.step()

    def update_g(self, real: torch.Tensor, z: torch.Tensor, labels: Labels | None = None
                 ) -> None:
        """One G-only update (real images feed terms such as feature matching)."""
        loss = self.compute(self.g_loss, real, z, *given(labels))
        self.g_optimizer.zero_grad(set_to_none=True)
        self.backward(loss.total, self.g_parameters)
        self.g_optimizer.step()

    def __call__(self, real: torch.Tensor, z: torch.Tensor,
                 labels: Labels | None = None) -> StepOutput:
        """All of a call's updates on real (d_steps*B, C, H, W) and z (noise_batches*B, nz),
        with a conditional run's labels of each (d_steps*B,) and (noise_batches*B,)."""
        if self.d_steps == self.g_steps == 1:  # one batch each: no chunk views to make
            output = self.joint(real, z, labels)
            for remedy in self.remedies:
                remedy.after_update()
            return output
        reals = real.chunk(self.real_batches, dim=self.batch_dim)
        zs = z.chunk(self.noise_batches, dim=self.batch_dim)
        batch_labels = self._chunk_labels(labels)
        for index in range(self.d_steps - 1):
            self.update_d(reals[index], zs[index], batch_labels(index, index))
        output = self.joint(reals[-1], zs[self.d_steps - 1],
                            batch_labels(self.d_steps - 1, self.d_steps - 1))
        for index in range(self.g_steps - 1):
            self.update_g(reals[-1], zs[self.d_steps + index],
                          batch_labels(self.d_steps - 1, self.d_steps + index))
        for remedy in self.remedies:
            remedy.after_update()
        return output

    def _chunk_labels(self, labels: Labels | None) -> Callable[[int, int], Labels | None]:
        """The labels of real batch i (B,) and noise batch j (B,) of a call, from the call's
        (d_steps*B,) and (noise_batches*B,) (None: unconditional)."""
        if labels is None:
            return lambda i, j: None
        reals = labels.real.chunk(self.real_batches, dim=self.batch_dim)
        fakes = labels.fake.chunk(self.noise_batches, dim=self.batch_dim)
        return lambda i, j: Labels(reals[i], fakes[j])

    @abstractmethod
    def joint(self, real: torch.Tensor, z: torch.Tensor,
              labels: Labels | None = None) -> StepOutput:
        """The D and G update on one batch real (B, C, H, W) and noise z (B, noise_dim), with a
        conditional run's labels."""

    @torch.no_grad()
    def losses(self, real: torch.Tensor, z: torch.Tensor,
               labels: Labels | None = None) -> dict[str, float]:
        """The current networks' losses on a batch, without updating them: the adversarial ones
        as "generator" and "discriminator", and each term by its name."""
        d_loss, g_loss, real_logits, fake_logits = self.both_losses(real, z, self.draws(real),
                                                                    labels)
        output = StepOutput.detached(g_loss, d_loss, real_logits, fake_logits)
        return {tag.removeprefix("loss/"): value for tag, value in output.scalars().items()}


class SimultaneousStep(AdversarialStep):
    """The seed's step: both gradients from one forward pass, then both updates.

    The seed runs `sess.run([optimizer_gen, optimizer_dis, loss_gen, loss_dis])`: D and G each
    descend their own loss at the same parameters, and the reported losses are those before the
    updates. One G forward and one D forward per batch serve both.
    """

    def joint(self, real: torch.Tensor, z: torch.Tensor,
              labels: Labels | None = None) -> StepOutput:
        """Update D and G together on real (B, C, H, W) and noise z (B, noise_dim)."""
        # D: maximise log D(x) + log(1 - D(G(z))); G: maximise log D(G(z)) (non-saturating).
        d_loss, g_loss, real_logits, fake_logits = self.compute(
            self.both_losses, real, z, self.draws(real), *given(labels))
        self.d_optimizer.zero_grad(set_to_none=True)
        self.g_optimizer.zero_grad(set_to_none=True)
        # Each loss reaches only its own network's parameters: no D weight gradients from the
        # G loss, no G gradients from the D loss.
        self.backward(d_loss.total, self.d_parameters, retain_graph=True)
        self.backward(g_loss.total, self.g_parameters)
        self.d_optimizer.step()
        self.g_optimizer.step()
        return StepOutput.detached(g_loss, d_loss, real_logits, fake_logits)


class AlternatingStep(AdversarialStep):
    """Goodfellow et al.'s Algorithm 1: update D, then update G through the updated D."""

    def joint(self, real: torch.Tensor, z: torch.Tensor,
              labels: Labels | None = None) -> StepOutput:
        """Update D then G on real (B, C, H, W) and noise z (B, noise_dim)."""
        d_loss, fake, real_features, real_logits, fake_logits = self.compute(
            self.d_first, real, z, self.draws(real), *given(labels))
        self.d_optimizer.zero_grad(set_to_none=True)
        self.backward(d_loss.total, self.d_parameters)
        self.d_optimizer.step()
        g_loss = self.compute(self.g_after, real, fake, real_features, *given(labels))
        self.g_optimizer.zero_grad(set_to_none=True)
        self.backward(g_loss.total, self.g_parameters)
        self.g_optimizer.step()
        return StepOutput.detached(g_loss, d_loss, real_logits, fake_logits)

    def d_first(self, real: torch.Tensor, z: torch.Tensor, draws: Terms,
                labels: Labels | None = None
                ) -> tuple[Loss, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """D's loss with G held fixed by a detach; G(z) (B, C, H, W), still differentiable in
        G, and D's real features (B, F) and logits (B,) for the G update."""
        # Update D: maximise log D(x) + log(1 - D(G(z))).
        fake = self.generate(z, labels)  # (B, C, H, W)
        forward = self.forward(real, fake.detach(), draws=draws, labels=labels)
        return (self.objective.discriminator_loss(forward), fake,
                forward.real_features.detach(), forward.real_logits, forward.fake_logits)

    def g_after(self, real: torch.Tensor, fake: torch.Tensor,
                real_features: torch.Tensor, labels: Labels | None = None) -> Loss:
        """G's loss through the freshly updated D: maximise log D(G(z)) (non-saturating); the
        backward pass reaches G's parameters only (D's weight gradients are not needed).

        A loss that pairs D(x) with D(G(z)) (`pairs_real_and_fake`) reads D(x) of the updated
        D, as R3GAN's G phase does, not D's features from before its update. (A D that
        normalises by batch statistics computes them afresh with the fake batch in `forward`,
        and must not see the real batch twice: its running statistics would count it twice.)"""
        if self.pairs_real_and_fake and not self.discriminator.batch_statistics:
            with torch.no_grad():  # a constant of G's loss: no gradient reaches G through it
                real_features = self.discriminator.features(
                    real, None if labels is None else labels.real)  # (B, F)
        return self.objective.generator_loss(self.forward(real, fake, real_features=real_features,
                                                          labels=labels))
