"""Fidelity: how closely synthetic samples follow the real training distribution.

Every function is a pure function of arrays (rows = samples, columns = features), in the style of
`sklearn.metrics`; each docstring states the range and which direction is better. Inputs to the
distance-based metrics (MMD, k-NN precision/recall) are expected in the standardised space of
`genogan.quality.distances` (scaler fitted on the real training part).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import euclidean_distances
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from genogan.quality.distances import distance_blocks, knn_distances, subsample

COLUMN_BLOCK = 512  # features sorted at once in the KS / Wasserstein kernels


# --------------------------------------------------------------------------- per-feature marginals
def _ecdf_gap_block(real: np.ndarray, synth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """KS and W1 for a block of columns, from one sort of the pooled values.

    After sorting the pooled column, the running sum of +1/n (real) and -1/m (synthetic) steps is
    F_real - F_synth just right of each value. KS is its largest magnitude at the end of a run of
    tied values; W1 is the integral of its magnitude, i.e. the sum over gaps between consecutive
    pooled values.
    """
    n, m = len(real), len(synth)
    pooled = np.concatenate([real, synth])
    order = np.argsort(pooled, axis=0, kind="stable")
    values = np.take_along_axis(pooled, order, axis=0)
    gap = np.abs(np.cumsum(np.where(order < n, 1.0 / n, -1.0 / m), axis=0))
    run_end = np.ones_like(values, dtype=bool)
    run_end[:-1] = values[1:] != values[:-1]
    ks = np.max(np.where(run_end, gap, 0.0), axis=0)
    w1 = np.sum(gap[:-1] * np.diff(values, axis=0), axis=0)
    return ks, w1


def ks_wasserstein(real: np.ndarray, synth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature two-sample Kolmogorov-Smirnov statistic and Wasserstein-1 distance.

    Equal to `scipy.stats.ks_2samp(...).statistic` and `scipy.stats.wasserstein_distance` column by
    column, computed for all columns at once. KS is in [0, 1] (0 = identical marginals, lower is
    better); W1 is in the units of the inputs (>= 0, lower is better; on standardised inputs it is
    in training standard deviations).
    """
    real, synth = np.asarray(real, dtype=np.float64), np.asarray(synth, dtype=np.float64)
    if real.ndim != 2 or synth.ndim != 2 or real.shape[1] != synth.shape[1]:
        raise ValueError("real and synth must be 2-D with the same number of columns")
    if len(real) == 0 or len(synth) == 0:
        raise ValueError("real and synth need at least one sample each")
    ks = np.empty(real.shape[1])
    w1 = np.empty(real.shape[1])
    for start in range(0, real.shape[1], COLUMN_BLOCK):
        cols = slice(start, start + COLUMN_BLOCK)
        ks[cols], w1[cols] = _ecdf_gap_block(real[:, cols], synth[:, cols])
    return ks, w1


