"""Unit tests of the benchmark package: splits, augmenters, metrics, statistics, targets."""

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    matthews_corrcoef,
    roc_auc_score,
)

from genogan.benchmark.arms import ARM_REGEX, Arm, parse_arm
from genogan.benchmark.augment import (
    ClassWeight,
    GaussianNoise,
    LeakyAugmenter,
    Mixup,
    NoAugmentation,
    PrecomputedSynthetic,
    RandomOversample,
    SMOTEAugmenter,
    class_counts,
)
from genogan.benchmark.classify import build_classifier, class_scores, evaluate_fold
from genogan.benchmark.metrics import classification_metrics, default_positive
from genogan.benchmark.splits import (
    DATASET_REGEX,
    DATASET_WILDCARD_REGEX,
    DatasetId,
    fold_dataset,
    make_splits,
    parse_dataset_id,
    read_splits,
    write_splits,
)
from genogan.benchmark.stats import (
    corrected_ttest,
    delong_test,
    mean_ci,
    worth_real_samples,
)
from genogan.benchmark.targets import (
    Plan,
    benchmark_settings,
    benchmark_targets,
    classify_jobs,
    gan_trainings,
    required_gan_amount,
)
from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix
from conftest import gaussian_matrix


def toy_matrix(n_case=10, n_control=20, p=20, shift=1.0, seed=0) -> FeatureMatrix:
    return gaussian_matrix(n_case, n_control, p, shift=shift, n_shifted=3, seed=seed)


# ---------------------------------------------------------------- splits

def test_splits_each_sample_tested_once_per_repeat_and_stratified():
    fm = toy_matrix(10, 20)
    splits = make_splits(fm.samples, fm.y, folds=3, repeats=2, seed=7)
    assert len(splits) == 30 * 3 * 2
    tests = splits[splits["role"] == "test"]
    assert (tests.groupby(["repeat", "sample"]).size() == 1).all()
    assert tests.groupby("repeat")["sample"].nunique().eq(30).all()
    per_fold = tests.groupby(["repeat", "fold", "condition"]).size().unstack()
    assert per_fold["case"].between(3, 4).all() and per_fold["control"].between(6, 7).all()
    again = make_splits(fm.samples, fm.y, folds=3, repeats=2, seed=7)
    pd.testing.assert_frame_equal(splits, again)
    r0 = splits[(splits.repeat == 0) & (splits.role == "test")].sort_values("sample")["fold"]
    r1 = splits[(splits.repeat == 1) & (splits.role == "test")].sort_values("sample")["fold"]
    assert not np.array_equal(r0.to_numpy(), r1.to_numpy())  # repeats reshuffle


def test_split_errors_name_the_problem():
    fm = toy_matrix(2, 20)
    with pytest.raises(GenoganInputError, match=r"class 'case' has 2 samples.*benchmark.folds"):
        make_splits(fm.samples, fm.y, folds=3, repeats=1, seed=0)
    samples = fm.samples.copy()
    samples[1] = samples[0]
    with pytest.raises(GenoganInputError, match="duplicate sample id.*s000"):
        make_splits(samples, fm.y, folds=2, repeats=1, seed=0)


def test_fold_dataset_disjoint_and_fraction_only_shrinks_training(tmp_path):
    fm = toy_matrix(12, 24)
    splits = make_splits(fm.samples, fm.y, folds=3, repeats=1, seed=1)
    write_splits(splits, tmp_path / "s.tsv")
    splits = read_splits(tmp_path / "s.tsv")
    train, test = fold_dataset(fm, splits, 0, 1, seed=1)
    assert not set(train.samples) & set(test.samples)
    assert set(train.samples) | set(test.samples) == set(fm.samples)
    assert set(test.samples) == set(splits.query("fold == 1 and role == 'test'")["sample"])
    t25, test25 = fold_dataset(fm, splits, 0, 1, fraction=0.25, seed=1)
    t50, _ = fold_dataset(fm, splits, 0, 1, fraction=0.5, seed=1)
    assert list(test25.samples) == list(test.samples)  # the test fold is never subsampled
    assert set(t25.samples) < set(t50.samples) < set(train.samples)  # nested
    counts = pd.Series(t25.y).value_counts()
    assert counts["case"] == 2 and counts["control"] == 4  # round(0.25 * 8), round(0.25 * 16)
    again, _ = fold_dataset(fm, splits, 0, 1, fraction=0.25, seed=1)
    assert list(again.samples) == list(t25.samples)
    row = {s: i for i, s in enumerate(fm.samples)}
    assert np.array_equal(t25.X, fm.X[[row[s] for s in t25.samples]])  # rows stay with ids


