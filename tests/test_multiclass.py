"""Three classes in a 5:2:1 ratio through the package: classical augmenters (SMOTE included), a
tiny GAN, the classifiers' metrics (one-vs-rest AUROC, macro averages) against brute-force
oracles, the statistics (DeLong is binary only, and the table says so) and the quality metrics."""

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from genogan.benchmark.augment import class_counts, make_augmenter
from genogan.benchmark.metrics import classification_metrics
from genogan.benchmark.run import run_benchmark
from genogan.benchmark.stats import delong_scope, mark_delong_scope
from genogan.benchmark.targets import benchmark_settings
from genogan.cohort_check import training_parts
from genogan.features import FeatureMatrix
from genogan.quality import fidelity
from genogan.quality.distances import fit_scaler
from genogan.quality.evaluate import evaluate_quality

SIZES = {"A": 40, "B": 16, "C": 8}  # 5:2:1


def three_classes(sizes=SIZES, p=12, shift=1.2, seed=3) -> FeatureMatrix:
    """B is shifted on features 0-2, C on features 3-5; the rest is noise."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(n, c) for c, n in sizes.items()])
    X = rng.normal(size=(len(y), p))
    X[y == "B", :3] += shift
    X[y == "C", 3:6] += shift
    return FeatureMatrix(X, y, np.array([f"s{i:02d}" for i in range(len(y))]),
                         [f"f{j}" for j in range(p)])


# ---- augmenters ---------------------------------------------------------------------------------
def test_amounts_for_5_2_1_by_hand():
    y = three_classes().y
    assert class_counts(y, "balance") == {"A": 0, "B": 24, "C": 32}
    assert class_counts(y, 0.5) == {"A": 20, "B": 8, "C": 4}


def _on_a_segment(point, rows) -> bool:
    """Is `point` a + t (b - a), t in [0, 1], for two rows a, b (SMOTE's construction)?"""
    for a, b in itertools.combinations(rows, 2):
        d = b - a
        t = float(np.dot(point - a, d) / np.dot(d, d))
        if -1e-9 <= t <= 1 + 1e-9 and np.allclose(a + t * d, point, atol=1e-9):
            return True
    return False


@pytest.mark.parametrize("method", ["smote", "random_oversample", "gaussian_noise", "mixup",
                                    "gaussian_pca"])
def test_classical_augmenters_fill_every_minority_class(method):
    fm = three_classes()
    aug = make_augmenter(method, amount="balance", seed=1)
    X_res, y_res = aug.fit_resample(fm.X, fm.y)
    n = len(fm.y)
    np.testing.assert_array_equal(X_res[:n], fm.X)  # real rows first, unchanged
    np.testing.assert_array_equal(aug.synthetic_mask_, np.arange(len(y_res)) >= n)
    synth_X, synth_y = X_res[n:], y_res[n:]
    assert pd.Series(synth_y).value_counts().to_dict() == {"C": 32, "B": 24}
    assert np.isfinite(synth_X).all()
    for cls in ("B", "C"):
        real, made = fm.X[fm.y == cls], synth_X[synth_y == cls]
        if method in ("smote", "mixup"):  # within-class interpolation, never across classes
            assert all(_on_a_segment(row, real) for row in made)
        if method == "random_oversample":
            assert all((real == row).all(axis=1).any() for row in made)
        # every generator uses its label: a class's synthetic mean is nearer its own real mean
        # than the other classes' real means
        dist = {c: np.linalg.norm(made.mean(axis=0) - fm.X[fm.y == c].mean(axis=0))
                for c in SIZES}
        assert min(dist, key=dist.get) == cls, (method, cls, dist)


@pytest.mark.slow  # TensorFlow start-up and a few epochs: ~1 min on a busy 2-core machine
def test_tiny_gan_conditions_on_three_classes():
    from genogan.generators import GeneratorAugmenter

    fm = three_classes()
    gan = GeneratorAugmenter(model="cwgan_gp", amount={"mode": "multiple", "value": 1}, seed=2,
                       params={"latent_dim": 8, "generator_units": [16], "critic_units": [16],
                               "n_critic": 2},
                       train={"epochs": 4, "batch_size": 16, "monitor_every": 2,
                              "checkpoint_every": 100})
    X_res, y_res = gan.fit_resample(fm.X, fm.y)
    n = len(fm.y)
    np.testing.assert_array_equal(X_res[:n], fm.X)
    assert pd.Series(y_res[n:]).value_counts().to_dict() == SIZES  # one per real sample
    assert np.isfinite(X_res[n:]).all() and X_res[n:].std(axis=0).min() > 0
    assert list(gan.classes_) == ["A", "B", "C"]


# ---- metrics ------------------------------------------------------------------------------------
def brute_force_ovr_auroc(y, scores, classes) -> float:
    """Macro mean over classes of P(score of a member > score of a non-member), ties 1/2,
    counted pair by pair."""
    aucs = []
    for j, c in enumerate(classes):
        pos, neg = scores[y == c, j], scores[y != c, j]
        wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
        aucs.append(wins / (len(pos) * len(neg)))
    return float(np.mean(aucs))


def brute_force_macro_f1(y, pred, classes) -> float:
    f1 = []
    for c in classes:
        tp = np.sum((pred == c) & (y == c))
        fp, fn = np.sum((pred == c) & (y != c)), np.sum((pred != c) & (y == c))
        f1.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1))


