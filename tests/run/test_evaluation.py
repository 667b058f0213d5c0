"""Scoring during a run: what it records of its own cost across resumes, and none when off."""

import logging

import pytest
import torch

from gan.run.compose import build_evaluation, eval_settings
from gan.run.evaluation import Evaluation, NoEvaluation
from tests.conftest import compose_config


def test_evaluation_time_is_saved_and_counted_again_on_resume() -> None:
    evaluation = Evaluation(None, torch.zeros(1, 2), {}, every=5, setup_seconds=2.0)
    evaluation.resume({"wall_seconds": 30.0, "eval_seconds": 5.0})
    assert evaluation.elapsed() == {"eval_seconds": 7.0}
    evaluation.resume({"wall_seconds": 30.0})  # a checkpoint from before it was saved
    assert evaluation.elapsed() == {"eval_seconds": 7.0}
    assert NoEvaluation().elapsed() == {}


def test_a_run_without_evaluation_warns_of_nothing(caplog: pytest.LogCaptureFixture) -> None:
    # A single run with eval.every=0 (the default objective, fid, then absent) is no mistake; a
    # search that needs the score refuses it before its first trial (tests/sweep).
    cfg = compose_config("eval.every=0")
    with caplog.at_level(logging.INFO):
        evaluation = build_evaluation(cfg, eval_settings(cfg), setup=None)
    assert isinstance(evaluation, NoEvaluation)
    assert caplog.records == []
