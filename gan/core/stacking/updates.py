"""How a stack's parameters are updated, two ways behind one interface (what `Stacked` steps
and what a stacked run's checkpoint reads):

- `RunOptimizers` (the default): each run's own optimizer (torch's Adam or SGD, fused where the
  run made it so) steps that run's parameters, which are views of its slice of the stack, on
  its slice of the stacked gradients: each run's update is exactly its single run's, and its
  optimizer state is a single run's as it stands. K optimizer calls per update.
- `OneOptimizer`: one `StackedAdam` / `StackedSGD` over the stacked parameters, each run's
  learning rate and betas as (K,) tensors (`gan.core.stacking.optim`): one foreach pass for all
  runs, whatever K. On this CPU it measured slower (docs/sweeps.md, "Many runs in one process").
"""

from collections.abc import Sequence

import torch

from gan.core.stacking.optim import (
    StackedAdam,
    StackedSGD,
    load_single_states,
    single_state,
)


class RunOptimizers:
    """The runs' own optimizers on their slices of the stacked parameters (K, ...)."""

    def __init__(self, stacked: Sequence[torch.Tensor], optimizers: Sequence[torch.optim.Optimizer],
                 parameters: Sequence[Sequence[torch.Tensor]]) -> None:
        self.stacked, self.optimizers, self.parameters = list(stacked), list(optimizers), parameters

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop the stacked gradients (the runs' are views of them)."""
        for parameter in self.stacked:
            parameter.grad = None

    def step(self) -> None:
        """Each run's optimizer steps, its parameters given their slice of the gradients."""
        for k, (optimizer, own) in enumerate(zip(self.optimizers, self.parameters, strict=True)):
            for mine, stacked in zip(own, self.stacked, strict=True):
                mine.grad = None if stacked.grad is None else stacked.grad[k]
            optimizer.step()

    def to_run(self, k: int, own: torch.optim.Optimizer) -> None:
        """Nothing to do: run k's optimizer holds its state."""

    def from_runs(self, owns: Sequence[torch.optim.Optimizer]) -> None:
        """Nothing to do: each run's optimizer was restored with its run."""

    def stop_run(self, k: int) -> None:
        """Run k updates no more (it diverged): its learning rate goes to 0."""
        for group in self.optimizers[k].param_groups:
            group["lr"] = 0.0


class OneOptimizer:
    """One stacked optimizer over all runs, with each run's settings (`stacked_optimizer`)."""

    def __init__(self, optimizer: StackedAdam | StackedSGD) -> None:
        self.optimizer = optimizer

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        self.optimizer.step()

    def to_run(self, k: int, own: torch.optim.Optimizer) -> None:
        """Put run k's slice of the state into its own optimizer (keeping its flags: fused,
        ...), so the run's checkpoint is a single run's."""
        flags = {key: value for key, value in own.param_groups[0].items()
                 if isinstance(value, bool) or value is None}
        parameters = [p for group in own.param_groups for p in group["params"]]
        own.load_state_dict(single_state(self.optimizer, k, parameters, options=flags))

    def from_runs(self, owns: Sequence[torch.optim.Optimizer]) -> None:
        """Take each run's state from its own optimizer (a resumed stack)."""
        load_single_states(self.optimizer, [own.state_dict() for own in owns])

    def stop_run(self, k: int) -> None:
        """Run k updates no more (it diverged): its learning rate goes to 0."""
        for group in self.optimizer.param_groups:
            group["lr"][k] = 0.0


Updates = RunOptimizers | OneOptimizer
