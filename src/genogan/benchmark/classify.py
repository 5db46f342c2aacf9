"""Classifiers as scikit-learn pipelines, and one fold's evaluation.

Everything fitted (constant-feature filter, scaling, optional univariate selection, the model)
lives inside one `Pipeline`, fitted on the fold's (augmented) training data only; the test fold is
only ever passed to `predict`/`predict_proba`/`decision_function`.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.class_weight import compute_sample_weight

from genogan.benchmark.augment import synthetic_mask
from genogan.benchmark.metrics import classification_metrics, default_positive
from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix

MLP_HIDDEN = (64, 32)  # the fixed MLP architecture (two ReLU layers)


def _model(name: str, seed: int, class_weight, params: dict):
    if name not in CLASSIFIERS:
        raise GenoganInputError(f"unknown classifier {name!r}",
                                fix=f"use one of: {', '.join(CLASSIFIERS)}")
    return CLASSIFIERS[name](seed, class_weight, params)


class MLP(ClassifierMixin, BaseEstimator):
    """`mlp`: scikit-learn's MLPClassifier with a fixed architecture (`MLP_HIDDEN`, ReLU, Adam,
    L2 `alpha`), seeded; `class_weight="balanced"` becomes per-sample weights (MLPClassifier
    itself has no class_weight)."""

    def __init__(self, hidden_layer_sizes=MLP_HIDDEN, alpha: float = 1e-2, max_iter: int = 500,
                 class_weight=None, random_state=None):
        self.hidden_layer_sizes, self.alpha, self.max_iter = hidden_layer_sizes, alpha, max_iter
        self.class_weight, self.random_state = class_weight, random_state

    def fit(self, X, y):
        self.model_ = MLPClassifier(hidden_layer_sizes=tuple(self.hidden_layer_sizes),
                                    alpha=self.alpha, max_iter=self.max_iter,
                                    random_state=self.random_state)
        weight = compute_sample_weight(self.class_weight, y) if self.class_weight else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_.fit(X, y, sample_weight=weight)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


# name -> builder(seed, class_weight, params) of the unfitted model; `params` (the config's
# `benchmark.classifier_params[name]`) override the defaults. Keys: `names.CLASSIFIER_NAMES`.
CLASSIFIERS = {
    "logreg": lambda seed, class_weight, params: LogisticRegression(  # L2: the default penalty
        **{"C": 1.0, "max_iter": 5000, **params}, class_weight=class_weight, random_state=seed),
    "random_forest": lambda seed, class_weight, params: RandomForestClassifier(
        **{"n_estimators": 300, "n_jobs": 1, **params}, class_weight=class_weight,
        random_state=seed),
    # RBF; scores from decision_function (no Platt-scaling inner CV)
    "svm": lambda seed, class_weight, params: SVC(
        **{"C": 1.0, "kernel": "rbf", "gamma": "scale", **params}, class_weight=class_weight,
        random_state=seed),
    "mlp": lambda seed, class_weight, params: MLP(**params, class_weight=class_weight,
                                                  random_state=seed),
    # Small-cohort defaults: no early stopping, so no inner validation set is carved out of
    # folds of a few dozen samples and the fit is deterministic ("auto" turns it on above
    # 10,000 samples); min_samples_leaf 5, as the default 20 allows no split below 40 training
    # samples (AUROC exactly 0.5 on demo-sized 32-sample folds, measured).
    "hist_gb": lambda seed, class_weight, params: HistGradientBoostingClassifier(
        **{"max_iter": 200, "learning_rate": 0.1, "min_samples_leaf": 5,
           "early_stopping": False, **params}, class_weight=class_weight, random_state=seed),
}


def build_classifier(name: str, seed: int = 0, class_weight=None,
                     params: dict | None = None) -> Pipeline:
    """filter constant features -> standardise -> [SelectKBest(f_classif, select_k)] -> model.

    `params` holds the model's keyword arguments plus `select_k` (int; absent/None = no selection).
    """
    params = dict(params or {})
    select_k = params.pop("select_k", None)
    steps = [("variance", VarianceThreshold(0.0)), ("scale", StandardScaler())]
    if select_k:
        steps.append(("select", SelectKBest(f_classif, k=int(select_k))))
    steps.append(("clf", _model(name, seed, class_weight, params)))
    return Pipeline(steps)


def class_scores(model, X) -> np.ndarray:
    """(n, n_classes) scores in `model.classes_` order; higher = more likely that class.

    Probabilities where the model has them; otherwise decision values ([-d, d] for binary,
    a softmax over the one-vs-rest values for multiclass so rows sum to 1).
    """
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    d = np.asarray(model.decision_function(X), dtype=np.float64)
    if d.ndim == 1:
        return np.column_stack([-d, d])
    e = np.exp(d - d.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _set_class_weight(pipe, class_weight):
    if class_weight is None:
        return pipe
    last = pipe.steps[-1][0] if isinstance(pipe, Pipeline) else None
    key = f"{last}__class_weight" if last else "class_weight"
    return pipe.set_params(**{key: class_weight})


def evaluate_fold(train: FeatureMatrix, test: FeatureMatrix, augmenter, classifier, seed: int = 0,
                  *, positive=None, classifier_params=None):
    """Augment the training part, fit, score the real test part.

    Returns (metrics row: dict, out-of-fold predictions: DataFrame with one row per real test
    sample). `classifier` is a name from `CLASSIFIERS` or an unfitted estimator (cloned).
    """
    X_res, y_res = augmenter.fit_resample(train.X, train.y)
    mask = getattr(augmenter, "synthetic_mask_", synthetic_mask(len(train.y), len(y_res)))
    class_weight = getattr(augmenter, "class_weight", None)
    if isinstance(classifier, str):
        pipe = build_classifier(classifier, seed, class_weight, classifier_params)
    else:
        pipe = _set_class_weight(clone(classifier), class_weight)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"k=\d+ is greater than n_features")
        pipe.fit(X_res, np.asarray(y_res).astype(str))
        fit_seconds = time.perf_counter() - start
        classes = [str(c) for c in pipe.classes_]
        _check_test_classes(test.y, classes)
        scores = class_scores(pipe, test.X)
        pred = np.asarray(pipe.predict(test.X)).astype(str)
    positive = positive if positive is not None else default_positive(
        np.concatenate([train.y, test.y]))
    row = {"n_train_real": int(np.sum(~mask)), "n_train_synthetic": int(np.sum(mask)),
           "n_test": len(test.y), "fit_seconds": fit_seconds,
           **classification_metrics(test.y, pred, scores, classes, positive)}
    oof = pd.DataFrame({"sample": test.samples, "condition": np.asarray(test.y).astype(str),
                        "predicted": pred})
    for j, cls in enumerate(classes):
        oof[f"score_{cls}"] = scores[:, j]
    return row, oof


def _check_test_classes(y_test, classes) -> None:
    unseen = sorted({str(c) for c in np.asarray(y_test)} - set(classes))
    if unseen:
        raise GenoganInputError(
            f"test fold has class {unseen[0]!r} that its training part lacks",
            fix="use fewer folds, or a larger learning-curve fraction")
