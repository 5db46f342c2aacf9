"""The answer in words follows the paired CI, names the controls, and renders as clean RST."""

import numpy as np
import pandas as pd
import pytest

from genogan.benchmark.verdict import (
    classifier_sentence,
    holm,
    landing_rst,
    leaky_sentence,
    null_sentence,
    verdict_lines,
)
from test_report_captions import rst_warnings


def _row(arm, diff, lo, hi, p, *, scenario="main", clf="logreg", leaky=False, mean=0.7,
         ci=(0.6, 0.8), metric="auroc"):
    return {"scenario": scenario, "percent": 100, "arm": arm, "leaky": leaky,
            "classifier": clf, "metric": metric, "mean": mean, "ci_low": ci[0],
            "ci_high": ci[1], "n": 20, "diff_vs_none": diff, "diff_ci_low": lo,
            "diff_ci_high": hi, "p_nb": p}


def _table(rows):
    none = _row("none", np.nan, np.nan, np.nan, np.nan)
    return pd.DataFrame([none, *rows])


def test_holm_matches_hand_computed_values():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5]), [0.5])


def test_ci_containing_zero_is_no_detectable_difference():
    table = _table([_row("smote", 0.004, -0.015, 0.023, 0.61),
                    _row("cwgan_gp", -0.002, -0.03, 0.02, 0.8)])
    text = classifier_sentence(table, "logreg")
    assert "no augmenter improved AUROC" in text and "no detectable difference" in text
    assert "smote, was +0.004 (95 % CI -0.015 to +0.023, p = 0.61)" in text
    assert "2 arms, 20 train/test splits" in text


def test_ci_above_zero_is_an_improvement_with_holm_p_and_below_zero_a_loss():
    table = _table([_row("smote", 0.03, 0.01, 0.05, 0.01), _row("mixup", -0.04, -0.07, -0.01,
                                                                0.02),
                    _row("noise", 0.0, -0.02, 0.02, 0.9)])
    text = classifier_sentence(table, "logreg")
    assert text.startswith("logreg: smote by +0.030")
    assert "Holm-adjusted p = 0.03" in text and "improved AUROC over no augmentation" in text
    assert "mixup lowered it by -0.040" in text


def test_dose_and_leaky_arms_never_enter_the_answer():
    table = _table([_row("smote-x5", 0.2, 0.1, 0.3, 0.001), _row("leaky-smote", 0.2, 0.1, 0.3,
                                                                 0.001, leaky=True),
                    _row("smote", 0.0, -0.01, 0.01, 0.9)])
    text = classifier_sentence(table, "logreg")
    assert "no augmenter improved" in text and "x5" not in text and "leaky" not in text


@pytest.mark.parametrize("ci, at_chance", [((0.4, 0.6), True), ((0.55, 0.7), False)])
def test_null_control_sentence(ci, at_chance):
    table = pd.DataFrame([_row("none", np.nan, np.nan, np.nan, np.nan, scenario="null_control",
                               mean=0.5, ci=(0.4, 0.6)),
                          _row("cwgan_gp", 0, 0, 0, 1, scenario="null_control", mean=np.mean(ci),
                               ci=ci)])
    text = null_sentence(table, "logreg")
    assert ("every arm is at chance" in text) == at_chance
    assert ("NOT at chance for cwgan_gp" in text) == (not at_chance)


def test_leaky_sentence_reports_inflation_with_its_ci():
    inflation = pd.DataFrame([{"scenario": "main", "classifier": "logreg", "metric": "auroc",
                               "correct_arm": "smote", "inflation": 0.05, "ci_low": 0.02,
                               "ci_high": 0.08}])
    text = leaky_sentence(inflation, "logreg")
    assert "INVALID by design" in text and "smote +0.050 (95 % CI +0.020 to +0.080)" in text


def test_landing_page_puts_the_answer_first_and_is_valid_rst():
    table = _table([_row("smote", 0.004, -0.015, 0.023, 0.61)])
    flags = pd.DataFrame([{"model": "cwgan_gp", "n": 40, "flags": "cwgan_gp ignores its label."}])
    lines = verdict_lines({"aggregate": table, "inflation": pd.DataFrame()}, ["svm", "logreg"],
                          main_classifier="logreg", quality_flags=flags)
    assert lines[0].startswith("logreg:")
    assert lines[-1] == ("Synthetic data quality, cwgan_gp (40 splits x seeds): cwgan_gp ignores "
                         "its label.")
    page = landing_rst(lines, "Workflow\n========\n\nText.\n")
    assert page.startswith("The answer\n==========\n\n* logreg:")
    assert rst_warnings(page) == ""


def _cmp_row(arm, diff, lo, hi, p):
    return {**_row(arm, 0.01, -0.05, 0.07, 0.7), "diff_vs_comparator": diff, "cmp_ci_low": lo,
            "cmp_ci_high": hi, "p_cmp": p}


@pytest.mark.parametrize("diff, lo, hi, words", [
    (0.03, 0.01, 0.05, "cwgan_gp beat it by +0.030 (95 % CI +0.010 to +0.050, p = 0.2)"),
    (0.03, -0.02, 0.08, "cwgan_gp did not beat it (+0.030, 95 % CI -0.020 to +0.080, p = 0.2)"),
    (-0.03, -0.05, -0.01, "cwgan_gp did worse by -0.030")])
