"""Leakage tests with teeth, the null control, and a tiny end-to-end benchmark.

Each leakage check is shown to fire on a deliberately leaky variant, so a pass means something.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_selection import SelectKBest, VarianceThreshold
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

import genogan.benchmark.jobs as jobs
from genogan.benchmark import augment
from genogan.benchmark.classify import evaluate_fold
from genogan.benchmark.jobs import classify_job, fold_dataset_job, split_job
from genogan.benchmark.metrics import classification_metrics
from genogan.benchmark.run import run_benchmark
from genogan.benchmark.splits import parse_dataset_id
from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix, read_matrix, write_matrix
from conftest import gaussian_matrix


def noise_matrix(n_case=15, n_control=15, p=20, seed=0, shift=0.0) -> FeatureMatrix:
    return gaussian_matrix(n_case, n_control, p, shift=shift, n_shifted=4, seed=seed)


class FitRecorder:
    """Wraps the real `fit` of sklearn/imblearn classes and our augmenters' `generate` and flags
    every call whose data contains a row of the current test fold (rows are unique floats)."""

    def __init__(self, monkeypatch):
        self.test_rows: set = set()
        self.current = ""
        self.calls, self.violations = [], []
        self.monkeypatch = monkeypatch

    def check(self, who, X):
        rows = {np.asarray(r, dtype=np.float64).tobytes() for r in np.asarray(X)}
        self.calls.append((self.current, who))
        if rows & self.test_rows:
            self.violations.append((self.current, who))

    def wrap_fit(self, cls, name="fit"):
        original = getattr(cls, name)
        recorder = self

        def fit(est, X, *args, **kwargs):
            recorder.check(cls.__name__, X)
            return original(est, X, *args, **kwargs)

        self.monkeypatch.setattr(cls, name, fit)

    def wrap_generate(self, cls):
        original = cls.generate
        recorder = self

        def generate(aug, X, y, counts):
            recorder.check(cls.__name__, X)
            return original(aug, X, y, counts)

        self.monkeypatch.setattr(cls, "generate", generate)

    def track_folds(self):
        """Tell the recorder which rows are the test fold before each evaluation."""
        real = jobs.evaluate_fold
        recorder = self

        def evaluate(train, test, augmenter, classifier, *a, **k):
            recorder.test_rows = {np.asarray(r, dtype=np.float64).tobytes() for r in test.X}
            recorder.current = type(augmenter).__name__
            return real(train, test, augmenter, classifier, *a, **k)

        self.monkeypatch.setattr(jobs, "evaluate_fold", evaluate)


@pytest.fixture
def recorder(monkeypatch):
    rec = FitRecorder(monkeypatch)
    for cls in (VarianceThreshold, StandardScaler, SelectKBest, LogisticRegression, SVC):
        rec.wrap_fit(cls)
    for cls in (augment.SMOTEAugmenter, augment.RandomOversample, augment.GaussianNoise,
                augment.Mixup, augment.NoAugmentation):
        rec.wrap_generate(cls)
    rec.track_folds()
    return rec


def test_no_fitted_component_sees_a_test_row_but_leaky_arms_do(recorder):
    fm = noise_matrix(8, 10, p=6, shift=1.0)
    cfg = {"folds": 3, "repeats": 1, "generator_seeds": [1],
           "arms": ["none", "class_weight", "smote", "random_oversample", "gaussian_noise",
                    "mixup"],
           "classifiers": ["logreg", "svm"], "main_classifier": "logreg",
           "classifier_params": {"logreg": {"select_k": 3}, "svm": {"select_k": 3}},
           "dose_response": {"ratios": [2], "arms": ["mixup"]},
           "learning_curve": {"fractions": [0.5], "arms": ["none", "smote"]},
           "null_control": {"arms": ["none", "gaussian_noise"]},
           "leaky_control": {"arms": ["smote", "random_oversample"]}}
    run_benchmark(fm, cfg)
    fitted = {who for _, who in recorder.calls}
    assert {"VarianceThreshold", "StandardScaler", "SelectKBest", "LogisticRegression", "SVC",
            "SMOTEAugmenter", "GaussianNoise", "Mixup"} <= fitted  # instrumentation is live
    # Only the deliberately leaky arms touched test rows -- this is what proves the check works:
    assert recorder.violations, "the leaky control must trip the recorder"
    assert {arm for arm, _ in recorder.violations} == {"LeakyAugmenter"}
    leaky_components = {who for _, who in recorder.violations}
    assert {"SMOTEAugmenter", "RandomOversample"} <= leaky_components
    # leaky random oversampling copies test rows into the pipeline's training data (caught at its
    # first steps; later steps see transformed rows)
    assert {"VarianceThreshold", "StandardScaler"} <= leaky_components


def test_workflow_files_keep_test_samples_out_of_training(tmp_path):
    fm = noise_matrix(9, 12)
    write_matrix(fm, tmp_path / "matrix.parquet")
    splits = split_job(tmp_path / "matrix.parquet", tmp_path / "splits.tsv", 3, 2, 7)
    for dataset in ("r0_f0", "r1_f2", "r0_f1_p50", "null_r1_f1"):
        fold_dataset_job(tmp_path / "matrix.parquet", tmp_path / "splits.tsv", dataset, 7,
                         tmp_path / dataset / "train.parquet", tmp_path / dataset / "test.parquet")
        train = read_matrix(tmp_path / dataset / "train.parquet")
        test = read_matrix(tmp_path / dataset / "test.parquet")
        ds = parse_dataset_id(dataset)
        fold = splits[(splits.repeat == ds.repeat) & (splits.fold == ds.fold)]
        assert set(test.samples) == set(fold.loc[fold.role == "test", "sample"])
        assert not set(train.samples) & set(test.samples)
        assert set(train.samples) <= set(fold.loc[fold.role == "train", "sample"])


def test_classify_job_refuses_a_training_file_with_test_samples(tmp_path):
    fm = noise_matrix(9, 12)
    write_matrix(fm, tmp_path / "m.parquet")
    split_job(tmp_path / "m.parquet", tmp_path / "s.tsv", 3, 1, 7)
    fold_dataset_job(tmp_path / "m.parquet", tmp_path / "s.tsv", "r0_f0", 7,
                     tmp_path / "train.parquet", tmp_path / "test.parquet")
    test = read_matrix(tmp_path / "test.parquet")
    with pytest.raises(GenoganInputError, match=r"share samples \(leakage\)"):
        classify_job(tmp_path / "m.parquet", tmp_path / "test.parquet", tmp_path / "s.tsv",
                     "r0_f0", "none", "logreg", {}, tmp_path / "o.tsv", tmp_path / "oof.tsv")
    assert not (tmp_path / "o.tsv").exists()
    assert test.samples[0] in set(fm.samples)


def _cv_auroc(fm, evaluate, folds=3, seed=0):
    aucs = []
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for tr, te in cv.split(fm.X, fm.y):
        aucs.append(evaluate(tr, te))
    return float(np.mean(aucs))


def _part(fm, idx):
    return FeatureMatrix(fm.X[idx], fm.y[idx], fm.samples[idx], fm.feature_names)


def test_planted_duplicates_inflate_only_the_leaky_pipeline():
    """No signal at all; a leaky augmenter plants copies of test samples (with their labels) in
    training, so a memorising classifier scores near 1. Our per-fold pipeline stays at chance."""
    fm = noise_matrix(20, 20, p=10, seed=3)
    knn = KNeighborsClassifier(n_neighbors=1)

    def correct(tr, te):
        aug = augment.RandomOversample(amount=5, seed=0)
        return evaluate_fold(_part(fm, tr), _part(fm, te), aug, knn)[0]["auroc"]

    def leaky(tr, te):
        aug = augment.LeakyAugmenter(augment.RandomOversample(amount=5, seed=0), fm.X, fm.y)
        return evaluate_fold(_part(fm, tr), _part(fm, te), aug, knn)[0]["auroc"]

    ok = np.mean([_cv_auroc(fm, correct, seed=s) for s in range(3)])
    bad = np.mean([_cv_auroc(fm, leaky, seed=s) for s in range(3)])
    assert abs(ok - 0.5) < 0.15
    assert bad > 0.85


def _selection_bias_aurocs(seed):
    fm = noise_matrix(20, 20, p=1000, seed=seed)

    def ours(tr, te):
        row, _ = evaluate_fold(_part(fm, tr), _part(fm, te), augment.NoAugmentation(), "logreg",
                               classifier_params={"select_k": 20})
        return row["auroc"]

    selected = SelectKBest(k=20).fit(fm.X, fm.y).get_support()  # sees every test sample
    leaky_fm = FeatureMatrix(fm.X[:, selected], fm.y, fm.samples,
                             list(np.array(fm.feature_names)[selected]))

    def leaky(tr, te):
        row, _ = evaluate_fold(_part(leaky_fm, tr), _part(leaky_fm, te),
                               augment.NoAugmentation(), "logreg")
        return row["auroc"]

    return _cv_auroc(fm, ours), _cv_auroc(fm, leaky)


def test_feature_selection_inside_the_fold_prevents_selection_bias():
    """p >> n noise: selecting features on the whole cohort (leaky) gives a near-perfect CV AUROC;
    our pipeline selects inside each training fold and stays at chance (mean of 3 cohorts: one
    noise cohort of 40 samples can land anywhere in about 0.3-0.8)."""
    with threadpool_limits(1):
        ok, bad = np.mean([_selection_bias_aurocs(seed) for seed in (100, 101, 102)], axis=0)
    assert abs(ok - 0.5) < 0.15
    assert bad > 0.9


def test_permuted_label_null_control_is_at_chance_while_signal_is_found():
    fm = noise_matrix(12, 18, p=20, seed=5, shift=1.5)
    cfg = {"folds": 3, "repeats": 3, "generator_seeds": [1], "classifiers": ["logreg"],
           "arms": ["none", "gaussian_noise", "smote"],
           "dose_response": {"enabled": False}, "learning_curve": {"enabled": False},
           "leaky_control": {"enabled": False},
           "null_control": {"repeats": 3, "arms": ["none", "gaussian_noise", "smote"]}}
    table = run_benchmark(fm, cfg).tables["aggregate"]
    auroc = table[table.metric == "auroc"].set_index(["scenario", "arm"])
    for arm in ("none", "gaussian_noise", "smote"):
        null = auroc.loc[("null_control", arm)]
        assert null["ci_low"] <= 0.5 <= null["ci_high"], (arm, null[["mean", "ci_low"]])
        assert auroc.loc[("main", arm), "ci_low"] > 0.6  # the real labels do carry signal


def test_tiny_end_to_end_benchmark(tmp_path):
    from genogan.benchmark.plots import all_plots
    from genogan.benchmark.targets import plot_outputs

    fm = noise_matrix(10, 20, p=20, seed=6, shift=1.0)
    cfg = {"folds": 3, "repeats": 2, "generator_seeds": [1, 2], "classifiers": ["logreg"],
           "arms": ["none", "gaussian_noise", "smote"],
           "dose_response": {"ratios": [0, 1, 2], "arms": ["smote"]},
           "learning_curve": {"fractions": [0.5], "arms": ["none", "smote"]},
           "null_control": {"arms": ["none", "smote"]}, "leaky_control": {"arms": ["smote"]}}
    res = run_benchmark(fm, cfg)
    pf = res.per_fold
    main = pf[(pf.scenario == "main") & (pf.arm == "smote")]
    assert len(main) == 6 * 2  # 6 splits x 2 generator seeds
    assert (pf.loc[pf.arm == "none", "generator_seed"] == -1).all()
    # every test sample is predicted exactly once per repeat, arm and seed
    oof = res.oof[(res.oof.scenario == "main") & (res.oof.arm == "smote")]
    assert oof.groupby(["repeat", "generator_seed"])["sample"].apply(
        lambda s: s.is_unique and len(s) == 30).all()
    agg = res.tables["aggregate"]
    assert set(agg["scenario"]) == {"main", "learning_curve", "null_control"}
    assert not agg["arm"].str.startswith("leaky").any()  # leaky arms only in the inflation table
    row = agg.query("scenario == 'main' and arm == 'smote' and metric == 'auroc'").iloc[0]
    assert row["n"] == 6 and row["n_seeds"] == 2 and 0 <= row["p_nb"] <= 1
    assert np.isfinite(row["delong_p"]) and np.isfinite(row["seed_sd"])
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    # the table's mean is the mean over splits of the seed-averaged per-fold metric
    per_split = main.groupby(["repeat", "fold"])["auroc"].mean()
    assert row["mean"] == pytest.approx(per_split.mean())
    assert set(agg.query("arm == 'smote-x2'")["amount"]) == {"2"}
    infl = res.tables["inflation"]
    assert (infl["validity"].str.startswith("INVALID")).all() and len(infl) == 5
    assert set(res.tables["worth"]["percent"]) == {50, 100}
    # pooled OOF AUROC equals a direct computation from the per-fold predictions
    pooled = res.tables["pooled_oof"].query("scenario == 'main' and arm == 'none'")
    direct = res.oof.query("scenario == 'main' and arm == 'none'").groupby("sample")[
        "score_case"].mean()
    m = classification_metrics(pooled["condition"], pooled["condition"],
                               pooled[["score_case", "score_control"]], ["case", "control"],
                               "case")
    none_row = agg.query("scenario == 'main' and arm == 'none' and metric == 'auroc'").iloc[0]
    assert none_row["auroc_pooled"] == pytest.approx(m["auroc"])
    assert np.allclose(pooled.set_index("sample")["score_case"].loc[direct.index], direct)
    outputs = {k: tmp_path / f"{k}.png" for k in plot_outputs(res.settings)}
    all_plots(res.tables, outputs, res.settings)
    for path in outputs.values():
        assert path.stat().st_size > 10_000  # a real figure, not an empty file


def test_gan_arm_with_precomputed_pools_via_provider():
    """GAN arms read one pool per fold and generator seed; the provider never gets test rows
    (it supplies the pools, so a registered model name trains nothing here)."""
    fm = noise_matrix(10, 14, p=8, seed=7, shift=1.0)
    seen = []

    def provider(dataset, model, seed, train):
        seen.append((dataset, model, seed, set(train.samples)))
        rng = np.random.default_rng(seed)
        idx = np.repeat(np.arange(len(train.y)), 5)  # 5 x every class
        X = train.X[idx] + rng.normal(scale=0.1, size=(len(idx), train.X.shape[1]))
        return FeatureMatrix(X, train.y[idx], np.array([f"g{i}" for i in range(len(idx))]),
                             train.feature_names)

    cfg = {"folds": 3, "repeats": 1, "generator_seeds": [1, 2], "classifiers": ["logreg"],
           "arms": ["none", "cwgan_gp"],
           "dose_response": {"ratios": [0.5, 5], "arms": ["cwgan_gp"]},
           "learning_curve": {"enabled": False}, "null_control": {"arms": ["none", "cwgan_gp"]},
           "leaky_control": {"arms": ["cwgan_gp"]}}
    res = run_benchmark(fm, cfg, synthetic_provider=provider)
    splits = res.splits
    for dataset, _, _, train_ids in seen:
        if dataset == "full":
            assert train_ids == set(fm.samples)  # only the INVALID leaky arm
            continue
        fold = int(dataset[-1])
        test_ids = set(splits.query(f"repeat == 0 and fold == {fold} and role == 'test'")[
            "sample"])
        assert not train_ids & test_ids
    pf = res.per_fold
    assert set(pf.query("arm == 'cwgan_gp-x5'")["n_train_synthetic"]) == {
        5 * n for n in pf.query("arm == 'none' and scenario == 'main'")["n_train_real"]}
    assert len(res.tables["inflation"]) == 5


def test_aggregate_round_trips_through_tsv(tmp_path):
    """Per-job TSVs -> aggregate_job gives the in-memory tables (text such as the scenario 'null',
    a class 'NA' or the amount '0.5' survives the TSV round trip)."""
    fm = noise_matrix(10, 14, p=8, seed=8, shift=1.0)
    fm.y = np.where(fm.y == "case", "NA", "null")
    cfg = {"folds": 3, "repeats": 1, "generator_seeds": [1], "classifiers": ["logreg"],
           "arms": ["none", "smote"], "dose_response": {"ratios": [0.5], "arms": ["smote"]},
           "learning_curve": {"fractions": [0.5], "arms": ["none", "smote"]},
           "null_control": {"arms": ["none", "smote"]}, "leaky_control": {"arms": ["smote"]}}
    res = run_benchmark(fm, cfg)
    res.per_fold.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    res.oof.to_csv(tmp_path / "o.tsv", sep="\t", index=False)
    outs = {k: tmp_path / f"{k}.tsv" for k in ("per_fold", "aggregate", "inflation", "worth",
                                               "pooled_oof")}
    tables = jobs.aggregate_job([tmp_path / "m.tsv"], [tmp_path / "o.tsv"], cfg, outs)
    for key in ("aggregate", "inflation", "worth", "pooled_oof"):
        pd.testing.assert_frame_equal(tables[key], res.tables[key], check_dtype=False)
    assert {"main", "null_control", "learning_curve"} == set(tables["aggregate"]["scenario"])
    # any reader (pandas' default NA list holds 'null', R's read.delim, a spreadsheet) sees a
    # scenario in every row of the written tables: null-control rows were once read as empty
    for key in ("per_fold", "aggregate"):
        plain = pd.read_csv(outs[key], sep="\t")
        assert plain["scenario"].notna().all() and "null_control" in set(plain["scenario"])
    assert all(p.exists() for p in outs.values())  # empty tables are still written


def test_multiclass_benchmark_runs_and_skips_binary_only_views(tmp_path):
    from genogan.benchmark.plots import all_plots
    from genogan.benchmark.targets import plot_outputs

    rng = np.random.default_rng(9)
    y = np.array(["A"] * 12 + ["B"] * 9 + ["C"] * 6)
    X = rng.normal(size=(len(y), 8)) + (y[:, None] == np.array(["A", "B", "C", "A", "B", "C",
                                                                 "A", "B"])) * 1.5
    fm = FeatureMatrix(X, y, np.array([f"m{i}" for i in range(len(y))]),
                       [f"f{j}" for j in range(8)])
    cfg = {"folds": 3, "repeats": 1, "generator_seeds": [1], "classifiers": ["logreg", "svm"],
           "arms": ["none", "smote", "mixup"], "dose_response": {"ratios": [1], "arms": ["smote"]},
           "learning_curve": {"fractions": [0.5], "arms": ["none", "smote"]},
           "null_control": {"arms": ["none", "smote"]}, "leaky_control": {"arms": ["smote"]}}
    res = run_benchmark(fm, cfg)
    agg = res.tables["aggregate"].query("metric == 'auroc'")
    assert agg["mean"].between(0, 1).all() and agg["delong_p"].isna().all()  # DeLong: binary
    assert agg.query("scenario == 'main' and arm == 'none'")["mean"].min() > 0.6
    outputs = {k: tmp_path / f"{k}.png" for k in plot_outputs(res.settings)}
    all_plots(res.tables, outputs, res.settings)
    assert all(p.exists() for p in outputs.values())
