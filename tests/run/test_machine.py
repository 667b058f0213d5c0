"""What a run computed on: recorded for metrics.json, said in one line."""

import platform
from pathlib import Path

import pytest
import torch

from gan.run import machine
from gan.run.machine import COMPUTED_ON, computed_on, described


def test_the_cpu_record_names_threads_kernels_model_and_torch() -> None:
    record = computed_on(torch.device("cpu"))
    assert list(record) == [name for name in COMPUTED_ON if name not in ("gpu", "cuda")]
    assert record["threads"] == torch.get_num_threads() >= 1
    assert record["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert described(record) == (f"cpu, {record['threads']} thread"
                                 f"{'' if record['threads'] == 1 else 's'}, "
                                 f"{record['cpu_capability']} ({record['cpu']}), torch "
                                 f"{torch.__version__}")


def test_a_cuda_record_names_the_gpu_and_cuda_first() -> None:
    record = {"device": "cuda:0", "gpu": "NVIDIA H100 80GB HBM3", "cuda": "13.0", "threads": 16,
              "cpu_capability": "AVX512", "cpu": None, "torch": "2.14.1"}
    assert described(record) == ("cuda:0 (NVIDIA H100 80GB HBM3, CUDA 13.0), 16 threads, "
                                 "AVX512, torch 2.14.1")
    assert described({}) == ""  # a failed run's metrics.json records none of it


def test_without_proc_cpuinfo_the_model_comes_from_platform(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(machine, "CPUINFO", tmp_path / "missing")
    assert machine.cpu_model() == (platform.processor() or None)
