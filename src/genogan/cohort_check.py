"""Is the cohort big enough for what the config asks of it? Checked at validation, from the sheet.

The benchmark's training parts (main folds, learning-curve subsamples, the imbalance sweep, the
null control's permuted labels) are derived here with the very functions the workflow uses
(`make_splits`, `dataset_from_id`) on the sheet's labels, so the smallest class of every training
part is known before any job starts. It is checked against what the configured arms need:
SMOTE and every other augmenter need two real samples of a class to make new ones (SMOTE's
k-neighbours is lowered to the class size - 1, never below 1), the quality stage's per-class
fidelity (MMD, detection CV) needs two, and a classifier needs every class in its training set.
A cohort that cannot work stops here, not after hours of GAN training.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from genogan.errors import GenoganInputError
from genogan.settings.sections import schema_default

MIN_TO_AUGMENT = 2  # SMOTE (k >= 1), quality's per-class MMD and detection CV


_PARTS_CACHE: dict[str, dict] = {}


def training_parts(labels: pd.Series, samples: pd.Series, bench: dict, groups=None
                   ) -> dict[str, tuple[pd.Series, int]]:
    """{data set id: (class counts of its training part, size of its test part)} for every data
    set the config implies. Computed once per sheet and settings: three validation checks ask,
    and at 1,000 samples each derivation took ~0.6 s of the dry-run (read-only results).
    `groups`: the sheet's `group` column (grouped splits), or None."""
    groups = None if groups is None else [str(g) for g in groups]
    key = json.dumps([labels.astype(str).tolist(), samples.astype(str).tolist(), bench, groups],
                     sort_keys=True, default=str)
    if key not in _PARTS_CACHE:
        _PARTS_CACHE.clear()  # one sheet per process in practice: keep only the latest
        _PARTS_CACHE[key] = _derive_training_parts(labels, samples, bench, groups)
    return _PARTS_CACHE[key]


def _derive_training_parts(labels: pd.Series, samples: pd.Series, bench: dict, groups=None
                           ) -> dict[str, tuple[pd.Series, int]]:
    from genogan.benchmark.splits import dataset_from_id, make_splits, split_layout
    from genogan.benchmark.targets import classify_jobs, quality_targets
    from genogan.features import FeatureMatrix

    y = labels.astype(str).to_numpy()
    ids = samples.astype(str).to_numpy()
    try:  # the workflow's own splits: exact for every part, the null control's permuted too
        import sklearn  # noqa: F401

        splits = make_splits(ids, y, bench["folds"], bench["repeats"], bench["seed"], groups)
    except ImportError:  # a plain Snakemake parsing the workflow (a module, a login node): the
        # same class counts per part (split_layout); only the null control's may differ
        splits = split_layout(ids, y, bench["folds"], bench["repeats"])
    matrix = FeatureMatrix(np.zeros((len(y), 1)), y, ids, ["x"])
    datasets = dict.fromkeys(ds for ds, _, _ in classify_jobs(bench))
    datasets.update(dict.fromkeys(t.split("/")[2] for t in quality_targets({"benchmark": bench})))
    parts = {}
    for ds in datasets:
        train, test = dataset_from_id(matrix, splits, ds, bench["seed"])
        counts = pd.Series(train.y).value_counts().reindex(sorted(set(y)), fill_value=0)
        parts[ds] = (counts, len(test.y))
    return parts


def _needs(bench: dict) -> dict[str, tuple[int, str]]:
    """{data set: (smallest class size, who needs it)} for the arms that run on each data set."""
    from genogan.benchmark.arms import parse_arm
    from genogan.benchmark.targets import classify_jobs, quality_targets

    arms: dict[str, set] = {}
    for ds, arm, _ in classify_jobs(bench):
        arms.setdefault(ds, set()).add(parse_arm(arm).method)
    quality = {t.split("/")[2] for t in quality_targets({"benchmark": bench})}
    needs = {}
    for ds in set(arms) | quality:
        augmenting = sorted(a for a in arms.get(ds, ()) if parse_arm(a).stochastic)
        if augmenting or ds in quality:
            who = ", ".join(augmenting + (["the quality stage"] if ds in quality else []))
            needs[ds] = (MIN_TO_AUGMENT, who)
        else:
            needs[ds] = (1, "the classifiers")
    return needs


