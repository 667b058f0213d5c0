"""A run's evaluations read back from its TensorBoard events, as the study's curves use them."""

import logging
from pathlib import Path

import pytest
from torch.utils.tensorboard import SummaryWriter

from gan.report.history import eval_history


def test_each_metric_comes_back_in_step_order(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer:
        for step, fid in ((0, 700.0), (2000, 300.0), (1000, 500.0)):
            writer.add_scalar("eval/fid", fid, step)
        writer.add_scalar("loss/generator", 1.0, 0)
    assert eval_history(tmp_path, ("fid", "recall")) == {
        "fid": [(0, 700.0), (1000, 500.0), (2000, 300.0)], "recall": []}


def test_a_resumed_run_reads_as_tensorboard_shows_it(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    # Killed after logging step 2000 with its last checkpoint at step 1000: the resumed run
    # purges what came after the checkpoint and logs those steps again.
    with SummaryWriter(str(tmp_path)) as writer:
        for step in (0, 1000, 2000):
            writer.add_scalar("eval/fid", 700.0 - step / 10, step)
    with SummaryWriter(str(tmp_path), purge_step=1001) as writer:
        writer.add_scalar("eval/fid", 123.0, 2000)
    with caplog.at_level(logging.WARNING):
        assert eval_history(tmp_path, ("fid",))["fid"] == [
            (0, 700.0), (1000, 600.0), (2000, 123.0)]
    assert not caplog.records  # the purge is what resuming does, not a warning for the page


def test_a_run_without_events_has_no_history(tmp_path: Path) -> None:
    assert eval_history(tmp_path, ("fid",)) == {"fid": []}


def test_a_kept_run_reads_its_history_file_where_it_has_no_events(tmp_path: Path) -> None:
    (tmp_path / "eval_history.json").write_text('{"fid": [[0, 700.0], [2000, 300.5]]}')
    assert eval_history(tmp_path, ("fid", "recall")) == {"fid": [(0, 700.0), (2000, 300.5)],
                                                        "recall": []}
    with SummaryWriter(str(tmp_path)) as writer:  # event files, where there are any, come first
        writer.add_scalar("eval/fid", 1.0, 0)
    assert eval_history(tmp_path, ("fid",)) == {"fid": [(0, 1.0)]}


def test_every_evaluation_comes_back_when_no_names_are_asked(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_scalar("eval/recall", 0.5, 0)
        writer.add_scalar("eval/fid", 700.0, 0)
        writer.add_scalar("loss/generator", 1.0, 0)
    assert eval_history(tmp_path) == {"fid": [(0, 700.0)], "recall": [(0, 0.5)]}