def test_null_permutes_whole_cohort_once_per_repeat():
    fm = toy_matrix(10, 20)
    splits = make_splits(fm.samples, fm.y, folds=3, repeats=1, seed=1)
    labels = {}
    for fold in range(3):
        train, test = fold_dataset(fm, splits, 0, fold, permute_labels=True, seed=5)
        for part in (train, test):
            for s, y in zip(part.samples, part.y, strict=True):
                assert labels.setdefault(s, y) == y  # one permutation shared by every fold
    permuted = np.array([labels[s] for s in fm.samples])
    assert sorted(permuted) == sorted(fm.y)  # same class counts
    assert (permuted != fm.y).sum() >= 6  # test labels are permuted too
    _, test = fold_dataset(fm, splits, 0, 0, permute_labels=True, seed=5)
    original = dict(zip(fm.samples, fm.y, strict=True))
    assert any(original[s] != y for s, y in zip(test.samples, test.y, strict=True))


def test_each_repeat_of_the_null_control_has_its_own_permutation():
    from genogan.benchmark.splits import permuted_labels

    y = np.array(["a"] * 10 + ["b"] * 10)
    first, again, second = (permuted_labels(y, 5, r) for r in (0, 0, 1))
    assert (first == again).all() and (first != second).any()
    assert sorted(second) == sorted(y)


def test_fold_dataset_refuses_mismatched_split_file():
    fm = toy_matrix(10, 20)
    splits = make_splits(fm.samples[:-1], fm.y[:-1], folds=3, repeats=1, seed=1)
    with pytest.raises(GenoganInputError, match="different samples.*s029.*rule `split`"):
        fold_dataset(fm, splits, 0, 0)


@pytest.mark.parametrize("text,expected", [
    ("r0_f1", DatasetId(0, 1)), ("r2_f0_p25", DatasetId(2, 0, 25)),
    ("null_r1_f2", DatasetId(1, 2, null=True))])
def test_dataset_ids_round_trip_and_match_regex(text, expected):
    assert parse_dataset_id(text) == expected
    assert str(expected) == text
    assert re.fullmatch(DATASET_REGEX, text) and re.fullmatch(DATASET_WILDCARD_REGEX, text)


def test_dataset_regex_rejects_full_and_junk():
    assert re.fullmatch(DATASET_WILDCARD_REGEX, "full")
    assert not re.fullmatch(DATASET_REGEX, "full")
    for bad in ("r0", "r0_f1_p", "x_r0_f1", "r0_f1/../x"):
        assert not re.fullmatch(DATASET_REGEX, bad)
    with pytest.raises(GenoganInputError, match="r<repeat>_f<fold>"):
        parse_dataset_id("r0_f1_p0")


# ---------------------------------------------------------------- augmenters

Y = np.array(["a"] * 6 + ["b"] * 3)


def test_class_counts_ratio_and_balance():
    assert class_counts(Y, "balance") == {"a": 0, "b": 3}
    assert class_counts(Y, 0.5) == {"a": 3, "b": 2}  # round(1.5) = 2 (banker's), round(3) = 3
    assert class_counts(Y, 2) == {"a": 12, "b": 6}
    assert class_counts(Y, 0) == {"a": 0, "b": 0}
    assert class_counts(Y, "balance:2") == {"a": 6, "b": 9}  # up to 2 x 6 = 12 each
    with pytest.raises(GenoganInputError, match="'balance'.*'balance:R'.*synthetic:real ratio"):
        class_counts(Y, "lots")


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(len(Y), 4))
    X[:, 3] = 2.0  # a constant feature
    return X, Y


@pytest.mark.parametrize("aug", [SMOTEAugmenter(amount=1, seed=1),
                                 RandomOversample(amount=1, seed=1),
                                 GaussianNoise(amount=1, seed=1), Mixup(amount=1, seed=1)])
