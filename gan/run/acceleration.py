"""Where and how fast a run computes: the device (`auto`, `cpu`, `cuda`, `cuda:N`, checked once),
and the fast path: fused optimizers, channels-last networks, thread count, CUDA-graph replay.

On a GPU this model is bound by launches and Python, not arithmetic, so the whole step (both
forwards, both backwards, both optimizer steps) is captured once as a CUDA graph and replayed.
On a CPU it is bound by arithmetic and memory traffic: fused optimizers, channels-last
convolutions (oneDNN) and a deliberate thread count are what pay there.
"""

import ctypes
import inspect
import logging
import os
import re
import time
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim import optimizer as torch_optimizer  # for its global step hooks

from gan.core.objective import Labels
from gan.core.step import AdversarialStep, StepOutput
from gan.errors import ConfigError

log = logging.getLogger(__name__)
WARMUP_STEPS = 3  # eager steps before capture: lazy initialisation, optimizer state, cuDNN
DEFAULT_THREADS = torch.get_num_threads()  # PyTorch's own choice, before any run set another
_ONE = torch.ones(())  # () float32 on the CPU: what a lean Adam step adds to each step count


def fast_optimizer(make: Callable[..., torch.optim.Optimizer], parameters: Iterable[nn.Parameter],
                   capturable: bool) -> torch.optim.Optimizer:
    """The optimizer from its partial, fused where it supports that (one kernel, or one
    vectorised loop on the CPU, for all parameters) and capturable for a CUDA graph; a fused
    Adam or AdamW steps through `lean_adam_step` (the same kernels, less Python per call)."""
    accepted = inspect.signature(getattr(make, "func", make)).parameters
    chosen = getattr(make, "keywords", {})  # what the config set explicitly wins
    options: dict[str, Any] = {}
    if "fused" in accepted and not {"fused", "foreach"} & set(chosen):
        options["fused"] = True
    if capturable and "capturable" in accepted and "capturable" not in chosen:
        options["capturable"] = True  # step counts live on the device, updated in the graph
    optimizer = make(parameters, **options)
    if type(optimizer) in (torch.optim.Adam, torch.optim.AdamW):
        lean_adam(optimizer)
    return optimizer


def lean_adam(optimizer: torch.optim.Optimizer) -> None:
    """Give a fused Adam (or AdamW) `lean_adam_step` and `lean_zero_grad` as its `step` and
    `zero_grad`, bound to it as instance attributes (its class keeps its own).

    The FC step on the CPU spends some 0.7 ms of its ~3.5 ms outside arithmetic, in Python and
    operator dispatch; torch.optim's wrapper around the two kernels of an update (a profiler
    range, hook lists, the accelerator's capture check, the tensors regrouped by device and
    dtype) is some 20 us of each of the step's two updates (docs/performance.md).
    """
    optimizer.step = types.MethodType(lean_adam_step, optimizer)  # type: ignore[method-assign]
    optimizer.zero_grad = types.MethodType(lean_zero_grad,  # type: ignore[method-assign]
                                           optimizer)


def lean_adam_step(optimizer: torch.optim.Optimizer,
                   closure: Callable[[], Any] | None = None) -> Any:
    """`optimizer.step(closure)` of a fused Adam: in the plain case (`_plain_adam`) the two
    kernels `Adam.step` ends in, the step counts' +1 then `torch._fused_adam_`, on the same
    tensors with the same settings, so the update is bit for bit the same (a step count is a
    float32 whole number: adding a float32 1 is the same sum as adding the integer 1);
    otherwise the optimizer's own `step`."""
    tensors = None if closure is not None else _plain_adam(optimizer)
    if tensors is None:
        return type(optimizer).step(optimizer, closure)
    group = optimizer.param_groups[0]
    update = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
    beta1, beta2 = group["betas"]
    params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = tensors
    with torch.no_grad():
        # + a float32 1 from a list: the same sums as Adam's `+ 1`, without wrapping the scalar
        # once per parameter (half the time of this call on the CPU)
        torch._foreach_add_(steps, [_ONE] * len(steps))
        update(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
               amsgrad=group["amsgrad"], lr=group["lr"], beta1=beta1, beta2=beta2,
               weight_decay=group["weight_decay"], eps=group["eps"],
               maximize=group["maximize"], grad_scale=None, found_inf=None)
    return None


