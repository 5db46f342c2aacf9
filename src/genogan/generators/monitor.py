"""Training monitor scores: fidelity (MMD) and diversity of generated vs real samples.

Why both: GAN losses do not tell whether samples look real (fidelity) nor whether the generator
produces the same sample over and over (mode collapse: losses can look fine while every sample is
alike). MMD catches the first; pairwise-distance and per-feature spread ratios catch the second.
All functions are pure numpy on arrays in the preprocessed space.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist

# the history columns the training loop adds at monitor epochs (gan.early_stopping.metric's choices)
MONITOR_COLUMNS = ("mmd", "mmd_class", "diversity_ratio", "std_ratio", "val_mmd", "val_label",
                   "val_memorised", "val_score")


def _sq_dists(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d, 0.0)


def median_bandwidth(X: np.ndarray, Y: np.ndarray) -> float:
    """Median heuristic: sigma^2 = median of the pooled off-diagonal squared distances."""
    Z = np.vstack([X, Y]).astype(np.float64)
    d = pdist(Z, "sqeuclidean")
    med = float(np.median(d)) if d.size else 0.0
    return med if med > 0 else 1.0


def mmd_rbf(X, Y, sigma2: float | None = None) -> float:
    """MMD (square root of the biased V-statistic MMD^2) with k(a,b) = exp(-|a-b|^2 / (2 sigma^2)).

    0 means the two samples are indistinguishable by the kernel; larger is worse. `sigma2`
    defaults to the median heuristic on the pooled samples.
    """
    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    s2 = median_bandwidth(X, Y) if sigma2 is None else float(sigma2)
    kxx = np.exp(-_sq_dists(X, X) / (2 * s2)).mean()
    kyy = np.exp(-_sq_dists(Y, Y) / (2 * s2)).mean()
    kxy = np.exp(-_sq_dists(X, Y) / (2 * s2)).mean()
    return float(np.sqrt(max(kxx + kyy - 2 * kxy, 0.0)))


def class_mmd(real, y_real, fake, y_fake) -> float:
    """Mean over classes of the per-class MMD: a conditional generator must match every class."""
    scores = [mmd_rbf(real[y_real == c], fake[y_fake == c]) for c in np.unique(y_real)
              if (y_fake == c).any()]
    return float(np.mean(scores)) if scores else float("nan")


def diversity_scores(real, fake) -> dict[str, float]:
    """Spread of generated vs real samples; both ratios are ~1 for a healthy generator.

    - `diversity_ratio`: mean pairwise Euclidean distance among generated / among real samples.
    - `std_ratio`: mean over features (with real spread > 0) of std(generated) / std(real).
    Mode collapse drives both toward 0.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    d_real = pdist(real).mean() if len(real) > 1 else np.nan
    d_fake = pdist(fake).mean() if len(fake) > 1 else np.nan
    s_real, s_fake = real.std(axis=0), fake.std(axis=0)
    keep = s_real > 0
    std_ratio = float((s_fake[keep] / s_real[keep]).mean()) if keep.any() else float("nan")
    div = float(d_fake / d_real) if d_real and np.isfinite(d_real) else float("nan")
    return {"diversity_ratio": div, "std_ratio": std_ratio}


def monitor_scores(real, y_real, fake, y_fake) -> dict[str, float]:
    """Everything the training monitor logs at a monitoring epoch."""
    return {"mmd": mmd_rbf(real, fake), "mmd_class": class_mmd(real, y_real, fake, y_fake),
            **diversity_scores(real, fake)}