def test_augmenters_keep_real_rows_first_and_add_requested_counts(aug):
    X, y = _data()
    X_res, y_res = aug.fit_resample(X, y)
    assert np.array_equal(X_res[:len(y)], X) and np.array_equal(y_res[:len(y)], y)
    assert aug.synthetic_mask_.sum() == 9 and not aug.synthetic_mask_[:len(y)].any()
    new = pd.Series(y_res[aug.synthetic_mask_]).value_counts().to_dict()
    assert new == {"a": 6, "b": 3}
    for cls in ("a", "b"):  # synthetic samples stay inside their class's range (constant too)
        real, syn = X[y == cls], X_res[aug.synthetic_mask_][y_res[aug.synthetic_mask_] == cls]
        assert np.allclose(syn[:, 3], 2.0)
        if not isinstance(aug, GaussianNoise):
            assert (syn >= real.min(0) - 1e-12).all() and (syn <= real.max(0) + 1e-12).all()


def test_smote_lowers_k_for_small_classes_and_names_too_small_ones():
    X, y = _data()
    aug = SMOTEAugmenter(amount="balance", k_neighbors=5, seed=0)
    aug.fit_resample(X, y)
    assert aug.k_used_ == 2  # class b has 3 samples
    y1 = np.array(["a"] * 8 + ["b"])
    with pytest.raises(GenoganInputError, match="SMOTE needs at least 2 real samples of class 'b'"):
        aug.fit_resample(X, y1)


def test_gaussian_noise_is_scaled_per_feature():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 2)) * np.array([1.0, 100.0])
    y = np.array(["a"] * 400)
    aug = GaussianNoise(amount=20, seed=0, scale=0.1)
    X_res, _ = aug.fit_resample(X, y)
    syn = X_res[aug.synthetic_mask_]
    base_sd = X.std(axis=0)
    # noise = synthetic - its source row; the source is unknown, so compare the total spread:
    # var(syn) = var(X) + (0.1 sd)^2 per feature
    assert np.allclose(syn.var(axis=0) / base_sd**2, 1.01, atol=0.05)


def test_mixup_points_lie_on_segments_between_class_members():
    X, y = _data()
    aug = Mixup(amount=1, seed=2)
    X_res, y_res = aug.fit_resample(X[:, :2], y)
    syn_b = X_res[aug.synthetic_mask_][y_res[aug.synthetic_mask_] == "b"]
    real_b = X[y == "b", :2]
    for point in syn_b:  # is a convex combination of some pair of class-b samples
        ok = False
        for i in range(3):
            for j in range(3):
                d = real_b[i] - real_b[j]
                lam = np.dot(point - real_b[j], d) / max(np.dot(d, d), 1e-12)
                ok |= 0 <= lam <= 1 and np.allclose(real_b[j] + lam * d, point)
        assert ok


def test_none_and_class_weight_add_nothing():
    X, y = _data()
    for aug in (NoAugmentation(), ClassWeight()):
        X_res, y_res = aug.fit_resample(X, y)
        assert np.array_equal(X_res, X) and aug.n_synthetic_ == 0
    assert ClassWeight().class_weight == "balanced" and NoAugmentation().class_weight is None


def test_precomputed_synthetic_nested_doses_reorder_and_pool_too_small():
    X, y = _data()
    pool = FeatureMatrix(np.arange(96, dtype=float).reshape(24, 4)[:, ::-1],
                         np.array(["a", "b"] * 12), np.array([f"g{i}" for i in range(24)]),
                         ["f3", "f2", "f1", "f0"])
    names = ["f0", "f1", "f2", "f3"]
    small = PrecomputedSynthetic(pool, amount=0.5, seed=4, feature_names=names)
    big = PrecomputedSynthetic(pool, amount=1, seed=4, feature_names=names)
    Xs, _ = small.fit_resample(X, y)
    Xb, yb = big.fit_resample(X, y)
    syn_small = {tuple(r) for r in Xs[small.synthetic_mask_]}
    syn_big = {tuple(r) for r in Xb[big.synthetic_mask_]}
    assert syn_small < syn_big  # nested: a smaller dose is a subset of a larger one
    assert all(r[0] % 4 == 0 for r in syn_big)  # columns reordered to f0..f3 (f0 = 0, 4, 8, ...)
    too_big = PrecomputedSynthetic(pool, amount=3, seed=4, feature_names=names, source="x.pq")
    with pytest.raises(GenoganInputError, match=r"18 synthetic samples of class 'a'.*x\.pq.*gan"):
        too_big.fit_resample(X, y)


