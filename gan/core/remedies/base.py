"""What a remedy may change: each hook leaves things as they are unless a remedy overrides it."""

from typing import Any

import torch

from gan.core.networks import Discriminator, Generator
from gan.core.objective import Forward, Terms


class Remedy:
    """A trick against mode collapse, plugged in at fixed points; every node of the `remedy`
    config group is one (its `_target_` a subclass), selected as `remedy=[a,b]`.

    A remedy that only sets an option of another part (a loss's `real_target`, D's `packing`
    or `batch_layer`, the step's `d_steps`) is no class but a preset, a `# @package _global_`
    file in conf/remedy/ (see docs/architecture.md); a class is for behaviour.

    In the order they are used: `attach` (state read from, or flags set on, the built
    networks), `draws` (random tensors its terms use), `discriminator_terms`/`generator_terms`
    (its part of the objective, see `gan.core.objective.Term`), `after_update` (after each
    step's updates), `sampler` (a generator to sample from instead of the trained one),
    `before_sampling` (outside the step, before samples, metrics or a checkpoint read it), and
    `state_dict`/`load_state_dict` (what a checkpoint keeps). Hooks run inside the captured
    CUDA-graph step, so they keep to tensor work (no host reads).
    """

    replaces_generator_loss: bool = False  # G's loss is this remedy's terms alone
    # Why K runs with this remedy cannot train as one stack (`gan.core.stacking`); "" if they
    # can: the remedy keeps no per-run state that its terms read and draws nothing in D's forward.
    not_stackable: str = ""
    # Settings (attribute names, floats) that may differ between the runs of one stack: each
    # run's value reaches its own terms inside the vmap (`gan.core.stacking.step`).
    per_run: tuple[str, ...] = ()

    def attach(self, generator: Generator, discriminator: Discriminator) -> None:
        """Set up state that reads the built networks' parameters (before the optimizers are
        made); changes to a network stay in place (its parameters the same objects)."""

    def draws(self, real: torch.Tensor) -> Terms:
        """The random tensors its D terms use on the real batch (B, C, H, W), by name; drawn
        before the forward (each stacked run from its own stream) and read from
        `forward.draws`."""
        return {}

    def discriminator_terms(self, forward: Forward) -> Terms:
        """What this remedy adds to D's loss, by name."""
        return {}

    def generator_terms(self, forward: Forward) -> Terms:
        """What this remedy adds to G's loss, by name."""
        return {}

    def after_update(self) -> None:
        """Run after each call's updates (in place: running averages)."""

    def state_dict(self) -> dict[str, Any]:
        """State a checkpoint must keep to continue the run exactly (tensors, lists, numbers)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict`'s state, in place (a captured CUDA graph holds the tensors)."""

    def before_sampling(self) -> None:
        """Run outside the step, before samples, metrics or a checkpoint read the generator
        samples come from (host work is fine here: it runs at those intervals only)."""

    def sampler(self) -> Generator | None:
        """A generator to draw samples and metrics from instead of the trained one, if any."""
        return None
