"""GAN support code without TensorFlow: preprocessing, synthetic counts, monitor scores."""

import json

import numpy as np
import pandas as pd
import pytest

from genogan.errors import GenoganInputError
from genogan.generators.amount import synthetic_counts
from genogan.generators.monitor import diversity_scores, median_bandwidth, mmd_rbf
from genogan.generators.preprocess import FeaturePreprocessor, ReducedSpace, is_compositional


def counts_matrix(rng, n=30, d=12):
    X = rng.poisson(lam=rng.uniform(0.5, 50, size=d), size=(n, d)).astype(float)
    X[:, 3] = 7.0  # zero-variance feature
    return X


def freq_matrix(rng, n=30, d=16):
    X = rng.gamma(2.0, size=(n, d))
    X[:, 0] = 0.0  # a k-mer never seen
    return X / X.sum(axis=1, keepdims=True)


def full_space(*args, **kwargs):
    """The per-feature transform alone (no reduced space): these tests check it per feature."""
    return FeaturePreprocessor(*args, rank=None, **kwargs)


# ---- preprocessing ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["log1p", "clr", "none", "auto"])
def test_inverse_of_transform_is_identity_on_counts(mode):
    X = counts_matrix(np.random.default_rng(0))
    if mode == "clr":  # clr keeps ratios only: exact for rows with the training mean total
        X = X / X.sum(axis=1, keepdims=True) * 100.0
    p = full_space(mode).fit(X)
    U = p.transform(X)
    assert U.dtype == np.float32 and U.shape == X.shape
    np.testing.assert_allclose(p.inverse_transform(U), X, rtol=1e-5, atol=1e-4)


def test_transform_fills_but_stays_inside_tanh_range():
    X = counts_matrix(np.random.default_rng(1))
    U = full_space("log1p", margin=0.05).fit_transform(X)
    assert np.abs(U).max() <= 1 / 1.05 + 1e-6
    varying = np.ptp(X, axis=0) > 0
    # each varying feature reaches its bound on one side
    np.testing.assert_allclose(np.abs(U[:, varying]).max(axis=0), 1 / 1.05, rtol=1e-5)
    assert np.all(U[:, 3] == 0.0)  # zero-variance feature -> 0, not NaN


def test_zero_variance_feature_inverts_to_its_constant():
    X = counts_matrix(np.random.default_rng(2))
    p = full_space("log1p").fit(X)
    out = p.inverse_transform(np.random.default_rng(3).uniform(-1, 1, size=(5, X.shape[1])))
    np.testing.assert_allclose(out[:, 3], 7.0)


def test_compositional_detection():
    rng = np.random.default_rng(4)
    F = freq_matrix(rng)
    assert is_compositional(F)
    assert not is_compositional(F * 2)
    G = F.copy()
    G[0, 1] -= 2 * G[0, 1] + 1e-3  # negative entry
    G[0, 2] += 2 * F[0, 1] + 1e-3
    assert not is_compositional(G)
    assert full_space().fit(F).mode_ == "clr"
    assert full_space().fit(F * 10).mode_ == "log1p"
    assert full_space().fit(F - 0.5).mode_ == "none"


def test_inverse_of_arbitrary_generator_output_is_valid_composition():
    rng = np.random.default_rng(5)
    F = freq_matrix(rng)
    for mode in ("clr", "log1p", "none"):
        p = full_space(mode).fit(F)
        out = p.inverse_transform(rng.uniform(-1, 1, size=(50, F.shape[1])))
        assert (out >= 0).all(), mode
        assert (out[:, 0] == 0).all(), mode  # a feature never seen in training stays absent
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(p.inverse_transform(p.transform(F)), F, rtol=1e-5, atol=1e-7)


def test_nonnegative_features_stay_nonnegative_beyond_training_range():
    X = counts_matrix(np.random.default_rng(6))
    X[:, 0] = np.r_[0.0, np.full(len(X) - 1, 3.0)]
    p = full_space("none").fit(X)  # even without log, nonneg features are clipped
    out = p.inverse_transform(-np.ones((4, X.shape[1])))
    assert (out >= 0).all()
    assert not p.compositional_


