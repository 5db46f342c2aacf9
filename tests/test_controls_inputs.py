"""Every control on every input kind, through the functions the workflow's jobs call (issue 17).

Controls: the leaky control (`leaky-smote`), the dose-response sweep (`smote-x0.5`, `smote-x2`),
the learning curve (50 %) and the permuted-label null control, beside the main arms. Input kinds,
each built by the package's own matrix builder: an expression table with the fold-fitted gene
filter and quantile normalisation, a DNA multi-FASTA as a k-mer matrix, a feature table, and a
three-class (5:2:1) feature table. Each kind goes split_job -> datasets_job -> evaluate_job for
every split of the plan, exactly the files and calls of rules split, datasets and evaluate;
classical arms only (seconds). Oracles: the number of synthetic training samples of every row
from the training part's labels by hand, and the leaky control's whole cohort against a
brute-force quantile normalisation.
"""

import numpy as np
import pandas as pd
import pytest

from genogan.benchmark.jobs import datasets_job, evaluate_job, split_job
from genogan.benchmark.splits import parse_dataset_id
from genogan.benchmark.targets import Plan, benchmark_settings, evaluate_params
from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix, read_matrix, select_features, write_matrix

AMOUNT = "balance:1.5"  # the shipped amount: adds samples whatever the class balance
BENCH = {"folds": 3, "repeats": 1, "seed": 7, "classifiers": ["logreg"],
         "main_classifier": "logreg", "arms": ["none", "smote", "mixup"], "amount": AMOUNT,
         "generator_seeds": [1],
         "dose_response": {"enabled": True, "ratios": [0, 0.5, 2], "arms": ["smote"]},
         "learning_curve": {"enabled": True, "fractions": [0.5], "repeats": 1,
                            "arms": ["none", "smote"]},
         "imbalance": {"enabled": False},
         "null_control": {"enabled": True, "repeats": 1, "arms": ["none", "smote"]},
         "leaky_control": {"enabled": True, "arms": ["smote"]},
         "quality_baselines": ["smote"]}
GENE_FILTER = {"method": "anova", "n": 8, "normalise": "quantile"}


def _sheet(counts: dict) -> pd.DataFrame:
    labels = [c for c, n in counts.items() for _ in range(n)]
    return pd.DataFrame({"sample": [f"s{i:02d}" for i in range(len(labels))],
                         "condition": labels})


def expression_matrix(tmp_path):
    """Counts of 40 genes x 30 samples (genes x samples table), cpm + log1p by the builder."""
    from genogan.expression import build_expression_matrix

    sheet = _sheet({"case": 12, "control": 18})
    rng = np.random.default_rng(1)
    means = rng.uniform(20, 400, size=40)
    lam = np.tile(means, (len(sheet), 1))
    lam[sheet["condition"] == "case", :5] *= 3.0
    table = pd.DataFrame(rng.poisson(lam).T, index=[f"g{j}" for j in range(40)],
                         columns=sheet["sample"])
    table.index.name = "gene"
    path = tmp_path / "expression.tsv"
    table.to_csv(path, sep="\t")
    return build_expression_matrix(path, sheet, values="counts", transform="cpm"), GENE_FILTER


def sequence_matrix(tmp_path):
    """One 240-bp DNA record per sample, cases GC-rich; 2-mer frequencies by the builder."""
    from genogan.sequences import build_sequence_matrix

    sheet = _sheet({"case": 12, "control": 18})
    rng = np.random.default_rng(2)
    lines = []
    for sample, cond in zip(sheet["sample"], sheet["condition"], strict=True):
        gc = 0.6 if cond == "case" else 0.45
        p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
        lines += [f">{sample}", "".join(rng.choice(list("ACGT"), size=240, p=p))]
    path = tmp_path / "seqs.fa"
    path.write_text("\n".join(lines) + "\n")
    return build_sequence_matrix(sheet, sequences=path, alphabet="dna", k=2), None


def _table(tmp_path, counts: dict, shifts: dict, name: str):
    from genogan.features import table_to_matrix

    sheet = _sheet(counts)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(len(sheet), 10))
    for cls, cols in shifts.items():
        X[np.asarray(sheet["condition"] == cls), cols] += 1.5
    df = pd.concat([sheet, pd.DataFrame(X, columns=[f"x{j}" for j in range(10)])], axis=1)
    path = tmp_path / name
    df.to_csv(path, sep="\t", index=False)
    return table_to_matrix(path, sheet), None


