"""Utility and label fidelity: are synthetic samples useful, and do they carry their label?

- Label fidelity (train on real, test on synthetic): a classifier fitted on the real training part
  predicts the conditioning label of each synthetic sample. A conditional generator that ignores
  its label produces samples whose predicted class is unrelated to the requested one, so the
  per-class accuracy drops to chance.
- TSTR vs TRTR: the same classifier trained on synthetic samples (TSTR) and on the real training
  part (TRTR), both scored on the real holdout. TSTR close to TRTR means the synthetic data carries
  the signal a classifier needs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def default_classifiers(seed: int = 0, n_jobs: int | None = None) -> dict:
    """A linear model and a tree ensemble (extremely randomised trees: fast on thousands of
    features). These are quick diagnostics; the benchmark stage runs the full classifier panel."""
    return {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        "extra_trees": ExtraTreesClassifier(n_estimators=200, random_state=seed, n_jobs=n_jobs),
    }


def fit_all(classifiers: dict, x, y) -> dict:
    """A fresh fitted copy of every classifier (class labels as strings)."""
    y = np.asarray(y).astype(str)
    return {name: clone(model).fit(x, y) for name, model in classifiers.items()}


def label_fidelity(x_train, y_train, x_synth, y_synth, *, classifiers: dict | None = None,
                   seed: int = 0, fitted: dict | None = None) -> pd.DataFrame:
    """Per classifier and class: the fraction of synthetic samples predicted as their own label.

    Columns: classifier, class, n_synthetic, accuracy, chance. Range [0, 1], higher is better;
    `chance` = 1 / number of training classes is what a label-ignoring generator scores on
    average. A class absent from the synthetic set gets n_synthetic 0 and accuracy NaN.
    `fitted`: models already fitted on (x_train, y_train), to share them with `tstr_trtr`.
    """
    y_synth = np.asarray(y_synth).astype(str)
    classes = np.unique(np.asarray(y_train).astype(str))
    fitted = fitted or fit_all(classifiers or default_classifiers(seed), x_train, y_train)
    rows = []
    for name, model in fitted.items():
        predicted = model.predict(x_synth)
        for label in classes:
            mine = y_synth == label
            acc = float(np.mean(predicted[mine] == label)) if mine.any() else np.nan
            rows.append({"classifier": name, "class": label, "n_synthetic": int(mine.sum()),
                         "accuracy": acc, "chance": 1.0 / len(classes)})
    return pd.DataFrame(rows)


def _auroc(model, x, y) -> float:
    """AUROC on the holdout (one-vs-rest macro for several classes); NaN when undefined."""
    present = np.unique(y)
    if len(present) < 2 or not set(present) <= set(model.classes_):
        return np.nan
    proba = model.predict_proba(x)
    if len(model.classes_) == 2:
        return float(roc_auc_score(y == model.classes_[1], proba[:, 1]))
    if len(present) != len(model.classes_):
        return np.nan
    return float(roc_auc_score(y, proba, multi_class="ovr", labels=model.classes_))


def tstr_trtr(x_train, y_train, x_synth, y_synth, x_holdout, y_holdout, *,
              classifiers: dict | None = None, seed: int = 0,
              fitted_real: dict | None = None) -> pd.DataFrame:
    """Holdout balanced accuracy and AUROC for models trained on real (TRTR) or synthetic (TSTR).

    Columns: classifier, trained_on ('real' = TRTR, 'synthetic' = TSTR), balanced_accuracy,
    auroc. Both in [0, 1], higher is better; TSTR / TRTR near 1 = synthetic data as useful as real.
    A synthetic set with a single class cannot train a classifier: its row is NaN.
    `fitted_real`: models already fitted on the real training part (shared with label fidelity).
    """
    classifiers = classifiers or default_classifiers(seed)
    y_holdout = np.asarray(y_holdout).astype(str)
    real = fitted_real or fit_all(classifiers, x_train, y_train)
    one_class = len(np.unique(np.asarray(y_synth))) < 2
    synth = {} if one_class else fit_all(classifiers, x_synth, y_synth)
    rows = []
    for name in classifiers:
        for source, models in (("real", real), ("synthetic", synth)):
            bacc = auroc = np.nan
            if name in models:
                bacc = float(balanced_accuracy_score(y_holdout, models[name].predict(x_holdout)))
                auroc = _auroc(models[name], x_holdout, y_holdout)
            rows.append({"classifier": name, "trained_on": source,
                         "balanced_accuracy": bacc, "auroc": auroc})
    return pd.DataFrame(rows)