def test_leaky_augmenter_sizes_on_train_but_generates_from_full():
    X, y = _data()
    X_full = np.vstack([X, X + 100])
    y_full = np.concatenate([y, y])
    leaky = LeakyAugmenter(RandomOversample(amount=1, seed=0), X_full, y_full)
    X_res, _ = leaky.fit_resample(X, y)
    assert leaky.n_synthetic_ == 9  # sized like the correct arm (training labels)
    assert (X_res[leaky.synthetic_mask_] > 50).any()  # but drawn from rows it must not see


def test_augmenter_in_imblearn_pipeline_cross_validates():
    from imblearn.pipeline import make_pipeline
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    fm = toy_matrix(10, 20)
    pipe = make_pipeline(SMOTEAugmenter(amount="balance", seed=0), LogisticRegression())
    scores = cross_val_score(clone(pipe), fm.X, fm.y, cv=3, scoring="roc_auc")
    assert len(scores) == 3 and np.isfinite(scores).all()


# ---------------------------------------------------------------- arms and classifiers

def test_arm_ids():
    assert parse_arm("cwgan_gp-x0.5") == Arm("cwgan_gp", 0.5)
    assert str(parse_arm("leaky-smote")) == "leaky-smote" and parse_arm("leaky-smote").leaky
    assert parse_arm("smote-x2").amount("balance") == 2.0
    assert parse_arm("smote").amount("balance") == "balance"
    assert parse_arm("vanilla_gan").is_gan and not parse_arm("mixup").is_gan
    for text in ("smote", "leaky-cwgan_gp", "cwgan_gp-x5", "mixup-x0.5"):
        assert re.fullmatch(ARM_REGEX, text)
    with pytest.raises(GenoganInputError, match="no dose or leaky variant"):
        parse_arm("leaky-none")
    with pytest.raises(GenoganInputError, match=r"\[leaky-\]<method>"):
        parse_arm("smote x2")


def test_class_scores_shapes():
    fm = toy_matrix(10, 20)
    svm = build_classifier("svm", seed=0).fit(fm.X, fm.y)
    s = class_scores(svm, fm.X)
    assert s.shape == (30, 2) and np.allclose(s[:, 0], -s[:, 1])
    y3 = np.array(["a", "b", "c"] * 10)
    s3 = class_scores(build_classifier("svm").fit(fm.X, y3), fm.X)
    assert s3.shape == (30, 3) and np.allclose(s3.sum(1), 1)


def test_evaluate_fold_scores_only_real_test_samples():
    fm = toy_matrix(10, 20)
    splits = make_splits(fm.samples, fm.y, 3, 1, 0)
    train, test = fold_dataset(fm, splits, 0, 0)
    row, oof = evaluate_fold(train, test, SMOTEAugmenter(amount=1, seed=0), "random_forest",
                             seed=0)
    assert list(oof["sample"]) == list(test.samples)
    assert row["n_train_real"] == len(train.y) and row["n_train_synthetic"] == len(train.y)
    assert row["n_test"] == len(test.y) and 0 <= row["auroc"] <= 1
    bad = FeatureMatrix(test.X, np.array(["other"] * len(test.y)), test.samples,
                        test.feature_names)
    with pytest.raises(GenoganInputError, match="test fold has class 'other'"):
        evaluate_fold(train, bad, NoAugmentation(), "logreg")


# ---------------------------------------------------------------- metrics

def test_binary_metrics_equal_sklearn():
    y = np.array(["case", "ctrl", "case", "ctrl", "ctrl", "case", "ctrl", "ctrl"])
    pred = np.array(["case", "ctrl", "ctrl", "ctrl", "case", "case", "ctrl", "ctrl"])
    p_case = np.array([0.9, 0.2, 0.4, 0.1, 0.6, 0.8, 0.3, 0.4])
    m = classification_metrics(y, pred, np.column_stack([p_case, 1 - p_case]), ["case", "ctrl"],
                               positive="case")
    truth = y == "case"
    assert m["auroc"] == pytest.approx(roc_auc_score(truth, p_case))
    assert m["auprc"] == pytest.approx(average_precision_score(truth, p_case))
    assert m["f1"] == pytest.approx(f1_score(y, pred, pos_label="case"))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["mcc"] == pytest.approx(matthews_corrcoef(y, pred))
    # by hand: case 0.9 and 0.8 beat all 5 controls, case 0.4 beats 3 and ties 1 -> 13.5 / 15
    assert m["auroc"] == pytest.approx(13.5 / 15)
    assert default_positive(y) == "case"


