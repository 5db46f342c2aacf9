"""One call that scores a synthetic set against the real data of its fold, and writes the tables.

`evaluate_quality(train, holdout, synthetic)` works for any augmenter's output (GAN, SMOTE, noise,
mixup): it only sees three FeatureMatrix objects. Fidelity and label fidelity compare synthetic
with the real *training* part (what the generator learned from); utility and privacy use the
holdout (the fold's test part) as unseen real data. Distances live in one standardised space
fitted on the training part only.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from genogan.features import FeatureMatrix
from genogan.io import timed
from genogan.quality import QUALITY_K_NEAREST, fidelity, privacy, sequence, utility
from genogan.quality.distances import copy_tolerance, fit_scaler, knn_distances, standardise
from genogan.quality.inputs import check_inputs
from genogan.settings.sections import schema_default

log = logging.getLogger("genogan.quality")

# metric -> (direction, interpretation). A '[name]' suffix (classifier) shares its stem's entry.
METRICS = {
    "data.n_train": ("info", "real training samples of the fold"),
    "data.n_holdout": ("info", "real holdout (test) samples of the fold"),
    "data.n_synthetic": ("info", "synthetic samples scored"),
    "data.n_features": ("info", "features"),
    "fidelity.ks_mean": ("lower is better", "mean per-feature KS statistic; 0 = same marginals"),
    "fidelity.ks_max": ("lower is better", "worst per-feature KS statistic (see per-feature.tsv)"),
    "fidelity.w1_mean": ("lower is better", "mean per-feature Wasserstein-1, in training SDs"),
    "fidelity.w1_max": ("lower is better", "worst per-feature Wasserstein-1, in training SDs"),
    # fidelity.* compare each synthetic class with the real training samples of that class and
    # average over classes (fidelity-by-class.tsv has the per-class values)
    "fidelity.corr_rmse": ("lower is better",
                           "RMS difference of feature correlations, [0, 2]; 0 = same structure"),
    "fidelity.corr_frobenius": ("lower is better", "Frobenius norm of the correlation difference"),
    "fidelity.mmd2": ("lower is better", "unbiased MMD^2 (RBF, median heuristic); ~0 = same"),
    "fidelity.mmd_pvalue": ("higher is better",
                            "permutation p-value (Bonferroni over classes); small = synthetic "
                            "detectably different"),
    "fidelity.mmd_bandwidth": ("info", "RBF bandwidth (median pairwise distance)"),
    "fidelity.detection_auc": ("0.5 is best",
                               "best cross-validated real-vs-synthetic AUC; 0.5 = "
                               "indistinguishable, 1 = trivially detected"),
    "fidelity.detection_auc_by": ("0.5 is best", "cross-validated AUC of this detector"),
    "fidelity.precision": ("higher is better", "synthetic inside the real k-NN manifold, [0, 1]"),
    "fidelity.recall": ("higher is better", "real inside the synthetic k-NN manifold, [0, 1]"),
    "fidelity.density": ("1 is best", "k-NN density (Naeem 2020); >1 = crowding real modes"),
    "fidelity.coverage": ("higher is better", "real k-NN balls hit by a synthetic sample, [0, 1]"),
    "sequence.k": ("info", "k-mer length"),
    "sequence.closure_error_real_max": ("info", "largest |row sum - 1 (or 0 for CLR)| in real"),
    "sequence.closure_error_synthetic_mean": ("lower is better",
                                              "mean |row sum - 1 (or 0 for CLR)|; 0 = closed"),
    "sequence.negative_fraction_synthetic": ("lower is better",
                                             "fraction of negative synthetic frequencies/counts"),
    "sequence.revcomp_asymmetry_real_mean": ("info", "strand asymmetry of real profiles, [0, 1]"),
    "sequence.revcomp_asymmetry_synthetic_mean": ("close to real is best",
                                                  "strand asymmetry of synthetic, [0, 1]"),
    "sequence.marginal_discrepancy_real_mean": ("info",
                                                "(k-1)-mer prefix/suffix marginal TV in real"),
    "sequence.marginal_discrepancy_synthetic_mean": ("close to real is best",
                                                     "(k-1)-mer marginal TV in synthetic, [0, 1]"),
    "sequence.marginal_exceed_fraction": ("lower is better",
                                          "synthetic less consistent than every real sample"),
    "sequence.gc_ks_max": ("lower is better", "worst per-class KS of GC content, [0, 1]"),
    "label.accuracy_mean": ("higher is better",
                            "mean per-class accuracy of a real-trained classifier on synthetic "
                            "labels; chance = label ignored"),
    "label.chance": ("info", "1 / number of classes"),
    "utility.trtr_balanced_accuracy": ("info", "train real, test real holdout"),
    "utility.tstr_balanced_accuracy": ("higher is better", "train synthetic, test real holdout"),
    "utility.trtr_auroc": ("info", "train real, test real holdout"),
    "utility.tstr_auroc": ("higher is better", "train synthetic, test real holdout"),
    "utility.tstr_trtr_auroc_ratio": ("1 is best", "TSTR / TRTR AUROC; 1 = as useful as real"),
    "privacy.dcr_synthetic_median": ("compare with holdout", "median synthetic->train DCR"),
    "privacy.dcr_holdout_median": ("info", "median holdout->train DCR (unseen real samples)"),
    "privacy.dcr_synthetic_p05": ("compare with holdout", "5th percentile synthetic->train DCR"),
    "privacy.dcr_holdout_p05": ("info", "5th percentile holdout->train DCR"),
    "privacy.dcr_below_holdout_p05": ("~0.05 is expected",
                                      "fraction of synthetic closer to train than the holdout "
                                      "5th percentile; >> 0.05 = near-copies"),
    "privacy.exact_copies": ("0 is best", "synthetic samples identical to a training sample"),
    "privacy.nndr_synthetic_median": ("compare with holdout",
                                      "median d1/d2 to train; low = sits on one record"),
    "privacy.nndr_holdout_median": ("info", "median d1/d2 of holdout to train"),
    "privacy.aa_train": ("0.5 is best", "NN adversarial accuracy vs train (Yale 2020)"),
    "privacy.aa_test": ("0.5 is best", "NN adversarial accuracy vs holdout"),
    "privacy.privacy_loss": ("0 is best", "AA_test - AA_train; > 0 = memorisation"),
    "privacy.membership_auc": ("0.5 is best",
                               "distance membership-inference AUC (train vs holdout); "
                               "1 = members exposed"),
    "privacy.near_copy_fraction": ("<= expected is best",
                                   "holdout samples with a synthetic closer than their nearest "
                                   "training neighbour"),
    "privacy.near_copy_expected": ("info", "that fraction for fresh samples: m / (n + m)"),
    "privacy.near_copy_synthetic": ("info", "synthetic samples flagged (near-copies.tsv)"),
    "gate.percentile": ("info", "percentile of the reference distances used as threshold"),
    "gate.threshold": ("info", "DCR threshold from within-training leave-one-out distances"),
    "gate.dropped": ("lower is better", "synthetic samples the leakage-free gate drops"),
    "gate.dropped_fraction": ("lower is better", "fraction dropped by the gate"),
    "gate.threshold_holdout": ("info", "same percentile of holdout->train DCR (reporting only)"),
    "gate.dropped_holdout": ("info", "drops with the holdout threshold (reporting only)"),
}


def describe(metric: str) -> tuple[str, str]:
    """(direction, interpretation) of a summary metric."""
    stem = metric.split("[", 1)[0]
    return METRICS.get(stem, ("info", ""))


# --------------------------------------------------------------------------- metric groups
def _fidelity_one_class(real_z, synth_z, real, synth, names, seed, folds, permutations, k,
                        n_jobs):
    """All fidelity metrics for one class: (row of scalars, per-feature frame, detection rows)."""
    ks, w1 = fidelity.ks_wasserstein(real_z, synth_z)
    per_feature = pd.DataFrame({
        "feature": names, "ks": ks, "wasserstein_sd": w1,
        "mean_real": real.mean(axis=0), "mean_synthetic": synth.mean(axis=0),
        "sd_real": real.std(axis=0, ddof=1), "sd_synthetic": synth.std(axis=0, ddof=1)})
    corr = fidelity.correlation_distance(real, synth)
    mmd = fidelity.mmd_rbf(real_z, synth_z, n_permutations=permutations, seed=seed)
    det = fidelity.detection_auc(real, synth, n_folds=folds, seed=seed, n_jobs=n_jobs)
    row = {"n_real": len(real), "n_synthetic": len(synth), "ks_mean": ks.mean(),
           "ks_max": ks.max(), "w1_mean": w1.mean(), "w1_max": w1.max(),
           "corr_rmse": corr["rmse"], "corr_frobenius": corr["frobenius"], "mmd2": mmd.mmd2,
           "mmd_pvalue": mmd.pvalue, "mmd_bandwidth": mmd.bandwidth,
           "detection_auc": max(mean for mean, _ in det.values()),
           **fidelity.knn_precision_recall(real_z, synth_z, k=k)}
    detection = [{"classifier": c, "auc_mean": m, "auc_sd": sd,
                  "folds": min(folds, len(real), len(synth))} for c, (m, sd) in det.items()]
    return row, per_feature, detection


def _fidelity(train_z, synth_z, train, synthetic, seed, folds, permutations, k, n_jobs):
    """Fidelity per class, summarised over classes.

    Each synthetic class is compared with the real training samples of the same class. Pooling
    the classes instead would confound fidelity with the class mix: an augmenter that only adds
    minority samples (SMOTE, "balance to the majority") would be "detected" merely because its
    class proportions differ from the real ones.
    """
    rows, features, detection, notes = [], [], [], []
    for label in sorted(set(synthetic.y)):
        r, s = train.y == label, synthetic.y == label
        k_c = min(k, int(r.sum()) - 1, int(s.sum()) - 1)  # small classes: fewer neighbours
        if k_c < 1:
            notes.append(f"class {label!r}: {r.sum()} real / {s.sum()} synthetic samples, too "
                         "few for the fidelity metrics (need 2 each): skipped")
            continue
        if k_c < k:
            notes.append(f"class {label!r}: {r.sum()} real / {s.sum()} synthetic samples: "
                         f"k-NN precision/recall use k = {k_c} instead of {k}")
        row, per_feature, det = _fidelity_one_class(
            train_z[r], synth_z[s], train.X[r], synthetic.X[s], train.feature_names, seed,
            folds, permutations, k_c, n_jobs)
        rows.append({"class": label, "knn_k": k_c, **row})
        features.append(per_feature.assign(**{"class": label}))
        detection += [{"class": label, **d} for d in det]
    by_class = pd.DataFrame(rows)
    per_feature = (pd.concat(features, ignore_index=True) if features else pd.DataFrame())
    if len(per_feature):
        per_feature = per_feature[["class"] + [c for c in per_feature if c != "class"]]
        per_feature = per_feature.sort_values("ks", ascending=False, kind="stable")
        worst = per_feature.head(5)
        notes.append("worst features by KS: " + ", ".join(
            f"{f} ({c}, {v:.3g})" for f, c, v in zip(worst["feature"], worst["class"],
                                                     worst["ks"], strict=True)))
    detection = pd.DataFrame(detection)
    return _fidelity_summary(by_class, detection), by_class, per_feature, detection, notes


FIDELITY_SUMMARY = ("ks_mean", "w1_mean", "corr_rmse", "corr_frobenius", "mmd2", "mmd_bandwidth",
                    "detection_auc", "precision", "recall", "density", "coverage")


def _fidelity_summary(by_class: pd.DataFrame, detection: pd.DataFrame) -> dict:
    """Class-averaged summary; the MMD p-value is the Bonferroni-combined minimum over classes."""
    if by_class.empty:  # every class too small: the metrics exist, as NaN (see the notes)
        return {f"fidelity.{m}": np.nan for m in FIDELITY_SUMMARY + ("ks_max", "w1_max",
                                                                     "mmd_pvalue")}
    mean = by_class.mean(numeric_only=True)
    metrics = {f"fidelity.{m}": mean[m] for m in FIDELITY_SUMMARY}
    metrics["fidelity.ks_max"] = by_class["ks_max"].max()
    metrics["fidelity.w1_max"] = by_class["w1_max"].max()
    metrics["fidelity.mmd_pvalue"] = min(1.0, len(by_class) * by_class["mmd_pvalue"].min())
    for name, auc in detection.groupby("classifier", sort=False)["auc_mean"]:
        metrics[f"fidelity.detection_auc_by[{name}]"] = auc.mean()
    return metrics


def _utility(train, holdout, synthetic, seed, n_jobs):
    classifiers = utility.default_classifiers(seed, n_jobs)
    fitted = utility.fit_all(classifiers, train.X, train.y)
    label = utility.label_fidelity(train.X, train.y, synthetic.X, synthetic.y, fitted=fitted)
    scores = utility.tstr_trtr(train.X, train.y, synthetic.X, synthetic.y, holdout.X, holdout.y,
                               classifiers=classifiers, fitted_real=fitted)
    metrics = {"label.chance": float(label["chance"].iloc[0])}
    for name, rows in label.groupby("classifier", sort=False):
        metrics[f"label.accuracy_mean[{name}]"] = float(rows["accuracy"].mean())
    for name, rows in scores.groupby("classifier", sort=False):
        real = rows[rows["trained_on"] == "real"].iloc[0]
        syn = rows[rows["trained_on"] == "synthetic"].iloc[0]
        metrics[f"utility.trtr_balanced_accuracy[{name}]"] = real["balanced_accuracy"]
        metrics[f"utility.tstr_balanced_accuracy[{name}]"] = syn["balanced_accuracy"]
        metrics[f"utility.trtr_auroc[{name}]"] = real["auroc"]
        metrics[f"utility.tstr_auroc[{name}]"] = syn["auroc"]
        metrics[f"utility.tstr_trtr_auroc_ratio[{name}]"] = syn["auroc"] / real["auroc"]
    return metrics, label, scores


def _privacy(train_z, holdout_z, synth_z, train, holdout, synthetic, percentile, seed):
    two_syn, two_hold = knn_distances(synth_z, train_z, 2), knn_distances(holdout_z, train_z, 2)
    d_syn, d_hold = two_syn[:, 0], two_hold[:, 0]
    r_syn, r_hold = privacy.ratio_of_nearest(two_syn), privacy.ratio_of_nearest(two_hold)
    d_train_syn, d_hold_syn = privacy.dcr(train_z, synth_z), privacy.dcr(holdout_z, synth_z)
    near = privacy.near_copies(holdout_z, train_z, synth_z, holdout_dcr=d_hold)
    present_t = np.isin(train.y, synthetic.y)  # AA compares like with like: a minority-only
    present_h = np.isin(holdout.y, synthetic.y)  # augmenter is not "far" from the majority
    aa = privacy.nn_adversarial_privacy(train_z[present_t], holdout_z[present_h], synth_z, seed)
    hold_p05 = np.percentile(d_hold, 5)
    thr_loo = max(privacy.gate_threshold(train_z, percentile), copy_tolerance(train_z.shape[1]))
    thr_hold = max(float(np.percentile(d_hold, percentile)), copy_tolerance(train_z.shape[1]))
    metrics = {
        "privacy.dcr_synthetic_median": np.median(d_syn), "privacy.dcr_holdout_median":
        np.median(d_hold), "privacy.dcr_synthetic_p05": np.percentile(d_syn, 5),
        "privacy.dcr_holdout_p05": hold_p05,
        "privacy.dcr_below_holdout_p05": np.mean(d_syn < hold_p05),
        "privacy.exact_copies": int(np.sum(d_syn <= copy_tolerance(train_z.shape[1]))),
        "privacy.nndr_synthetic_median": np.median(r_syn),
        "privacy.nndr_holdout_median": np.median(r_hold),
        **{f"privacy.{key}": value for key, value in aa.items()},
        "privacy.membership_auc": privacy.membership_auc_from_distances(d_train_syn,
                                                                        d_hold_syn),
        "privacy.near_copy_fraction": near.fraction,
        "privacy.near_copy_expected": near.expected_fraction,
        "privacy.near_copy_synthetic": len(np.unique(near.pairs[:, 1])),
        "gate.percentile": percentile, "gate.threshold": thr_loo,
        "gate.dropped": int(np.sum(d_syn <= thr_loo)),
        "gate.dropped_fraction": float(np.mean(d_syn <= thr_loo)),
        "gate.threshold_holdout": thr_hold, "gate.dropped_holdout": int(np.sum(d_syn <= thr_hold)),
    }
    per_sample = pd.concat([
        pd.DataFrame({"sample": synthetic.samples, "set": "synthetic", "class": synthetic.y,
                      "dcr_train": d_syn, "nndr_train": r_syn, "gate_dropped": d_syn <= thr_loo}),
        pd.DataFrame({"sample": holdout.samples, "set": "holdout", "class": holdout.y,
                      "dcr_train": d_hold, "nndr_train": r_hold, "dcr_synthetic": d_hold_syn,
                      "n_synthetic_closer": near.n_closer}),
        pd.DataFrame({"sample": train.samples, "set": "train", "class": train.y,
                      "dcr_synthetic": d_train_syn}),
    ], ignore_index=True)
    h, s = near.pairs[:, 0], near.pairs[:, 1]
    copies = pd.DataFrame({"holdout_sample": holdout.samples[h],
                           "synthetic_sample": synthetic.samples[s],
                           "synthetic_class": synthetic.y[s], "distance": near.pair_distance,
                           "holdout_dcr_train": near.holdout_dcr[h]})
    return metrics, per_sample, copies


def _sequence(train, synthetic):
    result = sequence.sequence_fidelity(train.X, train.y, synthetic.X, synthetic.y,
                                        train.feature_names)
    return result.metrics, result.gc, result.notes


# --------------------------------------------------------------------------- entry point
def evaluate_quality(train: FeatureMatrix, holdout: FeatureMatrix, synthetic: FeatureMatrix,
                     seed: int = 0, *,
                     detection_folds: int = schema_default("quality.detection_folds"),
                     mmd_permutations: int = schema_default("quality.mmd_permutations"),
                     gate_percentile: float = schema_default("quality.privacy_gate.percentile"),
                     k_nearest: int = QUALITY_K_NEAREST,
                     n_jobs: int | None = None,
                     paths: dict | None = None) -> dict[str, pd.DataFrame]:
    """Score `synthetic` against the fold's real `train` and `holdout` sets.

    Returns tables keyed by name: summary (group, metric, value, direction, interpretation),
    per_feature and fidelity_by_class and detection (fidelity per class), label_fidelity,
    utility, privacy (one row per sample with its distances), near_copies, sequence (GC per
    class; empty when not k-mers). `paths` (role -> file) only improves error messages.
    """
    holdout, synthetic = check_inputs(train, holdout, synthetic, paths, k_nearest)
    scaler = fit_scaler(train.X)
    train_z, holdout_z, synth_z = standardise(scaler, train.X, holdout.X, synthetic.X)
    metrics = {"data.n_train": len(train.X), "data.n_holdout": len(holdout.X),
               "data.n_synthetic": len(synthetic.X), "data.n_features": train.X.shape[1]}
    with timed(log, "fidelity metrics (per class)"):
        fid, by_class, per_feature, detection, notes = _fidelity(
            train_z, synth_z, train, synthetic, seed, detection_folds, mmd_permutations,
            k_nearest, n_jobs)
    with timed(log, "sequence-aware metrics"):
        seq, gc, seq_notes = _sequence(train, synthetic)
    with timed(log, "label fidelity and TSTR/TRTR"):
        util, label, scores = _utility(train, holdout, synthetic, seed, n_jobs)
    with timed(log, "privacy metrics"):
        priv, per_sample, copies = _privacy(train_z, holdout_z, synth_z, train, holdout,
                                            synthetic, gate_percentile, seed)
    for group in (fid, seq, util, priv):
        metrics.update(group)
    return {"summary": summary_table(metrics, notes + seq_notes), "per_feature": per_feature,
            "fidelity_by_class": by_class, "detection": detection, "label_fidelity": label,
            "utility": scores, "privacy": per_sample, "near_copies": copies, "sequence": gc}


def summary_table(metrics: dict, notes=()) -> pd.DataFrame:
    """One row per metric with its direction and interpretation; notes become 'note' rows."""
    rows = []
    for name, value in metrics.items():
        direction, meaning = describe(name)
        rows.append({"group": name.split(".", 1)[0], "metric": name, "value": float(value),
                     "direction": direction, "interpretation": meaning})
    for note in notes:
        rows.append({"group": "note", "metric": "note", "value": np.nan,
                     "direction": "info", "interpretation": note})
    return pd.DataFrame(rows, columns=["group", "metric", "value", "direction", "interpretation"])
