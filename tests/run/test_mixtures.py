"""The 2D mixtures as a dataset: the protocol's modes, a seeded training set, its real-data
scores, the scatter, and a run on them from the command line to its sample and evaluate."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gan import evaluate, sample
from gan.report import runs
from gan.run.checkpoint import load_checkpoint
from gan.run.evaluation import Evaluation
from gan.run.mixtures import grid, ring
from tests.conftest import train_command

CPU = torch.device("cpu")
# A ring8 run small enough for the fast tier: 2,000 training points, 40 steps, scored twice.
SHORT = ("experiment=ring8", "dataset.size=2000", "train.steps=40", "train.threads=1",
         "train.print_every=20", "train.sample_every=20", "train.checkpoint_every=20",
         "eval.every=20", "eval.n=500")


def test_the_protocols_modes() -> None:
    circle = ring()
    assert circle.centres.shape == (8, 2) and circle.std == 0.01
    assert torch.allclose(circle.centres.norm(dim=1), torch.ones(8))
    assert circle.centres[2].tolist() == pytest.approx([0.0, 1.0], abs=1e-7)  # 90 degrees
    square = grid()
    assert square.centres.shape == (25, 2) and square.std == 0.05
    assert sorted(set(square.centres[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_the_training_set_is_seeded_and_its_own_stream() -> None:
    torch.manual_seed(0)
    before = torch.rand(1)
    first = ring(size=1000, seed=3).images(CPU)
    torch.manual_seed(0)
    assert torch.rand(1) == before  # the global stream was not drawn from
    assert first.shape == (1000, 2)
    assert torch.equal(first, ring(size=1000, seed=3).images(CPU))
    assert not torch.equal(first, ring(size=1000, seed=4).images(CPU))
    assert not torch.equal(first, ring(size=1000, seed=3).images(CPU, train=False))


@pytest.mark.parametrize("make", [ring, grid])
def test_real_points_score_as_the_real_data_should(make) -> None:
    mixture = make(size=20000)
    data = mixture.images(CPU)
    scores = mixture.scorer(CPU, 2500, 0).score(mixture.real(data, 2500, 0))
    modes = len(mixture.centres)
    assert scores["modes_covered"] == modes
    assert scores["high_quality"] > 0.98  # 98.9% of a 2D Gaussian lies within 3 std
    assert scores["class_kl"] < 0.02


def test_the_scatter_shows_points_over_the_modes() -> None:
    mixture = ring()
    picture = mixture.picture(mixture.centres.repeat(50, 1))  # every point on a mode
    assert picture.shape == (3, 400, 400) and picture.min() >= 0 and picture.max() <= 1
    red = (picture[0] > 0.8) & (picture[1] < 0.2)
    dark = picture.sum(dim=0) < 0.5
    assert red.any() and not dark.any()  # on the modes the crosses are drawn over the dots
    off = mixture.picture(torch.tensor([[0.0, 0.0]] * 10))  # ten points at the centre
    assert (off[:, 199:202, 199:202].sum(dim=0) < 0.2).any()


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short ring8 run from the command line (in this process)."""
    run_dir = tmp_path_factory.mktemp("ring") / "run"
    assert train_command(*SHORT, f"hydra.run.dir={run_dir}") is None
    return run_dir


