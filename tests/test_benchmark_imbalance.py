"""Class-imbalance scenario: ids `r{r}_f{f}_m{pct}`, the minority-only training subsample, its
jobs and GAN trainings, and the figure."""

import re

import numpy as np
import pandas as pd
import pytest

from genogan.benchmark.splits import (
    DATASET_REGEX,
    DATASET_WILDCARD_REGEX,
    DatasetId,
    dataset_from_id,
    fold_dataset,
    make_splits,
    parse_dataset_id,
    subsample_minority,
)
from genogan.benchmark.targets import (
    benchmark_settings,
    benchmark_targets,
    classify_jobs,
    gan_trainings,
    generator_seeds_for,
    plot_outputs,
)
from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix
from conftest import gaussian_matrix


def toy_matrix(n_case=12, n_control=24, p=6, seed=0) -> FeatureMatrix:
    return gaussian_matrix(n_case, n_control, p, shift=1.0, n_shifted=2, seed=seed)


# ---------------------------------------------------------------- ids

@pytest.mark.parametrize("text,expected", [
    ("r0_f1_m25", DatasetId(0, 1, minority=25)), ("r3_f12_m5", DatasetId(3, 12, minority=5))])
def test_imbalance_id_round_trip(text, expected):
    ds = parse_dataset_id(text)
    assert ds == expected and str(ds) == text
    assert ds.scenario == "imbalance" and ds.percent == 100
    assert ds.curve_percent == expected.minority
    assert ds.minority_fraction == pytest.approx(expected.minority / 100)
    assert re.fullmatch(DATASET_REGEX, text) and re.fullmatch(DATASET_WILDCARD_REGEX, text)
    assert parse_dataset_id("r0_f1_p25").curve_percent == 25  # learning curve unchanged


@pytest.mark.parametrize("bad", ["r0_f1_m0", "r0_f1_m101", "null_r0_f1_m25"])
def test_bad_imbalance_ids_are_refused(bad):
    with pytest.raises(GenoganInputError, match=r"r<repeat>_f<fold>_m<1-99>"):
        parse_dataset_id(bad)
    assert not re.fullmatch(DATASET_REGEX, "r0_f1_p25_m25")
    with pytest.raises(ValueError, match="not combined"):
        DatasetId(0, 0, percent=50, minority=50)


# ---------------------------------------------------------------- subsample

def test_minority_subsample_only_removes_minority_training_samples():
    fm = toy_matrix(12, 24)  # 'case' is the minority class
    splits = make_splits(fm.samples, fm.y, folds=3, repeats=1, seed=1)
    train, test = fold_dataset(fm, splits, 0, 1, seed=1)
    t25, test25 = dataset_from_id(fm, splits, "r0_f1_m25", seed=1)
    t50, test50 = dataset_from_id(fm, splits, "r0_f1_m50", seed=1)
    # the test part is the complete real test fold, in the same order, with real labels
    for part in (test25, test50):
        assert list(part.samples) == list(test.samples) and list(part.y) == list(test.y)
        assert not set(part.samples) & set(t25.samples) | set(t50.samples) & set(part.samples)
    full_counts = pd.Series(train.y).value_counts()
    assert full_counts["case"] == 8 and full_counts["control"] == 16
    for sub, n_case in ((t25, 2), (t50, 4)):  # round(0.25 * 8), round(0.5 * 8)
        counts = pd.Series(sub.y).value_counts()
        assert counts["case"] == n_case and counts["control"] == 16  # majority kept whole
        controls = set(sub.samples[sub.y == "control"])
        assert controls == set(train.samples[train.y == "control"])
        assert set(sub.samples) <= set(train.samples)
    assert set(t25.samples) < set(t50.samples)  # nested
    row = {s: i for i, s in enumerate(fm.samples)}
    assert np.array_equal(t25.X, fm.X[[row[s] for s in t25.samples]])  # rows stay with their ids
    assert list(t25.y) == [fm.y[row[s]] for s in t25.samples]


