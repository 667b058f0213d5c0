"""Scoring the generator during a run, at intervals, beside the real-data reference."""

import time
from typing import Any

import torch

from gan.core.networks import Generator
from gan.metrics.chart import histogram_chart
from gan.metrics.evaluator import Evaluator
from gan.metrics.names import SCORE_NAMES
from gan.run.monitor import Monitor
from gan.run.schedule import Periodic


class Evaluation:
    """The generator's mode-collapse metrics at intervals, beside the real-data reference."""

    def __init__(self, evaluator: Evaluator, z: torch.Tensor, real: dict[str, Any],
                 every: int, setup_seconds: float = 0.0) -> None:
        self.evaluator = evaluator
        self.z = z  # (n, noise_dim), fixed, so every evaluation scores the same inputs
        self.real = real  # the scores of n real training images: what a perfect G would reach
        self.every = every
        self.seconds = setup_seconds  # time spent evaluating, set-up included (its cost)
        self.latest: dict[str, Any] = {}

    def events(self, generator: Generator, monitor: Monitor) -> list[Periodic]:
        """Scoring at its interval (and after the last step)."""
        return [Periodic(self.every, lambda step, output: self.record(generator, monitor, step))]

    def record(self, generator: Generator, monitor: Monitor, step: int) -> None:
        """Score the generator; log the scores, the reference and the class histogram. A score
        that is absent (precision and recall on too few samples) is not logged: a made-up number
        would draw a curve; the console says why once."""
        started = time.perf_counter()
        scores = self.evaluator.score_generator(generator, self.z)  # ends with a host read
        logged = {f"eval/{name}": scores[name] for name in SCORE_NAMES} | {
            f"eval/real_{name}": self.real[name] for name in SCORE_NAMES}
        monitor.scalars(step, {tag: value for tag, value in logged.items() if value is not None})
        title = (f"step {step}: {scores['modes_covered']}/{len(scores['class_histogram'])} "
                 f"modes, class KL {scores['class_kl']:.3f}")
        monitor.image("eval/class_histogram", histogram_chart(scores["class_histogram"], title),
                      step)
        if scores["manifold_note"] and not self.latest:  # the first evaluation of this process
            monitor.print(f"Eval: {scores['manifold_note']}")
        monitor.print(f"Eval:{step} modes_covered:{scores['modes_covered']} "
                      f"class_kl:{scores['class_kl']:.4f} "
                      f"classifier_score:{scores['classifier_score']:.3f} fid:{scores['fid']:.4f} "
                      f"precision:{shown(scores['precision'])} recall:{shown(scores['recall'])}")
        self.latest = scores
        self.seconds += time.perf_counter() - started

    def elapsed(self) -> dict[str, float]:
        """The seconds spent evaluating so far, for a checkpoint (`resume` reads them back)."""
        return {"eval_seconds": self.seconds}

    def resume(self, saved: dict[str, float]) -> None:
        """Count the evaluating of the parts before this one, as a checkpoint saved it (one of
        an earlier version, without it, counts as none), so a resumed run reports the whole."""
        self.seconds += saved.get("eval_seconds", 0.0)

    def results(self) -> dict[str, Any]:
        """The last scores and the reference, flat, for metrics.json."""
        return ({"eval_n": self.latest["n"], "eval_seconds": self.seconds,
                 "class_histogram": self.latest["class_histogram"],
                 "manifold_note": self.latest["manifold_note"]}
                | {name: self.latest[name] for name in SCORE_NAMES}
                | {f"real_{name}": self.real[name] for name in SCORE_NAMES})


def shown(value: float | None) -> str:
    """A score between 0 and 1 for the console, or `—` where it is absent."""
    return "—" if value is None else f"{value:.3f}"


class NoEvaluation:
    """Evaluation turned off (`eval.every=0`): no events, nothing added to the metrics."""

    def events(self, generator: Generator, monitor: Monitor) -> list[Periodic]:
        """None."""
        return []

    def elapsed(self) -> dict[str, float]:
        """Nothing to save."""
        return {}

    def resume(self, saved: dict[str, float]) -> None:
        """Nothing to count."""

    def results(self) -> dict[str, Any]:
        """Nothing."""
        return {}
