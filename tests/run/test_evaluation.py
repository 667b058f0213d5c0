"""Scoring during a run: what it records of its own cost across resumes."""

import torch

from gan.run.evaluation import Evaluation, NoEvaluation


def test_evaluation_time_is_saved_and_counted_again_on_resume() -> None:
    evaluation = Evaluation(None, torch.zeros(1, 2), {}, every=5, setup_seconds=2.0)
    evaluation.resume({"wall_seconds": 30.0, "eval_seconds": 5.0})
    assert evaluation.elapsed() == {"eval_seconds": 7.0}
    evaluation.resume({"wall_seconds": 30.0})  # a checkpoint from before it was saved
    assert evaluation.elapsed() == {"eval_seconds": 7.0}
    assert NoEvaluation().elapsed() == {}