def test_minority_subsample_is_deterministic_per_seed_and_differs_between_seeds():
    fm = toy_matrix(30, 45)
    splits = make_splits(fm.samples, fm.y, folds=3, repeats=1, seed=2)
    a, _ = dataset_from_id(fm, splits, "r0_f0_m25", seed=4)
    b, _ = dataset_from_id(fm, splits, "r0_f0_m25", seed=4)
    c, _ = dataset_from_id(fm, splits, "r0_f0_m25", seed=5)
    assert list(a.samples) == list(b.samples)
    assert set(a.samples) != set(c.samples)  # 5 of 20 cases: another seed, another subset


def test_minority_is_the_cohort_minority_class_whatever_its_name():
    fm = toy_matrix(12, 24)
    fm.y = np.where(fm.y == "case", "zz_rare", "aa_common")
    splits = make_splits(fm.samples, fm.y, folds=3, repeats=1, seed=1)
    sub, _ = dataset_from_id(fm, splits, "r0_f2_m50", seed=1)
    counts = pd.Series(sub.y).value_counts()
    assert counts["zz_rare"] == 4 and counts["aa_common"] == 16


def test_too_few_minority_samples_is_a_clear_error():
    fm = toy_matrix(6, 24)  # 4 cases per training part: 25 % keeps 1
    splits = make_splits(fm.samples, fm.y, folds=3, repeats=1, seed=1)
    with pytest.raises(GenoganInputError,
                       match=r"minority class 'case' leaves 1, fewer than 2.*minority_fractions"):
        dataset_from_id(fm, splits, "r0_f0_m25", seed=1)
    idx = subsample_minority(np.array(["a", "b", "b", "a", "b"]), "a", 1.0, seed=0)
    assert list(idx) == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------- targets

CFG = {"folds": 3, "repeats": 2, "generator_seeds": [1, 2], "arms": ["none", "smote", "cwgan_gp"],
       "dose_response": {"enabled": False}, "learning_curve": {"enabled": False},
       "null_control": {"enabled": False}, "leaky_control": {"enabled": False},
       "imbalance": {"enabled": True, "minority_fractions": [0.25, 0.5, 1.0],
                     "arms": ["none", "smote", "cwgan_gp", "vanilla_gan"]}}


def test_imbalance_is_off_by_default_and_adds_no_jobs():
    s = benchmark_settings({})
    assert s["imbalance"]["enabled"] is False
    assert not any("_m" in d for d, _, _ in classify_jobs(s))
    assert "imbalance" not in plot_outputs(s)


def test_classify_jobs_and_gan_trainings_of_the_imbalance_scenario():
    s = benchmark_settings(CFG)
    assert s["imbalance"]["percents"] == [25, 50] and s["imbalance"]["repeats"] == 1
    jobs = classify_jobs(s)
    imb = [j for j in jobs if parse_dataset_id(j[0]).scenario == "imbalance"]
    arms = CFG["imbalance"]["arms"]
    expected = [(f"r0_f{f}_m{p}", a, "logreg") for f in range(3) for p in (25, 50) for a in arms]
    assert imb == expected  # first repeat only, main classifier only, every configured arm
    # the 100 % point is the main run: vanilla_gan (not a main arm) runs there on repeat 0 only
    assert {j for j in jobs if j[1] == "vanilla_gan" and "_m" not in j[0]} == {
        (f"r0_f{f}", "vanilla_gan", "logreg") for f in range(3)}
    main = [j for j in jobs if parse_dataset_id(j[0]).scenario == "main"]
    # repeats x folds x arms x classifiers + vanilla_gan
    assert len(main) == 2 * 3 * 3 * len(s["classifiers"]) + 3
    trainings = gan_trainings(s)
    for pct in (25, 50):  # GANs trained on the subsampled training parts, first seed only
        assert {(f"r0_f{f}_m{pct}", m, 1) for f in range(3)
                for m in ("cwgan_gp", "vanilla_gan")} <= set(trainings)
    assert generator_seeds_for("r0_f0_m25", s) == [1]
    assert not [t for t in trainings if "_m" in t[0] and t[2] == 2]
    # main cwgan_gp: 6 folds x 2 seeds; vanilla_gan's 100 % point (a main fold: every seed):
    # 3 folds x 2 seeds; the sweep: 2 fractions x 3 folds x 2 models x 1 seed
    assert len(trainings) == 6 * 2 + 3 * 2 + 2 * 3 * 2
    for dataset, _, _ in jobs:
        assert re.fullmatch(DATASET_REGEX, dataset)
    assert "results/benchmark/plots/imbalance.png" in benchmark_targets({"benchmark": CFG})