def table_matrix(tmp_path):
    return _table(tmp_path, {"case": 12, "control": 18}, {"case": slice(0, 3)}, "table.tsv")


def multiclass_matrix(tmp_path):
    """Three classes 30:12:6 (5:2:1) as a feature table."""
    return _table(tmp_path, {"A": 30, "B": 12, "C": 6},
                  {"B": slice(0, 3), "C": slice(3, 6)}, "three.tsv")


KINDS = {"expression": expression_matrix, "sequences": sequence_matrix,
         "feature_table": table_matrix, "three_classes": multiclass_matrix}


def run_evaluations(workdir, matrix: FeatureMatrix, feature_filter, bench=BENCH):
    """The workflow's split -> datasets -> evaluate jobs, in `workdir` (paths as the rules')."""
    s = benchmark_settings(bench)
    plan = Plan(s)
    write_matrix(matrix, workdir / "matrix.parquet")
    split_job(workdir / "matrix.parquet", workdir / "splits.tsv", s["folds"], s["repeats"],
              s["seed"])
    datasets_job(workdir / "matrix.parquet", workdir / "splits.tsv", plan.datasets(), s["seed"],
                 out_dir=workdir / "results/datasets", feature_filter=feature_filter)
    rows = []
    for split, jobs in plan.evaluations.items():
        inputs = plan.evaluate_inputs(split)
        full = inputs.get("full")
        per_fold, _ = evaluate_job(
            [workdir / p for p in inputs["train"]], [workdir / p for p in inputs["test"]],
            workdir / "splits.tsv", jobs, evaluate_params(s),
            {k: workdir / v for k, v in plan.pools_of(jobs).items()},
            workdir / f"{split}.metrics.tsv", workdir / f"{split}.oof.tsv",
            full_path=workdir / full if full else None)
        rows.append(per_fold)
    return pd.concat(rows, ignore_index=True), s


def hand_synthetic(y, arm: str, default) -> int:
    """Synthetic samples an arm adds to a training part, counted by hand from its labels."""
    method, _, ratio = arm.removeprefix("leaky-").partition("-x")
    if method == "none":
        return 0
    counts = pd.Series(y).value_counts()
    if ratio or not str(default).startswith("balance"):
        return int(sum(int(round(float(ratio or default) * n)) for n in counts))
    factor = float(default.partition(":")[2] or 1)  # every class up to factor x the majority
    return int(sum(max(int(round(factor * counts.max())) - n, 0) for n in counts))


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_control_runs_on_every_input_kind(tmp_path, kind):
    matrix, feature_filter = KINDS[kind](tmp_path)
    per_fold, s = run_evaluations(tmp_path, matrix, feature_filter)
    scenarios = {parse_dataset_id(d).scenario for d in per_fold["dataset"]}
    assert {"main", "learning_curve", "null_control"} <= scenarios
    assert {"leaky-smote", "smote-x0.5", "smote-x2"} <= set(per_fold["arm"])
    assert per_fold["auroc"].between(0, 1).all() and per_fold["f1"].notna().all()
    for row in per_fold.itertuples():
        train = read_matrix(tmp_path / f"results/datasets/{row.dataset}/train.parquet")
        test = read_matrix(tmp_path / f"results/datasets/{row.dataset}/test.parquet")
        assert row.n_train_real == len(train.y) and row.n_test == len(test.y)
        assert row.n_train_synthetic == hand_synthetic(train.y, row.arm, AMOUNT), row
    leaky = per_fold[per_fold["arm"] == "leaky-smote"].set_index("dataset")
    correct = per_fold[per_fold["arm"] == "smote"].set_index("dataset").loc[leaky.index]
    assert (leaky["n_train_synthetic"] == correct["n_train_synthetic"]).all()
    if len(set(matrix.y)) > 2:  # one-vs-rest: every class shows up in the out-of-fold scores
        oof = pd.read_csv(tmp_path / "r0_f0.oof.tsv", sep="\t")
        assert {f"score_{c}" for c in "ABC"} <= set(oof.columns)


def brute_quantile(X):
    """Quantile normalisation by hand: rank-wise mean of the sorted rows, ties averaged."""
    ref = np.sort(X, axis=1).mean(axis=0)
    out = np.empty_like(X)
    for i, row in enumerate(X):
        order = np.argsort(row, kind="stable")
        mapped = ref[np.argsort(order)]
        for value in np.unique(row):
            tied = row == value
            mapped[tied] = mapped[tied].mean()
        out[i] = mapped
    return out