def test_one_vs_rest_auroc_and_macro_f1_by_brute_force():
    rng = np.random.default_rng(4)
    y = np.repeat(["A", "B", "C"], [10, 4, 2])
    scores = np.round(rng.dirichlet(np.ones(3), size=len(y)), 1)  # rounded: ties occur
    scores[y == "C", 2] += 0.3
    pred = np.array(["A", "B", "C"])[scores.argmax(axis=1)]
    m = classification_metrics(y, pred, scores, ["A", "B", "C"], positive="C")
    assert m["auroc"] == pytest.approx(brute_force_ovr_auroc(y, scores, ["A", "B", "C"]))
    assert m["f1"] == pytest.approx(brute_force_macro_f1(y, pred, ["A", "B", "C"]))
    recall = [np.mean(pred[y == c] == c) for c in "ABC"]
    assert m["balanced_accuracy"] == pytest.approx(np.mean(recall))


def test_macro_f1_leaves_out_a_class_neither_present_nor_predicted():
    y = np.array(["A", "A", "A", "B", "B"])
    pred = np.array(["A", "A", "B", "B", "B"])
    scores = np.array([[.8, .1, .1], [.7, .2, .1], [.4, .5, .1], [.2, .7, .1], [.1, .8, .1]])
    m = classification_metrics(y, pred, scores, ["A", "B", "C"])
    assert m["f1"] == pytest.approx(brute_force_macro_f1(y, pred, ["A", "B"]))  # not / 3
    assert m["auroc"] == pytest.approx(brute_force_ovr_auroc(y, scores[:, :2], ["A", "B"]))
    pred[0] = "C"  # predicted but absent: F1 0 for C, counted
    m = classification_metrics(y, pred, scores, ["A", "B", "C"])
    assert m["f1"] == pytest.approx(brute_force_macro_f1(y, pred, ["A", "B", "C"]))


# ---- the benchmark and its statistics ----------------------------------------------------------
BENCH = {"folds": 3, "repeats": 1, "generator_seeds": [1], "classifiers": ["logreg", "svm"],
         "arms": ["none", "class_weight", "smote", "random_oversample", "gaussian_noise",
                  "mixup", "gaussian_pca"],
         "dose_response": {"ratios": [0, 1], "arms": ["smote"]},
         "learning_curve": {"fractions": [0.5], "arms": ["none", "smote"]},
         "null_control": {"arms": ["none", "smote"]}, "leaky_control": {"arms": ["smote"]}}


@pytest.fixture(scope="module")
def benchmark_5_2_1():
    return run_benchmark(three_classes(), BENCH)


def test_benchmark_5_2_1_sizes_every_arm_by_hand(benchmark_5_2_1):
    fm, per_fold = three_classes(), benchmark_5_2_1.per_fold
    parts = training_parts(pd.Series(fm.y), pd.Series(fm.samples), benchmark_settings(BENCH))
    for _, row in per_fold[~per_fold["leaky"].astype(bool)].iterrows():
        counts = parts[row["dataset"]][0]
        assert row["n_train_real"] == counts.sum()
        expected = {"none": 0, "class_weight": 0, "smote-x1": counts.sum()}.get(
            row["arm"], 3 * counts.max() - counts.sum())  # balance: top B and C up to A
        assert row["n_train_synthetic"] == expected, (row["dataset"], row["arm"])


