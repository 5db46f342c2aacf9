"""Aggregation: per-fold rows -> tables with means, corrected CIs, paired tests and read-outs.

Statistical unit: one (repeat, fold) split. A stochastic arm's score on a split is the mean over its
generator seeds, so the spread over splits contains the generator's randomness too; the average
within-split SD over seeds is reported separately (`seed_sd`). CIs are t-based with the
Nadeau-Bengio variance correction (n_test/n_train), as the splits share training samples; with
few splits the t bounds can overshoot, so a score's CI is clipped to the metric's range ([0, 1])
and a difference's CI to the range of a difference ([-1, 1]), never to the score's; arms are
compared with `none` on the same splits by the corrected resampled t-test, and every GAN arm also
with the non-adversarial comparator (`names.COMPARATOR`, `gaussian_pca`) where it ran: columns
`diff_vs_comparator`, `cmp_ci_low/high`, `p_cmp`; every `+ref` arm (reference cohort) also with
`none+ref` (`diff_vs_ref_control`, `rc_ci_low/high`, `p_rc`: what it adds beyond the reference's
representation) and with its in-fold twin (`diff_vs_twin`, `twin_ci_low/high`, `p_twin`: what the
reference adds to the same method); a `+ref` generator's comparator is `gaussian_pca+ref`.
DeLong's test on pooled out-of-fold scores (each sample's score averaged over repeats and seeds)
is a second view of AUROC.
Leaky arms never enter the main table: they appear only as inflation = leaky - correct.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from genogan.benchmark.conclusive import diff_range, metric_range, reading, worth_statement
from genogan.benchmark.metrics import METRICS
from genogan.benchmark.names import (
    COMPARATOR,
    REF_CONTROL,
    REF_SUFFIX,
    in_fold_twin,
    is_gan_method,
    uses_reference,
)
from genogan.benchmark.stats import (
    corrected_ttest,
    delong_test,
    mark_delong_scope,
    mean_ci,
    worth_real_samples,
)

# `percent`: the scenario's x value -- % of the training part kept (learning curve) or % of the
# minority class's training samples kept (imbalance); 100 for the main benchmark.
ARM_KEYS = ["scenario", "percent", "arm", "method", "amount", "leaky", "classifier"]
UNIT = ["repeat", "fold"]
INVALID_LABEL = "INVALID (leaky: augmenter fitted on the whole cohort incl. test samples)"


def unit_table(per_fold: pd.DataFrame) -> pd.DataFrame:
    """One row per arm x classifier x split: metrics averaged over generator seeds."""
    df = per_fold.copy()
    df["amount"] = df["amount"].astype(str)
    g = df.groupby(ARM_KEYS + UNIT, sort=False, dropna=False)
    units = g[list(METRICS) + ["n_train_real", "n_train_synthetic", "n_test"]].mean()
    seed_var = g[list(METRICS)].var(ddof=1).add_suffix("_seed_var")
    units = units.join(seed_var).join(g.size().rename("n_seeds"))
    return units.reset_index()


# paired comparisons beside the one with `none`: the key of the units they pair with -> the
# columns they fill (difference, CI low, CI high, p)
EXTRA_COMPARISONS = {
    "comparator": ("diff_vs_comparator", "cmp_ci_low", "cmp_ci_high", "p_cmp"),
    "ref_control": ("diff_vs_ref_control", "rc_ci_low", "rc_ci_high", "p_rc"),
    "twin": ("diff_vs_twin", "twin_ci_low", "twin_ci_high", "p_twin"),
}


def _comparison_units(same: pd.DataFrame, info: dict) -> dict:
    """The arms one arm is paired with besides `none`: a generative model with the comparator
    (`gaussian_pca`, or `gaussian_pca+ref` for a `+ref` arm); a `+ref` arm with `none+ref` (what
    the reference's representation gives alone) and with its in-fold twin (what the reference
    adds to the same method)."""
    method, out = info["method"], {}
    ref = uses_reference(method)
    comparator = COMPARATOR + REF_SUFFIX if ref else COMPARATOR
    cmp = same[(same["arm"] == comparator) & (same["amount"] == info["amount"])]
    if is_gan_method(method) and len(cmp):
        out["comparator"] = cmp
    if ref and info["arm"] != REF_CONTROL:
        out["ref_control"] = same[same["arm"] == REF_CONTROL]
    twin = in_fold_twin(method)
    if twin:
        out["twin"] = same[(same["method"] == twin) & (same["amount"] == info["amount"])]
    return {k: v for k, v in out.items() if len(v)}


def _arm_stats(arm_units: pd.DataFrame, ref_units: pd.DataFrame | None, metric: str,
               comparisons: dict | None = None) -> dict:
    correction = arm_units["n_test"].mean() / arm_units["n_train_real"].mean()
    ci = mean_ci(arm_units[metric], correction=correction)
    ci["ci_low"], ci["ci_high"] = np.clip([ci["ci_low"], ci["ci_high"]], *metric_range(metric))
    seed_var = arm_units[f"{metric}_seed_var"]
    out = {"mean": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"], "sd": ci["sd"],
           "n": ci["n"], "n_seeds": int(arm_units["n_seeds"].max()),
           "seed_sd": float(np.sqrt(seed_var.mean())) if seed_var.notna().any() else np.nan}
    for key, units in (comparisons or {}).items():
        test = _paired_with(arm_units, units, metric)
        values = (test["mean_diff"], test["diff_ci_low"], test["diff_ci_high"], test["p"])
        out.update(zip(EXTRA_COMPARISONS[key], values, strict=True))
    if ref_units is None:
        return out
    test = _paired_with(arm_units, ref_units, metric)
    out.update({"diff_vs_none": test["mean_diff"], "diff_ci_low": test["diff_ci_low"],
                "diff_ci_high": test["diff_ci_high"], "t_nb": test["t"], "p_nb": test["p"],
                "cohen_d": test["cohen_d"]})
    return out


def _paired_with(arm_units: pd.DataFrame, ref_units: pd.DataFrame, metric: str) -> dict:
    """`_paired_test` of an arm against a reference arm on the splits both ran."""
    paired = arm_units.merge(ref_units, on=UNIT, suffixes=("", "_ref"))
    return _paired_test(paired, f"{metric}_ref", metric)


def _paired_test(paired: pd.DataFrame, ref_col: str, metric: str) -> dict:
    """Corrected t-test of paired[metric] - paired[ref_col]; its CI clipped to a difference's
    range ([-1, 1]; MCC [-2, 2])."""
    test = corrected_ttest(paired[metric] - paired[ref_col],
                           n_train=paired["n_train_real"].mean(), n_test=paired["n_test"].mean())
    test["diff_ci_low"], test["diff_ci_high"] = np.clip(
        [test["diff_ci_low"], test["diff_ci_high"]], *diff_range(metric))
    return test


def summarise(units: pd.DataFrame, leaky: bool = False) -> pd.DataFrame:
    """Long table: scenario x percent x arm x classifier x metric with CI and the test vs none."""
    units = units[units["leaky"].astype(bool) == leaky]
    rows = []
    for key, arm_units in units.groupby(ARM_KEYS, sort=False, dropna=False):
        info = dict(zip(ARM_KEYS, key, strict=True))
        same = units[(units["scenario"] == info["scenario"]) & (units["percent"] == info["percent"])
                     & (units["classifier"] == info["classifier"])]
        ref = same[same["arm"] == "none"]
        ref = None if info["arm"] == "none" or ref.empty else ref
        comparisons = _comparison_units(same, info)
        for metric in METRICS:
            rows.append({**info, "metric": metric,
                         **_arm_stats(arm_units, ref, metric, comparisons),
                         "n_train_real": arm_units["n_train_real"].mean(),
                         "n_train_synthetic": arm_units["n_train_synthetic"].mean()})
    return pd.DataFrame(rows)


def pooled_oof(oof: pd.DataFrame) -> pd.DataFrame:
    """Each test sample's scores averaged over repeats and generator seeds (one row per sample)."""
    score_cols = [c for c in oof.columns if c.startswith("score_")]
    keys = [k for k in ARM_KEYS if k != "amount"] + ["sample", "condition", "positive"]
    df = oof.copy()
    df[score_cols] = df[score_cols].astype(float)
    return df.groupby(keys, sort=False, dropna=False)[score_cols].mean().reset_index()


