"""Scoring during a run: what it records of its own cost across resumes, and none when off."""

import logging
from pathlib import Path

import pytest
import torch

from gan.core.step import StepOutput
from gan.metrics.names import SCORE_NAMES
from gan.run.evaluation import Evaluation, NoEvaluation
from gan.run.loop import build_evaluation, eval_settings
from tests.conftest import compose_config


def test_evaluation_time_is_saved_and_counted_again_on_resume() -> None:
    evaluation = Evaluation(None, torch.zeros(1, 2), {}, every=5, setup_seconds=2.0)
    evaluation.resume({"wall_seconds": 30.0, "eval_seconds": 5.0})
    assert evaluation.elapsed() == {"eval_seconds": 7.0}
    evaluation.resume({"wall_seconds": 30.0})  # a checkpoint from before it was saved
    assert evaluation.elapsed() == {"eval_seconds": 7.0}
    assert NoEvaluation().elapsed() == {}


class ScriptedEvaluator:
    """Scores from a script, one per evaluation, as `Evaluator.score_generator` returns them."""

    def __init__(self, script: list[dict[str, float]]) -> None:
        self.script = iter(script)

    def score_generator(self, generator: object, z: object) -> dict[str, object]:
        scores = {"modes_covered": 10, "class_kl": 0.1, "classifier_score": 8.0, "fid": 50.0,
                  "precision": None, "recall": None, "n": 300,
                  "manifold_note": "fewer than 10,000 samples"} | next(self.script)
        return scores | {"class_histogram": [0.1] * 10}


class QuietMonitor:
    """A Monitor that keeps what it is told."""

    def __init__(self) -> None:
        self.log = logging.getLogger("quiet")
        self.scalars = self.image = self.print = lambda *args: None


def output(d_loss: float) -> StepOutput:
    """A step's output with D's adversarial loss `d_loss`."""
    zero = torch.tensor(0.0)
    return StepOutput(zero, torch.tensor(d_loss), zero, torch.tensor(d_loss), zero, zero, {})


def test_the_best_evaluation_is_kept_by_the_objective_and_survives_a_resume(
        caplog: pytest.LogCaptureFixture) -> None:
    script = [{"fid": 300.0}, {"fid": 33.5}, {"fid": 634.0, "modes_covered": 1},
              {"fid": 40.0}]
    real = dict.fromkeys(SCORE_NAMES, 1.0)
    evaluation = Evaluation(ScriptedEvaluator(script), torch.zeros(1, 2), real, every=5000,
                            objective="fid")
    kept: list[int] = []
    [event] = evaluation.events(None, QuietMonitor(), lambda step, out: kept.append(step))
    for step, d_loss in [(0, 0.7), (5000, 0.05)]:
        event(step, output(d_loss), last=False)
    resumed = Evaluation(evaluation.evaluator, torch.zeros(1, 2), real, every=5000,
                         objective="fid")
    resumed.load_state_dict(evaluation.state_dict())  # as a checkpoint carries it
    [event] = resumed.events(None, QuietMonitor(), lambda step, out: kept.append(step))
    with caplog.at_level(logging.WARNING, logger="quiet"):
        for step, d_loss in [(10000, 0.0002), (15000, 0.3)]:
            event(step, output(d_loss), last=False)
    assert kept == [0, 5000]  # best.pt written where FID was lowest, and not after
    results = resumed.results()
    assert results["best"] == {"step": 5000, "objective": "fid", "value": 33.5,
                               "checkpoint": "best.pt"}
    assert [alarm["kind"] for alarm in results["alarms"]] == ["collapse", "d_loss_vanished"]
    assert "warning: collapse at step 10000: classes covered fell to 1 from 10" in caplog.text


def test_a_maximised_objective_keeps_the_highest_and_a_loss_objective_keeps_fid() -> None:
    evaluation = Evaluation(None, torch.zeros(1, 2), {}, every=1, objective="classifier_score")
    assert [evaluation.improves(step, value) for step, value in
            enumerate([5.0, 4.0, 7.0, float("nan"), 7.0])] == [True, False, True, False, False]
    assert evaluation.best == {"step": 2, "objective": "classifier_score", "value": 7.0}
    assert Evaluation(None, torch.zeros(1, 2), {}, every=1,
                      objective="final_loss_g").objective == "fid"


def test_a_run_without_evaluation_warns_of_nothing(caplog: pytest.LogCaptureFixture) -> None:
    # A single run with eval.every=0 (the default objective, fid, then absent) is no mistake; a
    # search that needs the score refuses it before its first trial (tests/sweep).
    cfg = compose_config("eval.every=0")
    with caplog.at_level(logging.INFO):
        evaluation = build_evaluation(cfg, eval_settings(cfg), setup=None)
    assert isinstance(evaluation, NoEvaluation)
    assert caplog.records == []


RING = ("experiment=ring8", "dataset.size=1000", "train.steps=2", "train.threads=1",
        "eval.every=2", "eval.n=100")


def in_folder(folder: Path, *args: str) -> str | int | None:
    """`python train.py ARGS` in this process, from `folder` (where its outputs go)."""
    import os

    from tests.conftest import train_command

    here = os.getcwd()
    os.chdir(folder)
    try:
        return train_command(*args)
    finally:
        os.chdir(here)


def test_an_objective_the_dataset_never_measures_is_refused_when_typed(tmp_path: Path) -> None:
    # It used to fall back silently to the scorer's own objective, and a sweep got None.
    run_dir = tmp_path / "run"
    assert in_folder(tmp_path, *RING, "eval.objective=fid", f"hydra.run.dir={run_dir}") == (
        "error: eval.objective=fid is never measured by a run on dataset ring8, which scores "
        "modes_covered, class_kl, high_quality; choose one of them (or a final loss)")
    assert not run_dir.exists()  # refused before anything was written
    assert in_folder(tmp_path, *RING, "eval.objective=high_quality",
                     f"hydra.run.dir={run_dir}") is None


def test_a_resumed_runs_objective_is_judged_on_its_own_dataset(tmp_path: Path) -> None:
    # The command composes the default config (MNIST): the run's own, ring8, decides.
    run_dir = tmp_path / "run"
    assert in_folder(tmp_path, *RING, f"hydra.run.dir={run_dir}") is None
    assert in_folder(tmp_path, f"resume={run_dir}", "train.steps=4",
                     "eval.objective=high_quality") is None
    refused = in_folder(tmp_path, f"resume={run_dir}", "train.steps=6", "eval.objective=fid")
    assert str(refused).startswith("error: eval.objective=fid is never measured by a run on "
                                   "dataset ring8")
