"""CIs decide the words: worth statements, 'too wide to conclude' on the scenario figures, and
CI clipping (a score's CI to [0, 1], a difference's to [-1, 1]) -- against hand-computed values."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from genogan.benchmark import plots
from genogan.benchmark.aggregate import inflation, summarise, unit_table, worth
from genogan.benchmark.conclusive import diff_range, margin, reading, too_wide_note
from genogan.benchmark.metrics import METRICS

N_TEST = 10


def _per_fold(scores: dict, scenario="main", percent=100, n_train=40, metric="auroc"):
    """Per-fold rows: scores = {arm: [score of split 0, 1, ...]} (repeat 0, fold = index)."""
    rows = []
    for arm, values in scores.items():
        for fold, value in enumerate(values):
            metrics = dict.fromkeys(METRICS, 0.5) | {metric: value}
            rows.append({"scenario": scenario, "percent": percent, "arm": arm,
                         "method": arm.split("-x")[0], "amount": "1" if arm != "none" else "0",
                         "leaky": False, "classifier": "logreg", "repeat": 0, "fold": fold,
                         **metrics, "n_train_real": n_train, "n_train_synthetic": 0,
                         "n_test": N_TEST})
    return pd.DataFrame(rows)


def _nb_ci(diffs, n_train):
    """Nadeau-Bengio corrected 95 % CI, by hand."""
    d = np.asarray(diffs, float)
    half = sps.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) * np.sqrt(1 / len(d) + N_TEST / n_train)
    return d.mean() - half, d.mean() + half


# --- the rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.01, 0.2, "gain"), (-0.3, -0.001, "loss"), (-0.03, 0.049, "no_meaningful_difference"),
    (-0.01, 0.06, "too_wide"), (-1.5, 1.6, "too_wide"), (np.nan, 0.1, "unknown")])
def test_reading_of_a_difference_ci(low, high, expected):
    assert reading(low, high, "auroc") == expected


def test_margin_and_ranges_scale_with_the_metric():
    assert margin("auroc") == 0.05 and margin("mcc") == pytest.approx(0.1)
    assert diff_range("auroc") == (-1.0, 1.0) and diff_range("mcc") == (-2.0, 2.0)
    assert reading(-0.08, 0.08, "mcc") == "no_meaningful_difference"  # inside +-0.1
    assert reading(0.42, 0.58, "auroc", centre=0.5) == "too_wide"  # around chance
    assert too_wide_note([], "auroc", 3) == ""


# --- clipping ---------------------------------------------------------------------------------

def _row(table, arm, metric="auroc"):
    return table[(table["arm"] == arm) & (table["metric"] == metric)].iloc[0]


def test_two_splits_clip_a_score_to_0_1_and_a_difference_to_minus_1_1():
    units = unit_table(_per_fold({"none": [0.9, 0.5], "smote": [0.5, 0.9]}))
    lo, hi = _nb_ci([-0.4, 0.4], 40)  # +-6.2 by hand: beyond any difference
    assert lo < -1 and hi > 1
    row = _row(summarise(units), "smote")
    assert (row["ci_low"], row["ci_high"]) == (0.0, 1.0)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == (-1.0, 1.0)
    assert row["diff_vs_none"] == pytest.approx(0.0)


def test_a_difference_ci_below_zero_is_not_clipped_to_the_score_range():
    diffs = [-0.05, 0.02, 0.08, 0.0, 0.05]
    none = [0.70, 0.72, 0.68, 0.75, 0.71]
    units = unit_table(_per_fold({"none": none,
                                  "smote": [n + d for n, d in zip(none, diffs, strict=True)]}))
    row = _row(summarise(units), "smote")
    lo, hi = _nb_ci(diffs, 40)
    assert lo < 0 < hi
    assert row["diff_ci_low"] == pytest.approx(lo) and row["diff_ci_high"] == pytest.approx(hi)


def test_mcc_difference_clips_to_minus_2_2():
    units = unit_table(_per_fold({"none": [0.9, -0.9], "smote": [-0.9, 0.9]}, metric="mcc"))
    row = _row(summarise(units), "smote", "mcc")
    assert (row["diff_ci_low"], row["diff_ci_high"]) == (-2.0, 2.0)
    assert (row["ci_low"], row["ci_high"]) == (-1.0, 1.0)


def test_inflation_ci_clips_to_the_difference_range():
    correct = _per_fold({"none": [0.5, 0.5], "smote": [0.5, 0.9]})
    leaky = _per_fold({"smote": [0.9, 0.5]}).assign(arm="leaky-smote", leaky=True)
    table = inflation(unit_table(pd.concat([correct, leaky], ignore_index=True)))
    row = table[table["metric"] == "auroc"].iloc[0]
    assert row["correct_arm"] == "smote" and row["inflation"] == pytest.approx(0.0)
    assert (row["ci_low"], row["ci_high"]) == (-1.0, 1.0)  # by hand: 0 +- 6.2


# --- worth n real samples ---------------------------------------------------------------------

NONE_HALF, NONE_FULL = [0.6, 0.7, 0.8], [0.8, 0.85, 0.9]  # none curve: (20, 0.7), (40, 0.85)


def _curve_units(gan_half, gan_full=(0.8, 0.86, 0.9)):
    lc = _per_fold({"none": NONE_HALF, "cwgan_gp": list(gan_half)}, "learning_curve", 50, 20)
    main = _per_fold({"none": NONE_FULL, "cwgan_gp": list(gan_full)})
    return unit_table(pd.concat([lc, main], ignore_index=True))


def _worth_at_half(units):
    w = worth(units)
    return w[(w["arm"] == "cwgan_gp") & (w["percent"] == 50)].iloc[0]


@pytest.mark.parametrize(("gan_half", "status"), [
    ([0.9, 0.6, 0.75], "interpolated"),   # gap +0.05, CI includes 0
    ([0.95, 0.96, 0.95], "above_curve"),  # the case: beyond the curve, CI includes 0
])
def test_ci_including_zero_is_no_detectable_gain(gan_half, status):
    row = _worth_at_half(_curve_units(gan_half))
    diffs = np.subtract(gan_half, NONE_HALF)
    lo, hi = _nb_ci(diffs, 20)
    assert lo < 0 < hi
    assert row["status"] == status and row["extra_real_samples"] > 0
    assert row["gap"] == pytest.approx(diffs.mean())
    assert (row["gap_ci_low"], row["gap_ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert row["reading"] == "too_wide"
    assert row["statement"] == (
        f"cwgan_gp at 50 % (20.0 real samples): no detectable gain over none "
        f"({diffs.mean():+.3f}, 95 % CI {lo:+.3f} to {hi:+.3f}; CI too wide to conclude)")
    assert "worth" not in row["statement"]


def test_ci_above_zero_is_worth_real_samples():
    gan_half = [0.7, 0.81, 0.9]  # gap +0.1, +0.11, +0.1: CI [0.081, 0.126] by hand
    row = _worth_at_half(_curve_units(gan_half))
    lo, hi = _nb_ci(np.subtract(gan_half, NONE_HALF), 20)
    assert 0 < lo and row["reading"] == "gain"
    n_eq = 20 + (np.mean(gan_half) - 0.7) / 0.15 * 20  # linear between (20, 0.7), (40, 0.85)
    assert row["n_equivalent"] == pytest.approx(n_eq)
    assert row["statement"].startswith(f"cwgan_gp at 50 % (20.0 real samples): worth "
                                       f"~{n_eq:.1f} real samples (gap to none +0.103, 95 % CI "
                                       f"{lo:+.3f} to {hi:+.3f})")


def test_ci_above_zero_beyond_the_curve_is_worth_more_than_the_curve():
    row = _worth_at_half(_curve_units([0.85, 0.96, 1.0]))  # gaps .25, .26, .2
    assert row["reading"] == "gain" and row["status"] == "above_curve"
    assert "worth more real samples than the whole 'none' curve" in row["statement"]


# --- on the figures ---------------------------------------------------------------------------

def _texts(fig):
    return [t.get_text() for t in fig.texts] + [t.get_text() for ax in fig.axes
                                               for t in ax.texts]


def test_learning_curve_says_too_wide_and_no_detectable_gain_on_the_figure(captured, tmp_path):
    units = _curve_units([0.95, 0.96, 0.95])
    plots.plot_learning_curve(summarise(units), worth(units), tmp_path / "lc.png", "logreg")
    (fig,) = captured
    texts = "\n".join(_texts(fig))
    assert ("Too wide to conclude (1 of 2): the 95 % CI of the difference to none contains 0 "
            "and reaches beyond \u00b10.05 AUROC\n(cwgan_gp at 50 %)") in texts
    assert "(cwgan_gp at 50 %)" in texts  # the 100 % point (+0.003 [-0.03, 0.04]) concludes
    assert "no detectable gain over none" in texts
    assert "worth" not in texts


def test_learning_curve_with_tight_cis_carries_no_too_wide_note(captured, tmp_path):
    units = _curve_units([0.7, 0.81, 0.9])  # 100 %: +0.003 [-0.016, +0.022], no difference
    plots.plot_learning_curve(summarise(units), worth(units), tmp_path / "lc.png", "logreg")
    (fig,) = captured
    texts = "\n".join(_texts(fig))
    assert "Too wide" not in texts
    assert "cwgan_gp at 50 % (20.0 real samples): worth ~" in texts


def _scenario_row(scenario, percent, arm, metric, lo, hi, amount="1", mean=0.7):
    return {"scenario": scenario, "percent": percent, "arm": arm, "method": arm.split("-x")[0],
            "amount": amount, "leaky": False, "classifier": "logreg", "metric": metric,
            "mean": mean, "ci_low": mean - 0.1, "ci_high": mean + 0.1, "n_train_real": percent,
            "diff_vs_none": (lo + hi) / 2, "diff_ci_low": lo, "diff_ci_high": hi}


def test_imbalance_figure_names_the_wide_cis_per_metric(captured, tmp_path):
    rows = []
    for metric, wide in (("auroc", (-0.2, 0.3)), ("balanced_accuracy", (0.01, 0.05))):
        for scenario, pct in (("imbalance", 25), ("main", 100)):
            rows.append(_scenario_row(scenario, pct, "none", metric, np.nan, np.nan))
        rows.append(_scenario_row("imbalance", 25, "smote", metric, *wide))
        rows.append(_scenario_row("main", 100, "smote", metric, -0.01, 0.02))
    plots.plot_imbalance(pd.DataFrame(rows), tmp_path / "im.png", "logreg")
    (fig,) = captured
    texts = "\n".join(_texts(fig))
    assert ("Too wide to conclude (1 of 2): the 95 % CI of the difference to none contains 0 and "
            "reaches beyond \u00b10.05 AUROC\n") in texts
    assert "(smote at 25 %)" in texts
    assert "balanced accuracy" not in texts.split("Too wide", 1)[1]  # its CIs conclude


def test_dose_response_names_wide_doses(captured, tmp_path):
    rows = [_scenario_row("main", 100, "none", "auroc", np.nan, np.nan, amount="0"),
            _scenario_row("main", 100, "smote", "auroc", -0.01, 0.02, amount="1"),
            _scenario_row("main", 100, "smote-x2", "auroc", -0.1, 0.2, amount="2")]
    plots.plot_dose_response(pd.DataFrame(rows), tmp_path / "dose.png", "logreg", ["smote"])
    (fig,) = captured
    assert fig.texts and fig.texts[0].get_text().endswith("(smote x2)")
    assert fig.texts[0].get_text().startswith("Too wide to conclude (1 of 2)")


def test_null_control_too_wide_around_chance(captured, tmp_path):
    def null(arm, lo, hi):
        return {"scenario": "null_control", "percent": 100, "arm": arm, "classifier": "logreg",
                "metric": "auroc", "mean": (lo + hi) / 2, "ci_low": lo, "ci_high": hi}
    table = pd.DataFrame([null("none", 0.47, 0.53), null("cwgan_gp", 0.2, 0.8)])
    plots.plot_null(table, tmp_path / "null.png")
    (fig,) = captured
    (note,) = [t.get_text() for t in fig.texts]
    assert note == ("Too wide to conclude (1 of 2): the 95 % CI of the score minus chance "
                    "contains 0 and reaches beyond \u00b10.05 AUROC\n(cwgan_gp / logreg)")


def test_captions_state_the_rule_with_its_margin():
    from pathlib import Path

    report = Path(__file__).resolve().parents[1] / "workflow" / "report"
    for name in ("benchmark_learning_curve", "benchmark_imbalance", "benchmark_dose_response",
                 "benchmark_null_control"):
        text = " ".join((report / f"{name}.rst").read_text().split())
        assert "too wide to conclude" in text and f"{margin('auroc'):g}" in text, name
    worth_caption = " ".join((report / "benchmark_worth.rst").read_text().split())
    assert "no detectable gain" in worth_caption and "gap_ci_low/high" in worth_caption


def test_forest_plot_names_too_wide_arms(captured, tmp_path):
    rows = [{"scenario": "main", "percent": 100, "arm": arm, "leaky": False, "classifier": "svm",
             "metric": "auroc", "n": 5, "diff_vs_none": d, "diff_ci_low": lo, "diff_ci_high": hi}
            for arm, d, lo, hi in (("none", np.nan, np.nan, np.nan), ("smote", 0.0, -0.02, 0.02),
                                   ("cwgan_gp", 0.07, -1.0, 1.0), ("noise", 0.1, 0.05, 0.15))]
    plots.plot_forest(pd.DataFrame(rows), tmp_path / "forest.png")
    (fig,) = captured
    (note,) = [t for t in _texts(fig) if t.startswith("Too wide")]
    assert note.startswith("Too wide to conclude (1 of 3)") and note.endswith("(cwgan_gp / svm)")