def test_clr_input_rows_stay_centred():
    L = np.log(freq_matrix(np.random.default_rng(13)) + 1e-3)
    C = L - L.mean(axis=1, keepdims=True)  # a CLR feature matrix (kmers.normalise: clr)
    p = full_space("auto").fit(C)
    assert p.mode_ == "none" and p.centred_ and not p.compositional_
    out = p.inverse_transform(np.random.default_rng(14).uniform(-1, 1, size=(9, C.shape[1])))
    np.testing.assert_allclose(out.sum(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(p.inverse_transform(p.transform(C)), C, rtol=1e-5, atol=1e-5)
    assert not full_space().fit(C + 0.1).centred_


def test_signed_features_are_not_clipped():
    X = np.random.default_rng(7).normal(size=(20, 5))
    p = full_space("auto").fit(X)
    out = p.inverse_transform(-np.ones((3, 5)))
    assert (out < 0).any()


def test_json_round_trip_gives_identical_transforms():
    rng = np.random.default_rng(8)
    F = freq_matrix(rng)
    p = full_space("auto").fit(F)
    text = p.to_json()
    json.loads(text)  # plain JSON
    q = FeaturePreprocessor.from_json(text)
    np.testing.assert_array_equal(q.transform(F), p.transform(F))
    U = rng.uniform(-1, 1, size=(6, F.shape[1]))
    np.testing.assert_array_equal(q.inverse_transform(U), p.inverse_transform(U))
    assert q.to_dict() == p.to_dict()


def test_preprocessor_bad_input():
    X = counts_matrix(np.random.default_rng(9))
    with pytest.raises(GenoganInputError, match="auto, log1p, clr, none"):
        full_space("sqrt")
    with pytest.raises(GenoganInputError, match="non-negative"):
        full_space("log1p").fit(X - 100)
    bad = X.copy()
    bad[2, 5] = np.nan
    with pytest.raises(GenoganInputError, match="NaN/inf.*row 2, feature column 5"):
        full_space().fit(bad)
    p = full_space().fit(X)
    with pytest.raises(GenoganInputError, match="fitted on 12"):
        p.transform(X[:, :5])
    with pytest.raises(GenoganInputError, match="format_version"):
        FeaturePreprocessor.from_dict({**p.to_dict(), "format_version": 99})


# ---- synthetic counts ------------------------------------------------------------------------
Y = ["case"] * 3 + ["ctrl"] * 7 + ["mild"] * 5


def test_synthetic_counts_absolute():
    assert synthetic_counts(Y, "absolute", 4) == {"case": 4, "ctrl": 4, "mild": 4}


def test_synthetic_counts_multiple():
    assert synthetic_counts(Y, "multiple", 1) == {"case": 3, "ctrl": 7, "mild": 5}
    assert synthetic_counts(Y, "multiple", 0.5) == {"case": 2, "ctrl": 4, "mild": 2}  # half to even


def test_synthetic_counts_balance():
    assert synthetic_counts(Y, "balance", 1) == {"case": 4, "ctrl": 0, "mild": 2}
    assert synthetic_counts(Y, "balance", 2) == {"case": 11, "ctrl": 7, "mild": 9}
    assert synthetic_counts(Y, "balance") == synthetic_counts(Y, "balance", 1)


def test_synthetic_counts_bad_input():
    with pytest.raises(GenoganInputError, match="absolute, multiple, balance"):
        synthetic_counts(Y, "double", 1)
    with pytest.raises(GenoganInputError, match=">= 0"):
        synthetic_counts(Y, "multiple", -1)
    with pytest.raises(GenoganInputError, match="whole number"):
        synthetic_counts(Y, "absolute", 2.5)
    with pytest.raises(GenoganInputError, match="empty"):
        synthetic_counts([], "balance", 1)


# ---- monitor scores --------------------------------------------------------------------------
def brute_mmd(X, Y, s2):
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * s2))  # noqa: E731
    kxx = np.mean([[k(a, b) for b in X] for a in X])
    kyy = np.mean([[k(a, b) for b in Y] for a in Y])
    kxy = np.mean([[k(a, b) for b in Y] for a in X])
    return np.sqrt(kxx + kyy - 2 * kxy)


def test_mmd_matches_brute_force():
    rng = np.random.default_rng(10)
    X, Y = rng.normal(size=(12, 4)), rng.normal(1.0, size=(9, 4))
    Z = np.vstack([X, Y])
    d2 = [np.sum((Z[i] - Z[j]) ** 2) for i in range(len(Z)) for j in range(i + 1, len(Z))]
    s2 = np.median(d2)
    assert median_bandwidth(X, Y) == pytest.approx(s2)
    assert mmd_rbf(X, Y) == pytest.approx(brute_mmd(X, Y, s2), rel=1e-10)
    assert mmd_rbf(X, Y, sigma2=3.0) == pytest.approx(brute_mmd(X, Y, 3.0), rel=1e-10)