def test_multiclass_metrics_equal_sklearn():
    rng = np.random.default_rng(0)
    y = np.array(list("abcabcabcaab"))
    P = rng.dirichlet(np.ones(3), size=len(y))
    pred = np.array(list("abc"))[P.argmax(1)]
    m = classification_metrics(y, pred, P, ["a", "b", "c"])
    assert m["auroc"] == pytest.approx(roc_auc_score(y, P, multi_class="ovr", average="macro"))
    onehot = (y[:, None] == np.array(list("abc"))).astype(int)
    assert m["auprc"] == pytest.approx(average_precision_score(onehot, P, average="macro"))
    assert m["f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["mcc"] == pytest.approx(matthews_corrcoef(y, pred))


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_single_class_test_set_gives_nan_ranking_metrics():
    m = classification_metrics(["a", "a"], ["a", "b"], [[0.6, 0.4], [0.3, 0.7]], ["a", "b"], "a")
    assert np.isnan(m["auroc"]) and np.isnan(m["auprc"]) and m["balanced_accuracy"] == 0.5


# ---------------------------------------------------------------- statistics

def test_mean_ci_by_hand():
    # values 0.6, 0.7, 0.8, 0.9: mean 0.75, sd = sqrt(0.05/3) = 0.129099, t(0.975, 3) = 3.182446
    ci = mean_ci([0.7, 0.8, 0.9, 0.6])
    assert ci["mean"] == pytest.approx(0.75)
    assert ci["ci_high"] - ci["mean"] == pytest.approx(3.182446 * 0.129099 / 2, rel=1e-5)
    wide = mean_ci([0.7, 0.8, 0.9, 0.6], correction=0.5)  # sqrt(1/4 + 1/2) instead of sqrt(1/4)
    assert wide["ci_high"] - wide["mean"] == pytest.approx(3.182446 * 0.129099 * np.sqrt(0.75),
                                                           rel=1e-5)


def test_corrected_ttest_by_hand():
    d = [0.02, 0.05, -0.01, 0.04, 0.03, 0.01]
    # mean = 0.14 / 6 = 0.0233333; sum of squared deviations = 0.00233333 -> var = 0.000466667
    # corrected var of the mean = (1/6 + 10/20) * 0.000466667 = 0.000311111 -> se = 0.0176383
    # t = 0.0233333 / 0.0176383 = 1.322876 on 5 df; d = 0.0233333 / 0.0216025 = 1.080123
    # two-sided p from the closed-form t CDF for 5 df (theta = atan(t / sqrt(5))):
    # p = 1 - 2/pi * (theta + sin(theta) cos(theta) (1 + 2/3 cos^2(theta))) = 0.2431461
    res = corrected_ttest(d, n_train=20, n_test=10)
    assert res["mean_diff"] == pytest.approx(0.0233333, rel=1e-5)
    assert res["t"] == pytest.approx(1.322876, rel=1e-5)
    assert res["df"] == 5
    assert res["p"] == pytest.approx(0.2431461, abs=1e-6)
    assert res["cohen_d"] == pytest.approx(1.080123, rel=1e-5)
    naive = sps.ttest_1samp(d, 0.0).pvalue  # uncorrected: too optimistic
    assert naive < res["p"]


def _delong_brute(y_pos, a, b):
    """DeLong (1988) structural components by explicit double loops (the definition)."""
    def psi(x, z):
        return 1.0 if x > z else 0.5 if x == z else 0.0

    pos, neg = np.flatnonzero(y_pos), np.flatnonzero(~y_pos)
    v10, v01, aucs = [], [], []
    for s in (a, b):
        v10.append([np.mean([psi(s[i], s[j]) for j in neg]) for i in pos])
        v01.append([np.mean([psi(s[i], s[j]) for i in pos]) for j in neg])
        aucs.append(np.mean(v10[-1]))
    S = np.cov(v10) / len(pos) + np.cov(v01) / len(neg)
    z = (aucs[0] - aucs[1]) / np.sqrt(S[0, 0] + S[1, 1] - 2 * S[0, 1])
    return aucs, z, 2 * sps.norm.sf(abs(z))


def test_delong_matches_brute_force_with_ties():
    rng = np.random.default_rng(1)
    y = np.array(["p"] * 7 + ["n"] * 9)
    a = np.round(rng.normal(size=16) + (y == "p"), 1)  # rounding makes ties
    b = np.round(rng.normal(size=16) + 0.3 * (y == "p"), 1)
    res = delong_test(y, a, b, "p")
    aucs, z, p = _delong_brute(y == "p", a, b)
    assert res["auc_a"] == pytest.approx(aucs[0]) and res["auc_b"] == pytest.approx(aucs[1])
    assert res["auc_a"] == pytest.approx(roc_auc_score(y == "p", a))
    assert res["z"] == pytest.approx(z) and res["p"] == pytest.approx(p)
    assert delong_test(y, a, a, "p")["p"] == 1.0


def test_delong_detects_a_real_difference():
    rng = np.random.default_rng(2)
    y = np.array(["p"] * 60 + ["n"] * 60)
    good = rng.normal(size=120) + 2 * (y == "p")
    noise = rng.normal(size=120)
    assert delong_test(y, good, noise, "p")["p"] < 1e-6


def test_worth_real_samples():
    n, s = [20, 5, 10], [0.8, 0.6, 0.7]  # unsorted on purpose
    assert worth_real_samples(n, s, 0.75) == {"n_equivalent": 15.0, "status": "interpolated"}
    assert worth_real_samples(n, s, 0.65)["n_equivalent"] == pytest.approx(7.5)
    assert worth_real_samples(n, s, 0.55)["status"] == "below_curve"
    assert worth_real_samples(n, s, 0.85) == {"n_equivalent": np.inf, "status": "above_curve"}


# ---------------------------------------------------------------- config -> targets

DEMO_LIKE = {"folds": 3, "repeats": 2, "generator_seeds": [1, 2],
             "arms": ["none", "class_weight", "smote", "random_oversample", "gaussian_noise",
                      "mixup", "cwgan_gp", "vanilla_gan"]}


def test_targets_and_gan_count_for_demo_like_config():
    s = benchmark_settings(DEMO_LIKE)
    jobs = classify_jobs(s)
    assert len(jobs) == len(set(jobs))
    main = [j for j in jobs if re.fullmatch(r"r\d_f\d", j[0]) and "-x" not in j[1]
            and not j[1].startswith("leaky")]
    assert len(main) == 6 * 8 * len(s["classifiers"])  # splits x arms x classifiers
    trainings = gan_trainings(s)
    # main: 6 folds x 2 models x 2 seeds; full: 1 model x 2 seeds; learning curve: 2 fractions x
    # 3 folds x 1 model x 1 seed; null: 3 folds x 1 model x 1 seed
    assert len(trainings) == 24 + 2 + 6 + 3
    assert ("full", "cwgan_gp", 2) in trainings and ("full", "vanilla_gan", 1) not in trainings
    assert required_gan_amount(s) == {"mode": "multiple", "value": 5.0}
    for dataset, arm, _clf in jobs:
        assert re.fullmatch(DATASET_REGEX, dataset) and re.fullmatch(ARM_REGEX, arm)
    targets = benchmark_targets({"benchmark": DEMO_LIKE})
    assert "results/benchmark/plots/leaky_inflation.png" in targets


def test_evaluate_inputs_gan_and_leaky():
    """One evaluate job per split reads its data sets, the batches holding its pools and (for
    leaky classical arms) the whole cohort; pools are keyed dataset/model/seed."""
    plan = Plan(benchmark_settings({**DEMO_LIKE, "gan_trainings_per_job": 4}))
    inputs = plan.evaluate_inputs("r1_f2")
    assert "results/datasets/r1_f2/train.parquet" in inputs["train"]
    assert "results/datasets/r1_f2_p25/train.parquet" not in inputs["train"]  # lc: repeat 0 only
    assert inputs["full"] == "results/datasets/full/train.parquet"
    pools = plan.pools_of(plan.evaluations["r1_f2"])
    assert set(pools) == {f"{d}/{m}/{g}" for d in ("r1_f2", "full") for m in
                          ("cwgan_gp", "vanilla_gan") for g in (1, 2)} - {
        "full/vanilla_gan/1", "full/vanilla_gan/2"}
    assert all(p.startswith(tuple(inputs["pools"])) for p in pools.values())
    assert set(plan.pools_of(plan.evaluations["r0_f1"])) >= {"null_r0_f1/cwgan_gp/1"}
    assert "null_r0_f1/cwgan_gp/2" not in plan.pools_of(plan.evaluations["r0_f1"])
    gated = Plan(benchmark_settings({**DEMO_LIKE, "use_gated_synthetic": True}))
    assert gated.evaluate_inputs("r0_f0")["pools"][0].endswith("gated.parquet")


def test_gan_batches_group_architectures_and_are_even():
    """train_gan batches: every training exactly once, sizes within one of each other and at most
    gan_trainings_per_job, and trainings of one architecture (model x training-part size) side
    by side, so each process traces few step functions."""
    from genogan.benchmark.splits import parse_dataset_id

    def architecture(t):
        ds = None if t[0] == "full" else parse_dataset_id(t[0])
        return (t[1],) + (("full",) if ds is None else (ds.percent, ds.minority))

    for per_job in (1, 4, 5, 7, 1000):
        plan = Plan(benchmark_settings({**DEMO_LIKE, "gan_trainings_per_job": per_job}))
        chunks = list(plan.batches.values())
        flat = [t for chunk in chunks for t in chunk]
        assert sorted(flat) == sorted(set(plan.trainings)) and len(flat) == len(plan.trainings)
        sizes = [len(c) for c in chunks]
        assert max(sizes) <= per_job and max(sizes) - min(sizes) <= 1
        runs = [architecture(t) for t in flat]  # each architecture forms one contiguous run
        changes = [a for i, a in enumerate(runs) if i == 0 or a != runs[i - 1]]
        assert len(changes) == len(set(runs))


def test_settings_errors():
    with pytest.raises(GenoganInputError, match="unknown classifier 'knn'"):
        benchmark_settings({"classifiers": ["knn"]})
    with pytest.raises(GenoganInputError, match="must include 'none'"):
        benchmark_settings({"arms": ["smote"]})
    with pytest.raises(GenoganInputError, match="whole percent"):
        benchmark_settings({"learning_curve": {"fractions": [0.125]}})


# ---------------------------------------------------------------- CLI

def test_cli_chain_split_fold_classify_aggregate(tmp_path, capsys):
    import yaml

    from genogan.cli import main
    from genogan.features import write_matrix

    fm = toy_matrix(8, 12, p=6)
    write_matrix(fm, tmp_path / "m.parquet")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"benchmark": {"folds": 2, "repeats": 1,
                                                 "generator_seeds": [3]}}))
    assert main(["split", "--matrix", str(tmp_path / "m.parquet"), "--out",
                 str(tmp_path / "s.tsv"), "--folds", "2", "--repeats", "1"]) == 0
    metrics, oofs = [], []
    for fold in (0, 1):
        d = tmp_path / f"r0_f{fold}"
        assert main(["fold-dataset", "--matrix", str(tmp_path / "m.parquet"), "--splits",
                     str(tmp_path / "s.tsv"), "--dataset", f"r0_f{fold}", "--train-out",
                     str(d / "train.parquet"), "--test-out", str(d / "test.parquet")]) == 0
        for arm in ("none", "smote"):
            metrics.append(str(d / f"{arm}.tsv"))
            oofs.append(str(d / f"{arm}.oof.tsv"))
            assert main(["classify", "--train", str(d / "train.parquet"), "--test",
                         str(d / "test.parquet"), "--splits", str(tmp_path / "s.tsv"),
                         "--dataset", f"r0_f{fold}", "--arm", arm, "--classifier", "logreg",
                         "--out", metrics[-1], "--oof", oofs[-1], "--config", str(cfg)]) == 0
    assert main(["aggregate", "--metrics", *metrics, "--oof", *oofs, "--config", str(cfg),
                 "--outdir", str(tmp_path / "agg")]) == 0
    table = pd.read_csv(tmp_path / "agg" / "aggregate.tsv", sep="\t")
    assert set(table["arm"]) == {"none", "smote"} and (table["n"] == 2).all()
    smote = pd.read_csv(metrics[1], sep="\t")
    assert list(smote["generator_seed"]) == [3]  # the config's generator seed reached the job
    assert main(["split", "--matrix", str(tmp_path / "m.parquet"), "--out",
                 str(tmp_path / "x.tsv"), "--folds", "9"]) == 1
    assert "fewer than the 9 cross-validation folds" in capsys.readouterr().err