def add_delong(table: pd.DataFrame, pooled: pd.DataFrame) -> pd.DataFrame:
    """DeLong's test (AUROC of arm vs none on pooled OOF scores), binary problems only."""
    table = table.copy()
    for col in ("auroc_pooled", "delong_p"):
        table[col] = np.nan
    valid = pooled[~pooled["leaky"].astype(bool)]
    for idx, row in table[table["metric"] == "auroc"].iterrows():
        res = _delong_row(valid, row)
        table.loc[idx, ["auroc_pooled", "delong_p"]] = res
    return table


def _delong_row(valid, row):
    sel = ((valid["scenario"] == row["scenario"]) & (valid["percent"] == row["percent"])
           & (valid["classifier"] == row["classifier"]))
    arm = valid[sel & (valid["arm"] == row["arm"])]
    ref = valid[sel & (valid["arm"] == "none")]
    score_cols = [c for c in arm.columns if c.startswith("score_") and arm[c].notna().any()]
    if arm.empty or len(score_cols) != 2:
        return [np.nan, np.nan]
    positive = str(arm["positive"].iloc[0])
    col = f"score_{positive}"
    if ref.empty or row["arm"] == "none":
        res = delong_test(arm["condition"], arm[col], arm[col], positive)
        return [res["auc_a"], np.nan]
    both = arm.merge(ref[["sample", col]], on="sample", suffixes=("", "_ref"))
    res = delong_test(both["condition"], both[col], both[f"{col}_ref"], positive)
    return [res["auc_a"], res["p"]]


