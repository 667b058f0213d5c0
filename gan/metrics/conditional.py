"""Scores of a class-conditional generator's samples, each requested as one class: whether the
evaluator's classifier sees the class asked for, and how each class's samples compare with that
class's real test images. Pure functions of classifier outputs; the evaluator
(`Evaluator.score_conditional`) calls `conditional_scores`.

- **Conditional accuracy**: the share of samples whose most likely class is the one requested
  (the AC-GAN paper's sample-accuracy; Odena et al. 2017, "Conditional Image Synthesis with
  Auxiliary Classifier GANs", ICML), over all samples and per requested class.
- **Intra-FID**: the FID of each class's samples against that class's real test images, in the
  evaluator's features, and its mean over the classes (Miyato & Koyama 2018, "cGANs with
  Projection Discriminator", ICLR). A generator collapsed inside a class (one 7 for every
  request of a 7) is right in accuracy but far in that class's FID.
- **Per-class precision and recall** (Kynkäänniemi et al. 2019, `gan.metrics.manifold`): recall
  inside a class is the share of the class's real images that its samples reach, the direct
  measure of collapse inside a class.

**Per-class precision and recall are below the whole-set protocol's size.** The unconditional
scores refuse precision and recall of fewer than `manifold.MIN_N` (10,000) samples against as
many real images: small sets have wide k-NN balls and flatter everything. One MNIST class has
only 892 to 1,135 test images, so the protocol can never be met per class with the test set.
The scores here compare each class's samples with as many of that class's test images (the
smaller of the two counts, the first ones of the evaluator's seeded order, so that both sets
have one size, as in the paper), compute them anyway, and say so in `class_manifold_note`. They
compare runs scored with the same counts (the same `eval.n` and label draw), not the whole-set
numbers; recall still falls towards 1/m for m samples of one image per class.

**What real images score** (10,000 training images requested as their own labels, against the
test set, three seeds of the subset): MNIST conditional accuracy 0.994, the worst class
0.988-0.990, intra-FID 3.86-4.16 where the whole set's FID is 1.31-1.39 (FID of ~1,000 images a
class is biased upwards), the worst class recall 0.848-0.858; Fashion-MNIST accuracy 0.930-0.938,
the worst class (shirts) 0.785-0.804, intra-FID 1.55-1.64 (FID 0.30-0.36), the worst recall
0.821-0.835. The test images themselves: accuracy 0.9927 (worst class 0.985) and 0.9115 (0.719).

**Classes with too few samples.** A class with at most `manifold.K` (3) requested samples (or
real test images) has no k-NN ball of its own; its FID, precision and recall are None, and so is
its accuracy when nothing requested it. The means and minimums skip a None; when every class is
None they are None too.
"""

from typing import Any

import torch

from gan.metrics.manifold import MIN_N, K, precision_recall
from gan.metrics.scores import feature_statistics, frechet_distance

FEWEST = K + 1  # samples of a class (and real images) below which its FID and manifold are None


def check_requested(probabilities: torch.Tensor, requested: torch.Tensor) -> None:
    """Refuse, in one line, requested labels that are not one int64 label (N,) per sample
    (N, K), each in [0, K)."""
    if requested.dim() != 1 or len(requested) != len(probabilities):
        raise ValueError(f"requested labels must be one per sample: got {tuple(requested.shape)} "
                         f"for {len(probabilities)} samples")
    if requested.dtype != torch.long:
        raise ValueError(f"requested labels must be int64 class indices, got {requested.dtype}")
    classes = probabilities.shape[1]
    if len(requested) and (int(requested.min()) < 0 or int(requested.max()) >= classes):
        raise ValueError(f"requested labels must lie in [0, {classes}), got "
                         f"{int(requested.min())} to {int(requested.max())}")


def class_accuracy(probabilities: torch.Tensor, requested: torch.Tensor) -> list[float | None]:
    """Per requested class k, the share (0 to 1) of the samples requested as k whose most likely
    class (probabilities (N, K)) is k: a list of K, None for a class nothing requested.
    Raises ValueError for requested labels (N,) that are not int64 in [0, K)."""
    check_requested(probabilities, requested)
    return predicted_accuracy(probabilities.argmax(dim=1), requested, probabilities.shape[1])


def predicted_accuracy(predicted: torch.Tensor, requested: torch.Tensor,
                       classes: int) -> list[float | None]:
    """Per requested class k of `classes`, the share (0 to 1) of the samples requested as k
    (requested (N,) int64) whose predicted class (N,) is k; None for a class nothing requested."""
    correct = (predicted == requested).double()  # (N,)
    asked = torch.bincount(requested, minlength=classes)  # (K,)
    hits = torch.bincount(requested, weights=correct, minlength=classes)
    # One copy to the host, not a sync per class (Stacked MNIST has 1,000).
    return [None if n == 0 else h / n
            for h, n in zip(hits.tolist(), asked.tolist(), strict=True)]


