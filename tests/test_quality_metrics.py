"""Quality metrics against brute-force computations and known answers (genogan.quality)."""

import itertools

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from genogan.features import FeatureMatrix
from genogan.quality import fidelity, privacy, utility
from genogan.quality.distances import fit_scaler, standardise


def rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- fidelity vs brute
def test_ks_and_wasserstein_match_scipy_per_column():
    r = rng()
    real = np.c_[r.normal(size=(23, 3)), r.integers(0, 4, size=(23, 2))]  # ties in last 2
    synth = np.c_[r.normal(0.5, 2, size=(17, 3)), r.integers(1, 5, size=(17, 2))]
    ks, w1 = fidelity.ks_wasserstein(real, synth)
    for j in range(real.shape[1]):
        assert ks[j] == pytest.approx(stats.ks_2samp(real[:, j], synth[:, j]).statistic)
        assert w1[j] == pytest.approx(stats.wasserstein_distance(real[:, j], synth[:, j]))


def test_ks_is_zero_for_identical_samples_and_one_for_disjoint():
    x = rng().normal(size=(30, 4))
    ks, w1 = fidelity.ks_wasserstein(x, x[::-1])
    assert np.allclose(ks, 0) and np.allclose(w1, 0)
    ks, w1 = fidelity.ks_wasserstein(x, x + 100)
    assert np.allclose(ks, 1) and np.allclose(w1, 100)


def _brute_corr(x):
    c = np.corrcoef(x, rowvar=False)
    return np.nan_to_num(c)  # constant column: correlations (and diagonal) 0


@pytest.mark.parametrize("n_samples, n_features", [(40, 6), (8, 30)])  # both code paths
def test_correlation_distance_matches_direct_matrices(n_samples, n_features):
    r = rng(1)
    real = r.normal(size=(n_samples, n_features))
    synth = r.normal(size=(n_samples + 3, n_features)) @ r.normal(size=(n_features, n_features))
    real[:, 2] = 1.5  # constant in real only
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = _brute_corr(real) - _brute_corr(synth)
    got = fidelity.correlation_distance(real, synth)
    assert got["frobenius"] == pytest.approx(np.linalg.norm(diff), rel=1e-8)
    off = diff[~np.eye(n_features, dtype=bool)]
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean(off**2)), rel=1e-8)


def _brute_mmd2(x, y, sigma):
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2))  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    return xx + yy - 2 * xy


def test_mmd_matches_double_loop_and_median_heuristic():
    r = rng(2)
    x, y = r.normal(size=(7, 3)), r.normal(0.7, 1, size=(5, 3))
    got = fidelity.mmd_rbf(x, y, bandwidth=1.3, n_permutations=0)
    assert got.mmd2 == pytest.approx(_brute_mmd2(x, y, 1.3))
    pooled = np.r_[x, y]
    dists = [np.linalg.norm(a - b) for a, b in itertools.combinations(pooled, 2)]
    auto = fidelity.mmd_rbf(x, y, n_permutations=0)
    assert auto.bandwidth == pytest.approx(np.median(dists))
    assert auto.mmd2 == pytest.approx(_brute_mmd2(x, y, np.median(dists)))


def test_mmd_permuted_statistics_match_per_split_brute_force():
    r = rng(3)
    pooled = r.normal(size=(9, 2))
    kernel = np.exp(-np.sum((pooled[:, None] - pooled[None]) ** 2, axis=2) / 2)
    splits = [r.permutation(9) < 4 for _ in range(5)]  # 4 vs 5 samples
    got = fidelity.mmd2_for_splits(kernel, np.column_stack(splits).astype(float))
    for value, first in zip(got, splits, strict=True):
        assert value == pytest.approx(_brute_mmd2(pooled[first], pooled[~first], 1.0))


def test_mmd_pvalue_large_for_same_distribution_small_for_shift():
    r = rng(4)
    same = fidelity.mmd_rbf(r.normal(size=(150, 5)), r.normal(size=(150, 5)), seed=1)
    assert same.pvalue > 0.05
    shifted = fidelity.mmd_rbf(r.normal(size=(150, 5)), r.normal(0.6, 1, size=(150, 5)))
    assert shifted.pvalue == pytest.approx(1 / 201)


def _brute_pr(real, synth, k):
    def kth(points, i):
        return sorted(np.linalg.norm(points[i] - points[j])
                      for j in range(len(points)) if j != i)[k - 1]
    rr = [kth(real, i) for i in range(len(real))]
    rs = [kth(synth, j) for j in range(len(synth))]
    d = lambda a, b: np.linalg.norm(a - b)  # noqa: E731
    inside = [[d(s, real[i]) <= rr[i] for i in range(len(real))] for s in synth]
    precision = np.mean([any(row) for row in inside])
    recall = np.mean([any(d(real[i], synth[j]) <= rs[j] for j in range(len(synth)))
                      for i in range(len(real))])
    density = np.sum(inside) / (k * len(synth))
    coverage = np.mean([any(row[i] for row in inside) for i in range(len(real))])
    return precision, recall, density, coverage