def test_classical_synthetic_returns_only_new_rows():
    """The baseline pools written for the quality stage hold exactly the augmenter's new rows."""
    from genogan.benchmark.augment import classical_synthetic
    from genogan.features import FeatureMatrix

    rng = np.random.default_rng(0)
    y = np.array(["a"] * 12 + ["b"] * 4)
    X = rng.normal(size=(16, 5)) + (y == "b")[:, None] * 3
    train = FeatureMatrix(X=X, y=y, samples=np.array([f"s{i}" for i in range(16)]),
                          feature_names=list("vwxyz"))
    syn = classical_synthetic(train, "smote", "balance", seed=1)
    assert list(syn.y) == ["b"] * 8  # balance: top up the minority class to 12
    assert syn.extra["synthetic"].all() and set(syn.extra["model"]) == {"smote"}
    # SMOTE points lie on segments between minority samples: inside their bounding box
    lo, hi = X[y == "b"].min(axis=0), X[y == "b"].max(axis=0)
    assert ((syn.X >= lo - 1e-9) & (syn.X <= hi + 1e-9)).all()
    assert not any((syn.X == row).all(axis=1).any() for row in X)  # no copies of real rows
    with pytest.raises(GenoganInputError, match="adds no classical synthetic samples"):
        classical_synthetic(train, "none")