def test_mmd_orders_distributions():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(60, 5))
    assert mmd_rbf(X, X) == pytest.approx(0.0, abs=1e-7)
    near, far = rng.normal(0.2, size=(60, 5)), rng.normal(2.0, size=(60, 5))
    assert mmd_rbf(X, near) < mmd_rbf(X, far)


def test_diversity_detects_mode_collapse():
    rng = np.random.default_rng(12)
    real = rng.normal(size=(40, 6))
    healthy = diversity_scores(real, rng.normal(size=(40, 6)))
    collapsed = diversity_scores(real, np.tile(real[:1], (40, 1)) + 1e-3 * rng.normal(size=(40, 6)))
    assert 0.8 < healthy["diversity_ratio"] < 1.2 and 0.8 < healthy["std_ratio"] < 1.2
    assert collapsed["diversity_ratio"] < 0.01 and collapsed["std_ratio"] < 0.01
    # brute-force check of the definition
    from itertools import combinations
    d = lambda A: np.mean([np.linalg.norm(a - b) for a, b in combinations(A, 2)])  # noqa: E731
    fake = real[::2] * 0.5
    assert diversity_scores(real, fake)["diversity_ratio"] == pytest.approx(d(fake) / d(real))


# ---- reduced space (fold-fitted PCA + residual noise) -----------------------------------------
def low_rank(rng, n=20, p=200, rank=4, noise=0.1):
    return rng.normal(size=(n, rank)) @ rng.normal(size=(rank, p)) + noise * rng.normal(size=(n, p))


def test_reduced_space_matches_pca_oracle_and_residual_formula():
    from sklearn.decomposition import PCA

    Z = low_rank(np.random.default_rng(20))
    rs = ReducedSpace(rank=5).fit(Z)
    pca = PCA(n_components=5).fit(Z)
    np.testing.assert_allclose(np.abs(np.sum(rs.components_ * pca.components_, axis=1)), 1.0,
                               atol=1e-10)
    W = rs.transform(Z)
    np.testing.assert_allclose(W.std(axis=0, ddof=1), 1.0, rtol=1e-10)  # whitened
    resid = (Z - Z.mean(0)) - pca.inverse_transform(pca.transform(Z)) + Z.mean(0)
    np.testing.assert_allclose(rs.noise_sd_, np.sqrt((resid ** 2).sum(0) / (20 - 1 - 5)),
                               rtol=1e-8)
    np.testing.assert_allclose(rs.inverse_transform(W), pca.inverse_transform(pca.transform(Z)),
                               atol=1e-10)
    noisy = rs.inverse_transform(np.zeros((4000, 5)), rng=np.random.default_rng(1))
    np.testing.assert_allclose(noisy.std(axis=0), rs.noise_sd_, rtol=0.1)


def test_reduced_preprocessor_rank_round_trip_and_json():
    rng = np.random.default_rng(21)
    X = np.exp(low_rank(rng, n=16, p=120, rank=3))  # positive: log1p mode
    p = FeaturePreprocessor(rank="auto").fit(X)
    assert p.n_output_ == 8  # auto: half the training rows, at most n - 1
    assert FeaturePreprocessor(rank=50).fit(X).n_output_ == 15
    U = p.transform(X)
    assert U.shape == (16, 8) and np.abs(U).max() <= 1 / 1.05 + 1e-6
    q = FeaturePreprocessor.from_json(p.to_json())
    np.testing.assert_array_equal(q.transform(X), U)
    a = p.inverse_transform(U[:3], rng=np.random.default_rng(2))
    b = q.inverse_transform(U[:3], rng=np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, p.inverse_transform(U[:3]))  # residual noise drawn
    assert (a >= 0).all()
    exact = FeaturePreprocessor(rank=15).fit(X)  # full rank: the map back is exact
    np.testing.assert_allclose(exact.inverse_transform(exact.transform(X)), X, rtol=1e-4,
                               atol=1e-6)  # float32 scores
    with pytest.raises(GenoganInputError, match="rank"):
        FeaturePreprocessor(rank=0)


# ---- gaussian_pca comparator, mlp classifier, quality flags (issue 13) -------------------------
def two_class_low_rank(rng, n_a=8, n_b=16, p=150):
    X = low_rank(rng, n=n_a + n_b, p=p, rank=3)
    y = np.array(["a"] * n_a + ["b"] * n_b)
    X[y == "a", :20] += 3.0
    return X, y


