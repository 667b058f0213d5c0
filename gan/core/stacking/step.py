"""K runs of one set-up trained as one step: each parameter stacked (K, *shape), every phase of
the step's losses computed for all runs at once by `torch.func.vmap`, one backward for all,
then each run's own optimizer on its slice (`RunOptimizers`).

The runs are built first as ordinary steps (each from its own seed, so each starts where its
single run would), then stacked: each run's parameters become views of its slice of the
stacked ones, so sampling, evaluation and checkpoints read each run through its own networks.
The step class is the runs' own (`SimultaneousStep`, `AlternatingStep`): its code is the same
for one run and for K; only its hooks `compute`, `draws` and `backward` differ here. Each run
draws its random numbers (data order, noise, a gradient penalty's weights) from its own stream
(`RunRandom`), outside the vmap, so K stacked runs reproduce K single runs.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn.utils.stateless import _reparametrize_module

from gan.core.objective import Terms
from gan.core.step import AdversarialStep


class NotStackable(ValueError):
    """These runs cannot train as one stack; the message says why, in one line."""


class RunRandom:
    """Each run's torch random state, swapped into the global generators around that run's
    draws: code that draws from the global generator (`torch.rand`, `randperm`, `uniform_`)
    draws run k's numbers inside `with random.run(k)`, as its single run would."""

    def __init__(self, runs: int, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.states = [self._get() for _ in range(runs)]

    @property
    def runs(self) -> int:
        """K."""
        return len(self.states)

    def _get(self) -> tuple[torch.Tensor, ...]:
        """The global CPU state, and the current CUDA device's where the runs use CUDA."""
        return (torch.get_rng_state(), *([torch.cuda.get_rng_state()] if self.cuda else []))

    def _set(self, state: tuple[torch.Tensor, ...]) -> None:
        torch.set_rng_state(state[0])
        if self.cuda:
            torch.cuda.set_rng_state(state[1])

    @contextmanager
    def run(self, k: int) -> Iterator[None]:
        """Draw as run k inside the block; the global state outside it is left as it was."""
        outside = self._get()
        self._set(self.states[k])
        try:
            yield
        finally:
            self.states[k] = self._get()
            self._set(outside)

    def capture(self, k: int) -> None:
        """Take the global state now as run k's (after run k's networks drew their weights)."""
        self.states[k] = self._get()


def why_not_stacked(run: AdversarialStep) -> str | None:
    """Why this run's set-up cannot be one of a stack, or None where it can. Each part says
    for itself (`not_stackable`, a reason): the networks, the loss, every remedy."""
    parts = [*run.remedies, run.objective.loss, run.generator, run.discriminator]
    return next((reason for part in parts if (reason := getattr(part, "not_stackable", ""))),
                None)


def stack_parameters(networks: Sequence[nn.Module]) -> dict[str, nn.Parameter]:
    """One (K, *shape) parameter per name from K networks of one architecture; afterwards each
    network's parameter is a view of its slice (updating the stack updates every network).
    Raises ValueError where the networks differ in their parameters or hold buffers."""
    names = {name: p.shape for name, p in networks[0].named_parameters()}
    for network in networks:
        if {name: p.shape for name, p in network.named_parameters()} != names:
            raise ValueError("stacked runs need networks of one architecture (the same "
                             "parameter names and shapes)")
        if any(True for _ in network.buffers()):
            raise ValueError(f"{type(network).__name__} keeps buffers (running state), which "
                             "stacked runs cannot update")
    stacked = {}
    for name in names:
        own = [network.get_parameter(name) for network in networks]
        stacked[name] = nn.Parameter(torch.stack([p.detach() for p in own]))  # (K, *shape)
        for k, parameter in enumerate(own):
            parameter.data = stacked[name].data[k]  # a view: the run sees every update
    return stacked


class RunOptimizers:
    """How a stack's parameters are updated: each run's own optimizer (torch's Adam or SGD,
    fused where the run made it so) steps that run's parameters, which are views of its slice
    of the stack, on its slice of the stacked gradients. Each run's update is exactly its
    single run's, and its optimizer state is a single run's as it stands (what its checkpoint
    saves). K optimizer calls per update. (One stacked Adam for all runs, a single `foreach`
    pass with per-run learning rates, measured slower on this CPU and was removed.)"""

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

    def stop_run(self, k: int) -> None:
        """Run k updates no more (it diverged): its learning rate goes to 0."""
        for group in self.optimizers[k].param_groups:
            group["lr"] = 0.0


class Stacked(AdversarialStep):
    """The hooks of a step that trains K runs at once: batches (K, B, ...), losses (K,).

    Mixed in before a step class by `stack` (`StackedSimultaneousStep`, ...). `runs` are the
    K single steps, whose networks are views of the stacked parameters and whose remedies
    (EMA, ...) each update their own run after every call.
    """

    batch_dim = 1  # (K, B, ...): the runs first

    def setup(self, runs: Sequence[AdversarialStep], random: RunRandom) -> None:
        """Stack the runs' networks (K = len(runs)); each run's own optimizer updates its slice
        (`RunOptimizers`)."""
        template = runs[0]
        self.runs, self.random = list(runs), random
        self.g_stacked = stack_parameters([run.generator for run in runs])
        self.d_stacked = stack_parameters([run.discriminator for run in runs])
        AdversarialStep.__init__(
            self, template.generator, template.discriminator,
            RunOptimizers(list(self.g_stacked.values()), [run.g_optimizer for run in runs],
                          [list(run.generator.parameters()) for run in runs]),
            RunOptimizers(list(self.d_stacked.values()), [run.d_optimizer for run in runs],
                          [list(run.discriminator.parameters()) for run in runs]),
            template.objective, [remedy for run in runs for remedy in run.remedies],
            template.d_steps, template.g_steps)
        self.g_parameters = list(self.g_stacked.values())
        self.d_parameters = list(self.d_stacked.values())
        self.settings = self._per_run_settings()

    def _per_run_settings(self) -> dict[tuple[int, str], torch.Tensor]:
        """Each term's per-run settings (`per_run`: a penalty's weight, ...), (K,) per setting,
        keyed by the term's place in the objective and the setting's name."""
        device = self.g_parameters[0].device
        return {(index, name): torch.tensor([float(getattr(run.objective.terms[index], name))
                                             for run in self.runs], device=device)
                for index, term in enumerate(self.objective.terms)
                for name in getattr(term, "per_run", ())}

    def compute(self, function: Callable[..., Any], *tensors: Any) -> Any:
        """function(*tensors) for every run at once: the template networks (run 0's) take run
        k's parameters inside the vmap, its terms run k's settings, and each tensor's first
        dimension is the run."""
        def one_run(g_parameters: dict, d_parameters: dict, settings: dict,
                    *run_tensors: Any) -> Any:
            with ExitStack() as swapped:
                swapped.enter_context(_reparametrize_module(self.generator, g_parameters))
                swapped.enter_context(_reparametrize_module(self.discriminator, d_parameters))
                swapped.enter_context(_settings(self.objective.terms, settings))
                return function(*run_tensors)
        return torch.func.vmap(one_run)(self.g_stacked, self.d_stacked, self.settings, *tensors)

    def draws(self, real: torch.Tensor) -> Terms:
        """Each run's draws from its own stream, stacked (K, ...)."""
        drawn = []
        for k, run in enumerate(self.runs):
            with self.random.run(k):
                drawn.append(run.draws(real[k]))
        return {name: torch.stack([run_draws[name] for run_draws in drawn])
                for name in drawn[0]}

    def backward(self, total: torch.Tensor, parameters: list[torch.Tensor],
                 retain_graph: bool = False) -> None:
        """The runs' losses (K,) summed: run k's loss reaches run k's slice alone."""
        total.sum().backward(inputs=parameters, retain_graph=retain_graph)


@contextmanager
def _settings(terms: Sequence[Any], settings: dict[tuple[int, str], torch.Tensor]
              ) -> Iterator[None]:
    """The terms with these settings (run k's, inside the vmap) for the block, then their own."""
    own = {key: getattr(terms[key[0]], key[1]) for key in settings}
    try:
        for (index, name), value in settings.items():
            setattr(terms[index], name, value)
        yield
    finally:
        for (index, name), value in own.items():
            setattr(terms[index], name, value)


def stack(runs: Sequence[AdversarialStep], random: RunRandom) -> AdversarialStep:
    """One step that trains the K runs together; raises NotStackable (one line, the reason)
    where their set-ups cannot stack: different step kinds, or a part that says it cannot."""
    kinds = {type(run) for run in runs}
    if len(kinds) != 1:
        raise NotStackable("stacked runs need one kind of step")
    for run in runs:
        reason = why_not_stacked(run)
        if reason:
            raise NotStackable(f"this set-up cannot be stacked: {reason}")
    kind = kinds.pop()
    stacked_kind = type(f"Stacked{kind.__name__}", (Stacked, kind), {})
    step = stacked_kind.__new__(stacked_kind)
    step.setup(runs, random)
    return step