def test_imbalance_settings_errors_name_the_key():
    with pytest.raises(GenoganInputError, match="benchmark.imbalance.minority_fractions"):
        benchmark_settings({"imbalance": {"minority_fractions": [0.125]}})
    s = benchmark_settings({"repeats": 2, "imbalance": {"enabled": True, "repeats": 5}})
    assert s["imbalance"]["repeats"] == 2  # capped at the main repeats
    assert s["imbalance"]["arms"] == ["none", "smote", "cwgan_gp"]  # partial blocks are merged


# ---------------------------------------------------------------- aggregate + plot

def _synthetic_aggregate() -> pd.DataFrame:
    rows = []
    for scenario, pct in (("main", 100), ("imbalance", 25), ("imbalance", 50)):
        for k, arm in enumerate(["none", "smote", "cwgan_gp"]):
            for metric in ("auroc", "balanced_accuracy"):
                mean = 0.55 + 0.003 * pct + 0.02 * k
                rows.append({"scenario": scenario, "percent": pct, "arm": arm, "method": arm,
                             "amount": "balance", "leaky": False, "classifier": "logreg",
                             "metric": metric, "mean": mean, "ci_low": mean - 0.05,
                             "ci_high": mean + 0.05})
    rows.append({**rows[0], "classifier": "svm"})  # other classifiers are ignored
    return pd.DataFrame(rows)


def test_plot_imbalance_draws_from_an_aggregate_table(tmp_path):
    import matplotlib.image as mpimg

    from genogan.benchmark.plots import all_plots, plot_imbalance

    table = _synthetic_aggregate()
    out = tmp_path / "imbalance.png"
    plot_imbalance(table, out, "logreg")
    img = mpimg.imread(out)
    assert img.shape[0] > 300 and img.shape[1] > 900  # two panels
    empty = tmp_path / "empty.png"
    plot_imbalance(table[table["scenario"] == "main"], empty, "logreg")
    assert mpimg.imread(empty).shape[1] < img.shape[1]  # the placeholder, not the figure
    via_all = tmp_path / "all.png"
    s = benchmark_settings(CFG)
    all_plots({"aggregate": table}, {"imbalance": via_all}, s)
    assert via_all.stat().st_size > 10_000


def test_imbalance_rows_reach_the_aggregate_table_with_their_percent():
    from genogan.benchmark.run import run_benchmark

    fm = toy_matrix(15, 24, p=6, seed=3)
    cfg = {"folds": 3, "repeats": 1, "generator_seeds": [1], "classifiers": ["logreg"],
           "arms": ["none", "smote"], "dose_response": {"enabled": False},
           "learning_curve": {"enabled": False}, "null_control": {"enabled": False},
           "leaky_control": {"enabled": False},
           "imbalance": {"enabled": True, "minority_fractions": [0.5], "arms": ["none", "smote"]}}
    res = run_benchmark(fm, cfg)
    pf = res.per_fold[res.per_fold["scenario"] == "imbalance"]
    assert set(pf["dataset"]) == {"r0_f0_m50", "r0_f1_m50", "r0_f2_m50"}
    assert (pf["percent"] == 50).all()
    # 10 cases and 16 controls per training part: half of the cases kept
    assert (pf["n_train_real"] == 5 + 16).all() and (pf["n_test"] == 13).all()
    agg = res.tables["aggregate"]
    imb = agg[(agg["scenario"] == "imbalance") & (agg["metric"] == "auroc")]
    assert set(imb["arm"]) == {"none", "smote"} and (imb["percent"] == 50).all()
    assert np.isfinite(imb.loc[imb["arm"] == "smote", "p_nb"]).all()  # paired with 'none' at 50 %