def lean_zero_grad(optimizer: torch.optim.Optimizer, set_to_none: bool = True) -> None:
    """`optimizer.zero_grad(set_to_none)`: every parameter's gradient dropped (None), or zeroed
    the optimizer's own way."""
    if not set_to_none:
        type(optimizer).zero_grad(optimizer, set_to_none=False)
        return
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            parameter.grad = None


def _plain_adam(optimizer: torch.optim.Optimizer) -> tuple[list[torch.Tensor], ...] | None:
    """The update's tensor lists (parameters, gradients, the two averages, the maxima, the step
    counts) where `Adam.step` would make exactly these two calls on them; None where it might
    not, looked at on every call (settings, state and hooks may change between steps): step
    hooks, several parameter groups, a parameter without a gradient or still without state (the
    first step makes it), a tensor not float32 on the CPU, capturable, differentiable or not
    fused, a setting given as a tensor, a gradient scaler's attributes."""
    if (len(optimizer.param_groups) != 1 or optimizer._optimizer_step_pre_hooks
            or optimizer._optimizer_step_post_hooks or torch_optimizer._global_optimizer_pre_hooks
            or torch_optimizer._global_optimizer_post_hooks
            or hasattr(optimizer, "grad_scale") or hasattr(optimizer, "found_inf")):
        return None
    group = optimizer.param_groups[0]
    if (not group["fused"] or group["capturable"] or group["differentiable"]
            or any(isinstance(value, torch.Tensor) for value in (
                group["lr"], group["weight_decay"], group["eps"], *group["betas"]))):
        return None
    params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = [], [], [], [], [], []
    amsgrad, state = group["amsgrad"], optimizer.state
    for parameter in group["params"]:
        grad, kept = parameter.grad, state.get(parameter)
        if (grad is None or not kept or parameter.dtype != torch.float32
                or parameter.device.type != "cpu" or grad.is_sparse):
            return None
        params.append(parameter)
        grads.append(grad)
        exp_avgs.append(kept["exp_avg"])
        exp_avg_sqs.append(kept["exp_avg_sq"])
        if amsgrad:
            max_exp_avg_sqs.append(kept["max_exp_avg_sq"])
        steps.append(kept["step"])
    return params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps


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


def free_cores(interval: float = 0.1) -> float | None:
    """How many of this process's cores other processes left idle over `interval` seconds,
    from the kernel's per-CPU time counters (/proc/stat); None where there are none (not
    Linux). This process sleeps meanwhile, so what is busy is other work."""
    allowed = getattr(os, "sched_getaffinity", lambda _: None)(0)
    try:
        before = _cpu_times(allowed)
        time.sleep(interval)
        after = _cpu_times(allowed)
    except OSError:
        return None
    free = 0.0
    for cpu, (total, idle) in after.items():
        spent = total - before[cpu][0]
        free += (idle - before[cpu][1]) / spent if spent > 0 else 1.0
    return free if after else None


def _cpu_times(allowed: set[int] | None) -> dict[int, tuple[int, int]]:
    """Each allowed CPU's (total, idle) time so far, in clock ticks (idle counts I/O wait)."""
    times = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            cpu, ticks = int(name[3:]), [int(field) for field in fields]
            if allowed is None or cpu in allowed:
                times[cpu] = (sum(ticks[:8]), ticks[3] + ticks[4])  # to steal; idle + iowait
    return times


