"""The loop on real MNIST: every promised output, finite losses, reproducibility."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gan.metrics.evaluator import Evaluator
from gan.metrics.names import MANIFOLD
from gan.run.checkpoint import load_checkpoint
from gan.run.loop import run
from gan.run.machine import computed_on
from tests.conftest import compose_config

pytestmark = pytest.mark.usefixtures("data_root")  # every run here trains on real MNIST

SCALARS = {"loss/generator", "loss/discriminator", "d/real", "d/fake"}


@pytest.fixture(scope="module")
def short_run(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """A 300-step seed run on real MNIST (FC/FC, CPU), shared by the output checks."""
    run_dir = tmp_path_factory.mktemp("run")
    run(compose_config("train.steps=300", "train.device=cpu", "train.log_every=50",
                       "train.print_every=100", "train.sample_every=100",
                       "train.checkpoint_every=150", "eval.every=150", "eval.n=1000"), run_dir)
    return run_dir


def test_grids_come_from_one_fixed_noise_batch(make_cfg: Callable[..., DictConfig],
                                               tmp_path: Path) -> None:
    # Adam moves each weight by about lr: 1e-30 is below float32's resolution at the weights'
    # scale, so the generator never changes and grids differ only if the noise does.
    run(make_cfg("train.steps=3", "train.sample_every=1", "train.device=cpu",
                 "lr.generator=1e-30"), tmp_path)
    grids = [(tmp_path / "samples" / f"step_{i:06d}.png").read_bytes() for i in range(3)]
    assert grids[0] == grids[1] == grids[2]
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["fixed_z"].min() >= -1 and state["fixed_z"].max() <= 1


def test_tensorboard_has_every_scalar_at_each_log_point(short_run: Path) -> None:
    events = EventAccumulator(str(short_run))
    events.Reload()
    assert set(events.Tags()["scalars"]) >= SCALARS
    for tag in SCALARS:
        values = events.Scalars(tag)
        assert [v.step for v in values] == [0, 50, 100, 150, 200, 250, 299]
        assert all(torch.isfinite(torch.tensor(v.value)) for v in values)
    assert [image.step for image in events.Images("samples")] == [0, 100, 200, 299]


def test_each_term_of_the_objective_is_logged_under_its_name(
        make_cfg: Callable[..., DictConfig], tmp_path: Path) -> None:
    run(make_cfg("remedy=[feature_matching,historical_averaging]", "train.steps=5",
                 "train.log_every=2", "train.device=cpu",
                 "remedy.historical_averaging.networks=both"), tmp_path)
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    terms = {"loss/feature_matching", "loss/historical_averaging_d",
             "loss/historical_averaging_g"}
    assert set(events.Tags()["scalars"]) == SCALARS | terms
    for tag in terms:
        assert [v.step for v in events.Scalars(tag)] == [0, 2, 4]
    # loss/generator is the adversarial loss alone, as in a run without terms: the feature
    # distance (tens at the start) is logged apart, not added in.
    g_loss, matching = (events.Scalars(tag)[0].value for tag in ("loss/generator",
                                                                 "loss/feature_matching"))
    assert g_loss < 5 < matching
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["final_terms"]) == {name.removeprefix("loss/") for name in terms}
    assert metrics["final_loss_g"] < 5 < metrics["final_terms"]["feature_matching"]


def test_evaluation_logs_scores_reference_and_histogram(short_run: Path) -> None:
    events = EventAccumulator(str(short_run))
    events.Reload()
    for name in set(Evaluator.measures) - set(MANIFOLD):
        assert [v.step for v in events.Scalars(f"eval/{name}")] == [0, 150, 299]
        reference = {v.value for v in events.Scalars(f"eval/real_{name}")}
        assert len(reference) == 1  # computed once, drawn as a flat line
    assert [v.value for v in events.Scalars("eval/real_modes_covered")][0] == 10
    assert [image.step for image in events.Images("eval/class_histogram")] == [0, 150, 299]


def test_metrics_json_holds_the_last_evaluation(short_run: Path) -> None:
    metrics = json.loads((short_run / "metrics.json").read_text())
    events = EventAccumulator(str(short_run))
    events.Reload()
    assert metrics["eval_n"] == 1000 and len(metrics["class_histogram"]) == 10
    for name in set(Evaluator.measures) - set(MANIFOLD):
        assert metrics[name] == pytest.approx(events.Scalars(f"eval/{name}")[-1].value, rel=1e-6)
    assert metrics["real_modes_covered"] == 10 and metrics["real_class_kl"] < 0.05
    assert metrics["fid"] > metrics["real_fid"] > 0
    assert 0 < metrics["eval_seconds"] < metrics["wall_seconds"]


def test_precision_and_recall_of_too_few_samples_are_absent_not_numbers(short_run: Path) -> None:
    """eval.n=1000: below MIN_N, where a one-class generator scored precision 0.000-0.956 by
    seed, so neither is a number anywhere: null in metrics.json with the reason, no curve."""
    metrics = json.loads((short_run / "metrics.json").read_text())
    for name in MANIFOLD:
        assert metrics[name] is None and metrics[f"real_{name}"] is None
    assert "1000 samples" in metrics["manifold_note"] and "10000" in metrics["manifold_note"]
    events = EventAccumulator(str(short_run))
    events.Reload()
    logged = set(events.Tags()["scalars"])
    assert "eval/fid" in logged and not {f"eval/{name}" for name in MANIFOLD} & logged
    assert not {f"eval/real_{name}" for name in MANIFOLD} & logged


def test_evaluation_does_not_change_the_training(make_cfg: Callable[..., DictConfig],
                                                tmp_path: Path) -> None:
    overrides = ("train.steps=20", "train.device=cpu", "eval.n=200")
    evaluated = run(make_cfg(*overrides, "eval.every=5"), tmp_path / "on")
    plain = run(make_cfg(*overrides, "eval.every=0"), tmp_path / "off")
    assert "fid" in evaluated
    assert (evaluated["final_loss_g"], evaluated["final_loss_d"]) == (
        plain["final_loss_g"], plain["final_loss_d"])


def test_eval_every_0_turns_evaluation_off(make_cfg: Callable[..., DictConfig],
                                           tmp_path: Path) -> None:
    metrics = run(make_cfg("train.steps=3", "train.device=cpu", "eval.every=0"), tmp_path)
    assert "fid" not in metrics and "eval_seconds" not in metrics
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert not [tag for tag in events.Tags()["scalars"] if tag.startswith("eval/")]


def test_sample_grids_and_final_digits_are_saved(short_run: Path) -> None:
    grids = sorted(p.name for p in (short_run / "samples").glob("step_*.png"))
    assert grids == ["step_000000.png", "step_000100.png", "step_000200.png", "step_000299.png"]
    final = short_run / "samples" / "final"
    assert sorted(p.name for p in final.glob("*.png")) == sorted(
        [f"{i}.png" for i in range(10)] + ["grid.png"])
    digit = Image.open(final / "0.png").convert("L")
    # Dark ink on white paper: the background (most pixels) is light.
    assert torch.tensor(list(digit.tobytes())).median() > 200


def test_metrics_json_holds_finite_final_losses(short_run: Path) -> None:
    metrics = json.loads((short_run / "metrics.json").read_text())
    assert metrics["steps"] == 300
    for key in ("final_loss_g", "final_loss_d", "wall_seconds", "steps_per_second"):
        assert torch.isfinite(torch.tensor(metrics[key])) and metrics[key] > 0
    assert metrics["wall_seconds"] > metrics["loop_seconds"] and metrics["device"] == "cpu"


def test_metrics_json_records_what_a_rerun_must_match(short_run: Path) -> None:
    """Same seed, same losses only with the same threads, kernels and PyTorch: each is said."""
    metrics = json.loads((short_run / "metrics.json").read_text())
    here = computed_on(torch.device("cpu"))  # this process: the one that trained the run
    assert {name: metrics.get(name) for name in here} == here
    assert here["threads"] == torch.get_num_threads() and here["torch"] == torch.__version__
    assert here["cpu_capability"] == torch.backends.cpu.get_cpu_capability()


def test_resolved_config_is_saved_beside_the_run(short_run: Path, data_root: Path) -> None:
    saved = (short_run / "config.yaml").read_text()
    assert f"root: {data_root}" in saved and "${" not in saved


def test_checkpoint_holds_everything_to_continue(short_run: Path) -> None:
    state = load_checkpoint(short_run / "checkpoint.pt")
    assert state["step"] == 300
    assert {"generator", "discriminator", "g_optimizer", "d_optimizer", "fixed_z", "batcher",
            "rng"} <= set(state)
    assert state["fixed_z"].shape == (64, 100)
    assert state["generator"]["net.0.weight"].shape == (256, 100)
    assert not (short_run / "checkpoint.pt.tmp").exists()


def test_same_seed_gives_identical_losses(make_cfg: Callable[..., DictConfig],
                                          tmp_path: Path) -> None:
    overrides = ("train.steps=40", "train.device=cpu", "train.seed=7", "train.log_every=10")
    first = run(make_cfg(*overrides), tmp_path / "a")
    second = run(make_cfg(*overrides), tmp_path / "b")
    other = run(make_cfg(*overrides[:-2], "train.seed=8", "train.log_every=10"), tmp_path / "c")
    assert (first["final_loss_g"], first["final_loss_d"]) == (
        second["final_loss_g"], second["final_loss_d"])
    assert first["final_loss_g"] != other["final_loss_g"]
    a, b = (load_checkpoint(tmp_path / name / "checkpoint.pt") for name in "ab")
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key])


def test_cnn_discriminator_trains(make_cfg: Callable[..., DictConfig], tmp_path: Path) -> None:
    metrics = run(make_cfg("experiment=seed_cnn", "train.steps=20", "train.device=cpu",
                           "train.batch_size=32"), tmp_path)
    assert metrics["steps"] == 20
    assert torch.isfinite(torch.tensor([metrics["final_loss_g"], metrics["final_loss_d"]])).all()