# --------------------------------------------------------------------------- correlation structure
def _unit_columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns centred and scaled so that z.T @ z is the Pearson correlation matrix.

    Constant columns become zero (their correlations are defined as 0, diagonal included).
    """
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=0)
    norm = np.sqrt(np.einsum("ij,ij->j", centred, centred))
    varying = norm > 1e-12 * max(1.0, float(np.abs(x).max(initial=0.0)))
    z = np.zeros_like(centred)
    z[:, varying] = centred[:, varying] / norm[varying]
    return z, varying


def correlation_distance(real: np.ndarray, synth: np.ndarray) -> dict[str, float]:
    """Distance between the feature-correlation matrices of real and synthetic data.

    Returns `frobenius` = ||C_real - C_synth||_F (>= 0) and `rmse` = root mean squared difference
    of the off-diagonal correlations (in [0, 2]); 0 = identical correlation structure, lower is
    better. When there are more features than samples the p x p matrices are never formed:
    ||A.T A - B.T B||_F^2 = ||A A.T||^2 + ||B B.T||^2 - 2 ||A B.T||^2 with sample-sized Gram
    matrices.
    """
    zr, vr = _unit_columns(real)
    zs, vs = _unit_columns(synth)
    p = zr.shape[1]
    if p <= max(len(zr), len(zs)):
        sq = float(np.sum((zr.T @ zr - zs.T @ zs) ** 2))
    else:
        sq = float(np.sum((zr @ zr.T) ** 2) + np.sum((zs @ zs.T) ** 2)
                   - 2 * np.sum((zr @ zs.T) ** 2))
    sq = max(sq, 0.0)
    diag_sq = float(np.sum(vr != vs))  # diagonal is 1 for varying, 0 for constant columns
    offdiag = max(sq - diag_sq, 0.0)
    rmse = float(np.sqrt(offdiag / (p * (p - 1)))) if p > 1 else 0.0
    return {"frobenius": float(np.sqrt(sq)), "rmse": rmse}


# --------------------------------------------------------------------------- MMD
@dataclass
class MMDResult:
    mmd2: float  # unbiased MMD^2 estimate; ~0 (can be slightly negative) = same distribution
    pvalue: float  # permutation p-value; small = distributions differ
    bandwidth: float  # RBF length scale sigma used (median heuristic unless given)
    n_permutations: int


def median_heuristic(sq_dist: np.ndarray) -> float:
    """Median of the off-diagonal pairwise distances (the usual RBF bandwidth choice)."""
    iu = np.triu_indices(len(sq_dist), k=1)
    sigma = float(np.sqrt(np.median(sq_dist[iu])))
    return sigma if sigma > 0 else 1.0


def mmd2_for_splits(kernel: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Unbiased MMD^2 for many splits of one pooled sample at once.

    `kernel`: pooled N x N kernel matrix; `member`: N x S 0/1 matrix, column s marking which
    pooled samples form the first set in split s. All splits share one product kernel @ member,
    so S permutations cost one matrix multiplication instead of S passes over the kernel.
    """
    diag = np.diag(kernel)  # the unbiased estimator leaves out the i == j terms
    m = member.sum(axis=0)
    n = len(kernel) - m
    row_sums = kernel.sum(axis=1) - diag
    s_xx = np.einsum("ij,ij->j", member, kernel @ member) - diag @ member
    s_xy = row_sums @ member - s_xx
    s_yy = row_sums.sum() - s_xx - 2 * s_xy
    return s_xx / (m * (m - 1)) + s_yy / (n * (n - 1)) - 2 * s_xy / (m * n)


def mmd_rbf(x: np.ndarray, y: np.ndarray, *, bandwidth: float | None = None,
            n_permutations: int = 200, seed: int = 0, max_samples: int | None = 2500) -> MMDResult:
    """Unbiased MMD^2 with an RBF kernel exp(-d^2 / (2 sigma^2)) and a permutation p-value.

    The pooled kernel matrix is computed once; every permutation is a column of a 0/1 membership
    matrix B, so all permuted statistics come from one product K @ B. Range: MMD^2 >= 0 in
    expectation (0 = same distribution, lower is better); p-value in (0, 1], a small value means
    the synthetic distribution is detectably different. `max_samples` caps each side (random
    subsample) to bound the N x N kernel matrix (2 x 2500 samples: 200 MB).
    """
    rng = np.random.default_rng(seed)
    if max_samples:
        x, y = subsample(x, max_samples, rng), subsample(y, max_samples, rng)
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError("MMD needs at least two samples on each side")
    pooled = np.concatenate([x, y])
    sq = euclidean_distances(pooled, squared=True)
    sigma = float(bandwidth) if bandwidth else median_heuristic(sq)
    sq *= -1.0 / (2 * sigma**2)
    kernel = np.exp(sq, out=sq)  # in place: one N x N matrix in memory
    observed = np.r_[np.ones(m), np.zeros(n)]
    permuted = rng.permuted(np.tile(observed, (n_permutations, 1)), axis=1)
    stats = mmd2_for_splits(kernel, np.column_stack([observed, permuted.T]))
    pvalue = (1 + np.sum(stats[1:] >= stats[0])) / (1 + n_permutations)
    return MMDResult(float(stats[0]), float(pvalue), sigma, n_permutations)


