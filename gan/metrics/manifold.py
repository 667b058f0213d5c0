"""Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall
Metric for Assessing Generative Models", NeurIPS): each set of features spans a manifold, the
union of balls around its points reaching each point's k-th nearest neighbour in its own set.
Precision is the share of generated samples inside the real manifold (quality), recall the share
of real samples inside the generated one (diversity). Pure functions of tensors.
"""

import torch

K = 3  # neighbours per ball, the paper's choice
CHUNK = 1000  # rows of the distance matrix held at once: (CHUNK, N) floats


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
