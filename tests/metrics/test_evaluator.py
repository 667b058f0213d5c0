"""The evaluator on real images: what a perfect, a collapsed and a noisy generator score."""

import math
from functools import partial
from pathlib import Path

import pytest
import torch
import torchvision

from gan.metrics.classifier import load_classifier
from gan.metrics.evaluator import Evaluator, evaluation_noise, real_subset
from gan.metrics.manifold import MIN_N
from gan.run.data import ImageSource

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def mnist(data_root: Path) -> ImageSource:
    """The real MNIST on disk."""
    return ImageSource("mnist", partial(torchvision.datasets.MNIST), str(data_root), False)


@pytest.fixture(scope="module")
def evaluator(mnist: ImageSource) -> Evaluator:
    """The shipped MNIST classifier with the real test set as reference."""
    return Evaluator(load_classifier("mnist"), mnist.images(CPU, train=False))


def test_real_test_images_cover_every_mode(evaluator: Evaluator, mnist: ImageSource) -> None:
    scores = evaluator.score(mnist.images(CPU, train=False))
    assert scores["n"] == 10_000 and scores["modes_covered"] == 10
    assert scores["class_kl"] < 0.01
    assert scores["fid"] == pytest.approx(0.0, abs=1e-6)  # the reference itself
    assert scores["classifier_score"] > 9.5
    assert sum(scores["class_histogram"]) == pytest.approx(1.0)
    assert (scores["precision"], scores["recall"]) == (1.0, 1.0)  # the reference's own manifold


def test_real_training_images_have_a_small_fid(evaluator: Evaluator,
                                               mnist: ImageSource) -> None:
    real = evaluator.score(real_subset(mnist.images(CPU), 10_000, seed=0))
    noise = evaluator.score(torch.rand(10_000, 1, 28, 28,
                                       generator=torch.Generator().manual_seed(0)))
    assert real["modes_covered"] == 10 and real["class_kl"] < 0.01
    assert real["fid"] < 0.01 * noise["fid"]
    # Measured: 0.854 and 0.878 for real digits (the README's reference), 0.002 and 0 for noise.
    assert real["precision"] > 0.8 and real["recall"] > 0.8
    assert noise["precision"] < 0.05 and noise["recall"] < 0.05
    assert real["manifold_note"] is None


def test_one_image_repeated_is_total_collapse(evaluator: Evaluator, mnist: ImageSource) -> None:
    one = mnist.images(CPU, train=False)[:1].expand(MIN_N, -1, -1, -1)
    scores = evaluator.score(one)
    assert scores["modes_covered"] == 1
    assert scores["class_kl"] == pytest.approx(math.log(10), abs=1e-9)
    assert scores["classifier_score"] == pytest.approx(1.0)
    # A real digit, no diversity: the samples' balls have radius 0 and hold only the one test
    # image they repeat (all 10,000 test images are compared with 10,000 samples).
    assert (scores["precision"], scores["recall"]) == (1.0, 1 / MIN_N)


@pytest.mark.parametrize("n", [200, 1000, MIN_N - 1])
def test_precision_and_recall_of_fewer_than_min_n_samples_are_absent(
        evaluator: Evaluator, n: int) -> None:
    """Uniform noise: precision 0.69-0.96 at n=200 over six seeds, up to 0.43 at 2,000, and
    0.002-0.003 only at 10,000 (`gan.metrics.manifold`). Below MIN_N it is no number at all."""
    noise = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    scores = evaluator.score(noise)
    assert (scores["precision"], scores["recall"]) == (None, None)
    assert scores["manifold_note"] == (
        f"precision and recall not computed: {n} samples against {n} real images, and they "
        f"mean something only from {MIN_N} (see gan/metrics/manifold.py)")
    assert scores["fid"] > 0 and scores["n"] == n  # the other scores are computed as before


def test_more_samples_than_test_images_compare_all_of_them(mnist: ImageSource) -> None:
    """What is compared is as many samples as there are test images: with a small test set
    (here 50 images) no number of samples gets precision and recall."""
    images = mnist.images(CPU, train=False)
    small = Evaluator(load_classifier("mnist"), images[:50])
    assert "50 samples against 50 real images" in small.score(images[:MIN_N])["manifold_note"]


def test_fid_grows_as_noise_is_added(evaluator: Evaluator, mnist: ImageSource) -> None:
    images = real_subset(mnist.images(CPU, train=False), 2000, seed=1)
    same = evaluator.score_outputs(*evaluator.outputs(images))
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(0))
    fids = [evaluator.score((images + level * noise).clamp(0, 1))["fid"]
            for level in (0.0, 0.1, 0.2, 0.4)]
    # Against the images' own statistics, not the test set's: fid(x, x) is ~0.
    own = Evaluator(evaluator.classifier, images)
    assert own.score(images)["fid"] == pytest.approx(0.0, abs=1e-6)
    assert fids[0] == same["fid"]
    assert fids == sorted(fids) and fids[-1] > 5 * fids[1] > 0


def test_evaluation_noise_is_fixed_by_its_seed() -> None:
    first, again = (evaluation_noise(100, 8, seed=3, device=CPU) for _ in range(2))
    assert torch.equal(first, again) and first.shape == (100, 8)
    assert first.min() >= -1 and first.max() <= 1
    assert not torch.equal(first, evaluation_noise(100, 8, seed=4, device=CPU))


def test_generator_scores_equal_the_scores_of_its_images(evaluator: Evaluator) -> None:
    generator = torch.nn.Sequential(torch.nn.Linear(8, 784), torch.nn.Sigmoid(),
                                    torch.nn.Unflatten(1, (1, 28, 28)))
    z = evaluation_noise(1200, 8, seed=0, device=CPU)
    with torch.no_grad():
        direct = evaluator.score(generator(z))
    streamed = evaluator.score_generator(generator, z)  # generated in chunks of batch_size
    assert streamed["class_histogram"] == direct["class_histogram"]
    assert streamed["fid"] == pytest.approx(direct["fid"], rel=1e-6)


def test_fewer_samples_meet_as_many_test_images_chosen_by_the_seed() -> None:
    images = torch.rand(50, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    classifier = load_classifier("mnist")
    subsets = [Evaluator(classifier, images, seed=seed).manifold(20)[0] for seed in (0, 0, 1)]
    assert len(subsets[0]) == 20 and torch.equal(subsets[0], subsets[1])
    assert not torch.equal(subsets[0], subsets[2])
    assert len(Evaluator(classifier, images).manifold(80)[0]) == 50  # all there are


@pytest.mark.parametrize("shape", [(3, 28, 28), (2,)])
def test_samples_the_grey_classifier_cannot_read_are_refused_in_one_line(
        evaluator: Evaluator, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"reads grey images \(N, 1, H, W\); got samples of shape "
                                         rf"\(4, {', '.join(map(str, shape))}\)"):
        evaluator.score(torch.rand(4, *shape))


def test_normal_evaluation_noise_is_fixed_by_its_seed_too() -> None:
    first = evaluation_noise(500, 2, seed=3, device=torch.device("cpu"), prior="normal")
    assert torch.equal(first, evaluation_noise(500, 2, 3, torch.device("cpu"), "normal"))
    assert first.min() < -1 and abs(float(first.std()) - 1) < 0.1  # a normal, not uniform(-1, 1)