def _reads_input(config: dict) -> bool:
    return config.get("input_type", schema_default("input_type")) == "reads"


def check_cohort(sheet: pd.DataFrame, config: dict, config_path=None, check_files=True) -> None:
    """Everything validation can know from the sheet and the config before a job starts: the
    feature table's content (when given), the k-mer matrix's memory and every training part."""
    n_features = None
    if config.get("features_table") and check_files:
        from genogan.features import table_to_matrix

        n_features = table_to_matrix(config["features_table"], sheet).X.shape[1]
    elif _reads_input(config) and not config.get("features_table"):
        from genogan.kmers import n_canonical

        n_features = n_canonical(int(config["kmers"]["k"]))
    check_kmer_memory(config, len(sheet), config_path)
    check_gan_memory(config, n_features, sheet["condition"].nunique(), config_path)
    check_training_parts(sheet, config, config["samples"])


def check_training_parts(sheet: pd.DataFrame, config: dict, path=None) -> None:
    """Every class of every training part has what the configured arms need (see module doc)."""
    from genogan.benchmark.targets import benchmark_settings

    bench = benchmark_settings(config.get("benchmark", {}))
    try:
        parts = training_parts(sheet["condition"], sheet["sample"], bench, sheet.get("group"))
    except GenoganInputError as err:  # e.g. an imbalance fraction that leaves < 2 samples
        raise GenoganInputError(str(err).split(". Fix: ")[0], path=path,
                                fix=err.fix or "add samples or change benchmark settings") from None
    total = sheet["condition"].value_counts()
    quality_k = _quality_k()
    needs = _needs(bench)
    for dataset, (counts, n_test) in parts.items():
        need, who = needs[dataset]
        small = counts[counts < need]
        if len(small):
            cls, n = str(small.index[0]), int(small.iloc[0])
            raise GenoganInputError(
                f"class {cls!r} ({int(total[cls])} samples in the sheet) has {n} sample(s) in "
                f"the training part of benchmark data set {dataset}; {who} need at least "
                f"{need} samples of each class there", path=path,
                fix=_fix(f"add samples of class {cls!r}", dataset, bench))
        sizes = {"training": int(counts.sum()), "test": n_test}
        if "quality" in who and min(sizes.values()) <= quality_k:
            part = min(sizes, key=sizes.get)
            raise GenoganInputError(
                f"the {part} part of benchmark data set {dataset} has {sizes[part]} samples; "
                f"the quality stage needs more than {quality_k}", path=path,
                fix=_fix("add samples", dataset, bench).removesuffix(", or drop that class "
                                                                     "from the sheet"))


def _quality_k() -> int:
    """The quality stage's k nearest neighbours (`genogan.quality.QUALITY_K_NEAREST`)."""
    from genogan.quality import QUALITY_K_NEAREST

    return QUALITY_K_NEAREST


def _fix(first: str, dataset: str, bench: dict) -> str:
    from genogan.benchmark.splits import parse_dataset_id

    scenario = parse_dataset_id(dataset).scenario
    folds = (f"lower benchmark.folds (now {bench['folds']}), " if bench["folds"] > 2 else "")
    hint = {"learning_curve": "raise the smallest benchmark.learning_curve.fractions or set "
                              "benchmark.learning_curve.enabled: false",
            "imbalance": "raise the smallest benchmark.imbalance.minority_fractions or set "
                         "benchmark.imbalance.enabled: false",
            "null_control": "set benchmark.null_control.enabled: false",
            "main": "or drop that class from the sheet"}[scenario]
    return f"{first}, {folds}{hint}"


