"""No silent no-op: `amount: balance` on balanced classes is an error at validation (every
training part adds nothing), a warning when only some parts add nothing, and a report sentence."""

import logging

import pandas as pd
import pytest

from genogan.amount_check import arm_additions, check_augmentation_adds, noop_arms_note
from genogan.benchmark.targets import benchmark_settings
from genogan.cohort_check import training_parts
from genogan.errors import GenoganInputError

BENCH = {"folds": 3, "repeats": 1, "arms": ["none", "class_weight", "smote", "cwgan_gp"],
         "dose_response": {"enabled": True, "ratios": [0, 1], "arms": ["smote"]},
         "learning_curve": {"enabled": False}, "null_control": {"enabled": False},
         "leaky_control": {"enabled": True, "arms": ["smote"]}}


def sheet(**sizes):
    rows = [(f"{c}{i}", c) for c, n in sizes.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["sample", "condition"])


def config(**bench):
    return {"samples": "samples.tsv", "benchmark": {**BENCH, **bench}}


def test_balanced_classes_with_balance_stop_at_validation():
    with pytest.raises(GenoganInputError, match=r"arm\(s\) cwgan_gp, smote add no "
                       r"synthetic sample in any training part.*amount: balance.*case 12, "
                       r"control 12.*samples.tsv.*Fix: set `benchmark.amount` to a "
                       "synthetic:real ratio"):
        check_augmentation_adds(sheet(case=12, control=12), config(), "samples.tsv")


def test_additions_equal_the_hand_count_of_each_training_part():
    """balance: sum over classes of (majority - class size); ratio r: round(r * size) per class;
    dose arm smote-x1 adds one per real sample whatever the amount."""
    s = sheet(case=16, control=8)
    bench = benchmark_settings(BENCH)
    parts = training_parts(s["condition"], s["sample"], bench)
    added = check_augmentation_adds(s, config())
    assert set(added) == {"class_weight", "smote", "cwgan_gp", "smote-x1"}  # no none, no leaky
    for ds, (counts, _) in parts.items():
        assert added["smote"][ds] == added["cwgan_gp"][ds] == counts.max() * 2 - counts.sum()
        assert added["smote-x1"][ds] == counts.sum()
        assert added["class_weight"][ds] == 1
    ratio = arm_additions(parts, benchmark_settings({**BENCH, "amount": 0.5}))
    for ds, (counts, _) in parts.items():
        assert ratio["smote"][ds] == sum(round(0.5 * n) for n in counts)


def test_a_ratio_amount_exercises_balanced_classes(caplog):
    with caplog.at_level(logging.WARNING, logger="genogan"):
        added = check_augmentation_adds(sheet(case=12, control=12), config(amount=1))
    assert added == {arm: {ds: 16 for ds in added["smote"]}
                     for arm in ("smote", "cwgan_gp")}  # 8 + 8; smote-x1 is plain smote now
    assert [r.message for r in caplog.records] == [
        "arm class_weight reweights nothing: classes case 12, control 12 are balanced in every "
        "training part, so it equals `none` (drop it from benchmark.arms)"]


def test_some_balanced_training_parts_are_a_warning(caplog):
    """9 + 8 samples in 3 stratified folds: one training part is 6:6, the others 6:5."""
    s = sheet(case=9, control=8)
    with caplog.at_level(logging.WARNING, logger="genogan"):
        added = check_augmentation_adds(s, config())
    assert sorted(added["smote"].values()) == [0, 1, 1]
    assert any("arm smote adds no synthetic sample in 1 of its 3 training parts" in r.message
               and "benchmark.amount" in r.message for r in caplog.records)


def test_the_report_sentence_names_idle_arms_only():
    per_fold = pd.DataFrame({
        "arm": ["none", "class_weight", "smote", "smote", "cwgan_gp", "smote-x1"],
        "method": ["none", "class_weight", "smote", "smote", "cwgan_gp", "smote"],
        "n_train_synthetic": [0, 0, 0, 0, 0, 16]})
    note = noop_arms_note(per_fold)
    assert note.startswith("No augmentation happened in arm(s) cwgan_gp, smote:")
    assert "smote-x1" not in note and "class_weight" not in note
    per_fold.loc[2, "n_train_synthetic"] = 3
    assert noop_arms_note(per_fold).startswith("No augmentation happened in arm(s) cwgan_gp:")
    assert noop_arms_note(per_fold[per_fold["arm"] != "cwgan_gp"]) == ""
