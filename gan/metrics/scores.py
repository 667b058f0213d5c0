"""Mode-collapse metrics from a classifier's outputs: pure functions of tensors."""

import math

import torch

MODE_THRESHOLD = 0.01  # a class counts as covered when it gets at least 1% of the samples


def class_histogram(probabilities: torch.Tensor) -> torch.Tensor:
    """Fraction of samples (N, K) whose most likely class is each class: (K,), sums to 1."""
    predicted = probabilities.argmax(dim=1)  # (N,)
    counts = torch.bincount(predicted, minlength=probabilities.shape[1])
    return counts.double() / len(predicted)


def modes_covered(histogram: torch.Tensor, threshold: float = MODE_THRESHOLD) -> int:
    """How many classes receive at least `threshold` of the samples (0 to K)."""
    return int((histogram >= threshold).sum())


def class_kl(histogram: torch.Tensor) -> float:
    """KL(histogram || uniform) in nats: 0 for a perfect spread, ln K for one class only."""
    present = histogram[histogram > 0].double()
    return float((present * (present * len(histogram)).log()).sum())


def classifier_score(probabilities: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) || p(y))), the Inception Score's analogue: 1 to K, higher is better."""
    p = probabilities.double()  # (N, K)
    marginal = p.mean(dim=0, keepdim=True)  # (1, K)
    # 0 * log 0 is 0: clamp only inside the log.
    kl = (p * (p.clamp_min(1e-30).log() - marginal.clamp_min(1e-30).log())).sum(dim=1)
    return math.exp(float(kl.mean()))


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), in float64."""
    x = features.double()
    mean = x.mean(dim=0)
    centred = x - mean
    return mean, centred.T @ centred / (len(x) - 1)


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(mean_a: torch.Tensor, cov_a: torch.Tensor, mean_b: torch.Tensor,
                     cov_b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)), in float64.

    tr((C_a C_b)^(1/2)) is the sum of square roots of the eigenvalues of C_a^(1/2) C_b C_a^(1/2),
    which is symmetric: two `eigh` calls, no scipy, no complex parts to discard.
    """
    mean_a, cov_a, mean_b, cov_b = (t.double() for t in (mean_a, cov_a, mean_b, cov_b))
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    middle = (middle + middle.T) / 2  # symmetric up to rounding; eigh reads one triangle
    trace_root = torch.linalg.eigvalsh(middle).clamp_min(0).sqrt().sum()
    distance = (mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    return max(float(distance), 0.0)