# ---- memory of the dense k-mer feature matrix ---------------------------------------------------
# Measured (benchmarks: build_kmer_matrix + write_matrix, k = 8 and 9, 8 and 40 samples): peak
# memory grows ~7.3 KB per feature column (pandas/Arrow/parquet column overhead) plus ~24 B per
# cell (counts, float matrix, normalised copy, frame). Every later job reads the same columns.
BYTES_PER_FEATURE = 7_300
BYTES_PER_CELL = 24


def feature_matrix_bytes(n_samples: int, n_features: int) -> int:
    """Estimated peak memory of building and writing a dense samples x features matrix."""
    return int(n_features) * (BYTES_PER_FEATURE + BYTES_PER_CELL * int(n_samples))


def check_kmer_memory(config: dict, n_samples: int, path=None) -> None:
    """k-mer input: the dense matrix of `n_samples` x canonical k-mers must fit `kmers.mem_mb`."""
    from genogan.kmers import n_canonical

    if not _reads_input(config) or config.get("features_table"):
        return
    k, limit_mb = int(config["kmers"]["k"]), int(config["kmers"]["mem_mb"])
    need_mb = feature_matrix_bytes(n_samples, n_canonical(k)) / 2**20
    if need_mb <= limit_mb:
        return
    fits = [j for j in range(1, k) if feature_matrix_bytes(n_samples, n_canonical(j)) / 2**20
            <= limit_mb]
    smaller = f"use kmers.k <= {fits[-1]}" if fits else "use a smaller kmers.k"
    raise GenoganInputError(
        f"kmers.k = {k} gives {n_canonical(k):,} canonical k-mer features; the dense feature "
        f"matrix of {n_samples} samples needs about {need_mb:,.0f} MB, more than kmers.mem_mb = "
        f"{limit_mb:,} MB", path=path,
        fix=f"{smaller} ({n_canonical(fits[-1]) if fits else 0:,} features), supply a "
        "`features_table` of selected features, or raise kmers.mem_mb to "
        f"{int(need_mb * 1.1) + 1:,} if the machine has it")


# ---- memory of the generative models' networks ------------------------------------------------
BYTES_PER_WEIGHT = 16  # float32 weight + its gradient + Adam's two moments


def check_gan_memory(config: dict, n_features: int | None, n_classes: int, path=None) -> None:
    """With the reduced space switched off (`gan.preprocess.rank: null`) the networks' outer
    layers have one unit per feature: their weights must fit `gan.resources.mem_mb`. (With the
    default reduced space they are sized by the rank, at most n - 1: nothing to check.)"""
    from genogan.benchmark.arms import parse_arm
    from genogan.benchmark.targets import benchmark_settings, gan_trainings

    preprocess = config.get("gan", {}).get("preprocess") or {}
    if n_features is None or "rank" not in preprocess or preprocess["rank"] is not None:
        return
    # a `+ref` model lives in the reference space (`reference_cohort.rank`): never unreduced
    models = sorted({m for _, m, _ in gan_trainings(benchmark_settings(config.get("benchmark")))
                     if parse_arm(m).is_gan and not parse_arm(m).uses_reference})
    if not models:
        return
    from genogan.generators.registry import model_class  # TensorFlow: only for this rare setting

    limit_mb = int(config["gan"]["resources"]["mem_mb"])
    for model in models:
        weights = model_class(model).weight_count(n_features, n_classes, config["gan"].get(model))
        need_mb = weights * BYTES_PER_WEIGHT / 2**20
        if need_mb > limit_mb:
            raise GenoganInputError(
                f"{model} on {n_features:,} features (gan.preprocess.rank: null, no reduced "
                f"space) has {weights:,} weights: about {need_mb:,.0f} MB to train, more than "
                f"gan.resources.mem_mb = {limit_mb:,} MB", path=path,
                fix="keep the reduced space (gan.preprocess.rank: auto), use fewer features "
                "(smaller kmers.k, feature selection) or smaller `generator_units`/"
                f"`critic_units`, or raise gan.resources.mem_mb to {int(need_mb * 1.1) + 1:,}")