def test_comparator_sentence_follows_the_paired_ci(diff, lo, hi, words):
    from genogan.benchmark.verdict import comparator_sentence

    table = _table([_cmp_row("cwgan_gp", diff, lo, hi, 0.2),
                    {**_row("gaussian_pca", 0.0, -0.02, 0.02, 0.9),
                     "diff_vs_comparator": np.nan}])
    text = comparator_sentence(table, "logreg")
    assert words in text and "gaussian_pca" in text
    assert text in verdict_lines({"aggregate": table}, ["logreg"])
    assert comparator_sentence(table, "svm") is None  # nothing compared for that classifier


def test_comparator_sentence_names_the_families_that_beat_it():
    from genogan.benchmark.verdict import comparator_sentence

    comparator = {**_row("gaussian_pca", 0.0, -0.02, 0.02, 0.9), "diff_vs_comparator": np.nan}
    table = _table([_cmp_row("cwgan_gp", -0.01, -0.04, 0.02, 0.5),
                    _cmp_row("ddpm", 0.04, 0.01, 0.07, 0.01),
                    _cmp_row("cvae", 0.01, -0.02, 0.04, 0.4), comparator])
    text = comparator_sentence(table, "logreg")
    assert "families that beat it: diffusion (ddpm);" in text
    assert text.index("cwgan_gp did not") < text.index("cvae did not") < text.index("ddpm beat")
    table = _table([_cmp_row("cwgan_gp", -0.01, -0.04, 0.02, 0.5),
                    _cmp_row("cvae", 0.01, -0.02, 0.04, 0.4), comparator])
    assert "no family beat it (tested: adversarial, likelihood)" in comparator_sentence(
        table, "logreg")


def test_a_ceiling_is_no_room_to_improve_not_a_finding():
    """The issue's microarray case: every arm at AUROC 0.998, differences +0.000 [0, 0]."""
    none = _row("none", np.nan, np.nan, np.nan, np.nan, mean=0.998, ci=(0.995, 1.0))
    table = pd.DataFrame([none, _row("smote", 0.0, 0.0, 0.0, 1.0, mean=0.998)])
    text = classifier_sentence(table, "logreg")
    assert text.startswith("logreg: no room to improve: without augmentation AUROC is already "
                           "0.998 (95 % CI 0.995 to 1.000), within 1% of its maximum")
    assert "+0.000" not in text
    below = pd.DataFrame([_row("none", np.nan, np.nan, np.nan, np.nan, ci=(0.6, 0.98)),
                          _row("smote", 0.0, 0.0, 0.0, 1.0)])
    wide = pd.DataFrame([_row("none", np.nan, np.nan, np.nan, np.nan, mean=0.73,
                              ci=(0.34, 1.0)), _row("smote", 0.01, -0.2, 0.22, 0.9)])
    assert "no room" not in classifier_sentence(wide, "logreg")  # a wide CI is no ceiling
    zero = classifier_sentence(below, "logreg")  # not a ceiling, but a zero-width zero
    assert "every arm scored exactly as no augmentation" in zero and "+0.000" not in zero


def test_a_significant_loss_on_another_metric_is_on_the_first_page():
    """The issue's SNP panel: cwgan_gp lowered balanced accuracy, AUROC showed nothing."""
    rows = [_row("cwgan_gp", -0.01, -0.04, 0.02, 0.5),
            _row("none", np.nan, np.nan, np.nan, np.nan, metric="balanced_accuracy"),
            _row("cwgan_gp", -0.037, -0.061, -0.013, 0.006, metric="balanced_accuracy"),
            _row("smote", -0.01, -0.03, 0.01, 0.4, metric="balanced_accuracy")]
    lines = verdict_lines({"aggregate": _table(rows)}, ["logreg"])
    harm = [line for line in lines if line.startswith("Losses on the other metrics")]
    assert harm == ["Losses on the other metrics (paired 95 % CI below 0): cwgan_gp lowered "
                    "balanced accuracy by 0.037 (95 % CI -0.061 to -0.013, logreg)."]


def test_the_first_page_leads_with_a_compact_table_that_renders():
    from genogan.benchmark.verdict import answer_table

    table = _table([_row("smote", 0.03, 0.01, 0.05, 0.01), _row("mixup", -0.04, -0.07, -0.01,
                                                                0.02),
                    _row("noise", 0.004, -0.015, 0.023, 0.6), _row("cwgan_gp", 0.1, -0.5, 0.7,
                                                                   0.6)])
    compact = answer_table(table, ["logreg"])
    assert compact.loc["smote", "logreg"] == "+0.030 [+0.010, +0.050] gain"
    assert compact.loc["mixup", "logreg"] == "-0.040 [-0.070, -0.010] LOSS"
    assert compact.loc["noise", "logreg"].endswith("no detectable difference")
    assert compact.loc["cwgan_gp", "logreg"].endswith("too wide to conclude")
    page = landing_rst(["logreg: a sentence."], "Workflow\n========\n\nText.\n", compact)
    assert page.index(".. list-table::") < page.index("* logreg: a sentence.")
    assert rst_warnings(page) == ""
