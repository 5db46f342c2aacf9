"""The classifier registry (`genogan.benchmark.classify.CLASSIFIERS`) and its `hist_gb` model."""

import numpy as np
import pytest
from scipy.special import logit
from scipy.stats import norm
from sklearn.metrics import roc_auc_score
from sklearn.utils.class_weight import compute_sample_weight

from conftest import gaussian_matrix
from genogan.benchmark.augment import ClassWeight, NoAugmentation
from genogan.benchmark.classify import build_classifier, class_scores, evaluate_fold
from genogan.benchmark.splits import fold_dataset, make_splits
from genogan.errors import GenoganInputError

SHIFT, N_SHIFTED = 1.5, 3


def fold(n_case, n_control, seed=0):
    """Fold 0 of a 3-fold split of a Gaussian cohort whose first N_SHIFTED features carry the
    signal (cases moved by SHIFT)."""
    fm = gaussian_matrix(n_case, n_control, 10, shift=SHIFT, n_shifted=N_SHIFTED, seed=seed)
    return fold_dataset(fm, make_splits(fm.samples, fm.y, 3, 1, 0), 0, 0)


def test_hist_gb_learns_the_signal_through_evaluate_fold():
    train, test = fold(45, 45)
    row, oof = evaluate_fold(train, test, NoAugmentation(), "hist_gb", seed=0)
    # Independent expectation: the Bayes-optimal score (the sum of the shifted features) has
    # AUROC Phi(SHIFT * sqrt(N_SHIFTED / 2)) = 0.97; the learnt model comes well above chance
    # and, scored on the same test samples, not above that oracle.
    bayes = norm.cdf(SHIFT * np.sqrt(N_SHIFTED / 2))
    oracle = roc_auc_score(test.y == "case", test.X[:, :N_SHIFTED].sum(1))
    assert 0.5 + 0.6 * (bayes - 0.5) < row["auroc"] <= oracle + 0.05
    assert list(oof["sample"]) == list(test.samples) and len(oof) == row["n_test"]


def test_hist_gb_defaults_and_params_go_through_the_pipeline():
    train, _ = fold(20, 20)
    pipe = build_classifier("hist_gb", seed=3, params={"max_iter": 30, "select_k": 4})
    assert [name for name, _ in pipe.steps] == ["variance", "scale", "select", "clf"]
    clf = pipe.fit(train.X, train.y).named_steps["clf"]
    assert clf.random_state == 3 and clf.learning_rate == 0.1 and clf.min_samples_leaf == 5
    # no early stopping: every iteration is run, none held out as an inner validation set
    assert clf.n_iter_ == 30 and not clf.do_early_stopping_
    assert build_classifier("hist_gb").named_steps["clf"].max_iter == 200


def test_hist_gb_is_deterministic_for_a_seed():
    train, test = fold(20, 20)
    _, first = evaluate_fold(train, test, NoAugmentation(), "hist_gb", seed=5)
    _, again = evaluate_fold(train, test, NoAugmentation(), "hist_gb", seed=5)
    assert first.equals(again)


def test_hist_gb_gets_the_class_weight_arms_balanced_weights():
    train, test = fold(8, 40, seed=1)  # 1:5 imbalanced
    _, weighted = evaluate_fold(train, test, ClassWeight(), "hist_gb", seed=0)
    _, plain = evaluate_fold(train, test, NoAugmentation(), "hist_gb", seed=0)
    # the same fit as explicit balanced per-sample weights ...
    pipe = build_classifier("hist_gb", seed=0)
    pipe.fit(train.X, train.y, clf__sample_weight=compute_sample_weight("balanced", train.y))
    expected = class_scores(pipe, test.X)[:, list(pipe.classes_).index("case")]
    np.testing.assert_allclose(weighted["score_case"], expected)
    # ... which move the log-odds towards the minority class (prior log-odds shift: log 5)
    shift = logit(weighted["score_case"]) - logit(plain["score_case"])
    assert shift.mean() > 0.3 and (shift > 0).mean() > 0.75


def test_unknown_classifier_names_the_registered_ones():
    with pytest.raises(GenoganInputError, match="unknown classifier 'knn'") as err:
        build_classifier("knn")
    assert "hist_gb" in err.value.fix and "logreg" in err.value.fix
