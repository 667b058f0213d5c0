"""What the benchmarks share: a call timed in blocks that alternate with a reference's, so a
noisy machine slows both alike."""

import statistics
import time
from collections.abc import Callable

import torch


def ms_per_call(call: Callable[[], object], calls: int, device: torch.device) -> float:
    """Mean milliseconds of one call over `calls` calls (the device drained before and after)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(calls):
        call()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - started) / calls * 1e3


def paired_medians(call: Callable[[], object], reference: Callable[[], object], calls: int,
                   rounds: int, device: torch.device) -> tuple[float, float]:
    """The median ms per call of `call` and of `reference`, timed in alternating blocks."""
    pairs = [(ms_per_call(call, calls, device), ms_per_call(reference, calls, device))
             for _ in range(rounds)]
    return (statistics.median(mine for mine, _ in pairs),
            statistics.median(theirs for _, theirs in pairs))