def test_knn_precision_recall_match_brute_force():
    r = rng(5)
    real, synth = r.normal(size=(14, 3)), r.normal(0.8, 1.5, size=(11, 3))
    got = fidelity.knn_precision_recall(real, synth, k=3)
    expected = _brute_pr(real, synth, 3)
    assert [got[key] for key in ("precision", "recall", "density", "coverage")] == \
        pytest.approx(expected)


def test_knn_precision_recall_of_a_copy_is_perfect():
    x = rng(6).normal(size=(30, 4))
    got = fidelity.knn_precision_recall(x, x.copy(), k=3)
    assert got["precision"] == got["recall"] == got["coverage"] == 1.0


def test_detection_auc_near_half_for_fresh_samples_and_one_for_noise():
    r = rng(7)
    cov = np.eye(8) + 0.5
    real = r.multivariate_normal(np.zeros(8), cov, size=300)
    fresh = r.multivariate_normal(np.zeros(8), cov, size=300)
    for mean, _ in fidelity.detection_auc(real, fresh, seed=0).values():
        assert 0.4 <= mean <= 0.62
    noise = r.uniform(real.min(axis=0), real.max(axis=0), size=(300, 8))
    best = max(mean for mean, _ in fidelity.detection_auc(real, noise, seed=0).values())
    assert best > 0.95


# --------------------------------------------------------------------------- privacy vs brute
def test_dcr_and_nndr_match_brute_force():
    r = rng(8)
    query, ref = r.normal(size=(6, 3)), r.normal(size=(9, 3))
    d = np.array([[np.linalg.norm(q - x) for x in ref] for q in query])
    assert privacy.dcr(query, ref) == pytest.approx(d.min(axis=1))
    two = np.sort(d, axis=1)[:, :2]
    assert privacy.nndr(query, ref) == pytest.approx(two[:, 0] / two[:, 1])


def test_adversarial_accuracy_matches_brute_force():
    r = rng(9)
    real, synth = r.normal(size=(8, 2)), r.normal(0.3, 1.2, size=(8, 2))
    d = lambda a, b: np.linalg.norm(a - b)  # noqa: E731

    def nn(p, pts, skip=None):
        return min(d(p, x) for j, x in enumerate(pts) if j != skip)
    first = np.mean([nn(real[i], synth) > nn(real[i], real, i) for i in range(8)])
    second = np.mean([nn(synth[j], real) > nn(synth[j], synth, j) for j in range(8)])
    assert privacy.adversarial_accuracy(real, synth) == pytest.approx(0.5 * (first + second))


def test_membership_auc_matches_brute_force_ranking():
    r = rng(10)
    train, holdout, synth = r.normal(size=(7, 2)), r.normal(size=(5, 2)), r.normal(size=(6, 2))
    score = lambda p: -min(np.linalg.norm(p - s) for s in synth)  # noqa: E731
    wins = [(score(a) > score(b)) + 0.5 * (score(a) == score(b)) for a in train for b in holdout]
    assert privacy.membership_inference_auc(train, holdout, synth) == pytest.approx(np.mean(wins))


def test_near_copies_match_brute_force():
    r = rng(11)
    holdout, train, synth = r.normal(size=(6, 2)), r.normal(size=(10, 2)), r.normal(size=(12, 2))
    got = privacy.near_copies(holdout, train, synth)
    expected = [(h, s) for h in range(6) for s in range(12)
                if np.linalg.norm(holdout[h] - synth[s])
                < min(np.linalg.norm(holdout[h] - t) for t in train)]
    assert sorted(map(tuple, got.pairs)) == expected
    assert got.n_closer.sum() == len(expected)
    assert got.expected_fraction == pytest.approx(12 / 22)


def _population(n, p=6, seed=0):
    r = rng(seed)
    return r.normal(size=(n, p)) @ (np.eye(p) + 0.3)


def test_copy_of_train_is_caught_by_every_privacy_metric():
    train, holdout = _population(200, seed=1), _population(80, seed=2)
    synth = train.copy()
    assert np.allclose(privacy.dcr(synth, train), 0, atol=1e-6)
    assert privacy.membership_inference_auc(train, holdout, synth) > 0.95
    aa = privacy.nn_adversarial_privacy(train, holdout, synth)
    assert aa["aa_train"] == 0.0 and aa["privacy_loss"] > 0.3
    gate = privacy.privacy_gate(synth, train)
    assert gate.n_dropped == len(synth) and len(gate.kept) == 0


def test_fresh_samples_look_private():
    train, holdout, synth = (_population(n, seed=s) for n, s in ((300, 3), (150, 4), (300, 5)))
    assert 0.4 < privacy.membership_inference_auc(train, holdout, synth) < 0.6
    aa = privacy.nn_adversarial_privacy(train, holdout, synth)
    assert abs(aa["privacy_loss"]) < 0.1 and 0.4 < aa["aa_train"] < 0.6
    gate = privacy.privacy_gate(synth, train, percentile=5)
    assert gate.n_dropped / len(synth) < 0.15
    near = privacy.near_copies(holdout, train, synth)
    assert abs(near.fraction - near.expected_fraction) < 0.12


