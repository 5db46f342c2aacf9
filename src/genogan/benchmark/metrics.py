"""Per-fold classification metrics: thin, multiclass-safe wrappers around scikit-learn.

All metrics are "higher is better". Ranges: AUROC 0.5 = chance, 1 = perfect; AUPRC chance = the
positive-class prevalence (macro mean of prevalences for multiclass); balanced accuracy chance =
1 / n_classes; F1 in [0, 1]; MCC 0 = chance, 1 = perfect, -1 = inverted.

Binary problems use one positive class (F1, AUPRC, AUROC of that class's score). Multiclass
problems use one-vs-rest macro averages (AUROC, AUPRC over the classes in the test set) and
macro F1 (over the classes in the test set or predicted). DeLong's test is binary only
(`stats.delong_scope`).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    matthews_corrcoef,
    roc_auc_score,
)
from sklearn.preprocessing import label_binarize

METRICS = ("auroc", "auprc", "balanced_accuracy", "f1", "mcc")
METRIC_LABELS = {"auroc": "AUROC", "auprc": "AUPRC", "balanced_accuracy": "balanced accuracy",
                 "f1": "F1", "mcc": "MCC"}


def default_positive(y) -> str:
    """The positive class when none is configured: the minority class (ties: last in sort order).

    Disease cohorts are usually imbalanced with the cases in the minority.
    """
    classes, counts = np.unique(np.asarray(y).astype(str), return_counts=True)
    return str(classes[::-1][np.argmin(counts[::-1])])


def classification_metrics(y_true, y_pred, scores, classes, positive=None) -> dict:
    """AUROC, AUPRC, balanced accuracy, F1 and MCC of one test set.

    `scores` has one column per entry of `classes` (probabilities or other scores where higher
    means more likely). Ranking metrics are NaN when the test set holds a single class.
    """
    y_true = np.asarray(y_true).astype(str)
    y_pred = np.asarray(y_pred).astype(str)
    classes = [str(c) for c in classes]
    scores = np.asarray(scores, dtype=np.float64).reshape(len(y_true), len(classes))
    out = {"balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
           "mcc": matthews_corrcoef(y_true, y_pred)}
    if len(classes) == 2:
        positive = str(positive) if positive is not None else classes[1]
        pos = classes.index(positive)
        truth = y_true == positive
        out["f1"] = f1_score(truth, y_pred == positive, zero_division=0.0)
        ranked = len(np.unique(truth)) == 2
        out["auroc"] = roc_auc_score(truth, scores[:, pos]) if ranked else np.nan
        out["auprc"] = average_precision_score(truth, scores[:, pos]) if ranked else np.nan
    else:
        # classes neither in the test set nor predicted have no F1 (not 0): left out, as
        # scikit-learn's default labels do; a class predicted but absent scores 0
        seen = [c for c in classes if np.any(y_true == c) or np.any(y_pred == c)]
        out["f1"] = f1_score(y_true, y_pred, labels=seen, average="macro", zero_division=0.0)
        out.update(_multiclass_ranking(y_true, scores, classes))
    return {m: float(out[m]) for m in METRICS}


def _multiclass_ranking(y_true, scores, classes) -> dict:
    present = [i for i, c in enumerate(classes) if np.any(y_true == c)]
    if len(present) < 2:
        return {"auroc": np.nan, "auprc": np.nan}
    onehot = label_binarize(y_true, classes=classes)[:, present]
    sub = scores[:, present]
    auroc = np.mean([roc_auc_score(onehot[:, j], sub[:, j]) for j in range(len(present))])
    return {"auroc": auroc, "auprc": average_precision_score(onehot, sub, average="macro")}