def test_gaussian_pca_draws_class_conditional_samples_in_the_fold_space():
    from genogan.benchmark.augment import make_augmenter

    X, y = two_class_low_rank(np.random.default_rng(30))
    aug = make_augmenter("gaussian_pca", amount=5, seed=4)
    X_res, y_res = aug.fit_resample(X, y)
    np.testing.assert_array_equal(X_res[:len(y)], X)  # real rows first, unchanged
    syn, ys = X_res[len(y):], y_res[len(y):]
    assert (ys == "a").sum() == 40 and (ys == "b").sum() == 80
    for c in "ab":  # class means are kept: the shifted block tells the classes apart
        np.testing.assert_allclose(syn[ys == c, :20].mean(), X[y == c, :20].mean(), atol=0.35)
    again = make_augmenter("gaussian_pca", amount=5, seed=4).fit_resample(X, y)[0]
    np.testing.assert_array_equal(again, X_res)  # seeded
    other = make_augmenter("gaussian_pca", amount=5, seed=5).fit_resample(X, y)[0]
    assert not np.allclose(other[len(y):], syn)


def test_mlp_classifier_is_seeded_and_honours_class_weight():
    from genogan.benchmark.classify import MLP_HIDDEN, build_classifier

    X, y = two_class_low_rank(np.random.default_rng(31), n_a=4, n_b=20)
    a = build_classifier("mlp", seed=1).fit(X, y)
    b = build_classifier("mlp", seed=1).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_allclose(a.predict_proba(X).sum(axis=1), 1.0)
    assert a.named_steps["clf"].model_.hidden_layer_sizes == MLP_HIDDEN
    w = build_classifier("mlp", seed=1, class_weight="balanced").fit(X, y)
    assert not np.allclose(w.predict_proba(X), a.predict_proba(X))


def summary(label, recall, density, dcr, gate=0.1, chance=0.5, detection=0.7):
    rows = [("label.accuracy_mean[logistic]", label + 0.02),
            ("label.accuracy_mean[extra_trees]", label - 0.02), ("label.chance", chance),
            ("fidelity.recall", recall), ("fidelity.density", density),
            ("fidelity.detection_auc", detection), ("privacy.dcr_below_holdout_p05", dcr),
            ("gate.dropped_fraction", gate)]
    return pd.DataFrame({"metric": [r[0] for r in rows], "value": [r[1] for r in rows]})


def test_quality_overview_flags_collapse_label_blindness_and_memorisation():
    from genogan.quality.report import quality_overview

    items = [("r0_f0", "bad", "1", summary(0.52, 0.0, 4.0, 0.95, gate=0.9)),
             ("r0_f1", "bad", "1", summary(0.50, 0.1, 3.0, 0.85, gate=0.8)),
             ("r0_f0", "good", "1", summary(0.90, 0.8, 1.0, 0.06)),
             ("r0_f1", "good", "1", summary(0.86, 0.6, 0.8, 0.10))]
    t = quality_overview(items).set_index("model")
    assert t.loc["bad", "n"] == 2 and t.loc["bad", "label"] == pytest.approx(0.51)
    assert t.loc["bad", "recall"] == pytest.approx(0.05)
    assert t.loc["bad", "dcr_below_holdout_p05"] == pytest.approx(0.90)
    assert t.loc["bad", ["collapse", "label_blind", "memorisation"]].all()
    assert not t.loc["good", ["collapse", "label_blind", "memorisation"]].any()
    words = t.loc["bad", "flags"]
    assert "collapses" in words and "ignores its label" in words and "memorises" in words
    assert "90%" in words and "85%" in words  # the numbers themselves, in words
    assert "no collapse" in t.loc["good", "flags"]
    assert not t["detection_below_chance"].any() and "detection AUC" not in words


def test_quality_overview_flags_detection_far_below_chance():
    """A detection AUC of 0.12 is not 'indistinguishable': it is the cross-validation artefact
    of synthetic samples surrounding the real ones, and the overview says so in words."""
    from genogan.quality.report import quality_overview

    items = [("r0_f0", "ring", "1", summary(0.9, 0.9, 1.0, 0.06, detection=0.10)),
             ("r0_f1", "ring", "1", summary(0.9, 0.9, 1.0, 0.06, detection=0.14)),
             ("r0_f0", "fair", "1", summary(0.9, 0.9, 1.0, 0.06, detection=0.45))]
    t = quality_overview(items).set_index("model")
    assert bool(t.loc["ring", "detection_below_chance"])
    assert not bool(t.loc["fair", "detection_below_chance"])
    words = t.loc["ring", "flags"]
    assert words.startswith("ring: no collapse") and "detection AUC is 0.12, far below 0.5" in words
    assert "detection AUC" not in t.loc["fair", "flags"]
