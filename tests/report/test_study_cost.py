"""The step cost timed in pairs: what bench/setup_cost.py writes is what gan.study reads."""

from pathlib import Path

import pytest
import torch

from gan.report.study_cost import read_costs
from tests.conftest import REPO


def test_the_bench_writes_what_the_study_reads(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import setup_cost  # bench/, as `python bench/setup_cost.py` finds its neighbours

    out = tmp_path / "fc" / "step_cost.json"
    threads = torch.get_num_threads()
    try:  # the bench sets one thread, as the studies train
        setup_cost.main(["discriminator=fc", "setups=r1,label_smoothing", "steps=2",
                         "rounds=1", f"out={out}"])
    finally:
        torch.set_num_threads(threads)
    costs = read_costs(tmp_path)["fc"]
    assert sorted(costs) == ["label_smoothing", "none", "r1"]
    assert costs["none"].ratio == 1.0 and costs["r1"].ms > 0 and costs["r1"].none_ms > 0
    assert costs["r1"].ratio == pytest.approx(costs["r1"].ms / costs["r1"].none_ms)
    assert costs["r1"].source.startswith(
        "`python bench/setup_cost.py discriminator=fc setups=r1,label_smoothing steps=2 "
        "rounds=1` (cpu, 1 thread, the median of 1 paired blocks of 2 steps)")