def test_quality_targets_cover_gans_and_baselines():
    from genogan.benchmark.targets import quality_targets

    cfg = {"benchmark": {"folds": 2, "repeats": 1, "arms": ["none", "smote", "cwgan_gp"],
                         "generator_seeds": [4, 5], "quality_baselines": ["smote"]}}
    assert quality_targets(cfg) == [
        "results/quality/r0_f0/cwgan_gp/seed4/summary.tsv",
        "results/quality/r0_f0/smote/seed4/summary.tsv",
        "results/quality/r0_f1/cwgan_gp/seed4/summary.tsv",
        "results/quality/r0_f1/smote/seed4/summary.tsv"]


def _per_fold_rows(scores: dict, n_splits: int = 6) -> pd.DataFrame:
    """Per-fold rows of the main comparison: arm -> AUROC per split (other metrics 0.5)."""
    from genogan.benchmark.metrics import METRICS

    rows = []
    for arm, values in scores.items():
        for i, v in enumerate(values[:n_splits]):
            rows.append({"scenario": "main", "percent": 100, "arm": arm, "method": arm,
                         "amount": "0" if arm in ("none", "class_weight") else "balance:1.5",
                         "leaky": False, "classifier": "logreg", "repeat": i // 3, "fold": i % 3,
                         "n_train_real": 20, "n_train_synthetic": 10, "n_test": 10,
                         **{m: 0.5 for m in METRICS}, "auroc": v})
    return pd.DataFrame(rows)