def threads_for_now() -> int:
    """The CPU threads a run takes where `train.threads` is 0: PyTorch's default (one per
    physical core) on idle cores, one fewer for each core other work keeps busy, at least 1.

    A step's threads wait for each other at every operator; where another process holds one
    of the cores, the thread that shares it makes the others spin, and the step collapses
    (`python bench/threads.py`, FC on this 2-core CPU: 2 threads 352 steps/s idle but 50
    beside one busy process, where 1 thread keeps 245). OpenMP's waiting policies trade one
    case for the other (passive: 179 idle, 224 busy). Chosen once, as the run starts, and
    saved in its config: the thread count changes the rounding, so a resume must keep it."""
    default = DEFAULT_THREADS
    free = free_cores()
    if free is None:
        return default
    busy = round(len(os.sched_getaffinity(0)) - free)
    return max(1, min(default, default - busy))


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

    Each call copies its batch and noise into the graph's own input buffers and replays. The
    networks, optimizers and loss are the wrapped step's, so sampling, evaluation and
    checkpoints see the same parameters, which the graph updates in place. The returned
    `StepOutput` is the graph's own output tensors: the next replay overwrites them, so read
    (or clone) them before the next step. Loading an optimizer's state replaces the tensors
    the graph updates: that forgets the graph, and the step warms up and captures again.
    """

    _OWN = frozenset({"adversarial", "device", "warmup", "calls", "graph", "inputs", "output"})

    def __init__(self, adversarial: AdversarialStep, device: torch.device,
                 warmup: int = WARMUP_STEPS) -> None:
        self.__dict__.update(adversarial=adversarial, device=device, warmup=warmup)
        self.invalidate()
        for optimizer in (adversarial.g_optimizer, adversarial.d_optimizer):
            optimizer.register_load_state_dict_post_hook(lambda _: self.invalidate())

    def __getattr__(self, name: str) -> Any:
        """generator, discriminator, optimizers, losses(): those of the wrapped step."""
        if name in CudaGraphStep._OWN:  # not yet set (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.adversarial, name)

    def __setattr__(self, name: str, value: Any) -> None:
        """Own state stays here; anything else changes the wrapped step, and the graph."""
        if name in CudaGraphStep._OWN:
            self.__dict__[name] = value
        else:
            setattr(self.adversarial, name, value)
            self.invalidate()

    def __call__(self, real: torch.Tensor, z: torch.Tensor,
                 labels: Labels | None = None) -> StepOutput:
        """Eager for the first `warmup` calls, then capture once, then replay (a conditional
        run's labels are inputs of the graph too)."""
        values = (real, z) if labels is None else (real, z, *labels)
        with torch.cuda.device(self.device):
            self.calls += 1
            if self.calls <= self.warmup:
                return self._eager(values)
            if self.graph is None:
                self._capture(values)
            else:
                self._load(values)
                self.graph.replay()
            return self.output

    @staticmethod
    def _step_inputs(values: tuple[torch.Tensor, ...]) -> tuple[Any, ...]:
        """The step's arguments from the flat inputs: real, z and, where given, their labels."""
        real, z, *labels = values
        return (real, z) if not labels else (real, z, Labels(*labels))

    def _load(self, values: tuple[torch.Tensor, ...]) -> None:
        """Copy the batch (B, C, H, W), noise (B, noise_dim) and any labels (B,) into the
        graph's inputs."""
        for buffer, value in zip(self.inputs, values, strict=True):
            if (value.shape, value.dtype, value.device) != (buffer.shape, buffer.dtype,
                                                            buffer.device):
                raise ValueError(f"the captured step takes {tuple(buffer.shape)} {buffer.dtype} "
                                 f"on {buffer.device}, got {tuple(value.shape)} {value.dtype} "
                                 f"on {value.device}")
            buffer.copy_(value)

    def _eager(self, values: tuple[torch.Tensor, ...]) -> StepOutput:
        """A plain step on a side stream, as capture's warm-up must be."""
        side = torch.cuda.Stream(device=self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            output = self.adversarial(*self._step_inputs(values))
        torch.cuda.current_stream(self.device).wait_stream(side)
        return output

    def _capture(self, values: tuple[torch.Tensor, ...]) -> None:
        """Record one whole step into the graph, then replay it for this call's update."""
        self.inputs = tuple(torch.empty_like(value) for value in values)  # the graph's own
        self._load(values)
        graph = torch.cuda.CUDAGraph()
        torch.cuda.synchronize(self.device)
        with torch.cuda.graph(graph, stream=torch.cuda.Stream(device=self.device)):
            self.output = self.adversarial(*self._step_inputs(self.inputs))
        self.graph = graph
        graph.replay()  # capture records without running: this call's step runs here
        log.info(f"training step captured as a CUDA graph on {self.device}")

    def invalidate(self) -> None:
        """Forget the graph; the next calls warm up and capture anew."""
        self.calls, self.graph, self.inputs, self.output = 0, None, None, None


# The device.

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device_name(name: str, key: str = "device") -> None:
    """Refuse a device name that is none of the four forms; `key` is the setting it came from."""
    if not DEVICE_PATTERN.fullmatch(name):
        raise ConfigError(f"{key} must be auto, cpu, cuda or cuda:N, got {name!r}")


def resolve_device(name: str, key: str = "train.device") -> torch.device:
    """`auto` is CUDA when available, else the CPU; asking for CUDA without it is refused."""
    check_device_name(name, key)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{key}={name} but CUDA is not available here; use {key}=cpu or auto")
    return device
