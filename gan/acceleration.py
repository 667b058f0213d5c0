"""The fast path: fused optimizers, channels-last networks, thread count, CUDA-graph replay.

On a GPU this model is bound by launches and Python, not arithmetic, so the whole step (both
forwards, both backwards, both optimizer steps) is captured once as a CUDA graph and replayed.
On a CPU it is bound by arithmetic and memory traffic: fused optimizers, channels-last
convolutions (oneDNN) and a deliberate thread count are what pay there.
"""

import ctypes
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from gan.step import AdversarialStep, StepOutput

log = logging.getLogger(__name__)
WARMUP_STEPS = 3  # eager steps before capture: lazy initialisation, optimizer state, cuDNN


def fast_optimizer(make: Callable[..., torch.optim.Optimizer], parameters: Iterable[nn.Parameter],
                   capturable: bool) -> torch.optim.Optimizer:
    """The optimizer from its partial, fused where it supports that (one kernel, or one
    vectorised loop on the CPU, for all parameters) and capturable for a CUDA graph."""
    accepted = inspect.signature(getattr(make, "func", make)).parameters
    chosen = getattr(make, "keywords", {})  # what the config set explicitly wins
    options: dict[str, Any] = {}
    if "fused" in accepted and not {"fused", "foreach"} & set(chosen):
        options["fused"] = True
    if capturable and "capturable" in accepted and "capturable" not in chosen:
        options["capturable"] = True  # step counts live on the device, updated in the graph
    return make(parameters, **options)


def fast_layout(network: nn.Module, device: torch.device) -> nn.Module:
    """The network on the device, its convolution weights channels-last (NHWC)."""
    return network.to(device, memory_format=torch.channels_last)


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks of up to 32 MB instead of returning them to the
    system; returns whether it could (Linux with glibc only).

    Every CPU step frees and allocates the same activations, a few MB each. By default glibc
    hands such blocks back and the next step page-faults them in again: about a sixth of the
    CNN step's time here (22 ms -> 19 ms/step when they are kept).
    """
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not Linux, or a libc without mallopt
        return False
    # M_MMAP_THRESHOLD (-3) at its 64-bit maximum; M_TRIM_THRESHOLD (-1) far above any step.
    return bool(mallopt(-3, 32 * 2**20)) and bool(mallopt(-1, 2**30))


def set_threads(threads: int) -> int:
    """Use `threads` intra-op CPU threads (0: PyTorch's default, one per physical core);
    returns the count in use."""
    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def configure_process(threads: int) -> None:
    """The process-wide settings a run trains under: its thread count, freed memory kept."""
    count = set_threads(threads)
    kept = keep_freed_memory()
    log.debug(f"{count} CPU threads; freed memory {'kept' if kept else 'returned (default)'}")


class CudaGraphStep:
    """An adversarial step replayed from one CUDA graph, after a few eager warm-up steps.

    The step's inputs must arrive in the same tensors every call (the batcher's batch buffer
    and the noise buffer do); other tensors are copied into them. Everything else (the
    networks, optimizers, losses) is the wrapped step's, so sampling, evaluation and
    checkpoints see the same parameters, updated in place by the graph.
    """

    def __init__(self, step: AdversarialStep, warmup: int = WARMUP_STEPS) -> None:
        self.step = step
        self.warmup = warmup
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.inputs: tuple[torch.Tensor, torch.Tensor] | None = None  # (B, C, H, W), (B, nz)
        self.output: StepOutput | None = None  # the graph's outputs, rewritten each replay

    def __getattr__(self, name: str) -> Any:
        """generator, discriminator, optimizers, losses(): those of the wrapped step."""
        if name == "step":  # not yet set (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.step, name)

    def __call__(self, real: torch.Tensor, z: torch.Tensor) -> StepOutput:
        """Eager for the first `warmup` calls, then capture once, then replay."""
        self.calls += 1
        if self.calls <= self.warmup:
            return self._eager(real, z)
        if self.graph is None:
            return self._capture(real, z)
        static_real, static_z = self.inputs
        if real.data_ptr() != static_real.data_ptr():
            static_real.copy_(real)
        if z.data_ptr() != static_z.data_ptr():
            static_z.copy_(z)
        self.graph.replay()
        return self.output

    def _eager(self, real: torch.Tensor, z: torch.Tensor) -> StepOutput:
        """A plain step on a side stream, as capture's warm-up must be."""
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            output = self.step(real, z)
        torch.cuda.current_stream().wait_stream(side)
        return output

    def _capture(self, real: torch.Tensor, z: torch.Tensor) -> StepOutput:
        """Record one whole step (this call's update) into the graph."""
        self.inputs = (real, z)
        self.graph = torch.cuda.CUDAGraph()
        torch.cuda.synchronize()
        with torch.cuda.graph(self.graph):
            self.output = self.step(real, z)
        self.graph.replay()  # capture records without running: this call's step runs here
        log.info("training step captured as a CUDA graph")
        return self.output

    def invalidate(self) -> None:
        """Forget the graph (after optimizer state is replaced); the next call captures anew."""
        self.graph, self.inputs, self.output = None, None, None