def test_gan_arms_are_tested_against_the_comparator_on_the_same_splits():
    from genogan.benchmark.aggregate import summarise, unit_table

    none = [0.60, 0.62, 0.58, 0.65, 0.61, 0.59]
    comparator = [0.64, 0.66, 0.60, 0.70, 0.66, 0.61]
    gan = [0.63, 0.69, 0.59, 0.72, 0.70, 0.60]
    table = summarise(unit_table(_per_fold_rows(
        {"none": none, "gaussian_pca": comparator, "cwgan_gp": gan, "smote": gan})))
    auroc = table[table["metric"] == "auroc"].set_index("arm")
    by_hand = corrected_ttest(np.subtract(gan, comparator), n_train=20, n_test=10)
    assert auroc.loc["cwgan_gp", "diff_vs_comparator"] == pytest.approx(by_hand["mean_diff"])
    assert auroc.loc["cwgan_gp", "cmp_ci_low"] == pytest.approx(by_hand["diff_ci_low"])
    assert auroc.loc["cwgan_gp", "p_cmp"] == pytest.approx(by_hand["p"])
    # the difference to none is still to none, and only GAN arms get a comparator test
    assert auroc.loc["cwgan_gp", "diff_vs_none"] == pytest.approx(np.mean(np.subtract(gan, none)))
    assert auroc[["diff_vs_comparator"]].drop(index="cwgan_gp").isna().all().all()