def prediction_scores(predicted: torch.Tensor, requested: torch.Tensor,
                      classes: int) -> dict[str, Any]:
    """The accuracy scores of samples whose class a scorer predicted (N,) int64, requested as
    `requested` (N,) int64 in [0, classes): `conditional_accuracy` (the share right, 0 to 1),
    `min_class_accuracy` and `class_accuracy` (a list of `classes`, None where nothing was
    requested). For a scorer that predicts a class without the evaluator's features (Stacked
    MNIST's three digits read as one of 1,000 modes). Raises ValueError for labels of another
    length or outside [0, classes), or no samples."""
    if requested.shape != predicted.shape or not len(requested):
        raise ValueError(f"requested labels must be one per sample: got "
                         f"{tuple(requested.shape)} for {tuple(predicted.shape)} predictions")
    if int(requested.min()) < 0 or int(requested.max()) >= classes:
        raise ValueError(f"requested labels must lie in [0, {classes}), got "
                         f"{int(requested.min())} to {int(requested.max())}")
    accuracy = predicted_accuracy(predicted, requested, classes)
    return {"conditional_accuracy": float((predicted == requested).double().mean()),
            "min_class_accuracy": minimum(accuracy), "class_accuracy": accuracy}


def conditional_accuracy(probabilities: torch.Tensor, requested: torch.Tensor) -> float:
    """The share (0 to 1) of all samples (N, K) whose most likely class is the requested one
    (N,). Raises ValueError for labels that are not int64 in [0, K), or no samples."""
    check_requested(probabilities, requested)
    if len(requested) == 0:
        raise ValueError("conditional accuracy needs at least one sample")
    return float((probabilities.argmax(dim=1) == requested).double().mean())


def class_features(features: torch.Tensor, labels: torch.Tensor,
                   classes: int) -> list[torch.Tensor]:
    """Features (N, D) split by label (N,): K tensors (N_k, D), each in the order given."""
    return [features[labels == k] for k in range(classes)]


def class_fid(fake: list[torch.Tensor], real: list[torch.Tensor]) -> list[float | None]:
    """Per class, the FID (`scores.frechet_distance`, squared feature units) of its samples'
    features (N_k, D) against its real images' (M_k, D); None where either has fewer than
    FEWEST. Per-class sets are small (about 1,000 MNIST test images each), and FID is biased
    upwards on small sets: compare it between runs of the same counts."""
    return [None if min(len(f), len(r)) < FEWEST
            else frechet_distance(*feature_statistics(f), *feature_statistics(r))
            for f, r in zip(fake, real, strict=True)]


def class_manifold(fake: list[torch.Tensor], real: list[torch.Tensor]
                   ) -> tuple[list[float | None], list[float | None], list[int]]:
    """Per class, (precision, recall) of its first m samples' features against its first m
    real images' (m = the smaller count; `manifold.precision_recall`, each 0 to 1, higher
    better), and the counts m compared; None where m < FEWEST. See the module's docstring for
    why m is below `manifold.MIN_N` and computed anyway."""
    compared = [min(len(f), len(r)) for f, r in zip(fake, real, strict=True)]
    pairs = [None if m < FEWEST else precision_recall(r[:m], f[:m])
             for f, r, m in zip(fake, real, compared, strict=True)]
    return ([None if p is None else p[0] for p in pairs],
            [None if p is None else p[1] for p in pairs], compared)


def class_manifold_note(compared: list[int]) -> str | None:
    """Why per-class precision and recall read differently from the whole set's: how many
    samples of each class met as many of its test images, below `manifold.MIN_N`; None when
    every count reaches it."""
    if min(compared) >= MIN_N:
        return None
    counts = ", ".join(f"{k}: {m}" for k, m in enumerate(compared))
    return (f"class precision and recall: each class's samples against as many of its real test "
            f"images (class: count {counts}), below the whole-set protocol's {MIN_N}; compare "
            "them only between runs of the same counts (see gan/metrics/conditional.py)")


def mean(values: list[float | None]) -> float | None:
    """The mean of the values that are not None (None if none are)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def minimum(values: list[float | None]) -> float | None:
    """The least of the values that are not None (None if none are)."""
    present = [v for v in values if v is not None]
    return min(present) if present else None


def conditional_scores(probabilities: torch.Tensor, features: torch.Tensor,
                       requested: torch.Tensor, real_features: torch.Tensor,
                       real_labels: torch.Tensor) -> dict[str, Any]:
    """Every conditional score of samples requested as labels `requested` (N,) int64, from their
    class probabilities (N, K) and features (N, D), against the real test set's features
    (M, D) and labels (M,) int64, the real ones in the order precision and recall take them
    (the evaluator's seeded order).

    Returns the scalars `conditional_accuracy`, `min_class_accuracy`, `intra_fid` (the mean
    per-class FID), `min_class_recall`; the per-class lists of K (None where a class has too few
    samples, see the module's docstring) `class_accuracy`, `class_fid`, `class_precision`,
    `class_recall`; `class_compared` (samples compared per class) and `class_manifold_note`.
    Raises ValueError for requested labels that are not one int64 in [0, K) per sample, or
    real features and labels of different lengths."""
    check_requested(probabilities, requested)
    if len(real_labels) != len(real_features):
        raise ValueError(f"real labels must be one per real image: got {len(real_labels)} for "
                         f"{len(real_features)} images")
    classes = probabilities.shape[1]
    requested = requested.to(probabilities.device)
    fake = class_features(features, requested.to(features.device), classes)
    real = class_features(real_features, real_labels.to(real_features.device), classes)
    accuracy = class_accuracy(probabilities, requested)
    fid = class_fid(fake, real)
    precision, recall, compared = class_manifold(fake, real)
    return {"conditional_accuracy": conditional_accuracy(probabilities, requested),
            "min_class_accuracy": minimum(accuracy), "intra_fid": mean(fid),
            "min_class_recall": minimum(recall),
            "class_accuracy": accuracy, "class_fid": fid,
            "class_precision": precision, "class_recall": recall,
            "class_compared": compared, "class_manifold_note": class_manifold_note(compared)}
