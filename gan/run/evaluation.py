"""Scoring the generator during a run, at intervals, beside the real-data reference."""

import math
import time
from dataclasses import asdict
from typing import Any

import torch

from gan.core.networks import Generator
from gan.core.step import StepOutput
from gan.metrics.chart import histogram_chart
from gan.metrics.evaluator import Evaluator
from gan.metrics.names import CONDITIONAL_SCORES, MAXIMISED, SCORE_NAMES, SHOWN_CLASSES
from gan.run.checkpoint import BEST_NAME
from gan.run.collapse import CollapseWatch
from gan.run.monitor import Monitor
from gan.run.schedule import Action, Periodic

BEST_BY_DEFAULT = "fid"  # what the best generator is chosen by where eval.objective is no score


class Evaluation:
    """The generator's mode-collapse metrics at intervals, beside the real-data reference."""

    def __init__(self, evaluator: Evaluator, z: torch.Tensor, real: dict[str, Any],
                 every: int, setup_seconds: float = 0.0, objective: str = BEST_BY_DEFAULT,
                 labels: torch.Tensor | None = None) -> None:
        """`objective`: the score the best generator is kept by (`eval.objective`; a final
        loss, which no evaluation measures, or a score this dataset's scorer does not measure,
        keeps it by the scorer's `default_objective`: FID for images). `labels` (n,): the
        classes a conditional generator is asked for, one per z (None: unconditional)."""
        self.evaluator = evaluator
        self.z = z  # (n, noise_dim), fixed, so every evaluation scores the same inputs
        self.labels = labels  # (n,) int64, fixed with z
        self.real = real  # the scores of n real training images: what a perfect G would reach
        self.every = every
        self.seconds = setup_seconds  # time spent evaluating, set-up included (its cost)
        self.latest: dict[str, Any] = {}
        measured = (*getattr(evaluator, "measures", SCORE_NAMES),
                    *(getattr(evaluator, "conditional_measures", CONDITIONAL_SCORES)
                      if labels is not None else ()))
        self.objective = (objective if objective in measured
                          else getattr(evaluator, "default_objective", BEST_BY_DEFAULT))
        self.best: dict[str, Any] | None = None  # {"step", "objective", "value"} so far
        self.watch = CollapseWatch()

    def fresh(self) -> "Evaluation":
        """The same scoring (classifier, noise, real reference, interval, objective) with a
        record of its own: another run's, sharing the set-up's cost (stacked runs)."""
        return Evaluation(self.evaluator, self.z, self.real, self.every,
                          objective=self.objective, labels=self.labels)

    def events(self, generator: Generator, monitor: Monitor,
               keep_best: Action | None = None) -> list[Periodic]:
        """Scoring at its interval (and after the last step); `keep_best(step, output)` saves
        the generator wherever it scores its best so far."""
        def evaluate(step: int, output: StepOutput) -> None:
            if self.record(generator, monitor, step, output) and keep_best is not None:
                keep_best(step, output)
        return [Periodic(self.every, evaluate)]

    def record(self, generator: Generator, monitor: Monitor, step: int,
               output: StepOutput | None = None) -> bool:
        """Score the generator; log the scores, the reference and the class histogram, and
        any alarm (`gan.run.collapse`) from the scores and D's loss in `output`. A score that
        is absent (precision and recall on too few samples) is not logged: a made-up number
        would draw a curve; the console says why once. Returns whether the generator scored
        its best so far."""
        started = time.perf_counter()
        scores = (self.evaluator.score_generator(generator, self.z) if self.labels is None
                  else self.evaluator.score_generator(generator, self.z, self.labels))
        measured = self.measured(scores)  # this dataset's scores (and a conditional run's)
        logged = {f"eval/{name}": scores[name] for name in measured} | {
            f"eval/real_{name}": self.real[name] for name in measured if name in self.real}
        logged |= per_class(scores)
        monitor.scalars(step, {tag: value for tag, value in logged.items() if value is not None})
        title = (f"step {step}: {scores['modes_covered']}/{len(scores['class_histogram'])} "
                 f"modes, class KL {console('class_kl', scores['class_kl'])}")
        monitor.image("eval/class_histogram", histogram_chart(scores["class_histogram"], title),
                      step)
        if scores["manifold_note"] and not self.latest:  # the first evaluation of this process
            monitor.print(f"Eval: {scores['manifold_note']}")
        monitor.print(f"Eval:{step} " + " ".join(f"{name}:{console(name, scores[name])}"
                                                 for name in measured))
        self.latest = scores
        if output is not None:
            d_loss = float(output.d_adversarial)  # read once: the scores were read already
            for alarm in self.watch.observe(step, scores["modes_covered"], d_loss,
                                            scores.get("fid")):
                monitor.log.warning(f"warning: {alarm.message}")
        improved = self.improves(step, scores[self.objective])
        self.seconds += time.perf_counter() - started
        return improved

    @staticmethod
    def measured(scores: dict[str, Any]) -> list[str]:
        """The names of the scores `scores` holds, in their order: this dataset's, then a
        conditional run's."""
        return [name for name in (*SCORE_NAMES, *CONDITIONAL_SCORES) if name in scores]

    def improves(self, step: int, value: float | None) -> bool:
        """Whether `value` of the objective beats the best so far (then it is the best)."""
        if value is None or not math.isfinite(value):
            return False
        if self.best is not None:
            better = (value > self.best["value"] if self.objective in MAXIMISED
                      else value < self.best["value"])
            if not better:
                return False
        self.best = {"step": step, "objective": self.objective, "value": value}
        return True

    def state_dict(self) -> dict[str, Any]:
        """The best so far and what the collapse watch has seen, for a checkpoint."""
        return {"best": self.best, "watch": self.watch.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back `state_dict` (a checkpoint without it: nothing seen yet)."""
        self.best = state.get("best")
        self.watch.load_state_dict(state.get("watch", {}))

    def elapsed(self) -> dict[str, float]:
        """The seconds spent evaluating so far, for a checkpoint (`resume` reads them back)."""
        return {"eval_seconds": self.seconds}

    def resume(self, saved: dict[str, float]) -> None:
        """Count the evaluating of the parts before this one, as a checkpoint saved it (one of
        an earlier version, without it, counts as none), so a resumed run reports the whole."""
        self.seconds += saved.get("eval_seconds", 0.0)

    def results(self) -> dict[str, Any]:
        """The last scores and the reference, flat, for metrics.json; the best evaluation
        (`best`: its step, objective and value, and `best.pt`) and any alarms."""
        best = None if self.best is None else self.best | {"checkpoint": BEST_NAME}
        return ({"best": best, "alarms": [asdict(alarm) for alarm in self.watch.alarms]}
                | {"eval_n": self.latest["n"], "eval_seconds": self.seconds,
                   "class_histogram": self.latest["class_histogram"],
                   "manifold_note": self.latest["manifold_note"]}
                | {name: self.latest[name] for name in self.measured(self.latest)}
                | {f"real_{name}": self.real[name] for name in self.measured(self.latest)
                   if name in self.real}
                | {name: self.latest[name] for name in PER_CLASS if name in self.latest}
                | {f"real_{name}": self.real[name] for name in PER_CLASS if name in self.real})


# A conditional run's scores of each class (lists of K), in metrics.json; accuracy and recall
# are also logged per class, as eval/class_accuracy/<k> and eval/class_recall/<k>, where there
# are at most SHOWN_CLASSES classes.
PER_CLASS = ("class_accuracy", "class_fid", "class_precision", "class_recall",
             "class_manifold_note")
LOGGED_PER_CLASS = ("class_accuracy", "class_recall")


def per_class(scores: dict[str, Any]) -> dict[str, float]:
    """TensorBoard tags of a conditional run's per-class accuracy and recall (none for a
    class that has none: too few samples; none at all past SHOWN_CLASSES classes)."""
    return {f"eval/{name}/{k}": value for name in LOGGED_PER_CLASS
            if name in scores and len(scores[name]) <= SHOWN_CLASSES
            for k, value in enumerate(scores[name]) if value is not None}


def shown(value: float | None) -> str:
    """A score between 0 and 1 for the console, or `—` where it is absent."""
    return "—" if value is None else f"{value:.3f}"


DIGITS = {"class_kl": 4, "fid": 4}  # decimals on the console; 3 for the others


def console(name: str, value: float | int | None) -> str:
    """A score as the console line shows it: counts as integers, `—` where absent."""
    if value is None:
        return shown(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{DIGITS.get(name, 3)}f}"


class NoEvaluation:
    """Evaluation turned off (`eval.every=0`): no events, nothing added to the metrics."""

    def events(self, generator: Generator, monitor: Monitor,
               keep_best: Action | None = None) -> list[Periodic]:
        """None."""
        return []

    def fresh(self) -> "NoEvaluation":
        """Still none."""
        return self

    def state_dict(self) -> dict[str, Any]:
        """Nothing to save."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to put back."""

    def elapsed(self) -> dict[str, float]:
        """Nothing to save."""
        return {}

    def resume(self, saved: dict[str, float]) -> None:
        """Nothing to count."""

    def results(self) -> dict[str, Any]:
        """Nothing."""
        return {}
