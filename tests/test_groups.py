"""Grouped samples stay together: several samples of one person (patient, individual) never sit
on both sides of a split, nor of the generators' inner validation split."""

import numpy as np
import pandas as pd
import pytest

from genogan.benchmark.splits import fold_dataset, make_splits, matrix_groups
from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix


def replicate_cohort(n_people=30, per_person=2, p=10, noise=0.05, seed=0, signal=0.0):
    """`per_person` near-identical samples of each person; the label is the person's (random
    when `signal` is 0: only the replicates make it predictable)."""
    rng = np.random.default_rng(seed)
    people = np.repeat([f"person{i:02d}" for i in range(n_people)], per_person)
    label = np.array(["case", "control"] * (n_people // 2))
    person_y = rng.permutation(label)
    base = rng.normal(size=(n_people, p))
    base[:, 0] += signal * np.where(person_y == "case", 1.0, -1.0)
    X = np.repeat(base, per_person, axis=0) + rng.normal(size=(len(people), p)) * noise
    y = np.repeat(person_y, per_person)
    samples = np.array([f"s{i:03d}" for i in range(len(people))])
    return FeatureMatrix(X=X, y=y, samples=samples, feature_names=[f"f{j}" for j in range(p)],
                         extra=pd.DataFrame({"group": people}))


def test_no_person_sits_on_both_sides_of_any_split():
    fm = replicate_cohort()
    splits = make_splits(fm.samples, fm.y, 5, 3, seed=7, groups=matrix_groups(fm))
    for (_, _), part in splits.groupby(["repeat", "fold"]):
        sides = part.groupby("group")["role"].nunique()
        assert (sides == 1).all(), sides[sides > 1]
    # every sample is tested once per repeat, and the groups are written with the splits
    assert (splits[splits["role"] == "test"].groupby(["repeat", "sample"]).size() == 1).all()
    assert set(splits["group"]) == set(matrix_groups(fm))
    # repeats differ (reshuffled groups)
    tests = [tuple(sorted(p.loc[p["role"] == "test", "sample"])) for _, p in
             splits[splits["fold"] == 0].groupby("repeat")]
    assert len(set(tests)) > 1


def test_ungrouped_splits_do_split_people():
    """The control: without groups the same cohort puts persons on both sides."""
    fm = replicate_cohort()
    splits = make_splits(fm.samples, fm.y, 5, 1, seed=7)
    splits["group"] = np.tile(matrix_groups(fm), 5)
    straddling = splits.groupby(["fold", "group"])["role"].nunique()
    assert (straddling > 1).any()


def test_fold_parts_carry_the_groups_and_share_none():
    fm = replicate_cohort()
    splits = make_splits(fm.samples, fm.y, 3, 1, seed=1, groups=matrix_groups(fm))
    train, test = fold_dataset(fm, splits, 0, 0)
    assert not set(matrix_groups(train)) & set(matrix_groups(test))


def test_the_inner_validation_split_holds_back_whole_groups():
    from genogan.generators.train import inner_validation_split

    fm = replicate_cohort(n_people=20, per_person=3)
    groups = matrix_groups(fm)
    fit, val = inner_validation_split(fm.y, 0.2, seed=3, groups=groups)
    assert len(val) > 0 and not set(groups[fit]) & set(groups[val])
    assert sorted(np.concatenate([fit, val])) == list(range(len(fm.y)))
    for c in ("case", "control"):  # at most round(0.2 * n_c) rows held back per class
        assert 0 < (fm.y[val] == c).sum() <= round(0.2 * (fm.y == c).sum())


def test_too_few_groups_per_class_stops_with_the_group_named():
    fm = replicate_cohort(n_people=6, per_person=4)
    with pytest.raises(GenoganInputError, match="has samples of 3 group\\(s\\) .*fewer than the 5"):
        make_splits(fm.samples, fm.y, 5, 1, seed=1, groups=matrix_groups(fm))


def test_the_sheet_group_column_is_validated_and_carried(tmp_path):
    from genogan.features import write_feature_outputs, read_matrix
    from genogan.validate import load_sample_sheet

    fm = replicate_cohort(n_people=10)
    sheet = pd.DataFrame({"sample": fm.samples, "condition": fm.y,
                          "group": matrix_groups(fm)})
    sheet.to_csv(tmp_path / "s.tsv", sep="\t", index=False)
    loaded = load_sample_sheet(tmp_path / "s.tsv", check_files=False, n_folds=3,
                               allow_no_input=True)
    write_feature_outputs(FeatureMatrix(fm.X, fm.y, fm.samples, fm.feature_names), loaded,
                          tmp_path / "m.parquet", tmp_path / "names.txt")
    assert list(matrix_groups(read_matrix(tmp_path / "m.parquet"))) == list(matrix_groups(fm))
    with pytest.raises(GenoganInputError, match="fewer than the 6 cross-validation folds"):
        load_sample_sheet(tmp_path / "s.tsv", check_files=False, n_folds=6,
                          allow_no_input=True)
    sheet.loc[3, "group"] = ""
    sheet.to_csv(tmp_path / "s.tsv", sep="\t", index=False)
    with pytest.raises(GenoganInputError, match="empty `group`"):
        load_sample_sheet(tmp_path / "s.tsv", check_files=False, allow_no_input=True)


def cv_auroc(fm, groups, classifier="random_forest", repeats=3):
    """Mean AUROC over the splits of `make_splits` (grouped or not), one classifier."""
    from sklearn.metrics import roc_auc_score

    from genogan.benchmark.classify import build_classifier

    splits = make_splits(fm.samples, fm.y, 5, repeats, seed=7, groups=groups)
    scores = []
    for (repeat, fold), _ in splits.groupby(["repeat", "fold"]):
        train, test = fold_dataset(fm, splits, repeat, fold)
        clf = build_classifier(classifier, seed=0).fit(train.X, train.y)
        case = list(clf.classes_).index("case")
        scores.append(roc_auc_score(test.y == "case", clf.predict_proba(test.X)[:, case]))
    return float(np.mean(scores))


def test_ungrouped_splitting_inflates_auroc_on_replicates():
    """The measured case: labels are random per person, so only a person's own replicate in the
    training part predicts the test sample. Ungrouped folds score far above chance; grouped
    folds are at chance."""
    fm = replicate_cohort(n_people=40, per_person=2, seed=4)
    ungrouped, grouped = cv_auroc(fm, None), cv_auroc(fm, matrix_groups(fm))
    assert ungrouped > 0.75, ungrouped
    assert abs(grouped - 0.5) < 0.15, grouped


def test_close_pairs_name_the_replicates_and_only_them():
    from genogan.benchmark.splits import close_pairs

    fm = replicate_cohort(n_people=16, per_person=2, p=20)
    pairs = close_pairs(fm.X, fm.samples)
    groups = dict(zip(fm.samples, matrix_groups(fm), strict=True))
    assert len(pairs) == 16
    assert all(groups[a] == groups[b] for a, b in zip(pairs["sample_a"], pairs["sample_b"],
                                                      strict=True))
    independent = np.random.default_rng(1).normal(size=(30, 20))
    assert close_pairs(independent, np.arange(30)).empty


def test_the_answer_says_whether_the_splits_were_grouped():
    from genogan.benchmark.splits import close_pairs
    from genogan.benchmark.verdict import splits_sentence

    fm = replicate_cohort(n_people=10)
    grouped = make_splits(fm.samples, fm.y, 3, 1, seed=1, groups=matrix_groups(fm))
    assert "the 10 groups of the sheet's `group` column (20 samples)" in splits_sentence(
        grouped, None)
    plain = make_splits(fm.samples, fm.y, 3, 1, seed=1)
    text = splits_sentence(plain, close_pairs(fm.X, fm.samples))
    assert "10 sample pair(s) are far closer than typical" in text and "`group` column" in text
    assert splits_sentence(plain, close_pairs(np.random.default_rng(2).normal(size=(20, 10)),
                                              fm.samples)) is None


def test_the_workflow_splits_by_the_sheet_groups(tmp_path):
    """Through the real rules: a sheet with a `group` column gives grouped splits."""
    from conftest import run_snakemake, write_config

    fm = replicate_cohort(n_people=20)
    table = pd.DataFrame(fm.X, columns=fm.feature_names)
    table.insert(0, "sample", fm.samples)
    table.to_csv(tmp_path / "table.tsv", sep="\t", index=False)
    pd.DataFrame({"sample": fm.samples, "condition": fm.y, "group": matrix_groups(fm)}).to_csv(
        tmp_path / "samples.tsv", sep="\t", index=False)
    cfg = write_config(tmp_path, {"samples": str(tmp_path / "samples.tsv"),
                                  "features_table": str(tmp_path / "table.tsv"),
                                  "demo": {"enabled": False},
                                  "benchmark": {"folds": 4, "repeats": 2, "amount": 1}})
    run_snakemake(tmp_path, "--configfile", str(cfg), "-c1", "results/splits/splits.tsv")
    splits = pd.read_csv(tmp_path / "results/splits/splits.tsv", sep="\t")
    assert (splits.groupby(["repeat", "fold", "group"])["role"].nunique() == 1).all()
    assert pd.read_csv(tmp_path / "results/splits/close_pairs.tsv", sep="\t").empty