def test_leaky_control_with_gene_filter_and_quantile_normalisation(tmp_path):
    """The issue's crash: the whole cohort holds every gene, each fold only its filtered ones.

    evaluate_job takes the fold's genes from the whole cohort by name, and the whole cohort went
    through the folds' normalisation (fitted on itself: the control is leaky by design)."""
    matrix, feature_filter = expression_matrix(tmp_path)
    bench = {**BENCH, "arms": ["none", "smote"], "dose_response": {"enabled": False},
             "learning_curve": {"enabled": False}, "null_control": {"enabled": False}}
    per_fold, _ = run_evaluations(tmp_path, matrix, feature_filter, bench)
    leaky = per_fold[per_fold["arm"] == "leaky-smote"]
    assert len(leaky) == 3 and leaky["auroc"].between(0, 1).all()
    full = read_matrix(tmp_path / "results/datasets/full/train.parquet")
    assert full.feature_names == matrix.feature_names  # every gene: folds pick theirs by name
    np.testing.assert_allclose(full.X, brute_quantile(matrix.X), rtol=0, atol=1e-12)
    train = read_matrix(tmp_path / "results/datasets/r0_f0/train.parquet")
    assert len(train.feature_names) == GENE_FILTER["n"] < len(full.feature_names)
    picked = select_features(full, train.feature_names)
    cols = [matrix.feature_names.index(g) for g in train.feature_names]
    np.testing.assert_array_equal(picked.X, full.X[:, cols])


def test_leaky_gan_pool_of_every_gene_serves_each_folds_filtered_genes(tmp_path):
    """A leaky GAN arm reads the pool of the GAN trained on the whole cohort (all genes, here in
    reverse file order): each fold draws its own filtered genes from it by name."""
    from genogan.benchmark.augment import PrecomputedSynthetic
    from genogan.benchmark.jobs import full_part

    matrix, feature_filter = expression_matrix(tmp_path)
    bench = {**BENCH, "arms": ["none"], "dose_response": {"enabled": False},
             "learning_curve": {"enabled": False}, "null_control": {"enabled": False},
             "leaky_control": {"enabled": True, "arms": ["cwgan_gp"]}}
    plan = Plan(benchmark_settings(bench))
    full = full_part(matrix, feature_filter)  # what the leaky GAN trains on
    rng = np.random.default_rng(4)
    idx = np.repeat(np.arange(len(full.y)), 3)
    order = full.feature_names[::-1]
    X = select_features(full, order).X[idx] + rng.normal(scale=0.05, size=(len(idx), 40))
    pool = FeatureMatrix(X, full.y[idx], np.array([f"syn{i}" for i in range(len(idx))]), order)
    pool_path = tmp_path / plan.pool_file("full", "cwgan_gp", 1)
    write_matrix(pool, pool_path)
    per_fold, _ = run_evaluations(tmp_path, matrix, feature_filter, bench)
    leaky = per_fold[per_fold["arm"] == "leaky-cwgan_gp"]
    assert len(leaky) == 3 and leaky["auroc"].between(0, 1).all()
    for row in leaky.itertuples():
        train = read_matrix(tmp_path / f"results/datasets/{row.dataset}/train.parquet")
        assert row.n_train_synthetic == hand_synthetic(train.y, "cwgan_gp", AMOUNT)
        aug = PrecomputedSynthetic(pool_path, amount=AMOUNT, seed=1,
                                   feature_names=train.feature_names)
        X_res, _ = aug.fit_resample(train.X, train.y)
        drawn = X_res[aug.synthetic_mask_]
        cols = [order.index(g) for g in train.feature_names]
        rows = {tuple(r) for r in pool.X[:, cols]}
        assert len(drawn) == row.n_train_synthetic and all(tuple(r) in rows for r in drawn)


def test_select_features_names_the_missing_feature():
    fm = FeatureMatrix(np.arange(6.0).reshape(2, 3), np.array(["a", "b"]), np.array(["s", "t"]),
                       ["x", "y", "z"])
    assert select_features(fm, ["z", "x"]).X.tolist() == [[2.0, 0.0], [5.0, 3.0]]
    with pytest.raises(GenoganInputError, match="has no feature 'w'"):
        select_features(fm, ["x", "w"], what="the whole cohort")
