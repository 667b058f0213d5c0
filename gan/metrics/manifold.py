"""Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall
Metric for Assessing Generative Models", NeurIPS): each set of features spans a manifold, the
union of balls around its points reaching each point's k-th nearest neighbour in its own set.
Precision is the share of generated samples inside the real manifold (quality), recall the share
of real samples inside the generated one (diversity). Pure functions of tensors.

**Only on MIN_N = 10,000 samples or more** (`too_few` says why not). The balls are only as small
as the real set is large: the 3rd-neighbour radius of the MNIST test set's classifier features
(median) is 8.0 with all 10,000 images, 8.7 with 5,000, 10.7 with 1,000, 13.5 with 200. Wide
balls take in what is not a digit, and a useless generator, whose samples all sit near one point
of feature space, is in or out of some ball all at once. Measured on MNIST, a 40-step FC
generator (one class) and uniform noise against n test images, six seeds of the noise and the
subset (`eval.seed` 0-5): the 40-step generator's precision was 1.000 at n=200 in every seed,
0.000-0.956 at 1,000, 0.022-0.962 at 2,000, 0.011-0.391 at 5,000, and 0.002-0.004 only at 10,000;
the noise's 0.69-0.96 at 200, up to 0.43 at 2,000, 0.002-0.003 at 10,000. Real training images
score 0.88-0.925 at 200 and 0.85-0.86 at 10,000: small sets flatter everything. The paper uses
50,000. Even at 10,000 a collapsed generator's precision hangs on which real images form the
manifold (0.000-0.783 against five draws of 10,000 training images; the test set is one fixed
set, so against it the number is at least the same every time): its recall (0 in every case
above) and the classes it covers are what show a collapse, not its precision.
"""

import torch

K = 3  # neighbours per ball, the paper's choice
CHUNK = 1000  # rows of the distance matrix held at once: (CHUNK, N) floats
MIN_N = 10_000  # fewest samples (and as many real ones) worth a precision and recall; see above


def too_few(compared: int) -> str | None:
    """Why precision and recall of `compared` samples against as many real ones are not
    computed (fewer than MIN_N: the number would say more about n than about the samples), or
    None when they are."""
    if compared >= MIN_N:
        return None
    return (f"precision and recall not computed: {compared} samples against {compared} real "
            f"images, and they mean something only from {MIN_N} (see gan/metrics/manifold.py)")


def knn_radii(features: torch.Tensor, k: int = K) -> torch.Tensor:
    """Each point's distance to its k-th nearest other point in the set: (N,) from (N, D).
    Raises ValueError unless the set has more than k points."""
    if len(features) <= k:
        raise ValueError(f"k={k} nearest neighbours need more than {k} points, got "
                         f"{len(features)}")
    x = features.float()
    # The k+1 smallest distances of each row include the point itself (0).
    return torch.cat([torch.cdist(x[i:i + CHUNK], x).topk(k + 1, dim=1, largest=False)
                      .values[:, k] for i in range(0, len(x), CHUNK)])


def inside(queries: torch.Tensor, points: torch.Tensor, radii: torch.Tensor) -> float:
    """The share of queries (M, D) within radii[j] of some points[j] (points (N, D), radii
    (N,)): 0 to 1."""
    q, p = queries.float(), points.float()
    hits = [(torch.cdist(q[i:i + CHUNK], p) <= radii).any(dim=1)
            for i in range(0, len(q), CHUNK)]
    return float(torch.cat(hits).double().mean())


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = K,
                     real_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """(precision, recall) of fake features (M, D) against real ones (N, D), each 0 to 1 and
    higher better; the real set's radii may be given when computed once for many calls.

    Both read the one fake-to-real distance matrix, a block of CHUNK fake rows at a time:
    precision asks each row (a fake point) whether some real ball holds it, recall each column
    (a real point) whether some fake ball does. `inside` twice would compute it twice."""
    if real_radii is None:
        real_radii = knn_radii(real, k)
    f, r = fake.float(), real.float()
    fake_radii = knn_radii(f, k)
    precise = torch.zeros(len(f), dtype=torch.bool, device=f.device)
    recalled = torch.zeros(len(r), dtype=torch.bool, device=f.device)
    for i in range(0, len(f), CHUNK):
        distances = torch.cdist(f[i:i + CHUNK], r)  # (CHUNK, N)
        precise[i:i + CHUNK] = (distances <= real_radii).any(dim=1)
        recalled |= (distances <= fake_radii[i:i + CHUNK, None]).any(dim=0)
    return float(precise.double().mean()), float(recalled.double().mean())