def test_test_samples_copied_into_synthetic_are_flagged():
    train, holdout = _population(200, seed=6), _population(50, seed=7)
    synth = np.r_[_population(100, seed=8), holdout + 1e-3]
    near = privacy.near_copies(holdout, train, synth)
    assert near.fraction == 1.0
    assert set(near.pairs[:, 1]) >= set(range(100, 150))


def test_gate_drops_copies_even_when_training_has_duplicates():
    """Duplicated training rows make the LOO percentile 0; rounding must not save a copy."""
    base = rng(15).normal(3, 5, size=(60, 1500))
    train = np.r_[base, base]  # every sample twice
    synth = np.r_[base[:20], rng(16).normal(3, 5, size=(20, 1500))]
    gate = privacy.privacy_gate(synth, train)
    assert not gate.keep[:20].any() and gate.keep[20:].all()


def test_default_gate_uses_training_data_only():
    """The leakage-free gate must not change when the test fold changes."""
    train, synth = _population(150, seed=9), _population(150, seed=10)
    synth[:10] = train[:10] + 1e-4  # ten near-copies
    a = privacy.privacy_gate(synth, train, percentile=5)
    assert a.reference == "loo" and a.n_dropped >= 10 and not a.keep[:10].any()
    (z,) = standardise(fit_scaler(train), train)
    loo = [min(np.linalg.norm(t - u) for j, u in enumerate(z) if j != i) for i, t in enumerate(z)]
    assert a.threshold == pytest.approx(np.percentile(loo, 5))
    for seed in (11, 12):
        h = privacy.privacy_gate(synth, train, _population(60, seed=seed), percentile=5)
        assert h.reference == "holdout" and h.threshold != a.threshold
    assert np.array_equal(privacy.privacy_gate(synth, train, percentile=5).keep, a.keep)


def test_gate_keeps_feature_matrix_metadata_of_kept_samples():
    import pandas as pd

    train = _population(40, seed=13)
    synth = np.r_[train[:3], _population(7, seed=14)]
    fm = FeatureMatrix(synth, np.array(["a", "b"] * 5), np.array([f"s{i}" for i in range(10)]),
                       [f"f{j}" for j in range(6)], pd.DataFrame({"seed": range(10)}))
    tr = FeatureMatrix(train, np.array(["a", "b"] * 20), np.array([f"t{i}" for i in range(40)]),
                       [f"f{j}" for j in range(6)])
    result = privacy.privacy_gate(fm, tr)
    assert result.n_dropped >= 3 and list(result.kept.samples[:1]) != ["s0"]
    assert list(result.kept.extra["seed"]) == list(np.flatnonzero(result.keep))
    assert list(result.kept.samples) == [f"s{i}" for i in np.flatnonzero(result.keep)]


# --------------------------------------------------------------------------- utility
def _two_classes(n, seed, shift=2.0, p=5):
    r = rng(seed)
    y = np.array(["case", "control"])[np.arange(n) % 2]
    x = r.normal(size=(n, p)) + np.where(y == "case", shift, 0.0)[:, None]
    return x, y


def test_label_fidelity_passes_for_true_labels_and_fails_for_ignored_labels():
    xt, yt = _two_classes(200, 1)
    xs, ys = _two_classes(200, 2)
    good = utility.label_fidelity(xt, yt, xs, ys)
    assert (good["accuracy"] > 0.9).all()
    shuffled = rng(3).permutation(ys)  # a generator that ignores the requested label
    bad = utility.label_fidelity(xt, yt, xs, shuffled)
    assert (bad.groupby("classifier")["accuracy"].mean() - 0.5).abs().max() < 0.12
    assert set(bad.columns) == {"classifier", "class", "n_synthetic", "accuracy", "chance"}


def test_tstr_close_to_trtr_for_fresh_samples_and_nan_for_one_class():
    xt, yt = _two_classes(150, 4, shift=1.0)
    xs, ys = _two_classes(150, 5, shift=1.0)
    xh, yh = _two_classes(100, 6, shift=1.0)
    table = utility.tstr_trtr(xt, yt, xs, ys, xh, yh)
    wide = table.pivot(index="classifier", columns="trained_on", values="auroc")
    assert (wide["real"] > 0.85).all() and ((wide["real"] - wide["synthetic"]).abs() < 0.08).all()
    expected = roc_auc_score(yh == "control", utility.default_classifiers()["logistic"]
                             .fit(xs, ys).predict_proba(xh)[:, 1])
    assert wide.loc["logistic", "synthetic"] == pytest.approx(expected)
    one = utility.tstr_trtr(xt, yt, xs[ys == "case"], ys[ys == "case"], xh, yh)
    assert one[one["trained_on"] == "synthetic"]["auroc"].isna().all()
