"""One benchmark job = one function: what the Snakemake scripts and the `genogan` CLI call.

`evaluate_arm` is the core (in memory); the `*_job` functions add file reading/writing around it,
so a workflow job and a Python user run exactly the same code.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from genogan.benchmark.arms import build_arm_augmenter, derived_seed, format_ratio, parse_arm
from genogan.benchmark.classify import evaluate_fold
from genogan.benchmark.metrics import default_positive
from genogan.benchmark.names import base_method
from genogan.benchmark.splits import (
    dataset_from_id,
    make_splits,
    matrix_groups,
    parse_dataset_id,
    read_splits,
    write_splits,
)
from genogan.benchmark.targets import benchmark_settings, generator_seeds_for
from genogan.errors import GenoganInputError
from genogan.features import FeatureMatrix, read_matrix, select_features, write_matrix
from genogan.io import atomic_path
from genogan.settings import fold_settings

META_COLUMNS = ["dataset", "scenario", "repeat", "fold", "percent", "arm", "method", "amount",
                "leaky", "classifier", "generator_seed", "positive"]


def split_job(matrix_path, out_path, folds: int, repeats: int, seed: int, close_out=None,
              log=None) -> pd.DataFrame:
    """Rule `split`: the split file; without a `group` column also the sample pairs far closer
    than typical (`splits.close_pairs`) to `close_out`, with a warning naming them."""
    from genogan.benchmark.splits import close_pairs

    matrix = read_matrix(matrix_path)
    groups = matrix_groups(matrix)
    splits = make_splits(matrix.samples, matrix.y, folds, repeats, seed, groups)
    write_splits(splits, out_path)
    if close_out is not None:
        pairs = (close_pairs(matrix.X, matrix.samples) if groups is None
                 else pd.DataFrame(columns=["sample_a", "sample_b", "distance", "typical"]))
        write_tsv(pairs, close_out)
        if len(pairs) and log:
            log.warning("WARNING: %d sample pair(s) are far closer than typical (e.g. %s and %s: "
                        "distance %.3g, typical %.3g): replicates or one person's samples? Add a "
                        "`group` column to the sample sheet so they stay on one side of every "
                        "split", len(pairs), *pairs.iloc[0][["sample_a", "sample_b", "distance",
                                                             "typical"]])
    return splits


def fold_dataset_job(matrix_path, splits_path, dataset: str, seed: int, train_out, test_out,
                     feature_filter: dict | None = None):
    """Write one data set's training part and test part to separate files (never mixed).

    `feature_filter` ({method, n}, e.g. the expression gene filter) is fitted on this training
    part only and applied to both parts, so feature selection never sees the test fold.
    """
    train, test = fold_parts(read_matrix(matrix_path), read_splits(splits_path), dataset, seed,
                             feature_filter)
    write_matrix(train, train_out)
    write_matrix(test, test_out)
    return train, test


def fold_parts(matrix: FeatureMatrix, splits: pd.DataFrame, dataset: str, seed: int,
               feature_filter: dict | None = None):
    """(training part, test part) of one data set, the feature filter fitted on the first."""
    from genogan.expression import apply_fold_filter

    train, test = dataset_from_id(matrix, splits, dataset, seed)
    f = feature_filter or fold_settings({})  # none: no fold-fitted filter
    return apply_fold_filter(train, test, f["method"], f["n"], f["normalise"])


def datasets_job(matrix_path, splits_path, datasets, seed: int, out_dir="results/datasets",
                 feature_filter: dict | None = None, threads: int = 1) -> list[str]:
    """Rule `datasets`: every data set's training part and test part, each to its own file.

    One job (one read of the matrix) instead of one per data set; each part comes from the same
    `fold_parts` as `fold_dataset_job`, so a training file never holds a test sample. `full`
    (the whole cohort, leaky control only) gets just a train.parquet. Data sets are written by
    `threads` threads: the parquet writes (~90 % of the job) release the GIL.
    """
    from concurrent.futures import ThreadPoolExecutor

    matrix, splits = read_matrix(matrix_path), read_splits(splits_path)

    def write(dataset):
        if dataset == "full":
            write_matrix(full_part(matrix, feature_filter), f"{out_dir}/full/train.parquet")
            return
        train, test = fold_parts(matrix, splits, dataset, seed, feature_filter)
        write_matrix(train, f"{out_dir}/{dataset}/train.parquet")
        write_matrix(test, f"{out_dir}/{dataset}/test.parquet")

    with ThreadPoolExecutor(max(1, int(threads))) as pool:
        list(pool.map(write, datasets))  # list(): re-raises a worker's error here
    return list(datasets)


def full_part(matrix: FeatureMatrix, feature_filter: dict | None = None) -> FeatureMatrix:
    """The whole cohort as a 'training set': input of the INVALID leaky control only.

    It goes through the folds' transform path (`apply_fold_filter`) with the whole cohort as the
    training part -- a naive pipeline normalises before splitting -- so its values are on the
    folds' scale (e.g. quantile-normalised). Gene-unfiltered on purpose: each fold keeps its own
    filtered genes, and the leaky pools must hold all of them (`evaluate_arm` and the GAN pools
    take the fold's columns by name, `features.select_features`).
    """
    from genogan.expression import apply_fold_filter

    f = feature_filter or fold_settings({})
    return apply_fold_filter(matrix, None, "none", 1, f["normalise"])[0]


def full_dataset_job(matrix_path, out_path, feature_filter: dict | None = None) -> FeatureMatrix:
    """Write `full_part` of the matrix (the leaky control's whole cohort)."""
    matrix = full_part(read_matrix(matrix_path), feature_filter)
    write_matrix(matrix, out_path)
    return matrix


def cohort_positive(s: dict, cohort_labels) -> str:
    """Configured positive class, else the cohort's minority class (same for every fold)."""
    return str(s["positive_class"]) if s.get("positive_class") else default_positive(cohort_labels)


def evaluate_arm(train: FeatureMatrix, test: FeatureMatrix, dataset: str, arm: str,
                 classifier: str, s: dict, *, positive: str, synthetic=None, full=None,
                 threads: int = 1, reference=None):
    """Run one (data set, arm, classifier) job: one evaluation per generator seed.

    `synthetic`: one pool per generator seed for GAN arms (FeatureMatrix or parquet path);
    `full`: the whole cohort (FeatureMatrix) for leaky classical arms; `reference`: the
    `genogan.reference.ReferenceRepresentation` a `+ref` arm classifies in. BLAS/OpenMP pools
    are capped at `threads`: small fits on a busy machine run ~30x slower when they
    oversubscribe. Returns (metrics rows, out-of-fold predictions) as DataFrames.
    """
    with threadpool_limits(limits=threads):
        return _evaluate_arm(train, test, dataset, arm, classifier, s, positive, synthetic, full,
                             reference)


def _in_reference_space(reference, train, test, synthetic):
    """A `+ref` arm's data: training part, test part and pools projected on the reference
    space (fitted on reference rows only), and the reference's labelled rows there."""
    from genogan.features import read_matrix

    if reference is None:
        raise GenoganInputError("a +ref arm needs the reference cohort's space",
                                fix="set `reference_cohort` (rule reference_matrix makes it)")
    if synthetic is not None:
        synthetic = [reference.project(p if isinstance(p, FeatureMatrix) else read_matrix(p))
                     for p in synthetic]
    return (reference.project(train), reference.project(test), synthetic,
            reference.labelled_rows())


def _evaluate_arm(train, test, dataset, arm, classifier, s, positive, synthetic, full,
                  reference=None):
    a, ds = parse_arm(arm), parse_dataset_id(dataset)
    if a.leaky and ds.scenario != "main":
        raise GenoganInputError(f"leaky arm {arm} runs only on the main folds, not {dataset}")
    reference_rows = None
    if a.uses_reference:
        train, test, synthetic, reference_rows = _in_reference_space(reference, train, test,
                                                                     synthetic)
    seeds = generator_seeds_for(dataset, s) if a.stochastic else [-1]
    if a.is_gan and synthetic is not None and len(synthetic) != len(seeds):
        raise GenoganInputError(f"arm {arm} on {dataset} needs {len(seeds)} synthetic files "
                                f"(generator seeds {seeds}), got {len(synthetic)}")
    if full is not None:  # all genes; the fold keeps its own (filtered) ones
        full = select_features(full, train.feature_names, what="the whole cohort (`full`)")
    rows, oofs = [], []
    for i, gen_seed in enumerate(seeds):
        aug_seed = derived_seed(s["seed"], ds.repeat, ds.fold, max(gen_seed, 0))
        augmenter = build_arm_augmenter(
            a, amount=s["amount"], seed=aug_seed, reference_rows=reference_rows,
            params=s["augmenter_params"].get(base_method(a.method)),
            feature_names=train.feature_names,
            synthetic=None if synthetic is None else synthetic[i],
            source=_source_name(synthetic[i] if synthetic is not None else None),
            full=None if full is None else (full.X, full.y))
        row, oof = evaluate_fold(train, test, augmenter, classifier, seed=s["seed"],
                                 positive=positive,
                                 classifier_params=s["classifier_params"].get(classifier))
        amount = a.amount(s["amount"]) if a.stochastic else 0.0
        meta = {"dataset": str(ds), "scenario": ds.scenario, "repeat": ds.repeat, "fold": ds.fold,
                "percent": ds.curve_percent, "arm": str(a), "method": a.method,
                "amount": amount if isinstance(amount, str) else format_ratio(amount),
                "leaky": a.leaky,
                "classifier": classifier, "generator_seed": gen_seed, "positive": positive}
        rows.append({**meta, **row})
        oofs.append(pd.concat([pd.DataFrame({k: [v] * len(oof) for k, v in meta.items()}), oof],
                              axis=1))
    return pd.DataFrame(rows), pd.concat(oofs, ignore_index=True)


def _source_name(pool) -> str:
    return str(pool) if isinstance(pool, (str, os.PathLike)) else getattr(pool, "source", "")


def classify_job(train_path, test_path, splits_path, dataset: str, arm: str, classifier: str,
                 config_benchmark: dict, metrics_out, oof_out, synthetic_paths=(),
                 full_path=None, threads: int = 1):
    """File wrapper of `evaluate_arm` (rule `classify`)."""
    s = benchmark_settings(config_benchmark)
    train, test = read_matrix(train_path), read_matrix(test_path)
    _check_disjoint(train, test, train_path)
    splits = read_splits(splits_path)
    positive = cohort_positive(s, splits.drop_duplicates("sample")["condition"])
    full = read_matrix(full_path) if full_path else None
    synthetic = list(synthetic_paths) if len(synthetic_paths) else None
    rows, oof = evaluate_arm(train, test, dataset, arm, classifier, s, positive=positive,
                             synthetic=synthetic, full=full, threads=threads)
    write_tsv(rows, metrics_out)
    write_tsv(oof, oof_out)
    return rows, oof


def evaluate_job(train_paths, test_paths, splits_path, jobs, config_benchmark: dict, pools: dict,
                 metrics_out, oof_out, full_path=None, threads: int = 1, log=None,
                 reference_paths=None):
    """Rule `evaluate`: every (data set, arm, classifier) of one split in one process.

    `train_paths`/`test_paths` are parallel lists in data set order (`.../{dataset}/train.parquet`);
    `pools` maps `dataset/model/seed` to a GAN pool file (a leaky arm's source is `full`);
    `reference_paths` (space, matrix): the reference cohort's files, for `+ref` arms.
    """
    from genogan.reference_space import ReferenceRepresentation

    s = benchmark_settings(config_benchmark)
    reference = ReferenceRepresentation.load(*reference_paths) if reference_paths else None
    parts = {Path(tr).parent.name: (tr, te) for tr, te in zip(train_paths, test_paths,
                                                                 strict=True)}
    splits = read_splits(splits_path)
    positive = cohort_positive(s, splits.drop_duplicates("sample")["condition"])
    full = read_matrix(full_path) if full_path else None
    rows, oofs, loaded, pool_matrices = [], [], {}, {}
    for dataset, arm, clf in jobs:
        if dataset not in loaded:
            train, test = (read_matrix(p) for p in parts[dataset])
            _check_disjoint(train, test, parts[dataset][0])
            loaded = {dataset: (train, test)}  # jobs come grouped by data set
        train, test = loaded[dataset]
        a = parse_arm(arm)
        synthetic = None
        if a.is_gan:
            source = "full" if a.leaky else dataset
            synthetic = []
            for g in generator_seeds_for(dataset, s):  # each pool read once per job: the
                path = pools[f"{source}/{a.method}/{g}"]  # dose arms and classifiers share it
                if path not in pool_matrices:
                    pool_matrices[path] = read_matrix(path)
                synthetic.append(pool_matrices[path])
        r, o = evaluate_arm(train, test, dataset, arm, clf, s, positive=positive,
                            synthetic=synthetic, full=full, threads=threads,
                            reference=reference)
        if log:
            log.info("%s %s %s: AUROC %s", dataset, arm, clf,
                     ", ".join(f"{v:.3f}" for v in r["auroc"]))
        rows.append(r)
        oofs.append(o)
    per_fold, oof = pd.concat(rows, ignore_index=True), pd.concat(oofs, ignore_index=True)
    write_tsv(per_fold, metrics_out)
    write_tsv(oof, oof_out)
    return per_fold, oof


def quality_job(train_path, holdout_path, pools: dict, baselines: dict, out_dirs: dict, *,
                seed: int, quality: dict, n_jobs: int = 1, log=None) -> dict:
    """Rule `quality`: fidelity, utility and privacy of every synthetic source of one split.

    `pools`: GAN model -> its pool file; `baselines`: classical method -> {amount, params}, whose
    pool is drawn here from the training part only (seeded like the GAN's first seed);
    `out_dirs`: source -> output folder. One process scores them all (one start-up).
    """
    import tempfile

    from genogan.benchmark.augment import classical_synthetic
    from genogan.quality.report import run_quality

    summaries = {}
    with tempfile.TemporaryDirectory() as tmp:
        sources = dict(pools)
        if baselines:
            train = read_matrix(train_path)
            for method, opts in baselines.items():
                pool = classical_synthetic(train, method, opts["amount"], seed, opts["params"])
                sources[method] = Path(tmp) / f"{method}.parquet"
                write_matrix(pool, sources[method])
        for source, pool_path in sources.items():
            tables = run_quality(train_path, holdout_path, pool_path, out_dirs[source],
                                 seed=seed, n_jobs=n_jobs, **quality)
            summaries[source] = tables["summary"]
            if log:
                s = tables["summary"].set_index("metric")["value"]
                log.info("%s: detection AUC %.3f, membership AUC %.3f", source,
                         s["fidelity.detection_auc"], s["privacy.membership_auc"])
    return summaries


def _check_disjoint(train: FeatureMatrix, test: FeatureMatrix, path) -> None:
    """A test sample in a training file is leakage: refuse to score rather than report it."""
    shared = np.intersect1d(train.samples, test.samples)
    if len(shared):
        raise GenoganInputError("training and test sets share samples (leakage)", path=path,
                                sample=str(shared[0]), fix="regenerate the fold data sets")


def write_tsv(df: pd.DataFrame, path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False)


READ_DTYPES = {"amount": str, "arm": str, "method": str, "classifier": str, "dataset": str,
               "scenario": str, "positive": str, "sample": str, "condition": str,
               "predicted": str, "group": str, "sample_a": str, "sample_b": str}


NA_VALUES = ["", "nan", "NaN"]  # only what to_csv writes: 'null' (a scenario) or 'NA' stay text


def read_tsv(path) -> pd.DataFrame:
    """A benchmark TSV with stable dtypes: amount stays '0.5'/'balance', 'null' stays a string."""
    return pd.read_csv(path, sep="\t", dtype=READ_DTYPES, keep_default_na=False,
                       na_values=NA_VALUES)


def read_tsvs(paths) -> pd.DataFrame:
    """Concatenate per-job TSVs (`read_tsv`)."""
    return pd.concat([read_tsv(p) for p in paths], ignore_index=True)


def aggregate_job(metric_paths, oof_paths, config_benchmark: dict, outputs: dict) -> dict:
    """Rule `aggregate`: per-fold rows -> per_fold, aggregate, inflation, worth, pooled_oof TSVs."""
    from genogan.benchmark.aggregate import aggregate

    s = benchmark_settings(config_benchmark)
    per_fold = read_tsvs(metric_paths)
    tables = aggregate(per_fold, read_tsvs(oof_paths), s)
    tables["per_fold"] = per_fold
    for key, path in outputs.items():
        write_tsv(tables[key], path)
    return tables


def plots_job(table_paths: dict, config_benchmark: dict, outputs: dict) -> None:
    """Rule `plots`: draw every figure from the aggregated TSVs."""
    from genogan.benchmark.plots import all_plots

    s = benchmark_settings(config_benchmark)
    tables = {k: _read_table(p) for k, p in table_paths.items()}
    all_plots(tables, outputs, s)


def _read_table(path) -> pd.DataFrame:
    try:
        return read_tsv(path)
    except pd.errors.EmptyDataError:  # e.g. no leaky control: an empty table
        return pd.DataFrame()