def test_a_run_is_scored_by_the_protocols_metrics(ring_run: Path) -> None:
    metrics = json.loads((ring_run / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["eval_n"] == 500
    assert 0 <= metrics["modes_covered"] <= 8 and 0 <= metrics["high_quality"] <= 1
    assert metrics["real_modes_covered"] == 8 and metrics["real_high_quality"] > 0.97
    assert "fid" not in metrics and "precision" not in metrics  # not measured on points
    assert len(metrics["class_histogram"]) == 8
    # No point was high quality yet at 40 steps: no reverse KL, so no best generator kept.
    assert metrics["class_kl"] is None or metrics["best"]["objective"] == "class_kl"
    events = EventAccumulator(str(ring_run))
    events.Reload()
    for name in ("modes_covered", "high_quality"):
        assert [v.step for v in events.Scalars(f"eval/{name}")] == [0, 20, 39]
    # The reverse KL is logged where it is defined (some point high quality): never as a 0.
    logged = [v.step for v in events.Scalars("eval/class_kl")] if (
        "eval/class_kl" in events.Tags()["scalars"]) else []
    assert set(logged) <= {0, 20, 39}
    assert "eval/fid" not in events.Tags()["scalars"]
    assert [image.step for image in events.Images("samples")] == [0, 20, 39]
    assert (ring_run / "samples" / "final" / "scatter.png").is_file()
    assert (ring_run / "samples" / "step_000039.png").is_file()
    log = (ring_run / "train.log").read_text()
    assert "Eval:39 modes_covered:" in log and "high_quality:" in log and "fid" not in log


def test_sample_and_evaluate_work_on_points(ring_run: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    sample.main([f"run_dir={ring_run}", "n=300", f"out={tmp_path / 'points'}"])
    assert np.load(tmp_path / "points.npy").shape == (300, 2)
    assert (tmp_path / "points.png").is_file()
    capsys.readouterr()
    evaluate.main([f"run_dir={ring_run}", "n=400"])
    printed = capsys.readouterr().out
    assert "high_quality" in printed and "fid" not in printed
    result = json.loads((ring_run / "eval.json").read_text())
    assert result["n"] == 400 and result["real_modes_covered"] == 8


def test_a_run_continued_ends_where_the_whole_run_does(ring_run: Path, tmp_path: Path) -> None:
    part = tmp_path / "part"
    stopped = [o if not o.startswith("train.steps=") else "train.steps=20" for o in SHORT]
    assert train_command(*stopped, f"hydra.run.dir={part}") is None
    assert train_command(f"resume={part}", "train.steps=40") is None
    mine, whole = (load_checkpoint(d / "checkpoint.pt") for d in (part, ring_run))
    for network in ("generator", "discriminator"):
        for name, tensor in whole[network].items():
            assert torch.equal(mine[network][name], tensor), f"{network}.{name}"


@pytest.mark.parametrize(("overrides", "expected"), [
    (("dataset=ring8",),  # the seed's 28 x 28 networks on points
     "error: generator gan.core.networks.FCGenerator takes samples of shape (1, 28, 28), but "
     "dataset ring8 has samples of shape (2,): choose networks made for it (generator=mlp "
     "discriminator=maxout)"),
    (("experiment=ring8", "discriminator=fc"),
     "error: discriminator gan.core.networks.FCDiscriminator takes samples of shape "
     "(1, 28, 28), but dataset ring8 has samples of shape (2,): choose networks made for it "
     "(generator=mlp discriminator=maxout)"),
    (("experiment=ring8", "dataset=mnist"),
     "error: generator gan.core.mlp.MLPGenerator takes samples of shape (2,), but dataset "
     "mnist has samples of shape (1, 28, 28): choose networks made for it "
     "(generator.image_shape=[1, 28, 28])"),
    (("experiment=ring8", "remedy=[diff_augment]"),
     "error: remedy=diff_augment augments images (C, H, W); dataset ring8 has samples of shape "
     "(2,)"),
])
def test_networks_made_for_other_samples_are_refused_in_one_line(
        tmp_path: Path, overrides: tuple[str, ...], expected: str) -> None:
    assert train_command(*overrides, "train.steps=1", f"hydra.run.dir={tmp_path / 'r'}") == expected


def test_the_scatter_shows_the_protocols_square() -> None:
    assert math.isclose(ring().extent, 1.5) and math.isclose(grid().extent, 6.0)


@pytest.mark.parametrize("objective", ["fid", "final_loss_g", "precision"])
def test_a_score_the_mixtures_do_not_measure_keeps_the_best_by_reverse_kl(objective: str) -> None:
    scorer = ring().scorer(CPU, 100, 0)
    evaluation = Evaluation(scorer, torch.zeros(1, 2), {}, every=5, objective=objective)
    assert evaluation.objective == "class_kl"
    assert Evaluation(scorer, torch.zeros(1, 2), {}, every=5,
                      objective="high_quality").objective == "high_quality"


def test_gan_runs_ranks_mixture_runs_by_their_reverse_kl(ring_run: Path) -> None:
    listing = runs.listing([ring_run])
    assert "Best first by class KL (lower is better)." in listing
    assert listing.splitlines()[3].split()[:2] == ["#", "class"]
