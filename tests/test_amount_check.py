"""No silent no-op: `amount: balance` on balanced classes is an error at validation (every
training part adds nothing), a warning when only some parts add nothing, and a report sentence."""

import logging

import pandas as pd
import pytest

from genogan.amount_check import arm_additions, check_augmentation_adds, check_gan_pools_cover
from genogan.benchmark.names import amount_spec, class_counts, is_balance, parse_amount
from genogan.benchmark.targets import benchmark_settings
from genogan.benchmark.verdict import noop_arms_note
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
                       r"control 12.*samples.tsv.*Fix: set `benchmark.amount` to "
                       "'balance:1.5'"):
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


# ---- balance plus a ratio: adds samples for any class balance ---------------------------------
@pytest.mark.parametrize("text, canonical, spec", [
    ("balance", "balance", ("balance", 1.0)), ("balance:1.5", "balance:1.5", ("balance", 1.5)),
    ("Balance:2", "balance:2", ("balance", 2.0)), ("balance:1", "balance", ("balance", 1.0)),
    (0.5, 0.5, ("multiple", 0.5)), ("2", 2.0, ("multiple", 2.0)), (0, 0.0, ("multiple", 0.0))])
def test_one_interpreter_of_the_amount(text, canonical, spec):
    assert parse_amount(text) == canonical and amount_spec(text) == spec
    assert is_balance(text) == isinstance(canonical, str)


@pytest.mark.parametrize("bad", ["balance:0.5", "balance:", "balance:x", "balanced", "x", -1,
                                 float("inf"), float("nan"), True, None])
def test_invalid_amounts_stop_with_the_forms_that_work(bad):
    with pytest.raises(GenoganInputError, match="invalid augmentation amount.*balance:R"):
        parse_amount(bad)


def test_balance_with_a_ratio_by_hand():
    """balance:R tops every class up to round(R x majority): 12:12 -> 18 each (+6, +6);
    10:5 at 1.5 -> 15 (+5, +10); 3 classes 10:4:2 at 2 -> 20 (+10, +16, +18)."""
    y = lambda **n: [c for c, k in n.items() for _ in range(k)]  # noqa: E731
    assert class_counts(y(a=12, b=12), "balance:1.5") == {"a": 6, "b": 6}
    assert class_counts(y(a=10, b=5), "balance:1.5") == {"a": 5, "b": 10}
    assert class_counts(y(a=10, b=4, c=2), "balance:2") == {"a": 10, "b": 16, "c": 18}
    assert class_counts(y(a=12, b=12), "balance") == {"a": 0, "b": 0}


def test_balance_with_a_ratio_passes_balanced_classes_and_adds_everywhere(caplog):
    s = sheet(case=12, control=12)
    with caplog.at_level(logging.WARNING, logger="genogan"):
        added = check_augmentation_adds(s, config(amount="balance:1.5"))
    parts = training_parts(s["condition"], s["sample"], benchmark_settings(BENCH))
    for ds, (counts, _) in parts.items():  # 8:8 training parts -> 12 each: +4 +4
        assert added["smote"][ds] == added["cwgan_gp"][ds] == \
            sum(round(1.5 * counts.max()) - n for n in counts) == 8
    assert not any("smote" in r.message for r in caplog.records)


def test_shipped_config_amount_adds_samples_for_the_demo_and_balanced_cohorts():
    import yaml

    from conftest import REPO

    shipped = yaml.safe_load((REPO / "config/config.yaml").read_text())
    assert is_balance(shipped["benchmark"]["amount"])
    assert amount_spec(shipped["benchmark"]["amount"])[1] > 1  # grows the majority class too
    for cohort in (sheet(case=20, control=20), sheet(case=14, control=26)):
        cfg = {"samples": "s.tsv", "benchmark": shipped["benchmark"], "gan": shipped["gan"]}
        added = check_augmentation_adds(cohort, cfg)
        assert all(n > 0 for arm, per in added.items() if arm != "class_weight"
                   for n in per.values())
        check_gan_pools_cover(cohort, cfg)  # the shipped gan.amount covers every dose


def test_gan_pool_too_small_for_the_dose_stops_with_the_amount_that_covers_it():
    """5:1 cohort (30 vs 6), balance:1.5: a training part of 20 vs 4 needs 30 - 4 = 26 minority
    samples, 6.5 x its 4; gan.amount multiple 5 makes 20. The fix names multiple 6.5."""
    s = sheet(case=6, control=30)
    cfg = {**config(amount="balance:1.5", arms=["none", "cwgan_gp"],
                    leaky_control={"enabled": False},
                    dose_response={"enabled": True, "ratios": [0, 1], "arms": ["cwgan_gp"]}),
           "gan": {"amount": {"mode": "multiple", "value": 5}}}
    with pytest.raises(GenoganInputError, match=r"arm cwgan_gp needs 26 synthetic samples of "
                       r"class 'case'.*pool of 20.*value: 6.5"):
        check_gan_pools_cover(s, cfg, "config.yaml")
    check_gan_pools_cover(s, {**cfg, "gan": {"amount": {"mode": "multiple", "value": 6.5}}})
    check_gan_pools_cover(s, {**cfg, "benchmark": {**cfg["benchmark"], "amount": "balance"}})


def test_the_verdict_names_idle_arms():
    from genogan.benchmark.aggregate import summarise, unit_table
    from genogan.benchmark.verdict import verdict_lines

    rows = [{"dataset": f"r0_f{f}", "scenario": "main", "repeat": 0, "fold": f, "percent": 100,
             "arm": arm, "method": arm, "amount": "balance", "leaky": False,
             "classifier": "logreg", "generator_seed": 1, "positive": "case",
             "n_train_real": 16, "n_train_synthetic": n, "n_test": 8, "fit_seconds": 0.1,
             "auroc": 0.7 + 0.01 * f, "auprc": 0.6, "balanced_accuracy": 0.6, "f1": 0.5,
             "mcc": 0.2} for f in range(3) for arm, n in (("none", 0), ("smote", 0),
                                                          ("mixup", 4))]
    per_fold = pd.DataFrame(rows)
    table = summarise(unit_table(per_fold))  # aggregate.tsv's rows
    lines = verdict_lines({"aggregate": table}, ["logreg"])
    assert lines[-1] == noop_arms_note(per_fold) == noop_arms_note(table)
    assert lines[-1].startswith("No augmentation happened in arm(s) smote:")
