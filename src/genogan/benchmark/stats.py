"""Statistics for the benchmark: confidence intervals, the Nadeau-Bengio corrected resampled t-test,
DeLong's test for correlated AUROCs, and the "worth n real samples" read-out of a learning curve.

Why the correction: the k x r cross-validation scores are not independent (training sets overlap),
so a plain t-test over folds is anti-conservative. Nadeau & Bengio (2003) inflate the variance of
the mean by n_test/n_train: var = (1/J + n_test/n_train) * s^2 over the J = k*r paired differences
(Bouckaert & Frank 2004 for repeated k-fold).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps


def mean_ci(values, confidence: float = 0.95, correction: float = 0.0) -> dict:
    """Mean and t-based CI over J values; `correction` = n_test/n_train gives the NB-corrected CI.

    Returns mean, ci_low, ci_high, sd, n (NaN bounds when fewer than 2 finite values).
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return {"mean": np.nan, "ci_low": np.nan, "ci_high": np.nan, "sd": np.nan, "n": 0}
    mean = float(v.mean())
    if n < 2:
        return {"mean": mean, "ci_low": np.nan, "ci_high": np.nan, "sd": np.nan, "n": 1}
    sd = float(v.std(ddof=1))
    half = sps.t.ppf(0.5 + confidence / 2, n - 1) * sd * np.sqrt(1.0 / n + correction)
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "sd": sd, "n": n}


def corrected_ttest(diffs, n_train: float, n_test: float, confidence: float = 0.95) -> dict:
    """Nadeau-Bengio corrected resampled t-test of paired per-split differences (arm - none).

    Returns mean_diff, its corrected CI, t, df, two-sided p and Cohen's d of the differences
    (mean / sd: the standardised paired effect, d_z).
    """
    d = np.asarray(diffs, dtype=np.float64)
    d = d[np.isfinite(d)]
    J = len(d)
    out = {"mean_diff": float(d.mean()) if J else np.nan, "t": np.nan, "df": max(J - 1, 0),
           "p": np.nan, "cohen_d": np.nan, "diff_ci_low": np.nan, "diff_ci_high": np.nan}
    if J < 2:
        return out
    correction = float(n_test) / float(n_train)
    sd = d.std(ddof=1)
    se = sd * np.sqrt(1.0 / J + correction)
    if se == 0:  # identical differences: the test is degenerate
        same = out["mean_diff"] == 0
        out.update(t=0.0 if same else np.copysign(np.inf, out["mean_diff"]),
                   p=1.0 if same else 0.0, diff_ci_low=out["mean_diff"],
                   diff_ci_high=out["mean_diff"])
        return out
    t = out["mean_diff"] / se
    half = sps.t.ppf(0.5 + confidence / 2, J - 1) * se
    out.update(t=float(t), p=float(2 * sps.t.sf(abs(t), J - 1)), cohen_d=out["mean_diff"] / sd,
               diff_ci_low=out["mean_diff"] - half, diff_ci_high=out["mean_diff"] + half)
    return out


def _delong_components(pos, neg):
    """Fast DeLong (Sun & Xu 2014): AUCs and structural components from midranks.

    pos: (k, m) scores of the m positives for k models; neg: (k, n). Returns aucs (k,),
    v10 (k, m) and v01 (k, n): per-positive and per-negative placement values.
    """
    m, n = pos.shape[1], neg.shape[1]
    tx = sps.rankdata(pos, axis=1)
    ty = sps.rankdata(neg, axis=1)
    tz = sps.rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    aucs = tz[:, :m].sum(axis=1) / (m * n) - (m + 1.0) / (2.0 * n)
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    return aucs, v10, v01


def delong_covariance(y_true, scores, positive) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of k score vectors on the same samples and their DeLong covariance matrix (k x k)."""
    truth = np.asarray(y_true).astype(str) == str(positive)
    S = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    aucs, v10, v01 = _delong_components(S[:, truth], S[:, ~truth])
    cov = (np.atleast_2d(np.cov(v10)) / truth.sum()
           + np.atleast_2d(np.cov(v01)) / (~truth).sum())
    return aucs, cov


def delong_test(y_true, score_a, score_b, positive) -> dict:
    """DeLong's test of AUROC(a) = AUROC(b) for two correlated score vectors (same samples)."""
    truth = np.asarray(y_true).astype(str) == str(positive)
    if truth.sum() < 2 or (~truth).sum() < 2:
        return {"auc_a": np.nan, "auc_b": np.nan, "diff": np.nan, "se": np.nan, "z": np.nan,
                "p": np.nan}
    aucs, cov = delong_covariance(y_true, np.vstack([score_a, score_b]), positive)
    diff = aucs[0] - aucs[1]
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    se = float(np.sqrt(max(var, 0.0)))
    if se == 0:
        z, p = (0.0, 1.0) if diff == 0 else (np.copysign(np.inf, diff), 0.0)
    else:
        z = diff / se
        p = float(2 * sps.norm.sf(abs(z)))
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "diff": float(diff), "se": se,
            "z": float(z), "p": p}


DELONG_BINARY_ONLY = ("not computed: DeLong's test compares two AUROCs of one positive class "
                      "(binary only); with {n} classes AUROC is the one-vs-rest macro mean, "
                      "compare arms by the Nadeau-Bengio p_nb")


def delong_scope(n_classes: int) -> str:
    """'' for a binary problem; otherwise the sentence saying DeLong was not computed and why."""
    return "" if int(n_classes) <= 2 else DELONG_BINARY_ONLY.format(n=int(n_classes))


def mark_delong_scope(table: pd.DataFrame, pooled: pd.DataFrame) -> pd.DataFrame:
    """The aggregate table with a `delong_note` column: empty for binary problems; for more than
    two classes (counted in the pooled out-of-fold `condition`s) the AUROC rows, whose
    `delong_p` stays NaN, say that DeLong is binary only."""
    table = table.copy()
    note = delong_scope(pooled["condition"].astype(str).nunique()) if len(pooled) else ""
    table["delong_note"] = np.where(table["metric"] == "auroc", note, "")
    return table


def worth_real_samples(n_real, scores, target: float) -> dict:
    """How many real training samples the reference (`none`) learning curve needs to reach `target`.

    The curve (mean score at each real training size) is read by linear interpolation at its first
    crossing of `target`. `status` is `interpolated`, `below_curve` (target <= the smallest size's
    score: worth at most that many) or `above_curve` (target beyond the curve: worth more than the
    largest size; `n_equivalent` = inf).
    """
    n = np.asarray(n_real, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(n)
    n, s = n[order], s[order]
    if target <= s[0]:
        return {"n_equivalent": float(n[0]), "status": "below_curve"}
    for i in range(len(n) - 1):
        lo, hi = s[i], s[i + 1]
        if lo < target <= hi:
            frac = (target - lo) / (hi - lo)
            return {"n_equivalent": float(n[i] + frac * (n[i + 1] - n[i])),
                    "status": "interpolated"}
    return {"n_equivalent": float("inf"), "status": "above_curve"}
