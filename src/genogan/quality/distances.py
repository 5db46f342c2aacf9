"""Shared distance machinery for the quality metrics.

All sample-to-sample distances are Euclidean distances in one standardised space whose scaler is
fitted on the real *training* part only: the holdout (test fold) never shapes the metric, and
features with large raw variance (e.g. abundant k-mers) do not dominate the distances.
Nearest-neighbour searches go through scikit-learn (`NearestNeighbors`, chunked pairwise
distances), so no Python loop ever runs over pairs of samples.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import euclidean_distances
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

CHUNK_BYTES = 128 * 2**20  # memory for one block of a distance matrix


def copy_tolerance(n_features: int) -> float:
    """Distance (standardised units) at or below which two samples count as identical.

    Distances come from |a|^2 + |b|^2 - 2 a.b, whose rounding error for identical rows grows like
    sqrt(machine eps * |a|^2) ~ 1e-8 * sqrt(n_features) after standardising; real neighbours are
    ~sqrt(2 n_features) apart. 1e-5 * sqrt(n_features) sits safely between the two.
    """
    return 1e-5 * float(np.sqrt(max(1, n_features)))


def fit_scaler(train: np.ndarray) -> StandardScaler:
    """Scaler fitted on the real training samples only (zero-variance features keep scale 1)."""
    return StandardScaler().fit(np.asarray(train, dtype=np.float64))


def standardise(scaler: StandardScaler, *arrays: np.ndarray) -> list[np.ndarray]:
    return [scaler.transform(np.asarray(a, dtype=np.float64)) for a in arrays]


def knn_distances(query: np.ndarray | None, reference: np.ndarray, k: int = 1) -> np.ndarray:
    """Distances from each query row to its `k` nearest reference rows, sorted, shape (n, k).

    With `query=None` the reference points are queried against themselves, each excluding
    itself (leave-one-out); exact duplicates of a point still count as neighbours at distance 0.
    """
    n_ref = len(reference) - (1 if query is None else 0)
    if n_ref < k:
        raise ValueError(f"need at least {k} reference samples, got {n_ref}")
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(reference)
    dist, _ = nn.kneighbors(query, n_neighbors=k)
    return dist


def nearest(query: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of the nearest reference row for every query row."""
    nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(reference)
    dist, idx = nn.kneighbors(query)
    return dist[:, 0], idx[:, 0]


def distance_blocks(a: np.ndarray, b: np.ndarray):
    """Yield (start, D) with D = distances from rows a[start:start+len(D)] to all rows of b.

    Blocks are sized so one block stays under `CHUNK_BYTES`; callers reduce each block at once.
    """
    rows = max(1, CHUNK_BYTES // (8 * max(1, len(b))))
    b_sq = np.einsum("ij,ij->i", b, b)[None, :]
    for start in range(0, len(a), rows):
        block = a[start:start + rows]
        d = euclidean_distances(block, b, Y_norm_squared=b_sq)
        yield start, d


def subsample(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` rows of `x` drawn without replacement (all rows, in order, when n >= len(x))."""
    if n >= len(x):
        return x
    return x[np.sort(rng.choice(len(x), size=n, replace=False))]