def test_benchmark_5_2_1_scores_and_controls(benchmark_5_2_1):
    agg = benchmark_5_2_1.tables["aggregate"]
    auroc = agg[agg["metric"] == "auroc"]
    assert auroc["mean"].between(0, 1).all()
    assert len(auroc) == 7 * 2 + 1 + 2 + 2  # main arms x classifiers, smote-x1, curve, null
    main = auroc[(auroc["scenario"] == "main") & ~auroc["leaky"].astype(bool)]
    assert set(main["arm"]) == set(BENCH["arms"]) | {"smote-x1"}
    none = main[main["arm"] == "none"].set_index("classifier")["mean"]
    assert none["logreg"] > 0.75 and none["svm"] > 0.6  # B and C are learnable
    null = auroc[auroc["scenario"] == "null_control"]
    assert null["mean"].between(0.25, 0.75).all()  # permuted labels score near chance
    assert not benchmark_5_2_1.tables["inflation"].empty  # the leaky control ran
    for metric in ("f1", "auprc", "balanced_accuracy", "mcc"):
        assert agg.loc[agg["metric"] == metric, "mean"].notna().all(), metric


def test_delong_is_binary_only_and_the_table_says_so(benchmark_5_2_1):
    tables = benchmark_5_2_1.tables
    auroc = tables["aggregate"]["metric"] == "auroc"
    assert tables["aggregate"].loc[auroc, "delong_p"].isna().all()
    marked = tables["aggregate"]  # aggregate() marks the scope itself
    assert (marked.loc[auroc, "delong_note"] == delong_scope(3)).all()
    assert (marked.loc[~auroc, "delong_note"] == "").all()
    assert "binary only" in delong_scope(3) and "3 classes" in delong_scope(3)
    binary = tables["pooled_oof"].assign(condition=np.where(
        tables["pooled_oof"]["condition"] == "A", "A", "notA"))
    assert (mark_delong_scope(tables["aggregate"], binary)["delong_note"] == "").all()


# ---- quality metrics ----------------------------------------------------------------------------
@pytest.mark.slow  # detection CV, MMD permutations and 200-tree ensembles: ~20 s
def test_quality_metrics_on_three_classes():
    fm = three_classes(p=8)
    test = np.arange(len(fm.y)) % 4 == 0  # 10 A, 4 B, 2 C held out
    train = FeatureMatrix(fm.X[~test], fm.y[~test], fm.samples[~test], fm.feature_names)
    hold = FeatureMatrix(fm.X[test], fm.y[test], fm.samples[test], fm.feature_names)
    aug = make_augmenter("smote", amount=1.0, seed=5)
    X_res, y_res = aug.fit_resample(train.X, train.y)
    n = len(train.y)
    synth = FeatureMatrix(X_res[n:], y_res[n:], np.array([f"x{i}" for i in range(len(y_res) - n)]),
                          fm.feature_names)
    tables = evaluate_quality(train, hold, synth, seed=0, mmd_permutations=20, detection_folds=3)
    by_class = tables["fidelity_by_class"].set_index("class")
    assert list(by_class.index) == ["A", "B", "C"]
    assert by_class["n_real"].to_dict() == {"A": 30, "B": 12, "C": 6}
    assert by_class["n_synthetic"].to_dict() == {"A": 30, "B": 12, "C": 6}
    scaler = fit_scaler(train.X)  # oracle: the class's own standardised rows, scored directly
    for cls in "ABC":
        direct = fidelity.mmd_rbf(scaler.transform(train.X[train.y == cls]),
                                  scaler.transform(synth.X[synth.y == cls]), n_permutations=20,
                                  seed=0)
        assert by_class.loc[cls, "mmd2"] == pytest.approx(direct.mmd2)
    summary = tables["summary"].set_index("metric")["value"]
    assert summary["label.chance"] == pytest.approx(1 / 3)
    assert summary["data.n_synthetic"] == 48
    real_model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    real_model.fit(train.X, train.y)
    trtr = roc_auc_score(hold.y, real_model.predict_proba(hold.X), multi_class="ovr")
    assert summary["utility.trtr_auroc[logistic]"] == pytest.approx(trtr)
    assert summary["utility.trtr_balanced_accuracy[logistic]"] == pytest.approx(
        balanced_accuracy_score(hold.y, real_model.predict(hold.X)))
    assert 0 <= summary["utility.tstr_auroc[logistic]"] <= 1
    assert 0 <= summary["privacy.membership_auc"] <= 1
    label = tables["label_fidelity"]
    assert set(label["class"]) == {"A", "B", "C"} and label["accuracy"].notna().all()