def inflation(units: pd.DataFrame) -> pd.DataFrame:
    """Leaky - correct on the same splits, per arm x classifier x metric (NB-corrected CI)."""
    leaky = units[units["leaky"].astype(bool)]
    correct = units[~units["leaky"].astype(bool)]
    rows = []
    for key, lk in leaky.groupby(ARM_KEYS, sort=False, dropna=False):
        info = dict(zip(ARM_KEYS, key, strict=True))
        ok = correct[(correct["scenario"] == info["scenario"])
                     & (correct["percent"] == info["percent"])
                     & (correct["method"] == info["method"])
                     & (correct["amount"] == info["amount"])
                     & (correct["classifier"] == info["classifier"])]
        if ok.empty:
            continue
        paired = lk.merge(ok, on=UNIT, suffixes=("", "_ok"))
        for metric in METRICS:
            test = _paired_test(paired, f"{metric}_ok", metric)
            rows.append({**info, "correct_arm": info["arm"].removeprefix("leaky-"),
                         "metric": metric, "leaky_mean": paired[metric].mean(),
                         "correct_mean": paired[f"{metric}_ok"].mean(),
                         "inflation": test["mean_diff"], "ci_low": test["diff_ci_low"],
                         "ci_high": test["diff_ci_high"], "p_nb": test["p"], "n": len(paired),
                         "validity": INVALID_LABEL})
    return pd.DataFrame(rows)


def worth(units: pd.DataFrame, metric: str = "auroc") -> pd.DataFrame:
    """Learning-curve read-out: how many real samples each arm's score is worth, per fraction.

    The `none` arm's mean score against its mean real training size (learning-curve fractions and
    the 100 % point on the same repeats) is the reference curve; each augmented arm's score at a
    fraction is read off it (`stats.worth_real_samples`). The gap to `none` at the same fraction
    (paired on the same splits, corrected CI) decides the words (`conclusive.worth_statement`):
    a CI that contains 0 is "no detectable gain", never worth extra real samples.
    """
    lc = units[(units["scenario"] == "learning_curve") & ~units["leaky"].astype(bool)]
    if lc.empty:
        return pd.DataFrame()
    main = units[(units["scenario"] == "main") & ~units["leaky"].astype(bool)
                 & units["repeat"].isin(lc["repeat"].unique())
                 & units["classifier"].isin(lc["classifier"].unique())
                 & units["arm"].isin(lc["arm"].unique())]
    points = pd.concat([lc, main])
    curve = points.groupby(["classifier", "arm", "percent"])[
        [metric, "n_train_real"]].mean().reset_index()
    rows = []
    for (clf, arm), pts in curve.groupby(["classifier", "arm"]):
        ref = curve[(curve["classifier"] == clf) & (curve["arm"] == "none")]
        if arm == "none" or ref.empty:
            continue
        for _, p in pts.iterrows():
            none_score = ref.loc[ref["percent"] == p["percent"], metric]
            w = worth_real_samples(ref["n_train_real"], ref[metric], p[metric])
            rows.append({"classifier": clf, "arm": arm, "metric": metric,
                         "percent": int(p["percent"]), "n_real": p["n_train_real"],
                         "score": p[metric],
                         "score_none": float(none_score.iloc[0]) if len(none_score) else np.nan,
                         "n_equivalent": w["n_equivalent"], "status": w["status"],
                         "extra_real_samples": w["n_equivalent"] - p["n_train_real"],
                         **_worth_gap(points, clf, arm, p["percent"], metric)})
            rows[-1]["statement"] = worth_statement(rows[-1])
    return pd.DataFrame(rows)


def _worth_gap(points: pd.DataFrame, clf: str, arm: str, percent, metric: str) -> dict:
    """Paired gap arm - none at one learning-curve point, its corrected CI and its reading."""
    at = points[(points["classifier"] == clf) & (points["percent"] == percent)]
    test = _paired_with(at[at["arm"] == arm], at[at["arm"] == "none"], metric)
    return {"gap": test["mean_diff"], "gap_ci_low": test["diff_ci_low"],
            "gap_ci_high": test["diff_ci_high"], "p_nb": test["p"],
            "reading": reading(test["diff_ci_low"], test["diff_ci_high"], metric)}


def aggregate(per_fold: pd.DataFrame, oof: pd.DataFrame, s: dict | None = None) -> dict:
    """All aggregated tables: aggregate, inflation, worth, pooled_oof (DataFrames)."""
    units = unit_table(per_fold)
    pooled = pooled_oof(oof)
    table = mark_delong_scope(add_delong(summarise(units), pooled), pooled)
    return {"aggregate": table, "inflation": inflation(units), "worth": worth(units),
            "pooled_oof": pooled}