# --------------------------------------------------------------------------- detection
def detection_classifiers(seed: int = 0, n_jobs: int | None = None) -> dict:
    """Real-vs-synthetic discriminators: a linear one and a non-linear one (trees).

    Extremely randomised trees draw split thresholds at random instead of sorting every candidate
    feature, which makes them ~6x faster than a random forest on thousands of features with the
    same detection power for distribution shifts; the logistic model is L2-regularised (C=0.1)
    because samples and features are often of the same order here.
    """
    return {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000)),
        "extra_trees": ExtraTreesClassifier(n_estimators=100, random_state=seed, n_jobs=n_jobs),
    }


def detection_auc(real: np.ndarray, synth: np.ndarray, *, classifiers: dict | None = None,
                  n_folds: int = 5, seed: int = 0, n_jobs: int | None = None) -> dict:
    """Cross-validated ROC AUC of classifiers trained to tell real from synthetic samples.

    Returns {classifier: (mean AUC, sd AUC over folds)}. Range [0, 1]: 0.5 = indistinguishable
    (best), 1 = perfectly separable. Values near 0.5 are noise; values far below it are not:
    when synthetic samples surround the real ones, a held-out real sample's neighbours are
    synthetic and it is called synthetic (flagged in the quality overview). Folds are stratified
    and shuffled with `seed`; their number is capped by the smaller set's size.
    """
    x = np.concatenate([real, synth])
    label = np.r_[np.zeros(len(real)), np.ones(len(synth))]
    folds = min(n_folds, len(real), len(synth))
    if folds < 2:
        raise ValueError("detection AUC needs at least two real and two synthetic samples")
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    classifiers = classifiers or detection_classifiers(seed, n_jobs)
    result = {}
    for name, model in classifiers.items():
        scores = cross_val_score(clone(model), x, label, cv=cv, scoring="roc_auc")
        result[name] = (float(scores.mean()), float(scores.std()))
    return result


# --------------------------------------------------------------------------- manifold P/R
def knn_precision_recall(real: np.ndarray, synth: np.ndarray, k: int = 3) -> dict[str, float]:
    """Precision/recall on k-NN manifolds (Kynkaanniemi et al. 2019) plus density/coverage
    (Naeem et al. 2020), from one pass over the synthetic x real distance matrix.

    Each real sample owns a ball reaching its k-th nearest real neighbour (likewise for synthetic).
    - precision: fraction of synthetic samples inside some real ball — fidelity, [0, 1], higher
      is better (1 = every synthetic sample looks realistic).
    - recall: fraction of real samples inside some synthetic ball — diversity, [0, 1], higher is
      better (low = mode collapse).
    - density: mean number of real balls containing a synthetic sample, divided by k; ~1 when
      the distributions match, > 1 when synthetic samples crowd dense real regions.
    - coverage: fraction of real balls that contain at least one synthetic sample; [0, 1],
      higher is better; less sensitive to outliers than recall.
    """
    r_real = knn_distances(None, real, k)[:, -1]
    r_synth = knn_distances(None, synth, k)[:, -1]
    in_real_ball = np.zeros(len(synth), dtype=bool)
    ball_count = np.zeros(len(synth))
    covered = np.zeros(len(real), dtype=bool)
    recalled = np.zeros(len(real), dtype=bool)
    for start, d in distance_blocks(synth, real):
        inside = d <= r_real[None, :]
        rows = slice(start, start + len(d))
        in_real_ball[rows] = inside.any(axis=1)
        ball_count[rows] = inside.sum(axis=1)
        covered |= inside.any(axis=0)
        recalled |= (d <= r_synth[rows, None]).any(axis=0)
    return {"precision": float(in_real_ball.mean()), "recall": float(recalled.mean()),
            "density": float(ball_count.sum() / (k * len(synth))),
            "coverage": float(covered.mean())}
