"""What a run computed on: what a rerun must match to end on the same numbers bit for bit.

Measured on this 2-core CPU (seed 1, 1,000 FC steps, `eval.every=0`): `train.threads=1` ends at
G loss 3.85341, `train.threads=2` at 3.85369, each the same to the last bit when run again. A
thread count splits a sum (a matrix product, a reduction) into other partial sums, which round
otherwise; so do another kernel (the CPU capability PyTorch dispatches to, and oneMKL's and
oneDNN's choices by CPU model: `tests/test_pinned_losses.py` saw two Xeons that PyTorch calls
AVX512 round differently) and another PyTorch. On CUDA the kernels are the GPU's and its CUDA
libraries', and gan-lab does not ask PyTorch for deterministic algorithms (they cost speed).
"""

import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

CPUINFO = Path("/proc/cpuinfo")
# metrics.json's keys for it, in the order `described` gives them; gpu and cuda on CUDA only.
COMPUTED_ON = ("device", "gpu", "cuda", "threads", "cpu_capability", "cpu", "torch")


def cpu_model() -> str | None:
    """The CPU's model name as the system gives it (`/proc/cpuinfo` on Linux), or None."""
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("model name") and ":" in line:
                return " ".join(line.split(":", 1)[1].split())
    except OSError:  # no /proc: not Linux
        pass
    return platform.processor() or None


def computed_on(device: "torch.device") -> dict[str, Any]:
    """This process's device, CPU threads, CPU capability and model, PyTorch version and, on
    CUDA, the GPU and CUDA version: flat, for metrics.json (the keys of COMPUTED_ON)."""
    import torch  # here, not above: `python -m gan.runs` reads records and must start at once

    record = {"device": str(device), "threads": torch.get_num_threads(),
              "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpu": cpu_model(),
              "torch": torch.__version__}
    if device.type == "cuda":
        record |= {"gpu": torch.cuda.get_device_name(device), "cuda": torch.version.cuda}
    return record


def described(record: dict[str, Any]) -> str:
    """A record (metrics.json's keys of COMPUTED_ON) in one line, `cpu, 2 threads, AVX512 (Intel
    Xeon ...), torch 2.14.1`, with what it holds: a run from before the CPU and PyTorch were
    recorded gives `cpu, 2 threads`; one with none of it, an empty line."""
    parts = []
    if record.get("device"):
        gpu = ", ".join(str(record[name]) if name == "gpu" else f"CUDA {record[name]}"
                        for name in ("gpu", "cuda") if record.get(name))
        parts.append(f"{record['device']} ({gpu})" if gpu else str(record["device"]))
    if record.get("threads"):
        parts.append(f"{record['threads']} thread{'' if record['threads'] == 1 else 's'}")
    if record.get("cpu_capability"):
        cpu = f" ({record['cpu']})" if record.get("cpu") else ""
        parts.append(f"{record['cpu_capability']}{cpu}")
    if record.get("torch"):
        parts.append(f"torch {record['torch']}")
    return ", ".join(parts)
